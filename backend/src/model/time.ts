/** Timestamps as text, for the CLI, the API and the stored records (no Date: this runs per flow). */

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Year, month (1-12) and day of a count of days since 1970-01-01, into out[0..2], by the
 * well-known era arithmetic (no Date object, no allocation: this runs twice per flow).
 */
export function civilDate(days: number, out: Float64Array): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (month <= 2 ? 1 : 0);
  out[1] = month;
  out[2] = doy - Math.floor((153 * mp + 2) / 5) + 1;
}

const ymd = new Float64Array(3);

/** ISO-8601 UTC with nanoseconds: 2024-05-01T12:00:00.123456789Z. */
export function isoNs(sec: number, nsec: number): string {
  const days = Math.floor(sec / 86400);
  const rem = sec - days * 86400;
  civilDate(days, ymd);
  const [year, month, day] = ymd;
  const hh = Math.floor(rem / 3600);
  const mm = Math.floor((rem % 3600) / 60);
  const ss = rem % 60;
  const frac = String(nsec);
  return `${year}-${two(month)}-${two(day)}T${two(hh)}:${two(mm)}:${two(ss)}.${'000000000'.slice(frac.length)}${frac}Z`;
}

/** Nanoseconds since the epoch of a (seconds, nanoseconds) timestamp, exact past 2^53. */
export function nsOf(sec: number, nsec: number): bigint {
  return BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}

/** The same for a bigint of nanoseconds since the epoch. */
export function isoFromNs(ns: bigint): string {
  return isoNs(Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n));
}
