import * as net from 'node:net';
import * as tls from 'node:tls';
import type { UrlPolicy } from '../security/url-policy';

/**
 * One keep-alive HTTP/1.1 connection that reads the bodies of ranged GETs straight into the
 * caller's buffer: the socket's reads land in that buffer (net's `onread` with a buffer per read),
 * so no chunk is allocated, copied or passed through a stream. Hand-written because it is the hot
 * path of a URL import: node:http cost ~2.5-4.5 s of CPU per GB received on loopback (a chunk
 * object, a copy and stream events per 64 KiB read), this ~0.3 s, on two cores that also parse,
 * hash and store.
 * It takes only the plain answer to a range request: 206 with the exact Content-Range and
 * Content-Length asked for, no transfer coding. Anything else is a NotPlainRange (the connection
 * is dropped) and the caller asks again through node:http, which reports errors, follows
 * redirects and reads other framings.
 */
export class NotPlainRange extends Error {}

/** A broken connection or an incomplete body; `received` bytes of it are in the buffer. */
export class RangeReadError extends Error {
  constructor(
    message: string,
    readonly received: number,
  ) {
    super(message);
  }
}

/** Longest response head taken (status line and headers); longer goes through node:http. */
const HEAD_LIMIT = 16 * 1024;
const IDLE_TIMEOUT_MS = 30_000;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

interface Pending {
  target: Buffer;
  /** Bytes of the body asked for, and the range's first and last byte. */
  want: number;
  start: number;
  end: number;
  got: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export class RangeConnection {
  private readonly socket: net.Socket;
  /** Response heads are read here; bodies straight into the request's buffer. */
  private readonly head = Buffer.allocUnsafe(HEAD_LIMIT);
  private headLen = 0;
  private inHead = true;
  private pending: Pending | null = null;
  private broken: Error | null = null;
  /** Whether the server keeps the connection open after this answer. */
  private keepAlive = true;

  /**
   * Connects to the URL's host through the import policy: the host is checked against the
   * allow-list, an address literal at once, each DNS answer before connecting (as the guarded
   * agents do for node:http).
   */
  constructor(url: URL, policy: UrlPolicy) {
    const { exception } = policy.check(url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const onread = { buffer: () => this.nextBuffer(), callback: (n: number) => this.onRead(n) };
    const lookup = policy.lookupFor(url, exception);
    if (url.protocol === 'https:') {
      // tls.connect takes onread as net.connect does (Node's documentation); its typings lack it.
      const options: tls.ConnectionOptions & { onread: net.OnReadOpts } = { host, port, lookup, onread, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] };
      this.socket = tls.connect(options);
    } else this.socket = net.connect({ host, port, lookup, onread });
    this.socket.setNoDelay(true);
    this.socket.setTimeout(IDLE_TIMEOUT_MS, () => this.fail(new Error(`no data within ${IDLE_TIMEOUT_MS / 1000} s`)));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('end', () => this.fail(new Error('the server closed the connection')));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Whether another request may be sent on this connection. */
  get usable(): boolean {
    return this.broken === null && this.keepAlive && this.pending === null;
  }

  /**
   * GETs bytes [start, end] of `path` (path and query of the URL) into target[0 .. end-start].
   * Rejects with NotPlainRange (nothing useful read) or RangeReadError (how much arrived).
   */
  read(path: string, hostHeader: string, headers: Record<string, string>, start: number, end: number, target: Buffer): Promise<void> {
    if (!this.usable) return Promise.reject(new RangeReadError(this.broken?.message ?? 'connection not reusable', 0));
    const want = end - start + 1;
    if (target.length < want) return Promise.reject(new RangeReadError(`buffer of ${target.length} bytes for ${want}`, 0));
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${hostHeader}`, `Range: bytes=${start}-${end}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    if (lines.some((l) => /[\r\n]/.test(l))) return Promise.reject(new NotPlainRange('a request line holds a line break'));
    return new Promise<void>((resolve, reject) => {
      this.pending = { target, want, start, end, got: 0, resolve, reject };
      this.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    });
  }

  close(): void {
    this.fail(new Error('connection closed'));
  }

  /** Where the socket's next read goes: the head buffer until the head is read, then the body's place. */
  private nextBuffer(): Uint8Array {
    const p = this.pending;
    if (p && !this.inHead) return p.target.subarray(p.got, p.want);
    return this.head.subarray(this.headLen);
  }

  private onRead(n: number): boolean {
    const p = this.pending;
    if (!p) {
      this.fail(new Error('the server sent bytes nobody asked for'));
      return false;
    }
    if (!this.inHead) {
      p.got += n;
      if (p.got === p.want) this.complete();
      return true;
    }
    const from = Math.max(0, this.headLen - 3);
    this.headLen += n;
    const at = this.head.subarray(0, this.headLen).indexOf(HEAD_END, from);
    if (at < 0) {
      if (this.headLen === HEAD_LIMIT) this.fail(new NotPlainRange(`response head over ${HEAD_LIMIT} bytes`));
      return true;
    }
    const why = this.checkHead(this.head.toString('latin1', 0, at), p);
    if (why) {
      this.fail(new NotPlainRange(why));
      return false;
    }
    const early = this.headLen - (at + 4);
    if (early > p.want) {
      this.fail(new NotPlainRange('more bytes than the range asked for'));
      return false;
    }
    this.head.copy(p.target, 0, at + 4, this.headLen);
    p.got = early;
    this.inHead = false;
    this.headLen = 0;
    if (p.got === p.want) this.complete();
    return true;
  }

  /** Why a response head is not the plain answer to the pending range request, or null. */
  private checkHead(text: string, p: Pending): string | null {
    const [status, ...lines] = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(status);
    if (!m) return 'not an HTTP/1.1 answer';
    if (m[1] !== '206') return `HTTP ${m[1]}`;
    let range: string | null = null;
    let length: string | null = null;
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) return 'malformed header line';
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-range') range = value;
      else if (name === 'content-length') length = value;
      else if (name === 'transfer-encoding') return 'transfer-encoded body';
      else if (name === 'connection' && /(^|,)\s*close\s*(,|$)/i.test(value)) this.keepAlive = false;
    }
    if (length !== String(p.want)) return length === null ? 'no Content-Length' : `Content-Length ${length}, ${p.want} asked for`;
    const r = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(range ?? '');
    if (!r || Number(r[1]) !== p.start || Number(r[2]) !== p.end) return `Content-Range ${String(range)}, bytes ${p.start}-${p.end} asked for`;
    return null;
  }

  private complete(): void {
    const p = this.pending as Pending;
    this.pending = null;
    this.inHead = true;
    if (!this.keepAlive) this.socket.destroy();
    p.resolve();
  }

  private fail(e: Error): void {
    if (!this.broken) this.broken = e;
    const p = this.pending;
    this.pending = null;
    this.socket.destroy();
    if (!p) return;
    if (e instanceof NotPlainRange) p.reject(e);
    else p.reject(new RangeReadError(e.message, this.inHead ? 0 : p.got));
  }
}
