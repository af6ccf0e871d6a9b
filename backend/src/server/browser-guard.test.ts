import * as http from 'node:http';
import { generated, startSidecar, type RunningSidecar } from '../testing/sidecar';

/** A raw request (fetch may not set Host), without the header the test helper adds. */
function raw(s: RunningSidecar, method: string, path: string, headers: http.OutgoingHttpHeaders, body?: Buffer | string): Promise<{ status: number; json: Record<string, unknown> }> {
  const url = new URL(path, s.url);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString() || '{}') as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A multipart body as a cross-site HTML form would post it. */
function formPost(file: Buffer): { body: Buffer; type: string } {
  const boundary = '----capsightformboundary';
  const body = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.pcap"\r\nContent-Type: application/octet-stream\r\n\r\n`), file, Buffer.from(`\r\n--${boundary}--\r\n`)]);
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

describe('a sidecar without a token, against web pages in the same machine\'s browser', () => {
  let s: RunningSidecar;
  beforeAll(async () => {
    s = await startSidecar({ 'host-names': 'capsight' });
  });
  afterAll(async () => s.close());

  it('answers only to its own names in the Host header (DNS rebinding gives a foreign one)', async () => {
    const port = new URL(s.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `capsight:${port}`, 'CAPSIGHT']) expect((await raw(s, 'GET', '/api/captures', { host })).status).toBe(200);
    const r = await raw(s, 'GET', '/api/captures', { host: `rebind.evil.example:${port}` });
    expect(r.status).toBe(403);
    expect(r.json.message).toBe(`Host "rebind.evil.example:${port}" is not a name this sidecar answers to without an API token (set CAPSIGHT_HOST_NAMES, or CAPSIGHT_API_TOKEN)`);
    expect((await raw(s, 'GET', '/health', { host: 'rebind.evil.example' })).status).toBe(200);
  });

  it('refuses requests from pages of other sites (Origin), and takes its own', async () => {
    const r = await raw(s, 'GET', '/api/captures', { origin: 'https://evil.example' });
    expect(r.status).toBe(403);
    expect(r.json.message).toBe('requests from web pages of other sites (Origin "https://evil.example") are refused');
    expect((await raw(s, 'GET', '/api/captures', { origin: 'null' })).status).toBe(403);
    expect((await raw(s, 'GET', '/api/captures', { origin: 'http://localhost:3000' })).status).toBe(200);
    // Behind a proxy that forwards the browser's Origin (with the header no page of another site can send).
    expect((await raw(s, 'GET', '/api/captures', { origin: 'https://grafana.example', 'x-capsight-request': 'grafana' })).status).toBe(200);
  });

  it('refuses a cross-site form upload and a text/plain import: nothing is stored', async () => {
    const form = formPost(generated({ bytes: 50_000, seed: 51 }));
    const up = await raw(s, 'POST', '/api/imports/upload', { 'content-type': form.type }, form.body);
    expect(up.status).toBe(403);
    expect(up.json.message).toBe('POST needs Content-Type: application/json or an X-Capsight-Request header (what a web page of another site cannot send)');
    const text = await raw(s, 'POST', '/api/imports', { 'content-type': 'text/plain' }, JSON.stringify({ url: 'https://a.blob.core.windows.net/c/x.pcap' }));
    expect(text.status).toBe(403);
    expect((await raw(s, 'DELETE', '/api/captures/abc', {})).status).toBe(403);
    expect(s.store.summary().captures).toBe(0);
    // What Grafana's proxy route sends: the header, then the same upload is taken.
    const ok = await raw(s, 'POST', '/api/imports/upload', { 'content-type': form.type, 'x-capsight-request': 'grafana' }, form.body);
    expect(ok.status).toBe(201);
    expect(s.store.summary().captures).toBe(1);
  });
});
