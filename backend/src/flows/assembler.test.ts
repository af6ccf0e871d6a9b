import type { BucketBatch, FlowRecord } from '../model/flow';
import { ipv4Frame } from '../testing/capture-writer';
import { FlowAssembler } from './assembler';

const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04, PSH = 0x08;

function harness(opts: { idleTimeoutNs?: number; bucketNs?: number } = {}) {
  const flows: FlowRecord[] = [];
  const buckets: { flow: number; start: number; pkts: number; bytes: number }[] = [];
  const a = new FlowAssembler({
    ...opts,
    onFlow: (f) => flows.push(f),
    onBuckets: (b: BucketBatch) => {
      for (let i = 0; i < b.length; i++) buckets.push({ flow: b.flowId[i], start: b.startSec[i], pkts: b.srcPkts[i] + b.dstPkts[i], bytes: b.srcBytes[i] + b.dstBytes[i] });
    },
  });
  const time = new Float64Array(2);
  const send = (sec: number, frame: Buffer, origLen = frame.length): void => {
    time[0] = Math.floor(sec);
    time[1] = Math.round((sec - Math.floor(sec)) * 1e9);
    a.packet(frame, 0, frame.length, origLen, 1, time);
  };
  return { a, flows, buckets, send };
}

const c2s = (flags: number, payload?: Buffer, sport = 40000) => ipv4Frame({ src: '10.1.1.1', dst: '203.0.113.9', proto: 6, sport, dport: 443, flags, payload });
const s2c = (flags: number, payload?: Buffer, dport = 40000) => ipv4Frame({ src: '203.0.113.9', dst: '10.1.1.1', proto: 6, sport: 443, dport, flags, payload });

describe('FlowAssembler', () => {
  it('makes one bidirectional flow with the SYN sender as src, per-direction counters and state SF', () => {
    const { a, flows, send } = harness();
    send(100, c2s(SYN));
    send(100.1, s2c(SYN | ACK));
    send(100.2, c2s(ACK));
    send(100.3, c2s(PSH | ACK, Buffer.alloc(100)));
    send(100.4, s2c(PSH | ACK, Buffer.alloc(1000)), 1200); // snaplen-cut frame: original length counts
    send(100.5, c2s(FIN | ACK));
    send(100.6, s2c(FIN | ACK));
    a.finish();
    expect(flows).toHaveLength(1);
    const f = flows[0];
    expect([f.src, f.sport, f.dst, f.dport, f.proto]).toEqual(['10.1.1.1', 40000, '203.0.113.9', 443, 6]);
    expect([f.src_pkts, f.dst_pkts, f.src_payload_bytes, f.dst_payload_bytes]).toEqual([4, 3, 100, 1000]);
    expect(f.dst_bytes).toBe(54 + 1200 + 54);
    expect(f.src_ip_bytes).toBe(40 * 3 + 140);
    expect(f.state).toBe('SF');
    expect([f.first_sec, f.first_nsec, f.last_sec, f.last_nsec]).toEqual([100, 0, 100, 600_000_000]);
    expect(f.app_source).toBe('port');
  });

  it('takes the SYN-ACK receiver as initiator when the SYN was missed, and the higher port midstream', () => {
    const { a, flows, send } = harness();
    send(1, s2c(SYN | ACK));
    send(2, s2c(ACK, undefined, 50001));
    a.finish();
    expect(flows.map((f) => [f.src, f.sport, f.state])).toEqual([
      ['10.1.1.1', 40000, 'OTH'],
      ['10.1.1.1', 50001, 'OTH'],
    ]);
  });

  it('starts a new flow when a SYN follows a reset, and splits on the idle timeout', () => {
    const { a, flows, send } = harness({ idleTimeoutNs: 60e9 });
    send(10, c2s(SYN));
    send(10.1, s2c(RST | ACK));
    send(11, c2s(SYN)); // same 5-tuple after a reset: a new connection
    send(11.2, s2c(SYN | ACK));
    send(200, c2s(ACK)); // 189 s later: idle timeout passed
    a.finish();
    expect(flows.map((f) => f.state)).toEqual(['REJ', 'S1', 'OTH']);
    expect(flows.map((f) => f.src_pkts + f.dst_pkts)).toEqual([2, 2, 1]);
  });

  it('joins a connection whose directions travel on different VLANs, and keeps copies seen on two VLANs apart', () => {
    const req = (vlan: number, flags: number, seq: number, payload?: Buffer) =>
      ipv4Frame({ src: '10.81.0.5', dst: '10.80.0.10', proto: 6, sport: 49980, dport: 389, flags, seq, ack: 5001, payload, vlan: [vlan] });
    const rep = (vlan: number, flags: number, ack: number, payload?: Buffer) =>
      ipv4Frame({ src: '10.80.0.10', dst: '10.81.0.5', proto: 6, sport: 389, dport: 49980, flags, seq: 5000 + (flags & SYN ? 0 : 1), ack, payload, vlan: [vlan] });

    // A router between VLANs 81 and 80, captured on the trunk: requests on 81, replies on 80.
    const routed = harness();
    routed.send(1, req(81, SYN, 1000));
    routed.send(1.004, rep(80, SYN | ACK, 1001));
    routed.send(1.005, req(81, ACK, 1001));
    routed.send(1.006, req(81, PSH | ACK, 1001, Buffer.alloc(50)));
    routed.send(1.01, rep(80, PSH | ACK, 1051, Buffer.alloc(80)));
    routed.send(1.02, req(81, FIN | ACK, 1051));
    routed.send(1.03, rep(80, FIN | ACK, 1052));
    routed.a.finish();
    expect(routed.flows).toHaveLength(1);
    const f = routed.flows[0];
    expect([f.src, f.vlan, f.src_pkts, f.dst_pkts, f.src_payload_bytes, f.dst_payload_bytes, f.state]).toEqual(['10.81.0.5', 81, 4, 3, 50, 80, 'SF']);
    expect(f.tcp?.times[0]).toBe(5000); // handshake RTT: SYN to the ACK of the SYN-ACK, 5 ms

    // The same connection captured before and after the router (each packet on both VLANs): two flows.
    const mirrored = harness();
    const both = (sec: number, frame: (vlan: number) => Buffer) => {
      mirrored.send(sec, frame(10));
      mirrored.send(sec + 0.0001, frame(20));
    };
    both(1, (v) => req(v, SYN, 1000));
    both(1.004, (v) => rep(v, SYN | ACK, 1001));
    both(1.005, (v) => req(v, ACK, 1001));
    mirrored.a.finish();
    expect(mirrored.flows.map((x) => [x.vlan, x.src_pkts, x.dst_pkts, x.state])).toEqual([
      [10, 2, 1, 'S1'],
      [20, 2, 1, 'S1'],
    ]);

    // A reply on the other VLAN after the first half went idle is a flow of its own.
    const late = harness({ idleTimeoutNs: 60e9 });
    late.send(1, req(81, SYN, 1000));
    late.send(100, rep(80, SYN | ACK, 1001));
    late.send(100.5, rep(80, ACK, 1001));
    late.a.finish();
    expect(late.flows.map((x) => [x.vlan, x.src_pkts + x.dst_pkts])).toEqual([
      [81, 1],
      [80, 2],
    ]);
  });

  it('joins across VLANs after the table grew and after other tagged flows ended', () => {
    const syn = (vlan: number, sport: number) => ipv4Frame({ src: '10.81.0.5', dst: '10.80.0.10', proto: 6, sport, dport: 389, flags: SYN, seq: 1000, vlan: [vlan] });
    const synAck = (vlan: number, dport: number) =>
      ipv4Frame({ src: '10.80.0.10', dst: '10.81.0.5', proto: 6, sport: 389, dport, flags: SYN | ACK, seq: 5000, ack: 1001, vlan: [vlan] });
    const { a, flows, send } = harness({ idleTimeoutNs: 60e9 });
    // Early tagged SYNs that end (idle) before the rest: their entries must leave the lists cleanly.
    for (let port = 20000; port < 20500; port++) send(1, syn(81, port));
    // One connection's SYN on two VLANs (the same 5-tuple): the newer is the one a reply joins.
    send(100, syn(81, 40000));
    send(100.001, syn(82, 40000));
    // Far more tagged SYNs than the table's first capacity (32,768): it grows while they are listed.
    for (let port = 1024; port < 1024 + 40000; port++) if (port !== 40000) send(100.002, syn(81, port));
    send(100.5, synAck(80, 40000));
    for (const port of [1024, 5000, 33000, 41023]) send(100.5, synAck(80, port));
    a.finish();
    const answered = flows.filter((f) => f.dst_pkts > 0).map((f) => [f.sport, f.vlan, f.src_pkts, f.dst_pkts]);
    expect(answered).toEqual([
      [40000, 82, 1, 1],
      [1024, 81, 1, 1],
      [5000, 81, 1, 1],
      [33000, 81, 1, 1],
      [41023, 81, 1, 1],
    ]);
    expect(flows).toHaveLength(500 + 2 + 39999);
    expect(flows.filter((f) => f.vlan === 80)).toEqual([]);
    // Every SYN counted once, also the one whose new flow made the table grow.
    expect(flows.filter((f) => f.src_pkts !== 1 || f.src_bytes !== 58).map((f) => f.sport)).toEqual([]);
  });

  it('spreads a long flow over time buckets whose sums equal the flow totals', () => {
    const { a, flows, buckets, send } = harness({ bucketNs: 10e9 });
    for (let t = 0; t < 120; t += 0.5) send(1000 + t, t % 1 === 0 ? c2s(ACK, Buffer.alloc(10)) : s2c(ACK, Buffer.alloc(500)));
    a.finish();
    expect(flows).toHaveLength(1);
    const mine = buckets.filter((b) => b.flow === flows[0].id);
    expect(mine.map((b) => b.start)).toEqual(Array.from({ length: 12 }, (_, i) => 1000 + i * 10));
    expect(mine.reduce((s, b) => s + b.pkts, 0)).toBe(flows[0].src_pkts + flows[0].dst_pkts);
    expect(mine.reduce((s, b) => s + b.bytes, 0)).toBe(flows[0].src_bytes + flows[0].dst_bytes);
  });

  it('hands out no row for a flow with one bucket: its start goes with the flow (bucket_ms), whose counters are the row', () => {
    const { a, flows, buckets, send } = harness({ bucketNs: 100e6 });
    // One bucket: a handshake, data and a retransmission of it, all within [1000.2, 1000.3).
    send(1000.21, c2s(SYN));
    send(1000.22, s2c(SYN | ACK));
    send(1000.23, c2s(ACK | PSH, Buffer.alloc(100)));
    send(1000.24, c2s(ACK | PSH, Buffer.alloc(100)));
    // Two buckets: its rows go out as before, and bucket_ms stays null.
    send(1000.25, c2s(SYN, undefined, 40001));
    send(1000.35, s2c(SYN | ACK, undefined, 40001));
    a.finish();
    const [one, two] = flows;
    expect(one.tcp?.counts[0]).toBe(1); // src_retrans: the retransmission is inside the flow's only bucket
    expect(one.bucket_ms).toBe(1_000_200);
    expect(buckets.filter((b) => b.flow === one.id)).toEqual([]);
    expect(two.bucket_ms).toBeNull();
    expect(buckets.filter((b) => b.flow === two.id).map((b) => b.pkts)).toEqual([1, 1]);
    // Without a bucket sink the field stays null (the CLI).
    const bare = new FlowAssembler({ onFlow: (f) => expect(f.bucket_ms).toBeNull() });
    const time = Float64Array.of(1000, 0);
    const frame = c2s(SYN);
    bare.packet(frame, 0, frame.length, frame.length, 1, time);
    bare.finish();
  });

  it('emits a flow at the first sweep after it has been idle for the timeout, counted from the capture start', () => {
    const { flows, send } = harness({ idleTimeoutNs: 5e9 });
    send(0, c2s(SYN, undefined, 1000));
    for (let t = 1; t <= 7; t++) send(t, c2s(ACK, undefined, 2000)); // another flow moves packet time on
    expect(flows.map((f) => f.sport)).toEqual([1000]);
  });

  it('emits idle flows as packet time moves on, keeping the table small on endless input', () => {
    const { a, flows, send } = harness({ idleTimeoutNs: 5e9 });
    for (let i = 0; i < 20000; i++) send(i * 0.01, c2s(SYN, undefined, 1024 + (i % 60000)));
    expect(a.liveFlows).toBeLessThan(1200);
    expect(flows.length).toBeGreaterThan(18000);
  });
});
