import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { generated, postJson, startSidecar, upload, waitForJob, type RunningSidecar } from '../testing/sidecar';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * An http server whose one capture answer stalls after its first bytes until release(): a job
 * that holds the sidecar's only job place for as long as a test needs it.
 */
async function stallingServer(body: Buffer): Promise<{ url: string; release(): void; close(): Promise<void> }> {
  let release = (): void => undefined;
  const held = new Promise<void>((r) => (release = r));
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': body.length });
    res.write(body.subarray(0, 24));
    void held.then(() => res.end(body.subarray(24)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/stall.pcap`, release: () => release(), close: () => new Promise((r) => server.close(() => r())) };
}

async function jobState(s: RunningSidecar, id: string): Promise<string> {
  return String(((await (await s.call(`/api/jobs/${id}`)).json()) as { state: string }).state);
}

/** Polls until the job is in `state` (a state awaited, not a time). */
async function until(s: RunningSidecar, id: string, state: string): Promise<void> {
  while ((await jobState(s, id)) !== state) await new Promise((r) => setImmediate(r));
}

describe('path imports open the file once and follow no link', () => {
  let s: RunningSidecar;
  let root: string;
  let outside: string;
  let stall: Awaited<ReturnType<typeof stallingServer>>;
  const inner = generated({ bytes: 120_000, seed: 31 });
  const secret = generated({ bytes: 120_000, seed: 32 });
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-root-'));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-outside-'));
    fs.writeFileSync(path.join(outside, 'secret.pcap'), secret);
    fs.mkdirSync(path.join(root, 'vm'));
    stall = await stallingServer(generated({ bytes: 100_000, seed: 33 }));
    s = await startSidecar({ 'import-dirs': root, concurrency: '1', 'import-allow': new URL(stall.url).host });
  });
  afterAll(async () => {
    stall.release();
    await s.close();
    await stall.close();
  });

  it('reads the file it checked, even when it is swapped for a link while the job waits its turn', async () => {
    const file = path.join(root, 'vm', 'swap.pcap');
    fs.writeFileSync(file, inner);
    const busy = await postJson(s, '/api/imports', { url: stall.url });
    await until(s, String(busy.json.id), 'running');
    const queued = await postJson(s, '/api/imports', { path: file });
    expect(queued.status).toBe(202);
    expect(await jobState(s, String(queued.json.id))).toBe('queued');
    // An upload waits for its turn like every other import.
    const uploading = upload(s, 'waiting.pcap', generated({ bytes: 50_000, seed: 34 }));
    for (;;) {
      const jobs = (await (await s.call('/api/jobs')).json()) as { name: string; state: string }[];
      if (jobs.some((j) => j.name === 'waiting.pcap' && j.state === 'queued')) break;
      await new Promise((r) => setImmediate(r));
    }
    fs.rmSync(file);
    fs.symlinkSync(path.join(outside, 'secret.pcap'), file);
    stall.release();
    const job = await waitForJob(s, String(queued.json.id));
    expect(job).toMatchObject({ state: 'done', result: 'ingested' });
    const capture = (await (await s.call(`/api/captures/${String(job.captureId)}`)).json()) as { sha256: string };
    expect(capture.sha256).toBe(sha256(inner));
    expect((await uploading).status).toBe(201);
    const all = (await (await s.call('/api/captures')).json()) as { sha256: string }[];
    expect(all.map((c) => c.sha256)).not.toContain(sha256(secret));
  });

  it.each([
    ['a link to a file outside', () => fs.symlinkSync(path.join(outside, 'secret.pcap'), path.join(root, 'link.pcap')), 'link.pcap', /link\.pcap is a symbolic link: imports do not follow links/],
    ['a linked directory on the way', () => fs.symlinkSync(outside, path.join(root, 'linkdir')), 'linkdir/secret.pcap', /goes through a symbolic link|is a symbolic link/],
    ['a FIFO', () => execFileSync('mkfifo', [path.join(root, 'fifo.pcap')]), 'fifo.pcap', /fifo\.pcap is not a regular file or directory \(a FIFO, socket or device cannot be imported\)/],
    ['a path leading out by ../', () => undefined, '../x.pcap', /leads outside the import directories/],
    ['a missing file', () => undefined, 'vm/none.pcap', /no such file or directory in the import directories/],
  ])('refuses %s (400)', async (_what, make, rel, message) => {
    make();
    for (const p of rel.startsWith('..') ? [rel] : [rel, path.join(root, rel)]) {
      const r = await postJson(s, '/api/imports', { path: p });
      expect(r.status).toBe(400);
      expect(String(r.json.message)).toMatch(message);
    }
  });

  it('takes relative paths inside the import directory, and names starting with two dots alike as file or in a directory', async () => {
    const dots = generated({ bytes: 60_000, seed: 35 });
    fs.mkdirSync(path.join(root, 'dots'));
    fs.writeFileSync(path.join(root, 'dots', '..dots.pcap'), dots);
    fs.symlinkSync(path.join(outside, 'secret.pcap'), path.join(root, 'dots', 'z-link.pcap'));
    const one = await postJson(s, '/api/imports', { path: 'dots/..dots.pcap' });
    expect(one.status).toBe(202);
    expect(await waitForJob(s, String(one.json.id))).toMatchObject({ state: 'done', result: 'ingested', source: path.join(fs.realpathSync(root), 'dots', '..dots.pcap') });
    // The directory import lists the same file (already ingested) and neither lists nor follows the link.
    const dir = await postJson(s, '/api/imports', { path: path.join(root, 'dots') });
    expect(await waitForJob(s, String(dir.json.id))).toMatchObject({ state: 'done', filesTotal: 1, result: '0 ingested, 1 already ingested' });
  });

  it('skips a FIFO inside an imported directory instead of hanging on it', async () => {
    fs.mkdirSync(path.join(root, 'withfifo'));
    execFileSync('mkfifo', [path.join(root, 'withfifo', 'a-fifo.pcap')]);
    fs.writeFileSync(path.join(root, 'withfifo', 'b.pcap'), generated({ bytes: 60_000, seed: 36 }));
    const r = await postJson(s, '/api/imports', { path: path.join(root, 'withfifo') });
    expect(await waitForJob(s, String(r.json.id))).toMatchObject({ state: 'done', filesTotal: 1, result: '1 ingested' });
  });
});

describe('caps on what one capture may hold', () => {
  let s: RunningSidecar;
  let root: string;
  const pcap = generated({ bytes: 400_000, seed: 37 });
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-caps-'));
    s = await startSidecar({ 'import-dirs': root, 'max-capture-bytes': '300KB', 'max-capture-packets': '100000' });
  });
  afterAll(async () => s.close());

  it('fails a gzip capture that inflates past the byte cap, naming the cap, and stores nothing', async () => {
    fs.writeFileSync(path.join(root, 'bomb.pcap.gz'), zlib.gzipSync(pcap));
    const r = await postJson(s, '/api/imports', { path: path.join(root, 'bomb.pcap.gz') });
    const job = await waitForJob(s, String(r.json.id));
    expect(job.state).toBe('failed');
    expect(job.error).toMatch(/bomb\.pcap\.gz: more than 300,000 bytes of capture after decompression, the limit of one capture \(CAPSIGHT_MAX_CAPTURE_BYTES\)/);
    const up = await upload(s, 'bomb.pcap.gz', zlib.gzipSync(pcap));
    expect(up.status).toBe(422);
    expect(String(up.json.error)).toMatch(/CAPSIGHT_MAX_CAPTURE_BYTES/);
    expect(((await (await s.call('/health')).json()) as { captures: number }).captures).toBe(0);
  });

  it('fails a capture with more packets than the cap', async () => {
    const s2 = await startSidecar({ 'max-capture-packets': '100' });
    try {
      const up = await upload(s2, 'many.pcap', generated({ bytes: 100_000, seed: 38 }));
      expect(up.status).toBe(422);
      expect(String(up.json.error)).toMatch(/more than 100 packets, the limit of one capture \(CAPSIGHT_MAX_CAPTURE_PACKETS\)/);
    } finally {
      await s2.close();
    }
  });
});
