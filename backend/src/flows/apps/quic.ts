import { aesEncryptBlock, aesGcmKeystreamXor, aesKeyExpansion, clientInitialKeys, type InitialKeys } from './initial-keys';

/**
 * QUIC Initial packets (RFC 9000/9001 for v1, RFC 9369 for v2): the client's Initial is protected
 * with keys anyone can derive from its Destination Connection ID, so its CRYPTO frames (the TLS
 * ClientHello) can be read. This module removes header protection, decrypts the payload (AES-128
 * in GCM's counter mode, initial-keys.ts) and returns the CRYPTO frame data with their offsets.
 */

const V1 = 0x00000001;
const V2 = 0x6b3343cf;

export interface CryptoFragment {
  offset: number;
  data: Uint8Array;
}

export interface InitialInfo {
  /** The Destination Connection ID the keys were derived from, and the keys (kept for the connection's next Initials). */
  dcid: Buffer;
  keys: InitialKeys;
  fragments: CryptoFragment[];
}

/** True when the datagram starts with a long-header Initial of QUIC v1 or v2. */
export function isQuicInitial(b: Uint8Array, p: number, end: number): boolean {
  if (end - p < 7) return false;
  const first = b[p];
  if ((first & 0xc0) !== 0xc0) return false;
  const version = ((b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]) >>> 0;
  const type = (first >> 4) & 3;
  return (version === V1 && type === 0) || (version === V2 && type === 1);
}

/** Reads a QUIC variable-length integer; returns [value, bytes] or null. */
function varint(b: Uint8Array, p: number, end: number): [number, number] | null {
  if (p >= end) return null;
  const n = 1 << (b[p] >> 6);
  if (p + n > end) return null;
  let v = b[p] & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + b[p + i];
  return [v, n];
}

/**
 * Decrypts the client Initial at the start of a UDP payload. `fallbackDcid` is the flow's first
 * DCID: later Initials of the same flight may carry the server's chosen ID but keep the first keys.
 */
export function readClientInitial(b: Uint8Array, p: number, end: number, first: { dcid: Buffer; keys: InitialKeys } | null): InitialInfo | null {
  if (!isQuicInitial(b, p, end)) return null;
  const version = ((b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]) >>> 0;
  let q = p + 5;
  const dcidLen = b[q];
  if (dcidLen > 20 || q + 1 + dcidLen >= end) return null;
  const dcid = Buffer.from(b.subarray(q + 1, q + 1 + dcidLen));
  q += 1 + dcidLen;
  const scidLen = b[q];
  if (scidLen > 20 || q + 1 + scidLen >= end) return null;
  q += 1 + scidLen;
  const tokenLen = varint(b, q, end);
  if (!tokenLen) return null;
  q += tokenLen[1] + tokenLen[0];
  const length = varint(b, q, end);
  if (!length) return null;
  q += length[1];
  const pnOffset = q;
  const packetEnd = pnOffset + length[0];
  if (packetEnd > end || pnOffset + 4 + 16 > end || length[0] < 20) return null;
  // The connection's first keys when this Initial carries the same ID (the usual case), else new ones.
  const same = first !== null && first.dcid.equals(dcid);
  const keys = same ? first.keys : clientInitialKeys(dcid, version === V2);
  const frames = decrypt(b, p, pnOffset, packetEnd, keys);
  const fragments = frames ? cryptoFrames(frames) : [];
  if (fragments.length > 0) return { dcid, keys, fragments };
  if (first === null || same) return null;
  const again = decrypt(b, p, pnOffset, packetEnd, first.keys);
  const others = again ? cryptoFrames(again) : [];
  return others.length > 0 ? { dcid: first.dcid, keys: first.keys, fragments: others } : null;
}

const mask = new Uint8Array(16);

/** The decrypted payload of the last Initial read (its fragments point into it until the next read). */
let plain = new Uint8Array(2048);
const nonce = new Uint8Array(12);
/** The AES key schedules of the keys last used (see InitialKeys: expanded here, once per use of other keys). */
const hpSchedule = new Int32Array(44);
const keySchedule = new Int32Array(44);
let scheduled: InitialKeys | null = null;

/**
 * Removes header protection and decrypts the payload. The GCM tag is not checked (that would need
 * GHASH over the whole packet): a wrong key gives bytes that do not parse as Initial frames, which
 * readClientInitial() tells by finding no CRYPTO frame, and the ClientHello parser is strict.
 */
function decrypt(b: Uint8Array, start: number, pnOffset: number, packetEnd: number, keys: InitialKeys): Uint8Array | null {
  if (keys !== scheduled) {
    aesKeyExpansion(keys.hp, hpSchedule);
    aesKeyExpansion(keys.key, keySchedule);
    scheduled = keys;
  }
  aesEncryptBlock(hpSchedule, b, pnOffset + 4, mask);
  const first = b[start] ^ (mask[0] & 0x0f);
  const pnLen = (first & 3) + 1;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) pn = pn * 256 + (b[pnOffset + i] ^ mask[1 + i]);
  nonce.set(keys.iv);
  for (let i = 0; i < 8 && pn > 0; i++) {
    nonce[11 - i] ^= pn & 0xff;
    pn = Math.floor(pn / 256);
  }
  const payloadStart = pnOffset + pnLen;
  const len = packetEnd - 16 - payloadStart;
  if (len < 1) return null;
  if (plain.length < len) plain = new Uint8Array(len);
  aesGcmKeystreamXor(keySchedule, nonce, b, payloadStart, packetEnd - 16, plain);
  return plain.subarray(0, len);
}

function cryptoFrames(f: Uint8Array): CryptoFragment[] {
  const out: CryptoFragment[] = [];
  let p = 0;
  const end = f.length;
  while (p < end) {
    const type = f[p];
    if (type === 0x00 || type === 0x01) {
      p++;
      continue;
    }
    if (type === 0x02 || type === 0x03) {
      // ACK: largest, delay, range count, first range, then (gap, length) pairs, then ECN counts.
      let q = p + 1;
      const fields: number[] = [];
      for (let i = 0; i < 4; i++) {
        const v = varint(f, q, end);
        if (!v) return out;
        fields.push(v[0]);
        q += v[1];
      }
      const extra = fields[2] * 2 + (type === 0x03 ? 3 : 0);
      for (let i = 0; i < extra; i++) {
        const v = varint(f, q, end);
        if (!v) return out;
        q += v[1];
      }
      p = q;
      continue;
    }
    if (type === 0x06) {
      const off = varint(f, p + 1, end);
      if (!off) return out;
      const len = varint(f, p + 1 + off[1], end);
      if (!len) return out;
      const d = p + 1 + off[1] + len[1];
      if (d + len[0] > end) return out;
      out.push({ offset: off[0], data: f.subarray(d, d + len[0]) });
      p = d + len[0];
      continue;
    }
    return out; // any other frame type ends what an Initial normally carries
  }
  return out;
}
