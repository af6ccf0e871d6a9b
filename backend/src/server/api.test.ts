import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { analyzeCapture } from '../flows';
import type { FlowRecord } from '../model/flow';
import { protocolName } from '../model/names';
import { DURATION_BINS } from '../query/model';
import { column, generated, postJson, query, startSidecar, upload, waitForJob, type RunningSidecar } from '../testing/sidecar';

const capture = generated({ bytes: 3_000_000, seed: 21 });
let smallSize = 0;

async function engineFlows(data: Buffer): Promise<FlowRecord[]> {
  const flows: FlowRecord[] = [];
  await analyzeCapture(Readable.from([data]), { onFlow: (f) => flows.push(f) });
  return flows;
}

describe('sidecar API on a generated capture', () => {
  let s: RunningSidecar;
  let flows: FlowRecord[];
  let captureId: string;
  beforeAll(async () => {
    s = await startSidecar();
    flows = await engineFlows(capture);
    const up = await upload(s, 'gen.pcap', capture);
    expect(up.status).toBe(201);
    expect(up.json).toMatchObject({ state: 'done', result: 'ingested', kind: 'upload' });
    captureId = String(up.json.captureId);
  });
  afterAll(async () => s.close());

  it('answers /health with version and counts, and lists the capture', async () => {
    const h = (await (await s.call('/health')).json()) as Record<string, unknown>;
    expect(h).toMatchObject({ status: 'ok', captures: 1, flows: flows.length });
    const list = (await (await s.call('/api/captures')).json()) as Record<string, unknown>[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ id: captureId, name: 'gen.pcap', sourceKind: 'upload', flows: flows.length, size: capture.length, format: 'pcap' });
  });

  it('reports a second import of the same bytes as already ingested and counts nothing twice', async () => {
    const again = await upload(s, 'renamed.pcap', capture);
    expect(again.status).toBe(201);
    expect(again.json).toMatchObject({ result: 'already ingested', captureId });
    const h = (await (await s.call('/health')).json()) as Record<string, unknown>;
    expect(h).toMatchObject({ captures: 1, flows: flows.length });
  });

  it('gives totals equal to the engine (the CLI) for every way of cutting them', async () => {
    const totalBytes = flows.reduce((a, f) => a + f.src_bytes + f.dst_bytes, 0);
    const totalPkts = flows.reduce((a, f) => a + f.src_pkts + f.dst_pkts, 0);
    const sent = flows.reduce((a, f) => a + f.src_bytes, 0);
    const byProto = await query(s, { kind: 'protocols', groupBy: ['proto'], topN: 100 });
    expect(byProto.status).toBe(200);
    const f = byProto.frames[0];
    expect(f.schema.meta.type).toBe('numeric-long');
    const sum = (xs: unknown[]): number => xs.reduce<number>((a, b) => a + Number(b), 0);
    expect(sum(column(f, 'bytes'))).toBe(totalBytes);
    expect(sum(column(f, 'bytes_sent'))).toBe(sent);
    expect(sum(column(f, 'packets'))).toBe(totalPkts);
    expect(sum(column(f, 'flows'))).toBe(flows.length);
    for (const [i, p] of column<string>(f, 'name').entries()) {
      // Protocols by name (tcp, udp, icmp...).
      expect(column<number>(f, 'bytes')[i]).toBe(flows.filter((x) => protocolName(x.proto) === p).reduce((a, x) => a + x.src_bytes + x.dst_bytes, 0));
    }
    const apps = await query(s, { kind: 'protocols', topN: 3 });
    expect(column(apps.frames[0], 'name')).toHaveLength(4);
    expect(column(apps.frames[0], 'name')[3]).toBe('(other)');
    expect(sum(column(apps.frames[0], 'bytes'))).toBe(totalBytes);

    const series = await query(s, { kind: 'timeseries', metric: 'bytes', from: 1_767_225_600_000 - 60_000, to: 1_767_225_600_000 + 3_600_000, intervalMs: 10_000 });
    expect(series.frames[0].schema.meta.type).toBe('timeseries-multi');
    expect(sum(column(series.frames[0], 'bytes'))).toBe(totalBytes);
    const grouped = await query(s, { kind: 'timeseries', metric: 'packets', groupBy: ['app'], topN: 2, from: 1_767_225_600_000, to: 1_767_225_600_000 + 3_600_000, intervalMs: 1000 });
    expect(grouped.frames).toHaveLength(3);
    expect(grouped.frames.map((fr) => fr.schema.fields[1].labels?.app)).toContain('(other)');
    expect(sum(grouped.frames.flatMap((fr) => column(fr, 'packets')))).toBe(totalPkts);

    // Per IP: bytes sent as initiator plus as responder.
    const ip = flows[0].src;
    const ends = await query(s, { kind: 'endpoints', filters: [{ key: 'ip', operator: '=', value: ip }], limit: 1000 });
    const row = column<string>(ends.frames[0], 'ip').indexOf(ip);
    const mine = flows.filter((x) => x.src === ip || x.dst === ip);
    expect(column(ends.frames[0], 'bytes_sent')[row]).toBe(mine.reduce((a, x) => a + (x.src === ip ? x.src_bytes : x.dst_bytes), 0));
    expect(column(ends.frames[0], 'flows')[row]).toBe(mine.length);
    expect(column(ends.frames[0], 'peers')[row]).toBe(new Set(mine.map((x) => (x.src === ip ? x.dst : x.src))).size);

    const countries = await query(s, { kind: 'countries', side: 'both', topN: 300 });
    expect(sum(column(countries.frames[0], 'bytes'))).toBe(2 * totalBytes);
    const remote = await query(s, { kind: 'countries', side: 'remote', topN: 300 });
    expect(sum(column(remote.frames[0], 'bytes'))).toBe(totalBytes);
    expect(column(remote.frames[0], 'name')).not.toContain('private');
  });

  it('bins flow durations like CapAnalysis', async () => {
    const h = await query(s, { kind: 'histogram' });
    const bins = column<string>(h.frames[0], 'duration');
    expect(bins).toEqual(DURATION_BINS.map(([name]) => name));
    const expected = DURATION_BINS.map(() => 0);
    for (const f of flows) {
      const ms = (f.last_sec - f.first_sec) * 1000 + (f.last_nsec - f.first_nsec) / 1e6;
      expected[DURATION_BINS.findIndex(([, max]) => ms <= max)]++;
    }
    expect(column(h.frames[0], 'flows')).toEqual(expected);
  });

  it('pages the flow table and filters with every operator', async () => {
    const page1 = await query(s, { kind: 'flows', limit: 5, offset: 0, sort: { by: 'bytes', desc: true } });
    const page2 = await query(s, { kind: 'flows', limit: 5, offset: 5, sort: { by: 'bytes', desc: true } });
    expect(page1.frames[0].schema.meta.custom).toMatchObject({ total: flows.length });
    const b1 = column<number>(page1.frames[0], 'bytes');
    const b2 = column<number>(page2.frames[0], 'bytes');
    expect(b1).toHaveLength(5);
    expect(Math.min(...b1)).toBeGreaterThanOrEqual(Math.max(...b2));
    const count = async (filters: unknown[]): Promise<number> => Number(((await query(s, { kind: "flows", filters, limit: 1 })).frames[0].schema.meta.custom as { total?: number } | undefined)?.total ?? -1);
    expect(await count([{ key: 'proto', operator: '=', value: 'udp' }])).toBe(flows.filter((f) => f.proto === 17).length);
    expect(await count([{ key: 'app', operator: 'in', value: ['tls', 'http'] }])).toBe(flows.filter((f) => f.app === 'tls' || f.app === 'http').length);
    expect(await count([{ key: 'app', operator: '!=', value: 'tls' }])).toBe(flows.filter((f) => f.app !== 'tls').length);
    expect(await count([{ key: 'server_name', operator: '=~', value: '.*\\.com' }])).toBe(flows.filter((f) => /^.*\.com$/.test(f.server_name ?? '')).length);
    expect(await count([{ key: 'server_name', operator: '!~', value: '.*\\.com' }])).toBe(flows.filter((f) => !/^.*\.com$/.test(f.server_name ?? '')).length);
    expect(await count([{ key: 'ip', operator: 'cidr', value: '10.1.0.0/16' }])).toBe(flows.filter((f) => f.src.startsWith('10.1.') || f.dst.startsWith('10.1.')).length);
    expect(await count([{ key: 'dport', operator: '>', value: 1000 }])).toBe(flows.filter((f) => f.dport > 1000).length);
    expect(await count([{ key: 'duration', operator: '<', value: 1000 }])).toBe(flows.filter((f) => (f.last_sec - f.first_sec) * 1000 + (f.last_nsec - f.first_nsec) / 1e6 < 1000).length);
    expect(await count([{ key: 'src_local', operator: '=', value: true }])).toBe(flows.filter((f) => /^(10\.|fd)/.test(f.src)).length);
  });

  it('lists values and keys for template variables and ad-hoc filters', async () => {
    const apps = await query(s, { kind: 'values', key: 'app' });
    expect(column(apps.frames[0], 'value')).toEqual(expect.arrayContaining(['tls', 'dns', 'http']));
    const caps = await query(s, { kind: 'values', key: 'capture' });
    expect(column(caps.frames[0], 'value')).toEqual([captureId]);
    expect(column(caps.frames[0], 'text')).toEqual([expect.stringMatching(/^gen\.pcap \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/)]);
    const keys = await query(s, { kind: 'keys' });
    expect(column(keys.frames[0], 'key')).toEqual(expect.arrayContaining(['ip', 'country', 'app', 'capture', 'port', 'asn']));
  });

  it('rejects bad queries with 400 naming the problem', async () => {
    const cases: [unknown, RegExp][] = [
      [{ kind: 'flows', filters: [{ key: 'nope', operator: '=', value: 1 }] }, /unknown filter key "nope"/],
      [{ kind: 'flows', filters: [{ key: 'app', operator: 'like', value: 1 }] }, /operator/],
      [{ kind: 'flows', bogus: 1 }, /bogus|additional/],
      [{ metric: 'bytes' }, /kind/],
      [{ kind: 'timeseries', groupBy: ['ip'] }, /either end/],
      [{ kind: 'flows', filters: [{ key: 'ip', operator: 'cidr', value: '10.0.0.0/99' }] }, /CIDR/],
      [{ kind: 'flows', filters: [{ key: 'app', operator: '=~', value: '(' }] }, /regular expression/],
      [{ kind: 'flows', sort: { by: 'nonsense' } }, /sort: "nonsense"/],
      [{ kind: 'flows', from: 10, to: 5 }, /"to"/],
    ];
    for (const [body, message] of cases) {
      const r = await postJson(s, '/api/query', body);
      expect(r.status).toBe(400);
      expect(String(r.json.message)).toMatch(message);
    }
  });

  it('answers a list of queries with a status per refId (207 when one fails)', async () => {
    const r = await postJson(s, '/api/query', { queries: [{ refId: 'ok', kind: 'protocols' }, { refId: 'bad', kind: 'flows', filters: [{ key: 'nope', operator: '=', value: 1 }] }] });
    expect(r.status).toBe(207);
    const results = r.json.results as Record<string, { status: number; error?: string; frames: unknown[] }>;
    expect(results.ok.status).toBe(200);
    expect(results.ok.frames).toHaveLength(1);
    expect(results.bad).toMatchObject({ status: 400, frames: [], error: expect.stringMatching(/unknown filter key "nope"/) });
    expect((await postJson(s, '/api/query', { queries: [{ refId: 'A', kind: 'keys' }, { refId: 'A', kind: 'keys' }] })).status).toBe(400);
  });

  it('fails a job that is not a capture with the engine\'s message, and deletes captures with all their rows', async () => {
    const bad = await upload(s, 'notes.txt', Buffer.from('hello, this is not a packet capture at all\n'));
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ state: 'failed' });
    expect(String(bad.json.error)).toBe('notes.txt: not a pcap or pcapng capture (starts with bytes 68 65 6c 6c)');

    const other = generated({ bytes: 200_000, seed: 5 });
    smallSize = other.length;
    const up = await upload(s, 'small.pcap', other);
    const id = String(up.json.captureId);
    const before = (await (await s.call('/health')).json()) as { flows: number };
    expect(before.flows).toBeGreaterThan(flows.length);
    expect((await s.call(`/api/captures/${id}`, { method: 'DELETE' })).status).toBe(200);
    const gone = await s.call(`/api/captures/${id}`, { method: 'DELETE' });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toEqual({ statusCode: 404, error: 'Not Found', message: `no capture ${id}` });
    const after = (await (await s.call('/health')).json()) as { flows: number; captures: number };
    expect(after).toMatchObject({ flows: flows.length, captures: 1 });
    const left = await query(s, { kind: 'flows', filters: [{ key: 'capture', operator: '=', value: id }] });
    expect(left.frames[0].schema.meta.custom).toMatchObject({ total: 0 });
  });

  it('stores a truncated capture up to the damage, identified by the whole file', async () => {
    const whole = generated({ bytes: 400_000, seed: 8 });
    const cut = whole.subarray(0, 250_123);
    const up = await upload(s, 'cut.pcap', cut);
    expect(up.json).toMatchObject({ state: 'done', result: 'ingested' });
    const c = (await (await s.call(`/api/captures/${String(up.json.captureId)}`)).json()) as Record<string, unknown>;
    expect(c.sha256).toBe(createHash('sha256').update(cut).digest('hex'));
    expect(c.size).toBe(cut.length);
    expect(String(c.damage)).toMatch(/cut\.pcap: truncated/);
    expect(Number(c.packets)).toBeGreaterThan(0);
    expect((await s.call(`/api/captures/${String(up.json.captureId)}`, { method: 'DELETE' })).status).toBe(200);
  });

  it('serves OpenAPI at /docs and Prometheus metrics', async () => {
    const doc = (await (await s.call('/docs/json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/query', '/api/imports', '/api/imports/upload', '/api/jobs/{id}', '/api/captures', '/api/watches']));
    const m = await (await s.call('/metrics')).text();
    expect(m).toMatch(new RegExp(`capsight_ingest_bytes_total ${capture.length + smallSize + 250_123}`));
    expect(m).toMatch(/capsight_query_duration_seconds_bucket\{le="0.1",kind="protocols"\}/);
  });
});

describe('path imports', () => {
  let s: RunningSidecar;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-imports-'));
    fs.mkdirSync(path.join(dir, 'vm1'));
    fs.writeFileSync(path.join(dir, 'vm1', 'a.cap'), generated({ bytes: 150_000, seed: 1 }));
    fs.writeFileSync(path.join(dir, 'vm1', 'b.pcap'), generated({ bytes: 150_000, seed: 2 }));
    fs.writeFileSync(path.join(dir, 'vm1', 'readme.txt'), 'not a capture');
    s = await startSidecar({ 'import-dirs': dir });
  });
  afterAll(async () => s.close());

  it('imports a directory as one job with one capture per file', async () => {
    const r = await postJson(s, '/api/imports', { path: path.join(dir, 'vm1') });
    expect(r.status).toBe(202);
    const job = await waitForJob(s, String(r.json.id));
    expect(job).toMatchObject({ state: 'done', filesTotal: 2, filesDone: 2, result: '2 ingested' });
    const caps = (await (await s.call('/api/captures')).json()) as { name: string }[];
    expect(caps.map((c) => c.name).sort()).toEqual(['a.cap', 'b.pcap']);
  });

  it('refuses paths outside the import directories, also through ../', async () => {
    for (const p of ['/etc/passwd', path.join(dir, '..'), path.join(dir, 'vm1', '..', '..', 'etc')]) {
      const r = await postJson(s, '/api/imports', { path: p });
      expect(r.status).toBe(400);
      expect(String(r.json.message)).toMatch(/outside the import directories|no such file/);
    }
  });

  it('rejects bodies with unknown or missing fields', async () => {
    expect((await postJson(s, '/api/imports', { path: dir, extra: 1 })).status).toBe(400);
    const r = await postJson(s, '/api/imports', {});
    expect(r.status).toBe(400);
    expect(String(r.json.message)).toMatch(/url|path/);
  });
});

describe('limits and auth', () => {
  let s: RunningSidecar;
  beforeAll(async () => {
    s = await startSidecar({ 'max-upload-bytes': '100KB', 'api-token': 'test-token-123' });
  });
  afterAll(async () => s.close());

  it('requires the bearer token everywhere but /health', async () => {
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    for (const p of ['/api/captures', '/api/jobs', '/metrics', '/docs/json']) {
      expect((await fetch(`${s.url}${p}`)).status).toBe(401);
      expect((await fetch(`${s.url}${p}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    }
    expect((await s.call('/api/captures')).status).toBe(200);
  });

  it('answers 413 to an upload over the limit, and stores nothing', async () => {
    const r = await upload(s, 'big.pcap', generated({ bytes: 300_000, seed: 9 }));
    expect(r.status).toBe(413);
    expect(String(r.json.message)).toMatch(/larger than the limit/);
    const h = (await (await s.call('/health')).json()) as { captures: number };
    expect(h.captures).toBe(0);
  });
});
