import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ImportRefused, type UrlPolicy, type UrlPolicyConfig } from '../security/url-policy';
import { BufferPool } from './buffer-pool';
import { DEFAULT_SEGMENT, DownloadError, type Download, type DownloadOptions } from './http-download';

/** What a download thread is told to fetch (its 'start' message). */
export interface DownloadSetup {
  url: string;
  policy: UrlPolicyConfig;
  parallelism: number;
  segment: number;
  ahead: number;
}

export type ToDownloadWorker = { kind: 'start'; setup: DownloadSetup } | { kind: 'taken' } | { kind: 'give'; memory: ArrayBuffer } | { kind: 'cancel' };
/** What the first answer told: the download's size, ETag and shown (redacted) URL. */
type DownloadHead = Pick<Download, 'size' | 'etag' | 'shownUrl'>;

export type FromDownloadWorker =
  | ({ kind: 'open' } & DownloadHead)
  | { kind: 'chunk'; bytes: Uint8Array }
  | { kind: 'end' }
  | { kind: 'retry'; info: { offset: number; attempt: number; error: string } }
  | { kind: 'error'; name: string; message: string; status: number | null };

/** Downloaded segments that may wait for the ingest (beyond those being downloaded): 32 MiB. */
const AHEAD = 4;

/** The worker's script, compiled beside this module; run from the TypeScript sources (tests), the build's copy. */
function workerScript(): string {
  const beside = path.join(__dirname, 'download-worker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../dist/ingest/download-worker.js');
  if (fs.existsSync(built)) return built;
  throw new Error('the download worker is not built: run "npm run build"');
}

/** Buffers handed back by the ingest (the hash worker is done with them) return to the download thread. */
class ReturningPool extends BufferPool {
  constructor(
    size: number,
    private readonly worker: Worker,
  ) {
    super(size, 0);
  }

  override give(memory: ArrayBuffer): void {
    if (memory.byteLength === this.size) this.worker.postMessage({ kind: 'give', memory } satisfies ToDownloadWorker, [memory]);
  }
}

/** The error the worker reported, as the class the rest of the importer knows. */
function rebuilt(m: { name: string; message: string; status: number | null }): Error {
  if (m.name === 'ImportRefused') return new ImportRefused(m.message);
  return new DownloadError(m.message, m.status);
}

/**
 * Keeps one download thread started ahead of the next URL import: a thread's start-up (an isolate
 * loading the HTTP code) took ~60 ms before its first request, and its first segment came ~110 ms
 * later than from a download on a thread already running. The spare does not keep the process
 * alive; the next one is started when a download's thread ends, off the import's way.
 */
export class DownloadThreads {
  private spare: Worker | null = null;
  private closed = false;

  constructor() {
    this.startSpare();
  }

  /** Whether a thread is started and waiting for the next download. */
  get ready(): boolean {
    return this.spare !== null;
  }

  /** A started thread for one download (the spare, or a new one when there is none). */
  take(): Worker {
    const worker = this.spare ?? new Worker(workerScript());
    this.spare = null;
    worker.ref();
    worker.once('exit', () => this.startSpare());
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    const spare = this.spare;
    this.spare = null;
    await spare?.terminate();
  }

  private startSpare(): void {
    if (this.closed || this.spare) return;
    const worker = new Worker(workerScript());
    worker.unref();
    // An idle thread that fails is dropped; the next download starts its own.
    worker.on('error', () => undefined);
    worker.once('exit', () => {
      if (this.spare === worker) this.spare = null;
    });
    this.spare = worker;
  }
}

/**
 * openDownload() on a worker thread (download-worker.ts): the same requests, policy checks, retries
 * and errors, while this thread parses what has arrived. Its chunks come from the returned pool:
 * give them back to it (the ingest pipeline's hash worker does) and the download reuses them.
 * The thread is taken from `threads` (started ahead) when given.
 */
export async function openThreadedDownload(
  url: string,
  policy: UrlPolicy,
  opts: Pick<DownloadOptions, 'parallelism' | 'signal' | 'onRetry'>,
  threads?: DownloadThreads,
): Promise<Download & { pool: BufferPool }> {
  const worker = threads?.take() ?? new Worker(workerScript());
  worker.postMessage({ kind: 'start', setup: { url, policy: policy.settings, parallelism: opts.parallelism, segment: DEFAULT_SEGMENT, ahead: AHEAD } } satisfies ToDownloadWorker);
  const pool = new ReturningPool(DEFAULT_SEGMENT, worker);
  const queue: Buffer[] = [];
  let ended = false;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  let opened: (m: DownloadHead) => void = () => undefined;
  let openFailed: (e: Error) => void = () => undefined;
  const open = new Promise<DownloadHead>((resolve, reject) => {
    opened = resolve;
    openFailed = reject;
  });
  const fail = (e: Error): void => {
    failure ??= e;
    openFailed(e);
    wake?.();
  };
  worker.on('message', (m: FromDownloadWorker) => {
    if (m.kind === 'open') opened(m);
    else if (m.kind === 'chunk') {
      queue.push(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      wake?.();
    } else if (m.kind === 'end') {
      ended = true;
      wake?.();
    } else if (m.kind === 'retry') opts.onRetry?.(m.info);
    else fail(rebuilt(m));
  });
  worker.on('error', (e) => fail(new DownloadError(`download thread failed: ${e.message}`, null)));
  worker.on('exit', () => {
    if (!ended) fail(new DownloadError('the download stopped', null));
  });
  const cancel = (): void => {
    worker.postMessage({ kind: 'cancel' } satisfies ToDownloadWorker);
  };
  opts.signal?.addEventListener('abort', cancel, { once: true });
  const stop = (): void => {
    opts.signal?.removeEventListener('abort', cancel);
    void worker.terminate();
  };
  let head: DownloadHead;
  try {
    head = await open;
  } catch (err) {
    stop();
    throw err;
  }
  async function* body(): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        const next = queue.shift();
        if (next) {
          worker.postMessage({ kind: 'taken' } satisfies ToDownloadWorker);
          yield next;
          continue;
        }
        if (failure) throw failure;
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      stop();
    }
  }
  return { size: head.size, etag: head.etag, shownUrl: head.shownUrl, body: body(), cancel: stop, pool };
}
