import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeArrowFrame, toFrameJSON } from './arrow-to-json';
import { pluginContext, startPlugin, type PluginHost } from './plugin-host';
import pluginJson from '../../../src/datasource/plugin.json';

/** The data source's "upload" route, as Grafana reads it from plugin.json. */
const UPLOAD_ROUTE = (pluginJson as { routes: { path: string; headers: { name: string; content: string }[] }[] }).routes.find((r) => r.path === 'upload') as { headers: { name: string; content: string }[] };

/**
 * A stand-in for the parts of Grafana's HTTP API the plugin's front end uses, with the real plugin
 * executable behind it (started by the plugin host harness), for tests of the front end:
 * - POST /api/ds/query: each query's JSON to Data/QueryData, the Arrow frames read back and
 *   answered as frame JSON, HTTP 207 when a query failed (Grafana's /api/ds/query);
 * - GET /api/datasources/uid/<uid>/health: Diagnostics/CheckHealth, 400 on ERROR;
 * - /api/datasources/uid/<uid>/resources/<path>: Resource/CallResource;
 * - POST /api/datasources/proxy/uid/<uid>/upload: the data source proxy route of plugin.json
 *   (the request body streamed to <url>/api/imports/upload with the token added; Editors only).
 * The data source is uid "capsight" with the given sidecar URL and token; the user has `role`.
 */
export interface GrafanaStandIn {
  url: string;
  plugin: PluginHost;
  /** Bytes streamed through the upload proxy route so far. */
  uploadedBytes(): number;
  close(): Promise<void>;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export async function startGrafanaStandIn(o: { sidecarUrl: string; token?: string; role?: string }): Promise<GrafanaStandIn> {
  const plugin = await startPlugin();
  const ctx = () => pluginContext({ url: o.sidecarUrl, token: o.token, role: o.role ?? 'Admin' });
  let uploaded = 0;

  const dsQuery = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const body = JSON.parse((await readBody(req)).toString('utf8')) as { queries: Record<string, unknown>[]; from?: string; to?: string };
    const from = Number(body.from ?? Date.now() - 3600_000);
    const to = Number(body.to ?? Date.now());
    const queries = body.queries.map((q) => ({
      refId: String(q.refId ?? 'A'),
      maxDataPoints: Number(q.maxDataPoints ?? 100),
      intervalMS: Number(q.intervalMs ?? 1000),
      timeRange: { fromEpochMS: from, toEpochMS: to },
      json: Buffer.from(JSON.stringify(q)),
    }));
    const r = await plugin.unary<{ responses: Record<string, { frames: Buffer[]; error: string; status: number; errorSource: string }> }>('data', 'QueryData', { pluginContext: ctx(), headers: {}, queries, format: 'ARROW' });
    let failed = false;
    const results: Record<string, unknown> = {};
    for (const [refId, d] of Object.entries(r.responses)) {
      if (d.error) failed = true;
      results[refId] = { status: d.status || (d.error ? 500 : 200), frames: d.frames.map((f) => toFrameJSON(decodeArrowFrame(f))), ...(d.error ? { error: d.error, errorSource: d.errorSource } : {}) };
    }
    sendJson(res, failed ? 207 : 200, { results });
  };

  const health = async (res: http.ServerResponse): Promise<void> => {
    const r = await plugin.unary<{ status: string; message: string }>('diagnostics', 'CheckHealth', { pluginContext: ctx(), headers: {} });
    sendJson(res, r.status === 'OK' ? 200 : 400, { status: r.status, message: r.message });
  };

  const resource = async (req: http.IncomingMessage, res: http.ServerResponse, rest: string): Promise<void> => {
    const body = await readBody(req);
    const headers: Record<string, { values: string[] }> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = { values: [v] };
    const messages = await plugin.resource({ pluginContext: ctx(), path: rest.split('?')[0], method: req.method, url: rest, headers, body });
    const first = messages[0];
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(first?.headers ?? {})) out[k] = v.values[0];
    res.writeHead(first?.code || 500, out);
    for (const m of messages) res.write(m.body);
    res.end();
  };

  const upload = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (req.method !== 'POST') return sendJson(res, 405, { message: 'the upload route takes POST' });
    if (o.role === 'Viewer') return sendJson(res, 403, { message: 'Permission denied' });
    const target = new URL('/api/imports/upload', o.sidecarUrl);
    const headers: http.OutgoingHttpHeaders = { 'content-type': req.headers['content-type'], ...(req.headers['content-length'] ? { 'content-length': req.headers['content-length'] } : {}) };
    // The route's headers from plugin.json, as Grafana's proxy renders them (an empty token leaves "Bearer ").
    for (const h of UPLOAD_ROUTE.headers) headers[h.name.toLowerCase()] = h.content.replace('{{ .SecureJsonData.apiToken }}', o.token ?? '');
    const up = http.request(target, { method: 'POST', headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, { 'content-type': String(r.headers['content-type'] ?? 'application/json') });
      r.pipe(res);
    });
    up.on('error', (e) => sendJson(res, 502, { message: `proxy: ${e.message}` }));
    req.on('data', (c: Buffer) => (uploaded += c.length));
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://grafana');
    const handle = async (): Promise<void> => {
      if (url.pathname === '/api/ds/query' && req.method === 'POST') return dsQuery(req, res);
      if (url.pathname === '/api/datasources/uid/capsight/health') return health(res);
      const resourcePrefix = '/api/datasources/uid/capsight/resources/';
      if (url.pathname.startsWith(resourcePrefix)) return resource(req, res, url.pathname.slice(resourcePrefix.length) + url.search);
      if (url.pathname === '/api/datasources/proxy/uid/capsight/upload') return upload(req, res);
      sendJson(res, 404, { message: `not found: ${req.method} ${url.pathname}` });
    };
    handle().catch((e: Error) => sendJson(res, 500, { message: e.message }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    plugin,
    uploadedBytes: () => uploaded,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await plugin.kill();
    },
  };
}
