import type { FlowRecord } from '../model/flow';

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/**
 * Year, month (1-12) and day of a count of days since 1970-01-01, into out[0..2], by the
 * well-known era arithmetic (no Date object, no allocation: this runs twice per flow).
 */
export function civilDate(days: number, out: Float64Array): void {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  out[0] = yoe + era * 400 + (month <= 2 ? 1 : 0);
  out[1] = month;
  out[2] = doy - Math.floor((153 * mp + 2) / 5) + 1;
}

const ymd = new Float64Array(3);

/** ISO-8601 UTC with nanoseconds: 2024-05-01T12:00:00.123456789Z. */
export function isoNs(sec: number, nsec: number): string {
  const days = Math.floor(sec / 86400);
  const rem = sec - days * 86400;
  civilDate(days, ymd);
  const [year, month, day] = ymd;
  const hh = Math.floor(rem / 3600);
  const mm = Math.floor((rem % 3600) / 60);
  const ss = rem % 60;
  const frac = String(nsec);
  return `${year}-${two(month)}-${two(day)}T${two(hh)}:${two(mm)}:${two(ss)}.${'000000000'.slice(frac.length)}${frac}Z`;
}

/** The public ndjson/csv shape of a flow (field names are the CLI's contract, see README). */
export function publicFlow(f: FlowRecord): Record<string, string | number | null> {
  return {
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
}

export const CSV_COLUMNS = Object.keys(
  publicFlow({
    id: 0, ip_version: 4, proto: 0, src: '', sport: 0, dst: '', dport: 0, first_sec: 0, first_nsec: 0, last_sec: 0, last_nsec: 0, src_pkts: 0, dst_pkts: 0,
    src_bytes: 0, dst_bytes: 0, src_ip_bytes: 0, dst_ip_bytes: 0, src_payload_bytes: 0, dst_payload_bytes: 0, app: null,
    app_source: null, server_name: null, alpn: null, http_method: null, dns_rcode: null, ssh_banner: null, src_tcp_flags: 0,
    dst_tcp_flags: 0, state: '', vlan: null, inner_vlan: null, tunnel: null, tunnel_ip_version: null, fragments: 0,
  }),
);

function csvCell(v: string | number | null): string {
  if (v === null) return '';
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
