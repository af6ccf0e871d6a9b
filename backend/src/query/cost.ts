import type { CaptureInfo } from '../store/flow-store';
import { isAnomalyKind, QueryError, type CheckedQuery } from './model';
import { dimension } from './dimensions';

/**
 * What a query costs, known before it runs: the values its answer holds (every number and text of
 * its frames, time stamps included) and the store work (rows read x the terms each row is tested
 * against). Queries over the limits are refused with a message that says how to get under them;
 * the rest are admitted by weight (query/admission.ts).
 */
export interface QueryLimits {
  /** Values one query may answer. */
  maxQueryValues: number;
  /** Values one request may answer, over all its queries. */
  maxResponseValues: number;
  /** Filter values one query may carry (each item of an "in" list counts). */
  maxFilterValues: number;
  /** Values of all answers held at once (built, not yet written), over every request. */
  maxInFlightValues: number;
}

export interface QueryCost {
  /** Values the answer can hold at most. */
  values: number;
  /** Rows the store reads x terms per row (an estimate from the capture list). */
  work: number;
  /** Heavy queries share fewer store connections, so light ones always find one. */
  heavy: boolean;
}

/** Above either, a query is heavy. A dashboard panel on a few million flows stays light. */
const HEAVY_VALUES = 50_000;
const HEAVY_WORK = 20_000_000;

/** Columns per row of the table kinds (upper bounds; a "columns" choice is not trusted to shrink them). */
const ROW_VALUES: Record<string, number> = { flows: 40, endpoints: 16, peers: 16, conversations: 16, values: 3, protocols: 12, countries: 12, captures: 16, keys: 3, histogram: 3 };

/** Steps of a time series over [from, to); ranges with more than this many steps are filled only over the data. */
export const MAX_FILLED_STEPS = 20_000;

export function filterValueCount(q: CheckedQuery): number {
  return q.filters.reduce((n, f) => n + (Array.isArray(f.value) ? f.value.length : 1), 0);
}

/** The traffic's span in [from, to), ms, over the captures the query can touch (null: none). */
function dataSpan(q: CheckedQuery, captures: readonly CaptureInfo[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const c of captures) {
    if (c.firstNs === null || c.lastNs === null) continue;
    const first = Number(c.firstNs / 1_000_000n);
    const last = Number(c.lastNs / 1_000_000n) + 1;
    if (last <= q.from || first >= q.to) continue;
    lo = Math.min(lo, Math.max(first, q.from));
    hi = Math.max(hi, Math.min(last, q.to));
  }
  return hi > lo ? [lo, hi] : null;
}

/** Steps of the series' grid: the asked range, or the data's span where the range is too long to fill. */
export function seriesSteps(q: CheckedQuery, captures: readonly CaptureInfo[]): number {
  const step = q.intervalMs;
  const start = Math.floor(q.from / step) * step;
  const steps = Math.ceil((q.to - start) / step);
  if (steps <= MAX_FILLED_STEPS) return steps;
  const span = dataSpan(q, captures);
  return span ? Math.ceil((span[1] - Math.floor(span[0] / step) * step) / step) + 1 : 0;
}

/** Flows of the captures the query can touch, in proportion to how much of each capture's span the range covers. */
function flowsInRange(q: CheckedQuery, captures: readonly CaptureInfo[]): number {
  const only = q.filters.find((f) => f.key === 'capture' && (f.operator === '=' || f.operator === 'in'));
  const ids = only ? new Set((Array.isArray(only.value) ? only.value : [only.value]).map(String)) : null;
  let rows = 0;
  for (const c of captures) {
    if (ids && !ids.has(c.id)) continue;
    if (c.firstNs === null || c.lastNs === null) continue;
    const first = Number(c.firstNs / 1_000_000n);
    const last = Number(c.lastNs / 1_000_000n) + 1;
    const covered = Math.min(last, q.to) - Math.max(first, q.from);
    if (covered > 0) rows += c.flows * Math.min(1, covered / Math.max(1, last - first));
  }
  return rows;
}

export function estimateCost(q: CheckedQuery, captures: readonly CaptureInfo[]): QueryCost {
  const series = q.groupBy.length > 0 ? q.topN + 1 : 1;
  let values: number;
  if (q.kind === 'timeseries') values = 2 * seriesSteps(q, captures) * series;
  else if (isAnomalyKind(q.kind)) values = 8 * Math.max(q.topN + 1, q.limit);
  else if (q.kind === 'protocols' || q.kind === 'countries') values = ROW_VALUES[q.kind] * (q.topN + 1);
  else if (q.kind === 'captures') values = ROW_VALUES.captures * captures.length;
  else if (q.kind === 'keys') values = 120;
  else if (q.kind === 'histogram') values = 36;
  else values = (ROW_VALUES[q.kind] ?? 16) * q.limit;
  // Each filter value is a comparison per row (both columns for an either-end key); a regular
  // expression costs about as much as a few dozen comparisons.
  let terms = 1;
  for (const f of q.filters) {
    const ends = Array.isArray(dimension(f.key)?.column) ? 2 : 1;
    const n = Array.isArray(f.value) ? f.value.length : 1;
    terms += ends * (f.operator === '=~' || f.operator === '!~' ? 30 : n);
  }
  // Bucket rows (time series, volumes) are about three per flow; the grouped ones join flows again.
  const rows = flowsInRange(q, captures) * (q.kind === 'timeseries' || q.kind === 'protocols' || isAnomalyKind(q.kind) ? 3 : 1) * (q.offset > 0 ? 2 : 1);
  const work = rows * terms;
  return { values, work, heavy: values > HEAVY_VALUES || work > HEAVY_WORK };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Refuses a query over a limit (HTTP 400), naming the limit and the way under it. */
export function checkCost(q: CheckedQuery, cost: QueryCost, limits: QueryLimits, captures: readonly CaptureInfo[]): void {
  const where = `query ${q.refId}`;
  const filterValues = filterValueCount(q);
  if (filterValues > limits.maxFilterValues) {
    throw new QueryError(`${where}: ${fmt(filterValues)} filter values, over the limit of ${fmt(limits.maxFilterValues)} per query (CAPSIGHT_MAX_FILTER_VALUES): filter by a CIDR block, a regular expression or fewer values`);
  }
  if (cost.values > limits.maxQueryValues) {
    let detail = '';
    let advice = 'lower "limit" or "topN"';
    if (q.kind === 'timeseries') {
      const steps = seriesSteps(q, captures);
      const series = q.groupBy.length > 0 ? q.topN + 1 : 1;
      detail = ` (${fmt(steps)} steps of ${q.intervalMs} ms x ${fmt(series)} series x 2)`;
      advice = 'use a longer step ("intervalMs", fewer "maxDataPoints"), a shorter range or fewer series ("topN")';
    }
    throw new QueryError(`${where}: the answer could hold ${fmt(cost.values)} values${detail}, over the limit of ${fmt(limits.maxQueryValues)} per query (CAPSIGHT_MAX_QUERY_VALUES): ${advice}`);
  }
}

/** The values left for a request's queries; each query's answer is taken from it as it is built. */
export class ResponseBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Takes `n` values for query `refId`, or refuses (HTTP 400) when the request would go over its limit. */
  take(n: number, refId: string): void {
    if (this.used + n > this.limit) {
      throw new QueryError(`query ${refId}: the request's answers would hold more than ${fmt(this.limit)} values (CAPSIGHT_MAX_RESPONSE_VALUES): split the queries over several requests, or make them smaller`);
    }
    this.used += n;
  }
}

/** Values of frames as built: every entry of every column. */
export function frameValues(frames: readonly { data: { values: unknown[][] } }[]): number {
  let n = 0;
  for (const f of frames) for (const c of f.data.values) n += c.length;
  return n;
}
