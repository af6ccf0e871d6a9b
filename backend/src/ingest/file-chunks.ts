import * as fs from 'node:fs';

/**
 * A file's bytes as chunks read into buffers the caller lends (`nextBuffer`). Hot path of a path
 * import: a read stream's fresh 1 MB buffers cost ~0.35 s of page faults per GB, which was most of
 * the difference between the import and the CLI's parse.
 * Read synchronously, on the ingest's thread, as the CLI reads: read ahead on libuv's threads, the
 * copies competed for the second core with the hash worker, the store and V8's helper threads, and
 * the parse waited ~0.2 s per GB for reads not yet scheduled while its own core idled (1 GB path
 * import in one process, medians: 1.49 s with reads ahead, 1.39 s read here). A read of a chunk in
 * the page cache holds the event loop for under a millisecond, less than the parse of that chunk.
 * A chunk is the consumer's until it asks for the next one: reads only go into buffers that
 * nextBuffer() lends, never into one the consumer still holds.
 */
export async function* fileChunks(file: string | fs.promises.FileHandle, nextBuffer: () => Uint8Array): AsyncGenerator<Uint8Array> {
  // An open file handed in is this reader's to close.
  const fh = typeof file === 'string' ? await fs.promises.open(file, 'r') : file;
  try {
    for (let position = 0; ; ) {
      const buf = nextBuffer();
      const n = fs.readSync(fh.fd, buf, 0, buf.length, position);
      if (n === 0) return;
      position += n;
      yield n === buf.length ? buf : buf.subarray(0, n);
    }
  } finally {
    await fh.close();
  }
}
