/**
 * DuckDB schema. Counters are DOUBLE: exact for integers below 2^53, appended without BigInt
 * conversions, and compressed well by DuckDB's ALP encoding. Addresses are text (dictionary-compressed) for grouping and display, plus a
 * 128-bit number (IPv4 as ::ffff:a.b.c.d) for CIDR ranges; no `inet` (an extension DuckDB would
 * download). Bucket rows carry the flow's dimensions so dashboard queries never join; `buckets_1m`
 * is the one-minute rollup used for long ranges.
 */
export const SCHEMA_VERSION = 1;

const FLOW_DIMENSIONS = `
  ip_version UTINYINT, proto UTINYINT, app VARCHAR, app_source VARCHAR, server_name VARCHAR, state VARCHAR, vlan USMALLINT,
  src VARCHAR, dst VARCHAR, src_num UHUGEINT, dst_num UHUGEINT, sport USMALLINT, dport USMALLINT,
  src_country VARCHAR, dst_country VARCHAR, src_asn UINTEGER, dst_asn UINTEGER, src_as_org VARCHAR, dst_as_org VARCHAR,
  src_local BOOLEAN, dst_local BOOLEAN`;

/** Dimension columns shared by flows and bucket rows, in table order. */
export const DIMENSION_COLUMNS = [
  'ip_version', 'proto', 'app', 'app_source', 'server_name', 'state', 'vlan', 'src', 'dst', 'src_num', 'dst_num', 'sport', 'dport',
  'src_country', 'dst_country', 'src_asn', 'dst_asn', 'src_as_org', 'dst_as_org', 'src_local', 'dst_local',
] as const;

export const DDL = [
  `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS captures (
    id VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL UNIQUE, name VARCHAR, source VARCHAR, source_kind VARCHAR, etag VARCHAR,
    size BIGINT, format VARCHAR, compressed BOOLEAN, first_ns BIGINT, last_ns BIGINT, packets BIGINT, bytes BIGINT, flows BIGINT,
    link_types VARCHAR, problems VARCHAR, damage VARCHAR, azure_subscription VARCHAR, azure_resource_group VARCHAR, azure_vm VARCHAR,
    ingested_at VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS flows (
    capture_id VARCHAR, flow_id UINTEGER, ${FLOW_DIMENSIONS},
    first_ns BIGINT, last_ns BIGINT, duration_ms DOUBLE,
    src_pkts DOUBLE, src_bytes DOUBLE, dst_pkts DOUBLE, dst_bytes DOUBLE, src_ip_bytes DOUBLE, dst_ip_bytes DOUBLE,
    src_payload_bytes DOUBLE, dst_payload_bytes DOUBLE, alpn VARCHAR, http_method VARCHAR, dns_rcode VARCHAR, ssh_banner VARCHAR,
    src_tcp_flags UTINYINT, dst_tcp_flags UTINYINT, inner_vlan USMALLINT, tunnel VARCHAR, fragments UINTEGER)`,
  `CREATE TABLE IF NOT EXISTS buckets (capture_id VARCHAR, flow_id UINTEGER, ts_ms BIGINT, src_pkts DOUBLE, src_bytes DOUBLE, dst_pkts DOUBLE, dst_bytes DOUBLE, ${FLOW_DIMENSIONS})`,
  `CREATE TABLE IF NOT EXISTS buckets_1m (capture_id VARCHAR, flow_id UINTEGER, ts_ms BIGINT, src_pkts DOUBLE, src_bytes DOUBLE, dst_pkts DOUBLE, dst_bytes DOUBLE, ${FLOW_DIMENSIONS})`,
  `CREATE TABLE IF NOT EXISTS jobs (id VARCHAR PRIMARY KEY, record VARCHAR, created_at VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS watches (id VARCHAR PRIMARY KEY, record VARCHAR)`,
  `CREATE TABLE IF NOT EXISTS watch_seen (watch_id VARCHAR, blob VARCHAR, etag VARCHAR, seen_at VARCHAR, result VARCHAR, PRIMARY KEY (watch_id, blob, etag))`,
];

/** Staging tables of one ingest (connection-local temp tables: a crash leaves nothing behind). */
export const STAGE_DDL = [
  `CREATE OR REPLACE TEMP TABLE stage_flows AS SELECT * FROM flows LIMIT 0`,
  `CREATE OR REPLACE TEMP TABLE stage_buckets (flow_id UINTEGER, ts_ms BIGINT, src_pkts DOUBLE, src_bytes DOUBLE, dst_pkts DOUBLE, dst_bytes DOUBLE)`,
];

const DIMS = DIMENSION_COLUMNS.map((c) => `f.${c}`).join(', ');

/** Publishes a staged capture ($1 = capture id). Runs inside the commit transaction. */
export const PUBLISH = [
  `INSERT INTO flows SELECT * REPLACE ($1 AS capture_id) FROM stage_flows`,
  `INSERT INTO buckets SELECT $1, b.flow_id, b.ts_ms, b.src_pkts, b.src_bytes, b.dst_pkts, b.dst_bytes, ${DIMS}
     FROM stage_buckets b JOIN stage_flows f USING (flow_id) ORDER BY b.ts_ms`,
  `INSERT INTO buckets_1m SELECT $1, b.flow_id, b.ts_ms // 60000 * 60000 AS minute, sum(b.src_pkts), sum(b.src_bytes), sum(b.dst_pkts), sum(b.dst_bytes), ${DIMS}
     FROM stage_buckets b JOIN stage_flows f USING (flow_id) GROUP BY ALL`,
];
