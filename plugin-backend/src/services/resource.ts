import type { Context } from '../context';
import type { CallResourceRequest, CallResourceResponse } from '../protocol/messages';
import { SidecarError } from '../sidecar/client';

/**
 * Resource/CallResource: the sidecar routes the plugin's pages need, through Grafana's server
 * (`/api/datasources/uid/<uid>/resources/<path>`), with the token added here so the browser never
 * holds it. Only the routes below pass; changes (imports, deletes, watches) need an Editor or
 * Admin. Uploads do not come this way: a resource call's body is one gRPC message, so uploads keep
 * their streaming path, the data source proxy route (see plugin.json).
 */
interface Route {
  method: string;
  pattern: RegExp;
  /** Whether a Viewer may call it (reads and queries); the rest needs Editor or Admin. */
  viewer: boolean;
}

const ID = '[A-Za-z0-9_-]{1,64}';
const ROUTES: Route[] = [
  { method: 'GET', pattern: /^health$/, viewer: true },
  { method: 'GET', pattern: /^api\/captures$/, viewer: true },
  { method: 'GET', pattern: new RegExp(`^api/captures/${ID}$`), viewer: true },
  { method: 'GET', pattern: /^api\/jobs$/, viewer: true },
  { method: 'GET', pattern: new RegExp(`^api/jobs/${ID}$`), viewer: true },
  { method: 'GET', pattern: /^api\/watches$/, viewer: true },
  { method: 'POST', pattern: /^api\/query$/, viewer: true },
  { method: 'POST', pattern: /^api\/imports$/, viewer: false },
  { method: 'POST', pattern: /^api\/watches$/, viewer: false },
  { method: 'POST', pattern: new RegExp(`^api/watches/${ID}/poll$`), viewer: false },
  { method: 'DELETE', pattern: new RegExp(`^api/captures/${ID}$`), viewer: false },
  { method: 'DELETE', pattern: new RegExp(`^api/jobs/${ID}$`), viewer: false },
  { method: 'DELETE', pattern: new RegExp(`^api/watches/${ID}$`), viewer: false },
];

/** Request bodies a resource call may carry (imports by URL, watches, queries: all small JSON). */
const MAX_BODY = 1024 * 1024;
/** Answers go back in chunks of this size: several stream messages rather than one large one. */
const CHUNK = 1024 * 1024;

function json(code: number, body: unknown): CallResourceResponse[] {
  return [{ code, headers: { 'content-type': { values: ['application/json'] } }, body: Buffer.from(JSON.stringify(body)) }];
}

export async function callResource(ctx: Context, req: CallResourceRequest, signal: AbortSignal): Promise<CallResourceResponse[]> {
  const method = req.method.toUpperCase();
  const path = req.path.replace(/^\/+/, '');
  const route = ROUTES.find((r) => r.method === method && r.pattern.test(path));
  if (!route) return json(404, { message: `no Capsight resource ${method} ${path}` });
  const role = req.pluginContext?.user?.role ?? '';
  if (!route.viewer && role !== 'Editor' && role !== 'Admin') {
    return json(403, { message: `${method} ${path} changes the sidecar's data: it needs the Editor or Admin role (yours: ${role || 'none'})` });
  }
  if (req.body.length > MAX_BODY) return json(413, { message: `request body larger than ${MAX_BODY} bytes (uploads go through the data source's upload route)` });
  const query = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
  const type = req.headers['content-type']?.values?.[0] ?? req.headers['Content-Type']?.values?.[0] ?? 'application/json';
  try {
    const client = ctx.instances.get(req.pluginContext);
    const r = await ctx.sidecar(client, method, `${path}${query}`, method === 'GET' || method === 'DELETE' ? undefined : req.body, signal, type);
    const out: CallResourceResponse[] = [];
    const headers = { 'content-type': { values: [r.contentType || 'application/json'] }, 'cache-control': { values: ['no-store'] } };
    for (let i = 0; i < Math.max(r.body.length, 1); i += CHUNK) out.push(i === 0 ? { code: r.status, headers, body: r.body.subarray(0, CHUNK) } : { body: r.body.subarray(i, i + CHUNK) });
    return out;
  } catch (e) {
    if (e instanceof SidecarError) return json(e.status === 499 ? 499 : e.status, { message: e.message });
    throw e;
  }
}
