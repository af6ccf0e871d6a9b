import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { publicFlow } from '../cli/format';
import { pcapFile, type PcapPacket } from '../synth/frames';
import { httpsSegmentFrame, injectedCapture } from '../synth/tcp-events';
import { compareTcp, engineTcp, tsharkInstalled, tsharkTcp } from '../testing/tcp-oracle';
import { analyzeCapture } from '.';
import { TCP_COUNT_FIELDS } from './tcp-health';

/** TCP health on a generated capture whose trouble is known from how it was made. */
describe('TCP health on injected events', () => {
  const { capture, connections } = injectedCapture();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-tcp-'));
  const file = path.join(dir, 'injected.pcap');
  fs.writeFileSync(file, capture);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Each client's flows, in order (a connection silent past the idle timeout is two). */
  const flowsByClient = async (): Promise<Map<string, Record<string, unknown>[]>> => {
    const flows = new Map<string, Record<string, unknown>[]>();
    await analyzeCapture(file, { onFlow: (f) => flows.set(f.src, [...(flows.get(f.src) ?? []), publicFlow(f)]) });
    return flows;
  };
  const total = (parts: Record<string, unknown>[], field: string): number => parts.reduce((sum, f) => sum + (f[field] as number), 0);

  it('finds every injected event exactly, and nothing else', async () => {
    const flows = await flowsByClient();
    expect(flows.size).toBe(connections.length);
    for (const c of connections) {
      const parts = flows.get(c.client)!;
      const f = parts[parts.length - 1];
      const counts = Object.fromEntries(TCP_COUNT_FIELDS.filter((n) => !n.endsWith('retrans_bytes')).map((n) => [n, total(parts, n)]));
      const want = Object.fromEntries(TCP_COUNT_FIELDS.filter((n) => !n.endsWith('retrans_bytes')).map((n) => [n, c.expected[n] ?? 0]));
      expect({ name: c.name, counts }).toEqual({ name: c.name, counts: want });
      expect(total(parts, 'dst_retrans_bytes')).toBe((c.expected.dst_retrans ?? 0) * 1000);
      expect(f.reset_by).toBe(c.resetBy ?? null);
      expect(f.reset_after_data).toBe(c.resetAfterData ?? null);
    }
  });

  it('goes on with a connection silent past the idle timeout: a second flow, the same initiator, the analysis continued', async () => {
    const flows = await flowsByClient();
    const silent = connections.filter((c) => c.name.includes('silence'));
    expect(silent.length).toBe(2);
    for (const c of silent) {
      const parts = flows.get(c.client)!;
      expect([c.name, parts.length, parts.map((f) => [f.src, f.sport, f.dst, f.dport])]).toEqual([c.name, 2, [0, 1].map(() => [c.client, c.cport, c.server, 443])]);
      // What happened after the silence is counted in the second flow: only known from the first.
      const [before, after] = parts;
      expect([c.name, before.src_keep_alives, before.dst_lost_segments, after.handshake_rtt_us]).toEqual([c.name, 0, 0, null]);
      expect([c.name, after.src_keep_alives, after.dst_lost_segments]).toEqual([c.name, c.expected.src_keep_alives ?? 0, c.expected.dst_lost_segments ?? 0]);
    }
  });

  it('measures the handshake split at the capture point and the data/ACK RTT to the microsecond', async () => {
    const flows = await flowsByClient();
    for (const c of connections) {
      const f = flows.get(c.client)![0];
      expect([c.name, f.handshake_rtt_us, f.syn_to_synack_us, f.synack_to_ack_us]).toEqual([c.name, c.toServerUs + c.toClientUs, c.toServerUs, c.toClientUs]);
      if (c.resetAfterData === false) continue; // no data, no data/ACK pairs
      expect([c.name, f.server_rtt_min_us, f.server_rtt_median_us]).toEqual([c.name, c.toServerUs, c.toServerUs]);
      expect([c.name, f.client_rtt_min_us, f.client_rtt_median_us]).toEqual([c.name, c.toClientUs, c.toClientUs]);
    }
  });

  it('agrees with tshark on the same capture', async () => {
    if (!(await tsharkInstalled())) {
      process.stderr.write('\n*** SKIPPED: tshark comparison of injected events: tshark is not installed (.ci/run installs it) ***\n\n');
      return;
    }
    const c = compareTcp(await tsharkTcp(file), await engineTcp(file));
    expect(c.differ).toEqual([]);
    expect(c.unpaired).toEqual([]);
    expect(c.matched).toBe(connections.length);
  });
});

/** One TCP segment between a client and a server's port 443, `t` seconds into the capture. */
function tcpSegment(o: { t: number; client: string; cport: number; server: string; fromClient: boolean; flags: number; seq: number; ack: number; window: number; len?: number }): PcapPacket {
  return {
    sec: 1_767_225_600 + Math.floor(o.t),
    frac: Math.round((o.t % 1) * 1e6),
    data: httpsSegmentFrame({ ...o, len: o.len ?? 0 }),
  };
}

/** The same ports again after a silence, with other sequence numbers: another connection (its SYN not captured). */
describe('TCP health after a silence, on the same ports with other sequence numbers', () => {
  const seg = (t: number, fromClient: boolean, flags: number, seq: number, ack: number, len = 0): PcapPacket =>
    tcpSegment({ t, client: '10.9.1.1', cport: 40001, server: '192.0.2.99', fromClient, flags, seq, ack, window: 4000, len });
  const capture = pcapFile({}, [
    seg(0, true, 0x02, 100, 0),
    seg(0.001, false, 0x12, 5000, 101),
    seg(0.002, true, 0x10, 101, 5001),
    seg(0.003, false, 0x10, 5001, 101, 1000),
    seg(0.004, true, 0x10, 101, 6001),
    // 150 s later (past the 120 s idle timeout), sequence numbers 2^30 away on both sides.
    seg(150, false, 0x10, 5001 + 2 ** 30, 101 + 2 ** 30, 1000),
    seg(150.001, true, 0x10, 101 + 2 ** 30, 6001 + 2 ** 30),
  ]);

  it('starts its sequence analysis afresh: no lost segment, no ACK of unseen data', async () => {
    const flows: Record<string, unknown>[] = [];
    await analyzeCapture(Readable.from([capture]), { onFlow: (f) => flows.push(publicFlow(f)) });
    expect(flows.length).toBe(2);
    const after = flows[1];
    expect([after.src_lost_segments, after.dst_lost_segments, after.src_ack_unseen, after.dst_ack_unseen]).toEqual([0, 0, 0, 0]);
  });
});

/** Flows of one segment take a short way to their record; what one segment alone can show must survive it. */
describe('TCP health of one-segment flows', () => {
  const lone = (i: number, o: { flags: number; seq: number; window: number; len?: number; fromServer?: boolean }): PcapPacket =>
    tcpSegment({ t: i, client: `10.9.2.${i}`, cport: 40000 + i, server: '192.0.2.77', fromClient: !o.fromServer, flags: o.flags, seq: o.seq, ack: 7, window: o.window, len: o.len });
  const capture = pcapFile({}, [
    lone(1, { flags: 0x02, seq: 100, window: 0 }), // a SYN with window 0: no zero window (SYN)
    lone(2, { flags: 0x10, seq: 100, window: 0 }), // a zero window
    lone(3, { flags: 0x10, seq: 0xffffffff, window: 500 }), // one below sequence 0: a keep-alive in Wireshark's terms
    lone(4, { flags: 0x14, seq: 100, window: 0, len: 10, fromServer: true }), // a RST with data, from the server
  ]);

  it('counts a lone zero window and keep-alive, and who reset', async () => {
    const flows = new Map<string, Record<string, unknown>>();
    await analyzeCapture(Readable.from([capture]), { onFlow: (f) => flows.set(String(f.src === '192.0.2.77' ? f.dst : f.src), publicFlow(f)) });
    const pick = (ip: string): unknown[] => {
      const f = flows.get(ip)!;
      return [f.src_zero_windows, f.dst_zero_windows, f.src_keep_alives, f.dst_keep_alives, f.reset_by, f.reset_after_data];
    };
    expect(pick('10.9.2.1')).toEqual([0, 0, 0, 0, null, null]);
    expect(pick('10.9.2.2')).toEqual([1, 0, 0, 0, null, null]);
    expect(pick('10.9.2.3')).toEqual([0, 0, 1, 0, null, null]);
    // Initiator by ports (no handshake seen): the client, so the server's RST is the responder's.
    expect(pick('10.9.2.4')).toEqual([0, 0, 0, 0, 'dst', false]);
  });

  it('agrees with tshark', async () => {
    if (!(await tsharkInstalled())) {
      process.stderr.write('\n*** SKIPPED: tshark comparison of one-segment flows: tshark is not installed (.ci/run installs it) ***\n\n');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-tcp-lone-'));
    try {
      const file = path.join(dir, 'lone.pcap');
      fs.writeFileSync(file, capture);
      const c = compareTcp(await tsharkTcp(file), await engineTcp(file));
      expect(c.differ).toEqual([]);
      expect(c.matched).toBe(4);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * RTT samples live in a pool of blocks grown a chunk at a time: with thousands of connections open
 * at once (here 2,500, two blocks each: five chunks), each must keep its own samples.
 */
describe('TCP health with thousands of connections open at once', () => {
  const N = 2500;
  const SYN = 0x02;
  const ACK = 0x10;
  const SYNACK = SYN | ACK;
  const FINACK = 0x11;
  const PSHACK = 0x18;
  const client = (i: number): string => `10.20.${i >> 8}.${i & 255}`;
  // Per connection, in microseconds: handshake (SYN to SYN-ACK, SYN-ACK to ACK), the server's ACK
  // of the client's data, and the client's ACKs of three server segments (min c1, median c3).
  const times = (i: number): { a: number; b: number; s: number; c1: number; c2: number; c3: number } => ({
    a: 1000 + (i % 7) * 10,
    b: 200 + (i % 5),
    s: 3000 + i,
    c1: 500 + (i % 11),
    c2: 2000 + (i % 13),
    c3: 900 + (i % 3),
  });
  const packets: { us: number; p: PcapPacket }[] = [];
  const at = (us: number, i: number, fromClient: boolean, flags: number, seq: number, ack: number, len = 0): void => {
    packets.push({ us, p: tcpSegment({ t: us / 1e6, client: client(i), cport: 40000 + i, server: '192.0.2.10', fromClient, flags, seq, ack, window: 8000, len }) });
  };
  for (let i = 0; i < N; i++) {
    const { a, b, s, c1, c2, c3 } = times(i);
    // Every handshake first, then every exchange, then every close: all connections open together.
    let t = i * 20;
    at(t, i, true, SYN, 100, 0);
    at(t + a, i, false, SYNACK, 5000, 101);
    at(t + a + b, i, true, ACK, 101, 5001);
    t = 1_000_000 + i * 20;
    at(t, i, true, PSHACK, 101, 5001, 100);
    t += s;
    at(t, i, false, ACK, 5001, 201);
    for (const [k, c] of [c1, c2, c3].entries()) {
      t += 1000;
      at(t, i, false, PSHACK, 5001 + 100 * k, 201, 100);
      t += c;
      at(t, i, true, ACK, 201, 5101 + 100 * k);
    }
    t = 10_000_000 + i * 20;
    at(t, i, true, FINACK, 201, 5301);
    at(t + 100, i, false, FINACK, 5301, 202);
    at(t + 200, i, true, ACK, 202, 5302);
  }
  const capture = pcapFile({}, packets.sort((x, y) => x.us - y.us).map((x) => x.p));

  it("keeps each connection's handshake and RTT samples apart", async () => {
    const flows = new Map<string, Record<string, unknown>>();
    await analyzeCapture(Readable.from([capture]), { onFlow: (f) => flows.set(f.src, publicFlow(f)) });
    expect(flows.size).toBe(N);
    const wrong: unknown[] = [];
    for (let i = 0; i < N; i++) {
      const { a, b, s, c1, c3 } = times(i);
      const f = flows.get(client(i))!;
      const got = [f.syn_to_synack_us, f.synack_to_ack_us, f.server_rtt_min_us, f.server_rtt_median_us, f.client_rtt_min_us, f.client_rtt_median_us];
      const want = [a, b, s, s, c1, c3];
      if (JSON.stringify(got) !== JSON.stringify(want)) wrong.push({ i, got, want });
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
