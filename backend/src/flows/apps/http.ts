import { ascii } from './text';

/** HTTP/1.x request line and Host header, read from the first bytes of a request. */
export interface HttpInfo {
  method: string | null;
  host: string | null;
  response: boolean;
}

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'PATCH', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT'];
const MAX_SCAN = 4096;

function startsWith(b: Uint8Array, p: number, end: number, s: string): boolean {
  if (end - p < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[p + i] !== s.charCodeAt(i)) return false;
  return true;
}

export function parseHttp(b: Uint8Array, p: number, end: number): HttpInfo | null {
  if (end - p < 8) return null;
  if (startsWith(b, p, end, 'HTTP/1.')) return { method: null, host: null, response: true };
  if (b[p] < 0x41 || b[p] > 0x5a) return null; // every method starts with an upper-case letter
  let method: string | null = null;
  for (let i = 0; i < METHODS.length; i++) {
    const m = METHODS[i]; // (an index loop: for-of allocated an iterator result per method tried)
    if (b[p + m.length] === 0x20 && startsWith(b, p, end, m)) {
      method = m;
      break;
    }
  }
  if (!method) return null;
  const stop = Math.min(end, p + MAX_SCAN);
  let lineEnd = p;
  while (lineEnd < stop && b[lineEnd] !== 0x0a) lineEnd++;
  const textEnd = lineEnd > p && b[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd; // drop the CR of CRLF
  if (lineEnd < stop && !endsWithVersion(b, p, textEnd)) return null;
  // Host header: case-insensitive name at the start of a line.
  let host: string | null = null;
  let q = lineEnd + 1;
  while (q < stop) {
    let e = q;
    while (e < stop && b[e] !== 0x0a) e++;
    if (e - q <= 1) break; // blank line: end of headers
    if (e - q > 5 && (b[q] | 0x20) === 0x68 && (b[q + 1] | 0x20) === 0x6f && (b[q + 2] | 0x20) === 0x73 && (b[q + 3] | 0x20) === 0x74 && b[q + 4] === 0x3a) {
      host = ascii(b, q + 5, b[e - 1] === 0x0d ? e - 1 : e).trim();
      break;
    }
    q = e + 1;
  }
  return { method, host, response: false };
}

/** Whether the request line [p, end) ends in " HTTP/<digits and dots>". */
function endsWithVersion(b: Uint8Array, p: number, end: number): boolean {
  let i = end;
  while (i > p && ((b[i - 1] >= 0x30 && b[i - 1] <= 0x39) || b[i - 1] === 0x2e)) i--;
  return i < end && i - p >= 6 && startsWith(b, i - 6, end, ' HTTP/');
}
