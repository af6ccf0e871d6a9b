import type { CapsightQuery } from './types';
import type { Filter } from '../types';

/** Keys of the sidecar's query model; everything else on a Grafana query (datasource, hide, columns, ...) is dropped. */
const FIELDS = ['refId', 'kind', 'metric', 'groupBy', 'filters', 'topN', 'limit', 'offset', 'sort', 'key', 'side'] as const;

export interface RangeInfo {
  from: number;
  to: number;
  intervalMs?: number;
  maxDataPoints?: number;
}

/**
 * One panel query as the sidecar's POST /api/query body entry: the query's own fields, the
 * dashboard's time range and interval, and the dashboard's ad-hoc filters appended to its filters.
 */
export function toSidecarQuery(q: CapsightQuery, range: RangeInfo, adhoc: Filter[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FIELDS) {
    const v = q[k];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) {
      out[k] = v;
    }
  }
  const filters = [...(q.filters ?? []), ...adhoc];
  if (filters.length > 0) {
    out.filters = filters;
  }
  out.from = range.from;
  out.to = range.to;
  if (range.intervalMs) {
    out.intervalMs = range.intervalMs;
  }
  if (range.maxDataPoints) {
    out.maxDataPoints = range.maxDataPoints;
  }
  return out;
}

/** Grafana ad-hoc filter operators mapped onto the sidecar's. */
export function adhocOperator(op: string): Filter['operator'] {
  switch (op) {
    case '!=':
      return '!=';
    case '=~':
      return '=~';
    case '!~':
      return '!~';
    case '>':
      return '>';
    case '<':
      return '<';
    default:
      return '=';
  }
}
