/** The decoded messages (see definitions.ts), as proto-loader hands them over: int64 as number, bytes as Buffer. */

export interface DataSourceInstanceSettings {
  id: number;
  name: string;
  url: string;
  jsonData: Buffer;
  decryptedSecureJsonData: Record<string, string>;
  lastUpdatedMS: number;
  uid: string;
}

export interface User {
  login: string;
  name: string;
  email: string;
  /** Grafana org role: Viewer, Editor, Admin (empty for requests Grafana makes itself, e.g. alert evaluation). */
  role: string;
}

export interface PluginContext {
  orgId: number;
  pluginId: string;
  user: User | null;
  dataSourceInstanceSettings: DataSourceInstanceSettings | null;
  grafanaConfig: Record<string, string>;
  pluginVersion: string;
  userAgent: string;
}

export interface TimeRange {
  fromEpochMS: number;
  toEpochMS: number;
}

export interface DataQuery {
  refId: string;
  maxDataPoints: number;
  intervalMS: number;
  timeRange: TimeRange | null;
  json: Buffer;
  queryType: string;
}

export type FrameFormat = 'ARROW' | 'JSON';

export interface QueryDataRequest {
  pluginContext: PluginContext | null;
  headers: Record<string, string>;
  queries: DataQuery[];
  format: FrameFormat;
}

export interface DataResponse {
  frames: Buffer[];
  error?: string;
  status?: number;
  errorSource?: 'plugin' | 'downstream' | '';
  format?: FrameFormat;
}

export interface QueryDataResponse {
  responses: Record<string, DataResponse>;
}

export interface CheckHealthRequest {
  pluginContext: PluginContext | null;
  headers: Record<string, string>;
}

export interface CheckHealthResponse {
  status: 'UNKNOWN' | 'OK' | 'ERROR';
  message: string;
  jsonDetails?: Buffer;
}

export interface CallResourceRequest {
  pluginContext: PluginContext | null;
  path: string;
  method: string;
  url: string;
  headers: Record<string, { values: string[] }>;
  body: Buffer;
}

export interface CallResourceResponse {
  code?: number;
  headers?: Record<string, { values: string[] }>;
  body?: Buffer;
}
