import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_LOCAL_NETWORKS } from '../backend/src/enrich/address-class';
import { bundledEnrichment, Enricher } from '../backend/src/enrich/enricher';
import type { BucketBatch, FlowRecord } from '../backend/src/model/flow';
import { DuckDbStore } from '../backend/src/store/duckdb/duckdb-store';
import type { StoredFlow } from '../backend/src/store/flow-store';
import { SERVER_NAMES } from '../backend/src/synth/payloads';
import { postJson, startSidecar } from '../backend/src/testing/sidecar';

/**
 * Query latency over a store of at least 10 million bucket rows: a day of synthetic flows written
 * through the store's own ingest interface (a capture file of that many flow-seconds would take
 * many GB), then every dashboard query kind through HTTP, on a one-hour window and on the whole day.
 */
const DAY_MS = 86_400_000;

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

async function load(dataDir: string, bucketRows: number, startMs: number): Promise<void> {
  const store = await DuckDbStore.open(dataDir);
  const enricher = await Enricher.load(bundledEnrichment(DEFAULT_LOCAL_NETWORKS));
  const captureId = 'bench000000000001';
  const sink = await store.openIngest(captureId);
  const r = rng(42);
  const perFlow = 50;
  const flows = Math.ceil(bucketRows / perFlow);
  const locals = Array.from({ length: 2000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.${1 + (i % 250)}`);
  const remotes = Array.from({ length: 20000 }, () => `${1 + Math.floor(r() * 222)}.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}.${1 + Math.floor(r() * 254)}`);
  const apps = ['tls', 'http', 'dns', 'quic', 'ssh', 'smb', 'postgresql', null];
  let batch: StoredFlow[] = [];
  const b: BucketBatch = { length: 0, flowId: new Float64Array(8192), startSec: new Float64Array(8192), startNs: new Uint32Array(8192), srcPkts: new Float64Array(8192), srcBytes: new Float64Array(8192), dstPkts: new Float64Array(8192), dstBytes: new Float64Array(8192), srcRetrans: new Float64Array(8192), dstRetrans: new Float64Array(8192) };
  for (let id = 0; id < flows; id++) {
    const first = Math.floor((startMs + r() * (DAY_MS - perFlow * 1000)) / 1000);
    const app = apps[Math.floor(r() * apps.length)];
    const proto = app === 'dns' || app === 'quic' ? 17 : 6;
    let sp = 0;
    let sb = 0;
    let dp = 0;
    let db = 0;
    for (let k = 0; k < perFlow; k++) {
      const i = b.length;
      b.flowId[i] = id;
      b.startSec[i] = first + k;
      b.startNs[i] = 0;
      b.srcPkts[i] = 1 + Math.floor(r() * 10);
      b.srcBytes[i] = b.srcPkts[i] * 100;
      b.dstPkts[i] = 1 + Math.floor(r() * 40);
      b.dstBytes[i] = b.dstPkts[i] * 1200;
      // A few percent of TCP segments retransmitted.
      b.srcRetrans[i] = proto === 6 && r() < 0.05 ? 1 : 0;
      b.dstRetrans[i] = proto === 6 && r() < 0.1 ? 1 + Math.floor(r() * 3) : 0;
      sp += b.srcPkts[i];
      sb += b.srcBytes[i];
      dp += b.dstPkts[i];
      db += b.dstBytes[i];
      b.length++;
      if (b.length === 8192) {
        await sink.addBuckets(b);
        b.length = 0;
      }
    }
    const f: FlowRecord = {
      id, ip_version: 4, proto, src: locals[Math.floor(r() * locals.length)], sport: 1024 + Math.floor(r() * 60000), dst: remotes[Math.floor(r() * remotes.length)],
      dport: app === 'tls' || app === 'quic' ? 443 : app === 'http' ? 80 : app === 'dns' ? 53 : 22, first_sec: first, first_nsec: 0, last_sec: first + perFlow - 1, last_nsec: 0,
      src_pkts: sp, dst_pkts: dp, src_bytes: sb, dst_bytes: db, src_ip_bytes: sb, dst_ip_bytes: db, src_payload_bytes: sb, dst_payload_bytes: db, app,
      app_source: app ? 'payload' : null, server_name: app === 'tls' || app === 'http' || app === 'dns' ? SERVER_NAMES[Math.floor(r() * SERVER_NAMES.length)] : null,
      alpn: null, http_method: null, dns_rcode: null, ssh_banner: null, src_tcp_flags: 0x1b, dst_tcp_flags: 0x1b, state: 'SF', vlan: null, inner_vlan: null, tunnel: null,
      tunnel_ip_version: null, fragments: 0,
      tcp: proto === 6 ? { counts: Array.from({ length: 22 }, () => (r() < 0.1 ? Math.floor(r() * 4) : 0)), times: [20_000 + r() * 80_000, 19_000, 1_000, NaN, NaN, NaN, NaN], resetBy: null, resetAfterData: null } : null,
    };
    batch.push({ flow: f, src: enricher.lookup(f.src), dst: enricher.lookup(f.dst) });
    if (batch.length === 4096) {
      await sink.addFlows(batch);
      batch = [];
    }
  }
  if (b.length > 0) await sink.addBuckets(b);
  if (batch.length > 0) await sink.addFlows(batch);
  await sink.commit({
    id: captureId, sha256: 'bench'.padEnd(64, '0'), name: 'synthetic day', source: 'bench', sourceKind: 'demo', etag: null, size: 0, format: 'pcap', compressed: false,
    firstNs: BigInt(startMs) * 1_000_000n, lastNs: BigInt(startMs + DAY_MS) * 1_000_000n, packets: 0, bytes: 0, flows, linkTypes: {}, problems: {}, damage: null, azure: null,
    ingestedAt: new Date().toISOString(),
  });
  // Its minute rollup is built after the commit: done before the queries are timed.
  await store.rollupsSettled();
  await store.close();
}

const QUERIES: [string, Record<string, unknown>][] = [
  ['timeseries bytes by app, top 10', { kind: 'timeseries', metric: 'bytes', groupBy: ['app'], topN: 10, maxDataPoints: 1000 }],
  ['timeseries flows started', { kind: 'timeseries', metric: 'flows', maxDataPoints: 1000 }],
  ['flows page (100, by bytes)', { kind: 'flows', limit: 100, sort: { by: 'bytes', desc: true } }],
  ['endpoints top 50', { kind: 'endpoints', limit: 50 }],
  ['protocols by app', { kind: 'protocols', topN: 10 }],
  ['countries (remote end)', { kind: 'countries', side: 'remote', topN: 50 }],
  ['conversations top 50', { kind: 'conversations', limit: 50 }],
  ['duration histogram', { kind: 'histogram' }],
  ['values of ip', { kind: 'values', key: 'ip', limit: 100 }],
  ['filtered series (country = US)', { kind: 'timeseries', metric: 'bytes', filters: [{ key: 'country', operator: '=', value: 'US' }], maxDataPoints: 1000 }],
];

export async function queryBench(bucketRows: number, runs: number): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-bench-query-'));
  const startMs = Date.UTC(2026, 0, 1);
  try {
    const t0 = Date.now();
    await load(dataDir, bucketRows, startMs);
    const loadSec = (Date.now() - t0) / 1000;
    const s = await startSidecar({ 'log-level': 'warn' }, dataDir);
    const counts = (await (await s.call('/health')).json()) as { flows: number };
    const lines = [
      `${bucketRows.toLocaleString('en')} bucket rows, ${counts.flows.toLocaleString('en')} flows over 24 h (loaded in ${loadSec.toFixed(0)} s); ${runs} runs per query, through HTTP`,
      '',
      '| query | 1 h window p50 ms | p95 ms | whole day p50 ms | p95 ms |',
      '|---|---:|---:|---:|---:|',
    ];
    try {
      for (const [name, q] of QUERIES) {
        const cells: string[] = [];
        for (const [from, to] of [
          [startMs + 12 * 3600_000 + 123_456, startMs + 13 * 3600_000 + 123_456],
          [startMs, startMs + DAY_MS],
        ]) {
          const times: number[] = [];
          for (let i = 0; i < runs + 2; i++) {
            const t = process.hrtime.bigint();
            const r = await postJson(s, '/api/query', { ...q, from, to });
            if (r.status !== 200) throw new Error(`${name}: ${JSON.stringify(r.json)}`);
            if (i >= 2) times.push(Number(process.hrtime.bigint() - t) / 1e6); // two warm-up runs
          }
          times.sort((a, b) => a - b);
          cells.push(times[Math.floor(times.length * 0.5)].toFixed(1), times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)].toFixed(1));
        }
        lines.push(`| ${name} | ${cells.join(' | ')} |`);
      }
    } finally {
      await s.close();
    }
    return lines.join('\n');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
