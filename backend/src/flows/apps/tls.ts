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
  const msgEnd = p + 4 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  if (msgEnd > end) return null;
  let q = p + 4 + 2 + 32; // version, random
  if (q + 1 > msgEnd) return null;
  q += 1 + b[q]; // session id
  if (q + 2 > msgEnd) return null;
  q += 2 + ((b[q] << 8) | b[q + 1]); // cipher suites
  if (q + 1 > msgEnd) return null;
  q += 1 + b[q]; // compression methods
  const info: HelloInfo = { sni: null, alpn: null };
  if (q + 2 > msgEnd) return info; // no extensions
  const extEnd = Math.min(msgEnd, q + 2 + ((b[q] << 8) | b[q + 1]));
  q += 2;
  while (q + 4 <= extEnd) {
    const type = (b[q] << 8) | b[q + 1];
    const len = (b[q + 2] << 8) | b[q + 3];
    const d = q + 4;
    if (d + len > extEnd) break;
    if (type === 0 && len >= 5) {
      // server_name: list length, name type 0 (host_name), name length, name.
      const nameLen = (b[d + 3] << 8) | b[d + 4];
      if (b[d + 2] === 0 && d + 5 + nameLen <= d + len) info.sni = ascii(b, d + 5, d + 5 + nameLen);
    } else if (type === 16 && len >= 2) {
      // The protocol names joined with commas, as bytes first: one string per hello.
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
      if (names > 0) info.alpn = out.toString('latin1', 0, n);
    }
    q = d + len;
  }
  return info;
}
