import type { Filter } from '../../types';

/**
 * Dashboard variables in filter values (`$country`, `${ip}`), resolved by `replace`: in the browser
 * Grafana's templateSrv.replace(text, scopedVars, 'csv'); in the backend (alert rules, which have
 * no dashboard) nothing resolves. Rules:
 * - a variable set to "All" (`*`), empty, or unknown (still `$...` after replacing) removes the
 *   filter: no restriction, which is what "All" means and what an alert rule gets;
 * - several values: `=` and `in` become `in` with the list; `!=` and `!~` become one filter per
 *   value (none may match); `=~` becomes one alternation; other operators take the first value.
 */
export type Replace = (text: string) => string;

const hasVariable = (v: unknown): v is string => typeof v === 'string' && v.includes('$');

/** No dashboard: every variable counts as unresolved. */
export const NO_VARIABLES: Replace = (text) => text;

export function interpolateFilters(filters: readonly Filter[], replace: Replace): Filter[] {
  return filters.flatMap((f): Filter[] => {
    const list = Array.isArray(f.value) ? f.value : [f.value];
    if (list.length === 0 || (list.length === 1 && list[0] === '')) return []; // a filter still being written
    if (!list.some(hasVariable)) return [f];
    const values: Array<string | number | boolean> = [];
    for (const v of list) {
      if (!hasVariable(v)) {
        values.push(v);
        continue;
      }
      const replaced = replace(v);
      if (replaced === '*' || replaced === '' || replaced.includes('$')) return [];
      values.push(...replaced.split(',').filter((x) => x !== ''));
    }
    if (values.length === 0) return [];
    switch (f.operator) {
      case 'in':
        return [{ ...f, value: values }];
      case '=':
        return values.length > 1 ? [{ ...f, operator: 'in', value: values }] : [{ ...f, value: values[0] }];
      case '!=':
      case '!~':
        return values.map((v) => ({ ...f, value: v }));
      case '=~':
        return [{ ...f, value: values.length > 1 ? values.map((v) => `(?:${String(v)})`).join('|') : values[0] }];
      default:
        return [{ ...f, value: values[0] }];
    }
  });
}
