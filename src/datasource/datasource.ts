import {
  DataSourceApi,
  dataFrameFromJSON,
  type AdHocVariableFilter,
  type AnnotationEvent,
  type DataFrame,
  type DataFrameJSON,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type TestDataSourceResponse,
} from '@grafana/data';
import { getBackendSrv, getTemplateSrv } from '@grafana/runtime';
import { lastValueFrom, of } from 'rxjs';
import { sidecarMessage } from '../sidecarMessage';
import type { Filter } from '../types';
import { adhocOperator, toSidecarQuery } from './request';
import { DEFAULT_QUERY, type CapsightOptions, type CapsightQuery } from './types';

interface QueryResults {
  results: Record<string, { status: number; frames: DataFrameJSON[]; error?: string }>;
}

/**
 * Talks to the Capsight sidecar through Grafana's data source proxy: the `sidecar` route in
 * plugin.json adds the API token from secureJsonData, so the browser never sees it.
 */
export class DataSource extends DataSourceApi<CapsightQuery, CapsightOptions> {
  private readonly base: string;

  constructor(settings: DataSourceInstanceSettings<CapsightOptions>) {
    super(settings);
    this.base = `${settings.url ?? ''}/sidecar`;
    // Capture start and end as annotations (a region per capture in the range).
    this.annotations = {
      getDefaultQuery: () => ({ kind: 'captures' }),
      processEvents: (_anno, frames) => of(captureEvents(frames)),
    };
  }

  getDefaultQuery(): Partial<CapsightQuery> {
    return DEFAULT_QUERY;
  }

  filterQuery(q: CapsightQuery): boolean {
    return !q.hide && !!q.kind;
  }

  private async post<T>(path: string, data: unknown): Promise<T> {
    const r = await lastValueFrom(getBackendSrv().fetch<T>({ url: `${this.base}${path}`, method: 'POST', data, showErrorAlert: false }));
    return r.data;
  }

  private async get<T>(path: string): Promise<T> {
    const r = await lastValueFrom(getBackendSrv().fetch<T>({ url: `${this.base}${path}`, method: 'GET', showErrorAlert: false }));
    return r.data;
  }

  async query(request: DataQueryRequest<CapsightQuery>): Promise<DataQueryResponse> {
    const tpl = getTemplateSrv();
    const adhoc: Filter[] = (request.filters ?? []).map((f: AdHocVariableFilter) => ({ key: f.key, operator: adhocOperator(f.operator), value: f.value }));
    const targets = request.targets.filter((t) => this.filterQuery(t));
    if (targets.length === 0) {
      return { data: [] };
    }
    const queries = targets.map((t) => {
      // Template variables in filter values ($country, ${ip}): "All" ("*") or an unknown variable drops
      // the filter, "in" takes the values as a list, a multi-value "=" becomes "in".
      const filters = (t.filters ?? []).flatMap((f): Filter[] => {
        if (f.value === '' || (Array.isArray(f.value) && f.value.length === 0)) {
          return []; // a filter still being written
        }
        if (typeof f.value !== 'string' || !f.value.includes('$')) {
          return [f];
        }
        const replaced = tpl.replace(f.value, request.scopedVars, 'csv');
        if (replaced === '*' || replaced === '' || replaced.includes('$')) {
          return [];
        }
        const values = replaced.split(',').filter((v) => v !== '');
        if (f.operator === 'in' || (f.operator === '=' && values.length > 1)) {
          return [{ ...f, operator: 'in', value: values }];
        }
        return [{ ...f, value: replaced }];
      });
      return toSidecarQuery({ ...t, filters }, { from: request.range.from.valueOf(), to: request.range.to.valueOf(), intervalMs: request.intervalMs, maxDataPoints: request.maxDataPoints }, adhoc);
    });
    try {
      const answer = await this.post<QueryResults>('/api/query', { queries });
      const data = [];
      const errors = [];
      for (const t of targets) {
        const r = answer.results[t.refId];
        if (!r) {
          continue;
        }
        if (r.error) {
          errors.push({ refId: t.refId, message: r.error });
        }
        for (const f of r.frames) {
          const frame = dataFrameFromJSON(f);
          // The flow table's column choice: the chosen fields, in the chosen order.
          if (t.columns && t.columns.length > 0) {
            const chosen = t.columns.map((c) => frame.fields.find((x) => x.name === c)).filter((x): x is (typeof frame.fields)[number] => !!x);
            data.push({ ...frame, fields: chosen });
          } else {
            data.push(frame);
          }
        }
      }
      return { data, errors: errors.length > 0 ? errors : undefined };
    } catch (err) {
      throw new Error(sidecarMessage(err));
    }
  }

  /** "Save & test": the sidecar's health with its version and how many captures it holds. */
  async testDatasource(): Promise<TestDataSourceResponse> {
    try {
      const h = await this.get<{ status: string; version: string; captures: number; flows: number }>('/health');
      // /health needs no token; a protected route proves the token too.
      await this.get('/api/captures');
      return { status: 'success', message: `Capsight sidecar ${h.version}: ${h.captures} capture(s), ${h.flows} flows` };
    } catch (err) {
      return { status: 'error', message: `Cannot use the Capsight sidecar: ${sidecarMessage(err)}` };
    }
  }

  /** Query variables: "values <key>" (e.g. "values country"), or a JSON query of kind "values". */
  async metricFindQuery(query: string | CapsightQuery): Promise<MetricFindValue[]> {
    const key = typeof query === 'string' ? query.replace(/^\s*values\s+/i, '').trim() : query.key;
    if (!key) {
      return [];
    }
    const answer = await this.post<QueryResults>('/api/query', { queries: [{ refId: 'V', kind: 'values', key, limit: 1000 }] });
    return valuesFrom(answer, 'V');
  }

  async getTagKeys(): Promise<MetricFindValue[]> {
    const answer = await this.post<QueryResults>('/api/query', { queries: [{ refId: 'K', kind: 'keys' }] });
    const frame = answer.results.K?.frames[0];
    const keys = (frame?.data?.values[0] ?? []) as string[];
    return keys.map((k) => ({ text: k, value: k }));
  }

  async getTagValues(options: { key: string }): Promise<MetricFindValue[]> {
    const answer = await this.post<QueryResults>('/api/query', { queries: [{ refId: 'V', kind: 'values', key: options.key, limit: 1000 }] });
    return valuesFrom(answer, 'V');
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
