/**
 * QUIC Initial key derivation (RFC 9001 §5.2: HKDF-SHA256 over the client's Destination Connection
 * ID), the header-protection mask (one AES-128 block) and the payload's key stream (AES-128 in
 * GCM's counter mode), hand-written for the hot path: through node:crypto each of the five HMACs
 * and the two ciphers builds a KeyObject, and on a capture with a few thousand QUIC connections
 * per GB those cost more than the rest of the engine (about 100 µs per Initial on Node 24). Here:
 * the derivation ~5.5 µs per connection, a 1,200-byte Initial's mask and key stream ~8.5 µs.
 * Checked against node:crypto in initial-keys.test.ts. Facts from FIPS 180-4 (SHA-256), RFC 2104
 * (HMAC), FIPS 197 (AES), NIST SP 800-38D (GCM).
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);

const W = new Int32Array(64);
const BLOCK = new Uint8Array(64);

/** One SHA-256 compression of the 64 bytes at b[o..] into state. */
function compress(state: Int32Array, b: Uint8Array, o: number): void {
  const w = W;
  for (let i = 0; i < 16; i++) w[i] = (b[o + 4 * i] << 24) | (b[o + 4 * i + 1] << 16) | (b[o + 4 * i + 2] << 8) | b[o + 4 * i + 3];
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], bb = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + S1 + ch + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & bb) ^ (a & c) ^ (bb & c);
    const t2 = (S0 + maj) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + bb) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** An HMAC-SHA256 key (at most 64 bytes) as its two padded-key states. */
interface HmacKey {
  inner: Int32Array;
  outer: Int32Array;
}

function hmacKey(key: Uint8Array): HmacKey {
  const inner = IV.slice();
  const outer = IV.slice();
  const b = BLOCK;
  for (let i = 0; i < 64; i++) b[i] = (i < key.length ? key[i] : 0) ^ 0x36;
  compress(inner, b, 0);
  for (let i = 0; i < 64; i++) b[i] = (i < key.length ? key[i] : 0) ^ 0x5c;
  compress(outer, b, 0);
  return { inner, outer };
}

const MSG = new Uint8Array(128);

/** Finishes a hash whose state has absorbed one 64-byte block: `len` more bytes from MSG, padded. */
function finish(state: Int32Array, len: number, out: Uint8Array): void {
  const m = MSG;
  m[len] = 0x80;
  const blocks = len + 9 <= 64 ? 1 : 2;
  for (let i = len + 1; i < blocks * 64 - 4; i++) m[i] = 0;
  const bits = (64 + len) * 8;
  m[blocks * 64 - 4] = bits >>> 24;
  m[blocks * 64 - 3] = (bits >>> 16) & 255;
  m[blocks * 64 - 2] = (bits >>> 8) & 255;
  m[blocks * 64 - 1] = bits & 255;
  for (let k = 0; k < blocks; k++) compress(state, m, k * 64);
  for (let i = 0; i < 8; i++) {
    out[4 * i] = state[i] >>> 24;
    out[4 * i + 1] = (state[i] >>> 16) & 255;
    out[4 * i + 2] = (state[i] >>> 8) & 255;
    out[4 * i + 3] = state[i] & 255;
  }
}

/** HMAC-SHA256(key, message) for messages up to 55 bytes (all that Initial keys need), into out (32 bytes). */
function hmac(key: HmacKey, message: Uint8Array, out: Uint8Array): Uint8Array {
  const inner = key.inner.slice();
  MSG.set(message, 0);
  finish(inner, message.length, out);
  const outer = key.outer.slice();
  MSG.set(out, 0);
  finish(outer, 32, out);
  return out;
}

/** HKDF-Expand-Label's info (RFC 8446 §7.1) with an empty context, and the one block's counter: info || 0x01. */
function labelInfo(label: string, length: number): Uint8Array {
  const full = `tls13 ${label}`;
  return Uint8Array.from([length >> 8, length & 255, full.length, ...Buffer.from(full, 'latin1'), 0, 1]);
}

/** The labels' info, made once instead of per connection. */
const CLIENT_IN = labelInfo('client in', 32);
const LABELS = [false, true].map((v2) => ({ key: labelInfo(v2 ? 'quicv2 key' : 'quic key', 16), iv: labelInfo(v2 ? 'quicv2 iv' : 'quic iv', 12), hp: labelInfo(v2 ? 'quicv2 hp' : 'quic hp', 16) }));

/**
 * A connection's client Initial keys as bytes. The AES key schedules are expanded where they are
 * used (aesKeyExpansion into a scratch): a schedule is 176 bytes, and a typed array over 64 bytes
 * lives outside V8's heap, where making one cost 1-3 µs on Node 24 (two per connection).
 */
export interface InitialKeys {
  /** The payload key (AES-128). */
  key: Uint8Array;
  iv: Uint8Array;
  /** The header-protection key (AES-128). */
  hp: Uint8Array;
}

const SALT_V1 = hmacKey(Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'));
const SALT_V2 = hmacKey(Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'));
const SECRET = new Uint8Array(32);

/** The client's Initial keys for a Destination Connection ID (at most 20 bytes). */
export function clientInitialKeys(dcid: Uint8Array, v2: boolean): InitialKeys {
  const initial = hmacKey(hmac(v2 ? SALT_V2 : SALT_V1, dcid, SECRET));
  const client = hmacKey(hmac(initial, CLIENT_IN, SECRET));
  const labels = LABELS[v2 ? 1 : 0];
  // Each output is on V8's heap (at most 64 bytes): copies of the first bytes of an HMAC.
  return {
    key: hmac(client, labels.key, SECRET).slice(0, 16),
    iv: hmac(client, labels.iv, SECRET).slice(0, 12),
    hp: hmac(client, labels.hp, SECRET).slice(0, 16),
  };
}

// AES-128, encryption only: the header-protection mask is one block, and the payload is read in
// counter mode (GCM's encryption), both with 32-bit T-tables (FIPS 197 §5.2's round as table lookups).
const SBOX = new Uint8Array(256);
{
  // The S-box from the multiplicative inverse in GF(2^8) and the affine map (FIPS 197 §5.1.1).
  let p = 1;
  let q = 1;
  do {
    p = p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0); // p *= 3
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09; // q /= 3
    const x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4));
    SBOX[p] = (x ^ 0x63) & 0xff;
  } while (p !== 1);
  SBOX[0] = 0x63;
}
const xtime = (x: number): number => ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff;
/** Round tables: SubBytes and MixColumns of one byte, in each of the four byte positions. */
const TE0 = new Int32Array(256);
const TE1 = new Int32Array(256);
const TE2 = new Int32Array(256);
const TE3 = new Int32Array(256);
for (let i = 0; i < 256; i++) {
  const s = SBOX[i];
  const w = (xtime(s) << 24) | (s << 16) | (s << 8) | (xtime(s) ^ s);
  TE0[i] = w;
  TE1[i] = (w >>> 8) | (w << 24);
  TE2[i] = (w >>> 16) | (w << 16);
  TE3[i] = (w >>> 24) | (w << 8);
}

/** AES-128's key schedule (44 round-key words) of a 16-byte key, into `w` (a new array when not given). */
export function aesKeyExpansion(key: Uint8Array, w = new Int32Array(44)): Int32Array {
  for (let i = 0; i < 4; i++) w[i] = (key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3];
  let rcon = 1;
  for (let i = 4; i < 44; i++) {
    let t = w[i - 1];
    if (i % 4 === 0) {
      t = (SBOX[(t >>> 16) & 255] << 24) | (SBOX[(t >>> 8) & 255] << 16) | (SBOX[t & 255] << 8) | SBOX[t >>> 24];
      t ^= rcon << 24;
      rcon = (rcon << 1) ^ (rcon & 0x80 ? 0x11b : 0);
    }
    w[i] = w[i - 4] ^ t;
  }
  return w;
}

const OUT = new Int32Array(4);

/** AES-128 of the block (x0..x3, big-endian words) into OUT. */
function encryptWords(w: Int32Array, x0: number, x1: number, x2: number, x3: number): void {
  let s0 = x0 ^ w[0];
  let s1 = x1 ^ w[1];
  let s2 = x2 ^ w[2];
  let s3 = x3 ^ w[3];
  for (let r = 4; r < 40; r += 4) {
    const t0 = TE0[s0 >>> 24] ^ TE1[(s1 >>> 16) & 255] ^ TE2[(s2 >>> 8) & 255] ^ TE3[s3 & 255] ^ w[r];
    const t1 = TE0[s1 >>> 24] ^ TE1[(s2 >>> 16) & 255] ^ TE2[(s3 >>> 8) & 255] ^ TE3[s0 & 255] ^ w[r + 1];
    const t2 = TE0[s2 >>> 24] ^ TE1[(s3 >>> 16) & 255] ^ TE2[(s0 >>> 8) & 255] ^ TE3[s1 & 255] ^ w[r + 2];
    const t3 = TE0[s3 >>> 24] ^ TE1[(s0 >>> 16) & 255] ^ TE2[(s1 >>> 8) & 255] ^ TE3[s2 & 255] ^ w[r + 3];
    s0 = t0;
    s1 = t1;
    s2 = t2;
    s3 = t3;
  }
  const last = (a: number, b: number, c: number, d: number, k: number): number =>
    ((SBOX[a >>> 24] << 24) | (SBOX[(b >>> 16) & 255] << 16) | (SBOX[(c >>> 8) & 255] << 8) | SBOX[d & 255]) ^ k;
  OUT[0] = last(s0, s1, s2, s3, w[40]);
  OUT[1] = last(s1, s2, s3, s0, w[41]);
  OUT[2] = last(s2, s3, s0, s1, w[42]);
  OUT[3] = last(s3, s0, s1, s2, w[43]);
}

const word = (b: Uint8Array, o: number): number => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];

/** AES-128 encryption of the 16 bytes at b[o..] into out[0..16) (the header-protection mask). */
export function aesEncryptBlock(w: Int32Array, b: Uint8Array, o: number, out: Uint8Array): void {
  encryptWords(w, word(b, o), word(b, o + 4), word(b, o + 8), word(b, o + 12));
  for (let i = 0; i < 4; i++) {
    const v = OUT[i];
    out[4 * i] = v >>> 24;
    out[4 * i + 1] = (v >>> 16) & 255;
    out[4 * i + 2] = (v >>> 8) & 255;
    out[4 * i + 3] = v & 255;
  }
}

/**
 * GCM's encryption without its authentication: src[from..to) XOR the AES-CTR key stream of the
 * 12-byte nonce, counter from 2 (RFC 5116 / NIST SP 800-38D: counter 1 is the tag's), into
 * out[at..). `at` (a multiple of 16) is where src[from] is in the payload: a payload can be read
 * in parts, each continuing the key stream where the last stopped.
 */
export function aesGcmKeystreamXor(w: Int32Array, nonce: Uint8Array, src: Uint8Array, from: number, to: number, out: Uint8Array, at = 0): void {
  const n0 = word(nonce, 0);
  const n1 = word(nonce, 4);
  const n2 = word(nonce, 8);
  let counter = 2 + at / 16;
  for (let p = from, q = at; p < to; p += 16, q += 16, counter++) {
    encryptWords(w, n0, n1, n2, counter);
    const n = Math.min(16, to - p);
    for (let i = 0; i < n; i++) out[q + i] = src[p + i] ^ ((OUT[i >> 2] >>> (24 - 8 * (i & 3))) & 255);
  }
}
