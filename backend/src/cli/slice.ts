import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { CapsightError } from '../errors';
import { Enricher, bundledEnrichment } from '../enrich/enricher';
import { ingestCapture } from '../ingest/pipeline';
import { PacketArchive } from '../packets/archive';
import { ExportError, preparePcapExport } from '../packets/pcap-export';
import { checkQuery, OPERATORS, QueryError, type Filter, type Operator } from '../query/model';
import { DuckDbStore } from '../store/duckdb/duckdb-store';
import { parseDuration } from './units';

/**
 * `capsight slice <capture> [filter ...] -o out.pcap`: the packets of the flows that the filters
 * select, without a sidecar. The capture goes through the same engine, store and slicer as an
 * import into the sidecar (in a temporary directory, removed at the end), so a filter means here
 * exactly what it means in a dashboard or in POST /api/export/pcap.
 *
 * A filter is `key<operator>value` with the query model's keys and operators:
 *   ip=10.0.0.5  port!=53  app=~tls|quic  dst cidr 10.0.0.0/8  country in US,DE  retrans>0
 */
const WORD_OPERATORS = ['in', 'cidr'];

export function parseFilter(text: string): Filter {
  const m = /^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=|>|<|\s+in\s+|\s+cidr\s+)\s*(.*?)\s*$/i.exec(text);
  if (!m) throw new QueryError(`filter "${text}": expected key<operator>value with an operator of ${OPERATORS.join(' ')} (e.g. ip=10.0.0.5, port!=53, dst cidr 10.0.0.0/8, country in US,DE)`);
  const operator = m[2].trim().toLowerCase() as Operator;
  if (m[3] === '') throw new QueryError(`filter "${text}": no value after "${operator}"`);
  const value = operator === 'in' ? m[3].split(',').map((v) => v.trim()).filter(Boolean) : m[3];
  if (WORD_OPERATORS.includes(operator) || (OPERATORS as readonly string[]).includes(operator)) return { key: m[1], operator, value };
  throw new QueryError(`filter "${text}": unknown operator "${operator}"`);
}

/** --from/--to: ISO 8601 time or epoch milliseconds. */
function parseTime(text: string, option: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new CapsightError('BAD_ARGUMENT', `${option}: "${text}" is not a time (ISO 8601 such as 2026-01-05T10:00:00Z, or epoch milliseconds)`);
  return ms;
}

export async function sliceCommand(args: string[], err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      from: { type: 'string' },
      to: { type: 'string' },
      'idle-timeout': { type: 'string', default: '120s' },
      'no-fragments': { type: 'boolean', default: false },
    },
  });
  const [input, ...filterTexts] = positionals;
  if (!input) throw new CapsightError('BAD_ARGUMENT', 'slice: missing capture argument (a pcap or pcapng file)');
  if (!values.output) throw new CapsightError('BAD_ARGUMENT', 'slice: missing -o FILE (where to write the slice; "-" for stdout)');
  let filters: Filter[];
  try {
    filters = filterTexts.map(parseFilter);
  } catch (e) {
    throw new CapsightError('BAD_ARGUMENT', `slice: ${(e as Error).message}`);
  }
  const query = (() => {
    try {
      return checkQuery({ kind: 'flows', filters, from: values.from === undefined ? undefined : parseTime(values.from, '--from'), to: values.to === undefined ? undefined : parseTime(values.to, '--to') });
    } catch (e) {
      if (e instanceof QueryError) throw new CapsightError('BAD_ARGUMENT', `slice: ${e.message.replace(/^query 0: /, '')}`);
      throw e;
    }
  })();
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(input, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CapsightError('INPUT_UNREADABLE', `${input}: cannot read: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message}`);
  }
  const size = (await handle.stat()).size;

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-slice-'));
  const store = await DuckDbStore.open(work, 128 * 1024 * 1024);
  try {
    const archive = new PacketArchive({ dataDir: work, enabled: true, maxBytes: 0, maxAgeMs: 0 });
    const enricher = await Enricher.load(bundledEnrichment([]));
    const pattern = filters.find((f) => f.operator === '=~' || f.operator === '!~');
    if (pattern) {
      const why = await store.checkPattern(String(pattern.value));
      if (why) throw new CapsightError('BAD_ARGUMENT', `slice: filter "${pattern.key}": the regular expression ${JSON.stringify(pattern.value)} is not one the store can run (RE2 syntax): ${why}`);
    }
    const ingested = await ingestCapture(
      { stream: { handle }, expectedBytes: size, name: input, source: input, sourceKind: 'path' },
      { store, enricher, archive, bucketNs: 60e9, idleTimeoutNs: parseDuration(values['idle-timeout'], '--idle-timeout'), attributeFragments: !values['no-fragments'] },
    );
    // A file read from a path is copied into the packet store beside the ingest: wait for it.
    await archive.copied(ingested.capture.sha256);
    if (ingested.capture.damage) err(`capsight: warning: ${ingested.capture.damage}; the slice covers the packets before it`);
    let out;
    try {
      out = await preparePcapExport(store, archive, query, null);
    } catch (e) {
      if (e instanceof ExportError) {
        err(`capsight: ${e.message}`);
        return e.statusCode === 404 ? 4 : 2;
      }
      throw e;
    }
    const target: NodeJS.WritableStream = values.output === '-' ? process.stdout : fs.createWriteStream(values.output, { mode: 0o644 });
    await pipeline(Readable.from(out.body, { objectMode: false }), target);
    err(`capsight: ${out.packets} packets of ${out.flows} flow(s) written to ${values.output === '-' ? 'stdout' : values.output} (${out.contentType === 'application/x-pcapng' ? 'pcapng' : 'pcap'})`);
    return ingested.capture.damage ? 3 : 0;
  } finally {
    await handle.close().catch(() => undefined);
    await store.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
