import { Type, type Static } from '@sinclair/typebox';
import { ANOMALY_KINDS, isAnomalyKind, MEASURES } from './anomaly-kinds';
import { isIP } from 'node:net';
import { protocolNumber } from '../model/names';
import { dimension, DIMENSION_KEYS, type Dimension } from './dimensions';

export { ANOMALY_KINDS, isAnomalyKind, MEASURES, type AnomalyKind } from './anomaly-kinds';

/**
 * The one query shape shared by the HTTP API, the Grafana data source and (later) alert rules.
 * See docs/query-model.md for the semantics of each kind.
 */
export const KINDS = ['timeseries', 'flows', 'endpoints', 'peers', 'protocols', 'countries', 'conversations', 'captures', 'values', 'keys', 'histogram', ...ANOMALY_KINDS] as const;
export type Kind = (typeof KINDS)[number];

export const METRICS = [
  'bytes', 'bytes_sent', 'bytes_received', 'packets', 'packets_sent', 'packets_received', 'flows',
  'bits_per_sec', 'packets_per_sec', 'ip_bytes_sent', 'ip_bytes_received', 'ip_packets_sent', 'ip_packets_received',
  ...['retransmissions', 'retrans_rate', 'handshake_rtt', 'resets'] as const,
] as const;
/** TCP health measures (time series only): from the buckets (retransmissions, retrans_rate) or the flows started per step. */
export const TCP_METRICS: readonly string[] = ['retransmissions', 'retrans_rate', 'handshake_rtt', 'resets'];
/** Measures counted from the flows table (by the flows' start), not from the time buckets. */
export const FLOW_METRICS: readonly string[] = ['flows', 'handshake_rtt', 'resets'];
export type Metric = (typeof METRICS)[number];

export const OPERATORS = ['=', '!=', 'in', '=~', '!~', 'cidr', '>', '<'] as const;
export type Operator = (typeof OPERATORS)[number];

/** A string enum whose static type is the union of its values. */
const literalUnion = <T extends readonly string[]>(values: T, description: string) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });

const Scalar = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]);

export const FilterSchema = Type.Object(
  {
    key: Type.String({ description: 'dimension key (see kind "keys")', maxLength: 64 }),
    operator: literalUnion(OPERATORS, 'comparison'),
    value: Type.Union([Scalar, Type.Array(Scalar, { maxItems: 1000 })]),
  },
  { additionalProperties: false },
);
export type Filter = Static<typeof FilterSchema>;

export const QuerySchema = Type.Object(
  {
    refId: Type.Optional(Type.String({ maxLength: 64 })),
    kind: literalUnion(KINDS, 'what to compute'),
    from: Type.Optional(Type.Number({ description: 'range start, epoch ms (inclusive)' })),
    to: Type.Optional(Type.Number({ description: 'range end, epoch ms (exclusive)' })),
    intervalMs: Type.Optional(Type.Number({ minimum: 1, description: 'time-series step' })),
    maxDataPoints: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    metric: Type.Optional(literalUnion(METRICS, 'measure (bytes_sent = initiator to responder; ip_bytes_sent = what the addresses of the "ip" filters sent, in either role; *_per_sec = rates; retransmissions, retrans_rate (% of TCP packets), handshake_rtt (median ms of the flows started), resets (flows reset): TCP health, kind timeseries)')),
    groupBy: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 1, description: 'one dimension key' })),
    filters: Type.Optional(Type.Array(FilterSchema, { maxItems: 50 })),
    topN: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'keep the N largest groups; the rest become "other"' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
    sort: Type.Optional(Type.Object({ by: Type.String({ maxLength: 64 }), desc: Type.Optional(Type.Boolean()) }, { additionalProperties: false })),
    key: Type.Optional(Type.String({ maxLength: 64, description: 'for kind "values": the dimension to list' })),
    search: Type.Optional(Type.String({ maxLength: 256, description: 'for kind "values": only values containing this text (any case)' })),
    side: Type.Optional(literalUnion(['both', 'src', 'dst', 'remote'] as const, 'for kind "countries": which end to locate')),
    windowMs: Type.Optional(Type.Integer({ minimum: 1000, maximum: 7 * 86_400_000, description: 'anomaly kinds: length of the window analysed (ms); the rest of the range is the baseline' })),
    measure: Type.Optional(Type.String({ maxLength: 32, description: 'anomaly kinds: the number returned per label set' })),
    windowEnd: Type.Optional(literalUnion(['range', 'data'] as const, 'anomaly kinds: the window ends at the range end, or at the last traffic in the range')),
    columns: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100, description: 'table kinds: the columns to return, in this order (names a kind does not have are skipped; none known: all)' })),
  },
  { additionalProperties: false },
);
export type Query = Static<typeof QuerySchema>;

export const QueryRequestSchema = Type.Union([
  QuerySchema,
  Type.Object(
    {
      queries: Type.Array(QuerySchema, { minItems: 1, maxItems: 50 }),
      format: Type.Optional(literalUnion(['json', 'arrow'] as const, 'frames as frame JSON (default), or each as an Arrow IPC file in base64 (what Grafana\'s server reads from a backend plugin)')),
    },
    { additionalProperties: false },
  ),
]);

/** A query after checking: defaults filled in, keys resolved. */
export interface CheckedQuery extends Query {
  refId: string;
  from: number;
  to: number;
  metric: Metric;
  groupBy: string[];
  filters: Filter[];
  intervalMs: number;
  topN: number;
  limit: number;
  offset: number;
  windowMs: number;
  /** Anomaly kinds: the windows compared, set once the window's end is known (query/anomaly.ts). */
  windows?: AnomalyWindows;
}

/**
 * The windows of an anomaly query: window i (0 = the one analysed, 1..baseline = the baseline,
 * counting back) covers [end - (i + 1) * windowMs, end - i * windowMs), epoch ms.
 */
export interface AnomalyWindows {
  end: number;
  windowMs: number;
  baseline: number;
}

export class QueryError extends Error {}

const NICE_STEPS_MS = [1, 10, 100, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000];

/**
 * The time-series step for at least `ms`: the smallest round step (1 s, 2 s, 5 s, ... 1 min, 2 min,
 * ... 1 d) that is also a whole number of stored buckets, so a step never falls below the bucket
 * and never aliases with it (a 1.5 s step on 1 s buckets would alternate one and two buckets).
 * Steps of whole minutes read the rollup.
 */
export function timeStep(ms: number, bucketMs: number): number {
  const need = Math.max(ms, bucketMs);
  for (const s of NICE_STEPS_MS) if (s >= need && s % bucketMs === 0) return s;
  return Math.ceil(need / 86_400_000) * 86_400_000;
}

/** Epoch 0 to the year 2243: a query without a range sees every capture. */
const ALL_TIME: [number, number] = [0, 8_640_000_000_000];

/** The refId of the index-th query of a request that names none: A, B, ... */
export function defaultRefId(index: number): string {
  return String.fromCharCode(65 + (index % 26));
}

/** `bucketMs`: the width of the stored time buckets (the sidecar's --bucket). */
export function checkQuery(q: Query, index = 0, bucketMs = 1000): CheckedQuery {
  const where = q.refId ? `query ${q.refId}` : `query ${index}`;
  checkNumbers(q, where);
  const from = q.from ?? ALL_TIME[0];
  const to = q.to ?? ALL_TIME[1];
  if (!(to > from)) throw new QueryError(`${where}: "to" (${to}) must be after "from" (${from})`);
  const groupBy = q.groupBy ?? [];
  for (const g of groupBy) {
    const dim = known(g, where, 'groupBy');
    if (Array.isArray(dim.column)) throw new QueryError(`${where}: groupBy "${g}" matches either end; group by "${dim.column[0]}" or "${dim.column[1]}" instead`);
    // Flows started are counted from the flows table, where every key is; volumes come from the buckets.
    if (q.kind === 'timeseries' && !dim.inBuckets && !FLOW_METRICS.includes(q.metric ?? 'bytes')) throw new QueryError(`${where}: groupBy "${g}" is flow-level: a time series of it counts flows started (metric "flows"), not volumes`);
  }
  const filters = q.filters ?? [];
  for (const f of filters) checkFilter(f, where);
  if (q.metric !== undefined && TCP_METRICS.includes(q.metric) && q.kind !== 'timeseries') {
    throw new QueryError(`${where}: metric "${q.metric}" is a TCP health measure of kind "timeseries"; kind "${q.kind}" ranks by bytes, packets or flows`);
  }
  if (q.kind === 'values' || q.kind === 'new_values') {
    if (!q.key) throw new QueryError(`${where}: kind "${q.kind}" needs "key" (one of ${DIMENSION_KEYS.join(', ')})`);
    known(q.key, where, 'key');
  }
  if (q.search !== undefined && q.kind !== 'values') throw new QueryError(`${where}: "search" applies to kind "values", not to "${q.kind}"`);
  if (isAnomalyKind(q.kind)) {
    if (q.measure !== undefined && !MEASURES[q.kind].includes(q.measure)) {
      throw new QueryError(`${where}: measure "${q.measure}" is not one of kind "${q.kind}" (${MEASURES[q.kind].join(', ')})`);
    }
    if (q.kind === 'volume_change' && groupBy.length === 1 && !dimension(groupBy[0])?.inBuckets && q.metric !== 'flows') {
      throw new QueryError(`${where}: groupBy "${groupBy[0]}" is a flow-level key; volume of bytes or packets needs a key stored with the time buckets`);
    }
    if (q.kind === 'new_values' && q.measure === 'bytes' && !dimension(q.key as string)?.inBuckets) {
      throw new QueryError(`${where}: measure "bytes" needs a key stored with the time buckets; "${q.key}" is flow-level (use measure "flows")`);
    }
  } else {
    for (const k of ['windowMs', 'measure', 'windowEnd'] as const) {
      if (q[k] !== undefined) throw new QueryError(`${where}: "${k}" applies to the anomaly kinds (${ANOMALY_KINDS.join(', ')}), not to "${q.kind}"`);
    }
  }
  const maxPoints = q.maxDataPoints ?? 1000;
  const intervalMs = timeStep(Math.max(Math.ceil((to - from) / maxPoints), q.intervalMs ?? 0), bucketMs);
  return {
    ...q,
    refId: q.refId ?? defaultRefId(index),
    from,
    to,
    metric: q.metric ?? 'bytes',
    groupBy,
    filters,
    intervalMs,
    topN: q.topN ?? 10,
    limit: q.limit ?? 100,
    offset: q.offset ?? 0,
    windowMs: q.windowMs ?? 300_000,
  };
}

function known(key: string, where: string, field: string): Dimension {
  const dim = dimension(key);
  if (!dim) throw new QueryError(`${where}: unknown ${field} key "${key}" (known: ${DIMENSION_KEYS.join(', ')})`);
  return dim;
}

function checkFilter(f: Filter, where: string): void {
  const dim = known(f.key, where, 'filter');
  const many = Array.isArray(f.value);
  if (f.operator === 'in' ? !many : many) throw new QueryError(`${where}: filter "${f.key}": operator "${f.operator}" takes ${f.operator === 'in' ? 'a list' : 'one value'}`);
  if (f.operator === 'cidr') {
    if (dim.type !== 'ip') throw new QueryError(`${where}: filter "${f.key}": "cidr" applies to address keys (src, dst, ip)`);
    if (typeof f.value !== 'string' || !/^[0-9a-fA-F:.]+\/\d{1,3}$/.test(f.value)) throw new QueryError(`${where}: filter "${f.key}": "${String(f.value)}" is not a CIDR block`);
  }
  if ((f.operator === '>' || f.operator === '<') && dim.type !== 'number') throw new QueryError(`${where}: filter "${f.key}": "${f.operator}" applies to numeric keys`);
  if ((f.operator === '>' || f.operator === '<') && typeof f.value !== 'number' && !/^-?\d+(\.\d+)?$/.test(String(f.value))) {
    throw new QueryError(`${where}: filter "${f.key}": "${String(f.value)}" is not a number`);
  }
  // (Regular expressions are checked by the store's own engine, RE2, before the query runs.)
  if ((f.operator === '=~' || f.operator === '!~') && typeof f.value !== 'string') throw new QueryError(`${where}: filter "${f.key}": a regular expression must be a string`);
  if (f.operator !== '=~' && f.operator !== '!~' && f.operator !== 'cidr') {
    for (const v of Array.isArray(f.value) ? f.value : [f.value]) checkScalar(dim, v, `${where}: filter "${f.key}"`);
  }
}

/** Largest magnitude a numeric filter value may have: every stored counter fits (2^53). */
const MAX_FILTER_NUMBER = Number.MAX_SAFE_INTEGER;

/**
 * One filter value against its key's type. Numbers are decimal (no "", "0x35", "1e3" or octal
 * spellings) and within the counters' range; addresses are IPv4 dotted decimal or IPv6 text.
 */
function checkScalar(dim: Dimension, v: string | number | boolean, where: string): void {
  if (dim.type === 'number') {
    if (dim.key === 'proto' && typeof v === 'string' && protocolNumber(v) !== undefined) return;
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN;
    if (Number.isNaN(n)) throw new QueryError(`${where}: "${String(v)}" is not a decimal number`);
    if (!Number.isFinite(n) || Math.abs(n) > MAX_FILTER_NUMBER) throw new QueryError(`${where}: ${String(v)} is out of range (at most ${MAX_FILTER_NUMBER} in magnitude)`);
  } else if (dim.type === 'ip') {
    if (typeof v !== 'string' || isIP(v) === 0) throw new QueryError(`${where}: "${String(v)}" is not an IP address (IPv4 dotted decimal or IPv6)`);
  } else if (dim.type === 'boolean') {
    if (v !== true && v !== false && v !== 'true' && v !== 'false') throw new QueryError(`${where}: "${String(v)}" is not true or false`);
  }
}

/** Epoch ms a range bound may take: JavaScript's date range (about 275,000 years either way). */
const MAX_TIME_MS = 8.64e15;
/** The longest time-series step: a year. */
const MAX_STEP_MS = 366 * 86_400_000;

function checkNumbers(q: Query, where: string): void {
  for (const k of ['from', 'to'] as const) {
    const v = q[k];
    if (v !== undefined && !(Math.abs(v) <= MAX_TIME_MS)) throw new QueryError(`${where}: "${k}" (${v}) is not a time: epoch milliseconds within ±${MAX_TIME_MS}`);
  }
  if (q.intervalMs !== undefined && !(q.intervalMs <= MAX_STEP_MS)) throw new QueryError(`${where}: "intervalMs" (${q.intervalMs}) is longer than a year (${MAX_STEP_MS} ms)`);
}

/**
 * Flow-duration bins of kind "histogram": CapAnalysis's "Duration vs Flows" bins (upper bounds in
 * ms, inclusive). CapAnalysis counted whole seconds and left a flow of exactly 1 s in no bin; here
 * the first bin takes it.
 */
export const DURATION_BINS: [string, number][] = [
  ['≤ 1 s', 1000],
  ['1-2 s', 2000],
  ['2-5 s', 5000],
  ['5-10 s', 10_000],
  ['10-30 s', 30_000],
  ['30 s-1 min', 60_000],
  ['1-2 min', 120_000],
  ['2-3 min', 180_000],
  ['3-10 min', 600_000],
  ['10-30 min', 1_800_000],
  ['30-60 min', 3_600_000],
  ['> 1 h', Infinity],
];
