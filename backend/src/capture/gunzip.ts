import type * as Zlib from 'node:zlib';

/** zlib, loaded with the first gzip input (loading it cost every CLI run ~5 ms of its start). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const zlib = (): typeof Zlib => require('node:zlib') as typeof Zlib;

/**
 * gzip input, member by member, as gzip(1) reads it: every member's bytes come out, and bytes
 * after the last member that do not start another one are "trailing garbage", reported and
 * ignored (Node's Gunzip stream takes them for a new member and throws away the output of the
 * chunk that held the end of the last one). Each member's header is read here and its deflate
 * data goes through zlib's raw inflater, which stops at the end of the deflate stream and says
 * how many input bytes that took; the 8-byte trailer's CRC-32 and length are checked.
 */
export class GzipError extends Error {
  constructor(
    message: string,
    /** "truncated": input ends inside a member; "corrupt": bad header, data or trailer. */
    readonly kind: 'truncated' | 'corrupt',
  ) {
    super(message);
  }
}

const WRITE_SLICE = 16 * 1024;
const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** Input bytes not consumed yet, read on demand from the source. */
class InputQueue {
  private chunks: Buffer[] = [];
  private length = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  get available(): number {
    return this.length;
  }

  /** Reads until `n` bytes are queued; false when the input ends first. */
  async fill(n: number): Promise<boolean> {
    while (this.length < n) {
      if (this.ended) return false;
      const r = await this.source.next();
      if (r.done) {
        this.ended = true;
        return this.length >= n;
      }
      this.unshiftOrPush(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength), false);
    }
    return true;
  }

  /** The next input chunk: queued bytes first (null at the end of input). */
  async next(): Promise<Buffer | null> {
    if (this.length === 0 && !(await this.fill(1))) return null;
    const c = this.chunks.shift() as Buffer;
    this.length -= c.length;
    return c;
  }

  peek(n: number): Buffer {
    return this.chunks.length === 1 || this.chunks[0].length >= n ? this.chunks[0].subarray(0, n) : Buffer.concat(this.chunks).subarray(0, n);
  }

  take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n);
    return Buffer.from(out);
  }

  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0];
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.length -= n;
  }

  /** Puts bytes back in front (what a member's inflater did not consume). */
  unshiftOrPush(b: Buffer, front: boolean): void {
    if (b.length === 0) return;
    if (front) this.chunks.unshift(b);
    else this.chunks.push(b);
    this.length += b.length;
  }
}

/** Length of the member header at the queue's front (reads more as the optional fields need). */
async function headerLength(q: InputQueue): Promise<number> {
  const need = async (n: number): Promise<void> => {
    if (!(await q.fill(n))) throw new GzipError('gzip member header ends early', 'truncated');
  };
  await need(10);
  const h = q.peek(10);
  if (h[2] !== 8) throw new GzipError(`gzip member uses compression method ${h[2]}, not deflate`, 'corrupt');
  const flags = h[3];
  let at = 10;
  if (flags & FEXTRA) {
    await need(at + 2);
    at += 2 + q.peek(at + 2).readUInt16LE(at);
  }
  for (const bit of [FNAME, FCOMMENT]) {
    if (!(flags & bit)) continue;
    // A zero-terminated text field.
    for (;;) {
      await need(at + 1);
      if (q.peek(at + 1)[at] === 0) break;
      at++;
    }
    at++;
  }
  if (flags & FHCRC) at += 2;
  await need(at);
  return at;
}

/** CRC-32 (zlib.crc32 exists from Node 22.2; on older Node the trailer's CRC is not checked). */
const crc32Of = (): ((data: Uint8Array, value?: number) => number) | undefined => (zlib() as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

/** One member's deflate data through the raw inflater; its output as it comes. */
async function* inflateMember(q: InputQueue): AsyncGenerator<Buffer, { crc: number | null; size: number }> {
  const inflater = zlib().createInflateRaw();
  const crc32 = crc32Of();
  const out: Buffer[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let failure: Error | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  inflater.on('data', (c: Buffer) => {
    out.push(c);
    notify();
  });
  inflater.on('end', () => {
    ended = true;
    notify();
  });
  inflater.on('error', (e) => {
    failure = e;
    notify();
  });
  let fed = 0;
  /** The slice in the inflater: where the deflate data ends, what it did not consume goes back to the queue. */
  let last: Buffer = Buffer.alloc(0);
  let crc = 0;
  let size = 0;
  /** A slice is being inflated: the next is written only once it is done and its output taken (back-pressure). */
  let writing = false;
  try {
    for (;;) {
      while (out.length > 0) {
        const c = out.shift() as Buffer;
        if (crc32) crc = crc32(c, crc);
        size += c.length;
        yield c;
      }
      if (failure) throw new GzipError(`corrupt deflate data (${(failure as Error).message})`, 'corrupt');
      if (ended) break;
      if (writing) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const next = await q.next();
      if (next === null) {
        inflater.end();
        await new Promise<void>((r) => inflater.once('close', () => r()));
        if (!ended || failure) throw new GzipError('gzip data ends inside a member', 'truncated');
        continue;
      }
      // Small slices: a slice's output is held until the consumer takes it, and deflate can
      // expand 1,000-fold (16 KiB in, at most about 16 MiB out).
      const slice = next.subarray(0, WRITE_SLICE);
      q.unshiftOrPush(next.subarray(WRITE_SLICE), true);
      last = slice;
      fed += slice.length;
      writing = true;
      inflater.write(slice, () => {
        writing = false;
        notify();
      });
    }
  } finally {
    inflater.destroy();
  }
  // Bytes fed past the end of the deflate data (one slice at a time: all in the last) belong to the trailer and what follows.
  const surplus = fed - inflater.bytesWritten;
  q.unshiftOrPush(last.subarray(last.length - surplus), true);
  return { crc: crc32 ? crc >>> 0 : null, size: size >>> 0 };
}

export interface GunzipNotes {
  /** Bytes after the last member that start no member (ignored, as gzip(1) does). */
  trailingGarbage: number;
}

/** Decompressed bytes of every member of a gzip input, in order. */
export async function* gunzipMembers(source: AsyncIterator<Uint8Array>, notes: GunzipNotes): AsyncGenerator<Uint8Array> {
  const q = new InputQueue(source);
  for (let member = 0; ; member++) {
    if (!(await q.fill(1))) return;
    // After a complete member, anything that is not a whole member header is trailing garbage.
    let header = 0;
    if (member > 0) {
      header = (await q.fill(2)) && q.peek(2)[0] === 0x1f && q.peek(2)[1] === 0x8b ? await headerLength(q).catch(() => 0) : 0;
      if (header === 0) {
        let garbage = 0;
        for (let c = await q.next(); c !== null; c = await q.next()) garbage += c.length;
        notes.trailingGarbage = garbage;
        return;
      }
    } else header = await headerLength(q);
    q.skip(header);
    const it = inflateMember(q);
    let r = await it.next();
    while (!r.done) {
      yield r.value;
      r = await it.next();
    }
    if (!(await q.fill(8))) throw new GzipError('gzip member trailer ends early', 'truncated');
    const trailer = q.take(8);
    if (r.value.crc !== null && trailer.readUInt32LE(0) !== r.value.crc) throw new GzipError('gzip member fails its CRC-32 check', 'corrupt');
    if (trailer.readUInt32LE(4) !== r.value.size) throw new GzipError('gzip member length does not match its trailer', 'corrupt');
  }
}
