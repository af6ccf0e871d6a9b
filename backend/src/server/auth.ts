import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A key of this process: both sides are compared as HMACs, equal in length whatever was sent. */
const KEY = randomBytes(32);
const mac = (text: string): Buffer => createHmac('sha256', KEY).update(text).digest();

/**
 * Constant-time check of an "Authorization: Bearer <token>" header. Comparing HMACs of both
 * (rather than the texts after a length check) leaks neither the token's content nor its length.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  return timingSafeEqual(mac(m[1].trim()), mac(token));
}
