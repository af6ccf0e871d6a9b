import type { DataFrameJSON } from '../query/frames';

/**
 * What Grafana's alerting accepts from a query (grafana-platform.md §5, from grafana's
 * pkg/expr converter and the data plane readers), as a checker for tests:
 * - typed frames (the first frame has meta.type and a non-zero typeVersion) are read by the data
 *   plane readers: numeric (long, wide, multi) and time series (multi, wide) kinds only; a frame
 *   with no fields is NoData;
 * - untyped: no fields is NoData; one frame with exactly one number field plus string fields is a
 *   set of numbers; otherwise every frame must be a wide time series;
 * - and what the rule evaluation then demands: every number (or series) has a label set of its
 *   own ("frame cannot uniquely be identified by its labels"); label values are strings (a null
 *   string cell has no label value).
 * Returns the problems found (none: alerting takes the answer) and what alerting would see.
 */
export interface AlertingView {
  problems: string[];
  kind: 'nodata' | 'numbers' | 'series';
  /** One entry per number or series: its labels (sorted key=value, comma-joined) and its value (last value for a series). */
  items: { labels: string; value: number | null }[];
}

const labelText = (labels: Record<string, string>): string =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

function unique(items: AlertingView['items'], problems: string[]): void {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.labels)) problems.push(`duplicate results with labels {${it.labels}}: each number needs a label set of its own`);
    seen.add(it.labels);
  }
}

function numericLong(f: DataFrameJSON, problems: string[]): AlertingView['items'] {
  const items: AlertingView['items'] = [];
  const strings = f.schema.fields.map((x, i) => ({ x, i })).filter(({ x }) => x.type === 'string');
  const numbers = f.schema.fields.map((x, i) => ({ x, i })).filter(({ x }) => x.type === 'number');
  if (f.schema.fields.some((x) => x.type === 'time')) problems.push('numeric-long frame with a time field: alerting would take it for time series');
  if (numbers.length === 0) problems.push('numeric-long frame without a number field');
  if (numbers.length > 1) problems.push(`numeric-long frame with ${numbers.length} number fields: every row gives ${numbers.length} numbers with the same labels`);
  const rows = f.data.values[0]?.length ?? 0;
  for (let r = 0; r < rows; r++) {
    const labels: Record<string, string> = {};
    for (const { x, i } of strings) {
      const v = f.data.values[i][r];
      if (typeof v !== 'string') problems.push(`label column "${x.name}" row ${r} is ${v === null ? 'null' : typeof v}, not a string`);
      labels[x.name] = String(v);
    }
    for (const { i } of numbers) {
      const v = f.data.values[i][r];
      items.push({ labels: labelText(labels), value: typeof v === 'number' ? v : null });
    }
  }
  return items;
}

function series(frames: DataFrameJSON[], problems: string[], wide: boolean): AlertingView['items'] {
  const items: AlertingView['items'] = [];
  for (const f of frames) {
    if (f.schema.fields.length === 0) continue;
    const time = f.schema.fields.findIndex((x) => x.type === 'time');
    if (time !== 0) problems.push(`time series frame whose first field is not its time field`);
    if (f.schema.fields.filter((x) => x.type === 'time').length !== 1) problems.push('time series frame needs exactly one time field');
    const t = (f.data.values[time] ?? []) as (number | null)[];
    if (f.schema.fields[time]?.typeInfo?.nullable) problems.push('time field marked nullable');
    for (let i = 1; i < t.length; i++) {
      if (t[i] === null || t[i - 1] === null) problems.push('null time value');
      else if ((t[i] as number) <= (t[i - 1] as number)) problems.push(`times not strictly ascending at row ${i}`);
    }
    const values = f.schema.fields.map((x, i) => ({ x, i })).filter(({ x }) => x.type === 'number');
    if (values.length === 0) problems.push('time series frame without a number field');
    if (!wide && values.length > 1) problems.push('timeseries-multi frame with more than one value field');
    if (f.schema.fields.some((x) => x.type !== 'time' && x.type !== 'number')) problems.push('time series frame with fields that are neither time nor number');
    for (const { x, i } of values) {
      const col = f.data.values[i] as (number | null)[];
      items.push({ labels: labelText(x.labels ?? {}), value: col.length ? col[col.length - 1] : null });
    }
  }
  return items;
}

export function alertingView(frames: DataFrameJSON[]): AlertingView {
  const problems: string[] = [];
  if (frames.length === 0 || frames.every((f) => f.schema.fields.length === 0)) return { problems, kind: 'nodata', items: [] };
  const meta = frames[0].schema.meta ?? {};
  const typed = !!meta.type && Array.isArray(meta.typeVersion) && (meta.typeVersion[0] !== 0 || meta.typeVersion[1] !== 0);
  let items: AlertingView['items'];
  let kind: AlertingView['kind'];
  if (typed) {
    if (frames.some((f) => f.schema.meta?.type !== meta.type)) problems.push('frames of one answer with different meta.type');
    switch (meta.type) {
      case 'numeric-long':
        if (frames.length !== 1) problems.push(`numeric-long answer with ${frames.length} frames (one expected)`);
        items = numericLong(frames[0], problems);
        kind = 'numbers';
        break;
      case 'timeseries-multi':
      case 'timeseries-wide':
        if (meta.type === 'timeseries-wide' && frames.length !== 1) problems.push('timeseries-wide answer with more than one frame');
        items = series(frames, problems, meta.type === 'timeseries-wide');
        kind = 'series';
        break;
      default:
        problems.push(`meta.type "${meta.type}" is not read by alerting (numeric and time series kinds only)`);
        return { problems, kind: 'numbers', items: [] };
    }
  } else if (frames.length === 1 && frames[0].schema.fields.filter((x) => x.type === 'number').length === 1 && frames[0].schema.fields.every((x) => x.type === 'number' || x.type === 'string')) {
    items = numericLong(frames[0], problems);
    kind = 'numbers';
  } else {
    items = series(frames, problems, true);
    kind = 'series';
  }
  unique(items, problems);
  return { problems, kind, items };
}
