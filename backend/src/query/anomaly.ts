import type { FlowStore, ResultColumns } from '../store/flow-store';
import { countryName } from './country-names';
import { emptyFrame, frame, type DataFrameJSON, type FieldConfig, type FrameField, type FrameMeta } from './frames';
import { MEASURES, QueryError, type AnomalyKind, type AnomalyWindows, type CheckedQuery } from './model';

/**
 * The anomaly detectors (docs/query-model.md, "Anomaly detectors"): answers an alert rule can
 * threshold. Each answer is one `numeric-long` frame (data plane, typeVersion [0, 1]): string
 * columns become the alert instance's labels, and exactly one number column, the chosen measure,
 * so every label set has one number. An empty answer is a frame without fields: NoData.
 *
 * Windows: the query's range holds the window analysed, [end - windowMs, end), and before it the
 * baseline, cut into windows of the same length counting back (at most MAX_BASELINE of them).
 * `end` is the range's end, or with windowEnd "data" the end of the last traffic in the range.
 * A window without any traffic (under the query's filters) is a gap in the captures, not
 * silence: it is left out of the baseline, and a window analysed without traffic gives NoData.
 */
export const MIN_BASELINE = 3;
export const MAX_BASELINE = 1000;

/**
 * Robust spread: 1.4826 x MAD estimates a standard deviation. Floored for flat baselines (MAD 0):
 * at 5% of the median, at its square root (the counting noise of flows and packets) and at 1.
 */
function scale(median: number, mad: number): number {
  return Math.max(1.4826 * mad, 0.05 * Math.abs(median), Math.sqrt(Math.abs(median)), 1);
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface RobustChange {
  current: number;
  baseline: number;
  score: number;
  ratio: number;
}

/** The window's value against the baseline windows' values: robust score ((current - median) / spread) and ratio ((current + 1) / (median + 1)). */
export function robustChange(current: number, baseline: readonly number[]): RobustChange {
  const med = median(baseline);
  const mad = median(baseline.map((v) => Math.abs(v - med)));
  return { current, baseline: med, score: (current - med) / scale(med, mad), ratio: (current + 1) / (med + 1) };
}

function minimumBaseline(q: CheckedQuery): number {
  return q.kind === 'scan_suspects' ? 0 : q.kind === 'new_values' ? 1 : MIN_BASELINE;
}

/** Baseline windows between the range's start and a window ending at `end`. */
function baselineWindows(q: CheckedQuery, end: number): number {
  return Math.floor((end - q.windowMs - q.from) / q.windowMs);
}

/** A range too short for the detector whatever the data: a query error (HTTP 400) that says what to change. */
export function checkRange(q: CheckedQuery): void {
  const available = baselineWindows(q, q.to);
  const minimum = minimumBaseline(q);
  if (available < minimum) {
    const span = Math.round((q.to - q.from) / 60_000);
    throw new QueryError(
      `query ${q.refId}: kind "${q.kind}" compares a window of ${q.windowMs / 60_000} min with at least ${minimum} earlier window(s) of the same length, and the range holds ${Math.max(available, 0)} (${span} min): widen the time range or shorten windowMs`,
    );
  }
}

/** The windows of a query whose window ends at `end` (null: the traffic ends too early in the range for a baseline). */
export function windowsFor(q: CheckedQuery, end: number): AnomalyWindows | null {
  const available = baselineWindows(q, end);
  if (available < minimumBaseline(q)) return null;
  return { end, windowMs: q.windowMs, baseline: Math.min(available, MAX_BASELINE) };
}

const measureOf = (q: CheckedQuery): string => q.measure ?? MEASURES[q.kind as AnomalyKind][0];

function unitFor(q: CheckedQuery, measure: string): FieldConfig {
  if (measure.endsWith('score')) return { unit: 'none', decimals: 1, displayName: 'Robust score' };
  if (measure === 'ratio') return { unit: 'none', decimals: 2, displayName: 'Ratio to baseline' };
  if (measure.endsWith('share')) return { unit: 'percentunit', displayName: measure === 'failed_share' ? 'Failed share' : 'DNS error share' };
  if (measure === 'bytes' || ((measure === 'current' || measure === 'baseline') && /bytes/.test(q.metric))) return { unit: 'decbytes' };
  return { unit: 'short' };
}

function label(name: string, displayName?: string): FrameField {
  // Label columns are never null: the data plane reader makes a label of every string value.
  return { name, type: 'string', typeInfo: { frame: 'string' }, config: displayName ? { displayName } : {} };
}

function numeric(q: CheckedQuery, measure: string, labels: { name: string; values: string[] }[], values: number[], custom: Record<string, unknown>): DataFrameJSON {
  const order = values.map((_, i) => i).sort((a, b) => values[b] - values[a] || labels.map((l) => l.values[a].localeCompare(l.values[b])).find((c) => c !== 0) || 0);
  const fields: FrameField[] = [...labels.map((l) => label(l.name, l.name.endsWith('country') ? 'Country' : undefined)), { name: measure, type: 'number', typeInfo: { frame: 'float64' }, config: unitFor(q, measure) }];
  const meta: FrameMeta = { type: 'numeric-long', preferredVisualisationType: 'table', custom };
  return frame(q.refId, meta, fields, [...labels.map((l) => order.map((i) => l.values[i])), order.map((i) => values[i])]);
}

function noData(q: CheckedQuery, reason: string, custom: Record<string, unknown> = {}): DataFrameJSON {
  const f = emptyFrame(q.refId, 'numeric-long');
  f.schema.meta.notices = [{ severity: 'info', text: reason }];
  f.schema.meta.custom = custom;
  return f;
}

function windowInfo(w: AnomalyWindows, observed?: number): Record<string, unknown> {
  return { windowFrom: w.end - w.windowMs, windowTo: w.end, windowMs: w.windowMs, baselineWindows: w.baseline, ...(observed !== undefined ? { observedBaselineWindows: observed } : {}) };
}

/** Per group: the value of each window (index 0 = analysed), from rows of (name, i, column). */
function byGroup(cols: ResultColumns, column: string): Map<string, Map<number, number>> {
  const groups = new Map<string, Map<number, number>>();
  const names = cols.name ?? [];
  names.forEach((n, r) => {
    const g = String(n ?? '');
    let m = groups.get(g);
    if (!m) groups.set(g, (m = new Map()));
    const i = Number(cols.i[r]);
    m.set(i, (m.get(i) ?? 0) + Number(cols[column][r] ?? 0));
  });
  return groups;
}

/** Windows with any traffic at all (the others are gaps between captures). */
function observedWindows(cols: ResultColumns, column: string): Set<number> {
  const seen = new Set<number>();
  (cols.i ?? []).forEach((i, r) => {
    if (Number(cols[column][r]) > 0) seen.add(Number(i));
  });
  return seen;
}

function labelsOf(q: CheckedQuery, groups: string[]): { name: string; values: string[] }[] {
  return q.groupBy.length > 0 ? [{ name: q.groupBy[0], values: groups }] : [];
}

function volumeChange(q: CheckedQuery, w: AnomalyWindows, cols: ResultColumns): DataFrameJSON {
  const observed = observedWindows(cols, 'value');
  const base = [...observed].filter((i) => i > 0 && i <= w.baseline);
  if (!observed.has(0)) return noData(q, 'no traffic in the window analysed', windowInfo(w, base.length));
  if (base.length < MIN_BASELINE) return noData(q, `only ${base.length} baseline window(s) had traffic; ${MIN_BASELINE} are needed`, windowInfo(w, base.length));
  const groups = byGroup(cols, 'value');
  const totals = [...groups.entries()].map(([g, m]) => ({ g, m, total: [...m.entries()].filter(([i]) => i === 0 || base.includes(i)).reduce((a, [, v]) => a + v, 0) }));
  totals.sort((a, b) => b.total - a.total || a.g.localeCompare(b.g));
  const kept = totals.slice(0, q.topN);
  const measure = measureOf(q) as keyof RobustChange;
  const values = kept.map(({ m }) => robustChange(m.get(0) ?? 0, base.map((i) => m.get(i) ?? 0))[measure]);
  return numeric(q, measure, labelsOf(q, kept.map((k) => k.g)), values, windowInfo(w, base.length));
}

function failureSurge(q: CheckedQuery, w: AnomalyWindows, cols: ResultColumns): DataFrameJSON {
  const measure = measureOf(q);
  const dns = measure.startsWith('dns');
  const observed = observedWindows(cols, dns ? 'dns' : 'flows');
  const base = [...observed].filter((i) => i > 0 && i <= w.baseline);
  if (!observed.has(0)) return noData(q, dns ? 'no DNS answers in the window analysed' : 'no flows started in the window analysed', windowInfo(w, base.length));
  if (measure.endsWith('score') && base.length < MIN_BASELINE) return noData(q, `only ${base.length} baseline window(s) had traffic; ${MIN_BASELINE} are needed`, windowInfo(w, base.length));
  const count = byGroup(cols, dns ? 'dns_errors' : 'failed');
  const total = byGroup(cols, dns ? 'dns' : 'flows');
  const rows: { g: string; value: number; rank: number }[] = [];
  for (const [g, t] of total) {
    const n = t.get(0) ?? 0;
    const c = count.get(g) ?? new Map<number, number>();
    const now = c.get(0) ?? 0;
    let value: number;
    if (measure.endsWith('score')) value = robustChange(now, base.map((i) => c.get(i) ?? 0)).score;
    else if (now === 0) continue; // a group without failures is not a row of a count or a share
    else value = measure.endsWith('share') ? now / n : now;
    rows.push({ g, value, rank: now });
  }
  rows.sort((a, b) => b.rank - a.rank || a.g.localeCompare(b.g));
  const kept = rows.slice(0, q.topN);
  return numeric(q, measure, labelsOf(q, kept.map((r) => r.g)), kept.map((r) => r.value), windowInfo(w, base.length));
}

function newValues(q: CheckedQuery, w: AnomalyWindows, cols: ResultColumns): DataFrameJSON {
  const measure = measureOf(q);
  const r = (cols.value ?? []).findIndex((v) => v === null);
  const baselineFlows = r >= 0 ? Number(cols.baseline_flows[r]) : 0;
  if (baselineFlows === 0) return noData(q, 'no traffic in the baseline: nothing to compare the window with', windowInfo(w));
  const rows = (cols.value ?? []).map((v, i) => ({ v: String(v), n: Number(cols[measure][i] ?? 0), rank: Number(cols.flows[i] ?? 0) })).filter((_x, i) => cols.value[i] !== null);
  rows.sort((a, b) => b.rank - a.rank || a.v.localeCompare(b.v));
  const kept = rows.slice(0, q.topN);
  if (kept.length === 0) return noData(q, `no ${q.key} value in the window that the baseline did not have`, windowInfo(w));
  const key = q.key as string;
  const labels = [{ name: key, values: kept.map((x) => x.v) }];
  if (key.endsWith('country')) labels.push({ name: `${key}_name`, values: kept.map((x) => countryName(x.v)) });
  return numeric(q, measure, labels, kept.map((x) => x.n), windowInfo(w));
}

function scanSuspects(q: CheckedQuery, w: AnomalyWindows, cols: ResultColumns): DataFrameJSON {
  const measure = measureOf(q);
  const rows = (cols.name ?? []).map((n, i) => ({ src: String(n), value: Number(cols[measure][i] ?? 0) })).filter((r) => r.value > 0);
  if (rows.length === 0) return noData(q, 'no initiator in the window matches', windowInfo(w));
  return numeric(q, measure, [{ name: 'src', values: rows.map((r) => r.src) }], rows.map((r) => r.value), windowInfo(w));
}

/** Answers an anomaly query (the checked query's kind is one of ANOMALY_KINDS). */
export async function answerAnomaly(store: FlowStore, q: CheckedQuery, signal?: AbortSignal): Promise<DataFrameJSON[]> {
  checkRange(q);
  let end = q.to;
  if (q.windowEnd === 'data') {
    const latest = await store.latestActivityMs(q, signal);
    if (latest === null) return [noData(q, 'no traffic in the range')];
    end = Math.min(latest, q.to);
  }
  const w = windowsFor(q, end);
  if (!w) return [noData(q, `the traffic in the range ends ${Math.round((end - q.from) / 60_000)} min after its start: too early for ${minimumBaseline(q)} baseline window(s) before the last ${q.windowMs / 60_000} min`)];
  const cols = await store.run({ ...q, windows: w }, signal);
  switch (q.kind as AnomalyKind) {
    case 'volume_change':
      return [volumeChange(q, w, cols)];
    case 'failure_surge':
      return [failureSurge(q, w, cols)];
    case 'new_values':
      return [newValues(q, w, cols)];
    case 'scan_suspects':
      return [scanSuspects(q, w, cols)];
  }
}
