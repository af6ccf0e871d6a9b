import { Readable } from 'node:stream';
import { analyzeCapture } from '../flows';
import type { FlowRecord } from '../model/flow';
import { generateCaptureBuffer } from './generator';
import { PROFILES, profileOptions, type Profile } from './profiles';

/** Each traffic profile makes the traffic it says (checked by the engine on a small capture). */
async function flowsOf(profile: Profile, bytes: number): Promise<FlowRecord[]> {
  const flows: FlowRecord[] = [];
  await analyzeCapture(Readable.from([generateCaptureBuffer(profileOptions(profile, bytes, 3))]), { onFlow: (f) => flows.push(f) });
  return flows;
}

const share = (flows: FlowRecord[], pick: (f: FlowRecord) => boolean): number => flows.filter(pick).length / flows.length;
const bytesOf = (f: FlowRecord): number => f.src_bytes + f.dst_bytes;

describe('traffic profiles', () => {
  it('web: QUIC connections whose ClientHello (in two Initials) names the server, TLS, DNS, a third IPv6', async () => {
    const flows = await flowsOf('web', 8_000_000);
    const quic = flows.filter((f) => f.app === 'quic');
    expect(quic.length).toBeGreaterThan(20);
    expect(quic.every((f) => f.app_source === 'payload' && f.server_name !== null && f.alpn === 'h3')).toBe(true);
    const total = flows.reduce((a, f) => a + bytesOf(f), 0);
    const quicBytes = quic.reduce((a, f) => a + bytesOf(f), 0) / total;
    expect(quicBytes).toBeGreaterThan(0.05);
    expect(quicBytes).toBeLessThan(0.25);
    expect(share(flows, (f) => f.app === 'dns')).toBeGreaterThan(0.3);
    expect(share(flows, (f) => f.ip_version === 6)).toBeGreaterThan(0.25);
  });

  it('dns: mostly DNS query/response pairs', async () => {
    const flows = await flowsOf('dns', 2_000_000);
    expect(share(flows, (f) => f.app === 'dns' && f.dns_rcode !== null)).toBeGreaterThan(0.85);
  });

  it('scan: one source, one SYN per target, a third refused', async () => {
    const flows = await flowsOf('scan', 2_000_000);
    const scanner = flows[0].src;
    const probes = flows.filter((f) => f.src === scanner && f.proto === 6 && f.src_pkts === 1 && f.src_tcp_flags === 0x02);
    expect(probes.length / flows.length).toBeGreaterThan(0.9);
    const refused = share(probes, (f) => f.state === 'REJ');
    expect(refused).toBeGreaterThan(0.25);
    expect(refused).toBeLessThan(0.42);
  });

  it('elephants: a few flows carry most bytes', async () => {
    const flows = await flowsOf('elephants', 100_000_000);
    const sizes = flows.map(bytesOf);
    const total = sizes.reduce((a, b) => a + b, 0);
    const big = sizes.filter((b) => b > 10_000_000);
    expect(big.length).toBeGreaterThan(0);
    expect(big.length).toBeLessThan(8);
    expect(big.reduce((a, b) => a + b, 0) / total).toBeGreaterThan(0.5);
  });

  it('lossy: gaps, duplicate ACKs and retransmissions that the TCP analysis finds', async () => {
    const flows = await flowsOf('lossy', 8_000_000);
    const tcp = flows.filter((f) => f.tcp !== null);
    const sum = (field: number): number => tcp.reduce((a, f) => a + f.tcp!.counts[field], 0);
    // counts: [src_retrans, dst_retrans, ..., src_lost_segments (10), dst_lost_segments (11), ..., src_dup_acks (14), dst_dup_acks (15)]
    // Every loss is a gap, three duplicate ACKs and a retransmission, unless the capture ends first
    // (at most one loss in progress per concurrent flow).
    const [retrans, lost, dups] = [sum(1), sum(11), sum(14)];
    expect(retrans).toBeGreaterThan(10);
    expect(lost).toBeGreaterThanOrEqual(retrans);
    expect(lost - retrans).toBeLessThanOrEqual(64);
    expect(dups).toBeGreaterThanOrEqual(3 * retrans);
    expect(dups).toBeLessThanOrEqual(3 * lost);
  });

  it('are all listed', () => {
    expect([...PROFILES]).toEqual(['classic', 'web', 'dns', 'scan', 'elephants', 'lossy']);
  });
});
