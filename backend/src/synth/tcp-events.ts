import { ipv4Frame, pcapFile, type PcapPacket } from './frames';

/**
 * A capture of TCP connections with known trouble, for the TCP health tests: each connection
 * has a set handshake timing and one injected event at a known place, and `expected` says what
 * an analysis must find (in Wireshark's terms). The truth comes from how the packets were made,
 * not from any analyser.
 *
 * The capture point sits between client and server: SYN -> SYN-ACK takes `toServerUs`, SYN-ACK ->
 * ACK takes `toClientUs`, and so does every data/ACK pair on that side. Data flows server ->
 * client in MSS segments, each ACKed by the client.
 */
export interface InjectedConnection {
  name: string;
  client: string;
  server: string;
  cport: number;
  toServerUs: number;
  toClientUs: number;
  /** What the analysis must count, per direction (src = client). Counters not named are 0. */
  expected: Record<string, number>;
  /** Who resets, when the connection ends with a RST. */
  resetBy?: 'src' | 'dst';
  resetAfterData?: boolean;
}

const MSS = 1000;
const WINDOW = 4000;

interface Seg {
  t: number;
  fromClient: boolean;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  window?: number;
}

/** One TCP segment between a client and a server's port 443, as an Ethernet frame (`len` zero bytes of payload). */
export function httpsSegmentFrame(o: { client: string; cport: number; server: string; fromClient: boolean; flags: number; seq: number; ack: number; window: number; len: number }): Buffer {
  return ipv4Frame({
    src: o.fromClient ? o.client : o.server,
    dst: o.fromClient ? o.server : o.client,
    proto: 6,
    sport: o.fromClient ? o.cport : 443,
    dport: o.fromClient ? 443 : o.cport,
    flags: o.flags,
    seq: o.seq,
    ack: o.ack,
    window: o.window,
    payload: Buffer.alloc(o.len),
  });
}

export function injectedCapture(startSec = 1_767_225_600): { capture: Buffer; connections: InjectedConnection[] } {
  const connections: InjectedConnection[] = [];
  const packets: PcapPacket[] = [];
  let index = 0;

  /** One connection: handshake, `n` server segments through `events`, FIN both ways (or a RST). */
  const connection = (name: string, expected: Record<string, number>, events: (s: Session) => void, end: 'fin' | 'rst-server' | 'rst-client-early' = 'fin'): void => {
    const i = index++;
    const c: InjectedConnection = {
      name,
      client: `10.9.0.${10 + i}`,
      server: `192.0.2.${10 + i}`,
      cport: 40000 + i,
      toServerUs: 1000 + 137 * i,
      toClientUs: 200 + 11 * i,
      expected,
    };
    const s = new Session(startSec * 1e6 + i * 10_000_000, c);
    s.handshake(end !== 'rst-client-early');
    if (end === 'rst-client-early') {
      s.emit({ fromClient: true, flags: 0x14, len: 0 });
      c.resetBy = 'src';
      c.resetAfterData = false;
    } else {
      events(s);
      if (end === 'rst-server') {
        s.emit({ fromClient: false, flags: 0x14, len: 0 });
        c.resetBy = 'dst';
        c.resetAfterData = true;
      } else s.close();
    }
    connections.push(c);
    for (const p of s.segs) {
      const data = httpsSegmentFrame({ client: c.client, cport: c.cport, server: c.server, fromClient: p.fromClient, flags: p.flags, seq: p.seq, ack: p.ack, window: p.window ?? WINDOW, len: p.len });
      packets.push({ sec: Math.floor(p.t / 1e6), frac: p.t % 1e6, data });
    }
  };

  connection('clean', {}, (s) => s.segments(4));
  connection('lost upstream, three duplicate ACKs, fast retransmission', { dst_lost_segments: 1, src_dup_acks: 3, dst_retrans: 1, dst_fast_retrans: 1 }, (s) => {
    s.segments(2);
    const lost = s.serverSeq;
    s.serverSeq += MSS; // never reaches the capture point
    s.send(1, { ackEach: false }); // arrives after the gap
    for (let k = 0; k < 3; k++) s.emit({ fromClient: true, flags: 0x10, len: 0, ack: lost, dt: 100 });
    s.resend(lost, { dt: 2000 }); // within 20 ms of the last duplicate ACK
    s.ackAll();
    s.segments(2);
  });
  connection('timeout retransmission', { dst_retrans: 1 }, (s) => {
    s.segments(2);
    const seq = s.serverSeq;
    s.send(1, { ackEach: false });
    s.resend(seq, { dt: 300_000 }); // no duplicate ACKs, long after: a plain retransmission
    s.ackAll();
    s.segments(1);
  });
  connection('reordered pair', { dst_out_of_order: 1, dst_lost_segments: 1 }, (s) => {
    s.segments(1);
    const first = s.serverSeq;
    s.serverSeq += MSS;
    s.send(1, { ackEach: false }); // the second segment first: a gap
    s.resend(first, { dt: 100 }); // the first 100 µs later: out of order
    s.ackAll();
  });
  connection('zero window', { src_zero_windows: 1 }, (s) => {
    s.segments(2);
    s.emit({ fromClient: true, flags: 0x10, len: 0, window: 0, dt: 500 });
    s.emit({ fromClient: true, flags: 0x10, len: 0, window: WINDOW, dt: 50_000 }); // window update
    s.segments(1);
  });
  connection('keep-alive', { src_keep_alives: 1 }, (s) => {
    s.segments(1);
    s.emit({ fromClient: true, flags: 0x10, len: 0, seq: s.clientSeq - 1, dt: 10_000_000 });
    s.emit({ fromClient: false, flags: 0x10, len: 0, dt: 300 });
  });
  connection('spurious retransmission', { dst_retrans: 1, dst_spurious_retrans: 1 }, (s) => {
    s.segments(2);
    s.resend(s.serverSeq - MSS, { dt: 200_000 }); // already ACKed
    s.segments(1);
  });
  // Silent for longer than the flow idle timeout (120 s): two flows, one connection, whose
  // sequence analysis goes on across the silence.
  connection('keep-alive after a silence past the idle timeout', { src_keep_alives: 1 }, (s) => {
    s.segments(1);
    s.pause(150_000_000);
    s.emit({ fromClient: true, flags: 0x10, len: 0, seq: s.clientSeq - 1 });
    s.emit({ fromClient: false, flags: 0x10, len: 0, dt: 300 });
  });
  connection('segment lost across a silence past the idle timeout', { dst_lost_segments: 1, src_dup_acks: 1, dst_retrans: 1 }, (s) => {
    s.segments(2);
    const lost = s.serverSeq;
    s.serverSeq += MSS; // never reaches the capture point
    s.pause(150_000_000);
    s.send(1, { ackEach: false }); // the first segment after the silence: a gap before it
    s.emit({ fromClient: true, flags: 0x10, len: 0, ack: lost, dt: 100 }); // a duplicate of the client's last ACK
    s.resend(lost, { dt: 300_000 }); // one duplicate ACK, long after: a plain retransmission
    s.ackAll();
  });
  connection('segment missed by the capture, then more requests', { src_ack_unseen: 2, dst_lost_segments: 1 }, (s) => {
    s.segments(1);
    s.serverSeq += MSS; // delivered, but the capture missed it
    s.emit({ fromClient: true, flags: 0x10, len: 0, dt: 600 }); // ACKs it: an ACK of unseen data
    s.segments(1); // a gap before it; its ACK is reported too (the ACKed boundary jumps past the gap)
    s.request();
    s.segments(1); // nothing more: the capture missed one segment, not every one after it
    s.request();
    s.segments(1);
  });
  connection('server reset after data', {}, (s) => s.segments(2), 'rst-server');
  connection('client reset before data', {}, () => undefined, 'rst-client-early');

  packets.sort((a, b) => a.sec - b.sec || a.frac - b.frac);
  return { capture: pcapFile({}, packets), connections };
}

/** Builds one connection's segments in time order (times in µs since the epoch). */
class Session {
  readonly segs: Seg[] = [];
  clientSeq = 1_000_000;
  serverSeq = 3_000_000_000;
  /** Highest server sequence sent, for ackAll(). */
  private serverHigh = 0;

  constructor(
    private t: number,
    private readonly c: InjectedConnection,
  ) {}

  emit(o: { fromClient: boolean; flags: number; len: number; seq?: number; ack?: number; window?: number; dt?: number }): void {
    this.t += o.dt ?? 20;
    const seq = o.seq ?? (o.fromClient ? this.clientSeq : this.serverSeq);
    const ack = o.ack ?? (o.flags & 0x10 ? (o.fromClient ? this.serverSeq : this.clientSeq) : 0);
    this.segs.push({ t: this.t, fromClient: o.fromClient, flags: o.flags, seq: seq >>> 0, ack: ack >>> 0, len: o.len, window: o.window });
    if (o.seq === undefined) {
      const adv = o.len + (o.flags & 0x03 ? 1 : 0);
      if (o.fromClient) this.clientSeq += adv;
      else this.serverSeq += adv;
    }
  }

  /** Nothing is sent for `us` microseconds. */
  pause(us: number): void {
    this.t += us;
  }

  /** SYN, SYN-ACK, ACK, then (with a request) 100 bytes from the client, ACKed by the server. */
  handshake(request: boolean): void {
    this.emit({ fromClient: true, flags: 0x02, len: 0, ack: 0, dt: 0 });
    this.emit({ fromClient: false, flags: 0x12, len: 0, dt: this.c.toServerUs });
    this.emit({ fromClient: true, flags: 0x10, len: 0, dt: this.c.toClientUs });
    if (request) this.request(50);
  }

  /** 100 bytes from the client, ACKed by the server. */
  request(dt = 1000): void {
    this.emit({ fromClient: true, flags: 0x18, len: 100, dt });
    this.emit({ fromClient: false, flags: 0x10, len: 0, dt: this.c.toServerUs });
  }

  /** n server segments, each ACKed by the client after the client-side RTT. */
  segments(n: number): void {
    for (let k = 0; k < n; k++) {
      this.send(1, { ackEach: true });
    }
  }

  send(n: number, o: { ackEach: boolean }): void {
    for (let k = 0; k < n; k++) {
      this.emit({ fromClient: false, flags: 0x10, len: MSS, dt: 500 });
      this.serverHigh = this.serverSeq;
      if (o.ackEach) this.emit({ fromClient: true, flags: 0x10, len: 0, dt: this.c.toClientUs });
    }
  }

  resend(seq: number, o: { dt: number }): void {
    this.emit({ fromClient: false, flags: 0x10, len: MSS, seq, dt: o.dt });
  }

  /** The client ACKs everything the server sent. */
  ackAll(): void {
    this.emit({ fromClient: true, flags: 0x10, len: 0, ack: this.serverHigh, dt: this.c.toClientUs });
  }

  close(): void {
    this.emit({ fromClient: true, flags: 0x11, len: 0, dt: 1000 });
    this.emit({ fromClient: false, flags: 0x11, len: 0, dt: this.c.toServerUs });
    this.emit({ fromClient: true, flags: 0x10, len: 0, dt: this.c.toClientUs });
  }
}
