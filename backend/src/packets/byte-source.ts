import * as fs from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { gunzipMembers } from '../capture/gunzip';

/**
 * The bytes of a kept capture as the reader saw them (decompressed), read at increasing offsets:
 * a slice walks the capture front to back. A plain file is read where asked; a gzip file is
 * decompressed from its start and read forward (kept as imported: gzip has no random access, so
 * slicing a compressed capture costs a decompression up to the last packet asked for).
 */
export interface ByteSource {
  /** Fills `into[0, length)` with the bytes at `offset` (offsets never go back between calls). */
  read(offset: number, length: number, into: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

export async function openByteSource(path: string, compressed: boolean): Promise<ByteSource> {
  return compressed ? GzipSource.open(path) : FileSource.open(path);
}

class FileSource implements ByteSource {
  private constructor(private readonly file: FileHandle) {}

  static async open(path: string): Promise<FileSource> {
    return new FileSource(await open(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW));
  }

  /**
   * Read synchronously: a slice's reads come from the page cache in pieces of at most 8 MB
   * (a millisecond or two each), and the thread-pool round trip of an async read cost more than
   * the read (a DNS slice of a 1 GB capture: 0.65 s async, see bench). The event loop gets its
   * turn between pieces, while the consumer writes them out.
   */
  async read(offset: number, length: number, into: Uint8Array): Promise<void> {
    let done = 0;
    while (done < length) {
      const bytesRead = fs.readSync(this.file.fd, into, done, length - done, offset + done);
      if (bytesRead === 0) throw new Error(`kept capture ends at ${offset + done}, before byte ${offset + length} its index points to`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

class GzipSource implements ByteSource {
  private chunk: Uint8Array = new Uint8Array(0);
  /** Offset of chunk[0] in the decompressed bytes. */
  private chunkStart = 0;

  private constructor(
    private readonly stream: fs.ReadStream,
    private readonly members: AsyncIterator<Uint8Array>,
  ) {}

  static async open(path: string): Promise<GzipSource> {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const stream = fs.createReadStream(path, { fd, highWaterMark: 1 << 20 });
    return new GzipSource(stream, gunzipMembers(stream[Symbol.asyncIterator](), { trailingGarbage: 0 })[Symbol.asyncIterator]());
  }

  async read(offset: number, length: number, into: Uint8Array): Promise<void> {
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const end = this.chunkStart + this.chunk.length;
      if (at < this.chunkStart) throw new Error('gzip source read backwards');
      if (at >= end) {
        const r = await this.members.next();
        if (r.done) throw new Error(`kept capture ends at ${end}, before byte ${offset + length} its index points to`);
        this.chunkStart = end;
        this.chunk = r.value;
        continue;
      }
      const from = at - this.chunkStart;
      const n = Math.min(length - done, this.chunk.length - from);
      into.set(this.chunk.subarray(from, from + n), done);
      done += n;
    }
  }

  async close(): Promise<void> {
    await this.members.return?.(undefined);
    this.stream.destroy();
  }
}
