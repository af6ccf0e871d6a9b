import { clientHelloMessage, dnsQuery, dnsResponse, httpRequest, httpResponseHead, SERVER_NAMES, SSH_CLIENT, SSH_SERVER, tlsRecord } from './payloads';
import { clientInitial } from './quic';

/**
 * Deterministic synthetic capture generator (classic pcap, microsecond, Ethernet). The same
 * options and seed always give the same bytes. Traffic: private clients talking to public
 * servers; TCP sessions (TLS with SNI/ALPN, HTTP/1.1, SSH, other) with handshake, request, bulk
 * response, ACKs and FIN; UDP (DNS query/response, other); ICMP echo. A share of flows is IPv6
 * and a share carries an 802.1Q tag. TCP/UDP checksums are left zero (readers do not check them).
 */
export interface GenerateOptions {
  /** Stop once this many capture bytes are written. */
  bytes: number;
  seed: number;
  /** Distinct hosts (about a fifth are local clients). */
  hosts: number;
  /** Approximate number of flows spread over the capture. */
  flows: number;
  /** Share of flows over IPv6 (0..1). */
  ipv6Share: number;
  /** Capture start, seconds since the epoch (default 2026-01-01T00:00:00Z). */
  startSec?: number;
  /** Mean gap between packets in nanoseconds (default 200 µs). */
  meanGapNs?: number;
  /** Flows in progress at once. */
  concurrency?: number;
  /**
   * Relative weights of flow kinds (synth/profiles.ts has the traffic profiles). Without it the
   * classic mix (TLS 40 %, HTTP 12 %, SSH 4 %, other TCP 10 %, DNS 20 %, other UDP 9 %, ICMP 5 %).
   */
  mix?: Partial<Record<FlowKindName, number>>;
  /** Chance that a TCP data segment is lost before the capture point: a gap, three duplicate ACKs, a fast retransmission. */
  lossRate?: number;
  /** Mean size of an elephant ("bulk") flow in bytes (default 50 MB). */
  bulkBytes?: number;
  /**
   * TCP handshakes in one go at a real round trip (1-100 ms to the server, 0.1-1 ms to the client)
   * instead of spread like the flow's other packets (default false: the classic captures stay as they were).
   */
  handshakeRtt?: boolean;
}

/**
 * Flow kinds a mix can weigh. quic: real Initial packets (the ClientHello in two), then 1-RTT
 * data; scan: one SYN (a third answered with RST) from one scanner; bulk: an elephant TCP transfer.
 */
export const FLOW_KINDS = ['tls', 'http', 'ssh', 'tcp', 'dns', 'udp', 'icmp', 'quic', 'scan', 'bulk'] as const;
export type FlowKindName = (typeof FLOW_KINDS)[number];

export interface GenerateSummary {
  bytes: number;
  packets: number;
  flows: number;
  /** Seconds from the first to the last packet. */
  spanSec: number;
}

/** Deterministic xorshift32 stream (the same seed, the same draws). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0 || 1;
  }
  /** Uniform in [0, 1). */
  next(): number {
    // xorshift32
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

interface Host {
  v4: number;
  v6: Uint8Array;
}

const enum Kind {
  Tls,
  Http,
  Ssh,
  TcpOther,
  Dns,
  UdpOther,
  Icmp,
  Quic,
  Scan,
  Bulk,
}

interface Flow {
  kind: Kind;
  v6: boolean;
  vlan: number;
  client: Host;
  server: Host;
  cport: number;
  sport: number;
  step: number;
  /** Response segments left to send. */
  segments: number;
  /** Steps of the closing FIN exchange done. */
  fin: number;
  cseq: number;
  sseq: number;
  request: Buffer | null;
  response: Buffer | null;
  dnsId: number;
  /** A lost server segment waiting for its retransmission (-1: none), and duplicate ACKs sent for it. */
  lostSeq: number;
  dupAcks: number;
}

const PCAP_HEADER = Buffer.from('d4c3b2a1020004000000000000000000ffff000001000000', 'hex');
const MSS = 1460;

function isReserved(a: number): boolean {
  const o1 = a >>> 24;
  const o2 = (a >>> 16) & 255;
  return o1 === 0 || o1 === 10 || o1 === 127 || o1 >= 224 || (o1 === 100 && o2 >= 64 && o2 < 128) || (o1 === 169 && o2 === 254) ||
    (o1 === 172 && o2 >= 16 && o2 < 32) || (o1 === 192 && o2 === 168) || (o1 === 192 && o2 === 0) || (o1 === 198 && (o2 === 18 || o2 === 19 || o2 === 51)) || (o1 === 203 && o2 === 0);
}

export function generateCapture(opts: GenerateOptions, write: (chunk: Uint8Array) => void): GenerateSummary {
  const rng = new Rng(opts.seed);
  const nLocal = Math.max(2, Math.round(opts.hosts / 5));
  const nRemote = Math.max(2, opts.hosts - nLocal);
  const locals: Host[] = [];
  const remotes: Host[] = [];
  for (let i = 0; i < nLocal; i++) {
    const v6 = new Uint8Array(16);
    v6.set([0xfd, 0x00, 0x0c, 0xa9, 0, 0, 0, 1]); // unique local fd00:ca9::/48
    v6.set(rng.bytes(8), 8);
    locals.push({ v4: ((10 << 24) | (rng.int(4) << 16) | ((1 + rng.int(250)) << 8) | (1 + rng.int(250))) >>> 0, v6 });
  }
  for (let i = 0; i < nRemote; i++) {
    let a = 0;
    do a = ((1 + rng.int(222)) * 16777216 + rng.int(16777216)) >>> 0;
    while (isReserved(a));
    const v6 = new Uint8Array(16);
    v6.set([0x20, 0x01 + rng.int(8), rng.int(256), rng.int(256)]);
    v6.set(rng.bytes(12), 4);
    remotes.push({ v4: a, v6 });
  }

  const mix = opts.mix ? mixTable(opts.mix) : null;
  const realHandshake = opts.handshakeRtt ?? false;
  const lossRate = opts.lossRate ?? 0;
  const meanFlowBytes = opts.bytes / Math.max(1, opts.flows);
  const meanSegments = Math.max(1, meanFlowBytes / 1600);
  const concurrency = opts.concurrency ?? 64;
  const meanGap = opts.meanGapNs ?? 200_000;
  let sec = opts.startSec ?? 1_767_225_600;
  let ns = 0;

  const out = Buffer.alloc(4 * 1024 * 1024);
  let pos = 0;
  let written = 0;
  let packets = 0;
  let flowsStarted = 0;
  PCAP_HEADER.copy(out, 0);
  pos = PCAP_HEADER.length;

  const newFlow = (): Flow => {
    flowsStarted++;
    const r = rng.next();
    const kind = mix ? pick(mix, r) : r < 0.4 ? Kind.Tls : r < 0.52 ? Kind.Http : r < 0.56 ? Kind.Ssh : r < 0.66 ? Kind.TcpOther : r < 0.86 ? Kind.Dns : r < 0.95 ? Kind.UdpOther : Kind.Icmp;
    const client = kind === Kind.Scan ? locals[0] : locals[rng.int(locals.length)];
    const server = remotes[Math.min(remotes.length - 1, Math.floor(remotes.length * rng.next() * rng.next()))]; // popular servers more often
    const name = SERVER_NAMES[rng.int(SERVER_NAMES.length)];
    const sport =
      kind === Kind.Tls || kind === Kind.Quic ? 443 : kind === Kind.Http ? 80 : kind === Kind.Ssh ? 22 : kind === Kind.Dns ? 53 : kind === Kind.UdpOther ? 1024 + rng.int(60000) : kind === Kind.Icmp ? 0 :
      kind === Kind.Scan ? 1 + rng.int(1024) : [25, 3306, 5432, 445, 8080][rng.int(5)];
    // Heavy-tailed response size: most flows short, a few long (elephants: around bulkBytes).
    const u = rng.next();
    const segments = kind === Kind.Bulk ? Math.round(((0.5 + u) * (opts.bulkBytes ?? 50_000_000)) / MSS) : Math.max(1, Math.round(meanSegments * 0.5 / Math.sqrt(1 - u * 0.999)));
    let request: Buffer | null = null;
    let response: Buffer | null = null;
    const dnsId = rng.int(65536);
    if (kind === Kind.Tls) request = tlsRecord(0x16, clientHelloMessage(name, rng.next() < 0.7 ? ['h2', 'http/1.1'] : ['http/1.1'], (n) => rng.bytes(n)));
    else if (kind === Kind.Http) {
      request = httpRequest(rng.next() < 0.8 ? 'GET' : 'POST', name, `/assets/${rng.int(100000)}.bin`);
      response = httpResponseHead(segments * MSS);
    } else if (kind === Kind.Ssh) {
      request = SSH_CLIENT;
      response = SSH_SERVER;
    } else if (kind === Kind.Dns) {
      request = dnsQuery(dnsId, name, rng.next() < 0.8 ? 1 : 28);
      response = dnsResponse(dnsId, name, server.v4, rng.next() < 0.05);
    } else if (kind === Kind.Quic) {
      // A ClientHello with a post-quantum key share (~1.9 KB): two Initial packets, as browsers send.
      const hello = clientHelloMessage(name, ['h3'], (n) => rng.bytes(n), 1184);
      const dcid = rng.bytes(8);
      const scid = rng.bytes(8);
      const half = 1000;
      request = clientInitial(dcid, scid, 0, hello.subarray(0, half));
      response = clientInitial(dcid, scid, 1, hello.subarray(half), half);
    }
    return {
      kind,
      v6: rng.next() < opts.ipv6Share,
      vlan: rng.next() < 0.1 ? [10, 20, 30][rng.int(3)] : -1,
      client,
      server,
      cport: 32768 + rng.int(28000),
      sport,
      step: 0,
      segments,
      fin: 0,
      cseq: rng.int(4294967295),
      sseq: rng.int(4294967295),
      request,
      response,
      dnsId,
      lostSeq: -1,
      dupAcks: 0,
    };
  };

  const flush = (): void => {
    write(out.subarray(0, pos));
    written += pos;
    pos = 0;
  };

  /** Writes one frame. payloadLen bytes of payload: copied from `payload` when given, else zeros. */
  /** The time to the next packet when it is not an exponential gap (-1). */
  let nextGapNs = -1;

  /** seq / ack: set explicitly (a retransmission, a duplicate ACK); -1 takes the flow's running numbers. */
  const frame = (f: Flow, fromClient: boolean, proto: number, tcpFlags: number, payload: Buffer | null, payloadLen: number, seq = -1, ack = -1): void => {
    if (out.length - pos < 2048) flush();
    const l4Len = proto === 6 ? 20 : 8;
    const ipLen = (f.v6 ? 40 : 20) + l4Len + payloadLen;
    const ethLen = 14 + (f.vlan >= 0 ? 4 : 0);
    const frameLen = ethLen + ipLen;
    // Record header.
    out.writeUInt32LE(sec, pos);
    out.writeUInt32LE(Math.floor(ns / 1000), pos + 4);
    out.writeUInt32LE(frameLen, pos + 8);
    out.writeUInt32LE(frameLen, pos + 12);
    let p = pos + 16;
    const a = fromClient ? f.client : f.server;
    const b = fromClient ? f.server : f.client;
    // Ethernet: locally administered MACs derived from the hosts.
    out.writeUInt16BE(0x0200, p);
    out.writeUInt32BE(b.v4, p + 2);
    out.writeUInt16BE(0x0200, p + 6);
    out.writeUInt32BE(a.v4, p + 8);
    p += 12;
    if (f.vlan >= 0) {
      out.writeUInt16BE(0x8100, p);
      out.writeUInt16BE(f.vlan, p + 2);
      p += 4;
    }
    out.writeUInt16BE(f.v6 ? 0x86dd : 0x0800, p);
    p += 2;
    if (f.v6) {
      out.writeUInt32BE(0x60000000, p);
      out.writeUInt16BE(ipLen - 40, p + 4);
      out[p + 6] = proto === 1 ? 58 : proto;
      out[p + 7] = 64;
      out.set(a.v6, p + 8);
      out.set(b.v6, p + 24);
      p += 40;
    } else {
      out[p] = 0x45;
      out[p + 1] = 0;
      out.writeUInt16BE(ipLen, p + 2);
      out.writeUInt16BE(packets & 0xffff, p + 4);
      out.writeUInt16BE(0x4000, p + 6);
      out[p + 8] = 64;
      out[p + 9] = proto;
      out.writeUInt16BE(0, p + 10);
      out.writeUInt32BE(a.v4, p + 12);
      out.writeUInt32BE(b.v4, p + 16);
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += (out[p + i] << 8) | out[p + i + 1];
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      out.writeUInt16BE(~sum & 0xffff, p + 10);
      p += 20;
    }
    if (proto === 6) {
      out.writeUInt16BE(fromClient ? f.cport : f.sport, p);
      out.writeUInt16BE(fromClient ? f.sport : f.cport, p + 2);
      out.writeUInt32BE(seq >= 0 ? seq : fromClient ? f.cseq : f.sseq, p + 4);
      out.writeUInt32BE(tcpFlags & 0x10 ? (ack >= 0 ? ack : fromClient ? f.sseq : f.cseq) : 0, p + 8);
      out[p + 12] = 0x50;
      out[p + 13] = tcpFlags;
      out.writeUInt16BE(64240, p + 14);
      out.writeUInt32BE(0, p + 16);
      p += 20;
      const adv = payloadLen + (tcpFlags & 0x03 ? 1 : 0); // SYN and FIN take one sequence number
      if (seq < 0) {
        if (fromClient) f.cseq = (f.cseq + adv) >>> 0;
        else f.sseq = (f.sseq + adv) >>> 0;
      }
    } else if (proto === 17) {
      out.writeUInt16BE(fromClient ? f.cport : f.sport, p);
      out.writeUInt16BE(fromClient ? f.sport : f.cport, p + 2);
      out.writeUInt16BE(8 + payloadLen, p + 4);
      out.writeUInt16BE(0, p + 6);
      p += 8;
    } else {
      out[p] = f.v6 ? (fromClient ? 128 : 129) : fromClient ? 8 : 0; // echo request / reply
      out[p + 1] = 0;
      out.writeUInt32BE(0, p + 2);
      out.writeUInt16BE(f.cport, p + 4);
      out.writeUInt16BE(f.step, p + 6);
      p += 8;
    }
    if (payload) payload.copy(out, p, 0, payloadLen);
    else out.fill(0, p, p + payloadLen);
    pos = p + payloadLen;
    packets++;
    // Advance packet time: exponential gaps (or the one asked for: a handshake's round trip).
    ns += nextGapNs >= 0 ? nextGapNs : Math.floor(-Math.log(1 - rng.next()) * meanGap);
    nextGapNs = -1;
    while (ns >= 1_000_000_000) {
      ns -= 1_000_000_000;
      sec++;
    }
  };

  /** Emits the flow's next packet; false once the flow is complete. */
  const step = (f: Flow): boolean => {
    const s = f.step++;
    switch (f.kind) {
      case Kind.Dns:
        if (s === 0) frame(f, true, 17, 0, f.request, f.request!.length);
        else frame(f, false, 17, 0, f.response, f.response!.length);
        return s === 0;
      case Kind.UdpOther: {
        const len = 100 + rng.int(1100);
        frame(f, rng.next() < 0.5, 17, 0, null, len);
        return s < f.segments;
      }
      case Kind.Icmp:
        frame(f, s % 2 === 0, 1, 0, null, 56);
        return s < 7;
      case Kind.Quic:
        return quicStep(f, s);
      case Kind.Scan:
        // A SYN; a third of the targets answer with RST-ACK (closed port), the rest stay silent.
        if (s === 0) {
          frame(f, true, 6, 0x02, null, 0);
          return rng.next() < 0.33;
        }
        frame(f, false, 6, 0x14, null, 0);
        return false;
      default:
        break;
    }
    // TCP: SYN, SYN-ACK, ACK, request, then response segments each ACKed, then FIN exchange.
    if (s === 0) {
      // The handshake in one go, at a round trip of 1-100 ms each way from the capture point (a
      // flow's other packets are spread among the other flows').
      if (realHandshake) {
        nextGapNs = (1 + rng.int(100)) * 1_000_000;
        frame(f, true, 6, 0x02, null, 0);
        nextGapNs = (1 + rng.int(10)) * 100_000;
        frame(f, false, 6, 0x12, null, 0);
        frame(f, true, 6, 0x10, null, 0);
        f.step = 3;
      } else frame(f, true, 6, 0x02, null, 0);
    } else if (s === 1) frame(f, false, 6, 0x12, null, 0);
    else if (s === 2) frame(f, true, 6, 0x10, null, 0);
    else if (s === 3) {
      if (f.request) frame(f, true, 6, 0x18, f.request, f.request.length);
      else frame(f, true, 6, 0x18, null, 200 + rng.int(300));
    } else if (f.lostSeq >= 0) {
      // After a loss: the client repeats its ACK for the missing segment three times, then the
      // server retransmits it (a fast retransmission) and the client ACKs everything.
      if (f.dupAcks < 3) {
        frame(f, true, 6, 0x10, null, 0, -1, f.lostSeq);
        f.dupAcks++;
      } else if (f.dupAcks === 3) {
        frame(f, false, 6, 0x10, null, MSS, f.lostSeq);
        f.dupAcks++;
      } else {
        frame(f, true, 6, 0x10, null, 0);
        f.lostSeq = -1;
        f.dupAcks = 0;
      }
    } else if (f.segments > 0) {
      if ((s & 1) === 0) {
        if (f.response && s === 4) frame(f, false, 6, 0x18, f.response, f.response.length);
        else if (lossRate > 0 && f.segments > 1 && rng.next() < lossRate) {
          // Lost before the capture point: the sequence moves on, nothing is written; the next segment shows the gap.
          f.lostSeq = f.sseq;
          f.sseq = (f.sseq + MSS) >>> 0;
          f.segments--;
          frame(f, false, 6, 0x10, null, MSS);
        } else frame(f, false, 6, 0x10, null, MSS);
        f.segments--;
      } else frame(f, true, 6, 0x10, null, 0);
    } else {
      const fin = f.fin++;
      if (fin === 0) frame(f, true, 6, 0x11, null, 0);
      else if (fin === 1) frame(f, false, 6, 0x11, null, 0);
      else {
        frame(f, true, 6, 0x10, null, 0);
        return false;
      }
    }
    return true;
  };

  /** QUIC: two client Initials, the server's Initial (opaque here), then 1-RTT packets, mostly server to client. */
  const quicStep = (f: Flow, s: number): boolean => {
    if (s === 0) frame(f, true, 17, 0, f.request, f.request!.length);
    else if (s === 1) frame(f, true, 17, 0, f.response, f.response!.length);
    else if (s === 2) {
      const hs = rng.bytes(1200);
      hs[0] = 0xc1; // long header, Initial, packet number length 2
      hs.writeUInt32BE(1, 1);
      frame(f, false, 17, 0, hs, hs.length);
    } else {
      const fromClient = (s & 3) === 0;
      const len = fromClient ? 40 + rng.int(40) : 1200 + rng.int(150);
      const data = rng.bytes(len);
      data[0] = 0x40 | (data[0] & 0x3f); // short header
      frame(f, fromClient, 17, 0, data, len);
      if (!fromClient) f.segments--;
    }
    return s < 3 || f.segments > 0;
  };

  const active: Flow[] = [];
  for (let i = 0; i < concurrency; i++) active.push(newFlow());
  // Elephants get most of the link while they last (4 packets in 5), as bulk transfers do.
  const boostBulk = (opts.mix?.bulk ?? 0) > 0;
  while (written + pos < opts.bytes) {
    let i = rng.int(active.length);
    if (boostBulk && active[i].kind !== Kind.Bulk && rng.next() < 0.8) {
      const b = active.findIndex((f) => f.kind === Kind.Bulk);
      if (b >= 0) i = b;
    }
    if (!step(active[i])) active[i] = newFlow();
  }
  flush();
  return { bytes: written, packets, flows: flowsStarted, spanSec: sec - (opts.startSec ?? 1_767_225_600) };
}

/** The whole generated capture in memory (tests, the demo capture). */
export function generateCaptureBuffer(opts: GenerateOptions): Buffer {
  const parts: Buffer[] = [];
  generateCapture(opts, (c) => parts.push(Buffer.from(c)));
  return Buffer.concat(parts);
}

/** Cumulative weights of a mix, in Kind order. */
function mixTable(mix: Partial<Record<FlowKindName, number>>): Float64Array {
  const w = FLOW_KINDS.map((k) => Math.max(0, mix[k] ?? 0));
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('a traffic mix needs at least one kind with a positive weight');
  const cum = new Float64Array(w.length);
  let acc = 0;
  w.forEach((x, i) => (cum[i] = acc += x / total));
  return cum;
}

/** The kind a uniform draw r falls on. (FLOW_KINDS and Kind share their order.) */
function pick(cum: Float64Array, r: number): Kind {
  for (let i = 0; i < cum.length; i++) if (r < cum[i]) return i as Kind;
  return (cum.length - 1) as Kind;
}
