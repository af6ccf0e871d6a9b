import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeArrowFrame, toFrameJSON } from './arrow-to-json';
import { pluginContext, startPlugin, type PluginHost } from './plugin-host';
import pluginJson from '../../../src/datasource/plugin.json';

/** The data source's proxy routes, as Grafana reads them from plugin.json. */
interface ProxyRoute {
  path: string;
  method: string;
  reqRole: string;
  url: string;
  headers: { name: string; content: string }[];
}
const ROUTES = (pluginJson as { routes: ProxyRoute[] }).routes;
const RANK: Record<string, number> = { Viewer: 0, Editor: 1, Admin: 2 };

/**
 * A stand-in for the parts of Grafana's HTTP API the plugin's front end uses, with the real plugin
 * executable behind it (started by the plugin host harness), for tests of the front end:
 * - POST /api/ds/query: each query's JSON to Data/QueryData, the Arrow frames read back and
 *   answered as frame JSON, HTTP 207 when a query failed (Grafana's /api/ds/query);
 * - GET /api/datasources/uid/<uid>/health: Diagnostics/CheckHealth, 400 on ERROR;
 * - /api/datasources/uid/<uid>/resources/<path>: Resource/CallResource;
 * - /api/datasources/proxy/uid/<uid>/<route>: the data source proxy routes of plugin.json, as
 *   Grafana's proxy serves them: the route matched by path, its method and role checked, the
 *   request streamed to the route's URL (the rest of the path and the query string appended)
 *   with the route's headers (the token added), the answer streamed back.
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

  const proxy = (req: http.IncomingMessage, res: http.ServerResponse, rest: string, search: string): void => {
    const route = ROUTES.find((r) => rest === r.path || rest.startsWith(`${r.path}/`));
    if (!route) return sendJson(res, 404, { message: `no proxy route for ${rest}` });
    if (req.method !== route.method) return sendJson(res, 405, { message: `the ${route.path} route takes ${route.method}` });
    if ((RANK[o.role ?? 'Admin'] ?? 0) < (RANK[route.reqRole] ?? 0)) return sendJson(res, 403, { message: 'Permission denied' });
    const target = new URL(route.url.replace('{{ .JsonData.url }}', o.sidecarUrl) + rest.slice(route.path.length) + search);
    const headers: http.OutgoingHttpHeaders = { ...(req.headers['content-type'] ? { 'content-type': req.headers['content-type'] } : {}), ...(req.headers['content-length'] ? { 'content-length': req.headers['content-length'] } : {}) };
    // The route's headers, as Grafana's proxy renders them (an empty token leaves "Bearer ").
    for (const h of route.headers) headers[h.name.toLowerCase()] = h.content.replace('{{ .SecureJsonData.apiToken }}', o.token ?? '');
    const up = http.request(target, { method: req.method, headers }, (r) => {
      const back: http.OutgoingHttpHeaders = {};
      for (const k of ['content-type', 'content-length', 'content-disposition', 'x-capsight-packets', 'x-capsight-flows']) if (r.headers[k] !== undefined) back[k] = r.headers[k];
      res.writeHead(r.statusCode ?? 502, back);
      r.pipe(res);
    });
    up.on('error', (e) => sendJson(res, 502, { message: `proxy: ${e.message}` }));
    if (route.path === 'upload') req.on('data', (c: Buffer) => (uploaded += c.length));
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://grafana');
    const handle = async (): Promise<void> => {
      if (url.pathname === '/api/ds/query' && req.method === 'POST') return dsQuery(req, res);
      if (url.pathname === '/api/datasources/uid/capsight/health') return health(res);
      const resourcePrefix = '/api/datasources/uid/capsight/resources/';
      if (url.pathname.startsWith(resourcePrefix)) return resource(req, res, url.pathname.slice(resourcePrefix.length) + url.search);
      const proxyPrefix = '/api/datasources/proxy/uid/capsight/';
      if (url.pathname.startsWith(proxyPrefix)) return proxy(req, res, url.pathname.slice(proxyPrefix.length), url.search);
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
