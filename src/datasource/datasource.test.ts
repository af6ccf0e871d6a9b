import { type DataSourceInstanceSettings, dateTime, type DataQueryRequest } from '@grafana/data';
import { setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import { startDemoSidecar } from '../testing/sidecarProxy';
import type { SidecarProcess } from '../../backend/src/testing/sidecar-process';
import { captureEvents, DataSource } from './datasource';
import type { CapsightOptions, CapsightQuery } from './types';

/**
 * The data source against a real sidecar (the built one, with its generated demo capture), through
 * a stand-in for Grafana's data source proxy (testing/sidecarProxy.ts).
 */
let sidecar: SidecarProcess;

/** $country is multi-valued, $app is "All", $ip does not exist on this dashboard. */
const templateSrv = { replace: (s: string) => s.replace('$country', 'US,DE').replace('$app', '*'), getVariables: () => [] } as unknown as TemplateSrv;

const settings = { id: 1, uid: 'capsight', type: 'capsight-flows-datasource', name: 'Capsight', url: '/proxy', jsonData: {}, meta: {}, access: 'proxy', readOnly: false } as unknown as DataSourceInstanceSettings<CapsightOptions>;

function request(targets: CapsightQuery[], filters = []): DataQueryRequest<CapsightQuery> {
  const to = dateTime();
  const from = dateTime(to.valueOf() - 3 * 3600_000);
  return { targets, filters, range: { from, to, raw: { from: 'now-3h', to: 'now' } }, intervalMs: 60_000, maxDataPoints: 500, scopedVars: {} } as unknown as DataQueryRequest<CapsightQuery>;
}

beforeAll(async () => {
  sidecar = await startDemoSidecar();
  setTemplateSrv(templateSrv);
}, 120_000);

afterAll(async () => {
  await sidecar?.stop();
});

describe('Capsight data source', () => {
  it('passes "Save & test" with the sidecar version and capture count', async () => {
    const r = await new DataSource(settings).testDatasource();
    expect(r).toMatchObject({ status: 'success', message: expect.stringMatching(/^Capsight sidecar \d+\.\d+\.\d+: 1 capture\(s\), \d+ flows$/) });
  });

  it('turns the sidecar frames into Grafana data frames, per refId', async () => {
    const ds = new DataSource(settings);
    const r = await ds.query(request([
      { refId: 'A', kind: 'countries', side: 'remote', topN: 5 },
      { refId: 'B', kind: 'timeseries', metric: 'bytes', groupBy: ['app'], topN: 3 },
    ]));
    const countries = r.data.filter((f) => f.refId === 'A');
    expect(countries).toHaveLength(1);
    expect(countries[0].fields.map((f: { name: string }) => f.name)).toEqual(['name', 'country_name', 'bytes', 'bytes_sent', 'bytes_received', 'packets', 'flows']);
    expect(countries[0].length).toBe(6); // top 5 + (other)
    const series = r.data.filter((f) => f.refId === 'B');
    expect(series.length).toBe(4);
    expect(series[0].fields[0].type).toBe('time');
    expect(series[0].fields[1].config.unit).toBe('decbytes');
    expect(series.map((f) => f.fields[1].labels?.app)).toContain('(other)');
  });

  it('applies template variables and ad-hoc filters, and reports a bad query by refId', async () => {
    const ds = new DataSource(settings);
    const r = await ds.query(request([
      {
        refId: 'A',
        kind: 'flows',
        limit: 5,
        filters: [
          { key: 'dst_country', operator: '=', value: '$country' },
          { key: 'app', operator: 'in', value: '$app' },
          { key: 'ip', operator: 'in', value: '$ip' },
        ],
      },
      { refId: 'B', kind: 'flows', filters: [{ key: 'nope', operator: '=', value: 1 }] },
    ]));
    const countries = new Set(r.data[0].fields.find((f: { name: string }) => f.name === 'dst_country').values);
    expect([...countries].every((c) => c === 'US' || c === 'DE')).toBe(true);
    expect(r.errors).toEqual([{ refId: 'B', message: expect.stringMatching(/unknown filter key "nope"/) }]);
  });

  it('pages and sorts the flow table, and shows the chosen columns', async () => {
    const ds = new DataSource(settings);
    const page = async (offset: number) =>
      (await ds.query(request([{ refId: 'A', kind: 'flows', limit: 10, offset, sort: { by: 'bytes', desc: true }, columns: ['src', 'dst', 'bytes'] }]))).data[0];
    const p1 = await page(0);
    const p2 = await page(10);
    expect(p1.fields.map((f: { name: string }) => f.name)).toEqual(['src', 'dst', 'bytes']);
    const b1 = p1.fields[2].values as number[];
    const b2 = p2.fields[2].values as number[];
    expect(b1).toHaveLength(10);
    expect(Math.min(...b1)).toBeGreaterThanOrEqual(Math.max(...b2));
  });

  it('turns captures into annotation regions', async () => {
    const ds = new DataSource(settings);
    const r = await ds.query(request([{ refId: 'A', kind: 'captures' }]));
    const events = captureEvents(r.data);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ isRegion: true, title: 'Capture capsight-demo.pcap', tags: ['capture'] });
    expect(events[0].timeEnd! - events[0].time!).toBeGreaterThan(30 * 60_000);
  });

  it('lists variable values and ad-hoc keys', async () => {
    const ds = new DataSource(settings);
    const values = await ds.metricFindQuery('values app');
    expect(values.map((v) => v.value)).toEqual(expect.arrayContaining(['tls', 'dns', 'http']));
    const keys = await ds.getTagKeys();
    expect(keys.map((k) => k.value)).toEqual(expect.arrayContaining(['country', 'ip', 'app', 'capture']));
  });
});
