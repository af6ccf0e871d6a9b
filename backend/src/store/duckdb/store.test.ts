import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { EndpointInfo } from '../../enrich/enricher';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BucketBatch, FlowRecord } from '../../model/flow';
import { checkQuery } from '../../query/model';
import type { CaptureInfo, StoredFlow } from '../flow-store';
import { DuckDbStore } from './duckdb-store';
import { runQuery } from './queries';

const end = (country: string, num: bigint): EndpointInfo => ({ country, asn: 64500, asOrg: 'Example, "Org"\tLtd', local: country === 'private', num: String(num) });

function flow(id: number, names: Partial<FlowRecord> = {}): FlowRecord {
  return {
    id, ip_version: 4, proto: 6, src: '10.0.0.1', sport: 40000 + id, dst: '192.0.2.9', dport: 443, first_sec: 1_767_225_600 + id, first_nsec: 5, last_sec: 1_767_225_601 + id,
    last_nsec: 999_999_999, src_pkts: 3, dst_pkts: 2, src_bytes: 2 ** 40 + id, dst_bytes: 100, src_ip_bytes: 1, dst_ip_bytes: 1, src_payload_bytes: 0, dst_payload_bytes: 0,
    app: 'tls', app_source: 'payload', server_name: null, alpn: null, http_method: null, dns_rcode: null, ssh_banner: null, src_tcp_flags: 2, dst_tcp_flags: 18,
    state: 'S1', vlan: null, inner_vlan: null, tunnel: null, tunnel_ip_version: null, fragments: 0, tcp: null, ...names,
  };
}

/** Flows 0..many-1 (port i mod 65536) in the pipeline's batches of 256. */
function flowBatches(many: number): StoredFlow[][] {
  const batches: StoredFlow[][] = [];
  for (let lo = 0; lo < many; lo += 256) {
    const batch: StoredFlow[] = [];
    for (let i = lo; i < Math.min(many, lo + 256); i++) batch.push({ flow: flow(i, { sport: i % 65536 }), src: end('private', 0xffff0a000001n), dst: end('US', 0xffffc0000209n) });
    batches.push(batch);
  }
  return batches;
}

const capture = (id: string, bytes = id): CaptureInfo => ({
  id, sha256: bytes.padEnd(64, '0'), name: 'x', source: 'test', sourceKind: 'upload', etag: null, size: 1, format: 'pcap', compressed: false, firstNs: 1n, lastNs: 2n,
  packets: 1, bytes: 1, flows: 3, linkTypes: {}, problems: {}, damage: null, azure: null, ingestedAt: new Date().toISOString(),
});

describe('DuckDB store', () => {
  it('keeps every text byte of hostile names through the staging file, and exact large counters', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-store-'));
    const store = await DuckDbStore.open(dir);
    try {
      const odd = ['tab\there', 'quote"inside', 'back\\slash', '\\N', 'new\nline', 'cr\rlf', 'ünïcödé ✓', ''];
      const flows = odd.map((s, i) => flow(i, { server_name: s, ssh_banner: `SSH-2.0-${s}`, alpn: i % 2 ? null : s }));
      const sink = await store.openIngest('c1');
      await sink.addFlows(flows.map((f) => ({ flow: f, src: end('private', 0xffff0a000001n), dst: end('documentation', 0xffffc0000209n) })));
      expect(await sink.commit(capture('c1'))).toBe('ingested');
      expect(fs.readdirSync(path.join(dir, 'staging'))).toEqual([]);
      const cols = await store.run(checkQuery({ kind: 'flows', limit: 100, sort: { by: 'flow_id', desc: false } }));
      expect(cols.server_name).toEqual(odd);
      expect(Object.keys(cols)).not.toContain('bucket_ms'); // the store's own, not a flow field
      expect(cols.ssh_banner).toEqual(odd.map((s) => `SSH-2.0-${s}`));
      expect(cols.alpn).toEqual(odd.map((s, i) => (i % 2 ? null : s)));
      expect(cols.src_as_org).toEqual(odd.map(() => 'Example, "Org"\tLtd'));
      expect(cols.src_bytes).toEqual(odd.map((_, i) => 2 ** 40 + i));
      expect(cols.first[0]).toBeCloseTo(1_767_225_600_000, 3); // ms with µs precision (5 ns rounds away)
      expect(cols.duration_ms[0]).toBeCloseTo(1999.999994, 6);
      const inRange = await store.run(checkQuery({ kind: 'flows', filters: [{ key: 'dst', operator: 'cidr', value: '192.0.2.0/24' }] }));
      expect(inRange.flow_id).toHaveLength(odd.length);
    } finally {
      await store.close();
    }
  });

  it('brings a schema 1 store to schema 3 in place: its flows stay, without TCP health, and new ones have it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-store-'));
    let store = await DuckDbStore.open(dir);
    try {
      const sink = await store.openIngest('old');
      await sink.addFlows([{ flow: flow(1), src: end('private', 0xffff0a000001n), dst: end('US', 0xffffc0000209n) }]);
      expect(await sink.commit(capture('old'))).toBe('ingested');
    } finally {
      await store.close();
    }
    // Make it what schema 1 wrote: no TCP health columns, version 1.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const { TCP_COUNT_FIELDS, TCP_TIME_FIELDS } = await import('../../flows/tcp-health');
    const db = await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'));
    const c = await db.connect();
    for (const col of [...TCP_COUNT_FIELDS, ...TCP_TIME_FIELDS, 'reset_by', 'reset_after_data', 'bucket_ms']) await c.run(`ALTER TABLE flows DROP COLUMN ${col}`);
    for (const t of ['buckets', 'buckets_1m']) for (const col of ['src_retrans', 'dst_retrans']) await c.run(`ALTER TABLE ${t} DROP COLUMN ${col}`);
    await c.run(`ALTER TABLE captures DROP COLUMN rollup`);
    await c.run(`UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
    c.closeSync();
    db.closeSync();

    store = await DuckDbStore.open(dir);
    try {
      const tcp = { counts: new Array<number>(22).fill(0).map((_, i) => (i === 1 ? 4 : 0)), times: [1200, 1000, 200, NaN, NaN, NaN, NaN], resetBy: 'dst' as const, resetAfterData: true };
      const sink = await store.openIngest('new');
      await sink.addFlows([{ flow: flow(2, { tcp }), src: end('private', 0xffff0a000001n), dst: end('US', 0xffffc0000209n) }]);
      expect(await sink.commit(capture('new'))).toBe('ingested');
      const cols = await store.run(checkQuery({ kind: 'flows', limit: 10, sort: { by: 'flow_id', desc: false } }));
      expect(cols.capture_id).toEqual(['old', 'new']);
      expect(cols.dst_retrans).toEqual([null, 4]);
      expect(cols.handshake_rtt_us).toEqual([null, 1200]);
      expect(cols.reset_by).toEqual([null, 'dst']);
      await store.rollupsSettled();
    } finally {
      await store.close();
    }
    // Schema 1 and 2 built every capture's rollup in its ingest: the old capture's is 'built'.
    const after = await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'));
    const a = await after.connect();
    expect((await a.runAndReadAll(`SELECT id, rollup FROM captures ORDER BY id DESC`)).getRowsJS()).toEqual([['old', 'built'], ['new', 'built']]);
    expect((await a.runAndReadAll(`SELECT value FROM meta WHERE key = 'schema_version'`)).getRowsJS()).toEqual([['3']]);
    a.closeSync();
    after.closeSync();
  });

  it('publishes every bucket row exactly: a negative time, one within a second, counters past 2^32, more rows than an early load takes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-store-'));
    const store = await DuckDbStore.open(dir);
    const rows = 70_000; // one load of bucket rows alone during the ingest, the rest at commit
    const expected: number[][] = [];
    try {
      const sink = await store.openIngest('b1');
      await sink.addFlows([0, 1, 2].map((i) => ({ flow: flow(i), src: end('private', 0xffff0a000001n), dst: end('US', 0xffffc0000209n) })));
      // One batch object reused for every call, as the engine does: the sink must copy it.
      const size = 8192;
      const batch: BucketBatch = {
        length: 0, flowId: new Float64Array(size), startSec: new Float64Array(size), startNs: new Uint32Array(size), srcPkts: new Float64Array(size),
        srcBytes: new Float64Array(size), dstPkts: new Float64Array(size), dstBytes: new Float64Array(size), srcRetrans: new Float64Array(size), dstRetrans: new Float64Array(size),
      };
      for (let i = 0; i < rows; i++) {
        const k = batch.length++;
        const sec = i === 0 ? -86_401 : 1_767_225_600 + i;
        const ns = i === 1 ? 250_999_999 : 0;
        const row = [i % 3, sec * 1000 + Math.floor(ns / 1e6), i + 1, i === 2 ? 2 ** 40 + 7 : 60 * i, i % 5, 2 ** 33 + i, i % 7, i % 2];
        [batch.flowId[k], batch.startSec[k], batch.startNs[k]] = [row[0], sec, ns];
        [batch.srcPkts[k], batch.srcBytes[k], batch.dstPkts[k], batch.dstBytes[k], batch.srcRetrans[k], batch.dstRetrans[k]] = row.slice(2);
        expected.push(row);
        if (batch.length === size || i === rows - 1) {
          await sink.addBuckets(batch);
          batch.length = 0;
        }
      }
      expect(await sink.commit(capture('b1'))).toBe('ingested');
      expect(fs.readdirSync(path.join(dir, 'staging'))).toEqual([]);
      await store.rollupsSettled();
    } finally {
      await store.close();
    }
    const db = await (await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'))).connect();
    try {
      const read = async (sql: string): Promise<number[][]> => (await db.runAndReadAll(sql)).getRowsJS().map((r) => r.map(Number));
      const stored = await read(`SELECT flow_id, ts_ms, src_pkts, src_bytes, dst_pkts, dst_bytes, src_retrans, dst_retrans FROM buckets WHERE capture_id = 'b1' ORDER BY src_pkts`);
      expect(stored).toEqual(expected);
      const byMinute = await read(`SELECT sum(src_pkts), sum(src_bytes), sum(dst_bytes), sum(src_retrans), sum(dst_retrans), count(DISTINCT flow_id) FROM buckets_1m WHERE capture_id = 'b1'`);
      const total = (c: number): number => expected.reduce((a, r) => a + r[c], 0);
      expect(byMinute).toEqual([[total(2), total(3), total(5), total(6), total(7), 3]]);
      // The sub-second bucket (row 1, flow 1) lands in its minute.
      expect(await read(`SELECT min(ts_ms) FROM buckets_1m WHERE capture_id = 'b1' AND flow_id = 1`)).toEqual([[1_767_225_600_000]]);
      // The time before 1970 (row 0, flow 0: -86,401 s) lands in the minute that starts before it.
      expect(await read(`SELECT min(ts_ms) FROM buckets_1m WHERE capture_id = 'b1' AND flow_id = 0`)).toEqual([[-86_460_000]]);
      expect((await db.runAndReadAll(`SELECT rollup FROM captures`)).getRowsJS()).toEqual([['built']]);
    } finally {
      db.closeSync();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores every flow handed over in one synchronous burst (the end of the input), files filling while a load runs', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-store-'));
    const store = await DuckDbStore.open(dir);
    try {
      const many = 70_000; // four full flow files and part of a fifth
      const sink = await store.openIngest('burst');
      // Not awaited one by one: no promise callback runs until the burst ends.
      await Promise.all(flowBatches(many).map((batch) => sink.addFlows(batch)));
      expect(await sink.commit(capture('burst'))).toBe('ingested');
      const ids = await store.run(checkQuery({ kind: 'flows', limit: 100_000, sort: { by: 'flow_id', desc: false } }));
      expect(ids.flow_id).toEqual(Array.from({ length: many }, (_, i) => i));
      expect(ids.sport).toEqual(Array.from({ length: many }, (_, i) => i % 65536));
      expect(fs.readdirSync(path.join(dir, 'staging'))).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('loads a big ingest while it runs, under its capture id; duplicates and an abort leave nothing behind, also after their rows were published', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-store-'));
    const many = 40_000; // more than two early loads' worth
    const feed = async (sink: Awaited<ReturnType<DuckDbStore['openIngest']>>): Promise<void> => {
      for (const batch of flowBatches(many)) await sink.addFlows(batch);
    };
    let store = await DuckDbStore.open(dir);
    try {
      const [a, b, c] = [await store.openIngest('first'), await store.openIngest('second'), await store.openIngest('aborted')];
      await Promise.all([feed(a), feed(b), feed(c)]);
      // Ended inputs publish their rows in their transactions before the capture rows come (as a
      // path import's do while its hash finishes); an abort then still leaves nothing.
      // A small ingest (no early load began its transaction) too.
      const small = await store.openIngest('small');
      for (const batch of flowBatches(100)) await small.addFlows(batch);
      for (const sink of [a, b, c, small]) sink.inputEnded();
      await Promise.all([c.abort(), small.abort()]);
      // The same bytes imported twice at once: one publishes, the other is a duplicate.
      const results = await Promise.all([a.commit(capture('first', 'same bytes')), b.commit(capture('second', 'same bytes'))]);
      expect([...results].sort()).toEqual(['duplicate', 'ingested']);
      const winner = results[0] === 'ingested' ? 'first' : 'second';
      const ids = await store.run(checkQuery({ kind: 'flows', limit: 100_000, sort: { by: 'flow_id', desc: false } }));
      expect(ids.flow_id).toEqual(Array.from({ length: many }, (_, i) => i));
      expect(new Set(ids.capture_id)).toEqual(new Set([winner]));
      expect((await store.listCaptures()).map((x) => x.id)).toEqual([winner]);
      // The same bytes once more, after they are stored: a duplicate, known only after its rows' publish.
      const again = await store.openIngest('again');
      await feed(again);
      again.inputEnded();
      expect(await again.commit(capture('again', 'same bytes'))).toBe('duplicate');
      expect((await store.listCaptures()).map((x) => x.id)).toEqual([winner]);
      expect(fs.readdirSync(path.join(dir, 'staging'))).toEqual([]);
      // A commit must name the id its ingest stored the flows under.
      const wrong = await store.openIngest('given');
      await wrong.addFlows([{ flow: flow(1), src: end('private', 0xffff0a000001n), dst: end('US', 0xffffc0000209n) }]);
      await expect(wrong.commit(capture('other'))).rejects.toThrow('capture other committed through the ingest of given');
    } finally {
      await store.close();
    }
    // Nothing else is in the file: none of the duplicate's, the aborted ingest's or the refused commit's rows.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'));
    const conn = await db.connect();
    const stored = (await conn.runAndReadAll(`SELECT capture_id, count(*)::INTEGER FROM flows GROUP BY ALL`)).getRowsJS();
    expect(stored).toHaveLength(1);
    expect(stored[0][1]).toBe(many);
    conn.closeSync();
    db.closeSync();
    store = await DuckDbStore.open(dir);
    await store.close();
  });

  it("builds a capture's minute rollup after its commit where it halves the rows; queries read each capture's whole minutes from one table", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-store-'));
    const t0 = 1_767_225_600; // a whole minute
    // 'long': 3 flows with a row every 10 s for 3 hours and 30 s (6 rows per flow and minute), and 3
    // one-bucket flows whose row is kept with the flow (bucket_ms, as the engine hands them over): rolled up.
    const long: number[][] = [];
    for (let t = 0; t < 3 * 3600 + 30; t += 10) for (let f = 0; f < 3; f++) long.push([f, t0 + t, 1000 + t + f]);
    const longKept = [3, 4, 5].map((f) => [f, t0 + 3600 * (f - 3) + 59]);
    // 'short': 600 one-bucket flows, one every 7 s, kept with their flows: a rollup would not halve the rows ('none').
    const shortKept = Array.from({ length: 600 }, (_, i) => [i, t0 + 7 * i]);
    const q = checkQuery({ kind: 'timeseries', metric: 'bytes', from: t0 * 1000, to: (t0 + 3 * 3600 + 25) * 1000, intervalMs: 60_000 });
    const expected = new Map<number, number>();
    const add = (sec: number, bytes: number): void => {
      if (sec >= t0 + 3 * 3600 + 25) return;
      const minute = Math.floor(sec / 60) * 60_000;
      expected.set(minute, (expected.get(minute) ?? 0) + bytes);
    };
    for (const [, sec, bytes] of long) add(sec, bytes + 100); // dst_bytes 100 per row
    for (const [f, sec] of [...longKept, ...shortKept]) add(sec, 2 ** 40 + f + 100); // the flow's own counters
    const series = (cols: Record<string, unknown[]>): Map<number, number> => new Map(cols.time.map((t, i) => [Number(t), Number(cols.value[i])]));
    let store = await DuckDbStore.open(dir);
    try {
      await ingestRows(store, 'long', long, longKept);
      await ingestRows(store, 'short', [], shortKept);
      // Whatever the rollups' progress, the sums are the same.
      expect(series(await store.run(q))).toEqual(expected);
      await store.rollupsSettled();
      expect(series(await store.run(q))).toEqual(expected);
    } finally {
      await store.close();
    }
    const rows = async (sql: string): Promise<unknown[][]> => {
      const db = await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'));
      const c = await db.connect();
      try {
        return (await c.runAndReadAll(sql)).getRowsJS().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
      } finally {
        c.closeSync();
        db.closeSync();
      }
    };
    expect(await rows(`SELECT c.id, c.rollup, count(m.flow_id) FROM captures c LEFT JOIN buckets_1m m ON m.capture_id = c.id GROUP BY ALL ORDER BY c.id`)).toEqual([
      ['long', 'built', 3 * 181 + 3],
      ['short', 'none', 0],
    ]);
    // Read as while both are pending: the same sums; with 'short' left out, its whole minutes are missing.
    const db = await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'));
    const c = await db.connect();
    try {
      expect(series(await runQuery(c, q, ['long', 'short']))).toEqual(expected);
      expect(series(await runQuery(c, q, ['short']))).toEqual(expected);
      const missing = series(await runQuery(c, q, []));
      expect([...missing.values()].reduce((a, b) => a + b, 0)).toBe([...expected.values()].reduce((a, b) => a + b, 0) - shortKept.reduce((a, [f]) => a + 2 ** 40 + f + 100, 0));
    } finally {
      c.closeSync();
      db.closeSync();
    }

    // A rollup the process did not finish is built at the next start; a deleted capture leaves no minute rows.
    const edit = await DuckDBInstance.create(path.join(dir, 'capsight.duckdb'));
    const e = await edit.connect();
    await e.run(`DELETE FROM buckets_1m WHERE capture_id = 'long'`);
    await e.run(`UPDATE captures SET rollup = 'pending' WHERE id = 'long'`);
    e.closeSync();
    edit.closeSync();
    store = await DuckDbStore.open(dir);
    try {
      expect(series(await store.run(q))).toEqual(expected);
      await store.rollupsSettled();
      expect(series(await store.run(q))).toEqual(expected);
      await ingestRows(store, 'gone', long, longKept);
      expect(await store.deleteCapture('gone')).toBe(true); // its rollup waiting or under way
      await store.rollupsSettled();
    } finally {
      await store.close();
    }
    expect(await rows(`SELECT c.id, c.rollup, count(m.flow_id) FROM captures c LEFT JOIN buckets_1m m ON m.capture_id = c.id GROUP BY ALL ORDER BY c.id`)).toEqual([
      ['long', 'built', 3 * 181 + 3],
      ['short', 'none', 0],
    ]);
    expect(await rows(`SELECT count(*) FROM buckets_1m WHERE capture_id = 'gone'`)).toEqual([[0]]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

/**
 * Ingests bucket rows [flow id, second, src bytes] (1 packet and 100 bytes back each; their flows
 * are 0..the highest id) and one-bucket flows [flow id, second] whose row is kept with the flow.
 */
async function ingestRows(store: DuckDbStore, id: string, rows: number[][], kept: number[][]): Promise<void> {
  const sink = await store.openIngest(id);
  const withRows = rows.length === 0 ? 0 : Math.max(...rows.map((r) => r[0])) + 1;
  const flows = Array.from({ length: withRows }, (_, i) => flow(i));
  for (const [f, sec] of kept) flows.push(flow(f, { bucket_ms: sec * 1000 }));
  await sink.addFlows(flows.map((f) => ({ flow: f, src: end('private', 0xffff0a000001n), dst: end('US', 0xffffc0000209n) })));
  const n = rows.length;
  const batch: BucketBatch = {
    length: n, flowId: new Float64Array(n), startSec: new Float64Array(n), startNs: new Uint32Array(n), srcPkts: new Float64Array(n).fill(1),
    srcBytes: new Float64Array(n), dstPkts: new Float64Array(n).fill(1), dstBytes: new Float64Array(n).fill(100), srcRetrans: new Float64Array(n), dstRetrans: new Float64Array(n),
  };
  rows.forEach(([f, sec, bytes], i) => {
    batch.flowId[i] = f;
    batch.startSec[i] = sec;
    batch.srcBytes[i] = bytes;
  });
  if (n > 0) await sink.addBuckets(batch);
  expect(await sink.commit(capture(id))).toBe('ingested');
}
