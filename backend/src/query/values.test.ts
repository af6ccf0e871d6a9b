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

describe('values for variable pickers', () => {
  it('name protocols, services and countries in the text, keeping the value', async () => {
    const proto = await frame({ kind: 'values', key: 'proto' });
    const texts = Object.fromEntries((proto.data.values[0] as string[]).map((v, i) => [v, (proto.data.values[1] as string[])[i]]));
    expect(texts).toMatchObject({ 6: 'tcp', 17: 'udp' });
    const port = await frame({ kind: 'values', key: 'dport', limit: 1000 });
    const p443 = (port.data.values[0] as string[]).indexOf('443');
    expect((port.data.values[1] as string[])[p443]).toBe('443 (https)');
    const country = await frame({ kind: 'values', key: 'dst_country', limit: 5 });
    expect((country.data.values[1] as string[]).every((t, i) => t.startsWith(`${(country.data.values[0] as string[])[i]} `))).toBe(true);
  });

  it('search: every value containing the text, any case, past the first 1,000', async () => {
    const all = await frame({ kind: 'values', key: 'ip', limit: 10000 });
    const some = (all.data.values[0] as string[]).filter((v) => v.includes('10.'));
    const found = await frame({ kind: 'values', key: 'ip', limit: 10000, search: '10.' });
    expect([...(found.data.values[0] as string[])].sort()).toEqual([...some].sort());
    const none = await frame({ kind: 'values', key: 'ip', search: '%_\\' });
    expect(none.data.values[0]).toEqual([]);
    const caps = await frame({ kind: 'values', key: 'capture', search: 'G.PC' });
    expect(caps.data.values[1]).toEqual(['g.pcap (2026-01-01 00:00 UTC)']);
  });
});
