import * as fs from 'node:fs';

/**
 * Text written straight into a reused byte buffer, for the per-flow encoders (the CLI's ndjson,
 * the store's staging file). Hand-written because they run once per flow: building each line as
 * a JS string made them the largest allocators of the process.
 */
export class ByteWriter {
  protected buf: Buffer;
  protected pos = 0;

  /**
   * sink receives full chunks. It returns true when it keeps a reference to them (the writer then
   * goes on in a fresh buffer); otherwise it must be done with the bytes when it returns.
   */
  constructor(
    private readonly sink: (bytes: Uint8Array) => boolean | void,
    size = 256 * 1024,
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Hands everything buffered to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const kept = this.sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
    if (kept === true) this.replaceBuffer(this.buf.length);
  }

  /** Makes room for n more bytes (callers reserve a bound once per record, then write freely). */
  protected reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.replaceBuffer(n);
  }

  private replaceBuffer(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Non-negative integers up to 2^53 (every counter, port and flag field). */
  /**
   * A non-negative number with at most three decimals (k / 1000, as the TCP times are) as JSON
   * spells it ("1200", "1137.5", "0.001"), without a string; anything else through String().
   */
  protected milli(x: number): void {
    const k = Math.round(x * 1000);
    if (!(x >= 0) || k / 1000 !== x || k > 0x7fffffff) {
      this.ascii(String(x));
      return;
    }
    const whole = Math.floor(k / 1000);
    let frac = k - whole * 1000;
    this.uint(whole);
    if (frac === 0) return;
    let width = 3;
    while (frac % 10 === 0) {
      frac /= 10;
      width--;
    }
    this.buf[this.pos++] = 0x2e;
    this.pos = digits(this.buf, this.pos, frac, width);
  }

  protected uint(n: number): void {
    const b = this.buf;
    let len = 1;
    while (len < 16 && n >= POW10[len]) len++;
    let p = this.pos + len;
    this.pos = p;
    while (n > 0x7fffffff) {
      const q = Math.floor(n / 10);
      b[--p] = 48 + (n - q * 10);
      n = q;
    }
    // int32 arithmetic for the common case: with m typed int32 (the `| 0`), the optimizing
    // compiler turns the division by 10 into a multiply and shift instead of a float division.
    let m = n | 0;
    do {
      const q = (m / 10) | 0;
      b[--p] = 48 + m - q * 10;
      m = q;
    } while (m > 0);
  }

  /** Any number as String() spells it; non-negative safe integers (most fields) without a string. */
  protected decimal(n: number): void {
    if (n >= 0 && Number.isSafeInteger(n)) this.uint(n);
    else this.ascii(String(n));
  }

  /** A string known to be ASCII with nothing to escape, as is. */
  protected ascii(s: string): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /**
   * Copies fixed bytes (a key, a run of NULLs) with one TypedArray.set. The per-flow code runs in
   * V8's mid tier (see tierUpOnlyThePerPacketPath in cli/main.ts), where a word loop of DataView
   * stores was a builtin call per word: one set() per key is ~10% less encoding time there.
   */
  protected lit(l: Uint8Array): void {
    this.buf.set(l, this.pos);
    this.pos += l.length;
  }

  protected byte(c: number): void {
    this.buf[this.pos++] = c;
  }
}

/**
 * Printable ASCII without a quote or backslash: text both encoders copy as is (anything else takes
 * their escaping path: names from hostile payloads).
 */
export function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

/**
 * Writes every byte of bytes to fd with synchronous writes, continuing after partial writes. A
 * non-blocking pipe that is full answers EAGAIN: with whenFull, that is called (to wait a moment)
 * and the write goes on where it stopped; without, the error is thrown.
 */
export function writeAllSync(fd: number, bytes: Uint8Array, whenFull?: () => void): void {
  for (let done = 0; done < bytes.length; ) {
    try {
      done += fs.writeSync(fd, bytes, done);
    } catch (e) {
      if (!whenFull || (e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      whenFull();
    }
  }
}

/** Writes n (0 <= n < 2^31) zero-padded to width digits at p; returns the new position. */
export function digits(b: Buffer, p: number, n: number, width: number): number {
  let q = p + width;
  let m = n | 0; // int32, as in uint()
  for (let i = 0; i < width; i++) {
    const d = (m / 10) | 0;
    b[--q] = 48 + m - d * 10;
    m = d;
  }
  return p + width;
}

const POW10: number[] = [];
for (let i = 0, x = 1; i <= 16; i++, x *= 10) POW10.push(x);
