import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { FAILED_STATES } from './anomaly-rules';
import { scenarioCapture } from '../synth/scenario';

/**
 * What network engineers look for first, as the sidecar answers it: top services with names, top
 * server names, ASNs with their organisation, failed connections and DNS errors by any key (flow
 * level keys included), ranked by flows when asked, each group linking into the flow table.
 */
let sidecar: RunningSidecar;
const START = 1_767_225_600;
const ms = (m: number) => (START + m * 60) * 1000;

type Frame = { schema: { fields: { name: string; config: { links?: { url: string }[] } }[] }; data: { values: unknown[][] } };

async function frames(q: Record<string, unknown>): Promise<Frame[]> {
  const r = await postJson(sidecar, '/api/query', { refId: 'A', ...q });
  expect([r.status, r.json.message]).toEqual([200, undefined]);
  return (r.json.results as Record<string, { frames: Frame[] }>).A.frames;
}
const col = (f: Frame, name: string) => f.data.values[f.schema.fields.findIndex((x) => x.name === name)];

beforeAll(async () => {
  sidecar = await startSidecar();
  expect((await upload(sidecar, 'story.pcap', scenarioCapture({ startSec: START, minutes: 80, scanAt: 71, failuresAt: 75 }))).status).toBe(201);
  expect((await upload(sidecar, 'g.pcap', generated({ bytes: 1_000_000, seed: 3 }))).status).toBe(201);
}, 60_000);

afterAll(async () => sidecar?.close());

describe('shares by the keys engineers ask for', () => {
  it('top services: server ports with their names, linked into the flow table', async () => {
    const [f] = await frames({ kind: 'protocols', groupBy: ['dport'], topN: 50 });
    const ports = col(f, 'name') as string[];
    const services = col(f, 'service') as string[];
    expect(services[ports.indexOf('443')]).toBe('https');
    expect(services[ports.indexOf('53')]).toBe('dns');
    expect(f.schema.fields[0].config.links?.[0].url).toBe('/d/capsight-flows?${__all_variables}&var-filters=dport%7C%3D%7C${__value.raw}&${__url_time_range}');
  });

  it('top ASNs with their organisation', async () => {
    const [f] = await frames({ kind: 'protocols', groupBy: ['dst_asn'], topN: 5 });
    const orgs = (col(f, 'as_org') as string[]).slice(0, 5);
    expect(orgs.some((o) => o && o.length > 0)).toBe(true);
  });

  it('failed connections by server, ranked by flows, equal the flows with those states', async () => {
    const failed = [{ key: 'state', operator: 'in', value: [...FAILED_STATES] }];
    const [f] = await frames({ kind: 'protocols', groupBy: ['dst'], sort: { by: 'flows' }, topN: 3, filters: failed, from: ms(0), to: ms(80) });
    const flows = col(f, 'flows') as number[];
    expect(flows.slice(0, 3)).toEqual([...flows.slice(0, 3)].sort((a, b) => b - a));
    // The scan's 200 refused ports on one host, then the 40 refused connections to one server.
    expect((col(f, 'name') as string[]).slice(0, 2)).toEqual(['10.20.0.50', '8.8.8.8']);
    expect(flows.slice(0, 2)).toEqual([200, 40]);
  });

  it('DNS errors over time and by name: a flow-level key as time series of flows and as shares', async () => {
    const errors = [{ key: 'dns_rcode', operator: 'in', value: ['NXDOMAIN', 'SERVFAIL'] }];
    const series = await frames({ kind: 'timeseries', metric: 'flows', groupBy: ['dns_rcode'], filters: errors, from: ms(0), to: ms(80), intervalMs: 60_000 });
    expect(series).toHaveLength(1);
    expect((series[0].data.values[1] as number[]).reduce((a, b) => a + b, 0)).toBe(40);
    const [byName] = await frames({ kind: 'protocols', groupBy: ['dns_rcode'], filters: errors, from: ms(0), to: ms(80) });
    expect([col(byName, 'name'), col(byName, 'flows')]).toEqual([['NXDOMAIN'], [40]]);
    const bad = await postJson(sidecar, '/api/query', { kind: 'timeseries', metric: 'bytes', groupBy: ['dns_rcode'] });
    expect(bad).toMatchObject({ status: 400, json: { message: expect.stringMatching(/"dns_rcode" is flow-level: a time series of it counts flows started/) } });
  });
});
