import { CapsightError } from '../errors';

const DURATION_UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9, m: 60e9, min: 60e9, h: 3600e9, d: 86_400e9 };

/** "1s", "100ms", "2m", "1h", "30d", or a bare number of seconds -> nanoseconds. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ns|us|ms|s|min|m|h|d)?$/.exec(text.trim());
  if (!m) throw new CapsightError('BAD_ARGUMENT', `${option}: "${text}" is not a duration (examples: 1s, 100ms, 5m)`);
  const ns = Math.round(Number(m[1]) * DURATION_UNITS[m[2] ?? 's']);
  if (ns <= 0) throw new CapsightError('BAD_ARGUMENT', `${option}: duration must be positive, got "${text}"`);
  return ns;
}

const SIZE_UNITS: Record<string, number> = { b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** "100MB", "1GiB", "500k", or bytes -> bytes. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = m ? SIZE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new CapsightError('BAD_ARGUMENT', `${option}: "${text}" is not a size (examples: 100MB, 1GiB)`);
  return Math.round(Number(m[1]) * unit);
}
