import { type DataQueryRequest, type DataQueryResponse, type DataSourceInstanceSettings, dateTime } from '@grafana/data';
import { setTemplateSrv, type TemplateSrv } from '@grafana/runtime';
import * as http from 'node:http';
import { lastValueFrom, type Observable } from 'rxjs';
import { send } from '../../backend/src/testing/sidecar-process';
import { startDemoGrafana, type TestGrafana } from '../testing/grafana';
import { captureEvents, DataSource } from './datasource';
import type { CapsightOptions, CapsightQuery } from './types';

/**
 * The data source as Grafana runs it with a backend: queries go to Grafana's /api/ds/query, which
 * calls the plugin's executable, which calls the real sidecar (with the token only it holds).
 * Grafana's server is played by plugin-backend/src/testing/grafana-server.ts, with the built
 * plugin behind it; the sidecar is the built one with its generated demo capture.
 */
let grafana: TestGrafana;

/** $country is multi-valued, $app is "All", $ip does not exist on this dashboard. */
const templateSrv = { replace: (s: string) => s.replace('$country', 'US,DE').replace('$app', '*'), getVariables: () => [] } as unknown as TemplateSrv;

const settings = { id: 1, uid: 'capsight', type: 'capsight-flows-datasource', name: 'Capsight', jsonData: { url: 'http://sidecar:9877' }, meta: {}, access: 'proxy', readOnly: false } as unknown as DataSourceInstanceSettings<CapsightOptions>;

function request(targets: CapsightQuery[], filters: unknown[] = []): DataQueryRequest<CapsightQuery> {
  const to = dateTime();
  const from = dateTime(to.valueOf() - 3 * 3600_000);
  return { targets, filters, range: { from, to, raw: { from: 'now-3h', to: 'now' } }, intervalMs: 60_000, maxDataPoints: 500, scopedVars: {} } as unknown as DataQueryRequest<CapsightQuery>;
}

const run = (ds: DataSource, r: DataQueryRequest<CapsightQuery>): Promise<DataQueryResponse> => lastValueFrom(ds.query(r) as Observable<DataQueryResponse>);

/** GET through the stand-in (as a browser follows a link): status, headers and body size. */
function download(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; text: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: body.length, text: body.toString('utf8') });
      });
    }).on('error', reject);
  });
}

/** A data link's URL for one row, as Grafana interpolates ${__data.fields.<name>}. */
function rowLink(url: string, frame: { fields: { name: string; values: unknown[] }[] }, row: number): string {
  return url.replace(/\$\{__data\.fields\.(\w+)\}/g, (_m, name: string) => encodeURIComponent(String(frame.fields.find((f) => f.name === name)?.values[row])));
}

beforeAll(async () => {
  grafana = await startDemoGrafana();
  setTemplateSrv(templateSrv);
}, 120_000);

afterAll(async () => {
  await grafana?.stop();
});

describe('Capsight data source (backend)', () => {
  it('links flow and conversation rows to their packets, and the flow table to a CSV export, through the proxy routes', async () => {
    const ds = new DataSource(settings);
    const r = await run(ds, request([
      { refId: 'A', kind: 'flows', limit: 5, sort: { by: 'bytes', desc: true }, columns: ['first', 'src', 'dst', 'src_pkts', 'dst_pkts'] },
      { refId: 'B', kind: 'conversations', topN: 3 },
    ]));
    const a = r.data.find((f) => f.refId === 'A');
    const packets = a.fields.find((f: { name: string }) => f.name === 'packets');
    expect(packets.config).toMatchObject({ displayName: 'Packets', links: [{ title: 'Download packets (pcap)', url: '/api/datasources/proxy/uid/capsight/export/pcap?capture=${__data.fields.capture_id}&flow=${__data.fields.flow_id}' }] });
    // The columns chosen leave the row's ids out: they come along, hidden, for the link.
    expect(a.fields.filter((f: { config: { custom?: { hidden?: boolean } } }) => f.config.custom?.hidden).map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['capture_id', 'flow_id']));
    const col = (name: string): number[] => a.fields.find((f: { name: string }) => f.name === name).values;
    const slice = await download(grafana.url + rowLink(packets.config.links[0].url, a, 0));
    expect(slice.status).toBe(200);
    expect(slice.headers['content-disposition']).toMatch(/^attachment; filename="capsight-[0-9a-f]{16}-flow-\d+\.pcap"$/);
    expect(Number(slice.headers['x-capsight-packets'])).toBe(col('src_pkts')[0] + col('dst_pkts')[0]);
    expect(slice.bytes).toBe(Number(slice.headers['content-length']));

    const csvNotice = (a.meta?.notices ?? []).find((n: { link?: string }) => n.link?.includes('/export/flows'));
    expect(csvNotice.link).toMatch(/^\/api\/datasources\/proxy\/uid\/capsight\/export\/flows\?format=csv&query=[A-Za-z0-9_-]+$/);
    const csv = await download(grafana.url + csvNotice.link);
    expect(csv.status).toBe(200);
    const total = (await run(ds, request([{ refId: 'T', kind: 'flows', limit: 1 }]))).data[0].meta.custom.total;
    expect(csv.text.trim().split('\n')).toHaveLength(total + 1);

    const b = r.data.find((f) => f.refId === 'B');
    const conv = b.fields.find((f: { name: string }) => f.name === 'packets');
    const flowsOf = b.fields.find((f: { name: string }) => f.name === 'flows').values[0];
    const c = await download(grafana.url + rowLink(conv.config.links[0].url, b, 0));
    expect(c.status).toBe(200);
    expect(Number(c.headers['x-capsight-flows'])).toBe(flowsOf);
  });

  it('passes "Save & test" with the sidecar version and capture count (CheckHealth)', async () => {
    const r = await new DataSource(settings).testDatasource();
    expect(r).toMatchObject({ status: 'success', message: expect.stringMatching(/^Capsight sidecar \d+\.\d+\.\d+: 1 capture\(s\), \d+ flows$/) });
  });

  it('turns the plugin\'s frames into Grafana data frames, per refId', async () => {
    const ds = new DataSource(settings);
    const r = await run(ds, request([
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

  it('applies template variables and ad-hoc filters in applyTemplateVariables, and reports a bad query by refId', async () => {
    const ds = new DataSource(settings);
    const r = await run(ds, request([
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
    ], [{ key: 'proto', operator: '=', value: '6' }]));
    const a = r.data.find((f) => f.refId === 'A');
    const countries = new Set(a.fields.find((f: { name: string }) => f.name === 'dst_country').values);
    expect([...countries].every((c) => c === 'US' || c === 'DE')).toBe(true);
    expect(new Set(a.fields.find((f: { name: string }) => f.name === 'proto').values)).toEqual(new Set([6]));
    expect(r.errors).toEqual([expect.objectContaining({ refId: 'B', message: expect.stringMatching(/unknown filter key "nope"/) })]);
  });

  it('migrates a saved query of the first shape and resolves its variables', () => {
    const ds = new DataSource(settings);
    const q = ds.applyTemplateVariables({ refId: 'A', kind: 'flows', filters: [{ key: 'country', operator: 'in', value: '$country' }, { key: 'app', operator: 'in', value: 'tls,dns' }] } as CapsightQuery, {});
    expect(q).toMatchObject({ queryVersion: 2, filters: [{ key: 'country', operator: 'in', value: ['US', 'DE'] }, { key: 'app', operator: 'in', value: ['tls', 'dns'] }] });
  });

  it('pages and sorts the flow table, and shows the chosen columns (applied by the backend)', async () => {
    const ds = new DataSource(settings);
    const page = async (offset: number) =>
      (await run(ds, request([{ refId: 'A', kind: 'flows', limit: 10, offset, sort: { by: 'bytes', desc: true }, columns: ['src', 'dst', 'bytes'] }]))).data[0];
    const p1 = await page(0);
    const p2 = await page(10);
    // The chosen columns shown, in order; what the rows' links need comes along hidden, then the packets link.
    const shown = (f: { name: string; config: { custom?: { hidden?: boolean } } }): boolean => !f.config.custom?.hidden;
    expect(p1.fields.filter(shown).map((f: { name: string }) => f.name)).toEqual(['src', 'dst', 'bytes', 'packets']);
    const b1 = p1.fields[2].values as number[];
    const b2 = p2.fields[2].values as number[];
    expect(b1).toHaveLength(10);
    expect(Math.min(...b1)).toBeGreaterThanOrEqual(Math.max(...b2));
  });

  it('turns captures into annotation regions', async () => {
    const ds = new DataSource(settings);
    const r = await run(ds, request([{ refId: 'A', kind: 'captures' }]));
    const events = captureEvents(r.data);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ isRegion: true, title: 'Capture capsight-demo.pcap', tags: ['capture'] });
    expect(events[0].timeEnd! - events[0].time!).toBeGreaterThan(30 * 60_000);
  });

  it('lists variable values and ad-hoc keys through the backend\'s resources', async () => {
    const ds = new DataSource(settings);
    const values = await ds.metricFindQuery('values app');
    expect(values.map((v) => v.value)).toEqual(expect.arrayContaining(['tls', 'dns', 'http']));
    // The picker's search ($__searchFilter), and names beside numbers.
    expect((await ds.metricFindQuery('values app $__searchFilter', { searchFilter: 'TL' })).map((v) => v.value)).toEqual(['tls']);
    const ht = (await ds.metricFindQuery('values app ht')).map((v) => String(v.value));
    expect(ht).toContain('http');
    expect(ht.every((v) => v.includes('ht'))).toBe(true);
    const protos = await ds.metricFindQuery('values proto');
    expect(protos).toEqual(expect.arrayContaining([{ value: '6', text: 'tcp' }, { value: '17', text: 'udp' }]));
    const keys = await ds.getTagKeys();
    expect(keys.map((k) => k.value)).toEqual(expect.arrayContaining(['country', 'ip', 'app', 'capture']));
  });

  it('never hands the token to the browser: the sidecar needs it, every answer the page gets lacks it', async () => {
    const direct = await send(`${grafana.sidecar.url}/api/captures`, 'GET');
    expect(direct.status).toBe(401);
    const seen: string[] = [];
    for (const path of ['/api/datasources/uid/capsight/health', '/api/datasources/uid/capsight/resources/api/captures', '/api/datasources/uid/capsight/resources/api/jobs']) {
      const r = await send(`${grafana.url}${path}`, 'GET');
      expect(r.status).toBe(200);
      seen.push(r.text);
    }
    expect(seen.join('\n')).not.toContain('frontend-test-token');
    expect(JSON.stringify(settings)).not.toContain('frontend-test-token');
  });
});
