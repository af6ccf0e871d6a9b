import type { AnalyzeResult } from '../flows';
import { linkTypeName } from '../capture/link-types';
import { isoNs, nsOf } from '../model/time';
import { protoName } from './format';

export interface StatsReport {
  capture: string;
  format: string | null;
  compressed: boolean;
  packets: number;
  bytes: number;
  first: string | null;
  last: string | null;
  duration_s: number;
  link_types: { link_type: number; name: string; packets: number }[];
  ip_versions: { version: number; packets: number; bytes: number }[];
  protocols: { proto: number; name: string; packets: number; bytes: number; share_bytes: number }[];
  non_ip: { ethertype: string; packets: number; bytes: number }[];
  apps: { app: string; flows: number; bytes: number; share_bytes: number }[];
  flows: number;
  unknown_link_packets: number;
  undecodable_packets: number;
  unattributed_fragments: number;
  problems: Record<string, number>;
  damage: string | null;
}

export function statsReport(name: string, r: AnalyzeResult): StatsReport {
  const s = r.stats;
  const packets = s.packets;
  const spanNs = packets > 0 ? nsOf(s.lastSec, s.lastNs) - nsOf(s.firstSec, s.firstNs) : 0n;
  const share = (b: number): number => (s.bytes > 0 ? Math.round((b / s.bytes) * 10000) / 10000 : 0);
  const protocols: StatsReport['protocols'] = [];
  for (let p = 0; p < 256; p++) {
    if (s.protoPackets[p] > 0) protocols.push({ proto: p, name: protoName(p), packets: s.protoPackets[p], bytes: s.protoBytes[p], share_bytes: share(s.protoBytes[p]) });
  }
  protocols.sort((a, b) => b.bytes - a.bytes);
  return {
    capture: name,
    format: r.read.format,
    compressed: r.read.compressed,
    packets,
    bytes: s.bytes,
    first: packets > 0 ? isoNs(s.firstSec, s.firstNs) : null,
    last: packets > 0 ? isoNs(s.lastSec, s.lastNs) : null,
    duration_s: Number(spanNs) / 1e9,
    link_types: [...s.linkTypes()].map(([lt, n]) => ({ link_type: lt, name: linkTypeName(lt), packets: n })),
    ip_versions: [4, 6].filter((v) => s.versionPackets[v] > 0).map((v) => ({ version: v, packets: s.versionPackets[v], bytes: s.versionBytes[v] })),
    protocols,
    non_ip: [...s.nonIp].map(([et, c]) => ({ ethertype: et === 0 ? 'none' : `0x${et.toString(16).padStart(4, '0')}`, packets: c.packets, bytes: c.bytes })),
    apps: [...s.apps].map(([app, a]) => ({ app, flows: a.flows, bytes: a.bytes, share_bytes: share(a.bytes) })).sort((a, b) => b.bytes - a.bytes),
    flows: s.flows,
    unknown_link_packets: s.unknownLinkPackets,
    undecodable_packets: s.undecodablePackets,
    unattributed_fragments: s.unattributedFragments,
    problems: Object.fromEntries(r.problems),
    damage: r.damage ? r.damage.message : null,
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function statsText(r: StatsReport): string {
  const lines: string[] = [];
  lines.push(`capture      ${r.capture} (${r.format ?? 'unknown'}${r.compressed ? ', gzip' : ''})`);
  lines.push(`packets      ${r.packets}`);
  lines.push(`bytes        ${r.bytes} (wire)`);
  lines.push(`time span    ${r.first ?? '-'} .. ${r.last ?? '-'} (${r.duration_s.toFixed(3)} s)`);
  lines.push(`flows        ${r.flows}`);
  lines.push(`link types   ${r.link_types.map((l) => `${l.name} (${l.link_type}): ${l.packets}`).join(', ') || '-'}`);
  lines.push(`IP versions  ${r.ip_versions.map((v) => `IPv${v.version}: ${v.packets} pkts, ${v.bytes} bytes`).join('; ') || '-'}`);
  lines.push('protocols (share of wire bytes)');
  for (const p of r.protocols) lines.push(`  ${p.name.padEnd(8)} ${String(p.packets).padStart(10)} pkts ${String(p.bytes).padStart(14)} bytes  ${pct(p.share_bytes)}`);
  if (r.non_ip.length > 0) {
    lines.push('non-IP frames');
    for (const n of r.non_ip) lines.push(`  ethertype ${n.ethertype.padEnd(6)} ${String(n.packets).padStart(10)} pkts ${String(n.bytes).padStart(14)} bytes`);
  }
  lines.push('applications (share of wire bytes)');
  for (const a of r.apps) lines.push(`  ${a.app.padEnd(14)} ${String(a.flows).padStart(8)} flows ${String(a.bytes).padStart(14)} bytes  ${pct(a.share_bytes)}`);
  const other = [
    r.unknown_link_packets ? `unknown link type: ${r.unknown_link_packets}` : '',
    r.undecodable_packets ? `undecodable: ${r.undecodable_packets}` : '',
    r.unattributed_fragments ? `unattributed fragments: ${r.unattributed_fragments}` : '',
  ].filter(Boolean);
  if (other.length > 0) lines.push(`other packets ${other.join(', ')}`);
  const probs = Object.entries(r.problems);
  lines.push(`decode problems ${probs.length === 0 ? 'none' : ''}`.trimEnd());
  for (const [k, v] of probs) lines.push(`  ${String(v).padStart(8)}  ${k}`);
  if (r.damage) lines.push(`damage       ${r.damage}`);
  return lines.join('\n');
}
