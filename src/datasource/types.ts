import type { DataQuery, DataSourceJsonData } from '@grafana/schema';
import type { Filter, Metric, QueryKind } from '../types';

export interface CapsightQuery extends DataQuery {
  kind: QueryKind;
  metric?: Metric;
  groupBy?: string[];
  filters?: Filter[];
  topN?: number;
  limit?: number;
  offset?: number;
  sort?: { by: string; desc?: boolean };
  key?: string;
  side?: 'both' | 'src' | 'dst' | 'remote';
  /** Table kinds: the columns to show (all when empty); applied to the answer, not sent. */
  columns?: string[];
}

export const DEFAULT_QUERY: Partial<CapsightQuery> = { kind: 'timeseries', metric: 'bytes', groupBy: ['app'], topN: 10 };

/** Settings stored with the data source (the token lives in secureJsonData, never here). */
export interface CapsightOptions extends DataSourceJsonData {
  url?: string;
}

export interface CapsightSecureOptions {
  apiToken?: string;
}
