import type { TcpHealthRecord } from '../flows/tcp-health';

/**
 * The flow record: the contract the CLI, the store and the Grafana data source share.
 *
 * A flow is one bidirectional conversation between two endpoints of one protocol.
 * Initiator rule (`src` is the initiator):
 *  - TCP: the side that sent the first SYN (without ACK); if the first packet seen is a SYN-ACK,
 *    the side it was sent to; if no handshake was seen (capture started mid-flow), the side with
 *    the higher port (ties: the sender of the first packet); a connection that went on after
 *    a silence past the idle timeout keeps its earlier flow's initiator (flows/tcp-health.ts).
 *  - Other protocols: the sender of the first packet, unless that packet goes from a port below
 *    1024 to a port at or above 1024 (a reply seen first), in which case the receiver.
 * A flow ends on idle timeout (packet time, not wall time) or, for TCP, when a new SYN arrives
 * after the previous connection closed (FIN both ways) or was reset.
 * Tunnels (GRE, VXLAN, Geneve, GTP-U, IP-in-IP, 6in4, ...): the flow is the innermost
 * conversation; `tunnel` names the outermost encapsulation.
 */
export interface FlowRecord {
  /** Sequence number of the flow within one engine run (creation order). Bucket rows refer to it. */
  id: number;
  /** IP version, 4 or 6. */
  ip_version: 4 | 6;
  /** L4 protocol, IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP, 47 GRE, ...). */
  proto: number;
  /** Initiator address (text form; IPv6 in RFC 5952 form). '' from an engine run with addressText false (flows/assembler.ts). */
  src: string;
  /** Initiator port; 0 when the protocol has no ports. */
  sport: number;
  /** Responder address (as src). */
  dst: string;
  /** Responder port; 0 when the protocol has no ports. */
  dport: number;
  /** First packet time: whole seconds since the Unix epoch, and nanoseconds within that second. */
  first_sec: number;
  first_nsec: number;
  /** Last packet time, same split. (Kept as two numbers: nanoseconds since 1970 exceed 2^53.) */
  last_sec: number;
  last_nsec: number;
  /** Packets sent by the initiator / responder. */
  src_pkts: number;
  dst_pkts: number;
  /** Wire bytes: sum of frame original lengths (link header included; snaplen does not reduce it). */
  src_bytes: number;
  dst_bytes: number;
  /** IP bytes: sum of the (innermost) IP total lengths. */
  src_ip_bytes: number;
  dst_ip_bytes: number;
  /** Payload bytes: transport payload length computed from the headers (not from captured bytes). */
  src_payload_bytes: number;
  dst_payload_bytes: number;
  /** Application (L7) name, e.g. "dns", "tls", "http", "ssh", "quic"; null when unknown. */
  app: string | null;
  /** How `app` was decided: "payload" (a parser recognised it) or "port" (well-known port table). */
  app_source: 'payload' | 'port' | null;
  /** TLS/QUIC SNI, HTTP Host, or DNS query name; null when none was seen. */
  server_name: string | null;
  /** ALPN protocols offered in a TLS/QUIC ClientHello, comma-separated. */
  alpn: string | null;
  /** HTTP request method of the first request. */
  http_method: string | null;
  /** DNS response code of the first response (NOERROR, NXDOMAIN, ...). */
  dns_rcode: string | null;
  /** SSH version banner of the initiator ("SSH-2.0-OpenSSH_9.6"). */
  ssh_banner: string | null;
  /** TCP flags (FIN 0x01 .. CWR 0x80) OR-ed over the initiator's / responder's packets. */
  src_tcp_flags: number;
  dst_tcp_flags: number;
  /** Zeek-style connection state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH). */
  state: string;
  /** Outermost 802.1Q/802.1ad VLAN id, null when untagged (a TCP connection whose replies come on another VLAN: its SYN's). */
  vlan: number | null;
  /** Second (inner) VLAN id of a QinQ stack, null when absent. */
  inner_vlan: number | null;
  /** Outermost tunnel the flow was carried in ("gre", "vxlan", "geneve", "gtp", "ipip", ...), null when none. */
  tunnel: string | null;
  /** IP version of the outermost tunnel's carrier (4 or 6), null when there is no tunnel. */
  tunnel_ip_version: 4 | 6 | null;
  /** Non-first IP fragments attributed to this flow (both directions). */
  fragments: number;
  /** TCP health (retransmissions, handshake RTT, resets, ...; see flows/tcp-health.ts); null for other protocols. */
  tcp: TcpHealthRecord | null;
  /**
   * Not a public field. When the engine hands out bucket rows: the start (epoch ms) of the flow's
   * only time bucket, whose row equals the flow's own counters and so was not handed out (the
   * store reads it from the flow); null (or absent) when the flow's rows are in the bucket batches.
   */
  bucket_ms?: number | null;
}

/** Per-flow, per-time-bucket counters (wire bytes), emitted in columnar batches. */
export interface BucketBatch {
  length: number;
  flowId: Float64Array;
  /** Bucket start, seconds since the epoch (bucket widths are whole seconds or divisors of one second). */
  startSec: Float64Array;
  /** Nanoseconds within startSec (non-zero only for sub-second buckets). */
  startNs: Uint32Array;
  srcPkts: Float64Array;
  srcBytes: Float64Array;
  dstPkts: Float64Array;
  dstBytes: Float64Array;
  /** Retransmitted segments (tcp.analysis.retransmission) sent by the initiator / responder. */
  srcRetrans: Float64Array;
  dstRetrans: Float64Array;
}
