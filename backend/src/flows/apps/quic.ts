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

/**
 * Receives the CRYPTO fragments of a client Initial, with the Destination Connection ID and keys
 * they were read with; answers true when it needs no more of this packet (the ClientHello is read).
 */
export type TakeCrypto = (dcid: Buffer, keys: InitialKeys, fragments: CryptoFragment[]) => boolean;

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
 * Decrypts the client Initial at the start of a UDP payload and hands its CRYPTO fragments to
 * take(): first those in the payload's first HEAD bytes (where a ClientHello's SNI and ALPN
 * usually are), then, unless take() answers true, those of the whole payload. `first` is the
 * flow's first DCID and keys: later Initials of the same flight may carry the server's chosen ID
 * but keep the first keys. Returns false when no CRYPTO frame was found.
 */
export function readClientInitial(b: Uint8Array, p: number, end: number, first: { dcid: Buffer; keys: InitialKeys } | null, take: TakeCrypto): boolean {
  if (!isQuicInitial(b, p, end)) return false;
  const version = ((b[p + 1] << 24) | (b[p + 2] << 16) | (b[p + 3] << 8) | b[p + 4]) >>> 0;
  let q = p + 5;
  const dcidLen = b[q];
  if (dcidLen > 20 || q + 1 + dcidLen >= end) return false;
  const dcid = Buffer.from(b.subarray(q + 1, q + 1 + dcidLen));
  q += 1 + dcidLen;
  const scidLen = b[q];
  if (scidLen > 20 || q + 1 + scidLen >= end) return false;
  q += 1 + scidLen;
  const tokenLen = varint(b, q, end);
  if (!tokenLen) return false;
  q += tokenLen[1] + tokenLen[0];
  const length = varint(b, q, end);
  if (!length) return false;
  q += length[1];
  const pnOffset = q;
  const packetEnd = pnOffset + length[0];
  if (packetEnd > end || pnOffset + 4 + 16 > end || length[0] < 20) return false;
  // The connection's first keys when this Initial carries the same ID (the usual case), else new ones.
  const same = first !== null && first.dcid.equals(dcid);
  const keys = same ? first.keys : clientInitialKeys(dcid, version === V2);
  if (readPayload(b, p, pnOffset, packetEnd, dcid, keys, take)) return true;
  if (first === null || same) return false;
  return readPayload(b, p, pnOffset, packetEnd, first.dcid, first.keys, take);
}

/**
 * The bytes of a payload decrypted first: a ClientHello's fields before its extensions take ~110,
 * and browsers put SNI and ALPN among the first extensions more often than not. A 1,200-byte
 * Initial is ~75 AES blocks; this is 16.
 */
const HEAD = 256;

/** Reads one Initial's payload with the given keys (see readClientInitial); false when it holds no CRYPTO frame. */
function readPayload(b: Uint8Array, start: number, pnOffset: number, packetEnd: number, dcid: Buffer, keys: InitialKeys, take: TakeCrypto): boolean {
  const payloadStart = unprotect(b, start, pnOffset, keys);
  const len = packetEnd - 16 - payloadStart;
  if (len < 1) return false;
  if (plain.length < len) plain = new Uint8Array(len);
  if (len > HEAD) {
    aesGcmKeystreamXor(keySchedule, nonce, b, payloadStart, payloadStart + HEAD, plain);
    const early = cryptoFrames(plain.subarray(0, HEAD), len);
    if (early.length > 0 && take(dcid, keys, early)) return true;
    aesGcmKeystreamXor(keySchedule, nonce, b, payloadStart + HEAD, payloadStart + len, plain, HEAD);
  } else aesGcmKeystreamXor(keySchedule, nonce, b, payloadStart, payloadStart + len, plain);
  const fragments = cryptoFrames(plain.subarray(0, len), len);
  if (fragments.length === 0) return false;
  take(dcid, keys, fragments);
  return true;
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
 * Removes header protection: sets the nonce from the packet number (and the key schedules for
 * these keys) and returns where the payload starts. The GCM tag is not checked (that would need
 * GHASH over the whole packet): a wrong key gives bytes that do not parse as Initial frames, which
 * readPayload() tells by finding no CRYPTO frame, and the ClientHello parser is strict.
 */
function unprotect(b: Uint8Array, start: number, pnOffset: number, keys: InitialKeys): number {
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
  return pnOffset + pnLen;
}

/**
 * The CRYPTO frames in f, the first bytes of a payload of `payloadLength` bytes: when f is only
 * its start, the frame it cuts off is returned as far as it goes (its declared length still
 * within the payload).
 */
function cryptoFrames(f: Uint8Array, payloadLength: number): CryptoFragment[] {
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
      if (d + len[0] > payloadLength) return out;
      out.push({ offset: off[0], data: f.subarray(d, Math.min(end, d + len[0])) });
      p = d + len[0];
      continue;
    }
    return out; // any other frame type ends what an Initial normally carries
  }
  return out;
}
