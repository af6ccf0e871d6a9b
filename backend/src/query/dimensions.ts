/**
 * The keys a query can filter and group by. Each maps to columns of the stored flows and bucket
 * rows (the same names in both tables). "Either end" keys (ip, port, country, asn) match when
 * either end does.
 */
export type DimensionType = 'string' | 'number' | 'ip' | 'boolean';

export interface Dimension {
  key: string;
  type: DimensionType;
  description: string;
  /** Column name, or the two columns of an either-end key. */
  column: string | [string, string];
  /** Present in bucket rows (time series); otherwise only flow queries can use it. */
  inBuckets: boolean;
  /** Grafana unit of the values, for display. */
  unit?: string;
}

const d = (key: string, type: DimensionType, description: string, column: string | [string, string], inBuckets = true, unit?: string): Dimension => ({
  key,
  type,
  description,
  column,
  inBuckets,
  unit,
});

export const DIMENSIONS: readonly Dimension[] = [
  d('capture', 'string', 'capture id', 'capture_id'),
  d('flow_id', 'number', 'flow id within its capture (with "capture": one flow)', 'flow_id'),
  d('ip_version', 'number', 'IP version (4 or 6)', 'ip_version'),
  d('proto', 'number', 'L4 protocol, IANA number (6 tcp, 17 udp, 1 icmp, ...)', 'proto'),
  d('app', 'string', 'application (tls, http, dns, quic, ssh, ... or a port-based guess)', 'app'),
  d('app_source', 'string', 'how the application was decided: payload or port', 'app_source'),
  d('server_name', 'string', 'TLS/QUIC SNI, HTTP Host or DNS query name', 'server_name'),
  d('state', 'string', 'Zeek-style connection state', 'state'),
  d('vlan', 'number', 'outer VLAN id', 'vlan'),
  d('src', 'ip', 'initiator address', 'src'),
  d('dst', 'ip', 'responder address', 'dst'),
  d('ip', 'ip', 'either address', ['src', 'dst']),
  d('sport', 'number', 'initiator port', 'sport'),
  d('dport', 'number', 'responder port', 'dport'),
  d('port', 'number', 'either port', ['sport', 'dport']),
  d('src_country', 'string', 'initiator country (ISO alpha-2, or private/loopback/... )', 'src_country'),
  d('dst_country', 'string', 'responder country', 'dst_country'),
  d('country', 'string', 'either country', ['src_country', 'dst_country']),
  d('src_asn', 'number', 'initiator AS number', 'src_asn'),
  d('dst_asn', 'number', 'responder AS number', 'dst_asn'),
  d('asn', 'number', 'either AS number', ['src_asn', 'dst_asn']),
  d('src_as_org', 'string', 'initiator AS organisation', 'src_as_org'),
  d('dst_as_org', 'string', 'responder AS organisation', 'dst_as_org'),
  d('src_local', 'boolean', 'initiator inside the local networks', 'src_local'),
  d('dst_local', 'boolean', 'responder inside the local networks', 'dst_local'),
  d('tunnel', 'string', 'outermost tunnel (gre, vxlan, ...)', 'tunnel', false),
  d('dns_rcode', 'string', 'DNS response code', 'dns_rcode', false),
  d('http_method', 'string', 'HTTP request method', 'http_method', false),
  d('duration', 'number', 'flow duration in milliseconds', 'duration_ms', false, 'ms'),
  // TCP health (flows only; other protocols have none, so "retrans > 0" selects TCP flows).
  d('retrans', 'number', 'TCP: retransmitted segments, both directions', '(src_retrans + dst_retrans)', false),
  d('retrans_rate', 'number', 'TCP: retransmitted segments per hundred packets of the flow', '(100 * (src_retrans + dst_retrans) / (src_pkts + dst_pkts))', false, 'percent'),
  d('lost_segments', 'number', 'TCP: gaps before a segment (lost before the capture point or not captured), both directions', '(src_lost_segments + dst_lost_segments)', false),
  d('dup_acks', 'number', 'TCP: duplicate ACKs, both directions', '(src_dup_acks + dst_dup_acks)', false),
  d('zero_windows', 'number', 'TCP: zero-window advertisements, both directions', '(src_zero_windows + dst_zero_windows)', false),
  d('out_of_order', 'number', 'TCP: out-of-order segments, both directions', '(src_out_of_order + dst_out_of_order)', false),
  d('handshake_rtt', 'number', 'TCP: handshake RTT at the capture point, ms', '(handshake_rtt_us / 1000)', false, 'ms'),
  d('server_rtt', 'number', 'TCP: median data/ACK RTT toward the server, ms', '(server_rtt_median_us / 1000)', false, 'ms'),
  d('reset_by', 'string', 'TCP: who sent a reset (src, dst, both)', 'reset_by', false),
];

const BY_KEY = new Map(DIMENSIONS.map((x) => [x.key, x]));

export function dimension(key: string): Dimension | undefined {
  return BY_KEY.get(key);
}

export const DIMENSION_KEYS = DIMENSIONS.map((x) => x.key);
