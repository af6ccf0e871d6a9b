import type * as Zlib from 'node:zlib';
import { Problem } from './problems';
import { Category, PacketView, Tunnel } from './packet-view';
import { FragmentTable } from './fragments';

/**
 * Packet decoder: link layer -> (tunnels) -> innermost IP -> transport. One long-lived instance
 * overwrites `view` for every packet; nothing is allocated per packet. Dispatch is on numbers
 * (link types, ethertypes, protocol numbers). Every read is bounds-checked against the captured
 * end: a short packet sets a problem code, never throws.
 *
 * Tunnels: the flow is the innermost conversation (what a user looks for); the outermost tunnel
 * kind and its IP version are kept on the view. A tunnel whose inner packet does not decode falls
 * back to the outer conversation.
 */

const MAX_DEPTH = 8;

// Link types (LINKTYPE_* numbers as written in pcap/pcapng files).
const LT_NULL = 0;
const LT_ETHERNET = 1;
const LT_SLIP = 8;
const LT_PPP = 9;
const LT_FDDI = 10;
const LT_RAW_12 = 12;
const LT_RAW_14 = 14;
const LT_PPP_HDLC = 50;
const LT_PPP_ETHER = 51;
const LT_RAW = 101;
const LT_C_HDLC = 104;
const LT_IEEE802_11 = 105;
const LT_FRELAY = 107;
const LT_LOOP = 108;
const LT_LINUX_SLL = 113;
const LT_RADIOTAP = 127;
const LT_ARCNET_LINUX = 129;
const LT_USER2_PKTAP = 149;
const LT_PPI = 192;
const LT_IPNET = 226;
const LT_IPV4 = 228;
const LT_IPV6 = 229;
const LT_NFLOG = 239;
const LT_IPOIB = 242;
const LT_PKTAP = 258;
const LT_LINUX_SLL2 = 276;

export interface DecoderOptions {
  /** Attribute non-first IP fragments to the flow of their first fragment (default true). */
  attributeFragments?: boolean;
}

export class PacketDecoder {
  readonly view = new PacketView();
  private readonly attributeFragments: boolean;
  private readonly frags = new FragmentTable();
  private origEnd = 0;
  private depth = 0;
  /**
   * Saved outer state per tunnel depth, to fall back when an inner packet does not decode. Int32:
   * the view's small fields must get small integers back, not the doubles a Float64Array gives
   * (that changed the view's layout at the first fallback; see PacketView.tcpSeq). Address words
   * go back into Uint32Arrays, which restore their unsigned value.
   */
  private readonly saved = new Int32Array(MAX_DEPTH * 16);
  /** Set while decoding a first fragment: its key is recorded once the innermost flow is known. */
  private fragPending = false;
  /**
   * The innermost IP layer is a first fragment (more fragments follow), whatever attribution does:
   * its TCP segment's length is not known yet. A first fragment of a tunnel's outer packet still
   * carries a whole inner header, whose length fields are the segment's.
   */
  private firstFragment = false;

  constructor(options: DecoderOptions = {}) {
    this.attributeFragments = options.attributeFragments ?? true;
  }

  decode(b: Uint8Array, off: number, capLen: number, origLen: number, linkType: number): Category {
    const v = this.view;
    v.reset();
    this.depth = 0;
    this.fragPending = false;
    this.firstFragment = false;
    this.origEnd = off + origLen;
    const end = off + capLen;
    const cat = this.link(b, off, end, linkType);
    v.category = cat;
    if (this.fragPending && cat === Category.Flow && this.attributeFragments) this.frags.remember(v);
    return cat;
  }

  private problem(p: Problem, cat: Category): Category {
    if (this.view.problem === 0) this.view.problem = p;
    return cat;
  }

  private link(b: Uint8Array, o: number, end: number, lt: number): Category {
    switch (lt) {
      case LT_ETHERNET:
        return this.ethernet(b, o, end);
      case LT_RAW:
      case LT_RAW_12:
      case LT_RAW_14:
      case LT_IPV4:
      case LT_IPV6:
        return this.ipAny(b, o, end, true);
      case LT_NULL:
      case LT_LOOP: {
        if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        // BSD loopback: address family in host byte order (LOOP: network order); 2 = IPv4, 10/24/28/30 = IPv6.
        let fam = lt === LT_LOOP || (b[o] === 0 && b[o + 1] === 0) ? (b[o + 2] << 8) | b[o + 3] : b[o] | (b[o + 1] << 8);
        if (fam === 0) fam = b[o + 3];
        if (fam === 2 || fam === 10 || fam === 24 || fam === 28 || fam === 30) return this.ipAny(b, o + 4, end, false);
        return Category.NonIp;
      }
      case LT_LINUX_SLL:
        if (end - o < 16) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        return this.etherType(b, o + 16, end, (b[o + 14] << 8) | b[o + 15]);
      case LT_LINUX_SLL2:
        if (end - o < 20) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        return this.etherType(b, o + 20, end, (b[o] << 8) | b[o + 1]);
      case LT_PPP:
      case LT_PPP_HDLC:
        return this.ppp(b, o, end);
      case LT_PPP_ETHER:
        if (end - o < 6) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        return this.ppp(b, o + 6, end);
      case LT_C_HDLC:
        if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        return this.etherType(b, o + 4, end, (b[o + 2] << 8) | b[o + 3]);
      case LT_FDDI:
        if (end - o < 13) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        return this.llc(b, o + 13, end);
      case LT_IEEE802_11:
        return this.wifi(b, o, end);
      case LT_RADIOTAP: {
        if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        const len = b[o + 2] | (b[o + 3] << 8);
        return this.wifi(b, o + len, end);
      }
      case LT_PPI: {
        if (end - o < 8) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        const len = b[o + 2] | (b[o + 3] << 8);
        const dlt = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
        if (dlt === LT_PPI || this.depth >= MAX_DEPTH) return this.problem(Problem.TunnelTooDeep, Category.Undecodable);
        this.depth++;
        return this.link(b, o + len, end, dlt);
      }
      case LT_IPNET: {
        if (end - o < 24) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        const fam = b[o + 1];
        if (fam === 2 || fam === 26) return this.ipAny(b, o + 24, end, false);
        return Category.NonIp;
      }
      case LT_NFLOG:
        return this.nflog(b, o, end);
      case LT_PKTAP:
      case LT_USER2_PKTAP: {
        if (end - o < 8) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        const len = (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
        const dlt = (b[o + 4] | (b[o + 5] << 8) | (b[o + 6] << 16) | (b[o + 7] << 24)) >>> 0;
        if (len < 8 || dlt === LT_PKTAP || dlt === LT_USER2_PKTAP || this.depth >= MAX_DEPTH) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        this.depth++;
        return this.link(b, o + len, end, dlt);
      }
      case LT_IPOIB:
        // 40-byte pseudo-header (destination hardware address) + 4-byte encapsulation (ethertype, reserved).
        if (end - o < 44) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        return this.etherType(b, o + 44, end, (b[o + 40] << 8) | b[o + 41]);
      case LT_ARCNET_LINUX: {
        // source, destination, 2-byte offset, protocol id; RFC 1201 protocols add split flag + sequence.
        if (end - o < 5) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        const pid = b[o + 4];
        if (pid === 0xd4) return this.ipv4(b, o + 8 + (b[o + 5] === 0xff ? 4 : 0), end);
        if (pid === 0xf0) return this.ipv4(b, o + 5, end);
        return Category.NonIp;
      }
      case LT_FRELAY: {
        if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        if (b[o + 2] === 0x03) {
          const nlpid = b[o + 3];
          if (nlpid === 0xcc || nlpid === 0x8e) return this.ipAny(b, o + 4, end, false);
          return Category.NonIp;
        }
        return this.etherType(b, o + 4, end, (b[o + 2] << 8) | b[o + 3]); // Cisco encapsulation
      }
      case LT_SLIP:
        return this.ipAny(b, o + 16, end, false);
      default:
        return this.problem(Problem.UnknownLinkType, Category.UnknownLink);
    }
  }

  private ethernet(b: Uint8Array, o: number, end: number): Category {
    if (end - o < 14) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
    return this.etherType(b, o + 14, end, (b[o + 12] << 8) | b[o + 13]);
  }

  /** Follows ethertypes through VLAN tags, MPLS, PPPoE and vendor tags down to IP. */
  private etherType(b: Uint8Array, o: number, end: number, type: number): Category {
    const v = this.view;
    for (;;) {
      switch (type) {
        case 0x0800:
          return this.ipv4(b, o, end);
        case 0x86dd:
          return this.ipv6(b, o, end);
        case 0x8100:
        case 0x88a8:
        case 0x9100:
        case 0x9200:
        case 0x9300: {
          if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          const id = ((b[o] << 8) | b[o + 1]) & 0x0fff;
          if (v.tunnel === 0) {
            if (v.vlan < 0) v.vlan = id;
            else if (v.innerVlan < 0) v.innerVlan = id;
          }
          type = (b[o + 2] << 8) | b[o + 3];
          o += 4;
          continue;
        }
        case 0x8847:
        case 0x8848:
          return this.mpls(b, o, end);
        case 0x8864:
          // PPPoE session: ver/type, code, session id, length, then the PPP protocol.
          if (end - o < 7) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          return this.ppp(b, o + 6, end);
        case 0x88e7:
          // 802.1ah PBB: I-TAG (4) + customer destination and source MACs (12).
          if (end - o < 18) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          type = (b[o + 16] << 8) | b[o + 17];
          o += 18;
          continue;
        case 0x8903:
          // Cisco FabricPath: FTag/TTL, then the original Ethernet frame.
          if (end - o < 2) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          return this.ethernet(b, o + 2, end);
        case 0x8926:
          // VN-Tag: 4-byte tag then the ethertype.
          if (end - o < 6) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          type = (b[o + 4] << 8) | b[o + 5];
          o += 6;
          continue;
        case 0x893f:
          // 802.1BR E-Tag: 6-byte tag then the ethertype.
          if (end - o < 8) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          type = (b[o + 6] << 8) | b[o + 7];
          o += 8;
          continue;
        case 0xd28b: {
          // Arista vendor ethertype: subtype, version (0x0010: 64-bit time, 0x0020: 48-bit), time, ethertype.
          if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
          const ver = (b[o + 2] << 8) | b[o + 3];
          const tsLen = ver === 0x0010 ? 8 : ver === 0x0020 ? 6 : -1;
          if (tsLen < 0 || end - o < 4 + tsLen + 2) return Category.NonIp;
          type = (b[o + 4 + tsLen] << 8) | b[o + 5 + tsLen];
          o += 6 + tsLen;
          continue;
        }
        case 0x894f:
          return this.nsh(b, o, end);
        case 0x6558:
          return this.ethernet(b, o, end);
        default:
          if (type <= 1500) return this.llc(b, o, end);
          v.etherType = type;
          return Category.NonIp;
      }
    }
  }

  /** 802.2 LLC; SNAP carries an ethertype, other SAPs carry no IP. */
  private llc(b: Uint8Array, o: number, end: number): Category {
    if (end - o < 3) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
    if (b[o] === 0xaa && b[o + 1] === 0xaa && b[o + 2] === 0x03) {
      if (end - o < 8) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
      return this.etherType(b, o + 8, end, (b[o + 6] << 8) | b[o + 7]);
    }
    if (b[o] === 0x06 && b[o + 1] === 0x06) return this.ipv4(b, o + 3, end);
    return Category.NonIp;
  }

  private wifi(b: Uint8Array, o: number, end: number): Category {
    if (end - o < 24) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
    const fc0 = b[o];
    const fc1 = b[o + 1];
    const type = (fc0 >> 2) & 3;
    const subtype = fc0 >> 4;
    if (type !== 2 || subtype & 0x4) return Category.NonIp; // not data, or no payload (null function)
    if (fc1 & 0x40) return Category.NonIp; // protected: encrypted payload
    let hdr = 24;
    if ((fc1 & 3) === 3) hdr += 6;
    if (subtype & 0x8) {
      hdr += 2;
      if (fc1 & 0x80) hdr += 4;
    }
    return this.llc(b, o + hdr, end);
  }

  private nflog(b: Uint8Array, o: number, end: number): Category {
    if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
    let p = o + 4;
    while (end - p >= 4) {
      const len = b[p] | (b[p + 1] << 8);
      const type = b[p + 2] | (b[p + 3] << 8);
      if (len < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
      if (type === 9) return this.ipAny(b, p + 4, Math.min(end, p + len), false);
      p += (len + 3) & ~3;
    }
    return Category.NonIp;
  }

  private ppp(b: Uint8Array, o: number, end: number): Category {
    if (end - o >= 2 && b[o] === 0xff && b[o + 1] === 0x03) o += 2;
    if (end - o < 1) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
    // Protocol field compression: an odd first byte is a one-byte protocol number.
    if (b[o] & 1) return this.pppProto(b, o + 1, end, b[o]);
    if (end - o < 2) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
    return this.pppProto(b, o + 2, end, (b[o] << 8) | b[o + 1]);
  }

  private pppProto(b: Uint8Array, o: number, end: number, proto: number): Category {
    switch (proto) {
      case 0x0021:
        return this.ipv4(b, o, end);
      case 0x0057:
        return this.ipv6(b, o, end);
      case 0x0281:
      case 0x0283:
        return this.mpls(b, o, end);
      default:
        return Category.NonIp;
    }
  }

  private mpls(b: Uint8Array, o: number, end: number): Category {
    for (let i = 0; i < 16; i++) {
      if (end - o < 4) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
      const bottom = b[o + 2] & 1;
      o += 4;
      if (bottom) {
        if (end - o < 1) return this.problem(Problem.LinkHeaderTruncated, Category.Undecodable);
        const nib = b[o] >> 4;
        if (nib === 4) return this.ipv4(b, o, end);
        if (nib === 6) return this.ipv6(b, o, end);
        if (nib === 0) return this.ethernet(b, o + 4, end); // pseudowire control word + Ethernet
        return Category.NonIp;
      }
    }
    return this.problem(Problem.TunnelTooDeep, Category.Undecodable);
  }

  private nsh(b: Uint8Array, o: number, end: number): Category {
    if (end - o < 8) return this.problem(Problem.TunnelMalformed, Category.Undecodable);
    const len = (b[o + 1] & 0x3f) * 4;
    const next = b[o + 3];
    if (len < 8) return this.problem(Problem.TunnelMalformed, Category.Undecodable);
    if (next === 1) return this.ipv4(b, o + len, end);
    if (next === 2) return this.ipv6(b, o + len, end);
    if (next === 3) return this.ethernet(b, o + len, end);
    return Category.NonIp;
  }

  /** IP of either version, chosen by the version nibble. */
  private ipAny(b: Uint8Array, o: number, end: number, strictLink: boolean): Category {
    if (end - o < 1) return this.problem(Problem.IpHeaderTruncated, Category.Undecodable);
    const nib = b[o] >> 4;
    if (nib === 4) return this.ipv4(b, o, end);
    if (nib === 6) return this.ipv6(b, o, end);
    return this.problem(strictLink ? Problem.IpVersionMismatch : Problem.IpHeaderTruncated, Category.Undecodable);
  }

  private ipv4(b: Uint8Array, o: number, end: number): Category {
    const v = this.view;
    this.firstFragment = false; // only the IP layer that carries the transport counts (a tunnel's outer fragment does not)
    if (end - o < 20) return this.problem(Problem.IpHeaderTruncated, Category.Undecodable);
    if (b[o] >> 4 !== 4) return this.problem(Problem.IpVersionMismatch, Category.Undecodable);
    const ihl = (b[o] & 0x0f) * 4;
    if (ihl < 20) return this.problem(Problem.IpBadHeaderLength, Category.Undecodable);
    if (end - o < ihl) return this.problem(Problem.IpHeaderTruncated, Category.Undecodable);
    let total = (b[o + 2] << 8) | b[o + 3];
    if (total === 0) total = this.origEnd - o; // TSO / BIG TCP: length from the frame
    else if (total < ihl) return this.problem(Problem.IpBadTotalLength, Category.Undecodable);
    v.ipVersion = 4;
    v.src[0] = 0;
    v.src[1] = 0;
    v.src[2] = 0;
    v.src[3] = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
    v.dst[0] = 0;
    v.dst[1] = 0;
    v.dst[2] = 0;
    v.dst[3] = ihl > 20 ? finalDestination(b, o, ihl) : ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
    v.ipBytes = total;
    const proto = b[o + 9];
    const fo = (b[o + 6] << 8) | b[o + 7];
    const fragOffset = fo & 0x1fff;
    const l4End = Math.min(end, o + total);
    const l4Len = total - ihl;
    if (fragOffset !== 0) return this.nonFirstFragment(4, (b[o + 4] << 8) | b[o + 5], proto, l4Len);
    if (fo & 0x2000) this.markFirstFragment(4, (b[o + 4] << 8) | b[o + 5], proto);
    return this.transport(b, o + ihl, l4End, proto, l4Len);
  }

  private ipv6(b: Uint8Array, o: number, end: number): Category {
    const v = this.view;
    this.firstFragment = false;
    if (end - o < 40) return this.problem(Problem.IpHeaderTruncated, Category.Undecodable);
    if (b[o] >> 4 !== 6) return this.problem(Problem.IpVersionMismatch, Category.Undecodable);
    v.ipVersion = 6;
    for (let i = 0; i < 4; i++) {
      const s = o + 8 + i * 4;
      const d = o + 24 + i * 4;
      v.src[i] = ((b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3]) >>> 0;
      v.dst[i] = ((b[d] << 24) | (b[d + 1] << 16) | (b[d + 2] << 8) | b[d + 3]) >>> 0;
    }
    const payloadLen = (b[o + 4] << 8) | b[o + 5];
    let total = 40 + payloadLen;
    if (payloadLen === 0) total = this.origEnd - o; // jumbogram / BIG TCP: refined by the jumbo option below
    let nh = b[o + 6];
    let p = o + 40;
    // Each extension header is at least 8 bytes, so the chain is bounded by the packet length.
    for (;;) {
      // Mobility (135) and HIP (139) headers end the chain: their payload protocol is always 59 (none).
      if (nh === 0 || nh === 43 || nh === 60 || nh === 140 || nh === 51 || nh === 44) {
        if (end - p < 8) {
          v.ipBytes = total;
          v.proto = nh;
          return this.problem(Problem.Ip6ExtensionTruncated, Category.Flow);
        }
        const next = b[p];
        if (nh === 44) {
          const fo = (b[p + 2] << 8) | b[p + 3];
          const id = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
          const fragOffset = fo >> 3;
          const more = fo & 1;
          p += 8;
          if (fragOffset !== 0) {
            v.ipBytes = total;
            return this.nonFirstFragment(6, id, next, o + total - p);
          }
          if (more) this.markFirstFragment(6, id, next);
          nh = next;
          continue;
        }
        const len = nh === 51 ? (b[p + 1] + 2) * 4 : (b[p + 1] + 1) * 8;
        if ((nh === 0 || nh === 60) && p + len <= end && !optionsFit(b, p + 2, p + len)) {
          v.ipBytes = total;
          v.proto = nh;
          return this.problem(Problem.Ip6OptionsMalformed, Category.Flow);
        }
        if (nh === 0 && payloadLen === 0) total = this.jumbo(b, p, Math.min(end, p + len), total);
        nh = next;
        p += len;
        continue;
      }
      break;
    }
    v.ipBytes = total;
    const l4End = Math.min(end, o + total);
    return this.transport(b, p, l4End, nh, o + total - p);
  }

  /** Hop-by-hop options: the jumbo payload option (type 0xC2) gives the real payload length. */
  private jumbo(b: Uint8Array, p: number, end: number, fallback: number): number {
    let q = p + 2;
    while (q < end) {
      const t = b[q];
      if (t === 0) {
        q++;
        continue;
      }
      if (q + 2 > end) break;
      const l = b[q + 1];
      if (t === 0xc2 && l === 4 && q + 6 <= end) return 40 + (((b[q + 2] << 24) | (b[q + 3] << 16) | (b[q + 4] << 8) | b[q + 5]) >>> 0);
      q += 2 + l;
    }
    return fallback;
  }

  private markFirstFragment(version: number, id: number, proto: number): void {
    this.firstFragment = true;
    if (!this.attributeFragments || this.fragPending) return;
    this.fragPending = true;
    this.frags.begin(version, this.view.src, this.view.dst, id, proto);
  }

  private nonFirstFragment(version: number, id: number, proto: number, l4Len: number): Category {
    const v = this.view;
    v.proto = proto;
    if (!this.attributeFragments || !this.frags.recall(version, v.src, v.dst, id, proto, v)) {
      return this.problem(Problem.FragmentUnattributed, Category.Fragment);
    }
    v.fragment = true;
    v.payloadBytes = l4Len > 0 ? l4Len : 0;
    v.payloadCap = 0;
    return Category.Flow;
  }

  private transport(b: Uint8Array, o: number, end: number, proto: number, wireLen: number): Category {
    const v = this.view;
    v.proto = proto;
    const cap = end - o;
    switch (proto) {
      case 6: {
        if (cap < 4) return this.problem(Problem.TransportTruncated, Category.Flow);
        v.sport = (b[o] << 8) | b[o + 1];
        v.dport = (b[o + 2] << 8) | b[o + 3];
        if (cap < 20) return this.problem(Problem.TransportTruncated, Category.Flow);
        v.tcpSeq = ((b[o + 4] << 24) | (b[o + 5] << 16) | (b[o + 6] << 8) | b[o + 7]) >>> 0;
        const doff = (b[o + 12] >> 4) * 4;
        v.tcpFlags = b[o + 13];
        if (doff < 20) return this.problem(Problem.TransportTruncated, Category.Flow);
        v.tcpAck = ((b[o + 8] << 24) | (b[o + 9] << 16) | (b[o + 10] << 8) | b[o + 11]) >>> 0;
        v.tcpWindow = (b[o + 14] << 8) | b[o + 15];
        v.tcpComplete = wireLen >= doff && !this.firstFragment;
        if (v.tcpFlags & 0x02 && doff > 20 && cap >= doff) v.tcpWinScale = windowScale(b, o + 20, o + doff);
        const pl = wireLen - doff;
        v.payloadBytes = pl > 0 ? pl : 0;
        v.payloadOff = o + doff;
        v.payloadCap = cap > doff ? cap - doff : 0;
        return Category.Flow;
      }
      case 17:
      case 136: {
        if (cap < 4) return this.problem(Problem.TransportTruncated, Category.Flow);
        const sport = (b[o] << 8) | b[o + 1];
        const dport = (b[o + 2] << 8) | b[o + 3];
        v.sport = sport;
        v.dport = dport;
        if (cap < 8) return this.problem(Problem.TransportTruncated, Category.Flow);
        const pl = wireLen - 8;
        v.payloadBytes = pl > 0 ? pl : 0;
        v.payloadOff = o + 8;
        v.payloadCap = cap - 8;
        if (proto === 17) {
          const t = udpTunnel(sport, dport);
          if (t !== Tunnel.None) return this.udpTunnel(b, o + 8, end, t);
        }
        return Category.Flow;
      }
      case 132:
      case 33: {
        // SCTP and DCCP: ports first, like TCP/UDP.
        if (cap < 4) return this.problem(Problem.TransportTruncated, Category.Flow);
        v.sport = (b[o] << 8) | b[o + 1];
        v.dport = (b[o + 2] << 8) | b[o + 3];
        const hdr = proto === 132 ? 12 : 16;
        const pl = wireLen - hdr;
        v.payloadBytes = pl > 0 ? pl : 0;
        return Category.Flow;
      }
      case 4:
      case 41:
        return this.tunnel(b, o, end, Tunnel.IpInIp, proto === 4 ? 4 : 6);
      case 47:
        return this.gre(b, o, end);
      case 108:
        return this.ipcomp(b, o, end);
      default: {
        // ICMP, ICMPv6, ESP, AH-less others: no ports.
        const hdr = proto === 1 || proto === 58 ? 8 : 0;
        const pl = wireLen - hdr;
        v.payloadBytes = pl > 0 ? pl : 0;
        return Category.Flow;
      }
    }
  }

  /**
   * IPComp (RFC 3173): DEFLATE (well-known CPI 2, and negotiated CPIs >= 256, which in practice
   * are DEFLATE) is inflated into its own buffer; OUI/LZS/LZJH (CPI 1, 3, 4) are left alone.
   * Rare, so the allocation is acceptable; payload inspection is skipped for it (offsets would
   * point into the inflated copy, not the packet).
   */
  private ipcomp(b: Uint8Array, o: number, end: number): Category {
    const cpi = end - o >= 5 ? (b[o + 2] << 8) | b[o + 3] : 0;
    if (cpi !== 2 && cpi < 256) return Category.Flow;
    const next = b[o];
    if (next !== 4 && next !== 41) return Category.Flow;
    let inner: Buffer;
    try {
      // zlib is loaded with the first IPComp packet (loading it cost every CLI run's start ~5 ms).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      inner = (require('node:zlib') as typeof Zlib).inflateRawSync(b.subarray(o + 4, end), { maxOutputLength: 65_535 });
    } catch {
      return this.problem(Problem.TunnelMalformed, Category.Flow);
    }
    const cat = this.tunnel(inner, 0, inner.length, Tunnel.IpComp, next === 4 ? 4 : 6);
    this.view.payloadCap = 0;
    return cat;
  }

  private saveOuter(): void {
    const s = this.saved;
    const v = this.view;
    const k = (this.depth - 1) * 16;
    for (let i = 0; i < 4; i++) {
      s[k + i] = v.src[i];
      s[k + 4 + i] = v.dst[i];
    }
    s[k + 8] = v.ipVersion;
    s[k + 9] = v.proto;
    s[k + 10] = v.sport;
    s[k + 11] = v.dport;
    s[k + 12] = v.ipBytes;
    s[k + 13] = v.payloadBytes;
    s[k + 14] = v.payloadOff;
    s[k + 15] = v.payloadCap;
  }

  private restoreOuter(): void {
    const s = this.saved;
    const v = this.view;
    const k = (this.depth - 1) * 16;
    for (let i = 0; i < 4; i++) {
      v.src[i] = s[k + i];
      v.dst[i] = s[k + 4 + i];
    }
    v.ipVersion = s[k + 8];
    v.proto = s[k + 9];
    v.sport = s[k + 10];
    v.dport = s[k + 11];
    v.ipBytes = s[k + 12];
    v.payloadBytes = s[k + 13];
    v.payloadOff = s[k + 14];
    v.payloadCap = s[k + 15];
    v.tcpFlags = 0;
    v.tcpSeq = 0;
    v.tcpAck = 0;
    v.tcpWindow = 0;
    v.tcpWinScale = -1;
    v.tcpComplete = false;
  }

  /**
   * Decodes an encapsulated packet. `inner`: 4 or 6 for IP of that version, 0 for IP chosen by
   * nibble, 1 for Ethernet, 2 for PPP (with optional address/control), 3 for MPLS.
   */
  private tunnel(b: Uint8Array, o: number, end: number, kind: Tunnel, inner: number): Category {
    const v = this.view;
    if (this.depth >= MAX_DEPTH) return this.problem(Problem.TunnelTooDeep, Category.Flow);
    this.depth++;
    this.saveOuter();
    const outerVersion = v.ipVersion;
    const hadTunnel = v.tunnel;
    if (hadTunnel === 0) {
      v.tunnel = kind;
      v.tunnelIpVersion = outerVersion;
    }
    const problemBefore = v.problem;
    let cat: Category;
    if (inner === 4) cat = this.ipv4(b, o, end);
    else if (inner === 6) cat = this.ipv6(b, o, end);
    else if (inner === 0) cat = this.ipAny(b, o, end, false);
    else if (inner === 1) cat = this.ethernet(b, o, end);
    else if (inner === 2) cat = this.ppp(b, o, end);
    else cat = this.mpls(b, o, end);
    if (cat !== Category.Flow && cat !== Category.Fragment) {
      // Inner packet not decodable as IP: the outer conversation is the flow.
      this.restoreOuter();
      if (hadTunnel === 0) {
        v.tunnel = 0;
        v.tunnelIpVersion = 0;
      }
      v.problem = problemBefore;
      if (cat === Category.Undecodable) this.problem(Problem.TunnelMalformed, Category.Flow);
      cat = Category.Flow;
    }
    this.depth--;
    return cat;
  }

  private gre(b: Uint8Array, o: number, end: number): Category {
    if (end - o < 4) return this.problem(Problem.TransportTruncated, Category.Flow);
    const flags = (b[o] << 8) | b[o + 1];
    const type = (b[o + 2] << 8) | b[o + 3];
    const version = flags & 7;
    let hdr = 4;
    if (flags & 0x8000) hdr += 4; // checksum + reserved
    if (flags & 0x2000) hdr += 4; // key (PPTP: payload length + call id)
    if (flags & 0x1000) hdr += 4; // sequence number
    if (version === 1 && flags & 0x0080) hdr += 4; // PPTP acknowledgment
    if (flags & 0x4000 && version === 0) return Category.Flow; // source routing: obsolete, not followed
    const p = o + hdr;
    if (p > end) return this.problem(Problem.TransportTruncated, Category.Flow);
    switch (type) {
      case 0x0800:
        return this.tunnel(b, p, end, Tunnel.Gre, 4);
      case 0x86dd:
        return this.tunnel(b, p, end, Tunnel.Gre, 6);
      case 0x6558:
        return this.tunnel(b, p, end, Tunnel.Gre, 1);
      case 0x880b:
        return this.tunnel(b, p, end, Tunnel.Gre, 2);
      case 0x8847:
        return this.tunnel(b, p, end, Tunnel.Gre, 3);
      case 0x88be:
        // ERSPAN type II has an 8-byte header when GRE carries a sequence number; type I has none.
        return this.tunnel(b, p + (flags & 0x1000 ? 8 : 0), end, Tunnel.Erspan, 1);
      case 0x22eb: {
        // ERSPAN type III: 12-byte header, plus an 8-byte platform sub-header when the O flag is set.
        if (end - p < 12) return this.problem(Problem.TunnelMalformed, Category.Flow);
        const sub = b[p + 11] & 1 ? 8 : 0;
        return this.tunnel(b, p + 12 + sub, end, Tunnel.Erspan, 1);
      }
      default:
        return Category.Flow;
    }
  }

  private udpTunnel(b: Uint8Array, o: number, end: number, t: Tunnel): Category {
    const cap = end - o;
    switch (t) {
      case Tunnel.Vxlan:
        if (cap < 8 || (b[o] & 0x08) === 0) return Category.Flow;
        return this.tunnel(b, o + 8, end, t, 1);
      case Tunnel.VxlanGpe: {
        if (cap < 8) return Category.Flow;
        const next = b[o + 3];
        if (next === 1) return this.tunnel(b, o + 8, end, t, 4);
        if (next === 2) return this.tunnel(b, o + 8, end, t, 6);
        if (next === 3) return this.tunnel(b, o + 8, end, t, 1);
        if (next === 4) return this.nshTunnel(b, o + 8, end, t);
        return Category.Flow;
      }
      case Tunnel.Geneve: {
        if (cap < 8) return Category.Flow;
        const optLen = (b[o] & 0x3f) * 4;
        const type = (b[o + 2] << 8) | b[o + 3];
        const p = o + 8 + optLen;
        if (type === 0x6558) return this.tunnel(b, p, end, t, 1);
        if (type === 0x0800) return this.tunnel(b, p, end, t, 4);
        if (type === 0x86dd) return this.tunnel(b, p, end, t, 6);
        return Category.Flow;
      }
      case Tunnel.Gtp: {
        if (cap < 8) return Category.Flow;
        const flags = b[o];
        if (flags >> 5 !== 1 || b[o + 1] !== 0xff) return Category.Flow; // GTPv1, T-PDU only
        let p = o + 8;
        if (flags & 0x07) {
          if (end - p < 4) return Category.Flow;
          let nextExt = b[p + 3];
          p += 4;
          for (let i = 0; nextExt !== 0 && i < 8; i++) {
            if (end - p < 1) return Category.Flow;
            const len = b[p] * 4;
            if (len === 0 || end - p < len) return Category.Flow;
            nextExt = b[p + len - 1];
            p += len;
          }
        }
        return this.tunnel(b, p, end, t, 0);
      }
      case Tunnel.Teredo: {
        // Optional authentication (type 0x0001) and origin indication (0x0000) headers precede IPv6.
        let p = o;
        if (end - p >= 4 && b[p] === 0 && b[p + 1] === 1) {
          if (end - p < 4) return Category.Flow;
          p += 4 + b[p + 2] + b[p + 3] + 9;
        }
        if (end - p >= 8 && b[p] === 0 && b[p + 1] === 0) p += 8;
        if (end - p < 40 || b[p] >> 4 !== 6) return Category.Flow;
        return this.tunnel(b, p, end, t, 6);
      }
      case Tunnel.Ayiya: {
        if (cap < 8) return Category.Flow;
        const idLen = 1 << (b[o] >> 4);
        const sigLen = (b[o + 1] >> 4) * 4;
        const next = b[o + 3];
        const p = o + 8 + idLen + sigLen;
        if (next === 41) return this.tunnel(b, p, end, t, 6);
        if (next === 4) return this.tunnel(b, p, end, t, 4);
        return Category.Flow;
      }
      case Tunnel.GreUdp:
        return this.greInUdp(b, o, end);
      case Tunnel.MplsUdp:
        return this.tunnel(b, o, end, t, 3);
      case Tunnel.L2tp: {
        if (cap < 6) return Category.Flow;
        const flags = (b[o] << 8) | b[o + 1];
        if (flags & 0x8000 || (flags & 0x0f) !== 2) return Category.Flow; // control message or not v2
        let p = o + 2;
        if (flags & 0x4000) p += 2; // length
        p += 4; // tunnel id, session id
        if (flags & 0x0800) p += 4; // ns, nr
        if (flags & 0x0200) {
          if (end - p < 2) return Category.Flow;
          p += 2 + ((b[p] << 8) | b[p + 1]); // offset size + padding
        }
        return this.tunnel(b, p, end, t, 2);
      }
      case Tunnel.Lisp:
        if (cap < 8) return Category.Flow;
        return this.tunnel(b, o + 8, end, t, 0);
      default:
        return Category.Flow;
    }
  }

  private greInUdp(b: Uint8Array, o: number, end: number): Category {
    const v = this.view;
    if (this.depth >= MAX_DEPTH) return this.problem(Problem.TunnelTooDeep, Category.Flow);
    this.depth++;
    this.saveOuter();
    const had = v.tunnel;
    if (had === 0) {
      v.tunnel = Tunnel.GreUdp;
      v.tunnelIpVersion = v.ipVersion;
    }
    const sport = v.sport;
    const cat = this.gre(b, o, end);
    if (v.sport === sport && v.proto === 47) {
      // GRE did not lead to an inner packet: keep the outer UDP conversation.
      this.restoreOuter();
      if (had === 0) {
        v.tunnel = 0;
        v.tunnelIpVersion = 0;
      }
    }
    this.depth--;
    return cat;
  }

  private nshTunnel(b: Uint8Array, o: number, end: number, t: Tunnel): Category {
    if (end - o < 8) return Category.Flow;
    const len = (b[o + 1] & 0x3f) * 4;
    const next = b[o + 3];
    if (len < 8) return Category.Flow;
    if (next === 1) return this.tunnel(b, o + len, end, t, 4);
    if (next === 2) return this.tunnel(b, o + len, end, t, 6);
    if (next === 3) return this.tunnel(b, o + len, end, t, 1);
    return Category.Flow;
  }
}

/** True when the TLV options in [p, end) of a hop-by-hop or destination options header fit exactly. */
function optionsFit(b: Uint8Array, p: number, end: number): boolean {
  while (p < end) {
    if (b[p] === 0) {
      p++;
      continue;
    }
    if (p + 2 > end) return true; // a lone type byte at the very end: lenient, as tshark is
    p += 2 + b[p + 1];
  }
  return p === end;
}

/** UDP ports of the tunnels the decoder opens (IANA assignments; 8472 is Linux's VXLAN default). */
function udpTunnel(sport: number, dport: number): Tunnel {
  const t = udpTunnelPort(dport);
  return t !== Tunnel.None ? t : udpTunnelPort(sport);
}

function udpTunnelPort(port: number): Tunnel {
  switch (port) {
    case 4789:
    case 8472:
      return Tunnel.Vxlan;
    case 4790:
      return Tunnel.VxlanGpe;
    case 6081:
      return Tunnel.Geneve;
    case 2152:
      return Tunnel.Gtp;
    case 3544:
      return Tunnel.Teredo;
    case 5072:
      return Tunnel.Ayiya;
    case 4754:
      return Tunnel.GreUdp;
    case 6635:
      return Tunnel.MplsUdp;
    case 1701:
      return Tunnel.L2tp;
    case 4341:
      return Tunnel.Lisp;
    default:
      return Tunnel.None;
  }
}

/** The window scale shift (RFC 7323: at most 14) of a TCP options area, -1 when absent or malformed. */
function windowScale(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const kind = b[p];
    if (kind === 0) return -1;
    if (kind === 1) {
      p++;
      continue;
    }
    if (p + 1 >= end) return -1;
    const len = b[p + 1];
    if (len < 2 || p + len > end) return -1;
    if (kind === 3 && len === 3) return Math.min(14, b[p + 2]);
    p += len;
  }
  return -1;
}

/**
 * The destination of an IPv4 header with options: the route's final hop while a loose or strict
 * source route (options 131, 137) is still being followed, else the header's own. That final hop
 * is the transport's peer (TCP's and UDP's checksums are over it: RFC 791, RFC 1122 3.2.1.8), and
 * it is the address tshark and tcpdump show. The option is followed while its pointer (1-based,
 * 4, 8, ...) is within the option; a malformed option list leaves the header's destination.
 */
function finalDestination(b: Uint8Array, o: number, ihl: number): number {
  const header = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
  const end = o + ihl;
  let q = o + 20;
  while (q < end) {
    const type = b[q];
    if (type === 0) break; // end of options
    if (type === 1) {
      q++; // no-operation
      continue;
    }
    if (q + 2 > end) break;
    const len = b[q + 1];
    if (len < 2 || q + len > end) break;
    if (type === 131 || type === 137) {
      const ptr = len >= 7 ? b[q + 2] : 0; // a route holds at least one address
      if (ptr < 4 || (ptr & 3) !== 0 || ptr > len) return header;
      const a = q + len - 4;
      return ((b[a] << 24) | (b[a + 1] << 16) | (b[a + 2] << 8) | b[a + 3]) >>> 0;
    }
    q += len;
  }
  return header;
}
