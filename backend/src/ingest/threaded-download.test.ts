import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { UrlPolicy } from '../security/url-policy';
import { DownloadThreads, openThreadedDownload } from './threaded-download';

/** Until `done()` holds, checked after each turn of the event loop (a thread's exit is an event). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setImmediate(r));
}

describe('download threads started ahead', () => {
  // Two segments and a part (8 MiB each), with ranges: the download runs on its parallel path.
  const body = Buffer.alloc(20_000_000);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
  const digest = createHash('sha256').update(body).digest('hex');
  const server = http.createServer((req, res) => {
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (!range) {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const [from, to] = [Number(range[1]), Math.min(Number(range[2]), body.length - 1)];
    res.writeHead(206, { 'content-length': to - from + 1, 'content-range': `bytes ${from}-${to}/${body.length}`, 'accept-ranges': 'bytes' });
    res.end(body.subarray(from, to + 1));
  });
  let url = '';
  let policy: UrlPolicy;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    url = `http://127.0.0.1:${port}/capture.pcap`;
    policy = new UrlPolicy({ allowHosts: [], importAllow: [`127.0.0.1:${port}`] });
  });
  afterAll(async () => {
    policy.close();
    await new Promise((r) => server.close(r));
  });

  async function download(threads: DownloadThreads): Promise<string> {
    const dl = await openThreadedDownload(url, policy, { parallelism: 2 }, threads);
    const hash = createHash('sha256');
    for await (const chunk of dl.body) {
      hash.update(chunk);
      dl.pool.give(chunk.buffer as ArrayBuffer);
    }
    return hash.digest('hex');
  }

  it('downloads on the thread started ahead, starts the next when that one ends, and stops the spare on close', async () => {
    const threads = new DownloadThreads();
    expect(threads.ready).toBe(true);
    const first = download(threads);
    expect(threads.ready).toBe(false); // taken; the next is started when this download's thread ends
    expect(await first).toBe(digest);
    await until(() => threads.ready);
    expect(await download(threads)).toBe(digest);
    await until(() => threads.ready);
    await threads.close();
    expect(threads.ready).toBe(false);
    // Closed: a download still runs, on a thread of its own.
    expect(await download(threads)).toBe(digest);
  });
});
