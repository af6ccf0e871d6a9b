import * as os from 'node:os';

/**
 * Without an API token (the default on 127.0.0.1) the sidecar trusts whoever can reach it, and a
 * web page in the user's browser can reach 127.0.0.1 too. So without a token:
 * - the Host header must be a name the sidecar answers to (DNS rebinding gives a foreign name);
 * - an Origin header, when present, must be one of those names too (a foreign page's fetch),
 *   unless the request carries X-Capsight-Request (see below);
 * - requests that change something must be JSON or carry an X-Capsight-Request header: a page
 *   can send neither cross-site without a CORS preflight, which the sidecar never grants (a
 *   plain cross-site form post, multipart upload included, is refused).
 * With a token, the token decides (a browser never has it).
 */
export interface GuardRefusal {
  status: number;
  message: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/** Names a tokenless sidecar answers to: loopback names, the listen address, configured names and, when listening on every interface, the machine's addresses and name. */
export function answeredNames(listenHost: string, hostNames: readonly string[]): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '::1', ...hostNames.map((n) => hostnameOf(n))]);
  if (listenHost === '0.0.0.0' || listenHost === '::') {
    names.add(os.hostname().toLowerCase());
    for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase());
  } else names.add(hostnameOf(listenHost));
  return names;
}

export function browserRefusal(req: { method: string; headers: Record<string, string | string[] | undefined> }, names: ReadonlySet<string>): GuardRefusal | null {
  const host = String(req.headers.host ?? '');
  if (!names.has(hostnameOf(host))) {
    return { status: 403, message: `Host "${host.slice(0, 100)}" is not a name this sidecar answers to without an API token (set CAPSIGHT_HOST_NAMES, or CAPSIGHT_API_TOKEN)` };
  }
  // A request with X-Capsight-Request did not come from a page of another site (it would have
  // needed a CORS preflight, never granted): a proxy in front (Grafana's route) may forward an Origin.
  const origin = req.headers['x-capsight-request'] === undefined ? req.headers.origin : undefined;
  if (origin !== undefined) {
    let originHost = '';
    try {
      originHost = new URL(String(origin)).hostname.replace(/^\[|\]$/g, '');
    } catch {
      // "null" (sandboxed pages, file://) or garbage: foreign
    }
    if (!names.has(originHost.toLowerCase())) return { status: 403, message: `requests from web pages of other sites (Origin "${String(origin).slice(0, 100)}") are refused` };
  }
  if (!SAFE_METHODS.has(req.method)) {
    const type = String(req.headers['content-type'] ?? '').toLowerCase();
    if (!type.startsWith('application/json') && req.headers['x-capsight-request'] === undefined) {
      return { status: 403, message: `${req.method} needs Content-Type: application/json or an X-Capsight-Request header (what a web page of another site cannot send)` };
    }
  }
  return null;
}
