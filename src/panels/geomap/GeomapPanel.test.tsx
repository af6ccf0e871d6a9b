import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { dateTime, type DataFrame, type DataQueryRequest, type PanelProps } from '@grafana/data';
import { locationService, setDataSourceSrv, setTemplateSrv } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';
import { DataSource } from '../../datasource/datasource';
import { startDemoGrafana, type TestGrafana } from '../../testing/grafana';
import type { DataSourceInstanceSettings } from '@grafana/data';
import { GeomapPanel, type GeomapOptions } from './GeomapPanel';

/**
 * The panel on real frames: a "countries" answer for the built sidecar's demo capture, asked the
 * way a dashboard asks (the data source, Grafana's /api/ds/query, the plugin's backend).
 */
let grafana: TestGrafana;
let frames: DataFrame[];

beforeAll(async () => {
  grafana = await startDemoGrafana();
  const ds = new DataSource({ id: 1, uid: 'capsight', type: 'capsight-flows-datasource', jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings);
  const range = { from: dateTime(0), to: dateTime(Date.now() + 86400_000), raw: { from: 'now-30d', to: 'now' } };
  const answer = await lastValueFrom(ds.query({ targets: [{ refId: 'A', kind: 'countries', side: 'both', topN: 300 }], range, scopedVars: {}, intervalMs: 60_000, maxDataPoints: 100 } as unknown as DataQueryRequest<never>));
  frames = answer.data;
  // The detail view asks the data source for top IPs and applications.
  setDataSourceSrv({ get: async () => ds } as never);
}, 120_000);

afterAll(async () => {
  await grafana?.stop();
});

function props(selected: string | null): PanelProps<GeomapOptions> {
  return {
    data: { series: frames, state: 'Done' },
    width: 900,
    height: 450,
    options: { metric: 'bytes', variable: 'country' },
    timeRange: { from: dateTime(0), to: dateTime(Date.now() + 86400_000), raw: { from: 'now-30d', to: 'now' } },
    replaceVariables: (s: string) => (s === '$country' && selected ? selected : s),
  } as unknown as PanelProps<GeomapOptions>;
}

describe('GeomapPanel', () => {
  it('fills the countries that have traffic and lists private addresses apart', () => {
    const { container } = render(<GeomapPanel {...props(null)} />);
    const filled = [...container.querySelectorAll('path[data-country]')].filter((p) => p.getAttribute('data-country'));
    const codes = frames[0].fields[0].values.filter((c: string) => /^[A-Z]{2}$/.test(c));
    expect(filled.length).toBeGreaterThan(10);
    expect(filled.length).toBeLessThanOrEqual(codes.length);
    expect(new Set(filled.map((p) => p.getAttribute('fill'))).size).toBeGreaterThan(3);
    expect(screen.getByLabelText('Not on the map').textContent).toMatch(/Private \/ local: /);
    expect(screen.getByLabelText('Legend').textContent).toMatch(/bytes/);
  });

  it('sets the country variable on click, clears it on a second click, and shows the details', async () => {
    const spy = jest.spyOn(locationService, 'partial');
    const { container, rerender } = render(<GeomapPanel {...props(null)} />);
    const us = container.querySelector('path[data-country="US"]') as Element;
    fireEvent.mouseMove(us);
    expect(screen.getByRole('tooltip').textContent).toMatch(/United States/);
    fireEvent.click(us);
    expect(spy).toHaveBeenLastCalledWith({ 'var-country': 'US' }, true);
    rerender(<GeomapPanel {...props('US')} />);
    expect(screen.getByLabelText('Country details').textContent).toMatch(/United States.*sent .*%.*received/s);
    await waitFor(() => expect(screen.getByLabelText('Top IPs').textContent).toMatch(/\d+\.\d+\.\d+\.\d+ [\d.]+ [kMG]?B/));
    expect(screen.getByLabelText('Top applications').textContent).toMatch(/tls|http|dns/);
    fireEvent.click(container.querySelector('path[data-country="US"]') as Element);
    expect(spy).toHaveBeenLastCalledWith({ 'var-country': null }, true);
  });

  it('says so when there is no data', () => {
    render(<GeomapPanel {...({ ...props(null), data: { series: [], state: 'Done' } } as unknown as PanelProps<GeomapOptions>)} />);
    expect(screen.getByText(/No data/)).toBeInTheDocument();
  });

  it('asks the details under the panel\'s own filters and the dashboard\'s ad-hoc filters', async () => {
    const request = { targets: [{ refId: 'A', kind: 'countries', filters: [{ key: 'app', operator: 'in', value: ['$app'] }] }], scopedVars: { app: { text: 'dns', value: 'dns' } }, filters: [{ key: 'proto', operator: '=', value: '17' }] };
    setTemplateSrv({ replace: (t: string, vars?: Record<string, { value: string }>) => t.replace('$app', vars?.app?.value ?? '$app'), getVariables: () => [] } as never);
    const p = props('US');
    render(<GeomapPanel {...({ ...p, data: { ...p.data, request } } as unknown as PanelProps<GeomapOptions>)} />);
    await waitFor(() => expect(screen.getByLabelText('Top applications').textContent).toMatch(/dns/));
    expect(screen.getByLabelText('Top applications').textContent).not.toMatch(/tls|http/);
  });
});
