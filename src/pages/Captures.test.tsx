import * as http from 'http';
import type { AddressInfo } from 'net';
import React from 'react';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { generateCaptureBuffer } from '../../backend/src/synth/generator';
import { getJson, startDemoGrafana, type TestGrafana } from '../testing/grafana';
import { Captures } from './Captures';

/** The Captures page through the plugin's backend to the real sidecar, with a local web server as the "blob" to import. */
let grafana: TestGrafana;
let blobServer: http.Server;
const capture = generateCaptureBuffer({ bytes: 400_000, seed: 61, hosts: 40, flows: 30, ipv6Share: 0.2 });

beforeAll(async () => {
  blobServer = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': capture.length });
    res.end(capture);
  });
  await new Promise<void>((r) => blobServer.listen(0, '127.0.0.1', r));
  const allow = `127.0.0.1:${(blobServer.address() as AddressInfo).port}`;
  grafana = await startDemoGrafana(['--import-allow', allow]);
}, 120_000);

afterAll(async () => {
  await grafana?.stop();
  await new Promise((r) => blobServer.close(r));
});

describe('Captures page', () => {
  it('lists captures, imports by URL with progress and a link to the Overview, shows refusals, deletes', async () => {
    render(<Captures />);
    expect(await screen.findByText('capsight-demo.pcap')).toBeInTheDocument();

    fireEvent.change(screen.getByLabelText('Capture URL'), { target: { value: 'https://169.254.169.254/metadata/instance' } });
    fireEvent.click(screen.getByText('Import'));
    expect(await screen.findByText(/host "169\.254\.169\.254" is not allowed/)).toBeInTheDocument();

    const port = (blobServer.address() as AddressInfo).port;
    fireEvent.change(screen.getByLabelText('Capture URL'), { target: { value: `http://127.0.0.1:${port}/network-watcher-logs/vm1.cap?sig=SECRET` } });
    fireEvent.click(screen.getByText('Import'));
    const link = await screen.findByText('Open in Overview', {}, { timeout: 20_000 });
    expect(link.closest('a')?.getAttribute('href')).toMatch(/^\/d\/capsight-overview\?var-capture=[0-9a-f]{16}$/);
    expect(screen.getByTestId('capsight-job').textContent).toMatch(/vm1\.cap done: ingested/);
    expect(screen.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    // The imported capture joins the list (as a link to its Overview; the job line names it too).
    expect(await screen.findByRole('link', { name: 'vm1.cap' }, { timeout: 10_000 })).toBeInTheDocument();

    const row = screen.getByText('capsight-demo.pcap').closest('tr') as HTMLElement;
    fireEvent.click(row.querySelector('button') as HTMLElement);
    // ConfirmButton: the row now offers Cancel and the destructive Delete.
    const confirm = await within(row).findAllByRole('button', { name: /^Delete$/ });
    fireEvent.click(confirm[confirm.length - 1]);
    await waitFor(() => expect(screen.queryByText('capsight-demo.pcap')).not.toBeInTheDocument(), { timeout: 10_000 });
    expect((await getJson<{ captures: number }>(`${grafana.sidecar.url}/health`)).captures).toBe(1);
  }, 60_000);
});
