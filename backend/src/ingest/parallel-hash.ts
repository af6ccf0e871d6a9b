import { Worker } from 'node:worker_threads';
import { ownsItsMemory, type BufferPool } from './buffer-pool';

/**
 * SHA-256 of a capture on a second core. Hashing costs about as much CPU as parsing (2 GB/s vs
 * 1.7 GB/s here), so doing both on the ingest thread would halve its throughput. Chunks the caller
 * gives up (`take`) move to the worker without a copy; others are copied into batches that are
 * transferred. The worker hands every buffer back, and those of the pool's size return to it.
 * At most LIMIT bytes wait in the worker, so a slow worker slows the reader instead of growing memory.
 * Given a file descriptor (`keepFd`), the worker also writes every byte to it: the packet archive's
 * copy of the capture, made off the ingest thread. The caller opens and closes that file.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const hash = require('node:crypto').createHash('sha256');
let keep = -1;
let keepError = null;
parentPort.on('message', (m) => {
  if (m === 'digest') parentPort.postMessage({ digest: hash.digest('hex'), keepError });
  else if (typeof m === 'object' && m !== null && 'keep' in m) keep = m.keep;
  else {
    hash.update(m);
    if (keep >= 0) {
      try {
        for (let o = 0; o < m.length; ) o += fs.writeSync(keep, m, o, m.length - o);
      } catch (e) {
        keepError = 'writing the copy failed: ' + e.message;
        keep = -1;
      }
    }
    parentPort.postMessage({ done: m }, [m.buffer]);
  }
});`;

const LIMIT = 64 << 20;

export class ParallelHash {
  private readonly worker = new Worker(WORKER, { eval: true });
  private batch: Uint8Array<ArrayBuffer>;
  private fill = 0;
  private outstanding = 0;
  private waiters: (() => void)[] = [];
  private result: ((r: { digest: string; keepError: string | null }) => void) | null = null;
  private failure: Error | null = null;

  /** Why the copy to keepFd stopped (a write failed), null when it is whole. Set by digest(). */
  keepError: string | null = null;

  constructor(
    private readonly pool: BufferPool,
    keepFd = -1,
  ) {
    this.batch = pool.take();
    if (keepFd >= 0) this.worker.postMessage({ keep: keepFd });
    this.worker.on('message', (m: { done?: Uint8Array<ArrayBuffer>; digest?: string; keepError?: string | null }) => {
      if (m.done !== undefined) {
        this.outstanding -= m.done.length;
        pool.give(m.done.buffer);
        if (this.outstanding <= LIMIT) for (const w of this.waiters.splice(0)) w();
      } else if (m.digest !== undefined) this.result?.({ digest: m.digest, keepError: m.keepError ?? null });
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /**
   * Adds bytes; resolves at once unless too much is still waiting for the worker. With `take`, a
   * chunk that owns its whole ArrayBuffer is transferred: the caller must not touch it again.
   */
  async update(chunk: Uint8Array, take = false): Promise<void> {
    if (take && chunk.length >= 64 * 1024 && ownsItsMemory(chunk)) {
      if (this.fill > 0) this.send();
      this.outstanding += chunk.length;
      this.worker.postMessage(chunk, [chunk.buffer]);
    } else this.copy(chunk);
    while (this.outstanding > LIMIT && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failure) throw this.failure;
  }

  private copy(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, this.batch.length - this.fill);
      this.batch.set(chunk.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === this.batch.length) this.send();
    }
  }

  private send(): void {
    const full = this.batch.subarray(0, this.fill);
    this.outstanding += full.length;
    this.worker.postMessage(full, [full.buffer]);
    this.batch = this.pool.take();
    this.fill = 0;
  }

  async digest(): Promise<string> {
    if (this.fill > 0) this.send();
    const answer = new Promise<{ digest: string; keepError: string | null }>((r) => (this.result = r));
    this.worker.postMessage('digest');
    const out = await answer;
    this.keepError = out.keepError;
    await this.worker.terminate();
    return out.digest;
  }

  async destroy(): Promise<void> {
    await this.worker.terminate();
  }
}
