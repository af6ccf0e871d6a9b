import type { CapsightQuery } from '../types';
import type { Filter } from '../../types';
import { interpolateFilters, type Replace } from './interpolate';
import { migrateQuery } from './migrate';

/**
 * A stored Capsight query (a panel's, an annotation's, an alert rule's) as the sidecar's query
 * model: the same function runs in the browser (DataSource.applyTemplateVariables, with
 * Grafana's variables) and in the backend plugin (QueryData, with the request's time range and no
 * variables), so both send the sidecar the same thing.
 */

/** Keys of the sidecar's query model; everything else on a Grafana query (datasource, hide, queryVersion, ...) is dropped. */
const FIELDS = ['refId', 'kind', 'metric', 'groupBy', 'filters', 'topN', 'limit', 'offset', 'sort', 'key', 'side', 'windowMs', 'measure', 'windowEnd', 'columns'] as const;

export interface RangeInfo {
  from: number;
  to: number;
  intervalMs?: number;
  maxDataPoints?: number;
}

/** The query's own fields in the sidecar's model, with the time range, interval and point budget. */
export function toSidecarQuery(q: Partial<CapsightQuery>, range: RangeInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of FIELDS) {
    const v = q[k];
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)) {
      out[k] = v;
    }
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

/**
 * The stored query brought up to date (migrateQuery), its variables resolved by `replace`, and
 * extra filters (Grafana's ad-hoc filters) appended. The result is still a Capsight query.
 */
export function resolveQuery(stored: Partial<CapsightQuery>, replace: Replace, extra: Filter[] = []): CapsightQuery {
  const q = migrateQuery(stored);
  const filters = interpolateFilters([...(q.filters ?? []), ...extra], replace);
  // A sort column chosen by a dashboard variable ($sort); unresolved, the kind's default order.
  let sort = q.sort;
  if (sort?.by?.includes('$')) {
    const by = replace(sort.by);
    sort = by && !by.includes('$') && by !== '*' ? { ...sort, by } : undefined;
  }
  const out = { ...q, filters } as CapsightQuery;
  if (sort) out.sort = sort;
  else delete out.sort;
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
