/**
 * Text from payload bytes. Names are read once per flow, but on many flows: each helper makes one
 * string (building it a character at a time left a chain of intermediate strings per name).
 */

/** Bytes [from, to) as Latin-1 text. */
export function latin1(b: Uint8Array, from: number, to: number): string {
  const buf = b instanceof Buffer ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.toString('latin1', from, to);
}

/** Printable ASCII text of bytes [from, to), every other byte shown as '?'. */
export function ascii(b: Uint8Array, from: number, to: number): string {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c < 0x20 || c >= 0x7f) return latin1(b.slice(from, to).map((x) => (x >= 0x20 && x < 0x7f ? x : 0x3f)), 0, to - from);
  }
  return latin1(b, from, to);
}
