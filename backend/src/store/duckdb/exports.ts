import type { DuckDBConnection } from '@duckdb/node-api';
import type { CheckedQuery } from '../../query/model';
import { TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../../flows/tcp-health';
import { flowWhere, Params } from './sql';
import { sqlText } from './sql-text';

/**
 * What exports read from the flows table: the flows a query selects (by id, per capture, for pcap
 * slices) and every selected flow's row under the CLI's field names (flow exports).
 */

/** Selected flow ids per capture, ascending. */
export async function matchingFlowIds(db: DuckDBConnection, q: CheckedQuery): Promise<Map<string, Uint32Array>> {
  const p = new Params();
  const result = await db.stream(`SELECT capture_id, flow_id FROM flows WHERE ${flowWhere(q, p)} ORDER BY capture_id, flow_id`, p.values);
  const lists = new Map<string, number[]>();
  for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
    const [captures, ids] = chunk.getColumns() as [string[], number[]];
    for (let i = 0; i < captures.length; i++) {
      let list = lists.get(captures[i]);
      if (!list) lists.set(captures[i], (list = []));
      list.push(Number(ids[i]));
    }
  }
  return new Map([...lists].map(([c, l]) => [c, Uint32Array.from(l)]));
}

/** ISO 8601 with nanoseconds, as the CLI writes times. */
const iso = (col: string): string => `strftime(make_timestamp(${col} // 1000), '%Y-%m-%dT%H:%M:%S') || '.' || lpad(CAST(${col} % 1000000000 AS VARCHAR), 9, '0') || 'Z'`;
const int = (col: string): string => `CAST(${col} AS BIGINT) AS ${col}`;

/**
 * Export columns: the CLI's flows fields in its order (tunnel_ip_version is not stored, so it is
 * not exported), then what the store adds: capture and flow ids, countries, ASNs, local flags.
 */
export const EXPORT_COLUMNS: [string, string][] = [
  ['proto', 'proto'], ['src', 'src'], ['sport', 'sport'], ['dst', 'dst'], ['dport', 'dport'],
  ['first', `${iso('first_ns')} AS first`], ['last', `${iso('last_ns')} AS last`],
  ...['src_pkts', 'src_bytes', 'dst_pkts', 'dst_bytes', 'src_ip_bytes', 'dst_ip_bytes', 'src_payload_bytes', 'dst_payload_bytes'].map((c): [string, string] => [c, int(c)]),
  ...['app', 'app_source', 'server_name', 'state', 'vlan', 'ip_version', 'inner_vlan', 'tunnel', 'alpn', 'http_method', 'dns_rcode', 'ssh_banner', 'src_tcp_flags', 'dst_tcp_flags', 'fragments'].map((c): [string, string] => [c, c]),
  ...TCP_COUNT_FIELDS.map((c): [string, string] => [c, int(c)]),
  ...TCP_TIME_FIELDS.map((c): [string, string] => [c, c]),
  ['reset_by', 'reset_by'], ['reset_after_data', 'reset_after_data'],
  ...['capture_id', 'flow_id', 'src_country', 'dst_country', 'src_asn', 'dst_asn', 'src_as_org', 'dst_as_org', 'src_local', 'dst_local'].map((c): [string, string] => [c, c]),
];

/** Flows whose rows one COPY writes: the export streams page after page, each a file of its own. */
export const EXPORT_PAGE_FLOWS = 50_000;
/** Pages written at once (one thread each; the store's read connections are shared with queries). */
export const EXPORT_PAGES_AHEAD = 2;

/**
 * COPY of one page of a flow export: the selected flows of one capture with ids in [lo, hi), found
 * by the flows' zone maps, in stored order (the order the engine finished them; an ORDER BY here
 * cost a third of the export's time). The target path is made by the store, never user input.
 */
export function exportPageSql(q: CheckedQuery, captureId: string, lo: number, hi: number, format: 'csv' | 'ndjson', target: string, p: Params): string {
  const select = `SELECT ${EXPORT_COLUMNS.map(([, e]) => e).join(', ')} FROM flows
    WHERE capture_id = ${p.add(captureId)} AND flow_id >= ${p.add(lo)}::UINTEGER AND flow_id < ${p.add(hi)}::UINTEGER AND ${flowWhere(q, p)}`;
  const options = format === 'csv' ? `FORMAT csv, HEADER false` : `FORMAT json`;
  return `COPY (${select}) TO ${sqlText(target)} (${options})`;
}

/** Captures holding selected flows, with their flow counts, in time order (the pages an export walks). */
export async function exportCaptures(db: DuckDBConnection, q: CheckedQuery): Promise<{ id: string; flows: number }[]> {
  const p = new Params();
  const r = await db.runAndReadAll(
    `SELECT c.id, c.flows FROM captures c WHERE c.id IN (SELECT DISTINCT capture_id FROM flows WHERE ${flowWhere(q, p)}) ORDER BY c.first_ns, c.id`,
    p.values,
  );
  return r.getRowsJS().map((row) => ({ id: String(row[0]), flows: Number(row[1]) }));
}
