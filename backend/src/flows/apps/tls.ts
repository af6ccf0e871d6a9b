import { ascii } from './text';

/** TLS ClientHello parsing (RFC 8446 / 5246 wire format): server name and ALPN. */
export interface HelloInfo {
  sni: string | null;
  alpn: string | null;
}

/** Bytes needed for the whole first TLS record at p, or -1 when p does not start a handshake record. */
export function tlsRecordLength(b: Uint8Array, p: number, end: number): number {
  if (end - p < 6) return -1;
  if (b[p] !== 0x16 || b[p + 1] !== 0x03 || b[p + 2] > 0x04 || b[p + 5] !== 0x01) return -1;
  const len = (b[p + 3] << 8) | b[p + 4];
  if (len < 4 || len > 18432) return -1;
  return 5 + len;
}

/** SSLv2-compatible ClientHello (old clients): 2-byte header with the high bit set, message type 1. */
export function isSsl2Hello(b: Uint8Array, p: number, end: number): boolean {
  return end - p >= 5 && (b[p] & 0x80) !== 0 && b[p + 2] === 0x01 && (b[p + 3] === 0x03 || b[p + 3] === 0x02);
}

/** ALPN text of the hello being parsed (an extension is at most 64 KiB). */
const alpnBytes = Buffer.alloc(1 << 16);

/**
 * Parses a handshake message starting at p (type byte). Returns null when it is not a complete
 * ClientHello within [p, end).
 */
export function parseClientHello(b: Uint8Array, p: number, end: number): HelloInfo | null {
  if (end - p < 4 || b[p] !== 0x01) return null;
  if (p + 4 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) > end) return null;
  return parseClientHelloStart(b, p, end) ?? null;
}

/**
 * Parses a handshake message starting at p (type byte) of which the bytes before `avail` are
 * present. Returns what parseClientHello() returns once the message is complete: the hello, or null
 * when it is not a ClientHello. Before that, undefined when the bytes so far cannot settle it (an
 * SNI or ALPN extension may be still to come); the hello as soon as both are read: a ClientHello
 * with a post-quantum key share (1.2 KB) spans two QUIC Initials or TCP segments, and the
 * second need not be decrypted or waited for. An extension that occurs twice (which TLS forbids)
 * counts the first time, so the answer does not depend on where the bytes stopped.
 */
export function parseClientHelloStart(b: Uint8Array, p: number, avail: number): HelloInfo | null | undefined {
  if (avail - p < 4) return undefined;
  if (b[p] !== 0x01) return null;
  const msgEnd = p + 4 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  const end = Math.min(msgEnd, avail);
  const later = end < msgEnd ? undefined : null; // a field past `end`: still to come, or missing
  let q = p + 4 + 2 + 32; // version, random
  if (q + 1 > end) return later;
  q += 1 + b[q]; // session id
  if (q + 2 > end) return later;
  q += 2 + ((b[q] << 8) | b[q + 1]); // cipher suites
  if (q + 1 > end) return later;
  q += 1 + b[q]; // compression methods
  const info: HelloInfo = { sni: null, alpn: null };
  if (q + 2 > msgEnd) return info; // no extensions
  if (q + 2 > end) return undefined;
  const extEnd = Math.min(msgEnd, q + 2 + ((b[q] << 8) | b[q + 1]));
  q += 2;
  while (q + 4 <= extEnd) {
    if (q + 4 > end) return undefined;
    const type = (b[q] << 8) | b[q + 1];
    const len = (b[q + 2] << 8) | b[q + 3];
    const d = q + 4;
    if (d + len > extEnd) break;
    if (type === 0 && len >= 5 && info.sni === null) {
      if (d + len > end) return undefined;
      // server_name: list length, name type 0 (host_name), name length, name.
      const nameLen = (b[d + 3] << 8) | b[d + 4];
      if (b[d + 2] === 0 && d + 5 + nameLen <= d + len) info.sni = ascii(b, d + 5, d + 5 + nameLen);
    } else if (type === 16 && len >= 2 && info.alpn === null) {
      if (d + len > end) return undefined;
      info.alpn = alpnText(b, d, len);
    }
    if (info.sni !== null && info.alpn !== null) return info;
    q = d + len;
  }
  return info;
}

/** The protocol names of an ALPN extension's body joined with commas, as bytes first (one string per hello); null when it names none. */
function alpnText(b: Uint8Array, d: number, len: number): string | null {
  const out = alpnBytes;
  let n = 0;
  let names = 0;
  let r = d + 2;
  const listEnd = Math.min(d + len, d + 2 + ((b[d] << 8) | b[d + 1]));
  while (r < listEnd) {
    const l = b[r];
    if (r + 1 + l > listEnd || n + l + 1 > out.length) break;
    if (names++ > 0) out[n++] = 0x2c;
    for (let i = r + 1; i <= r + l; i++) {
      const c = b[i];
      out[n++] = c >= 0x20 && c < 0x7f ? c : 0x3f; // printable ASCII, anything else as '?' (as ascii() does)
    }
    r += 1 + l;
  }
  return names > 0 ? out.toString('latin1', 0, n) : null;
}
