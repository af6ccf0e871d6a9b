import * as fs from 'node:fs';
import { DEFAULT_LOCAL_NETWORKS } from '../enrich/address-class';
import { parseDuration, parseSize } from '../cli/units';

/**
 * Sidecar configuration. Every option can come from a flag (--data-dir), an environment variable
 * (CAPSIGHT_DATA_DIR) or a JSON file (--config / CAPSIGHT_CONFIG, keys as in `key` below).
 * Precedence: flag > environment > file > default. README lists the same table.
 */
export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  apiToken: string | null;
  importDirs: string[];
  importAllow: string[];
  allowHosts: string[];
  maxUploadBytes: number;
  concurrency: number;
  downloadParallelism: number;
  localNetworks: string[];
  countryDb: string | null;
  asnDb: string | null;
  asnCsvDir: string | null;
  bucketNs: number;
  idleTimeoutNs: number;
  fragments: boolean;
  demo: boolean;
  logLevel: string;
  watchIntervalSec: number;
  hostNames: string[];
  queryTimeoutNs: number;
  maxQueryValues: number;
  maxResponseValues: number;
  maxFilterValues: number;
  maxCaptureBytes: number;
  maxCapturePackets: number;
  storeMemory: number;
  keepPackets: boolean;
  packetsMaxBytes: number;
  packetsMaxAgeNs: number;
}

type Kind = 'int' | 'string' | 'list' | 'size' | 'duration' | 'bool' | 'nullable';

interface Option {
  key: keyof ServerConfig;
  kind: Kind;
  default: unknown;
  description: string;
}

export const OPTIONS: Option[] = [
  { key: 'port', kind: 'int', default: 9877, description: 'HTTP port (CapAnalysis\'s port, which Azure\'s docs open)' },
  { key: 'host', kind: 'string', default: '127.0.0.1', description: 'listen address (0.0.0.0 to serve a VNet; set an API token then)' },
  { key: 'dataDir', kind: 'string', default: './data', description: 'directory of the embedded store (capsight.duckdb) and watch credentials' },
  { key: 'apiToken', kind: 'nullable', default: null, description: 'bearer token required on every route but /health' },
  { key: 'importDirs', kind: 'list', default: [], description: 'directories that {"path": ...} imports may read (comma-separated)' },
  { key: 'importAllow', kind: 'list', default: [], description: 'extra URL import targets, "host" or "host:port"; these may be http and private (not the metadata address)' },
  { key: 'allowHosts', kind: 'list', default: ['*.blob.core.windows.net'], description: 'hosts that URL imports may fetch over https (*.suffix patterns)' },
  { key: 'maxUploadBytes', kind: 'size', default: 20 * 1024 ** 3, description: 'largest accepted upload (e.g. 20GiB)' },
  { key: 'concurrency', kind: 'int', default: 2, description: 'ingest jobs running at once' },
  { key: 'downloadParallelism', kind: 'int', default: 4, description: 'parallel ranged requests per URL import (1 = sequential)' },
  { key: 'localNetworks', kind: 'list', default: DEFAULT_LOCAL_NETWORKS, description: 'CIDR blocks counted as local (default: private, CGNAT, link-local, loopback)' },
  { key: 'countryDb', kind: 'nullable', default: null, description: 'country mmdb (GeoLite2/GeoIP2 Country or City, or ip-location-db); default: bundled' },
  { key: 'asnDb', kind: 'nullable', default: null, description: 'ASN mmdb (GeoLite2-ASN); default: bundled ip-location-db ranges' },
  { key: 'asnCsvDir', kind: 'nullable', default: null, description: 'directory with asn-ipv4-num.csv/asn-ipv6-num.csv; "off" disables ASN' },
  { key: 'bucketNs', kind: 'duration', default: 1e9, description: 'time-bucket width of stored counters (e.g. 1s)' },
  { key: 'idleTimeoutNs', kind: 'duration', default: 120e9, description: 'flow idle timeout in packet time (e.g. 120s)' },
  { key: 'fragments', kind: 'bool', default: true, description: 'attribute non-first IP fragments to their flow (false: tshark\'s view)' },
  { key: 'demo', kind: 'bool', default: true, description: 'ingest a generated demo capture when the store is empty' },
  { key: 'logLevel', kind: 'string', default: 'info', description: 'pino log level (fatal, error, warn, info, debug, trace, silent)' },
  { key: 'watchIntervalSec', kind: 'int', default: 60, description: 'default polling interval of container watches' },
  { key: 'hostNames', kind: 'list', default: [], description: 'extra names the sidecar answers to without a token (Host header), e.g. "capsight" in docker compose; localhost, 127.0.0.1, ::1 and the listen address always' },
  { key: 'queryTimeoutNs', kind: 'duration', default: 30e9, description: 'time limit of one query in the store (e.g. 30s); a query over it is cancelled (HTTP 503)' },
  { key: 'maxQueryValues', kind: 'int', default: 500_000, description: 'values (points, cells) one query may answer; larger queries are refused before running (HTTP 400)' },
  { key: 'maxResponseValues', kind: 'int', default: 2_000_000, description: 'values one /api/query request may answer, over all its queries' },
  { key: 'maxFilterValues', kind: 'int', default: 2000, description: 'filter values one query may carry (the items of every "in" list count)' },
  { key: 'maxCaptureBytes', kind: 'size', default: 32 * 1024 ** 3, description: 'largest capture after decompression (gzip input); an import over it fails' },
  { key: 'storeMemory', kind: 'size', default: 256 * 1024 ** 2, description: 'memory the embedded store may use for its cache and queries (larger work spills to the data directory)' },
  { key: 'maxCapturePackets', kind: 'int', default: 500_000_000, description: 'most packets one capture may hold; an import over it fails' },
  { key: 'keepPackets', kind: 'bool', default: true, description: 'keep each imported capture\'s bytes and a packet index in <data-dir>/packets, for pcap slices (false: flows only)' },
  { key: 'packetsMaxBytes', kind: 'size', default: 20 * 1024 ** 3, description: 'packet storage budget (captures and indexes); the oldest copies are evicted past it (0: no limit)' },
  { key: 'packetsMaxAgeNs', kind: 'duration', default: 30 * 86_400e9, description: 'longest time a capture\'s packets are kept (e.g. 30d, 12h); its flows stay' },
];

const kebab = (k: string): string => k.replace(/Ns$/, '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const envName = (k: string): string => `CAPSIGHT_${kebab(k).replace(/-/g, '_').toUpperCase()}`;

export const optionFlag = (o: Option): string => `--${kebab(o.key)}`;
export const optionEnv = (o: Option): string => envName(o.key);

export class ConfigError extends Error {}

function convert(o: Option, raw: unknown, where: string): unknown {
  const fail = (why: string): never => {
    throw new ConfigError(`${where}: ${why}`);
  };
  if (o.kind === 'list') {
    if (Array.isArray(raw)) return raw.map(String);
    return String(raw)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (o.kind === 'nullable') return raw === null || raw === '' ? null : String(raw);
  if (o.kind === 'string') return String(raw);
  if (o.kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
    if (/^(0|false|no|off)$/i.test(String(raw))) return false;
    return fail(`expected true or false, got "${String(raw)}"`);
  }
  if (o.kind === 'int') {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) fail(`expected a whole number, got "${String(raw)}"`);
    return n;
  }
  try {
    if (o.kind === 'size') return typeof raw === 'number' ? raw : parseSize(String(raw), where);
    return typeof raw === 'number' ? raw : parseDuration(String(raw), where);
  } catch (e) {
    return fail((e as Error).message);
  }
}

/** Builds the configuration from flags (already split into name -> value), environment and file. */
export function loadConfig(flags: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const out: Record<string, unknown> = {};
  const file = (flags.config as string | undefined) ?? env.CAPSIGHT_CONFIG;
  let fromFile: Record<string, unknown> = {};
  if (file) {
    try {
      fromFile = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
    }
    const known = new Set(OPTIONS.map((o) => o.key as string));
    for (const k of Object.keys(fromFile)) if (!known.has(k)) throw new ConfigError(`config file ${file}: unknown option "${k}" (known: ${[...known].join(', ')})`);
  }
  for (const o of OPTIONS) {
    const flag = flags[kebab(o.key)];
    const e = env[envName(o.key)];
    if (flag !== undefined) out[o.key] = convert(o, flag, optionFlag(o));
    else if (e !== undefined) out[o.key] = convert(o, e, envName(o.key));
    else if (o.key in fromFile) out[o.key] = convert(o, fromFile[o.key], `${file}: ${o.key}`);
    else out[o.key] = o.default;
  }
  const c = out as unknown as ServerConfig;
  if (c.port > 65535) throw new ConfigError(`--port: ${c.port} is not a TCP port`);
  if (c.concurrency < 1) throw new ConfigError('--concurrency must be at least 1');
  if (c.downloadParallelism < 1 || c.downloadParallelism > 16) throw new ConfigError('--download-parallelism must be 1..16');
  return c;
}

/** parseArgs option table for `capsight serve`. */
export function serveArgOptions(): Record<string, { type: 'string' | 'boolean' }> {
  const o: Record<string, { type: 'string' | 'boolean' }> = { config: { type: 'string' } };
  for (const opt of OPTIONS) o[kebab(opt.key)] = { type: 'string' };
  return o;
}
