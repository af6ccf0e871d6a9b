import type { AdHocVariableFilter, AnnotationEvent, DataFrame, DataFrameJSON, DataQueryRequest, DataQueryResponse, DataSourceInstanceSettings, MetricFindValue, ScopedVars, TimeRange } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';
import { map, of, type Observable } from 'rxjs';
import { exportBase, withExportLinks } from './exportLinks';
import type { Filter } from '../types';
import { adhocOperator, resolveQuery } from './query/sidecar-query';
import { DEFAULT_QUERY, type CapsightOptions, type CapsightQuery } from './types';

interface QueryResults {
  results: Record<string, { status: number; frames: DataFrameJSON[]; error?: string }>;
}

/**
 * The Capsight data source in the browser. Queries, annotations and "Save & test" go through
 * Grafana's server to the plugin's backend (gpx_capsight_flows, plugin-backend/), which holds the
 * sidecar's token and calls the sidecar: so alert rules, recorded queries, public dashboards and
 * query caching work, and the browser never sees the token. Variable lists and ad-hoc keys use the
 * backend's resource routes.
 */
export class DataSource extends DataSourceWithBackend<CapsightQuery, CapsightOptions> {
  constructor(settings: DataSourceInstanceSettings<CapsightOptions>) {
    super(settings);
    // Capture start and end as annotations (a region per capture in the range).
    this.annotations = {
      getDefaultQuery: () => ({ kind: 'captures', queryVersion: DEFAULT_QUERY.queryVersion }),
      processEvents: (_anno, frames) => of(captureEvents(frames)),
    };
  }

  getDefaultQuery(): Partial<CapsightQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(q: CapsightQuery): boolean {
    return !q.hide && !!q.kind;
  }

  /**
   * The stored query brought up to date, with the dashboard's variables in its filter values and
   * the dashboard's ad-hoc filters appended. The backend runs the same resolution on the stored
   * query (query/sidecar-query.ts), which is what alert rules send.
   */
  applyTemplateVariables(query: CapsightQuery, scopedVars: ScopedVars, filters?: AdHocVariableFilter[]): CapsightQuery {
    const tpl = getTemplateSrv();
    const adhoc: Filter[] = (filters ?? []).map((f) => ({ key: f.key, operator: adhocOperator(f.operator), value: f.value }));
    return resolveQuery(query, (text) => tpl.replace(text, scopedVars, 'csv'), adhoc);
  }

  /** Queries as Grafana runs them, with "Download packets" and "Export CSV" links on flow and conversation tables. */
  query(request: DataQueryRequest<CapsightQuery>): Observable<DataQueryResponse> {
    const resolved = new Map(request.targets.map((t) => [t.refId, this.applyTemplateVariables(t, request.scopedVars, request.filters)]));
    const range = { from: request.range.from.valueOf(), to: request.range.to.valueOf() };
    return super.query(request).pipe(map((res) => ({ ...res, data: withExportLinks(res.data as DataFrame[], resolved, range, exportBase(this.uid)) })));
  }

  private async sidecarQuery(query: Record<string, unknown>, range?: TimeRange): Promise<QueryResults> {
    const span = range ? { from: range.from.valueOf(), to: range.to.valueOf() } : {};
    return this.postResource<QueryResults>('api/query', { queries: [{ ...query, ...span }] }, { showErrorAlert: false });
  }

  /**
   * Query variables: "values <key> [text]" (e.g. "values country", "values ip $__searchFilter"), or a
   * JSON query of kind "values". The values seen in the dashboard's range and selected captures
   * (its $capture variable), containing the text the user types in the picker where the variable
   * asks for it ($__searchFilter): a search over every value, not a list cut at 1,000.
   */
  async metricFindQuery(query: string | CapsightQuery, options?: { range?: TimeRange; searchFilter?: string; scopedVars?: ScopedVars }): Promise<MetricFindValue[]> {
    const m = typeof query === 'string' ? /^\s*(?:values\s+)?(\S+)(?:\s+(.*))?$/i.exec(query) : null;
    const key = typeof query === 'string' ? m?.[1] : query.key;
    if (!key) {
      return [];
    }
    const typed = options?.searchFilter ?? m?.[2]?.trim();
    const search = typed && !typed.includes('$') ? typed : undefined;
    const tpl = getTemplateSrv();
    const q = resolveQuery({ refId: 'V', kind: 'values', key, filters: key === 'capture' ? [] : [{ key: 'capture', operator: 'in', value: ['$capture'] }] }, (t) => tpl.replace(t, options?.scopedVars, 'csv'));
    return valuesFrom(await this.sidecarQuery({ refId: 'V', kind: 'values', key, limit: 1000, filters: q.filters, ...(search ? { search } : {}) }, options?.range), 'V');
  }

  async getTagKeys(): Promise<MetricFindValue[]> {
    const answer = await this.sidecarQuery({ refId: 'K', kind: 'keys' });
    const frame = answer.results.K?.frames[0];
    const keys = (frame?.data?.values[0] ?? []) as string[];
    return keys.map((k) => ({ text: k, value: k }));
  }

  async getTagValues(options: { key: string; timeRange?: TimeRange }): Promise<MetricFindValue[]> {
    return valuesFrom(await this.sidecarQuery({ refId: 'V', kind: 'values', key: options.key, limit: 1000 }, options.timeRange), 'V');
  }
}

function valuesFrom(answer: QueryResults, refId: string): MetricFindValue[] {
  const frame = answer.results[refId]?.frames[0];
  if (!frame?.data) {
    return [];
  }
  const names = frame.schema?.fields.map((f) => f.name) ?? [];
  const values = frame.data.values[names.indexOf('value')] as string[];
  const texts = frame.data.values[names.indexOf('text')] as string[];
  return values.map((v, i) => ({ value: v, text: texts[i] ?? v }));
}

/** Annotation events from a "captures" frame: one region per capture, first to last packet. */
export function captureEvents(frames: DataFrame[]): AnnotationEvent[] {
  const events: AnnotationEvent[] = [];
  for (const f of frames) {
    const col = (n: string) => f.fields.find((x) => x.name === n)?.values ?? [];
    const names = col('name');
    const first = col('first');
    const last = col('last');
    const vms = col('azure_vm');
    for (let i = 0; i < names.length; i++) {
      if (first[i] == null) {
        continue;
      }
      events.push({ time: Number(first[i]), timeEnd: Number(last[i] ?? first[i]), isRegion: true, title: `Capture ${names[i]}`, text: vms[i] ? `VM ${vms[i]}` : '', tags: ['capture'] });
    }
  }
  return events;
}
