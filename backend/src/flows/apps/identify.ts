import type { PacketView } from '../../decode/packet-view';
import { parseDns, rcodeName } from './dns';
import { parseHttp } from './http';
import { readClientInitial, isQuicInitial, type CryptoFragment } from './quic';
import type { InitialKeys } from './initial-keys';
import { parseSshBanner } from './ssh';
import { isSsl2Hello, parseClientHello, parseClientHelloStart, tlsRecordLength, type HelloInfo } from './tls';
import { grown as grownColumn } from '../columns';

/**
 * Application identification per flow slot. Payload parsers run only on a flow's first payload
 * packets (at most MAX_TRIES per flow) and only until the answer is complete, so the cost per
 * packet on established flows is one typed-array read.
 */
const MAX_TRIES = 10;
const MAX_REASSEMBLY = 20_000;

const enum State {
  Open = 0,
  /** App known, more detail still expected (DNS response code, the client's SSH banner). */
  Detail = 1,
  Done = 2,
}

interface TlsAssembly {
  buf: Uint8Array;
  have: number;
  nextSeq: number;
}

interface QuicAssembly {
  dcid: Buffer;
  keys: InitialKeys;
  /**
   * The CRYPTO stream so far, sized to the ClientHello once its header is seen, else to the
   * furthest byte received (a ClientHello is 0.3-2 KB): allocating MAX_REASSEMBLY up front zeroed
   * 40 KB per QUIC connection, ~3 % of a web mix's run. Only bytes marked in `got` are written.
   */
  buf: Uint8Array;
  /** Bytes received per offset, to know when the ClientHello prefix is complete. */
  got: Uint8Array;
}

export class AppIdentifier {
  private state = new Uint8Array(0);
  private tries = new Uint8Array(0);
  app: (string | null)[] = [];
  serverName: (string | null)[] = [];
  alpn: (string | null)[] = [];
  httpMethod: (string | null)[] = [];
  dnsRcode: (string | null)[] = [];
  sshBanner: (string | null)[] = [];
  private tls = new Map<number, TlsAssembly>();
  private quic = new Map<number, QuicAssembly>();

  grow(capacity: number): void {
    // Pre-size the string columns (writing at slot indices past the end of an empty JS array
    // would turn it into a slow dictionary-mode array); fill() makes them ~6x faster than push().
    const grown = (col: (string | null)[]): (string | null)[] => {
      const x = new Array<string | null>(capacity).fill(null);
      for (let i = 0; i < col.length; i++) x[i] = col[i];
      return x;
    };
    this.app = grown(this.app);
    this.serverName = grown(this.serverName);
    this.alpn = grown(this.alpn);
    this.httpMethod = grown(this.httpMethod);
    this.dnsRcode = grown(this.dnsRcode);
    this.sshBanner = grown(this.sshBanner);
    this.state = grownColumn(this.state, capacity);
    this.tries = grownColumn(this.tries, capacity);
  }

  reset(slot: number): void {
    this.state[slot] = State.Open;
    this.tries[slot] = 0;
    this.app[slot] = null;
    this.serverName[slot] = null;
    this.alpn[slot] = null;
    this.httpMethod[slot] = null;
    this.dnsRcode[slot] = null;
    this.sshBanner[slot] = null;
    // (Guarded: these maps are almost always empty, and this runs for every flow.)
    if (this.tls.size > 0) this.tls.delete(slot);
    if (this.quic.size > 0) this.quic.delete(slot);
  }

  /** Called for packets with captured payload. */
  inspect(slot: number, fromInitiator: boolean, v: PacketView, b: Uint8Array): void {
    const st = this.state[slot];
    if (st === State.Done) return;
    if (this.tries[slot]++ >= MAX_TRIES) {
      this.finish(slot);
      return;
    }
    const p = v.payloadOff;
    const end = p + v.payloadCap;
    if (v.proto === 6) this.tcp(slot, fromInitiator, v, b, p, end);
    else if (v.proto === 17) this.udp(slot, fromInitiator, b, p, end);
    else this.finish(slot);
  }

  private finish(slot: number): void {
    this.state[slot] = State.Done;
    if (this.tls.size > 0) this.tls.delete(slot);
    if (this.quic.size > 0) this.quic.delete(slot);
  }

  private hello(slot: number, app: string, info: HelloInfo): void {
    this.app[slot] = app;
    this.serverName[slot] = info.sni;
    this.alpn[slot] = info.alpn;
    this.finish(slot);
  }

  private tcp(slot: number, fromInit: boolean, v: PacketView, b: Uint8Array, p: number, end: number): void {
    const st = this.state[slot];
    const asm = this.tls.size > 0 ? this.tls.get(slot) : undefined;
    if (asm) {
      if (fromInit) this.continueTls(slot, asm, v, b, p, end);
      return;
    }
    if (st === State.Detail) {
      if (this.app[slot] === 'ssh' && fromInit) {
        const banner = parseSshBanner(b, p, end);
        if (banner) {
          this.sshBanner[slot] = banner;
          this.finish(slot);
        }
      } else if (this.app[slot] === 'dns' && !fromInit) {
        const dns = dnsOverTcp(b, p, end);
        if (dns && dns.response) this.dns(slot, dns.name, true, dns.rcode);
      }
      return;
    }
    const need = tlsRecordLength(b, p, end);
    if (need > 0) {
      if (end - p >= need) {
        const info = parseClientHello(b, p + 5, p + need);
        if (info) this.hello(slot, 'tls', info);
        else this.finish(slot);
        return;
      }
      // ClientHello spans segments: collect them in sequence order. (Unzeroed from Node's buffer
      // pool, as QUIC's in place(): it is parsed only once every byte has been written.)
      const buf = Buffer.allocUnsafe(Math.min(need, MAX_REASSEMBLY));
      const have = Math.min(end - p, buf.length);
      buf.set(b.subarray(p, p + have));
      this.app[slot] = 'tls';
      this.tls.set(slot, { buf, have, nextSeq: (v.tcpSeq + (end - p)) >>> 0 });
      return;
    }
    if (isSsl2Hello(b, p, end)) {
      this.app[slot] = 'tls';
      this.finish(slot);
      return;
    }
    const http = parseHttp(b, p, end);
    if (http) {
      this.app[slot] = 'http';
      if (!http.response) {
        this.httpMethod[slot] = http.method;
        this.serverName[slot] = http.host;
        this.finish(slot);
      }
      return;
    }
    const banner = parseSshBanner(b, p, end);
    if (banner) {
      this.app[slot] = 'ssh';
      if (fromInit) {
        this.sshBanner[slot] = banner;
        this.finish(slot);
      } else this.state[slot] = State.Detail;
      return;
    }
    if (v.sport === 53 || v.dport === 53) {
      const dns = dnsOverTcp(b, p, end);
      if (dns) this.dns(slot, dns.name, dns.response, dns.rcode);
    }
  }

  private continueTls(slot: number, asm: TlsAssembly, v: PacketView, b: Uint8Array, p: number, end: number): void {
    if (v.tcpSeq !== asm.nextSeq) return; // retransmission or gap: wait for the in-order segment
    const take = Math.min(end - p, asm.buf.length - asm.have);
    asm.buf.set(b.subarray(p, p + take), asm.have);
    asm.have += take;
    asm.nextSeq = (asm.nextSeq + (end - p)) >>> 0;
    if (asm.have < asm.buf.length) {
      // SNI and ALPN may be in hand already (the rest: a post-quantum key share, say).
      const early = parseClientHelloStart(asm.buf, 5, asm.have);
      if (early) this.hello(slot, 'tls', early);
      return;
    }
    const info = parseClientHello(asm.buf, 5, asm.buf.length);
    if (info) this.hello(slot, 'tls', info);
    else this.finish(slot);
  }

  private dns(slot: number, name: string, response: boolean, rcode: number): void {
    this.app[slot] = 'dns';
    if (this.serverName[slot] == null) this.serverName[slot] = name;
    if (response) {
      this.dnsRcode[slot] = rcodeName(rcode);
      this.finish(slot);
    } else this.state[slot] = State.Detail;
  }

  private udp(slot: number, fromInit: boolean, b: Uint8Array, p: number, end: number): void {
    const st = this.state[slot];
    if (st === State.Detail) {
      if (this.app[slot] === 'dns') {
        const dns = parseDns(b, p, end - p, false); // the name came with the query
        if (dns && dns.response) this.dns(slot, dns.name, true, dns.rcode);
      }
      return;
    }
    if (fromInit && isQuicInitial(b, p, end)) {
      this.quicInitial(slot, b, p, end);
      return;
    }
    const dns = parseDns(b, p, end - p);
    if (dns) this.dns(slot, dns.name, dns.response, dns.rcode);
  }

  private quicInitial(slot: number, b: Uint8Array, p: number, end: number): void {
    readClientInitial(b, p, end, this.quic.get(slot) ?? null, (dcid, keys, fragments) => this.quicCrypto(slot, dcid, keys, fragments));
  }

  /** Takes a client Initial's CRYPTO fragments; true once the ClientHello is read (or given up). */
  private quicCrypto(slot: number, dcid: Buffer, keys: InitialKeys, fragments: CryptoFragment[]): boolean {
    this.app[slot] = 'quic';
    let asm = this.quic.get(slot);
    if (!asm) {
      asm = { dcid, keys, buf: EMPTY_BUFFER, got: EMPTY };
      this.quic.set(slot, asm);
    }
    for (const frag of fragments) place(asm, frag);
    // The ClientHello is read once its SNI and ALPN are among the bytes received from its start,
    // or once all of it is.
    const got = asm.got;
    const gap = got.indexOf(0);
    const have = gap < 0 ? got.length : gap;
    if (have >= 4 && 4 + ((asm.buf[1] << 16) | (asm.buf[2] << 8) | asm.buf[3]) > MAX_REASSEMBLY) {
      this.finish(slot);
      return true;
    }
    const info = parseClientHelloStart(asm.buf, 0, have);
    if (info === undefined) return false;
    if (info) this.hello(slot, 'quic', info);
    else this.finish(slot);
    return true;
  }
}

/** DNS over TCP: a two-byte length prefix before each message. */
function dnsOverTcp(b: Uint8Array, p: number, end: number): ReturnType<typeof parseDns> {
  return end - p > 2 ? parseDns(b, p + 2, Math.min(end - p - 2, (b[p] << 8) | b[p + 1])) : null;
}

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);

function place(asm: QuicAssembly, frag: CryptoFragment): void {
  const from = frag.offset;
  const d = frag.data;
  const to = Math.min(from + d.length, MAX_REASSEMBLY);
  if (from >= to) return;
  if (to > asm.buf.length) {
    // Room up to this fragment's end (at least double, so a stream in many pieces copies little),
    // or for the whole ClientHello when this fragment starts it (its header tells the length).
    let size = Math.max(to, asm.buf.length * 2);
    if (from === 0 && d.length >= 4) size = Math.max(size, 4 + ((d[1] << 16) | (d[2] << 8) | d[3]));
    size = Math.min(MAX_REASSEMBLY, size);
    // The stream and its received marks in one piece of Node's buffer pool (under 4 KB: a slice
    // of a shared block): a zeroed Buffer or typed array of that size lives outside V8's heap,
    // and making one cost 1-3 µs on Node 24. Bytes never received are never read (got says which).
    const room = Buffer.allocUnsafe(2 * size);
    const buf = room.subarray(0, size); // a Buffer: names are read from it as Latin-1 text without a view
    const got = room.subarray(size).fill(0);
    buf.set(asm.buf);
    got.set(asm.got);
    asm.buf = buf;
    asm.got = got;
  }
  asm.buf.set(d.subarray(0, to - from), from);
  asm.got.fill(1, from, to);
}
