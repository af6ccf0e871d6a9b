import type { DuckDBValue } from '@duckdb/node-api';
import { cidrRange, parseAddress } from '../../enrich/address-class';
import { protocolNumber } from '../../model/names';
import { dimension, type Dimension } from '../../query/dimensions';
import { QueryError, type CheckedQuery, type Filter } from '../../query/model';
import { FLOW_BUCKET_ROWS } from './schema';

/** Collects bind parameters while SQL text is assembled (values never enter the SQL text). */
export class Params {
  readonly values: DuckDBValue[] = [];

  add(v: DuckDBValue): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

function scalar(dim: Dimension, v: string | number | boolean): DuckDBValue {
  switch (dim.type) {
    case 'number': {
      const n = typeof v === 'string' && dim.key === 'proto' && protocolNumber(v) !== undefined ? (protocolNumber(v) as number) : Number(v);
      if (typeof v === 'boolean' || !Number.isFinite(n)) throw new QueryError(`filter "${dim.key}": "${String(v)}" is not a number`);
      return n;
    }
    case 'boolean':
      if (v === true || v === 'true') return true;
      if (v === false || v === 'false') return false;
      throw new QueryError(`filter "${dim.key}": "${String(v)}" is not true or false`);
    case 'ip': {
      const a = parseAddress(String(v));
      return a ? a.toString() : String(v);
    }
    default:
      return String(v);
  }
}

/** One filter as a SQL condition on a table that has the dimension's column(s). */
export function filterCondition(f: Filter, p: Params): string {
  const dim = dimension(f.key);
  if (!dim) throw new QueryError(`unknown filter key "${f.key}"`);
  const columns = Array.isArray(dim.column) ? dim.column : [dim.column];
  const negative = f.operator === '!=' || f.operator === '!~';
  const parts = columns.map((col) => {
    switch (f.operator) {
      case '=':
        return `${col} = ${p.add(scalar(dim, f.value as string))}`;
      case '!=':
        return `${col} IS DISTINCT FROM ${p.add(scalar(dim, f.value as string))}`;
      case 'in': {
        const list = (f.value as (string | number | boolean)[]).map((v) => p.add(scalar(dim, v)));
        return list.length === 0 ? 'false' : `${col} IN (${list.join(', ')})`;
      }
      case '=~':
        return `coalesce(regexp_full_match(CAST(${col} AS VARCHAR), ${p.add(String(f.value))}), false)`;
      case '!~':
        return `NOT coalesce(regexp_full_match(CAST(${col} AS VARCHAR), ${p.add(String(f.value))}), false)`;
      case '>':
        return `${col} > ${p.add(scalar(dim, f.value as string))}`;
      case '<':
        return `${col} < ${p.add(scalar(dim, f.value as string))}`;
      case 'cidr': {
        let range: [bigint, bigint];
        try {
          range = cidrRange(String(f.value));
        } catch {
          throw new QueryError(`filter "${f.key}": "${String(f.value)}" is not a CIDR block`);
        }
        // As text cast to UHUGEINT: a JS bigint parameter binds as a signed HUGEINT, which cannot hold
        // the upper half of the IPv6 space (fd00::/8, ::/0 ...).
        return `${col}_num BETWEEN CAST(${p.add(range[0].toString())} AS UHUGEINT) AND CAST(${p.add(range[1].toString())} AS UHUGEINT)`;
      }
    }
  });
  return parts.length === 1 ? parts[0] : `(${parts.join(negative ? ' AND ' : ' OR ')})`;
}

/** Rows (flows or captures, by their first_ns/last_ns) overlapping [from, to). */
export function overlaps(q: CheckedQuery, p: Params): string {
  return `first_ns < ${p.add(BigInt(Math.ceil(q.to)) * 1_000_000n)} AND last_ns >= ${p.add(BigInt(Math.floor(q.from)) * 1_000_000n)}`;
}

/** Conditions for the flows table: flows overlapping [from, to) and every filter. */
export function flowWhere(q: CheckedQuery, p: Params): string {
  const conds = [overlaps(q, p)];
  for (const f of q.filters) conds.push(filterCondition(f, p));
  return conds.join(' AND ');
}

/**
 * Filter conditions for bucket rows. Keys stored only with flows (tunnel, duration, ...) become a
 * semi-join on the flows table.
 */
export function bucketFilters(q: CheckedQuery, p: Params): string {
  const conds: string[] = [];
  const flowOnly: Filter[] = [];
  for (const f of q.filters) {
    if (dimension(f.key)?.inBuckets) conds.push(filterCondition(f, p));
    else flowOnly.push(f);
  }
  if (flowOnly.length > 0) {
    conds.push(`(capture_id, flow_id) IN (SELECT capture_id, flow_id FROM flows WHERE ${flowOnly.map((f) => filterCondition(f, p)).join(' AND ')})`);
  }
  return conds.length > 0 ? conds.join(' AND ') : 'true';
}

const MINUTE = 60_000;
/** Ranges longer than this read whole minutes from the one-minute rollup. */
const ROLLUP_FROM_MS = 2 * 3600_000;

/**
 * Bucket rows of [from, to) as a FROM item: `buckets` and the rows one-bucket flows keep in the
 * flows table (FLOW_BUCKET_ROWS). Long ranges read their whole minutes from `buckets_1m` and only
 * the partial minutes at either edge from the bucket rows, so totals stay exact. Time series with a
 * step below one minute always read the bucket rows. `unrolled`: captures without a built rollup
 * (rollups.ts), whose whole range is read from the bucket rows, and nothing from `buckets_1m`.
 */
export function bucketRows(q: CheckedQuery, p: Params, stepMs: number | null, unrolled: readonly string[]): string {
  const from = Math.floor(q.from);
  const to = Math.ceil(q.to);
  const useRollup = to - from > ROLLUP_FROM_MS && (stepMs === null || stepMs % MINUTE === 0);
  const where = bucketFilters(q, p);
  /** Bucket rows (`buckets` and those kept with their flows) with times in [lo, hi), and more conditions. */
  const rows = (ranges: [number, number][], and: string): string => {
    const inRanges = (column: string): string => `(${ranges.map(([lo, hi]) => `(${column} >= ${p.add(lo)} AND ${column} < ${p.add(hi)})`).join(' OR ')})`;
    return `SELECT * FROM buckets WHERE ${inRanges('ts_ms')}${and} AND ${where}
    UNION ALL ${FLOW_BUCKET_ROWS} WHERE ${inRanges('bucket_ms')}${and} AND ${where}`;
  };
  if (!useRollup) return `(${rows([[from, to]], '')})`;
  const firstWhole = Math.ceil(from / MINUTE) * MINUTE;
  const endWhole = Math.floor(to / MINUTE) * MINUTE;
  const edges: [number, number][] = [[from, firstWhole], [endWhole, to]];
  const wholeMinutes = `ts_ms >= ${p.add(firstWhole)} AND ts_ms < ${p.add(endWhole)}`;
  if (unrolled.length === 0) return `(SELECT * FROM buckets_1m WHERE ${wholeMinutes} AND ${where}
    UNION ALL ${rows(edges, '')})`;
  // Captures without a built rollup: their whole range from the bucket rows (one scan of each table, not two).
  const ids = unrolled.map((id) => p.add(id)).join(', ');
  return `(SELECT * FROM buckets_1m WHERE ${wholeMinutes} AND capture_id NOT IN (${ids}) AND ${where}
    UNION ALL ${rows(edges, ` AND capture_id NOT IN (${ids})`)}
    UNION ALL ${rows([[from, to]], ` AND capture_id IN (${ids})`)})`;
}

/**
 * The measure of one bucket row (flows are counted from the flows table instead). Rates sum their
 * volume here; answer.ts divides by the step. The ip_* measures follow the addresses the query's
 * "ip" filters select: a row counts its src side when src is selected and its dst side when dst
 * is (a server's "sent" is what it answered, not what its clients sent it); with no "ip" filter
 * every address is selected.
 */
export function bucketMetric(q: CheckedQuery, p: Params): string {
  switch (q.metric) {
    case 'bytes':
    case 'bits_per_sec':
      return '(src_bytes + dst_bytes)';
    case 'bytes_sent':
      return 'src_bytes';
    case 'bytes_received':
      return 'dst_bytes';
    case 'packets':
    case 'packets_per_sec':
      return '(src_pkts + dst_pkts)';
    case 'packets_sent':
      return 'src_pkts';
    case 'packets_received':
      return 'dst_pkts';
    case 'ip_bytes_sent':
      return addressSide(q, p, 'bytes', true);
    case 'ip_bytes_received':
      return addressSide(q, p, 'bytes', false);
    case 'ip_packets_sent':
      return addressSide(q, p, 'pkts', true);
    case 'ip_packets_received':
      return addressSide(q, p, 'pkts', false);
    case 'retransmissions':
      return '(coalesce(src_retrans, 0) + coalesce(dst_retrans, 0))';
    case 'retrans_rate':
      return '(coalesce(src_retrans, 0) + coalesce(dst_retrans, 0))';
    case 'flows':
    case 'handshake_rtt':
    case 'resets':
      throw new Error(`${q.metric} is counted from the flows table`);
  }
}

/**
 * How a step's bucket measures combine: sums, except the retransmission rate, which is
 * retransmitted segments per hundred TCP packets of the step (rows without TCP health count in neither).
 */
export function bucketAggregate(q: CheckedQuery, m: string): { extra: string; value: string } {
  if (q.metric !== 'retrans_rate') return { extra: '', value: `sum(${m})` };
  return { extra: ', CASE WHEN src_retrans IS NULL THEN 0 ELSE src_pkts + dst_pkts END AS d', value: `100 * sum(m) / nullif(sum(d), 0)` };
}

function addressSide(q: CheckedQuery, p: Params, what: 'bytes' | 'pkts', sent: boolean): string {
  const selecting = q.filters.filter((f) => f.key === 'ip' && f.operator !== '!=' && f.operator !== '!~');
  const selected = (col: 'src' | 'dst'): string => (selecting.length === 0 ? 'true' : selecting.map((f) => filterCondition({ ...f, key: col }, p)).join(' AND '));
  const [fromSrc, fromDst] = sent ? [`src_${what}`, `dst_${what}`] : [`dst_${what}`, `src_${what}`];
  return `(CASE WHEN ${selected('src')} THEN ${fromSrc} ELSE 0 END + CASE WHEN ${selected('dst')} THEN ${fromDst} ELSE 0 END)`;
}

/** A group-by column as text, '(none)' for missing values (so a NULL group is a visible group). */
export function groupColumn(key: string, table?: string): string {
  const dim = dimension(key);
  if (!dim || Array.isArray(dim.column)) throw new QueryError(`cannot group by "${key}"`);
  return `coalesce(CAST(${table ? `${table}.` : ''}${dim.column} AS VARCHAR), '(none)')`;
}
