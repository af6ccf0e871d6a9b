import * as fs from 'node:fs';
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
let direct = -1;
let keepError = null;
// The copy through the page cache cost ~2.3 s of system time per GB on a cloud VM (new cache pages
// are dear there), ~0.2 s written past it: whole blocks go out from a page-aligned staging buffer
// (WebAssembly memory is; other JavaScript memory is not) on a descriptor opened O_DIRECT; the
// last partial block goes through the page cache at the end.
const BLOCK = 4096;
let stage = null;
let fill = 0;
let written = 0;
// The copy is flushed to the device as it grows (fdatasync every SYNC_EVERY bytes, one at a time,
// on libuv's threads): the store's commit ends with an fsync, and a device flush there waited for
// the whole unflushed copy (a 1 GB URL import with its packets kept: that commit took ~0.6 s, ~0.15 s
// with these flushes). Flushed while the download runs, the commit finds little of it pending.
const SYNC_EVERY = 64 * 1024 * 1024;
let unsynced = 0;
let syncing = false;
let afterSync = null;
let ending = false;
let flushes = 0;
function flushed(fd, n) {
  unsynced += n;
  if (unsynced < SYNC_EVERY || syncing || ending) return;
  unsynced = 0;
  syncing = true;
  fs.fdatasync(fd, (e) => {
    syncing = false;
    if (e && keepError === null) keepError = 'flushing the copy failed: ' + e.message;
    else if (!e) flushes++;
    if (afterSync) afterSync();
  });
}
function writeAt(fd, buf, from, to, at) {
  for (let o = from; o < to; ) o += fs.writeSync(fd, buf, o, to - o, at + o - from);
  flushed(fd, to - from);
}
function keepBytes(m) {
  if (direct < 0) {
    writeAt(keep, m, 0, m.length, written);
    written += m.length;
    return;
  }
  for (let off = 0; off < m.length; ) {
    const n = Math.min(m.length - off, stage.length - fill);
    stage.set(m.subarray(off, off + n), fill);
    fill += n;
    off += n;
    const whole = fill - (fill % BLOCK);
    if (whole > 0 && (fill === stage.length || off === m.length)) {
      try {
        writeAt(direct, stage, 0, whole, written);
      } catch (e) {
        if (e.code !== 'EINVAL') throw e;
        // The file system wants other alignment: what is staged, then the rest, through the page cache.
        direct = -1;
        writeAt(keep, stage, 0, fill, written);
        written += fill;
        fill = 0;
        keepBytes(m.subarray(off));
        return;
      }
      written += whole;
      stage.copyWithin(0, whole, fill);
      fill -= whole;
    }
  }
}
parentPort.on('message', (m) => {
  if (m === 'digest') {
    ending = true;
    if (keep >= 0 && fill > 0) {
      try {
        writeAt(keep, stage, 0, fill, written);
      } catch (e) {
        keepError = 'writing the copy failed: ' + e.message;
      }
    }
    const reply = () => parentPort.postMessage({ digest: hash.digest('hex'), keepError, flushes });
    // A flush under way ends first (the worker is terminated after the reply).
    if (syncing) afterSync = reply;
    else reply();
  } else if (typeof m === 'object' && m !== null && 'keep' in m) {
    keep = m.keep;
    direct = m.direct;
    if (direct >= 0) stage = new Uint8Array(new WebAssembly.Memory({ initial: 129, maximum: 129 }).buffer, 0, 129 * 65536);
  } else {
    hash.update(m);
    if (keep >= 0) {
      try {
        keepBytes(m);
      } catch (e) {
        keepError = 'writing the copy failed: ' + e.message;
        keep = -1;
      }
    }
    parentPort.postMessage({ done: m }, [m.buffer]);
  }
});`;

/**
 * A second descriptor of the copy's file that writes past the page cache (Linux: O_DIRECT through
 * /proc/self/fd), or -1 where there is none (the worker writes through keepFd then).
 */
function directDescriptor(keepFd: number): number {
  const flag = fs.constants.O_DIRECT;
  if (keepFd < 0 || !flag) return -1;
  try {
    return fs.openSync(`/proc/self/fd/${keepFd}`, fs.constants.O_WRONLY | flag);
  } catch {
    return -1;
  }
}

const LIMIT = 64 << 20;

export class ParallelHash {
  private readonly worker = new Worker(WORKER, { eval: true });
  private batch: Uint8Array<ArrayBuffer>;
  private fill = 0;
  private outstanding = 0;
  private waiters: (() => void)[] = [];
  private result: ((r: { digest: string; keepError: string | null; flushes: number } | { error: Error }) => void) | null = null;
  private failure: Error | null = null;

  /** The copy's descriptor that writes past the page cache (closed once the worker is gone), or -1. */
  private directFd: number;

  /** Why the copy to keepFd stopped (a write failed), null when it is whole. Set by digest(). */
  keepError: string | null = null;
  /** How often the copy was flushed to the device while it was written. Set by digest(). */
  flushes = 0;

  constructor(
    private readonly pool: BufferPool,
    keepFd = -1,
  ) {
    this.batch = pool.take();
    this.directFd = directDescriptor(keepFd);
    if (keepFd >= 0) this.worker.postMessage({ keep: keepFd, direct: this.directFd });
    this.worker.on('message', (m: { done?: Uint8Array<ArrayBuffer>; digest?: string; keepError?: string | null; flushes?: number }) => {
      if (m.done !== undefined) {
        this.outstanding -= m.done.length;
        pool.give(m.done.buffer);
        if (this.outstanding <= LIMIT) for (const w of this.waiters.splice(0)) w();
      } else if (m.digest !== undefined) this.result?.({ digest: m.digest, keepError: m.keepError ?? null, flushes: m.flushes ?? 0 });
    });
    this.worker.on('error', (e) => {
      this.failure = e;
      this.result?.({ error: e }); // a digest asked for is not waited for forever
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
    if (this.failure) throw this.failure;
    const answer = new Promise<{ digest: string; keepError: string | null; flushes: number } | { error: Error }>((r) => (this.result = r));
    this.worker.postMessage('digest');
    const out = await answer;
    if ('error' in out) throw out.error;
    this.keepError = out.keepError;
    this.flushes = out.flushes;
    await this.stop();
    return out.digest;
  }

  destroy(): Promise<void> {
    return this.stop();
  }

  private async stop(): Promise<void> {
    await this.worker.terminate();
    if (this.directFd >= 0) fs.closeSync(this.directFd);
    this.directFd = -1;
  }
}
