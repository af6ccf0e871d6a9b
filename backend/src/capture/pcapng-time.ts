/**
 * pcapng timestamps are 64-bit counts of interface-specific units (if_tsresol). Converting them
 * exactly needs more than a double's 53 bits, so the common resolutions use 16-bit limb division
 * (no allocation on the per-packet path) and exotic ones fall back to BigInt.
 */
export interface TsResolution {
  /** Units per second when it is 10^k (k <= 9) or 2^b (b <= 20); 0 for the BigInt path. */
  unitsPerSec: number;
  /** For decimal resolutions: nanoseconds per unit (10^(9-k)); 0 for binary ones. */
  nsPerUnit: number;
  /** Units per second as a bigint (always set). */
  unitsPerSecBig: bigint;
  /** Seconds added to every timestamp (if_tsoffset). */
  offsetSec: number;
}

export function resolutionFromOption(value: number): { units: bigint } | null {
  const exp = value & 0x7f;
  if (value & 0x80) {
    if (exp > 64) return null;
    return { units: 1n << BigInt(exp) };
  }
  if (exp > 30) return null;
  return { units: 10n ** BigInt(exp) };
}

export function makeResolution(units: bigint, offsetSec: number): TsResolution {
  let decimal = units > 0n && units <= 1_000_000_000n;
  for (let u = units; decimal && u > 1n; u /= 10n) if (u % 10n !== 0n) decimal = false;
  const binarySmall = units > 0n && units <= 1n << 20n && (units & (units - 1n)) === 0n;
  const fast = decimal || binarySmall ? Number(units) : 0;
  const nsPerUnit = decimal ? 1_000_000_000 / Number(units) : 0;
  return { unitsPerSec: fast, nsPerUnit, unitsPerSecBig: units, offsetSec };
}

/** Result slots, overwritten by every call. */
export const tsOut = { sec: 0, nsec: 0 };

export function convertTimestamp(hi: number, lo: number, res: TsResolution): void {
  const d = res.unitsPerSec;
  if (d !== 0) {
    // Long division of the 64-bit value (four 16-bit limbs) by d; every intermediate stays below 2^53.
    let r = 0;
    let q = 0;
    const limbs0 = hi >>> 16, limbs1 = hi & 0xffff, limbs2 = lo >>> 16, limbs3 = lo & 0xffff;
    let cur = r * 65536 + limbs0; q = Math.floor(cur / d); r = cur - q * d; let quotient = q;
    cur = r * 65536 + limbs1; q = Math.floor(cur / d); r = cur - q * d; quotient = quotient * 65536 + q;
    cur = r * 65536 + limbs2; q = Math.floor(cur / d); r = cur - q * d; quotient = quotient * 65536 + q;
    cur = r * 65536 + limbs3; q = Math.floor(cur / d); r = cur - q * d; quotient = quotient * 65536 + q;
    tsOut.sec = quotient + res.offsetSec;
    // Decimal: exact integer product. Binary (d <= 2^20): r * 1e9 < 2^53, so the division is exact enough to floor.
    tsOut.nsec = res.nsPerUnit !== 0 ? r * res.nsPerUnit : Math.floor((r * 1_000_000_000) / d);
    return;
  }
  const v = (BigInt(hi) << 32n) | BigInt(lo);
  const u = res.unitsPerSecBig;
  tsOut.sec = Number(v / u) + res.offsetSec;
  tsOut.nsec = Number(((v % u) * 1_000_000_000n) / u);
}
