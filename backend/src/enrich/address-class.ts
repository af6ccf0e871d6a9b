import ipaddr from 'ipaddr.js';

/**
 * Labels for addresses that have no country: they stand in the country columns instead of a blank,
 * so "private / local" traffic stays visible on maps and tables. ISO country codes are two
 * upper-case letters, so the labels (lower case words) cannot clash with them.
 */
export const ADDRESS_LABELS = ['private', 'loopback', 'link-local', 'cgnat', 'multicast', 'documentation', 'unspecified', 'broadcast', 'reserved', 'unknown'] as const;
export type AddressLabel = (typeof ADDRESS_LABELS)[number];

const cidr = (s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] => ipaddr.parseCIDR(s);

/** Checked in order; the first match wins (documentation before the wider "reserved" blocks). */
const RANGES: [AddressLabel, [ipaddr.IPv4 | ipaddr.IPv6, number]][] = [
  ['documentation', cidr('192.0.2.0/24')],
  ['documentation', cidr('198.51.100.0/24')],
  ['documentation', cidr('203.0.113.0/24')],
  ['documentation', cidr('2001:db8::/32')],
  ['documentation', cidr('3fff::/20')],
  ['private', cidr('10.0.0.0/8')],
  ['private', cidr('172.16.0.0/12')],
  ['private', cidr('192.168.0.0/16')],
  ['private', cidr('fc00::/7')],
  ['cgnat', cidr('100.64.0.0/10')],
  ['loopback', cidr('127.0.0.0/8')],
  ['loopback', cidr('::1/128')],
  ['link-local', cidr('169.254.0.0/16')],
  ['link-local', cidr('fe80::/10')],
  ['multicast', cidr('224.0.0.0/4')],
  ['multicast', cidr('ff00::/8')],
  ['broadcast', cidr('255.255.255.255/32')],
  ['unspecified', cidr('0.0.0.0/8')],
  ['unspecified', cidr('::/128')],
  ['reserved', cidr('240.0.0.0/4')],
  ['reserved', cidr('192.0.0.0/24')],
  ['reserved', cidr('198.18.0.0/15')],
];

/** Parses an address; IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes the IPv4 address. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(text)) return null;
  const a = ipaddr.parse(text);
  return a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress() ? (a as ipaddr.IPv6).toIPv4Address() : a;
}

/** The label of a special-purpose address, or null for a globally routed one. */
export function addressLabel(a: ipaddr.IPv4 | ipaddr.IPv6): AddressLabel | null {
  for (const [label, range] of RANGES) {
    if (a.kind() === range[0].kind() && a.match(range)) return label;
  }
  return null;
}

/** A set of CIDR blocks ("local networks"). */
export class NetworkSet {
  private readonly blocks: [ipaddr.IPv4 | ipaddr.IPv6, number][];

  constructor(cidrs: readonly string[]) {
    this.blocks = cidrs.map((c) => {
      try {
        return ipaddr.parseCIDR(c.trim());
      } catch {
        throw new Error(`not a CIDR block: "${c}" (expected e.g. 10.0.0.0/8 or fd00::/8)`);
      }
    });
  }

  has(a: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    for (const b of this.blocks) if (a.kind() === b[0].kind() && a.match(b)) return true;
    return false;
  }
}

/** Default local networks: RFC 1918, CGNAT, unique-local, link-local and loopback ranges. */
export const DEFAULT_LOCAL_NETWORKS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '127.0.0.0/8', 'fc00::/7', 'fe80::/10', '::1/128'];

/** The address as a 128-bit number, IPv4 as ::ffff:a.b.c.d (the stored form used for CIDR ranges). */
export function addressNumber(a: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  const bytes = a.kind() === 'ipv4' ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...a.toByteArray()] : a.toByteArray();
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** First and last address number of a CIDR block, in the stored form. */
export function cidrRange(text: string): [bigint, bigint] {
  const [addr, bits] = ipaddr.parseCIDR(text);
  const plain = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
  const hostBits = BigInt((plain.kind() === 'ipv4' ? 32 : 128) - (plain === addr ? bits : bits - 96));
  const first = (addressNumber(plain) >> hostBits) << hostBits;
  return [first, first + (1n << hostBits) - 1n];
}
