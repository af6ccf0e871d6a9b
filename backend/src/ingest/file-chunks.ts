import * as fs from 'node:fs';

/**
 * A file's bytes as chunks read into buffers the caller lends (`nextBuffer`). Hot path of a path
 * import: a read stream's fresh 1 MB buffers cost ~0.35 s of page faults per GB, which was most of
 * the difference between the import and the CLI's parse.
 * Read synchronously, on the ingest's thread, as the CLI reads: read ahead on libuv's threads, the
 * copies competed for the second core with the hash worker, the store and V8's helper threads, and
 * the parse waited ~0.2 s per GB for reads not yet scheduled while its own core idled (1 GB path
 * import in one process, medians: 1.49 s with reads ahead, 1.39 s read here). A read from the page
 * cache holds the event loop for under a millisecond, less than the parse of its chunk. A read
 * slower than `slowReadMs` (a cold disk, a network mount) switches the rest of the file to reads
 * ahead on libuv's threads, so the API does not wait for the device.
 * A chunk is the consumer's until it asks for the next one: reads only go into buffers that
 * nextBuffer() lends, never into one the consumer still holds.
 */
export async function* fileChunks(file: string | fs.promises.FileHandle, nextBuffer: () => Uint8Array, slowReadMs = SLOW_READ_MS): AsyncGenerator<Uint8Array> {
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
      const slow = performance.now() - started > slowReadMs;
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

/** A read slower than this (ms for one chunk; from the page cache 4 MiB take ~1 ms) is a device's. */
const SLOW_READ_MS = 10;
