import type { CapsightQuery } from '../types';
import type { Filter } from '../../types';

/**
 * Saved queries carry the version of their shape (`queryVersion`); older shapes are brought up to
 * date one named step at a time, wherever a stored query enters: the query editor, the data source
 * before it sends a query, and the backend (alert rules send the stored JSON as it was saved).
 * Migration never interpolates variables: `$app` stays `$app`.
 *
 * Versions:
 *  1 (no stamp): Capsight 0.1's dashboards. An `in` filter could hold one string: a variable
 *    (`"$app"`) or a comma-separated list (`"tls,dns"`); `groupBy` could be a single string.
 *  2: `in` always holds a list (`["$app"]`, `["tls", "dns"]`), which is what the sidecar's query
 *    model accepts, so a stored query is valid as it stands (alert rules send it so); `groupBy` is a list.
 */
export const CURRENT_QUERY_VERSION = 2;

type Saved = Partial<CapsightQuery> & { refId?: string; queryVersion?: number; groupBy?: string[] | string; filters?: Filter[] };

function listOf(value: Filter['value']): Array<string | number | boolean> {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return [value];
  if (value.includes('$')) return [value];
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '');
}

const STEPS: Record<number, (q: Saved) => Saved> = {
  /** 1 -> 2: list values for `in`, a list for `groupBy`. */
  1: (q) => ({
    ...q,
    groupBy: typeof q.groupBy === 'string' ? [q.groupBy] : q.groupBy,
    filters: q.filters?.map((f) => (f.operator === 'in' ? { ...f, value: listOf(f.value) } : f)),
  }),
};

export function queryVersionOf(q: { queryVersion?: unknown }): number {
  return typeof q.queryVersion === 'number' && Number.isInteger(q.queryVersion) && q.queryVersion >= 1 ? q.queryVersion : 1;
}

/** The query in the current shape (a query from a newer Capsight is left as it is). */
export function migrateQuery<T extends Saved>(saved: T): T & { queryVersion: number } {
  let q: Saved = { ...saved };
  let v = queryVersionOf(saved);
  while (v < CURRENT_QUERY_VERSION) {
    q = STEPS[v](q);
    v++;
  }
  return { ...(q as T), queryVersion: Math.max(v, queryVersionOf(saved)) };
}
