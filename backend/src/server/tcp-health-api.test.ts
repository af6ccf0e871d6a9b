import { injectedCapture } from '../synth/tcp-events';
import { postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';

/**
 * TCP health through the running sidecar: the injected capture's events come back from the
 * store as flow fields, filters, time series and rates, the same numbers the engine found.
 */
const { capture, connections } = injectedCapture();
let sidecar: RunningSidecar;

beforeAll(async () => {
  sidecar = await startSidecar();
  expect((await upload(sidecar, 'injected.pcap', capture)).status).toBe(201);
}, 60_000);

afterAll(async () => sidecar?.close());

type Frame = { schema: { fields: { name: string; config?: { unit?: string } }[] }; data: { values: unknown[][] } };

async function frames(q: Record<string, unknown>): Promise<Frame[]> {
  const r = await postJson(sidecar, '/api/query', { refId: 'A', ...q });
  expect([r.status, r.json.message]).toEqual([200, undefined]);
  return (r.json.results as Record<string, { frames: Frame[] }>).A.frames;
}

const column = (f: Frame, name: string): unknown[] => f.data.values[f.schema.fields.findIndex((x) => x.name === name)];
const sum = (xs: unknown[]): number => xs.reduce<number>((a, b) => a + Number(b ?? 0), 0);

describe('TCP health in the store and the query model', () => {
  it('keeps every TCP health field of a flow', async () => {
    const [f] = await frames({ kind: 'flows', limit: 100, sort: { by: 'first', desc: false } });
    const src = column(f, 'src') as string[];
    for (const c of connections) {
      // A connection silent past the idle timeout is two flows: the handshake is the first's.
      const parts = src.flatMap((s, i) => (s === c.client ? [i] : []));
      const [i] = parts;
      const total = (field: string): number => sum(parts.map((k) => column(f, field)[k]));
      expect(column(f, 'handshake_rtt_us')[i]).toBe(c.toServerUs + c.toClientUs);
      expect(column(f, 'syn_to_synack_us')[i]).toBe(c.toServerUs);
      expect([c.name, total('dst_retrans'), total('src_dup_acks')]).toEqual([c.name, c.expected.dst_retrans ?? 0, c.expected.src_dup_acks ?? 0]);
      expect(column(f, 'reset_by')[parts[parts.length - 1]]).toBe(c.resetBy ?? null);
    }
    expect(f.schema.fields.find((x) => x.name === 'handshake_rtt_us')?.config?.unit).toBe('µs');
  });

  it('filters flows by retransmissions, resets and handshake RTT', async () => {
    const retransmitting = connections.filter((c) => (c.expected.dst_retrans ?? 0) > 0).map((c) => c.client).sort();
    const [f] = await frames({ kind: 'flows', limit: 100, filters: [{ key: 'retrans', operator: '>', value: 0 }] });
    expect((column(f, 'src') as string[]).sort()).toEqual(retransmitting);
    const [r] = await frames({ kind: 'flows', limit: 100, filters: [{ key: 'reset_by', operator: '=', value: 'dst' }] });
    expect(column(r, 'src')).toEqual(connections.filter((c) => c.resetBy === 'dst').map((c) => c.client));
    const slow = connections.filter((c) => c.toServerUs + c.toClientUs > 2000).map((c) => c.client).sort();
    const [h] = await frames({ kind: 'flows', limit: 100, filters: [{ key: 'handshake_rtt', operator: '>', value: 2 }] });
    expect((column(h, 'src') as string[]).sort()).toEqual(slow);
  });

  it('answers retransmissions, their rate, handshake RTT and resets over time', async () => {
    const expectedRetrans = connections.reduce((a, c) => a + (c.expected.dst_retrans ?? 0), 0);
    const series = async (metric: string): Promise<number[]> => (await frames({ kind: 'timeseries', metric, maxDataPoints: 1 })).flatMap((fr) => fr.data.values[1] as number[]);
    expect(sum(await series('retransmissions'))).toBe(expectedRetrans);
    const [packets] = await frames({ kind: 'timeseries', metric: 'packets', maxDataPoints: 1 });
    const [rate] = await series('retrans_rate');
    expect(rate).toBeCloseTo((100 * expectedRetrans) / sum(packets.data.values[1]), 9);
    const rtts = connections.map((c) => (c.toServerUs + c.toClientUs) / 1000).sort((a, b) => a - b);
    const mid = rtts.length >> 1;
    const [median] = await series('handshake_rtt');
    expect(median).toBeCloseTo(rtts.length % 2 === 1 ? rtts[mid] : (rtts[mid - 1] + rtts[mid]) / 2, 6);
    expect(sum(await series('resets'))).toBe(connections.filter((c) => c.resetBy).length);
  });

  it('groups retransmissions by server and refuses TCP measures where they mean nothing', async () => {
    const f = await frames({ kind: 'timeseries', metric: 'retransmissions', groupBy: ['dst'], maxDataPoints: 1, topN: 3 });
    expect(f.length).toBeGreaterThan(0);
    const r = await postJson(sidecar, '/api/query', { refId: 'A', kind: 'endpoints', metric: 'retrans_rate' });
    expect(r.status).toBe(400);
    expect(String(r.json.message)).toMatch(/metric "retrans_rate" is a TCP health measure of kind "timeseries"/);
  });
});
