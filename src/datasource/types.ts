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
  /** Anomaly kinds: window length (ms), the number returned, where the window ends. */
  windowMs?: number;
  measure?: string;
  windowEnd?: 'range' | 'data';
  /** Table kinds: the columns to show (all when empty); the sidecar returns only these. */
  columns?: string[];
  /** Shape version of the saved query (query/migrate.ts). */
  queryVersion?: number;
}

export const DEFAULT_QUERY: Partial<CapsightQuery> = { kind: 'timeseries', metric: 'bytes', groupBy: ['app'], topN: 10, queryVersion: 2 };

/** Settings stored with the data source (the token lives in secureJsonData, never here). */
export interface CapsightOptions extends DataSourceJsonData {
  url?: string;
  /** Seconds the backend waits for the sidecar per request (default 30). */
  timeoutSec?: number;
}

export interface CapsightSecureOptions {
  apiToken?: string;
}
