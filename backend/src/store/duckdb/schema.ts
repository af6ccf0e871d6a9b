/**
 * DuckDB schema. Counters are DOUBLE: exact for integers below 2^53, appended without BigInt
 * conversions, and compressed well by DuckDB's ALP encoding. Addresses are text (dictionary-compressed) for grouping and display, plus a
 * 128-bit number (IPv4 as ::ffff:a.b.c.d) for CIDR ranges; no `inet` (an extension DuckDB would
 * download). Bucket rows carry the flow's dimensions so dashboard queries never join; a flow with
 * one bucket is its own bucket row (FLOW_BUCKET_ROWS). `buckets_1m` is the one-minute rollup used
 * for long ranges, built after an ingest commits (rollups.ts) for the captures where it at least
 * halves the rows a long range reads (`captures.rollup`).
 */
import { TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../../flows/tcp-health';
import { sqlText } from './sql-text';

export const SCHEMA_VERSION = 3;

/** Dimension columns shared by flows and bucket rows, in table order, with their types. */
const DIMENSIONS: [string, string][] = [
  ['ip_version', 'UTINYINT'], ['proto', 'UTINYINT'], ['app', 'VARCHAR'], ['app_source', 'VARCHAR'], ['server_name', 'VARCHAR'], ['state', 'VARCHAR'],
  ['vlan', 'USMALLINT'], ['src', 'VARCHAR'], ['dst', 'VARCHAR'], ['src_num', 'UHUGEINT'], ['dst_num', 'UHUGEINT'], ['sport', 'USMALLINT'], ['dport', 'USMALLINT'],
  ['src_country', 'VARCHAR'], ['dst_country', 'VARCHAR'], ['src_asn', 'UINTEGER'], ['dst_asn', 'UINTEGER'], ['src_as_org', 'VARCHAR'], ['dst_as_org', 'VARCHAR'],
  ['src_local', 'BOOLEAN'], ['dst_local', 'BOOLEAN'],
];

/** Columns of a flow row after capture_id, in table order: also the order of the staging file. */
export const FLOW_COLUMNS: [string, string][] = [
  ['flow_id', 'UINTEGER'],
  ...DIMENSIONS,
  ['first_ns', 'BIGINT'], ['last_ns', 'BIGINT'], ['duration_ms', 'DOUBLE'],
  ['src_pkts', 'DOUBLE'], ['src_bytes', 'DOUBLE'], ['dst_pkts', 'DOUBLE'], ['dst_bytes', 'DOUBLE'], ['src_ip_bytes', 'DOUBLE'], ['dst_ip_bytes', 'DOUBLE'],
  ['src_payload_bytes', 'DOUBLE'], ['dst_payload_bytes', 'DOUBLE'], ['alpn', 'VARCHAR'], ['http_method', 'VARCHAR'], ['dns_rcode', 'VARCHAR'], ['ssh_banner', 'VARCHAR'],
  ['src_tcp_flags', 'UTINYINT'], ['dst_tcp_flags', 'UTINYINT'], ['inner_vlan', 'USMALLINT'], ['tunnel', 'VARCHAR'], ['fragments', 'UINTEGER'],
  ...TCP_HEALTH_COLUMNS(),
  // Schema 3: a flow with one time bucket is its own bucket row (FLOW_BUCKET_ROWS); NULL: its rows are in `buckets`.
  ['bucket_ms', 'BIGINT'],
];

/** TCP health columns of a flow (schema 2; NULL for other protocols and for flows stored by schema 1). */
function TCP_HEALTH_COLUMNS(): [string, string][] {
  return [
    ...TCP_COUNT_FIELDS.map((n): [string, string] => [n, 'DOUBLE']),
    ...TCP_TIME_FIELDS.map((n): [string, string] => [n, 'DOUBLE']),
    ['reset_by', 'VARCHAR'],
    ['reset_after_data', 'BOOLEAN'],
  ];
}

/** Bucket columns added by schema 2 (after the dimensions: where ALTER TABLE puts them in a store made by schema 1). */
const BUCKET_TCP_COLUMNS: [string, string][] = [['src_retrans', 'DOUBLE'], ['dst_retrans', 'DOUBLE']];

const FLOW_DIMENSIONS = DIMENSIONS.map(([n, t]) => `${n} ${t}`).join(', ');
const BUCKET_COLUMNS = `capture_id VARCHAR, flow_id UINTEGER, ts_ms BIGINT, src_pkts DOUBLE, src_bytes DOUBLE, dst_pkts DOUBLE, dst_bytes DOUBLE, ${FLOW_DIMENSIONS}, ${BUCKET_TCP_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')}`;

export const DDL = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS captures (
    id VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL UNIQUE, name VARCHAR, source VARCHAR, source_kind VARCHAR, etag VARCHAR,
    size BIGINT, format VARCHAR, compressed BOOLEAN, first_ns BIGINT, last_ns BIGINT, packets BIGINT, bytes BIGINT, flows BIGINT,
    link_types VARCHAR, problems VARCHAR, damage VARCHAR, azure_subscription VARCHAR, azure_resource_group VARCHAR, azure_vm VARCHAR,
    ingested_at VARCHAR, rollup VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS flows (capture_id VARCHAR, ${FLOW_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`,
  `CREATE TABLE IF NOT EXISTS buckets (${BUCKET_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS buckets_1m (${BUCKET_COLUMNS})`,
  `CREATE TABLE IF NOT EXISTS jobs (id VARCHAR PRIMARY KEY, record VARCHAR, created_at VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS watches (id VARCHAR PRIMARY KEY, record VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS watch_seen (watch_id VARCHAR, blob VARCHAR, etag VARCHAR, seen_at VARCHAR, result VARCHAR, PRIMARY KEY (watch_id, blob, etag))`,
];

/** Brings a store of schema 1 to schema 2: the TCP health columns, NULL for the flows already stored. */
export const MIGRATE_1_TO_2 = [
  ...TCP_HEALTH_COLUMNS().map(([n, t]) => `ALTER TABLE flows ADD COLUMN IF NOT EXISTS ${n} ${t}`),
  ...['buckets', 'buckets_1m'].flatMap((table) => BUCKET_TCP_COLUMNS.map(([n, t]) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${n} ${t}`)),
];

/**
 * Brings a store of schema 2 to schema 3: `captures.rollup` says where a capture's whole minutes are
 * read ('pending' or 'none': from `buckets`; 'built': from `buckets_1m`; schema 2 built every
 * capture's rollup in its ingest), and `flows.bucket_ms` where a flow's bucket rows are (NULL, as
 * for every flow schema 2 stored: in `buckets`).
 */
export const MIGRATE_2_TO_3 = [`ALTER TABLE captures ADD COLUMN IF NOT EXISTS rollup VARCHAR DEFAULT 'built'`, `ALTER TABLE flows ADD COLUMN IF NOT EXISTS bucket_ms BIGINT`];

/**
 * The bucket rows kept in the flows table, with the columns of `buckets`: a flow whose only bucket
 * row would repeat its own counters is stored without it (the engine sets bucket_ms), so DNS
 * lookups, scans' probes and other one-bucket flows cost the store one row, not two. Its
 * retransmissions are the flow's (NULL, for other protocols, is 0 as in `buckets`). Callers add the
 * WHERE clause (a range on bucket_ms, then any bucket filter: the names are the same).
 */
export const FLOW_BUCKET_ROWS = `SELECT capture_id, flow_id, bucket_ms AS ts_ms, src_pkts, src_bytes, dst_pkts, dst_bytes, ${DIMENSIONS.map(([n]) => n).join(', ')},
    coalesce(src_retrans, 0) AS src_retrans, coalesce(dst_retrans, 0) AS dst_retrans FROM flows`;

/** Columns of a staged bucket row, in the order of the staging file (bucket-file.ts). */
const STAGE_BUCKET_COLUMNS: [string, string][] = [
  ['flow_id', 'UINTEGER'], ['ts_ms', 'BIGINT'], ['src_pkts', 'DOUBLE'], ['src_bytes', 'DOUBLE'], ['dst_pkts', 'DOUBLE'], ['dst_bytes', 'DOUBLE'],
  ['src_retrans', 'DOUBLE'], ['dst_retrans', 'DOUBLE'],
];

/** Staging of one ingest: bucket rows in a connection-local temp table (a crash leaves nothing behind). */
export const STAGE_DDL = [`CREATE OR REPLACE TEMP TABLE stage_buckets (${STAGE_BUCKET_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`];

const DIMS = DIMENSIONS.map(([n]) => `f.${n}`).join(', ');

/**
 * Reads a staged flow file (tab-separated, \N for NULL, see flow-file.ts). The path is generated by
 * the store, never user input. One reading thread: flows are stored in the order the engine
 * finished them (exports read them back in that order), and keeping that order across parallel
 * readers cost DuckDB more than it gained (650 k flows: 4.5 s parallel, 3.1 s serial).
 */
export function readFlowFile(path: string): string {
  return readStagingFile(path, FLOW_COLUMNS, `nullstr = '\\N', allow_quoted_nulls = false, `);
}

/** Reads a staged bucket file (bucket-file.ts; a path the store generated), in file order. */
export function readBucketFile(path: string): string {
  return readStagingFile(path, STAGE_BUCKET_COLUMNS, '');
}

/** read_csv of a staging file: tab-separated, "" quoting, the given columns, one reading thread. */
function readStagingFile(path: string, columns: [string, string][], options: string): string {
  const types = columns.map(([n, t]) => `'${n}': '${t}'`).join(', ');
  return `read_csv(${sqlText(path)}, delim = '\t', quote = '"', escape = '"', ${options}header = false, auto_detect = false, parallel = false, columns = {${types}})`;
}

/**
 * Publishes a staged capture's bucket rows ($1 = capture id) for the flows with ids in [$2, $3):
 * the store publishes a capture a range of flows at a time, so each join with its flows stays
 * small (a DNS-heavy capture's single join did not fit the memory limit; the flows of a range are
 * found by their zone maps: they are stored in id order). Flow ids follow the flows' starts, so
 * the bucket rows stay close to time order. Runs inside the commit transaction, after the flows.
 */
export const PUBLISH_BUCKETS = `INSERT INTO buckets SELECT $1, b.flow_id, b.ts_ms, b.src_pkts, b.src_bytes, b.dst_pkts, b.dst_bytes, ${DIMS}, b.src_retrans, b.dst_retrans
     FROM stage_buckets b JOIN flows f ON f.capture_id = $1 AND f.flow_id = b.flow_id AND f.flow_id >= $2::UINTEGER AND f.flow_id < $3::UINTEGER
     WHERE b.flow_id >= $2::UINTEGER AND b.flow_id < $3::UINTEGER ORDER BY b.ts_ms`;

/** Flows whose bucket rows are published at a time. */
export const PUBLISH_FLOWS = 200_000;

/** The minute of a bucket row (floored: a time before 1970 belongs to the minute that starts before it). */
const MINUTE_OF_ROW = `floor(ts_ms / 60000)::BIGINT * 60000`;

/**
 * What a capture's rollup would hold ($1 = capture id): its bucket rows, their (flow, minute) pairs
 * (estimated: the rollup is built when it halves the rows, so a few percent do not matter) and the
 * span of their times.
 */
export const ROLLUP_SIZE = `SELECT count(*), approx_count_distinct(hash(flow_id, ${MINUTE_OF_ROW})), min(ts_ms), max(ts_ms)
  FROM (SELECT flow_id, ts_ms FROM buckets WHERE capture_id = $1 UNION ALL SELECT flow_id, bucket_ms FROM flows WHERE capture_id = $1 AND bucket_ms IS NOT NULL)`;

/**
 * The one-minute rows of a capture's bucket rows with times in [$2, $3) ($1 = capture id; the range
 * on minute boundaries), from the published rows: a flow's dimensions are the same in each of its rows.
 */
export const ROLLUP_MINUTES = `INSERT INTO buckets_1m SELECT capture_id, flow_id, ${MINUTE_OF_ROW} AS minute, sum(src_pkts), sum(src_bytes), sum(dst_pkts), sum(dst_bytes),
    ${DIMENSIONS.map(([n]) => `any_value(${n})`).join(', ')}, sum(src_retrans), sum(dst_retrans)
  FROM (SELECT * FROM buckets WHERE capture_id = $1 AND ts_ms >= $2::BIGINT AND ts_ms < $3::BIGINT
    UNION ALL ${FLOW_BUCKET_ROWS} WHERE capture_id = $1 AND bucket_ms >= $2::BIGINT AND bucket_ms < $3::BIGINT)
  GROUP BY capture_id, flow_id, minute ORDER BY minute`;
