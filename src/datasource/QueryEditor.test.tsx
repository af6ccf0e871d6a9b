import React from 'react';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import type { DataSourceInstanceSettings } from '@grafana/data';
import { startDemoGrafana, type TestGrafana } from '../testing/grafana';
import { DataSource } from './datasource';
import { QueryEditor } from './QueryEditor';
import type { CapsightOptions, CapsightQuery } from './types';

/** The query editor with its key and capture lists from the real sidecar, through the plugin's backend. */
let grafana: TestGrafana;

beforeAll(async () => {
  grafana = await startDemoGrafana();
}, 120_000);

afterAll(async () => {
  await grafana?.stop();
});

const settings = { id: 1, uid: 'capsight', type: 'capsight-flows-datasource', name: 'Capsight', jsonData: {}, meta: {}, access: 'proxy', readOnly: false } as unknown as DataSourceInstanceSettings<CapsightOptions>;

describe('QueryEditor', () => {
  it('builds filters with the sidecar keys and operators, and picks captures', async () => {
    const onChange = jest.fn();
    const onRunQuery = jest.fn();
    const ds = new DataSource(settings);
    const query: CapsightQuery = { refId: 'A', kind: 'flows', limit: 50 };
    const { rerender } = render(<QueryEditor query={query} datasource={ds} onChange={onChange} onRunQuery={onRunQuery} />);
    expect(screen.getByText('Flow table')).toBeInTheDocument();
    expect(screen.getByDisplayValue('50')).toBeInTheDocument();

    fireEvent.click(screen.getByText('Filter'));
    const withFilter = onChange.mock.lastCall[0] as CapsightQuery;
    expect(withFilter.filters).toEqual([{ key: 'app', operator: '=', value: '' }]);
    rerender(<QueryEditor query={withFilter} datasource={ds} onChange={onChange} onRunQuery={onRunQuery} />);
    fireEvent.change(screen.getByLabelText('Filter 1 value'), { target: { value: 'tls' } });
    expect((onChange.mock.lastCall[0] as CapsightQuery).filters).toEqual([{ key: 'app', operator: '=', value: 'tls' }]);

    // The capture picker lists the sidecar's captures by name.
    fireEvent.keyDown(document.getElementById('capsight-captures') as HTMLElement, { key: 'ArrowDown' });
    // (listed with its start: every capture can be picked, whatever the dashboard's range)
    await waitFor(() => expect(screen.getByText(/^capsight-demo\.pcap \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/)).toBeInTheDocument());
    fireEvent.click(screen.getByText(/^capsight-demo\.pcap /));
    const picked = (onChange.mock.lastCall[0] as CapsightQuery).filters ?? [];
    expect(picked[0]).toMatchObject({ key: 'capture', operator: 'in', value: [expect.stringMatching(/^[0-9a-f]{16}$/)] });
  });

  it('edits an anomaly query (measure, window, window end) and keeps a saved first-shape query in the current shape', async () => {
    const onChange = jest.fn();
    const ds = new DataSource(settings);
    const saved = { refId: 'A', kind: 'volume_change', groupBy: ['app'], filters: [{ key: 'app', operator: 'in', value: '$app' }] } as unknown as CapsightQuery;
    render(<QueryEditor query={saved} datasource={ds} onChange={onChange} onRunQuery={jest.fn()} />);
    expect(screen.getByText('Anomaly: volume change')).toBeInTheDocument();
    expect(screen.getByText('score')).toBeInTheDocument();
    expect(screen.getByText('Range end')).toBeInTheDocument();
    fireEvent.change(document.getElementById('capsight-window') as HTMLElement, { target: { value: '10' } });
    expect(onChange.mock.lastCall[0]).toMatchObject({ windowMs: 600_000, queryVersion: 2, filters: [{ key: 'app', operator: 'in', value: ['$app'] }] });
  });
});
