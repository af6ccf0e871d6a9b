import * as fs from 'node:fs';
import { analyzeCapture } from '../flows';
import type { FlowRecord } from '../model/flow';

/** Packs an address's text form into bytes (for tshark's canonical endpoint order). */
export function packAddress(a: string): number[] {
  if (!a.includes(':')) return a.split('.').map(Number);
  let head = a;
  let tailV4: number[] = [];
  const lastColon = a.lastIndexOf(':');
  if (a.slice(lastColon + 1).includes('.')) {
    tailV4 = a.slice(lastColon + 1).split('.').map(Number);
    head = a.slice(0, lastColon + 1) + '0:0';
  }
  const [l, r] = head.split('::');
  const left = l ? l.split(':') : [];
  const right = r !== undefined ? (r ? r.split(':') : []) : [];
  const groups = r !== undefined ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  const bytes: number[] = [];
  for (const g of groups) {
    const n = parseInt(g, 16);
    bytes.push(n >> 8, n & 255);
  }
  if (tailV4.length === 4) bytes.splice(12, 4, ...tailV4);
  return bytes;
}

function cmpEndpoint(a: number[], pa: number, b: number[], pb: number): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  if (a.length !== b.length) return a.length - b.length;
  return pa - pb;
}

/** Canonical conversation key with packed-hex addresses, and whether (x, px) is endpoint A. */
export function convKey(proto: number, x: string, px: number, y: string, py: number): { key: string; xIsA: boolean } {
  const bx = packAddress(x);
  const by = packAddress(y);
  const xIsA = cmpEndpoint(bx, px, by, py) <= 0;
  const hex = (b: number[]): string => Buffer.from(b).toString('hex');
  const key = xIsA ? `${proto}|${hex(bx)}|${px}|${hex(by)}|${py}` : `${proto}|${hex(by)}|${py}|${hex(bx)}|${px}`;
  return { key, xIsA };
}

/** [pkts A->B, bytes A->B, pkts B->A, bytes B->A] per canonical key. */
export type ConvSums = Map<string, [number, number, number, number]>;

export function readOracle(file: string): ConvSums {
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { convs: Record<string, [number, number, number, number]> };
  const out: ConvSums = new Map();
  for (const [k, v] of Object.entries(json.convs)) {
    const [proto, a, pa, b, pb] = k.split('|');
    const { key, xIsA } = convKey(Number(proto), a, Number(pa), b, Number(pb));
    out.set(key, xIsA ? v : [v[2], v[3], v[0], v[1]]);
  }
  return out;
}

/** Why a flow is left out of the comparison (tshark's oracle rules), or null to compare it. */
export function excluded(f: FlowRecord): string | null {
  if (f.proto !== 6 && f.proto !== 17) return 'not TCP/UDP';
  if (f.sport === 0 && f.dport === 0) return 'no ports (transport header truncated)';
  if (f.tunnel_ip_version !== null && f.tunnel_ip_version !== f.ip_version) return 'IPv4 and IPv6 headers in one packet (oracle leaves these out)';
  return null;
}

/** Runs the engine with tshark's rules (no fragment attribution) and sums TCP/UDP flows per 5-tuple. */
export async function engineSums(file: string): Promise<ConvSums> {
  const out: ConvSums = new Map();
  await analyzeCapture(file, {
    attributeFragments: false,
    onFlow: (f) => {
      if (excluded(f)) return;
      const { key, xIsA } = convKey(f.proto, f.src, f.sport, f.dst, f.dport);
      const add: [number, number, number, number] = xIsA ? [f.src_pkts, f.src_bytes, f.dst_pkts, f.dst_bytes] : [f.dst_pkts, f.dst_bytes, f.src_pkts, f.src_bytes];
      const cur = out.get(key);
      if (cur) for (let i = 0; i < 4; i++) cur[i] += add[i];
      else out.set(key, add);
    },
  });
  return out;
}

export interface Comparison {
  compared: number;
  matched: number;
  missing: string[];
  extra: string[];
  differ: { key: string; oracle: number[]; engine: number[] }[];
}

export function compare(oracle: ConvSums, engine: ConvSums): Comparison {
  const c: Comparison = { compared: 0, matched: 0, missing: [], extra: [], differ: [] };
  for (const [k, v] of oracle) {
    c.compared++;
    const e = engine.get(k);
    if (!e) c.missing.push(k);
    else if (e.every((x, i) => x === v[i])) c.matched++;
    else c.differ.push({ key: k, oracle: v, engine: e });
  }
  for (const k of engine.keys()) if (!oracle.has(k)) c.extra.push(k);
  return c;
}

/** Captures where the engine and tshark differ on principle, with the reason. */
export const ORACLE_EXCEPTIONS: Record<string, string> = {
  'tcpdump/of13_ericsson.pcapng':
    'OpenFlow packet-in/out messages carry whole Ethernet frames as TCP payload; tshark dissects those frames and reports their addresses, a flow meter counts the TCP connection that carries them',
  'tcpdump/LINKTYPE_IPV6_invalid.pcap':
    'LINKTYPE_IPV6 carrying an IPv4 packet: tshark refuses it (yet decodes IPv6 inside LINKTYPE_IPV4); the engine decodes both by the version nibble',
  'suricata-verify/bug-6875-01__fuzz.pcap':
    'tshark prints no packet of a file it finds damaged; the engine keeps the record before the damage',
};
