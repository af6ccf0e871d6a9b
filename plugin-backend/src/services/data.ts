import { NO_VARIABLES } from '../../../src/datasource/query/interpolate';
import { resolveQuery, toSidecarQuery } from '../../../src/datasource/query/sidecar-query';
import type { CapsightQuery } from '../../../src/datasource/types';
import type { Context } from '../context';
import type { DataQuery, DataResponse, QueryDataRequest, QueryDataResponse } from '../protocol/messages';
import { SidecarError } from '../sidecar/client';
import { sidecarMessage } from '../sidecar/messages';

/**
 * Data/QueryData: Grafana's panels, alert rules, recorded queries and public dashboards all come
 * here. Each query's JSON is the stored Capsight query (alert rules send it exactly as saved:
 * migrated here, and variables, which have no value without a dashboard, count as "All"); the
 * time range, interval and point budget come from Grafana. All queries of a request go to the
 * sidecar in one POST /api/query, which answers each frame as an Arrow IPC file (format "arrow":
 * the encoding runs where the data is, and this process stays a thin, small pass-through), or as
 * frame JSON when Grafana asks for JSON. A sidecar error fails its refId only, marked as a
 * downstream error.
 */

/** The sidecar takes at most this many queries per request. */
const BATCH = 50;

type Prepared = { refId: string; query: Record<string, unknown> } | { refId: string; error: DataResponse };

interface SidecarAnswer {
  results: Record<string, { status: number; frames: (string | Record<string, unknown>)[]; error?: string }>;
}

function prepare(dq: DataQuery): Prepared {
  let stored: Partial<CapsightQuery>;
  try {
    stored = JSON.parse(dq.json.toString('utf8') || '{}') as Partial<CapsightQuery>;
  } catch {
    return { refId: dq.refId, error: { frames: [], error: `query ${dq.refId}: the query model is not JSON`, status: 400, errorSource: 'plugin' } };
  }
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) {
    return { refId: dq.refId, error: { frames: [], error: `query ${dq.refId}: the query model is not a JSON object`, status: 400, errorSource: 'plugin' } };
  }
  if (!stored.kind) {
    return { refId: dq.refId, error: { frames: [], error: `query ${dq.refId}: no "kind" (what to compute: timeseries, flows, volume_change, ...)`, status: 400, errorSource: 'plugin' } };
  }
  const resolved = resolveQuery(stored, NO_VARIABLES);
  const range = dq.timeRange ?? { fromEpochMS: 0, toEpochMS: 0 };
  const query = toSidecarQuery(
    { ...resolved, refId: dq.refId },
    { from: range.fromEpochMS, to: range.toEpochMS, intervalMs: dq.intervalMS > 0 ? dq.intervalMS : undefined, maxDataPoints: dq.maxDataPoints > 0 ? Math.min(dq.maxDataPoints, 100_000) : undefined },
  );
  return { refId: dq.refId, query };
}

/** The sidecar's frames as the protocol carries them: Arrow files (sent base64) or frame JSON, one per entry. */
function encode(frames: (string | Record<string, unknown>)[], format: QueryDataRequest['format']): Buffer[] {
  return frames.map((f) => (format === 'JSON' ? Buffer.from(JSON.stringify(f)) : Buffer.from(f as string, 'base64')));
}

function failure(e: unknown, refId: string): DataResponse {
  if (e instanceof SidecarError) return { frames: [], error: `query ${refId}: ${e.message}`, status: e.status, errorSource: e.failure === 'bad-config' ? 'plugin' : 'downstream' };
  return { frames: [], error: `query ${refId}: ${(e as Error).message}`, status: 500, errorSource: 'plugin' };
}

export async function queryData(ctx: Context, req: QueryDataRequest, signal: AbortSignal): Promise<QueryDataResponse> {
  const began = performance.now();
  let sidecarMs = 0;
  const responses: Record<string, DataResponse> = {};
  const prepared = req.queries.map(prepare);
  const ready = prepared.filter((p): p is Extract<Prepared, { query: unknown }> => 'query' in p);
  for (const p of prepared) if ('error' in p) responses[p.refId] = p.error;
  if (ready.length === 0) return { responses };
  let client;
  try {
    client = ctx.instances.get(req.pluginContext);
  } catch (e) {
    for (const p of ready) responses[p.refId] = failure(e, p.refId);
    return { responses };
  }
  // Turns at the sidecar are per Grafana user (alert rules, which have none, are one more "user").
  const requester = encodeURIComponent(`${req.pluginContext?.orgId ?? 0}/${req.pluginContext?.user?.login || 'grafana-server'}`);
  for (let i = 0; i < ready.length; i += BATCH) {
    const batch = ready.slice(i, i + BATCH);
    try {
      const format = req.format === 'JSON' ? 'json' : 'arrow';
      const sent = performance.now();
      const r = await ctx.sidecar(client, 'POST', 'api/query', JSON.stringify({ queries: batch.map((p) => p.query), format }), signal, undefined, requester);
      sidecarMs += performance.now() - sent;
      if (r.status !== 200 && r.status !== 207) {
        const message = sidecarMessage(r, client.address);
        for (const p of batch) responses[p.refId] = { frames: [], error: `query ${p.refId}: ${message}`, status: r.status, errorSource: 'downstream' };
        continue;
      }
      const answer = JSON.parse(r.body.toString('utf8')) as SidecarAnswer;
      for (const p of batch) {
        const result = answer.results?.[p.refId];
        if (!result) responses[p.refId] = { frames: [], error: `query ${p.refId}: the sidecar returned no result for it`, status: 502, errorSource: 'downstream' };
        else if (result.error) responses[p.refId] = { frames: [], error: result.error, status: result.status, errorSource: 'downstream' };
        else responses[p.refId] = { frames: encode(result.frames, req.format), status: 200, format: req.format };
      }
    } catch (e) {
      for (const p of batch) responses[p.refId] = failure(e, p.refId);
    }
  }
  ctx.log.debug('QueryData', { queries: req.queries.length, sidecarMs: Number(sidecarMs.toFixed(3)), totalMs: Number((performance.now() - began).toFixed(3)) });
  return { responses };
}
