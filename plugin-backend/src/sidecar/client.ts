import * as http from 'node:http';
import * as https from 'node:https';

/**
 * HTTP to one Capsight sidecar, as one data source instance configures it: keep-alive connections
 * (a dashboard's queries reuse them), the API token as a bearer header, a time limit per request
 * and cancellation (an AbortSignal: Grafana cancelled the call, or its deadline passed). Redirects
 * are not followed: the token goes to the configured sidecar and nowhere else.
 */
export interface SidecarResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

export type SidecarFailure = 'unreachable' | 'timeout' | 'cancelled' | 'too-large' | 'bad-config';

export class SidecarError extends Error {
  constructor(
    readonly failure: SidecarFailure,
    message: string,
  ) {
    super(message);
  }

  /** HTTP-like status for a data response: what went wrong between Grafana and the sidecar. */
  get status(): number {
    return { unreachable: 502, timeout: 504, cancelled: 499, 'too-large': 502, 'bad-config': 400 }[this.failure];
  }
}

export interface SidecarSettings {
  url: string;
  token: string | undefined;
  timeoutMs: number;
}

/** Answers above this are refused (a sidecar answer is JSON frames; a flow page of 10,000 rows is ~10 MB). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class SidecarClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(readonly settings: SidecarSettings) {
    let base: URL;
    try {
      base = new URL(settings.url);
    } catch {
      throw new SidecarError('bad-config', `the data source's sidecar URL "${settings.url}" is not a URL (set it in the data source settings, e.g. http://127.0.0.1:9877)`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new SidecarError('bad-config', `the data source's sidecar URL must be http:// or https://, not ${base.protocol}`);
    }
    this.base = base;
    this.transport = base.protocol === 'https:' ? https : http;
    // noDelay: a request's headers and body leave at once instead of waiting on Nagle's algorithm.
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8, noDelay: true } as http.AgentOptions);
  }

  /** The sidecar's address for messages (never carries the token, which is a header). */
  get address(): string {
    return this.base.origin;
  }

  request(method: string, pathAndQuery: string, body?: Buffer | string, signal?: AbortSignal, contentType = 'application/json', requester?: string): Promise<SidecarResponse> {
    const url = new URL(pathAndQuery.replace(/^\/*/, '/'), this.base);
    // X-Capsight-Request: what the sidecar asks of requests that change something (a web page of another site cannot send it).
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json', 'x-capsight-request': 'grafana' };
    if (requester) headers['x-capsight-client'] = requester;
    if (this.settings.token) headers.authorization = `Bearer ${this.settings.token}`;
    if (body !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(new SidecarError('cancelled', 'the query was cancelled'));
        return;
      }
      let settled = false;
      const fail = (e: SidecarError): void => {
        if (settled) return;
        settled = true;
        req.destroy();
        reject(e);
      };
      const req = this.transport.request(url, { method, headers, agent: this.agent, timeout: this.settings.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_RESPONSE_BYTES) fail(new SidecarError('too-large', `the sidecar's answer is larger than ${MAX_RESPONSE_BYTES / 1048576} MiB: narrow the query (filters, limit)`));
          else chunks.push(c);
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) });
        });
        res.on('error', () => fail(new SidecarError('unreachable', `the connection to the sidecar at ${this.address} broke while reading its answer`)));
      });
      const onAbort = (): void => fail(new SidecarError('cancelled', 'the query was cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('timeout', () => fail(new SidecarError('timeout', `the sidecar at ${this.address} did not answer within ${this.settings.timeoutMs / 1000} s`)));
      req.on('error', (e: NodeJS.ErrnoException) => fail(new SidecarError('unreachable', `cannot reach the Capsight sidecar at ${this.address}: ${describe(e)}`)));
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function describe(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused (is it running on that address?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host name';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    default:
      return e.code ?? e.message;
  }
}
