import type { FlowRecord } from '../model/flow';
import { isoNs } from '../model/time';
import { TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../flows/tcp-health';

/** The public ndjson/csv shape of a flow (field names are the CLI's contract, see README). */
export function publicFlow(f: FlowRecord): Record<string, string | number | boolean | null> {
  const o: Record<string, string | number | boolean | null> = {
    proto: f.proto,
    src: f.src,
    sport: f.sport,
    dst: f.dst,
    dport: f.dport,
    first: isoNs(f.first_sec, f.first_nsec),
    last: isoNs(f.last_sec, f.last_nsec),
    src_pkts: f.src_pkts,
    src_bytes: f.src_bytes,
    dst_pkts: f.dst_pkts,
    dst_bytes: f.dst_bytes,
    src_ip_bytes: f.src_ip_bytes,
    dst_ip_bytes: f.dst_ip_bytes,
    src_payload_bytes: f.src_payload_bytes,
    dst_payload_bytes: f.dst_payload_bytes,
    app: f.app,
    app_source: f.app_source,
    server_name: f.server_name,
    state: f.state,
    vlan: f.vlan,
    ip_version: f.ip_version,
    inner_vlan: f.inner_vlan,
    tunnel: f.tunnel,
    tunnel_ip_version: f.tunnel_ip_version,
    alpn: f.alpn,
    http_method: f.http_method,
    dns_rcode: f.dns_rcode,
    ssh_banner: f.ssh_banner,
    src_tcp_flags: f.src_tcp_flags,
    dst_tcp_flags: f.dst_tcp_flags,
    fragments: f.fragments,
  };
  // TCP health: TCP flows only (a DNS flow's line stays short); times null where unknown.
  const t = f.tcp;
  if (t === null) return o;
  for (let i = 0; i < TCP_COUNT_FIELDS.length; i++) o[TCP_COUNT_FIELDS[i]] = t.counts[i];
  for (let i = 0; i < TCP_TIME_FIELDS.length; i++) o[TCP_TIME_FIELDS[i]] = Number.isNaN(t.times[i]) ? null : t.times[i];
  o.reset_by = t.resetBy;
  o.reset_after_data = t.resetAfterData;
  return o;
}

/** Every column, TCP health included (empty cells for other protocols). */
export const CSV_COLUMNS = Object.keys(
  publicFlow({
    id: 0, ip_version: 4, proto: 0, src: '', sport: 0, dst: '', dport: 0, first_sec: 0, first_nsec: 0, last_sec: 0, last_nsec: 0, src_pkts: 0, dst_pkts: 0,
    src_bytes: 0, dst_bytes: 0, src_ip_bytes: 0, dst_ip_bytes: 0, src_payload_bytes: 0, dst_payload_bytes: 0, app: null,
    app_source: null, server_name: null, alpn: null, http_method: null, dns_rcode: null, ssh_banner: null, src_tcp_flags: 0,
    dst_tcp_flags: 0, state: '', vlan: null, inner_vlan: null, tunnel: null, tunnel_ip_version: null, fragments: 0, tcp: { counts: [], times: [], resetBy: null, resetAfterData: null },
  }),
);

/** One CSV cell as csvRow() writes it: quoted, with quotes doubled, only where it holds a quote, comma or line break. */
export function csvCell(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return ''; // undefined: TCP health columns of another protocol
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(f: FlowRecord): string {
  const o = publicFlow(f);
  return CSV_COLUMNS.map((c) => csvCell(o[c])).join(',');
}

const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'icmp6', 132: 'sctp', 33: 'dccp' };

export function protoName(p: number): string {
  return PROTO_NAMES[p] ?? String(p);
}

function endpoint(addr: string, port: number, proto: number): string {
  const hasPorts = proto === 6 || proto === 17 || proto === 132 || proto === 33 || proto === 136;
  if (!hasPorts) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

export const TABLE_HEADER = ['first (UTC)', 'proto', 'src', 'dst', 'pkts >', 'bytes >', 'pkts <', 'bytes <', 'state', 'app', 'server_name'];
const WIDTHS = [29, 5, 46, 46, 8, 12, 8, 12, 6, 12, 0];

export function tableRow(cells: string[]): string {
  return cells.map((c, i) => (WIDTHS[i] ? (i >= 4 && i <= 7 ? c.padStart(WIDTHS[i]) : c.padEnd(WIDTHS[i])) : c)).join(' ').trimEnd();
}

export function tableCells(f: FlowRecord): string[] {
  return [
    isoNs(f.first_sec, f.first_nsec),
    protoName(f.proto),
    endpoint(f.src, f.sport, f.proto),
    endpoint(f.dst, f.dport, f.proto),
    String(f.src_pkts),
    String(f.src_bytes),
    String(f.dst_pkts),
    String(f.dst_bytes),
    f.state,
    f.app ? (f.app_source === 'port' ? `${f.app}?` : f.app) : '-',
    f.server_name ?? '',
  ];
}
