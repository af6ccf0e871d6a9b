import * as fs from 'node:fs';
import { civilDate } from './time';

/**
 * Text written straight into a reused byte buffer, for the per-flow encoders (the CLI's ndjson,
 * the store's staging file). Hand-written because they run once per flow: building each line as
 * a JS string made them the largest allocators of the process.
 */
export class ByteWriter {
  protected buf: Buffer;
  /** The same bytes as buf, for lit()'s eight-byte stores. */
  private view: DataView;
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
    this.view = viewOf(this.buf);
  }

  /** Hands everything buffered to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const kept = this.sink(this.buf.subarray(0, this.pos));
    this.pos = 0;
    if (kept === true) this.replaceBuffer(this.buf.length);
  }

  /**
   * Makes room for n more bytes (callers reserve a bound once per record, then write freely), and
   * for the padding lit() may write past the last of them (it writes whole words).
   */
  protected reserve(n: number): void {
    const room = n + LITERAL_SLACK;
    if (this.pos + room <= this.buf.length) return;
    this.flush();
    if (room > this.buf.length) this.replaceBuffer(room);
  }

  private replaceBuffer(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.view = viewOf(this.buf);
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
    // compiler turns the division into a multiply and shift instead of a float division. Two
    // digits per division, from a table.
    let m = n | 0;
    while (m >= 100) {
      const q = (m / 100) | 0;
      const r = (m - q * 100) << 1;
      b[--p] = PAIRS[r + 1];
      b[--p] = PAIRS[r];
      m = q;
    }
    if (m >= 10) {
      b[--p] = PAIRS[(m << 1) + 1];
      b[--p] = PAIRS[m << 1];
    } else b[--p] = 48 + m;
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
   * Copies a literal (a key, a run of NULLs). A short one goes eight bytes at a time, its padding
   * past its end too (overwritten by what follows; reserve() counts it): TypedArray.set() is a
   * builtin call with its checks, ~8 ns a key, and a line of ndjson has twenty-odd keys, while
   * these stores compile inline (hand-written: the per-flow hot path of flow-heavy captures).
   */
  protected lit(l: Literal): void {
    const w = l.words;
    if (w.length > SHORT_WORDS) this.buf.set(l.bytes, this.pos);
    else {
      const v = this.view;
      let p = this.pos;
      for (let i = 0; i < w.length; i++, p += 8) v.setFloat64(p, w[i], true);
    }
    this.pos += l.length;
  }

  /**
   * Writes s as it is when it is plain ASCII (see isPlainAscii), checked as it is copied, in one
   * pass; returns false, with the position where it was, at the first character that is not (the
   * caller then takes its escaping path).
   */
  protected plain(s: string): boolean {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (!isPlainCode(c)) return false;
      b[p++] = c;
    }
    this.pos = p;
    return true;
  }

  protected byte(c: number): void {
    this.buf[this.pos++] = c;
  }

  /**
   * second's key, then the time as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" (in quotes when second is
   * quoted) without building a string. The text up to the seconds is kept per field (first, last)
   * and redone only when the second changes: flows come out in creation order, so neighbours
   * mostly share it. False, with nothing written, for a year outside 0..9999 (the caller spells
   * that one with isoNs()).
   */
  protected isoTime(sec: number, nsec: number, second: SecondText): boolean {
    if (sec !== second.sec && !spell(second, sec)) return false;
    this.lit(second.text);
    const b = this.buf;
    let p = digits(b, this.pos, nsec, 9);
    b[p++] = 0x5a;
    if (second.quoted) b[p++] = 0x22;
    this.pos = p;
    return true;
  }
}

/** A time field's key and the text of one second (`,"first":"YYYY-MM-DDTHH:MM:SS.` and the like), kept per field (see ByteWriter.isoTime). */
export class SecondText {
  sec = NaN;
  day = NaN;
  /** The key, then the opening quote when quoted, then `YYYY-MM-DDTHH:MM:SS.`, written in place by spell(). */
  readonly text: Literal;
  /** Where the date starts in text. */
  readonly dateAt: number;

  constructor(
    readonly key: Literal,
    readonly quoted: boolean,
  ) {
    this.dateAt = key.length + (quoted ? 1 : 0);
    this.text = new Literal(key.text + (quoted ? '"' : '') + ' '.repeat(20));
  }
}

const ymd = new Float64Array(3);

/** Writes `YYYY-MM-DDTHH:MM:SS.` for sec into second's text (the date part only when the day changed); false when the year is outside 0..9999. */
function spell(second: SecondText, sec: number): boolean {
  const days = Math.floor(sec / 86400);
  const b = second.text.bytes;
  const o = second.dateAt;
  if (days !== second.day) {
    civilDate(days, ymd);
    const year = ymd[0];
    if (year < 0 || year > 9999) return false;
    digits(b, o, year, 4);
    b[o + 4] = 0x2d;
    digits(b, o + 5, ymd[1], 2);
    b[o + 7] = 0x2d;
    digits(b, o + 8, ymd[2], 2);
    b[o + 10] = 0x54;
    second.day = days;
  }
  const rem = sec - days * 86400;
  digits(b, o + 11, Math.floor(rem / 3600), 2);
  b[o + 13] = 0x3a;
  digits(b, o + 14, Math.floor((rem % 3600) / 60), 2);
  b[o + 16] = 0x3a;
  digits(b, o + 17, rem % 60, 2);
  b[o + 19] = 0x2e;
  second.sec = sec;
  return true;
}

/**
 * Literals longer than this many words are copied with one set(): its fixed cost is paid back
 * there, and the word loop is slower before the encoder reaches the optimizing compiler.
 */
const SHORT_WORDS = 6;
/** What lit() may write past a literal's end: the padding of its last word. */
const LITERAL_SLACK = 8;

function viewOf(b: Buffer): DataView {
  return new DataView(b.buffer, b.byteOffset, b.length);
}

/**
 * Fixed ASCII text for lit(): its bytes and the same bytes as little-endian float64 words, zero
 * padded. Copying bytes through float64 values is exact here: a NaN, the only value whose bits a
 * copy may change, needs a byte of 0xf0 or more in its top two, and ASCII has none.
 */
export class Literal {
  /** The text's bytes; writable (a literal whose tail changes in place: NdjsonEncoder's seconds). */
  readonly bytes: Uint8Array;
  readonly words: Float64Array;
  readonly length: number;

  constructor(text: string) {
    if (/[\u0080-\uffff]/.test(text)) throw new Error(`literal text must be ASCII: ${JSON.stringify(text)}`);
    this.length = text.length;
    const space = new ArrayBuffer(Math.ceil(text.length / 8) * 8);
    this.bytes = new Uint8Array(space, 0, text.length);
    this.bytes.set(Buffer.from(text, 'latin1'));
    this.words = new Float64Array(space);
  }

  /** The text again (for building longer literals out of shorter ones). */
  get text(): string {
    // (Decoded natively: spreading the bytes into String.fromCharCode made the encoders' tables of
    // joined literals cost every CLI run ~12 ms of its start.)
    return Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.length).toString('latin1');
  }

  static join(parts: readonly Literal[]): Literal {
    return new Literal(parts.map((p) => p.text).join(''));
  }
}

/**
 * Printable ASCII without a quote or backslash: text both encoders copy as is (anything else takes
 * their escaping path: names from hostile payloads).
 */
export function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isPlainCode(s.charCodeAt(i))) return false;
  return true;
}

/** One character of isPlainAscii's text. */
function isPlainCode(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c;
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
export function digits(b: Uint8Array, p: number, n: number, width: number): number {
  let q = p + width;
  let m = n | 0; // int32, as in uint()
  let left = width;
  for (; left >= 2; left -= 2) {
    const d = (m / 100) | 0;
    const r = (m - d * 100) << 1;
    b[--q] = PAIRS[r + 1];
    b[--q] = PAIRS[r];
    m = d;
  }
  if (left === 1) b[--q] = 48 + (m - ((m / 10) | 0) * 10);
  return p + width;
}

/** "00" to "99" as ASCII digits, two bytes each. */
const PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = 48 + Math.floor(i / 10);
  PAIRS[2 * i + 1] = 48 + (i % 10);
}

const POW10: number[] = [];
for (let i = 0, x = 1; i <= 16; i++, x *= 10) POW10.push(x);
