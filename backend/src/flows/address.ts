/**
 * Text form of a flow address: dotted quad for IPv4, RFC 5952 (lower case, longest zero run as ::) for IPv6.
 * Runs twice per flow where records carry text (the store's ingest, CSV; the CLI's ndjson writer
 * spells the same text from the words: writeAddress), and flows repeat their hosts: recent answers
 * are kept in a two-way set-associative cache (a hit is five compares, ten at most). A miss builds
 * the text as bytes in a scratch buffer and reads it back as one flat string (building it from
 * pieces cost 5x more for IPv6 and left cons strings for every reader to flatten).
 */
export function formatAddress(version: number, w0: number, w1: number, w2: number, w3: number): string {
  const set = Math.imul(w3 ^ Math.imul(w2, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w0, 0xc2b2ae35), 0x27d4eb2d) >>> SET_SHIFT;
  const e = set * 2;
  const words = cacheWords;
  for (let way = e; way < e + 2; way++) {
    const known = cacheText[way];
    const k = way * 5;
    if (known !== null && words[k + 4] === w3 && words[k + 3] === w2 && words[k + 2] === w1 && words[k + 1] === w0 && words[k] === version) return known;
  }
  const text = spell(version, w0, w1, w2, w3);
  // The set's first entry moves to its second place (first in, first out).
  const k = e * 5;
  words.copyWithin(k + 5, k, k + 5);
  cacheText[e + 1] = cacheText[e];
  words[k] = version;
  words[k + 1] = w0;
  words[k + 2] = w1;
  words[k + 3] = w2;
  words[k + 4] = w3;
  cacheText[e] = text;
  return text;
}

// 32,768 entries in sets of two (~900 KB). The generated resolver mix has ~17 k distinct addresses
// per 200 MB: 4,096 entries direct-mapped thrashed; 16,384 still missed one lookup in six, since
// most addresses shared their entry with another. Measured on 1 GB, paired: DNS mix 0.977 of the
// time and -16 MiB peak RSS (fewer address strings made), web 1.003; 65,536 direct-mapped gave
// DNS 0.970 but web 1.032 and +11 MiB there.
const SET_BITS = 14;
const SET_SHIFT = 32 - SET_BITS;
/** Per entry: version and the four words (unsigned, as the flow table holds them). */
const cacheWords = new Uint32Array(5 << (SET_BITS + 1));
const cacheText = new Array<string | null>(1 << (SET_BITS + 1)).fill(null);

function spell(version: number, w0: number, w1: number, w2: number, w3: number): string {
  return scratch.toString('latin1', 0, writeAddress(scratch, 0, version, w0, w1, w2, w3));
}

/** The longest text writeAddress() writes (an IPv4-mapped address: `::ffff:255.255.255.255` is 22; full IPv6: 39). */
export const ADDRESS_TEXT_MAX = 39;

/**
 * Writes the address's text (formatAddress's) as ASCII at b[p..]; returns the position after it.
 * Callers that only copy the text into bytes (the ndjson writer) use this and skip the string.
 */
export function writeAddress(b: Uint8Array, p: number, version: number, w0: number, w1: number, w2: number, w3: number): number {
  if (version === 4) return dottedQuad(b, p, w3);
  const g = groups;
  g[0] = w0 >>> 16;
  g[1] = w0 & 0xffff;
  g[2] = w1 >>> 16;
  g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16;
  g[5] = w2 & 0xffff;
  g[6] = w3 >>> 16;
  g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-mapped addresses keep their dotted tail (::ffff:192.0.2.1).
  if (bestStart === 0 && bestLen === 5 && g[5] === 0xffff) {
    b.set(MAPPED_PREFIX, p);
    return dottedQuad(b, p + MAPPED_PREFIX.length, w3);
  }
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      if (i === 0) b[p++] = COLON;
      b[p++] = COLON; // the group before the run already wrote the first colon
      i += bestLen - 1;
      continue;
    }
    p = hexGroup(b, p, g[i]);
    if (i < 7) b[p++] = COLON;
  }
  return p;
}

const scratch = Buffer.alloc(64);
const groups = new Uint16Array(8);
const COLON = 0x3a;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const MAPPED_PREFIX = Buffer.from('::ffff:', 'latin1');

function dottedQuad(b: Uint8Array, p: number, w: number): number {
  for (let shift = 24; shift >= 0; shift -= 8) {
    let x = (w >>> shift) & 255;
    if (x >= 100) {
      const h = (x / 100) | 0;
      b[p++] = 48 + h;
      x -= h * 100;
      b[p++] = 48 + ((x / 10) | 0);
      b[p++] = 48 + (x % 10);
    } else if (x >= 10) {
      b[p++] = 48 + ((x / 10) | 0);
      b[p++] = 48 + (x % 10);
    } else b[p++] = 48 + x;
    if (shift > 0) b[p++] = 0x2e;
  }
  return p;
}

/** A 16-bit group in lower-case hex without leading zeros. */
function hexGroup(b: Uint8Array, p: number, x: number): number {
  if (x >= 0x1000) b[p++] = HEX[x >>> 12];
  if (x >= 0x100) b[p++] = HEX[(x >>> 8) & 15];
  if (x >= 0x10) b[p++] = HEX[(x >>> 4) & 15];
  b[p++] = HEX[x & 15];
  return p;
}
