/**
 * Secrets never leave the process: SAS signatures, account keys and tokens are cut from every URL
 * and message before it reaches a log line, a job record, an error or an API answer.
 */
const SECRET_PARAMS = /^(sig|signature|se?cret|token|access_token|code|key|password|pwd|x-amz-signature|x-goog-signature|skoid|sktid|skt|ske|sks|skv|skdutid|sduoid)$/i;

/** The URL with its secret query parameters replaced by "REDACTED" and no user:password part. */
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
  return u.toString();
}

/** The URL without any query string (used as a stable, secret-free source identity). */
export function urlWithoutQuery(url: string | URL): string {
  const u = new URL(String(url));
  u.search = '';
  u.username = '';
  u.password = '';
  return u.toString();
}

/** Replaces anything that looks like a secret inside free text (error messages from libraries). */
export function redactText(text: string): string {
  return text
    .replace(/https?:\/\/[^\s"'<>]+/g, (m) => redactUrl(m))
    .replace(/([?&](?:sig|signature|token|access_token|code|key)=)[^&\s"']+/gi, '$1REDACTED')
    .replace(/(AccountKey|SharedAccessSignature)=[^;\s"']+/gi, '$1=REDACTED')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/g, '$1REDACTED');
}
