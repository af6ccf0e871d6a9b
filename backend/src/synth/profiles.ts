import type { GenerateOptions } from './generator';

/**
 * Traffic profiles for benchmarks: generated captures that look like what users capture, not only
 * what is easy to generate. Each gives the generator's options for a capture of `bytes`.
 *  - classic: the first benchmark's mix (TLS, HTTP, SSH, DNS, ICMP; a fifth IPv6; no QUIC).
 *  - web: today's web: QUIC about a tenth of the bytes with a few thousand connections per GB
 *    (real Initial packets, the ClientHello in two), TLS, many DNS lookups, a third IPv6.
 *  - dns: a resolver's link: mostly DNS query/response pairs, millions of short flows per GB.
 *  - scan: one host probing many addresses and ports (one SYN each, a third answered with RST)
 *    at a scanner's pace (~1,500 probes a second), over light background traffic.
 *  - elephants: a few bulk transfers of tens of MB carry most bytes.
 *  - lossy: web TCP with 2 % of data segments lost before the capture point (gaps, duplicate
 *    ACKs, retransmissions), for the TCP health analysis.
 */
export const PROFILES = ['classic', 'web', 'dns', 'scan', 'elephants', 'lossy'] as const;
export type Profile = (typeof PROFILES)[number];

export function isProfile(name: string): name is Profile {
  return (PROFILES as readonly string[]).includes(name);
}

export function profileOptions(profile: Profile, bytes: number, seed: number): GenerateOptions {
  // Handshakes at real round trips everywhere but in the classic mix (kept as first benchmarked).
  const base = { bytes, seed, hosts: 500, handshakeRtt: profile !== 'classic' };
  switch (profile) {
    case 'classic':
      return { ...base, flows: Math.max(100, Math.round(bytes / 35_000)), ipv6Share: 0.2 };
    case 'web':
      return { ...base, hosts: 2000, flows: Math.max(100, Math.round(bytes / 25_000)), ipv6Share: 0.33, mix: { tls: 30, http: 4, quic: 5, dns: 50, udp: 4, icmp: 1, tcp: 4 } };
    case 'dns':
      return { ...base, hosts: 5000, flows: Math.max(100, Math.round(bytes / 400)), ipv6Share: 0.3, mix: { dns: 94, tcp: 1, udp: 5 }, meanGapNs: 400_000 };
    case 'scan':
      return { ...base, flows: Math.max(100, Math.round(bytes / 200)), ipv6Share: 0, mix: { scan: 95, tls: 3, dns: 2 }, meanGapNs: 650_000, concurrency: 16 };
    case 'elephants':
      return { ...base, flows: Math.max(20, Math.round(bytes / 2_000_000)), ipv6Share: 0.2, mix: { bulk: 2, tls: 50, dns: 48 }, bulkBytes: 50_000_000 };
    case 'lossy':
      return { ...base, flows: Math.max(100, Math.round(bytes / 60_000)), ipv6Share: 0.2, mix: { tls: 45, http: 25, tcp: 10, dns: 20 }, lossRate: 0.02 };
  }
}
