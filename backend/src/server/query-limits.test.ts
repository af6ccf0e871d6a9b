import * as os from 'node:os';
import { heavySlotsFor } from '../query/admission';
import { READ_CONNECTIONS } from '../store/duckdb/duckdb-store';
import { scanCapture, SCAN_START_MS } from '../testing/scan-capture';
import { postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';

/**
 * Queries are bounded before they run (values answered, filter values), run under a time limit
 * that stops them in the store, and heavy ones cannot hold up /health or light queries. The store
 * holds a 400,000-flow scan, on which a query with 50 regular-expression filters takes seconds.
 */
const HOUR = 3_600_000;
const HEAVY_SLOTS = heavySlotsFor(READ_CONNECTIONS - 1, os.availableParallelism());
const keys = ['server_name', 'app', 'state', 'src', 'dst', 'ip', 'country', 'src_as_org', 'dst_as_org'];
const heavyFilters = Array.from({ length: 50 }, (_, i) => ({ key: keys[i % keys.length], operator: '!~', value: `(.*[a-f]{2,9}.*[0-9]{1,5}.*){1,8}x${i}` }));
const heavyQuery = { refId: 'H', kind: 'endpoints', filters: heavyFilters };

type Results = Record<string, { status: number; error?: string; frames: unknown[] }>;

async function metric(s: RunningSidecar, state: string): Promise<number> {
  const text = await (await s.call('/metrics')).text();
  return Number(new RegExp(`^capsight_queries\\{state="${state}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** Polls /metrics until `ok` holds for the admission counts (the state, not a time, is awaited). */
async function until(s: RunningSidecar, ok: (running: number, heavy: number, waiting: number) => boolean): Promise<void> {
  for (;;) {
    if (ok(await metric(s, 'running'), await metric(s, 'running_heavy'), await metric(s, 'waiting'))) return;
    await new Promise((r) => setImmediate(r));
  }
}

describe('query limits on a 400,000-flow store', () => {
  let s: RunningSidecar;
  beforeAll(async () => {
    s = await startSidecar({ 'query-timeout': '500ms', 'max-response-values': '100000', 'log-level': 'warn' });
    const up = await upload(s, 'scan.pcap', scanCapture(400_000));
    expect(up.json).toMatchObject({ state: 'done', flows: 400_000 });
  }, 120_000);
  afterAll(async () => s.close());

  it('refuses a request of 25 huge time series query by query, before running them, and stays up', async () => {
    const huge = { kind: 'timeseries', from: SCAN_START_MS, to: SCAN_START_MS + HOUR, maxDataPoints: 100000, groupBy: ['sport'], topN: 1000, metric: 'flows' };
    const body = JSON.stringify({ queries: Array.from({ length: 25 }, (_, i) => ({ ...huge, refId: `Q${i}` })) });
    expect(body.length).toBeLessThan(4000);
    const r = await postJson(s, '/api/query', JSON.parse(body));
    expect(r.status).toBe(207);
    const results = r.json.results as Results;
    expect(Object.keys(results)).toHaveLength(25);
    for (const res of Object.values(results)) {
      expect(res.status).toBe(400);
      expect(res.error).toMatch(/could hold 7,207,200 values \(3,600 steps of 1000 ms x 1,001 series x 2\), over the limit of 500,000 per query \(CAPSIGHT_MAX_QUERY_VALUES\): use a longer step/);
    }
    expect(await metric(s, 'running')).toBe(0);
    expect((await s.call('/health')).status).toBe(200);
  });

  it('refuses too many filter values, naming the limit', async () => {
    const ips = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    const r = await postJson(s, '/api/query', { kind: 'endpoints', filters: Array.from({ length: 50 }, () => ({ key: 'ip', operator: 'in', value: ips })) });
    expect(r.status).toBe(400);
    expect(r.json.message).toBe('query A: 50,000 filter values, over the limit of 2,000 per query (CAPSIGHT_MAX_FILTER_VALUES): filter by a CIDR block, a regular expression or fewer values');
  });

  it('takes each answer from the request\'s budget: the query that would pass it fails alone', async () => {
    const page = { kind: 'flows', limit: 1000 };
    const r = await postJson(s, '/api/query', { queries: [{ ...page, refId: 'A' }, { ...page, refId: 'B', offset: 1000 }, { kind: 'protocols', refId: 'C' }] });
    expect(r.status).toBe(207);
    const results = r.json.results as Results;
    expect(results.A.status).toBe(200);
    expect(results.B).toMatchObject({ status: 400, frames: [] });
    expect(results.B.error).toMatch(/^query B: the request's answers would hold more than 100,000 values \(CAPSIGHT_MAX_RESPONSE_VALUES\)/);
    expect(results.C.status).toBe(200);
  });

  it('stops a query at its time limit in the store (503), and the store serves the next one', async () => {
    const r = await postJson(s, '/api/query', heavyQuery);
    expect(r.status).toBe(503);
    expect(r.json.message).toMatch(/^query H: stopped at the time limit of 0.5 s \(CAPSIGHT_QUERY_TIMEOUT\)/);
    const list = await postJson(s, '/api/query', { queries: [heavyQuery, { refId: 'L', kind: 'protocols' }] });
    expect(list.status).toBe(207);
    expect((list.json.results as Results).H.status).toBe(503);
    expect((list.json.results as Results).L.status).toBe(200);
    expect(await metric(s, 'running')).toBe(0);
  });

  describe('with a time limit that lets heavy queries run (the same store, reopened)', () => {
    let s2: RunningSidecar;
    beforeAll(async () => {
      await s.close();
      s2 = await startSidecar({ 'query-timeout': '10min', 'log-level': 'warn' }, s.dataDir);
    });
    afterAll(async () => s2.close());

    it('answers /health and light queries while heavy ones hold their places; a closed request stops its query in the store', async () => {
      const gone = new AbortController();
      const heavy = Array.from({ length: 6 }, (_, i) =>
        s2.call('/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...heavyQuery, refId: `H${i}` }), signal: gone.signal }).catch((e: Error) => e.name),
      );
      // The heavy places (one per core beyond the first, at most two) run heavy queries; the others wait.
      await until(s2, (_running, runningHeavy, waiting) => runningHeavy === HEAVY_SLOTS && waiting === 6 - HEAVY_SLOTS);
      const health = await s2.call('/health');
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', flows: 400_000 });
      const light = await postJson(s2, '/api/query', { kind: 'protocols' });
      expect(light.status).toBe(200);
      // Both were answered with the heavy queries still in place.
      expect(await metric(s2, 'running_heavy')).toBe(HEAVY_SLOTS);
      expect(await metric(s2, 'waiting')).toBe(6 - HEAVY_SLOTS);
      gone.abort();
      expect(await Promise.all(heavy)).toEqual(Array(6).fill('AbortError'));
      await until(s2, (running, _heavy, waiting) => running === 0 && waiting === 0);
    });
  });
});
