import * as http from 'node:http';
import * as https from 'node:https';
import { redactText, redactUrl } from '../security/redact';
import { ImportRefused, type UrlPolicy } from '../security/url-policy';
import type { BufferPool } from './buffer-pool';
import { NotPlainRange, RangeConnection, RangeReadError } from './range-connection';

/**
 * Downloads a capture by URL as an in-order stream of byte chunks, through the import URL policy.
 * Servers that answer ranged requests (Azure Blob does) are read in segments: a dropped connection
 * resumes from the last byte received (If-Match on the ETag, so a changed blob is noticed), and
 * several segments can be in flight at once. Others are streamed in one response.
 */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface Download {
  size: number | null;
  etag: string | null;
  /** The URL after redirects, without secrets. */
  shownUrl: string;
  body: AsyncIterable<Uint8Array>;
  /** Drops the download without reading it (closes the open response). */
  cancel(): void;
}

export interface DownloadOptions {
  parallelism: number;
  /** Size of a ranged request (default 8 MiB); with a pool, its buffer size. */
  segmentBytes?: number;
  /**
   * Segments are read into this pool's buffers, for a consumer that hands them back (the ingest
   * pipeline's hash worker does): a gigabyte of fresh segment memory costs page faults and, on
   * Node 24, full GCs (1 GB URL import 2.5 -> 2.35 s, peak RSS -120 MB).
   */
  pool?: BufferPool;
  signal?: AbortSignal;
  /** Attempts per segment before giving up (each resumes where the last stopped). */
  attempts?: number;
  onRetry?: (info: { offset: number; attempt: number; error: string }) => void;
}

const MAX_REDIRECTS = 5;
export const DEFAULT_SEGMENT = 8 * 1024 * 1024;

function headerOf(res: http.IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : null;
}

async function readSmall(res: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res) {
      n += (c as Buffer).length;
      if (n <= limit) parts.push(c as Buffer);
    }
  } catch {
    // a broken error body still leaves the status to report
  }
  return Buffer.concat(parts).toString('utf8');
}

/** "AuthenticationFailed: Server failed to authenticate..." from an Azure Storage error body. */
function describeError(body: string): string {
  const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
  const msg = /<Message>([^<]*)<\/Message>/.exec(body)?.[1]?.split('\n')[0];
  if (code || msg) return [code, msg].filter(Boolean).join(': ');
  return body.trim().slice(0, 200);
}

/** One GET through the policy, following redirects (each hop checked again). */
async function get(url: URL, headers: Record<string, string>, policy: UrlPolicy, signal?: AbortSignal): Promise<{ res: http.IncomingMessage; url: URL }> {
  let current = url;
  for (let hop = 0; ; hop++) {
    policy.check(current); // (refused with the whole URL in the message; the agent checks each connection again)
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const mod = current.protocol === 'https:' ? https : http;
      const agent = current.protocol === 'https:' ? policy.agents().https : policy.agents().http;
      const req = mod.request(current, { method: 'GET', headers, agent, signal, timeout: 30_000 }, resolve);
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', reject);
      req.end();
    });
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`${redactUrl(url)}: more than ${MAX_REDIRECTS} redirects`, status);
      current = new URL(res.headers.location, current);
      continue;
    }
    if (status >= 400) {
      const body = await readSmall(res);
      const what = status === 403 ? 'access denied (is the SAS token valid, unexpired and allowed to read?)' : status === 404 ? 'not found' : `HTTP ${status}`;
      const detail = redactText(describeError(body));
      throw new DownloadError(`${redactUrl(current)}: ${what}${detail ? ` (${status} ${detail})` : ` (${status})`}`, status);
    }
    return { res, url: current };
  }
}

function networkMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return redactText(e.code ? `${e.code} ${e.message}` : String(e.message ?? err));
}

export async function openDownload(rawUrl: string, policy: UrlPolicy, opts: DownloadOptions): Promise<Download> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ImportRefused(`import URL is not a valid URL`);
  }
  const segment = opts.pool?.size ?? opts.segmentBytes ?? DEFAULT_SEGMENT;
  const attempts = opts.attempts ?? 6;
  let first: { res: http.IncomingMessage; url: URL };
  try {
    first = await get(url, { Range: `bytes=0-${segment - 1}` }, policy, opts.signal);
  } catch (err) {
    if (err instanceof DownloadError && err.status === 416) return { size: 0, etag: null, shownUrl: redactUrl(url), body: (async function* () {})(), cancel: () => undefined };
    if (err instanceof DownloadError || err instanceof ImportRefused) throw err;
    throw new DownloadError(`${redactUrl(url)}: ${networkMessage(err)}`, null);
  }
  const finalUrl = first.url;
  const shownUrl = redactUrl(finalUrl);
  const etag = headerOf(first.res, 'etag');
  if (first.res.statusCode === 200) {
    // No range support: one streamed response, no resume.
    const len = headerOf(first.res, 'content-length');
    return { size: len ? Number(len) : null, etag, shownUrl, body: first.res, cancel: () => first.res.destroy() };
  }
  const range = /bytes (\d+)-(\d+)\/(\d+)/.exec(headerOf(first.res, 'content-range') ?? '');
  if (!range) {
    first.res.resume();
    throw new DownloadError(`${shownUrl}: partial answer without a usable Content-Range`, 206);
  }
  const size = Number(range[3]);

  // The other segments are read through connections of our own while the server answers them
  // plainly (range-connection.ts); a segment they fail is read on through node:http.
  let direct = true;
  const idle: RangeConnection[] = [];
  const closeConnections = (): void => {
    direct = false;
    for (const c of idle.splice(0)) c.close();
  };
  opts.signal?.addEventListener('abort', closeConnections, { once: true });
  /** Reads the range into buf directly; how many bytes of it arrived when that failed. */
  const readDirect = async (start: number, end: number, buf: Buffer): Promise<number> => {
    let c = idle.pop();
    while (c && !c.usable) c = idle.pop();
    try {
      c ??= new RangeConnection(finalUrl, policy);
      await c.read(finalUrl.pathname + finalUrl.search, finalUrl.host, etag ? { 'If-Match': etag } : {}, start, end, buf);
      if (direct && c.usable) idle.push(c);
      else c.close();
      return end - start + 1;
    } catch (err) {
      c?.close();
      if (err instanceof NotPlainRange) direct = false;
      return err instanceof RangeReadError ? err.received : 0;
    }
  };

  /** Reads bytes [start, end] into one buffer, resuming after dropped connections. */
  const fetchRange = async (start: number, end: number, opened: http.IncomingMessage | null): Promise<Buffer> => {
    const length = end - start + 1;
    const buf = opts.pool && length === opts.pool.size ? opts.pool.take() : Buffer.allocUnsafe(length);
    let got = opened || !direct ? 0 : await readDirect(start, end, buf);
    if (got === length) return buf;
    let res = opened;
    for (let attempt = 1; ; attempt++) {
      try {
        if (!res) {
          const headers: Record<string, string> = { Range: `bytes=${start + got}-${end}` };
          if (etag) headers['If-Match'] = etag;
          res = (await get(finalUrl, headers, policy, opts.signal)).res;
          if (res.statusCode !== 206) {
            res.resume();
            throw new DownloadError(`${shownUrl}: server ignored a range request (HTTP ${res.statusCode})`, res.statusCode ?? null);
          }
        }
        for await (const c of res) {
          const chunk = c as Buffer;
          const take = Math.min(chunk.length, buf.length - got);
          chunk.copy(buf, got, 0, take);
          got += take;
        }
        if (got === buf.length) return buf;
        throw new Error(`connection closed after ${got} of ${buf.length} bytes`);
      } catch (err) {
        res = null;
        if (opts.signal?.aborted) throw err;
        if (err instanceof DownloadError && err.status === 412) throw new DownloadError(`${shownUrl}: the blob changed during the download (ETag no longer matches)`, 412);
        if (err instanceof DownloadError && err.status !== null && err.status < 500) throw err;
        if (err instanceof ImportRefused) throw err;
        if (attempt >= attempts) throw new DownloadError(`${shownUrl}: download failed at byte ${start + got} after ${attempt} attempts: ${networkMessage(err)}`, null);
        opts.onRetry?.({ offset: start + got, attempt, error: networkMessage(err) });
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  };

  async function* body(): AsyncGenerator<Uint8Array> {
    const count = Math.ceil(size / segment);
    const inFlight: Promise<Buffer>[] = [];
    let next = 0;
    const schedule = (): void => {
      while (next < count && inFlight.length < opts.parallelism) {
        const i = next++;
        const start = i * segment;
        const end = Math.min(size, start + segment) - 1;
        const p = fetchRange(start, end, i === 0 ? first.res : null);
        p.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
        inFlight.push(p);
      }
    };
    try {
      schedule();
      while (inFlight.length > 0) {
        const buf = await (inFlight.shift() as Promise<Buffer>);
        schedule();
        yield buf;
      }
    } finally {
      closeConnections();
    }
  }
  return {
    size,
    etag,
    shownUrl,
    body: body(),
    cancel: () => {
      closeConnections();
      first.res.destroy();
    },
  };
}
