/**
 * Strict DNS message check (RFC 1035 header + first question/answer name). Strict so that it can
 * run on any UDP port without calling random payloads DNS.
 */
export interface DnsInfo {
  name: string;
  response: boolean;
  rcode: number;
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'DSOTYPENI'];

export function rcodeName(rcode: number): string {
  return RCODES[rcode] ?? `RCODE${rcode}`;
}

/** A name's text, label by label with the dots, before it becomes one string (names are at most 255 bytes). */
const nameBytes = Buffer.alloc(256);

/** Bytes of the name readName() last read into nameBytes, and their hash (FNV-1a). */
let nameLength = 0;
let nameHash = 0;

/**
 * Reads a (possibly compressed) name at p into nameBytes (nameLength bytes); returns the end of
 * the name in place, or -1. (No string and no tuple per call: a resolver's capture parses millions.)
 */
function readName(b: Uint8Array, msg: number, p: number, end: number): number {
  const out = nameBytes;
  let n = 0;
  let h = FNV_OFFSET;
  let after = -1;
  let jumps = 0;
  let total = 0;
  for (;;) {
    if (p >= end) return -1;
    const len = b[p];
    if (len === 0) {
      if (after < 0) after = p + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (p + 1 >= end || ++jumps > 16) return -1;
      const target = msg + (((len & 0x3f) << 8) | b[p + 1]);
      if (after < 0) after = p + 2;
      if (target >= p) return -1; // pointers go backwards only
      p = target;
      continue;
    }
    if (len & 0xc0 || p + 1 + len > end) return -1;
    total += len + 1;
    if (total > 255) return -1;
    if (n > 0) {
      out[n++] = 0x2e;
      h = Math.imul(h ^ 0x2e, FNV_PRIME);
    }
    for (let i = p + 1; i <= p + len; i++) {
      const c = b[i];
      if (c <= 0x20 || c >= 0x7f) return -1;
      out[n++] = c;
      h = Math.imul(h ^ c, FNV_PRIME);
    }
    p += 1 + len;
  }
  nameLength = n;
  nameHash = h;
  return after;
}

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const CACHE_BITS = 10;
/** Recent names by hash, direct-mapped: a resolver's capture asks for the same names again and again. */
const cachedNames = new Array<string | null>(1 << CACHE_BITS).fill(null);

/**
 * The text of the name in nameBytes. A cache hit is a compare of the characters: making the
 * string (Buffer#toString) cost ~200 ns per query, the largest part of a DNS packet's inspection.
 */
function nameText(): string {
  const n = nameLength;
  if (n === 0) return '.';
  const slot = (nameHash ^ (nameHash >>> 16)) & ((1 << CACHE_BITS) - 1);
  const known = cachedNames[slot];
  if (known !== null && known.length === n) {
    let i = 0;
    while (i < n && known.charCodeAt(i) === nameBytes[i]) i++;
    if (i === n) return known;
  }
  const text = nameBytes.toString('latin1', 0, n);
  cachedNames[slot] = text;
  return text;
}

/** `wantName` false: the name is checked but not made into a string ("" in the answer). */
export function parseDns(b: Uint8Array, off: number, len: number, wantName = true): DnsInfo | null {
  if (len < 17) return null;
  const end = off + len;
  const flags = (b[off + 2] << 8) | b[off + 3];
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== 0 && opcode !== 2 && opcode !== 4 && opcode !== 5) return null;
  if (flags & 0x0040) return null; // Z bit must be zero
  const qd = (b[off + 4] << 8) | b[off + 5];
  const an = (b[off + 6] << 8) | b[off + 7];
  const response = (flags & 0x8000) !== 0;
  if (qd > 1 || (qd === 0 && !(response && an > 0))) return null;
  const after = readName(b, off, off + 12, end);
  if (after < 0 || after + 4 > end) return null;
  const cls = ((b[after + 2] << 8) | b[after + 3]) & 0x7fff;
  if (cls !== 1 && cls !== 3 && cls !== 4 && cls !== 254 && cls !== 255) return null;
  const name = wantName ? nameText() : '';
  return { name, response, rcode: flags & 0xf };
}
