import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { linkTypeName } from '../capture/link-types';
import type { ReadLimits } from '../capture/source';
import type { Enricher } from '../enrich/enricher';
import { analyzeCapture } from '../flows';
import type { FlowRecord } from '../model/flow';
import { nsOf } from '../model/time';
import { newCaptureId, type CaptureInfo, type FlowStore, type StoredFlow } from '../store/flow-store';
import type { PacketArchive } from '../packets/archive';
import { BufferPool } from './buffer-pool';
import { fileChunks } from './file-chunks';
import { changedSince, FILE_CHANGED, FileHash } from './file-hash';
import { ParallelHash } from './parallel-hash';

export interface CaptureSource {
  /** The capture's bytes (any chunking), or an open file the pipeline reads (into recycled buffers) and closes. */
  stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | { handle: FileHandle };
  name: string;
  /** Where it came from, already without secrets. */
  source: string;
  sourceKind: CaptureInfo['sourceKind'];
  etag?: string | null;
  azure?: CaptureInfo['azure'];
  /** Last check before anything is stored (an upload cut at its size limit throws here). */
  beforeCommit?: () => void;
  /** The chunks are the pipeline's once read (fresh buffers from a file or download): they may be moved to the hash worker. */
  ownsChunks?: boolean;
  /** The pool the chunks were taken from: the hash worker's returns go back to it. */
  pool?: BufferPool;
  /** Size of the input when known in advance (a capture larger than the packet budget is not copied at all). */
  expectedBytes?: number | null;
}

export interface IngestProgress {
  bytesDone: number;
  flows: number;
}

export interface IngestOptions {
  store: FlowStore;
  enricher: Enricher;
  bucketNs: number;
  idleTimeoutNs: number;
  attributeFragments?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: IngestProgress) => void;
  limits?: ReadLimits;
  /** Where the capture's bytes and packet index are kept for slicing (none: flows only). */
  archive?: PacketArchive;
}

export interface IngestOutcome {
  result: 'ingested' | 'duplicate';
  capture: CaptureInfo;
}

// Small on purpose: flow records written soon die young (cheap scavenges); held in thousands they
// were promoted to the old generation first (1 GB path import: 1.26 s with 4096, 1.13 s with 256).
const FLOW_BATCH = 256;
/** Read size of a path import, and of the hash worker's copied batches. */
const FILE_CHUNK = 4 << 20;

/**
 * A copy of an open file, made by the kernel (copy_file_range) once started: through a second
 * descriptor of the same open file from /proc/self/fd, taken now, so the bytes are those of the
 * file the import opened, whatever its path names later. start() resolves with why the copy is not
 * the ingested bytes (the file changed meanwhile: its size, modification or change time moved), or
 * null. Null where /proc is missing (the hash worker copies instead).
 */
function kernelCopyOf(handle: FileHandle, target: string): { start: () => Promise<string | null>; close: () => void } | null {
  let fd: number;
  try {
    fd = fs.openSync(`/proc/self/fd/${handle.fd}`, fs.constants.O_RDONLY);
  } catch {
    return null;
  }
  const before = fs.fstatSync(fd);
  let closed = false;
  const close = (): void => {
    if (!closed) fs.closeSync(fd);
    closed = true;
  };
  const start = (): Promise<string | null> =>
    fs.promises
      .copyFile(`/proc/self/fd/${fd}`, target)
      .then(
        () => (changedSince(before, fs.fstatSync(fd)) ? FILE_CHANGED : null),
        (err: Error) => `copying the file failed: ${err.message}`,
      )
      .finally(close);
  return { start, close };
}

/**
 * The engine's pace between input chunks and between batches of the flows it emits at the end: one
 * turn of the event loop where the loop has not turned since the last call. A path import reads its
 * file synchronously (file-chunks.ts), so without the turn a whole capture was parsed in one go: the
 * API answered nobody meanwhile (about a second per GB), and the store learned that a load had ended
 * only after the last chunk, so its loads waited for the parse instead of running beside it (1 GB
 * path import: 0.93 of the time). Input that arrives through the loop (downloads, uploads) has
 * turned it already: no extra turn per chunk.
 */
function loopTurns(): () => Promise<void> | undefined {
  let turned = false;
  const mark = (): void => {
    turned = true;
  };
  setImmediate(mark);
  return () => {
    if (turned) {
      turned = false;
      setImmediate(mark);
      return undefined;
    }
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        turned = false;
        setImmediate(mark);
        resolve();
      }),
    );
  };
}

export class IngestCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/**
 * One capture from bytes to stored, enriched flows. The store's staging keeps everything invisible
 * until the final commit, so a failure, a cancel or a killed process leaves nothing half-written.
 * Back-pressure: the next input chunk is only read once the store has taken the previous rows.
 */
export async function ingestCapture(src: CaptureSource, opts: IngestOptions): Promise<IngestOutcome> {
  const { store, enricher, signal } = opts;
  const captureId = newCaptureId();
  const sink = await store.openIngest(captureId);
  const pool = src.pool ?? new BufferPool(FILE_CHUNK);
  // The archive's copy: a file on this machine is copied by the kernel once its flows are stored,
  // and its packets become available when that copy ends (written by the hash worker during the
  // ingest, 1 GB cost the import as much time again: new page-cache pages are dear); streamed
  // input is written by the hash worker as it hashes. The packet index is written here, per packet.
  const keeping = opts.archive?.begin(src.expectedBytes ?? null) ?? null;
  const keep = keeping && 'dataFd' in keeping ? keeping : null;
  const kernelCopy = keep && 'handle' in src.stream ? kernelCopyOf(src.stream.handle, keep.dataPath) : null;
  // A file on this machine is hashed by a worker reading it again behind the parse; other input
  // (and a file that worker cannot open again) chunk by chunk as it is read.
  const hash = ('handle' in src.stream ? FileHash.start(src.stream.handle.fd, pool) : null) ?? new ParallelHash(pool, keep && !kernelCopy ? keep.dataFd : -1);
  let bytes = 0;
  let flows = 0;
  let batch: StoredFlow[] = [];
  let pending: Promise<void> = Promise.resolve();
  let failure: unknown = null;
  /** Store work already started: waited for with the rest, its failure kept for the next chunk. */
  const started = (work: Promise<void>): void => {
    work.catch(() => undefined); // seen below, through pending
    pending = pending
      .then(() => work)
      .catch((err: unknown) => {
        failure ??= err;
      });
  };
  // Handed over at once, not from a promise callback: the engine gives its open flows at the end
  // of the input in one synchronous burst, and the store loads full files while the rest come.
  const flushFlows = (): void => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    started(sink.addFlows(rows));
  };
  const onFlow = (f: FlowRecord): void => {
    flows++;
    batch.push({ flow: f, src: enricher.lookup(f.src), dst: enricher.lookup(f.dst) });
    if (batch.length >= FLOW_BATCH) flushFlows();
  };

  // gzip input goes through zlib, which reads ahead: its chunks are never handed to the hasher.
  let take = src.ownsChunks === true || 'handle' in src.stream;
  const input = 'handle' in src.stream ? fileChunks(src.stream.handle, () => pool.take()) : src.stream;
  const source = (Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : input[Symbol.iterator]()) as AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  /** The chunk the engine has, hashed once the engine asks for the next (it keeps no reference). */
  let held: Uint8Array | null = null;
  const release = async (): Promise<void> => {
    if (!held) return;
    const chunk = held;
    held = null;
    await hash.update(chunk, take);
    await pending;
    opts.onProgress?.({ bytesDone: bytes, flows });
  };
  const pull = async (): Promise<IteratorResult<Uint8Array>> => {
    await release();
    if (signal?.aborted) throw new IngestCancelled();
    if (failure) throw failure;
    const r = await source.next();
    if (r.done) return r;
    if (bytes === 0 && r.value[0] === 0x1f && r.value[1] === 0x8b) take = false;
    bytes += r.value.length;
    held = r.value;
    return r;
  };
  // The engine stops reading at damage; its return() must not close the source: the rest is still
  // read below, so the SHA-256 and size are those of the whole file.
  const feed: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({ next: pull, return: async () => ({ value: undefined, done: true }) }),
  };

  try {
    const result = await analyzeCapture(feed, {
      name: src.name,
      bucketNs: opts.bucketNs,
      idleTimeoutNs: opts.idleTimeoutNs,
      attributeFragments: opts.attributeFragments,
      limits: opts.limits,
      placement: keep?.index,
      pace: loopTurns(),
      onFlow,
      // The engine reuses the batch object: addBuckets copies it before it returns its promise.
      onBuckets: (b) => started(sink.addBuckets(b)),
    });
    flushFlows();
    for (let r = await pull(); !r.done; r = await pull()); // after damage: read (and hash) the rest unparsed
    await release();
    await pending;
    if (failure) throw failure;
    if (signal?.aborted) throw new IngestCancelled();
    // The store publishes the rows while the hash worker finishes.
    sink.inputEnded();
    const s = result.stats;
    const sha256 = await hash.digest();
    if (keep && result.read.format) keep.index.finish({ flows, format: result.read.format, compressed: result.read.compressed });
    const linkTypes: Record<string, number> = {};
    for (const [lt, n] of s.linkTypes()) linkTypes[linkTypeName(lt)] = (linkTypes[linkTypeName(lt)] ?? 0) + n;
    const capture: CaptureInfo = {
      id: captureId,
      sha256,
      name: src.name,
      source: src.source,
      sourceKind: src.sourceKind,
      etag: src.etag ?? null,
      size: bytes,
      format: result.read.format,
      compressed: result.read.compressed,
      firstNs: s.packets > 0 ? nsOf(s.firstSec, s.firstNs) : null,
      lastNs: s.packets > 0 ? nsOf(s.lastSec, s.lastNs) : null,
      packets: s.packets,
      bytes: s.bytes,
      flows,
      linkTypes,
      problems: Object.fromEntries(result.problems),
      damage: result.damage?.message ?? null,
      azure: src.azure ?? null,
      ingestedAt: new Date().toISOString(),
    };
    opts.onProgress?.({ bytesDone: bytes, flows });
    src.beforeCommit?.();
    const outcome = await sink.commit(capture);
    // The flows are stored: keeping the packets may fail from here on, the import does not.
    try {
      const notWhole = hash.keepError ?? (result.read.format ? null : 'no capture format recognised');
      if (keep && kernelCopy && opts.archive?.availability(sha256).available) {
        // The same bytes are kept already (a re-import): no copy.
        kernelCopy.close();
        opts.archive.discard(keep);
      } else if (keep && kernelCopy) opts.archive?.commitAfter(keep, sha256, kernelCopy.start().then((why) => notWhole ?? why));
      else if (keep) opts.archive?.commit(keep, sha256, notWhole);
      else if (keeping && 'refused' in keeping) opts.archive?.refuse(sha256, keeping.refused);
    } catch (err) {
      kernelCopy?.close();
      if (keep) opts.archive?.discard(keep);
      opts.archive?.refuse(sha256, `not kept: filing the copy failed (${(err as Error).message})`);
    }
    if (outcome === 'duplicate') {
      const known = await store.findCapture({ sha256 });
      return { result: 'duplicate', capture: known ?? capture };
    }
    return { result: 'ingested', capture };
  } catch (err) {
    // A file the pipeline opened is closed here; a caller's stream stays the caller's to end.
    // (A generator never started has no finally to run: the handle is closed here as well.)
    const closeFile = 'handle' in src.stream ? Promise.all([source.return?.(), src.stream.handle.close()]).catch(() => undefined) : undefined;
    kernelCopy?.close();
    await Promise.all([sink.abort(), hash.destroy(), closeFile]);
    if (keep) opts.archive?.discard(keep);
    throw err;
  }
}
