import { protocolName, serviceName, tcpFlagLetters } from '../model/names';
import type { ResultColumns } from '../store/flow-store';
import type { FieldConfig } from './frames';

/**
 * The flow table as a person reads it: the columns read first (start, duration, protocol and
 * application by name, client and server with country and port, the service, bytes and packets
 * both ways, state, server name), then everything else (flags as letters, ASNs, tunnels, ids, the
 * raw numbers). Each row links to its conversation at its time (the Flows dashboard on the flow's
 * span) and each address to its endpoint view. "Client" is the initiator, "server" the responder
 * (the flow model's rule).
 */
export const READABLE = ['first', 'duration_ms', 'protocol', 'app', 'src', 'src_country', 'sport', 'dst', 'dst_country', 'dport', 'service', 'src_bytes', 'dst_bytes', 'src_pkts', 'dst_pkts', 'state', 'server_name'] as const;

const REST = [
  'src_flags', 'dst_flags', 'last', 'bytes', 'proto', 'ip_version', 'app_source', 'src_asn', 'src_as_org', 'dst_asn', 'dst_as_org', 'src_local', 'dst_local', 'vlan', 'tunnel',
  'alpn', 'http_method', 'dns_rcode', 'ssh_banner', 'src_ip_bytes', 'dst_ip_bytes', 'src_payload_bytes', 'dst_payload_bytes', 'src_tcp_flags', 'dst_tcp_flags', 'fragments',
  'capture_id', 'flow_id', 'from_ms', 'to_ms',
];

export const DISPLAY_NAMES: Record<string, string> = {
  first: 'Start',
  duration_ms: 'Duration',
  protocol: 'Protocol',
  app: 'Application',
  src: 'Client',
  src_country: 'Client country',
  sport: 'Client port',
  dst: 'Server',
  dst_country: 'Server country',
  dport: 'Server port',
  service: 'Service',
  src_bytes: 'Bytes client → server',
  dst_bytes: 'Bytes server → client',
  src_pkts: 'Packets client → server',
  dst_pkts: 'Packets server → client',
  state: 'State',
  server_name: 'Server name',
  src_flags: 'Client TCP flags',
  dst_flags: 'Server TCP flags',
  last: 'Last packet',
  retrans: 'Retransmissions',
  src_retrans: 'Retransmissions client → server',
  dst_retrans: 'Retransmissions server → client',
  handshake_rtt_us: 'Handshake RTT',
  server_rtt_median_us: 'RTT to server (median)',
  client_rtt_median_us: 'RTT to client (median)',
  reset_by: 'Reset by',
};

/** Adds the text columns (protocol and service names, flags as letters) and orders the columns. */
export function flowTableColumns(cols: ResultColumns): ResultColumns {
  const proto = (cols.proto ?? []) as (number | null)[];
  const dport = (cols.dport ?? []) as (number | null)[];
  const flags = (name: string) => ((cols[name] ?? []) as (number | null)[]).map((f, i) => (proto[i] === 6 && f !== null ? tcpFlagLetters(f) : null));
  const all: ResultColumns = {
    ...cols,
    protocol: proto.map((p) => protocolName(p)),
    service: dport.map((p, i) => (p === null || proto[i] === null ? null : serviceName(proto[i] as number, p))),
    src_flags: flags('src_tcp_flags'),
    dst_flags: flags('dst_tcp_flags'),
  };
  const order = [...READABLE, ...REST.filter((c) => c in all), ...Object.keys(all).filter((c) => !(READABLE as readonly string[]).includes(c) && !REST.includes(c))];
  return Object.fromEntries(order.filter((c) => c in all).map((c) => [c, all[c]]));
}

/** The flow's span for the link on its start: the Flows dashboard on that conversation, at that time. */
export const FLOW_LINKS: FieldConfig['links'] = [
  { title: 'This conversation at this time', url: '/d/capsight-flows?from=${__data.fields.from_ms}&to=${__data.fields.to_ms}&var-ip=${__data.fields.src}&var-port=${__data.fields.sport}' },
];

/** "Showing N of M": a page that is not every matching flow says so, and how to narrow it. */
export function pageNotice(shown: number, offset: number, total: number, sortedBy: string): { severity: 'info' | 'warning'; text: string } | null {
  if (total <= shown && offset === 0) return null;
  if (shown === 0) return { severity: 'info', text: `no flows on this page: the filters select ${total} flow(s); the page starts at row ${offset + 1}` };
  return { severity: 'info', text: `showing flows ${offset + 1}-${offset + shown} of ${total}, sorted by ${sortedBy}: narrow with filters or the time range, or page on` };
}
