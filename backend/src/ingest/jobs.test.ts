import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { generated, getJob, postJson, startSidecar, waitForJob, type RunningSidecar } from '../testing/sidecar';

describe('job progress and cancel', () => {
  const capture = generated({ bytes: 3_000_000, seed: 12 });
  let server: http.Server;
  let s: RunningSidecar;
  beforeAll(async () => {
    // Sends a third of the capture, then holds the connection open.
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': capture.length });
      res.write(capture.subarray(0, 1_000_000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    s = await startSidecar({ 'import-allow': `127.0.0.1:${(server.address() as AddressInfo).port}`, concurrency: '1' });
  });
  afterAll(async () => {
    await s.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('shows bytes, rate and ETA while running, queues beyond the limit, and cancels both', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stalled.pcap`;
    const running = await postJson(s, '/api/imports', { url });
    const queued = await postJson(s, '/api/imports', { url: `${url}?second` });
    let j: Record<string, unknown>;
    for (;;) {
      j = await getJob(s, String(running.json.id));
      if (Number(j.bytesDone) >= 1_000_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    j = await getJob(s, String(running.json.id));
    expect(j).toMatchObject({ state: 'running', bytesTotal: capture.length });
    expect(Number(j.bytesPerSec)).toBeGreaterThan(0);
    expect(Number(j.etaSec)).toBeGreaterThan(0);
    expect(((await (await s.call(`/api/jobs/${String(queued.json.id)}`)).json()) as { state: string }).state).toBe('queued');

    for (const id of [queued.json.id, running.json.id]) {
      const del = await s.call(`/api/jobs/${String(id)}`, { method: 'DELETE' });
      expect(del.status).toBe(200);
      expect(await waitForJob(s, String(id))).toMatchObject({ state: 'cancelled' });
      expect((await s.call(`/api/jobs/${String(id)}`, { method: 'DELETE' })).status).toBe(409);
    }
    expect((await s.call('/api/jobs/no-such-job', { method: 'DELETE' })).status).toBe(404);
    expect(((await (await s.call('/health')).json()) as { captures: number }).captures).toBe(0);
  });
});

describe('the API during a path import', () => {
  // 24 of the pipeline's 4 MiB reads. A file is read synchronously (file-chunks.ts): the API answers
  // between chunks only because the engine gives the event loop a turn after each one.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-turns-'));
  const file = path.join(dir, 'big.pcap');
  let s: RunningSidecar;
  beforeAll(async () => {
    fs.writeFileSync(file, generated({ bytes: 100_000_000, seed: 31 }));
    s = await startSidecar({ 'import-dirs': dir });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers while the file is parsed, with the bytes done so far', async () => {
    const size = fs.statSync(file).size;
    const r = await postJson(s, '/api/imports', { path: file });
    expect(r.status).toBe(202);
    const seen: number[] = [];
    let j: Record<string, unknown>;
    for (;;) {
      j = await getJob(s, String(r.json.id));
      if (j.state !== 'queued' && j.state !== 'running') break;
      seen.push(Number(j.bytesDone));
    }
    expect(j).toMatchObject({ state: 'done', bytesDone: size });
    // Answers from the middle of the parse, not only from before the first chunk or after the last.
    expect(seen.filter((b) => b > 0 && b < size).length).toBeGreaterThan(0);
  }, 120_000);

  it('is cancelled in the middle of the parse, and nothing of it is stored', async () => {
    const size = fs.statSync(file).size;
    const before = ((await (await s.call('/health')).json()) as { captures: number }).captures;
    const r = await postJson(s, '/api/imports', { path: file, name: 'cancelled.pcap' });
    for (;;) {
      const j = await getJob(s, String(r.json.id));
      expect(j.state).toMatch(/^(queued|running)$/);
      // Half the file still to parse: the DELETE is served a few turns of the loop, so a few chunks, later.
      if (Number(j.bytesDone) > 0 && Number(j.bytesDone) < size / 2) break;
    }
    expect((await s.call(`/api/jobs/${String(r.json.id)}`, { method: 'DELETE' })).status).toBe(200);
    expect(await waitForJob(s, String(r.json.id))).toMatchObject({ state: 'cancelled' });
    expect(((await (await s.call('/health')).json()) as { captures: number }).captures).toBe(before);
  }, 120_000);
});
