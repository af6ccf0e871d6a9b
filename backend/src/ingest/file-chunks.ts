import * as fs from 'node:fs';

/**
 * A file's bytes as chunks read into buffers the caller lends (`nextBuffer`). Hot path of a path
 * import: a read stream's fresh 1 MB buffers cost ~0.35 s of page faults per GB, which was most of
 * the difference between the import and the CLI's parse.
 * Read synchronously, on the ingest's thread, as the CLI reads: read ahead on libuv's threads, the
 * copies competed for the second core with the hash worker, the store and V8's helper threads, and
 * the parse waited ~0.2 s per GB for reads not yet scheduled while its own core idled (1 GB path
 * import in one process, medians: 1.49 s with reads ahead, 1.39 s read here). A read from the page
 * cache holds the event loop for under a millisecond, less than the parse of its chunk. Reads that
 * turn out slow (a cold disk, a network mount: see SlowReads) switch the rest of the file to reads
 * ahead on libuv's threads, so the API does not wait for the device.
 * A chunk is the consumer's until it asks for the next one: reads only go into buffers that
 * nextBuffer() lends, never into one the consumer still holds.
 */
export async function* fileChunks(file: string | fs.promises.FileHandle, nextBuffer: () => Uint8Array, slowReads = new SlowReads()): AsyncGenerator<Uint8Array> {
  // An open file handed in is this reader's to close.
  const fh = typeof file === 'string' ? await fs.promises.open(file, 'r') : file;
  let position = 0;
  let inFlight: Promise<Uint8Array> | null = null;
  try {
    for (;;) {
      const buf = nextBuffer();
      const started = performance.now();
      const n = fs.readSync(fh.fd, buf, 0, buf.length, position);
      if (n === 0) return;
      position += n;
      const slow = slowReads.tooSlow(performance.now() - started);
      yield n === buf.length ? buf : buf.subarray(0, n);
      if (slow) break;
    }
    const readAhead = async (): Promise<Uint8Array> => {
      const buf = nextBuffer();
      const { bytesRead } = await fh.read(buf, 0, buf.length, position);
      position += bytesRead;
      return bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    };
    inFlight = readAhead();
    for (;;) {
      const chunk: Uint8Array = await inFlight;
      inFlight = null;
      if (chunk.length === 0) return;
      inFlight = readAhead();
      yield chunk;
    }
  } finally {
    await inFlight?.catch(() => undefined);
    await fh.close();
  }
}

/**
 * When a file's reads leave the ingest's thread: after two slow reads in a row (over 10 ms for one
 * chunk; from the page cache 4 MiB take ~1 ms), or one that held the thread over 50 ms.
 * One slow read alone does not count: on this project's VMs a read from the page cache took over
 * 10 ms now and then (one such read in 4 of 22 imports of 240 reads each: the VM paused).
 * Switched on one such read (or on a read into a fresh buffer's untouched pages, before BufferPool
 * touched them), half of the 1 GB path imports ran the whole file on reads ahead, 25 % slower
 * (2.85-3.01 s against 2.26-2.35 s).
 */
export class SlowReads {
  private inARow = 0;

  constructor(
    private readonly slowMs = 10,
    private readonly stalledMs = 50,
  ) {}

  /** A read took `ms`; true: read the rest ahead. */
  tooSlow(ms: number): boolean {
    if (ms > this.stalledMs) return true;
    this.inARow = ms > this.slowMs ? this.inARow + 1 : 0;
    return this.inARow >= 2;
  }
}
