import type { Context } from '../context';
import type { CheckHealthRequest, CheckHealthResponse } from '../protocol/messages';
import { SidecarError } from '../sidecar/client';
import { sidecarMessage } from '../sidecar/messages';

/**
 * Diagnostics/CheckHealth: the data source's "Save & test". The same check and the same words as
 * the browser-side test had: the sidecar's /health (version, captures, flows), then a route that
 * needs the token, so a wrong token fails here and not on the first dashboard.
 */
export async function checkHealth(ctx: Context, req: CheckHealthRequest, signal: AbortSignal): Promise<CheckHealthResponse> {
  try {
    const client = ctx.instances.get(req.pluginContext);
    const health = await ctx.sidecar(client, 'GET', 'health', undefined, signal);
    if (health.status !== 200) throw new Error(sidecarMessage(health, client.address));
    const h = JSON.parse(health.body.toString('utf8')) as { version: string; captures: number; flows: number };
    const captures = await ctx.sidecar(client, 'GET', 'api/captures', undefined, signal);
    if (captures.status !== 200) throw new Error(sidecarMessage(captures, client.address));
    return { status: 'OK', message: `Capsight sidecar ${h.version}: ${h.captures} capture(s), ${h.flows} flows` };
  } catch (e) {
    const message = e instanceof SidecarError || e instanceof Error ? e.message : String(e);
    return { status: 'ERROR', message: `Cannot use the Capsight sidecar: ${message}` };
  }
}

/** Diagnostics/CollectMetrics: the plugin's own metrics in Prometheus text. */
export async function collectMetrics(ctx: Context): Promise<{ metrics: { prometheus: Buffer } }> {
  ctx.metrics.instances.set(ctx.instances.size);
  return { metrics: { prometheus: Buffer.from(await ctx.metrics.registry.metrics()) } };
}
