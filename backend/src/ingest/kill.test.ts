import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { generated } from '../testing/sidecar';
import { spawnSidecar } from '../testing/sidecar-process';

const json = async (url: string, init?: RequestInit): Promise<Record<string, unknown>> => (await (await fetch(url, init)).json()) as Record<string, unknown>;

describe('a sidecar killed mid-ingest', () => {
  const capture = generated({ bytes: 4_000_000, seed: 77 });
  let stall = true;
  let server: http.Server;
  beforeAll(async () => {
    // Serves the capture; while `stall` is set it sends the first megabyte and then holds the connection.
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': capture.length });
      if (!stall) return res.end(capture);
      res.write(capture.subarray(0, 1_000_000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('leaves nothing half-written, and the same import succeeds after a restart', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-kill-'));
    const allow = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const url = `http://${allow}/capture.pcap`;
    const first = await spawnSidecar(['--data-dir', dataDir, '--import-allow', allow]);
    const job = await json(`${first.url}/api/imports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
    for (;;) {
      const j = await json(`${first.url}/api/jobs/${String(job.id)}`);
      if (Number(j.bytesDone) >= 1_000_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;

    stall = false;
    const second = await spawnSidecar(['--data-dir', dataDir, '--import-allow', allow]);
    try {
      expect(await json(`${second.url}/health`)).toMatchObject({ captures: 0, flows: 0 });
      const killed = await json(`${second.url}/api/jobs/${String(job.id)}`);
      expect(killed).toMatchObject({ state: 'failed', error: expect.stringMatching(/interrupted by a restart/) });
      const again = await json(`${second.url}/api/imports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });
      let done: Record<string, unknown>;
      for (;;) {
        done = await json(`${second.url}/api/jobs/${String(again.id)}`);
        if (done.state !== 'queued' && done.state !== 'running') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(done).toMatchObject({ state: 'done', result: 'ingested', bytesDone: capture.length });
      expect(await json(`${second.url}/health`)).toMatchObject({ captures: 1 });
    } finally {
      await second.stop();
    }
  });
});
