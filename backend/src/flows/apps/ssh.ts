import { ascii } from './text';

/** The SSH identification string ("SSH-2.0-software comments"), RFC 4253 section 4.2. */
export function parseSshBanner(b: Uint8Array, p: number, end: number): string | null {
  if (end - p < 8 || b[p] !== 0x53 || b[p + 1] !== 0x53 || b[p + 2] !== 0x48 || b[p + 3] !== 0x2d) return null;
  let e = p;
  const stop = Math.min(end, p + 255);
  while (e < stop && b[e] !== 0x0d && b[e] !== 0x0a) e++;
  return ascii(b, p, e);
}
