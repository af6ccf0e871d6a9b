/**
 * Grafana data frames in their JSON form (what /api/ds/query returns and @grafana/data reads):
 * schema with typed fields and config, values as column arrays, time in epoch ms. `meta.type`
 * follows the data plane contract so panels and alerting take the frames as they are.
 */
export type FieldType = 'time' | 'number' | 'string' | 'boolean';

export interface FieldConfig {
  unit?: string;
  displayName?: string;
  displayNameFromDS?: string;
  decimals?: number;
  links?: { title: string; url: string }[];
  custom?: Record<string, unknown>;
}

export interface FrameField {
  name: string;
  type: FieldType;
  typeInfo?: { frame: string; nullable?: boolean };
  labels?: Record<string, string>;
  config: FieldConfig;
}

/** A notice Grafana shows on the panel (an icon with the text; `link` makes it a link). */
export interface FrameNotice {
  severity: 'info' | 'warning' | 'error';
  text: string;
  link?: string;
}

export interface FrameMeta {
  type?: 'timeseries-multi' | 'timeseries-wide' | 'numeric-long' | 'numeric-wide' | 'table';
  typeVersion?: [number, number];
  preferredVisualisationType?: 'graph' | 'table' | 'logs' | 'trace' | 'nodeGraph';
  executedQueryString?: string;
  notices?: FrameNotice[];
  stats?: { displayName: string; value: number; unit?: string }[];
  custom?: Record<string, unknown>;
}

export interface DataFrameJSON {
  schema: { name?: string; refId: string; meta: FrameMeta; fields: FrameField[] };
  data: { values: unknown[][] };
}

export interface QueryResponse {
  results: Record<string, { status: number; frames: DataFrameJSON[]; error?: string }>;
}

const GO_TYPE: Record<FieldType, string> = { time: 'time.Time', number: 'float64', string: 'string', boolean: 'bool' };

export function field(name: string, type: FieldType, config: FieldConfig = {}, labels?: Record<string, string>): FrameField {
  return { name, type, typeInfo: { frame: GO_TYPE[type], nullable: type !== 'time' }, ...(labels ? { labels } : {}), config };
}

export function frame(refId: string, meta: FrameMeta, fields: FrameField[], values: unknown[][], name?: string): DataFrameJSON {
  return { schema: { ...(name ? { name } : {}), refId, meta: { typeVersion: [0, 1], ...meta }, fields }, data: { values } };
}

/** "No data": one frame without fields (the data plane's empty response). */
export function emptyFrame(refId: string, type: FrameMeta['type']): DataFrameJSON {
  return frame(refId, { type }, [], []);
}
