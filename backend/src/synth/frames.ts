/**
 * Frames and classic pcap files for synthetic captures (the scenario generator and hand-made test
 * captures): Ethernet + IPv4 + TCP/UDP/ICMP frames with given fields, and a pcap file of records.
 * Facts from the formats' specifications; nothing copied.
 */
export interface PcapPacket {
  sec: number;
  frac: number;
  data: Uint8Array;
  origLen?: number;
}

export function pcapFile(opts: { le?: boolean; nanos?: boolean; linkType?: number; snapLen?: number }, packets: PcapPacket[]): Buffer {
  const le = opts.le ?? true;
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number): number => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(h, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, opts.snapLen ?? 65535, 16);
  w32(h, opts.linkType ?? 1, 20);
  parts.push(h);
  for (const p of packets) {
    const r = Buffer.alloc(16);
    w32(r, p.sec, 0);
    w32(r, p.frac, 4);
    w32(r, p.data.length, 8);
    w32(r, p.origLen ?? p.data.length, 12);
    parts.push(r, Buffer.from(p.data));
  }
  return Buffer.concat(parts);
}

/** Ethernet + IPv4 + UDP/TCP frame builder for decoder and flow tests. */
export function ipv4Frame(o: {
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  flags?: number;
  seq?: number;
  ack?: number;
  /** TCP window field (default 0). */
  window?: number;
  payload?: Uint8Array;
  vlan?: number[];
  ipId?: number;
  fragOffset?: number;
  moreFragments?: boolean;
  /** IPv4 options (padded with end-of-options to a multiple of 4 bytes). */
  ipOptions?: number[];
}): Buffer {
  const payload = Buffer.from(o.payload ?? []);
  const l4 = o.fragOffset ? Buffer.alloc(0) : o.proto === 6 ? Buffer.alloc(20) : o.proto === 17 ? Buffer.alloc(8) : Buffer.alloc(8);
  if (!o.fragOffset && (o.proto === 6 || o.proto === 17)) {
    l4.writeUInt16BE(o.sport ?? 0, 0);
    l4.writeUInt16BE(o.dport ?? 0, 2);
    if (o.proto === 6) {
      l4.writeUInt32BE(o.seq ?? 0, 4);
      l4.writeUInt32BE((o.ack ?? 0) >>> 0, 8);
      l4.writeUInt16BE(o.window ?? 0, 14);
      l4[12] = 0x50;
      l4[13] = o.flags ?? 0x10;
    } else l4.writeUInt16BE(8 + payload.length, 4);
  }
  const options = o.ipOptions ?? [];
  const ihl = 20 + Math.ceil(options.length / 4) * 4;
  const ip = Buffer.alloc(ihl);
  ip[0] = 0x40 | (ihl / 4);
  ip.set(options, 20);
  ip.writeUInt16BE(ihl + l4.length + payload.length, 2);
  ip.writeUInt16BE(o.ipId ?? 0, 4);
  ip.writeUInt16BE(((o.fragOffset ?? 0) / 8) | (o.moreFragments ? 0x2000 : 0), 6);
  ip[8] = 64;
  ip[9] = o.proto;
  o.src.split('.').forEach((x, i) => (ip[12 + i] = Number(x)));
  o.dst.split('.').forEach((x, i) => (ip[16 + i] = Number(x)));
  const tags = (o.vlan ?? []).map((id, i, all) => {
    const t = Buffer.alloc(4);
    t.writeUInt16BE(id, 0);
    t.writeUInt16BE(i === all.length - 1 ? 0x0800 : 0x8100, 2);
    return t;
  });
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(tags.length ? (tags.length > 1 ? 0x88a8 : 0x8100) : 0x0800, 12);
  return Buffer.concat([eth, ...tags, ip, l4, payload]);
}

/** Ethernet + IPv6 + UDP frame (addresses as text) for tests of IPv6 addressing. */
export function ipv6UdpFrame(o: { src: string; dst: string; sport: number; dport: number; payload?: Uint8Array }): Buffer {
  const payload = Buffer.from(o.payload ?? []);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(o.sport, 0);
  udp.writeUInt16BE(o.dport, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(8 + payload.length, 4);
  ip[6] = 17;
  ip[7] = 64;
  v6Bytes(o.src).copy(ip, 8);
  v6Bytes(o.dst).copy(ip, 24);
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x86dd, 12);
  return Buffer.concat([eth, ip, udp, payload]);
}

/** The 16 bytes of an IPv6 address in text form (full or with one "::"). */
function v6Bytes(text: string): Buffer {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return b;
}
