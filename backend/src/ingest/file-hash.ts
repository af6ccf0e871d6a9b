import * as fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { BufferPool } from './buffer-pool';

/**
 * SHA-256 of a file on this machine, read again and hashed by a worker thread of its own at the
 * lowest priority, for a path import (the same calls as ParallelHash, which is handed the chunks).
 * Why: on two cores, ParallelHash's worker, the store's loads and V8's helper threads kept the
 * parse's thread waiting for a core (~0.5-1.2 s of a 1 GB path import's 2-3 s parse runnable but
 * not running). Read from the page cache again (~0.1 s a GB), the hash takes the cycles the parse
 * leaves, and a whole core once it is done, while the store publishes the rows
 * (IngestSink.inputEnded). A 1 GB import took 0.74-0.89x the time (docs/benchmark-history.md, sixteenth session).
 *
 * The worker reads through a descriptor of its own (the import's file opened again through
 * /proc/self/fd; start() gives null where there is none, and the caller uses ParallelHash), so
 * the reader closing its handle never leaves it reading another file. It reads only bytes the
 * reader has read already (told through shared memory): those are in the page cache, so a file
 * on a slow disk or a network mount is not read from it twice. A file that changes while
 * it is imported (its size, modification or change time, or fewer or more bytes hashed than the
 * reader read) fails the digest: the hash must be of the bytes the flows came from.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
try {
  const tid = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, 19);
} catch {
  // Not allowed: the hash runs at the priority of the rest.
}
function hashFile() {
  const hash = require('node:crypto').createHash('sha256');
  const buf = Buffer.allocUnsafe(4 << 20);
  // The reader's progress: bytes it has read, -1 once it is done (then to the end of the file), -2: stop.
  const read = new BigInt64Array(workerData.progress);
  let at = 0;
  for (;;) {
    const known = Atomics.load(read, 0);
    if (known === -2n) return null;
    if (known >= 0n && BigInt(at) >= known) {
      Atomics.wait(read, 0, known);
      continue;
    }
    const want = known < 0n ? buf.length : Math.min(buf.length, Number(known) - at);
    const n = fs.readSync(workerData.fd, buf, 0, want, at);
    if (n === 0) break;
    hash.update(n === buf.length ? buf : buf.subarray(0, n));
    at += n;
  }
  return { digest: hash.digest('hex'), bytes: at };
}
try {
  const done = hashFile();
  if (done) parentPort.postMessage(done);
} catch (e) {
  parentPort.postMessage({ error: String(e && e.message) });
}`;

/** Why a file's bytes are not those an import read, when it changed meanwhile. */
export const FILE_CHANGED = 'the file changed while it was imported';

/** Whether a file changed between two stats of it: its size, modification or change time moved. */
export function changedSince(before: fs.Stats, after: fs.Stats): boolean {
  return after.size !== before.size || after.mtimeMs !== before.mtimeMs || after.ctimeMs !== before.ctimeMs;
}

type Outcome = { digest: string; bytes: number } | { error: string };

export class FileHash {
  /** Nothing is copied: ParallelHash's field, always null here. */
  readonly keepError: string | null = null;
  private readonly worker: Worker;
  private readonly outcome: Promise<Outcome>;
  private readonly before: fs.Stats;
  private bytesRead = 0;
  /** Shared with the worker: bytesRead, -1 when the reader is done, -2 to stop. */
  private readonly progress = new BigInt64Array(new SharedArrayBuffer(8));
  private closed = false;

  private constructor(
    private readonly fd: number,
    private readonly pool: BufferPool,
  ) {
    this.before = fs.fstatSync(fd);
    this.worker = new Worker(WORKER, { eval: true, workerData: { fd, progress: this.progress.buffer } });
    this.outcome = new Promise<Outcome>((resolve) => {
      this.worker.once('message', resolve);
      this.worker.once('error', (e) => resolve({ error: e.message }));
      this.worker.once('exit', () => resolve({ error: 'the hash worker stopped' }));
    });
  }

  /** Starts hashing the file open as `fd` (which stays the caller's), or null where it cannot be opened again. */
  static start(fd: number, pool: BufferPool): FileHash | null {
    let own: number;
    try {
      own = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY);
    } catch {
      return null;
    }
    try {
      return new FileHash(own, pool);
    } catch {
      fs.closeSync(own);
      return null;
    }
  }

  /** A chunk the reader is done with: counted, and with `take` its buffer goes back to the pool. */
  update(chunk: Uint8Array, take = false): Promise<void> {
    this.bytesRead += chunk.length;
    this.tell(BigInt(this.bytesRead));
    if (take) this.pool.give(chunk.buffer as ArrayBuffer);
    return Promise.resolve();
  }

  /** Called once the reader is done: the hash goes on to the end of the file. */
  async digest(): Promise<string> {
    this.tell(-1n);
    const outcome = await this.outcome;
    const after = fs.fstatSync(this.fd);
    await this.destroy();
    if ('error' in outcome) throw new Error(`hashing the file failed: ${outcome.error}`);
    if (changedSince(this.before, after) || outcome.bytes !== this.bytesRead) {
      throw new Error(`${FILE_CHANGED} (${this.bytesRead} bytes read, ${outcome.bytes} hashed)`);
    }
    return outcome.digest;
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tell(-2n); // a worker waiting for the reader wakes, and stops
    await this.worker.terminate();
    fs.closeSync(this.fd);
  }

  private tell(read: bigint): void {
    Atomics.store(this.progress, 0, read);
    Atomics.notify(this.progress, 0);
  }
}
