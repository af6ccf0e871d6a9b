import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';

/**
 * kind "values": the flows count of each value equals the number of flows the same filter selects
 * (an either-end key once counted a flow twice when both ends had the value: port 0 for ICMP).
 */
let sidecar: RunningSidecar;

beforeAll(async () => {
  sidecar = await startSidecar();
  expect((await upload(sidecar, 'g.pcap', generated({ bytes: 2_000_000, seed: 12 }))).status).toBe(201);
}, 60_000);

afterAll(async () => sidecar?.close());

async function frame(q: Record<string, unknown>) {
  const r = await postJson(sidecar, '/api/query', { refId: 'A', ...q });
  expect(r.status).toBe(200);
  return (r.json.results as Record<string, { frames: { schema: { fields: { name: string }[]; meta: { custom?: { total?: number } } }; data: { values: unknown[][] } }[] }>).A.frames[0];
}

describe('values', () => {
  it.each(['port', 'ip', 'country', 'asn', 'app', 'dport', 'src_country'])('"%s": each value\'s flows equal the flows its filter selects', async (key) => {
    const v = await frame({ kind: 'values', key, limit: 8 });
    const values = v.data.values[0] as string[];
    const flows = v.data.values[2] as number[];
    expect(values.length).toBeGreaterThan(1);
    for (const [i, value] of values.entries()) {
      const f = await frame({ kind: 'flows', limit: 1, filters: [{ key, operator: '=', value }] });
      expect([key, value, flows[i]]).toEqual([key, value, f.schema.meta.custom?.total]);
    }
  });

  it('port 0 (ICMP) is one flow per flow, not two', async () => {
    const v = await frame({ kind: 'values', key: 'port', limit: 1000 });
    const zero = (v.data.values[0] as string[]).indexOf('0');
    const icmp = await frame({ kind: 'flows', limit: 1, filters: [{ key: 'proto', operator: 'in', value: [1, 58] }] });
    expect(zero).toBeGreaterThanOrEqual(0);
    expect((v.data.values[2] as number[])[zero]).toBe(icmp.schema.meta.custom?.total);
  });

  it('"capture" lists every capture, whatever the range, with its start in the text', async () => {
    const now = Date.now();
    const v = await frame({ kind: 'values', key: 'capture', from: now - 3600_000, to: now });
    expect(v.data.values[1]).toEqual(['g.pcap (2026-01-01 00:00 UTC)']);
  });
});
