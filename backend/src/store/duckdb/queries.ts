import { JSDuckDBValueConverter, type DuckDBConnection } from '@duckdb/node-api';
import { DURATION_BINS, QueryError, type CheckedQuery } from '../../query/model';
import type { ResultColumns } from '../flow-store';
import { bucketAggregate, bucketMetric, bucketRows, filterCondition, flowWhere, groupColumn, overlaps, Params } from './sql';
import { FLOW_METRICS } from '../../query/model';
import { TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../../flows/tcp-health';
import { dimension } from '../../query/dimensions';
import { failuresByWindow, latestActivity, newValues, scanSuspects, volumeByWindow } from './anomalies';

/**
 * SQL for each query kind (DuckDB dialect). Result columns per kind are documented in
 * query/results.ts; the frames module turns them into Grafana data frames.
 */
export async function runQuery(db: DuckDBConnection, q: CheckedQuery, unrolled: readonly string[]): Promise<ResultColumns> {
  const p = new Params();
  const sql = build(q, p, unrolled);
  // Chunk by chunk (2,048 rows each, fetched off the main thread): a 10,000-row page is converted
  // in slices between which other requests (and /health) get their turn.
  const result = await db.stream(sql, p.values);
  const names = result.columnNames();
  const columns = names.map((): (string | number | boolean | null)[] => []);
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const converted = chunk.convertColumns(JSDuckDBValueConverter);
    for (let c = 0; c < converted.length; c++) {
      const out = columns[c];
      for (const v of converted[c]) out.push(typeof v === 'bigint' ? Number(v) : (v as string | number | boolean | null));
    }
  }
  const out: ResultColumns = {};
  names.forEach((n, i) => (out[n] = columns[i]));
  return out;
}

/** `unrolled`: captures whose whole minutes are read from `buckets` (sql.ts bucketRows). */
function build(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  switch (q.kind) {
    case 'timeseries':
      return FLOW_METRICS.includes(q.metric) ? flowSeries(q, p) : bucketSeries(q, p, unrolled);
    case 'flows':
      return flowTable(q, p);
    case 'endpoints':
      return endpoints(q, p, unrolled);
    case 'peers':
      return peers(q, p, unrolled);
    case 'protocols':
      return shares(q, p, q.groupBy[0] ?? 'app', unrolled);
    case 'countries':
      return countries(q, p, unrolled);
    case 'conversations':
      return conversations(q, p, unrolled);
    case 'histogram':
      return histogram(q, p);
    case 'values':
      return values(q, p);
    case 'captures':
      return captures(q, p);
    case 'volume_change':
      return volumeByWindow(q, p, unrolled);
    case 'failure_surge':
      return failuresByWindow(q, p);
    case 'new_values':
      return newValues(q, p, unrolled);
    case 'scan_suspects':
      return scanSuspects(q, p);
    case 'keys':
      throw new Error('kind "keys" needs no store');
  }
}

/** End of the last traffic in the query's range (epoch ms, whole seconds), or null when there is none. */
export async function latestActivityMs(db: DuckDBConnection, q: CheckedQuery): Promise<number | null> {
  const p = new Params();
  const reader = await db.runAndReadAll(latestActivity(q, p), p.values);
  const v = reader.getRowsJS()[0]?.[0];
  return v === null || v === undefined ? null : Number(v);
}

/** `stored`: sort columns read from a stored column in the same order (no per-row expression before the top-N). */
function orderBy(q: CheckedQuery, allowed: readonly string[], fallback: string, stored: Record<string, string> = {}): string {
  const by = q.sort?.by ?? fallback;
  if (!allowed.includes(by)) throw new QueryError(`sort: "${by}" is not a column of kind "${q.kind}" (sortable: ${allowed.join(', ')})`);
  return `"${stored[by] ?? by}" ${q.sort?.desc === false ? 'ASC' : 'DESC'} NULLS LAST`;
}

function bucketSeries(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const step = q.intervalMs;
  const rows = bucketRows(q, p, step, unrolled);
  const m = bucketMetric(q, p);
  const agg = bucketAggregate(q, 'm');
  const stepParam = p.add(step);
  if (q.groupBy.length === 0) {
    return `WITH base AS (SELECT ts_ms, ${m} AS m${agg.extra} FROM ${rows})
      SELECT (ts_ms // ${stepParam}) * ${stepParam} AS time, (${agg.value})::DOUBLE AS value FROM base GROUP BY time ORDER BY time`;
  }
  const g = groupColumn(q.groupBy[0]);
  return `WITH base AS (SELECT ts_ms, ${g} AS g, ${m} AS m${agg.extra} FROM ${rows}),
    top AS (SELECT g FROM base GROUP BY g ORDER BY sum(m) DESC, g LIMIT ${p.add(q.topN)})
    SELECT (ts_ms // ${stepParam}) * ${stepParam} AS time, CASE WHEN g IN (SELECT g FROM top) THEN g ELSE '(other)' END AS series, (${agg.value})::DOUBLE AS value
    FROM base GROUP BY ALL ORDER BY time, series`;
}

/**
 * Flows started per step, or a TCP health measure of them: the median handshake RTT (ms) of the
 * flows that have one, the flows that ended with a reset.
 */
function flowSeries(q: CheckedQuery, p: Params): string {
  const step = p.add(q.intervalMs);
  const where = flowWhere(q, p);
  const t = `(first_ns // 1000000 // ${step}) * ${step}`;
  const range = `first_ns >= ${p.add(BigInt(Math.floor(q.from)) * 1_000_000n)}`;
  const [value, only] =
    q.metric === 'handshake_rtt' ? ['median(handshake_rtt_us) / 1000', ' AND handshake_rtt_us IS NOT NULL'] : q.metric === 'resets' ? ['count(*)', ' AND reset_by IS NOT NULL'] : ['count(*)', ''];
  if (q.groupBy.length === 0) return `SELECT ${t} AS time, (${value})::DOUBLE AS value FROM flows WHERE ${where} AND ${range}${only} GROUP BY time ORDER BY time`;
  const g = groupColumn(q.groupBy[0]);
  return `WITH base AS (SELECT first_ns, handshake_rtt_us, ${g} AS g FROM flows WHERE ${where} AND ${range}${only}),
    top AS (SELECT g FROM base GROUP BY g ORDER BY count(*) DESC, g LIMIT ${p.add(q.topN)})
    SELECT ${t} AS time, CASE WHEN g IN (SELECT g FROM top) THEN g ELSE '(other)' END AS series, (${value})::DOUBLE AS value
    FROM base GROUP BY ALL ORDER BY time, series`;
}

export const FLOW_COLUMNS = [
  'capture_id', 'flow_id', 'first', 'last', 'duration_ms', 'ip_version', 'proto', 'src', 'sport', 'dst', 'dport', 'app', 'app_source', 'server_name',
  'state', 'src_pkts', 'src_bytes', 'dst_pkts', 'dst_bytes', 'bytes', 'src_ip_bytes', 'dst_ip_bytes', 'src_payload_bytes', 'dst_payload_bytes',
  'src_country', 'dst_country', 'src_asn', 'dst_asn', 'src_as_org', 'dst_as_org', 'src_local', 'dst_local', 'vlan', 'tunnel', 'alpn', 'http_method',
  'dns_rcode', 'ssh_banner', 'src_tcp_flags', 'dst_tcp_flags', 'fragments', 'retrans', ...TCP_COUNT_FIELDS, ...TCP_TIME_FIELDS, 'reset_by', 'reset_after_data',
] as const;

/** Flow-table sort keys that are expressions or stored under another name. */
const FLOW_SORT_KEYS: Record<string, string> = { first: 'first_ns', last: 'last_ns', bytes: '(src_bytes + dst_bytes)', retrans: '(src_retrans + dst_retrans)' };

/**
 * One page of flows: the page's keys are chosen first (sorting only the sort key and the flow's
 * id), then only those rows are read whole (reading and computing every column of every matching
 * flow before the top-N made a 50-row page cost as much as the whole table).
 */
function flowTable(q: CheckedQuery, p: Params): string {
  const where = flowWhere(q, p);
  const by = q.sort?.by ?? 'first';
  if (!(FLOW_COLUMNS as readonly string[]).includes(by)) throw new QueryError(`sort: "${by}" is not a column of kind "flows" (sortable: ${FLOW_COLUMNS.join(', ')})`);
  const direction = `${q.sort?.desc === false ? 'ASC' : 'DESC'} NULLS LAST`;
  return `WITH page AS (
      SELECT capture_id, flow_id, ${FLOW_SORT_KEYS[by] ?? `"${by}"`} AS sort_key FROM flows WHERE ${where}
      ORDER BY sort_key ${direction}, capture_id, flow_id LIMIT ${p.add(q.limit)} OFFSET ${p.add(q.offset)})
    SELECT f.* EXCLUDE (first_ns, last_ns, src_num, dst_num, inner_vlan, bucket_ms), (f.first_ns // 1000)::DOUBLE / 1000 AS first, (f.last_ns // 1000)::DOUBLE / 1000 AS last,
      f.src_bytes + f.dst_bytes AS bytes, f.src_retrans + f.dst_retrans AS retrans, (f.first_ns // 1000000)::DOUBLE AS from_ms, (f.last_ns // 1000000 + 1)::DOUBLE AS to_ms,
      (SELECT count(*) FROM flows WHERE ${where}) AS total
    FROM page JOIN flows f USING (capture_id, flow_id) ORDER BY page.sort_key ${direction}, capture_id, flow_id`;
}

export const ENDPOINT_COLUMNS = ['ip', 'country', 'asn', 'as_org', 'local', 'bytes', 'bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'flows', 'flows_initiated', 'peers', 'names'] as const;

/**
 * The "ip" filters as a condition on one end's columns (`<end>`, `<end>_num`): which ends are the
 * selected addresses (none: every end). An endpoint row is an address the filters select, not every
 * address that talked to one.
 */
function selectedEnd(q: CheckedQuery, p: Params, end: 'src' | 'dst'): string {
  const ip = q.filters.filter((f) => f.key === 'ip');
  return ip.length === 0 ? 'true' : ip.map((f) => filterCondition({ ...f, key: end }, p)).join(' AND ');
}

function endpoints(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const rows = bucketRows(q, p, null, unrolled);
  const fw = flowWhere(q, p);
  const [bs, bd, fs, fd] = [selectedEnd(q, p, 'src'), selectedEnd(q, p, 'dst'), selectedEnd(q, p, 'src'), selectedEnd(q, p, 'dst')];
  return `WITH r AS (SELECT src, dst, src_num, dst_num, src_country, dst_country, src_asn, dst_asn, src_as_org, dst_as_org, src_local, dst_local, src_bytes, dst_bytes, src_pkts, dst_pkts FROM ${rows}),
    ends AS (
      SELECT src AS ip, src_country AS country, src_asn AS asn, src_as_org AS as_org, src_local AS local, src_bytes AS sent, dst_bytes AS recv, src_pkts AS ps, dst_pkts AS pr FROM r WHERE ${bs}
      UNION ALL
      SELECT dst, dst_country, dst_asn, dst_as_org, dst_local, dst_bytes, src_bytes, dst_pkts, src_pkts FROM r WHERE ${bd}),
    e AS (SELECT ip, any_value(country) AS country, any_value(asn) AS asn, any_value(as_org) AS as_org, bool_or(local) AS local,
            sum(sent)::DOUBLE AS bytes_sent, sum(recv)::DOUBLE AS bytes_received, sum(ps)::DOUBLE AS packets_sent, sum(pr)::DOUBLE AS packets_received
          FROM ends GROUP BY ip),
    fl AS (SELECT ip, count(*)::DOUBLE AS flows, count(*) FILTER (WHERE initiated)::DOUBLE AS flows_initiated, count(DISTINCT peer)::DOUBLE AS peers,
             array_to_string(list_slice(list(DISTINCT server_name ORDER BY server_name) FILTER (WHERE server_name IS NOT NULL), 1, 10), ', ') AS names
           FROM (SELECT src AS ip, dst AS peer, true AS initiated, server_name FROM flows WHERE ${fw} AND ${fs}
                 UNION ALL SELECT dst, src, false, server_name FROM flows WHERE ${fw} AND ${fd}) GROUP BY ip)
    SELECT e.ip, e.country, e.asn, e.as_org, e.local, e.bytes_sent + e.bytes_received AS bytes, e.bytes_sent, e.bytes_received, e.packets_sent, e.packets_received,
      coalesce(fl.flows, 0) AS flows, coalesce(fl.flows_initiated, 0) AS flows_initiated, coalesce(fl.peers, 0) AS peers, fl.names
    FROM e LEFT JOIN fl USING (ip)
    ORDER BY ${orderBy(q, ENDPOINT_COLUMNS, 'bytes')}, ip LIMIT ${p.add(q.limit)} OFFSET ${p.add(q.offset)}`;
}

export const PEER_COLUMNS = ['peer', 'peer_country', 'peer_asn', 'peer_as_org', 'bytes', 'bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'flows', 'services', 'names', 'first', 'last'] as const;

/**
 * The peers of the addresses the "ip" filters select, from their side: what they sent to each peer
 * and received from it, the peer's country and AS, the services (server ports) of their
 * conversations and the names seen. A conversation between two selected addresses appears for both.
 */
function peers(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const rows = bucketRows(q, p, null, unrolled);
  const fw = flowWhere(q, p);
  const [bs, bd, fs, fd] = [selectedEnd(q, p, 'src'), selectedEnd(q, p, 'dst'), selectedEnd(q, p, 'src'), selectedEnd(q, p, 'dst')];
  return `WITH r AS (SELECT * FROM ${rows}),
    b AS (SELECT dst AS peer, any_value(dst_country) AS peer_country, any_value(dst_asn) AS peer_asn, any_value(dst_as_org) AS peer_as_org,
            sum(src_bytes) AS sent, sum(dst_bytes) AS recv, sum(src_pkts) AS ps, sum(dst_pkts) AS pr FROM r WHERE ${bs} GROUP BY peer
          UNION ALL
          SELECT src, any_value(src_country), any_value(src_asn), any_value(src_as_org), sum(dst_bytes), sum(src_bytes), sum(dst_pkts), sum(src_pkts) FROM r WHERE ${bd} GROUP BY src),
    e AS (SELECT peer, any_value(peer_country) AS peer_country, any_value(peer_asn) AS peer_asn, any_value(peer_as_org) AS peer_as_org,
            sum(sent)::DOUBLE AS bytes_sent, sum(recv)::DOUBLE AS bytes_received, sum(ps)::DOUBLE AS packets_sent, sum(pr)::DOUBLE AS packets_received FROM b GROUP BY peer),
    f AS (SELECT peer, count(*)::DOUBLE AS flows,
            array_to_string(list_slice(list(DISTINCT service ORDER BY service), 1, 10), ', ') AS services,
            array_to_string(list_slice(list(DISTINCT server_name ORDER BY server_name) FILTER (WHERE server_name IS NOT NULL), 1, 10), ', ') AS names,
            (min(first_ns) // 1000)::DOUBLE / 1000 AS first, (max(last_ns) // 1000)::DOUBLE / 1000 AS last
          FROM (SELECT dst AS peer, coalesce(app, CAST(proto AS VARCHAR)) || '/' || dport AS service, server_name, first_ns, last_ns FROM flows WHERE ${fw} AND ${fs}
                UNION ALL SELECT src, coalesce(app, CAST(proto AS VARCHAR)) || '/' || dport, server_name, first_ns, last_ns FROM flows WHERE ${fw} AND ${fd}) GROUP BY peer)
    SELECT e.peer, e.peer_country, e.peer_asn, e.peer_as_org, e.bytes_sent + e.bytes_received AS bytes, e.bytes_sent, e.bytes_received, e.packets_sent, e.packets_received,
      coalesce(f.flows, 0) AS flows, f.services, f.names, f.first, f.last
    FROM e LEFT JOIN f USING (peer)
    ORDER BY ${orderBy(q, PEER_COLUMNS, 'bytes')}, peer LIMIT ${p.add(q.limit)} OFFSET ${p.add(q.offset)}`;
}

export const SHARE_ORDER = ['bytes', 'packets', 'flows'] as const;

/**
 * Totals per group: name, bytes, bytes_sent, bytes_received, packets, flows (all groups, largest
 * first by `sort.by`: bytes, packets or flows; "other" is folded by the caller). A flow-level key
 * (dns_rcode, tunnel, ...) groups bucket rows through their flow. Grouped by an ASN, the
 * organisation comes along (as_org).
 */
function shares(q: CheckedQuery, p: Params, key: string, unrolled: readonly string[]): string {
  const g = groupColumn(key);
  const rows = bucketRows(q, p, null, unrolled);
  const fw = flowWhere(q, p);
  const dim = dimension(key);
  const org = /^(src_|dst_)?asn$/.test(key) ? `${key.replace(/asn$/, 'as_org')}` : null;
  const b = dim?.inBuckets
    ? `SELECT ${g} AS name, sum(src_bytes)::DOUBLE AS bytes_sent, sum(dst_bytes)::DOUBLE AS bytes_received, sum(src_pkts + dst_pkts)::DOUBLE AS packets FROM ${rows} GROUP BY name`
    : `SELECT ${groupColumn(key, 'f')} AS name, sum(r.src_bytes)::DOUBLE AS bytes_sent, sum(r.dst_bytes)::DOUBLE AS bytes_received, sum(r.src_pkts + r.dst_pkts)::DOUBLE AS packets
        FROM ${rows} AS r JOIN flows f ON f.capture_id = r.capture_id AND f.flow_id = r.flow_id GROUP BY name`;
  const order = q.sort?.by ?? 'bytes';
  if (!(SHARE_ORDER as readonly string[]).includes(order)) throw new QueryError(`sort: "${order}" is not a column of kind "${q.kind}" (sortable: ${SHARE_ORDER.join(', ')})`);
  return `WITH b AS (${b}),
    f AS (SELECT ${g} AS name, count(*)::DOUBLE AS flows${org ? `, any_value(${org}) AS as_org` : ''} FROM flows WHERE ${fw} GROUP BY name)
    SELECT name${org ? ', as_org' : ''}, coalesce(bytes_sent, 0) + coalesce(bytes_received, 0) AS bytes, coalesce(bytes_sent, 0) AS bytes_sent, coalesce(bytes_received, 0) AS bytes_received,
      coalesce(packets, 0) AS packets, coalesce(flows, 0) AS flows
    FROM b FULL JOIN f USING (name) ORDER BY "${order}" ${q.sort?.desc === false ? 'ASC' : 'DESC'}, name`;
}

/**
 * Per country of the chosen end: bytes that end sent and received, packets, flows.
 * side "remote": the end outside the local networks (the responder when both or neither are local).
 */
function countries(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const side = q.side ?? 'both';
  const rows = bucketRows(q, p, null, unrolled);
  const fw = flowWhere(q, p);
  const srcIsRemote = `(dst_local AND NOT src_local)`;
  const ends = {
    src: [`src_country, src_bytes, dst_bytes, src_pkts + dst_pkts`],
    dst: [`dst_country, dst_bytes, src_bytes, src_pkts + dst_pkts`],
    both: [`src_country, src_bytes, dst_bytes, src_pkts + dst_pkts`, `dst_country, dst_bytes, src_bytes, src_pkts + dst_pkts`],
    remote: [
      `CASE WHEN ${srcIsRemote} THEN src_country ELSE dst_country END, CASE WHEN ${srcIsRemote} THEN src_bytes ELSE dst_bytes END, CASE WHEN ${srcIsRemote} THEN dst_bytes ELSE src_bytes END, src_pkts + dst_pkts`,
    ],
  }[side];
  const flowEnds = { src: ['src_country'], dst: ['dst_country'], both: ['src_country', 'dst_country'], remote: [`CASE WHEN ${srcIsRemote} THEN src_country ELSE dst_country END`] }[side];
  const b = ends.map((e) => `SELECT ${e} FROM ${rows}`).join(' UNION ALL ');
  const f = flowEnds.map((e) => `SELECT ${e} AS country FROM flows WHERE ${fw}`).join(' UNION ALL ');
  return `WITH b AS (SELECT country, sum(sent)::DOUBLE AS bytes_sent, sum(recv)::DOUBLE AS bytes_received, sum(pk)::DOUBLE AS packets FROM (${b}) AS t(country, sent, recv, pk) GROUP BY country),
    f AS (SELECT country, count(*)::DOUBLE AS flows FROM (${f}) GROUP BY country)
    SELECT coalesce(country, 'unknown') AS name, coalesce(bytes_sent, 0) + coalesce(bytes_received, 0) AS bytes, coalesce(bytes_sent, 0) AS bytes_sent,
      coalesce(bytes_received, 0) AS bytes_received, coalesce(packets, 0) AS packets, coalesce(flows, 0) AS flows
    FROM b FULL JOIN f USING (country) ORDER BY bytes DESC, name`;
}

export const CONVERSATION_COLUMNS = ['src', 'dst', 'src_country', 'dst_country', 'bytes', 'src_bytes', 'dst_bytes', 'src_pkts', 'dst_pkts', 'flows', 'first', 'last', 'apps'] as const;

function conversations(q: CheckedQuery, p: Params, unrolled: readonly string[]): string {
  const rows = bucketRows(q, p, null, unrolled);
  const fw = flowWhere(q, p);
  return `WITH b AS (SELECT src, dst, any_value(src_country) AS src_country, any_value(dst_country) AS dst_country, sum(src_bytes)::DOUBLE AS src_bytes,
        sum(dst_bytes)::DOUBLE AS dst_bytes, sum(src_pkts)::DOUBLE AS src_pkts, sum(dst_pkts)::DOUBLE AS dst_pkts FROM ${rows} GROUP BY src, dst),
    f AS (SELECT src, dst, count(*)::DOUBLE AS flows, (min(first_ns) // 1000)::DOUBLE / 1000 AS first, (max(last_ns) // 1000)::DOUBLE / 1000 AS last,
        array_to_string(list(DISTINCT coalesce(app, CAST(proto AS VARCHAR)) ORDER BY coalesce(app, CAST(proto AS VARCHAR))), ', ') AS apps
      FROM flows WHERE ${fw} GROUP BY src, dst)
    SELECT b.src, b.dst, b.src_country, b.dst_country, b.src_bytes + b.dst_bytes AS bytes, b.src_bytes, b.dst_bytes, b.src_pkts, b.dst_pkts,
      coalesce(f.flows, 0) AS flows, f.first, f.last, f.apps
    FROM b LEFT JOIN f USING (src, dst)
    ORDER BY ${orderBy(q, CONVERSATION_COLUMNS, 'bytes')}, src, dst LIMIT ${p.add(q.limit)} OFFSET ${p.add(q.offset)}`;
}

function histogram(q: CheckedQuery, p: Params): string {
  const fw = flowWhere(q, p);
  const cases = DURATION_BINS.filter(([, max]) => Number.isFinite(max))
    .map(([, max], i) => `WHEN duration_ms <= ${max} THEN ${i}`)
    .join(' ');
  return `SELECT CASE ${cases} ELSE ${DURATION_BINS.length - 1} END AS bin, count(*)::DOUBLE AS flows, sum(src_bytes + dst_bytes)::DOUBLE AS bytes
    FROM flows WHERE ${fw} GROUP BY bin ORDER BY bin`;
}

/** The variable picker's search: values containing the typed text, any case (LIKE's wildcards taken literally). */
function search(q: CheckedQuery, p: Params, column: string): string {
  if (!q.search) return 'true';
  return `${column} ILIKE '%' || ${p.add(q.search.replace(/[\\%_]/g, (c) => `\\${c}`))} || '%' ESCAPE '\\'`;
}

function values(q: CheckedQuery, p: Params): string {
  const key = q.key as string;
  if (key === 'capture') {
    // Every capture, newest first, whatever the range: picking one from last month is how it is found
    // (a panel then says where its traffic is). The text carries its start.
    return `SELECT * FROM (SELECT id AS value, name || coalesce(' (' || strftime(make_timestamp(first_ns // 1000), '%Y-%m-%d %H:%M') || ' UTC)', '') AS text, flows::DOUBLE AS flows, first_ns
      FROM captures) WHERE ${search(q, p, 'text')} ORDER BY first_ns DESC NULLS LAST, text LIMIT ${p.add(q.limit)}`;
  }
  const dim = dimension(key);
  if (!dim) throw new QueryError(`unknown key "${key}"`);
  const cols = Array.isArray(dim.column) ? dim.column : [dim.column];
  const fw = flowWhere(q, p);
  // Either-end keys: a flow whose two ends share the value (port 0 of ICMP, two private addresses)
  // counts once: the second end only where it differs from the first.
  const union = cols.map((c, i) => `SELECT CAST(${c} AS VARCHAR) AS value FROM flows WHERE ${fw}${i > 0 ? ` AND ${c} IS DISTINCT FROM ${cols[0]}` : ''}`).join(' UNION ALL ');
  return `SELECT value, value AS text, count(*)::DOUBLE AS flows FROM (${union}) WHERE value IS NOT NULL AND ${search(q, p, 'value')} GROUP BY value ORDER BY flows DESC, value LIMIT ${p.add(q.limit)}`;
}

/**
 * Captures overlapping the range (and those without packets), under the query's filters: filters
 * on "capture" apply to the captures themselves, any other filter keeps the captures with at least
 * one matching flow in the range.
 */
function captures(q: CheckedQuery, p: Params): string {
  const conds = [`(first_ns IS NULL OR (${overlaps(q, p)}))`];
  for (const f of q.filters.filter((x) => x.key === 'capture')) conds.push(filterCondition(f, p));
  const others = q.filters.filter((x) => x.key !== 'capture');
  if (others.length > 0) conds.push(`capture_id IN (SELECT capture_id FROM flows WHERE ${flowWhere({ ...q, filters: others }, p)})`);
  return `SELECT id, name, source_kind, azure_vm, azure_resource_group, azure_subscription, (first_ns // 1000)::DOUBLE / 1000 AS first, (last_ns // 1000)::DOUBLE / 1000 AS last,
      size::DOUBLE AS size, packets::DOUBLE AS packets, bytes::DOUBLE AS bytes, flows::DOUBLE AS flows, damage,
      (first_ns // 1000000)::DOUBLE AS from_ms, (last_ns // 1000000 + 1)::DOUBLE AS to_ms
    FROM (SELECT id AS capture_id, * FROM captures) WHERE ${conds.join(' AND ')} ORDER BY first_ns NULLS LAST, name`;
}
