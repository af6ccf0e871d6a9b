import { parentPort } from 'node:worker_threads';
import { UrlPolicy } from '../security/url-policy';
import { BufferPool, ownsItsMemory } from './buffer-pool';
import { openDownload } from './http-download';
import type { DownloadSetup, FromDownloadWorker, ToDownloadWorker } from './threaded-download';

/**
 * The download of a URL import, on a thread of its own (threaded-download.ts starts it): reading
 * sockets and HTTP framing cost the JavaScript thread about a second of CPU per GB, which then
 * could not parse meanwhile. Segments are read into this thread's pool and transferred to the
 * ingest, which hands each buffer back once hashed; at most `ahead` segments wait on the other side.
 */
const port = parentPort;
if (!port) throw new Error('download-worker.ts runs as a worker thread');
// The download is named in a 'start' message (a thread may be started ahead of its download); its
// pool is made then.
let pool: BufferPool | null = null;
const stop = new AbortController();
let unacked = 0;
let wake: (() => void) | null = null;
const send = (m: FromDownloadWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

port.on('message', (m: ToDownloadWorker) => {
  if (m.kind === 'start') {
    if (pool) return; // one download per thread
    pool = new BufferPool(m.setup.segment);
    void run(m.setup, pool);
  } else if (m.kind === 'taken') {
    unacked--;
    wake?.();
  } else if (m.kind === 'give') pool?.give(m.memory);
  else if (m.kind === 'cancel') {
    stop.abort();
    wake?.();
  }
});

async function run(setup: DownloadSetup, pool: BufferPool): Promise<void> {
  const policy = new UrlPolicy(setup.policy);
  try {
    const dl = await openDownload(setup.url, policy, {
      parallelism: setup.parallelism,
      pool,
      signal: stop.signal,
      onRetry: (info) => send({ kind: 'retry', info }),
    });
    send({ kind: 'open', size: dl.size, etag: dl.etag, shownUrl: dl.shownUrl });
    for await (const chunk of dl.body) {
      while (unacked >= setup.ahead && !stop.signal.aborted) await new Promise<void>((r) => (wake = r));
      if (stop.signal.aborted) {
        dl.cancel();
        return;
      }
      unacked++;
      // A segment owns its memory and moves without a copy; a streamed response's pieces are copied.
      const bytes = ownsItsMemory(chunk) ? chunk : new Uint8Array(chunk);
      send({ kind: 'chunk', bytes }, [bytes.buffer]);
    }
    send({ kind: 'end' });
  } catch (err) {
    const e = err as Error & { status?: number | null };
    send({ kind: 'error', name: e.constructor.name, message: e.message, status: e.status ?? null });
  } finally {
    policy.close();
  }
}

