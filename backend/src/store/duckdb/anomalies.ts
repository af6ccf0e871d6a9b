import type { CheckedQuery } from '../../query/model';
import { FAILED_STATES, DNS_ERROR_RCODES } from '../../query/anomaly-rules';
import { dimension } from '../../query/dimensions';
import { bucketMetric, bucketRows, flowWhere, groupColumn, Params } from './sql';

/**
 * SQL of the anomaly detectors (DuckDB dialect). Each returns per-window or per-group counts; the
 * statistics (median, MAD, scores, shares) are computed in query/anomaly.ts. Window i (0 = the one
 * analysed, 1.. = baseline, counting back) of a timestamp t is (end - 1 - t) // windowMs.
 */
const MINUTE = 60_000;

function windows(q: CheckedQuery): { end: number; w: number; start: number; windowStart: number } {
  const win = q.windows;
  if (!win) throw new Error('anomaly query without windows');
  return { end: win.end, w: win.windowMs, start: win.end - (win.baseline + 1) * win.windowMs, windowStart: win.end - win.windowMs };
}

const ns = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;
const inList = (values: readonly string[], p: Params): string => values.map((v) => p.add(v)).join(', ');

/** Columns name, i, value: volume per group per window (bucket rows; flows counted by their start). */
export function volumeByWindow(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const { end, w, start } = windows(q);
  const g = q.groupBy.length > 0 ? groupColumn(q.groupBy[0]) : `''`;
  if (q.metric === 'flows') {
    const span = { ...q, from: start, to: end };
    return `SELECT ${g} AS name, ((${p.add(ns(end))} - 1 - first_ns) // ${p.add(ns(w))}) AS i, count(*)::DOUBLE AS value
      FROM flows WHERE ${flowWhere(span, p)} AND first_ns >= ${p.add(ns(start))} AND first_ns < ${p.add(ns(end))} GROUP BY ALL`;
  }
  // Whole-minute windows on minute boundaries may read the one-minute rollup for long spans.
  const aligned = end % MINUTE === 0 && w % MINUTE === 0;
  const rows = bucketRows({ ...q, from: start, to: end }, p, aligned ? w : 1000, unrolled);
  return `SELECT ${g} AS name, ((${p.add(end)} - 1 - ts_ms) // ${p.add(w)}) AS i, sum(${bucketMetric(q, p)})::DOUBLE AS value FROM ${rows} GROUP BY ALL`;
}

/** Columns name, i, flows, failed, dns, dns_errors: flows started per group per window. */
export function failuresByWindow(q: CheckedQuery, p: Params): string {
  const { end, w, start } = windows(q);
  const g = q.groupBy.length > 0 ? groupColumn(q.groupBy[0]) : `''`;
  const span = { ...q, from: start, to: end };
  return `SELECT ${g} AS name, ((${p.add(ns(end))} - 1 - first_ns) // ${p.add(ns(w))}) AS i, count(*)::DOUBLE AS flows,
      count(*) FILTER (WHERE state IN (${inList(FAILED_STATES, p)}))::DOUBLE AS failed,
      count(*) FILTER (WHERE dns_rcode IS NOT NULL)::DOUBLE AS dns,
      count(*) FILTER (WHERE dns_rcode IN (${inList(DNS_ERROR_RCODES, p)}))::DOUBLE AS dns_errors
    FROM flows WHERE ${flowWhere(span, p)} AND first_ns >= ${p.add(ns(start))} AND first_ns < ${p.add(ns(end))} GROUP BY ALL`;
}

/**
 * Columns value, flows, bytes, baseline_flows: values of the key in flows overlapping the window
 * that no flow overlapping the baseline had; plus one row with value NULL carrying the number of
 * flows in the baseline (none means the baseline was not observed).
 */
export function newValues(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const { end, start, windowStart } = windows(q);
  const dim = dimension(q.key as string);
  if (!dim) throw new Error(`unknown key ${String(q.key)}`);
  const cols = Array.isArray(dim.column) ? dim.column : [dim.column];
  const span = { ...q, from: start, to: end };
  const ws = p.add(ns(windowStart));
  const where = flowWhere(span, p);
  const seen = cols.map((c) => `SELECT CAST(${c} AS VARCHAR) AS value, first_ns < ${ws} AS in_base, last_ns >= ${ws} AS in_win FROM flows WHERE ${where}`).join(' UNION ALL ');
  const fresh = `SELECT value, count(*) FILTER (WHERE in_win)::DOUBLE AS flows FROM (${seen}) WHERE value IS NOT NULL GROUP BY value
    HAVING count(*) FILTER (WHERE in_base) = 0 AND count(*) FILTER (WHERE in_win) > 0`;
  let bytes = `SELECT NULL::VARCHAR AS value, 0::DOUBLE AS bytes WHERE false`;
  if (q.measure === 'bytes') {
    const win = bucketRows({ ...q, from: windowStart, to: end }, p, 1000, unrolled);
    bytes = `SELECT value, sum(b)::DOUBLE AS bytes FROM (${cols.map((c) => `SELECT CAST(${c} AS VARCHAR) AS value, src_bytes + dst_bytes AS b FROM ${win}`).join(' UNION ALL ')}) GROUP BY value`;
  }
  const baseline = `SELECT count(*)::DOUBLE AS n FROM flows WHERE ${where} AND first_ns < ${ws}`;
  return `WITH fresh AS (${fresh}), bytes AS (${bytes})
    SELECT fresh.value, fresh.flows, coalesce(bytes.bytes, 0) AS bytes, NULL::DOUBLE AS baseline_flows FROM fresh LEFT JOIN bytes USING (value)
    UNION ALL SELECT NULL, NULL, NULL, n FROM (${baseline})`;
}

const SCAN_COLUMNS = ['flows', 'hosts', 'ports', 'targets', 'failed', 'failed_targets', 'failed_share'];

/** Columns name, flows, hosts, ports, targets, failed, failed_targets, failed_share: per initiator in the window, best first by the measure. */
export function scanSuspects(q: CheckedQuery, p: Params): string {
  const { end, windowStart } = windows(q);
  const failed = `state IN (${inList(FAILED_STATES, p)})`;
  const measure = q.measure ?? 'failed_targets';
  if (!SCAN_COLUMNS.includes(measure)) throw new Error(`scan measure ${measure}`);
  return `SELECT src AS name, count(*)::DOUBLE AS flows, count(DISTINCT dst)::DOUBLE AS hosts, count(DISTINCT dport)::DOUBLE AS ports,
      count(DISTINCT dst || ' ' || dport)::DOUBLE AS targets, count(*) FILTER (WHERE ${failed})::DOUBLE AS failed,
      count(DISTINCT dst || ' ' || dport) FILTER (WHERE ${failed})::DOUBLE AS failed_targets,
      (count(*) FILTER (WHERE ${failed}))::DOUBLE / count(*) AS failed_share
    FROM flows WHERE ${flowWhere({ ...q, from: windowStart, to: end }, p)} AND src IS NOT NULL
    GROUP BY src ORDER BY "${measure}" DESC, src LIMIT ${p.add(q.topN)}`;
}

/** The end of the last traffic in the range under the filters, rounded up to a whole second (null: none). */
export function latestActivity(q: CheckedQuery, p: Params): string {
  return `SELECT (ceil(max(least(last_ns + 1, ${p.add(ns(q.to))})) / 1e9) * 1000)::DOUBLE AS end_ms FROM flows WHERE ${flowWhere(q, p)}`;
}
