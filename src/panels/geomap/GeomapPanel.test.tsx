import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { dataFrameFromJSON, dateTime, type DataFrameJSON, type PanelProps } from '@grafana/data';
import { locationService, setDataSourceSrv } from '@grafana/runtime';
import { DataSource } from '../../datasource/datasource';
import { postJson, startDemoSidecar } from '../../testing/sidecarProxy';
import type { DataSourceInstanceSettings } from '@grafana/data';
import type { SidecarProcess } from '../../../backend/src/testing/sidecar-process';
import { GeomapPanel, type GeomapOptions } from './GeomapPanel';

/** The panel on real frames: a "countries" answer of the built sidecar for its demo capture. */
let sidecar: SidecarProcess;
let frames: ReturnType<typeof dataFrameFromJSON>[];

beforeAll(async () => {
  sidecar = await startDemoSidecar();
  const answer = await postJson<{ results: Record<string, { frames: DataFrameJSON[] }> }>(`${sidecar.url}/api/query`, { refId: 'A', kind: 'countries', side: 'both', topN: 300 });
  frames = [dataFrameFromJSON(answer.results.A.frames[0])];
  // The detail view asks the data source (through the proxy stand-in) for top IPs and applications.
  const ds = new DataSource({ uid: 'capsight', url: '/proxy', jsonData: {}, meta: {} } as unknown as DataSourceInstanceSettings);
  setDataSourceSrv({ get: async () => ds } as never);
}, 120_000);

afterAll(async () => {
  await sidecar?.stop();
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
});
