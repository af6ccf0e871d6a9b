/**
 * What the decoder knows about one packet. One instance lives for the whole run and every field
 * is overwritten by each decode (no per-packet allocation). Addresses are four 32-bit words in
 * network order; IPv4 uses word 3 only (words 0..2 are zero).
 */
export const enum Category {
  /** An IP packet with its innermost addresses and protocol (ports 0 where unknown). */
  Flow = 0,
  /** A link-layer frame that carries no IP (ARP, LLDP, STP, ...). */
  NonIp = 1,
  /** Link type this decoder does not know. */
  UnknownLink = 2,
  /** Malformed or truncated below the IP addresses: no flow can be keyed. */
  Undecodable = 3,
  /** A non-first IP fragment whose first fragment was not seen (or attribution is off). */
  Fragment = 4,
}

export const enum Tunnel {
  None = 0,
  IpInIp,
  Gre,
  Vxlan,
  Geneve,
  Gtp,
  Teredo,
  Ayiya,
  GreUdp,
  MplsUdp,
  L2tp,
  Lisp,
  VxlanGpe,
  Erspan,
  IpComp,
}

export const TUNNEL_NAMES: readonly (string | null)[] = [null, 'ipip', 'gre', 'vxlan', 'geneve', 'gtp', 'teredo', 'ayiya', 'gre-udp', 'mpls-udp', 'l2tp', 'lisp', 'vxlan-gpe', 'erspan', 'ipcomp'];

export class PacketView {
  category: Category = Category.Flow;
  /** Problem code of the packet (Problem.None when clean); a Flow packet may still carry one. */
  problem = 0;
  ipVersion = 0;
  readonly src = new Uint32Array(4);
  readonly dst = new Uint32Array(4);
  proto = 0;
  sport = 0;
  dport = 0;
  /** Innermost IP total length (header + payload) from the header. */
  ipBytes = 0;
  /** Transport payload length from the headers (wire, not captured). */
  payloadBytes = 0;
  /** Offset and captured length of the transport payload inside the packet buffer. */
  payloadOff = 0;
  payloadCap = 0;
  tcpFlags = 0;
  /**
   * TCP sequence and acknowledgement numbers (uint32). They start as -0, a number V8 cannot keep as
   * a small integer, so the fields hold doubles from the start: a first value of 2^31 or more met
   * mid-run (the first TCP segment of a DNS-heavy capture) would otherwise change the view's
   * layout and send every function that reads it back to slower code (-2 % on the DNS mix).
   */
  tcpSeq = -0;
  tcpAck = -0;
  /** Raw (unscaled) TCP window field. */
  tcpWindow = 0;
  /** Window scale shift from a SYN's options, -1 when the packet carries none. */
  tcpWinScale = -1;
  /**
   * The whole TCP header was read and the segment is complete at the IP level (not a fragment):
   * sequence analysis can use it (Wireshark skips fragments and short headers too).
   */
  tcpComplete = false;
  /** Outer and inner VLAN ids, -1 when absent. */
  vlan = -1;
  innerVlan = -1;
  /** Outermost tunnel kind and the IP version that carried it (0 when no tunnel). */
  tunnel = 0;
  tunnelIpVersion = 0;
  /** True for a non-first fragment attributed to its flow (no transport header of its own). */
  fragment = false;
  /** Ethertype of a NonIp frame (0 when not an Ethernet-family frame). */
  etherType = 0;

  reset(): void {
    this.category = Category.Flow;
    this.problem = 0;
    this.ipVersion = 0;
    this.proto = 0;
    this.sport = 0;
    this.dport = 0;
    this.ipBytes = 0;
    this.payloadBytes = 0;
    this.payloadOff = 0;
    this.payloadCap = 0;
    this.tcpFlags = 0;
    this.tcpSeq = 0;
    this.tcpAck = 0;
    this.tcpWindow = 0;
    this.tcpWinScale = -1;
    this.tcpComplete = false;
    this.vlan = -1;
    this.innerVlan = -1;
    this.tunnel = 0;
    this.tunnelIpVersion = 0;
    this.fragment = false;
    this.etherType = 0;
  }
}
