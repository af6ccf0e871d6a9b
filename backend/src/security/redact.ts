/**
 * Secrets never leave the process: SAS signatures, account keys and tokens are cut from every URL
 * and message before it reaches a log line, a job record, a capture's name, an error or an API
 * answer: in a query string or a fragment, after any separator in free text, and URL-encoded
 * once or twice (%26sig%3D..., %2526sig%253D...).
 */
const SECRET_NAMES = [
  'sig', 'signature', 'secret', 'token', 'access_token', 'refresh_token', 'id_token', 'code', 'key', 'password', 'pwd', 'passwd',
  'accountkey', 'sharedaccesssignature', 'client_secret', 'x-amz-signature', 'x-amz-security-token', 'x-goog-signature', 'x-goog-credential',
  'skoid', 'sktid', 'skt', 'ske', 'sks', 'skv', 'skdutid', 'sduoid',
];
const SECRET_PARAMS = new RegExp(`^(${SECRET_NAMES.join('|')})$`, 'i');

/** A separator before a name: start, a non-word character, or one URL-encoded (once or twice). */
const BEFORE = String.raw`(^|[^A-Za-z0-9_%-]|%(?:25)?(?:3F|26|23|20|2F|3B|2C|22|27|0A))`;
const EQUALS = String.raw`(=|%(?:25)?3D)`;
/** The value runs to the next separator (raw or URL-encoded). */
const VALUE = String.raw`(?:(?!%(?:25)?(?:26|23|20|22|27|3B|2C|0A))[^\s&#"'<>;,)\]])+`;
const IN_TEXT = new RegExp(`${BEFORE}(${SECRET_NAMES.map((n) => n.replace(/[-_]/g, (c) => `\\${c}`)).join('|')})${EQUALS}${VALUE}`, 'gi');

/** The URL with its secret query and fragment parameters replaced by "REDACTED" and no user:password part. */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    return '[unparseable URL]';
  }
  u.username = '';
  u.password = '';
  for (const k of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(k)) u.searchParams.set(k, 'REDACTED');
  return redactSecrets(u.toString());
}

/** The URL without any query string or fragment (used as a stable source identity), secrets in its path cut as well. */
export function urlWithoutQuery(url: string | URL): string {
  const u = new URL(String(url));
  u.search = '';
  u.hash = '';
  u.username = '';
  u.password = '';
  return redactSecrets(u.toString());
}

/** name=value secrets anywhere in text, plain or URL-encoded. */
function redactSecrets(text: string): string {
  return text.replace(IN_TEXT, (_m, before: string, name: string, eq: string) => `${before}${name}${eq}REDACTED`);
}

/** Replaces anything that looks like a secret inside free text (error messages from libraries, names). */
export function redactText(text: string): string {
  return redactSecrets(text.replace(/https?:\/\/[^\s"'<>]+/g, (m) => redactUrl(m))).replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1REDACTED');
}
