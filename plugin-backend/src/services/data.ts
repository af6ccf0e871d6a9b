import type { DataFrameJSON, QueryResponse } from '../../../backend/src/query/frames';
import { NO_VARIABLES } from '../../../src/datasource/query/interpolate';
import { resolveQuery, toSidecarQuery } from '../../../src/datasource/query/sidecar-query';
import type { CapsightQuery } from '../../../src/datasource/types';
import { frameToArrow } from '../frames/arrow';
import type { Context } from '../context';
import type { DataQuery, DataResponse, QueryDataRequest, QueryDataResponse } from '../protocol/messages';
import { SidecarError } from '../sidecar/client';
import { sidecarMessage } from '../sidecar/messages';

/**
 * Data/QueryData: Grafana's panels, alert rules, recorded queries and public dashboards all come
 * here. Each query's JSON is the stored Capsight query (alert rules send it exactly as saved:
 * migrated here, and variables, which have no value without a dashboard, count as "All"); the
 * time range, interval and point budget come from Grafana. All queries of a request go to the
 * sidecar in one POST /api/query; its frames come back as Arrow IPC files (or frame JSON when
 * Grafana asks for JSON). A sidecar error fails its refId only, marked as a downstream error.
 */

/** The sidecar takes at most this many queries per request. */
const BATCH = 50;

const TABLE_KINDS = new Set(['flows', 'endpoints', 'conversations', 'captures', 'values']);

type Prepared = { refId: string; query: Record<string, unknown>; columns: string[] } | { refId: string; error: DataResponse };

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
  return { refId: dq.refId, query, columns: Array.isArray(stored.columns) ? stored.columns.map(String) : [] };
}

/** The flow table's column choice (the chosen fields, in the chosen order), applied here so every consumer sees it. */
function chooseColumns(frame: DataFrameJSON, kind: unknown, columns: string[]): DataFrameJSON {
  if (columns.length === 0 || !TABLE_KINDS.has(String(kind))) return frame;
  const idx = columns.map((c) => frame.schema.fields.findIndex((f) => f.name === c)).filter((i) => i >= 0);
  if (idx.length === 0) return frame;
  return { schema: { ...frame.schema, fields: idx.map((i) => frame.schema.fields[i]) }, data: { values: idx.map((i) => frame.data.values[i]) } };
}

function encode(frames: DataFrameJSON[], format: QueryDataRequest['format']): Buffer[] {
  return frames.map((f) => (format === 'JSON' ? Buffer.from(JSON.stringify(f)) : Buffer.from(frameToArrow(f))));
}

function failure(e: unknown, refId: string): DataResponse {
  if (e instanceof SidecarError) return { frames: [], error: `query ${refId}: ${e.message}`, status: e.status, errorSource: e.failure === 'bad-config' ? 'plugin' : 'downstream' };
  return { frames: [], error: `query ${refId}: ${(e as Error).message}`, status: 500, errorSource: 'plugin' };
}

export async function queryData(ctx: Context, req: QueryDataRequest, signal: AbortSignal): Promise<QueryDataResponse> {
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
  for (let i = 0; i < ready.length; i += BATCH) {
    const batch = ready.slice(i, i + BATCH);
    try {
      const r = await ctx.sidecar(client, 'POST', 'api/query', JSON.stringify({ queries: batch.map((p) => p.query) }), signal);
      if (r.status !== 200 && r.status !== 207) {
        const message = sidecarMessage(r, client.address);
        for (const p of batch) responses[p.refId] = { frames: [], error: `query ${p.refId}: ${message}`, status: r.status, errorSource: 'downstream' };
        continue;
      }
      const answer = JSON.parse(r.body.toString('utf8')) as QueryResponse;
      for (const p of batch) {
        const result = answer.results?.[p.refId];
        if (!result) responses[p.refId] = { frames: [], error: `query ${p.refId}: the sidecar returned no result for it`, status: 502, errorSource: 'downstream' };
        else if (result.error) responses[p.refId] = { frames: [], error: result.error, status: result.status, errorSource: 'downstream' };
        else responses[p.refId] = { frames: encode(result.frames.map((f) => chooseColumns(f, p.query.kind, p.columns)), req.format), status: 200, format: req.format };
      }
    } catch (e) {
      for (const p of batch) responses[p.refId] = failure(e, p.refId);
    }
  }
  return { responses };
}
