import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { analyzeCapture } from '../flows';
import { TCP_COUNTERS } from '../flows/tcp-health';
import { convKey } from './oracle';

/**
 * TCP health against tshark's sequence analysis (tcp.analysis.* per packet, summed per
 * conversation and direction), for the corpus test and the generated-capture tests. tshark runs
 * here, on the capture itself: its output is the oracle, computed fresh, never stored.
 */

/** The counters compared, as tshark field -> Capsight counter (per direction). */
export const TSHARK_FLAGS: [string, (typeof TCP_COUNTERS)[number]][] = [
  ['tcp.analysis.retransmission', 'retrans'],
  ['tcp.analysis.fast_retransmission', 'fast_retrans'],
  ['tcp.analysis.spurious_retransmission', 'spurious_retrans'],
  ['tcp.analysis.out_of_order', 'out_of_order'],
  ['tcp.analysis.lost_segment', 'lost_segments'],
  ['tcp.analysis.ack_lost_segment', 'ack_unseen'],
  ['tcp.analysis.duplicate_ack', 'dup_acks'],
  ['tcp.analysis.zero_window', 'zero_windows'],
  ['tcp.analysis.window_full', 'window_full'],
  ['tcp.analysis.keep_alive', 'keep_alives'],
];

/** Per canonical 5-tuple: counters A->B then B->A (TSHARK_FLAGS order), and the handshake RTT in whole microseconds (null: none). */
export interface TcpSums {
  counts: number[];
  rttUs: number | null;
  /** tshark streams / Capsight flows under this key. */
  parts: number;
  /** tshark found a packet of it malformed (its analysis stops there). */
  malformed?: boolean;
}

const N = TSHARK_FLAGS.length;

export function tsharkInstalled(): Promise<boolean> {
  return promisify(execFile)('tshark', ['--version']).then(
    () => true,
    () => false,
  );
}

/** tshark's analysis of every TCP packet of `file` (not ICMP-quoted ones), summed per 5-tuple. */
export async function tsharkTcp(file: string): Promise<Map<string, TcpSums>> {
  const fields = ['tcp.stream', 'ip.src', 'ipv6.src', 'tcp.srcport', 'ip.dst', 'ipv6.dst', 'tcp.dstport', 'icmp.type', 'icmpv6.type', 'tcp.analysis.initial_rtt', '_ws.malformed', ...TSHARK_FLAGS.map(([f]) => f)];
  const args = ['-n', '-r', file, '-Y', 'tcp', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', '-E', 'separator=/t', ...fields.flatMap((f) => ['-e', f])];
  let stdout = '';
  try {
    stdout = (await promisify(execFile)('tshark', args, { maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' } })).stdout;
  } catch (err) {
    // tshark exits non-zero on a damaged capture after printing what it read.
    stdout = (err as { stdout?: string }).stdout ?? '';
  }
  const out = new Map<string, TcpSums>();
  const streams = new Map<string, Set<string>>();
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const f = line.split('\t');
    const [streamAll, ip4sAll, ip6sAll, sportAll, ip4dAll, ip6dAll, dportAll, icmp, icmp6, rttAll, malformed] = f;
    if (icmp || icmp6) continue; // a TCP header quoted in an ICMP error: no analysis
    if ((ip4sAll && ip6sAll) || !sportAll) continue; // 6in4 / 4in6 (left out, as in the conversation oracle) or no ports
    // The first TCP layer is the conversation (a second one is data it carries, e.g. an OpenFlow
    // PACKET_IN); its IP header is the one followed by as many IP headers as TCP layers.
    const tcpLayers = sportAll.split(',').length;
    const ips = (ip4sAll || ip6sAll).split(',');
    const ipd = (ip4dAll || ip6dAll).split(',');
    const at = Math.max(0, ips.length - tcpLayers);
    const src = ips[at];
    const dst = ipd[at];
    const sport = sportAll.split(',')[0];
    const dport = dportAll.split(',')[0];
    const stream = streamAll.split(',')[0];
    const rtt = rttAll.split(',')[0];
    if (!src || !dst) continue;
    const { key, xIsA } = convKey(6, src, Number(sport), dst, Number(dport));
    let s = out.get(key);
    if (!s) out.set(key, (s = { counts: new Array<number>(2 * N).fill(0), rttUs: null, parts: 0 }));
    const seen = streams.get(key) ?? new Set<string>();
    if (!seen.has(stream)) {
      seen.add(stream);
      streams.set(key, seen);
      s.parts++;
    }
    const base = xIsA ? 0 : N;
    if (malformed) s.malformed = true;
    for (let i = 0; i < N; i++) if (f[11 + i]) s.counts[base + i]++;
    if (rtt && s.rttUs === null) s.rttUs = Math.round(Number(rtt) * 1e6);
  }
  return out;
}

/** Capsight's TCP health of `file` (tshark's rules: no fragment attribution), summed per 5-tuple. */
export async function engineTcp(file: string): Promise<Map<string, TcpSums>> {
  const out = new Map<string, TcpSums>();
  const index = TSHARK_FLAGS.map(([, name]) => TCP_COUNTERS.indexOf(name));
  await analyzeCapture(file, {
    attributeFragments: false,
    onFlow: (f) => {
      if (f.tcp === null || (f.tunnel_ip_version !== null && f.tunnel_ip_version !== f.ip_version)) return;
      if (f.sport === 0 && f.dport === 0) return;
      const { key, xIsA } = convKey(6, f.src, f.sport, f.dst, f.dport);
      let s = out.get(key);
      if (!s) out.set(key, (s = { counts: new Array<number>(2 * N).fill(0), rttUs: null, parts: 0 }));
      s.parts++;
      for (let i = 0; i < N; i++) {
        const src = f.tcp.counts[index[i] * 2];
        const dst = f.tcp.counts[index[i] * 2 + 1];
        s.counts[i] += xIsA ? src : dst;
        s.counts[N + i] += xIsA ? dst : src;
      }
      const rtt = f.tcp.times[0];
      if (!Number.isNaN(rtt) && s.rttUs === null) s.rttUs = Math.round(rtt);
    },
  });
  return out;
}

export interface TcpComparison {
  /** Conversations both have, that tshark analysed fully. */
  compared: number;
  matched: number;
  differ: { key: string; what: string[] }[];
  /** Keys only one side has (flow keying: the conversation oracle test covers it). */
  unpaired: string[];
  /** Keys with a frame tshark calls malformed (no analysis past it). */
  malformed: string[];
}

/**
 * `malformedToo`: compare conversations with a malformed frame too (tshark marks a frame malformed
 * for any layer; where that is an application layer, its TCP analysis still ran).
 */
export function compareTcp(oracle: Map<string, TcpSums>, engine: Map<string, TcpSums>, malformedToo = false): TcpComparison {
  const c: TcpComparison = { compared: 0, matched: 0, differ: [], unpaired: [], malformed: [] };
  for (const key of new Set([...oracle.keys(), ...engine.keys()])) {
    const o = oracle.get(key);
    const e = engine.get(key);
    if (!o || !e) {
      c.unpaired.push(key);
      continue;
    }
    if (o.malformed) {
      c.malformed.push(key);
      if (!malformedToo) continue;
    }
    c.compared++;
    const what: string[] = [];
    for (let i = 0; i < 2 * N; i++) {
      if (o.counts[i] !== e.counts[i]) what.push(`${i < N ? 'A>B' : 'B>A'} ${TSHARK_FLAGS[i % N][1]} tshark ${o.counts[i]} capsight ${e.counts[i]}`);
    }
    if (o.rttUs !== e.rttUs) what.push(`handshake RTT tshark ${o.rttUs} µs capsight ${e.rttUs} µs`);
    if (what.length) c.differ.push({ key, what });
    else c.matched++;
  }
  return c;
}

/** Captures whose TCP analysis differs from tshark's on principle, with the reason. */
export const TCP_ORACLE_EXCEPTIONS: Record<string, string> = {
  'zeek/vlan-pcp-dei.pcapng': 'the same connection seen on two VLAN stacks: flows are keyed by VLAN, tshark joins them and calls the second copies retransmissions',
  'tcpdump/timestamp_invalid_micro.pcap': 'invalid timestamp (2^31 µs): the reader carries the excess into seconds; in tshark the 32-bit nanosecond field overflows to 0',
  'tcpdump/timestamp_invalid_nano.pcap': 'invalid timestamp (2^31 ns): the reader carries the excess into seconds; in tshark the 32-bit nanosecond field turns negative',
  'zeek/tunnels__gtp__gtp1_gn_normal_incl_fragmentation.pcap':
    'TCP in fragmented GTP-U, four outer datagrams without their second fragment: Capsight analyses a segment at its first fragment (the inner headers give its length), tshark only once it reassembles the datagram, so it reports those four segments as not captured (3 lost segments, 1 ACK of unseen data) though the receiver acknowledges them',
};
