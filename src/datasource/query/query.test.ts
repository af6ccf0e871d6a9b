import { interpolateFilters, NO_VARIABLES } from './interpolate';
import { CURRENT_QUERY_VERSION, migrateQuery } from './migrate';
import { resolveQuery, toSidecarQuery } from './sidecar-query';
import type { CapsightQuery } from '../types';

/** Saved-query migration (each old shape) and variable resolution, shared by the browser and the backend. */
describe('migrateQuery', () => {
  it('brings a first-shape query (no version) to the current shape', () => {
    const v1 = {
      refId: 'A',
      kind: 'timeseries',
      groupBy: 'app',
      filters: [
        { key: 'capture', operator: 'in', value: '$capture' },
        { key: 'app', operator: 'in', value: 'tls, dns,' },
        { key: 'port', operator: 'in', value: 443 },
        { key: 'country', operator: '=', value: '$country' },
      ],
    } as unknown as CapsightQuery;
    expect(migrateQuery(v1)).toEqual({
      refId: 'A',
      kind: 'timeseries',
      groupBy: ['app'],
      queryVersion: CURRENT_QUERY_VERSION,
      filters: [
        { key: 'capture', operator: 'in', value: ['$capture'] },
        { key: 'app', operator: 'in', value: ['tls', 'dns'] },
        { key: 'port', operator: 'in', value: [443] },
        { key: 'country', operator: '=', value: '$country' },
      ],
    });
  });

  it('leaves a current query as it is, and a newer one alone', () => {
    const v2 = { refId: 'A', kind: 'flows', queryVersion: 2, filters: [{ key: 'app', operator: 'in', value: ['tls'] }] } as CapsightQuery;
    expect(migrateQuery(v2)).toEqual(v2);
    const v9 = { refId: 'A', kind: 'flows', queryVersion: 9, groupBy: 'x' } as unknown as CapsightQuery;
    expect(migrateQuery(v9)).toEqual(v9);
  });

  it('never interpolates while migrating', () => {
    expect(JSON.stringify(migrateQuery({ refId: 'A', kind: 'flows', filters: [{ key: 'ip', operator: 'in', value: '${ip}' }] } as CapsightQuery))).toContain('${ip}');
  });
});

describe('interpolateFilters', () => {
  const replace = (s: string) => s.replace('$country', 'US,DE').replace('$one', 'FR').replace('$all', '*').replace('$empty', '');

  it('expands multi-value variables by operator', () => {
    expect(interpolateFilters([{ key: 'country', operator: '=', value: '$country' }], replace)).toEqual([{ key: 'country', operator: 'in', value: ['US', 'DE'] }]);
    expect(interpolateFilters([{ key: 'country', operator: '=', value: '$one' }], replace)).toEqual([{ key: 'country', operator: '=', value: 'FR' }]);
    expect(interpolateFilters([{ key: 'country', operator: 'in', value: ['$country', 'JP'] }], replace)).toEqual([{ key: 'country', operator: 'in', value: ['US', 'DE', 'JP'] }]);
    expect(interpolateFilters([{ key: 'country', operator: '!=', value: '$country' }], replace)).toEqual([
      { key: 'country', operator: '!=', value: 'US' },
      { key: 'country', operator: '!=', value: 'DE' },
    ]);
    expect(interpolateFilters([{ key: 'server_name', operator: '=~', value: '$country' }], replace)).toEqual([{ key: 'server_name', operator: '=~', value: '(?:US)|(?:DE)' }]);
  });

  it('drops a filter whose variable is All, empty or unknown (what an alert rule gets), and unfinished filters', () => {
    for (const value of ['$all', '$empty', '$nope', ['$all']]) {
      expect(interpolateFilters([{ key: 'country', operator: 'in', value }], replace)).toEqual([]);
    }
    expect(interpolateFilters([{ key: 'app', operator: '=', value: '' }, { key: 'app', operator: 'in', value: [] }], replace)).toEqual([]);
    expect(interpolateFilters([{ key: 'country', operator: 'in', value: ['$country'] }], NO_VARIABLES)).toEqual([]);
    expect(interpolateFilters([{ key: 'port', operator: '>', value: 1024 }], NO_VARIABLES)).toEqual([{ key: 'port', operator: '>', value: 1024 }]);
  });
});

describe('the query the sidecar gets', () => {
  it('keeps the model\'s fields, adds the range, and drops Grafana\'s own (datasource, hide, version)', () => {
    const stored = { refId: 'B', kind: 'volume_change', groupBy: ['app'], windowMs: 600_000, measure: 'ratio', windowEnd: 'data', datasource: { uid: 'capsight' }, hide: false, columns: [], queryVersion: 2 } as unknown as CapsightQuery;
    expect(toSidecarQuery(resolveQuery(stored, NO_VARIABLES), { from: 1, to: 2, intervalMs: 1000, maxDataPoints: 50 })).toEqual({
      refId: 'B', kind: 'volume_change', groupBy: ['app'], windowMs: 600_000, measure: 'ratio', windowEnd: 'data', from: 1, to: 2, intervalMs: 1000, maxDataPoints: 50,
    });
  });

  it('appends ad-hoc filters after the query\'s own', () => {
    const q = resolveQuery({ refId: 'A', kind: 'flows', filters: [{ key: 'app', operator: '=', value: 'dns' }] }, NO_VARIABLES, [{ key: 'proto', operator: '=', value: 'udp' }]);
    expect(q.filters).toEqual([{ key: 'app', operator: '=', value: 'dns' }, { key: 'proto', operator: '=', value: 'udp' }]);
  });

  it('resolves a sort column chosen by a variable, and drops it when the variable has no value', () => {
    const q = { refId: 'A', kind: 'flows', sort: { by: '$sort', desc: true } } as CapsightQuery;
    expect(resolveQuery(q, (t) => t.replace('$sort', 'bytes')).sort).toEqual({ by: 'bytes', desc: true });
    expect(resolveQuery(q, NO_VARIABLES).sort).toBeUndefined();
  });
});
