import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** One packet as tshark reads it: its record facts and bytes (the oracle of byte-identical slices). */
export interface TsharkPacket {
  time: string;
  len: number;
  capLen: number;
  section: string;
  iface: string;
  encap: string;
  raw: string;
  /** Innermost IPv4 and IPv6 source addresses (last occurrence of each; a flow's source is one of them). */
  innerSrc: string[];
  protocols: string;
}

interface Layers {
  frame_raw?: [string, ...unknown[]];
  frame: Record<string, string>;
  ip?: Record<string, string> | Record<string, string>[];
  ipv6?: Record<string, string> | Record<string, string>[];
}

const last = <T>(x: T | T[] | undefined): T | undefined => (Array.isArray(x) ? x[x.length - 1] : x);

/**
 * Every packet of a capture file through tshark (-T json -x). Also answers whether tshark read the
 * file without complaint: `problems` holds what it printed on stderr (a cut-off or damaged file).
 */
export async function tsharkPackets(file: string): Promise<{ packets: TsharkPacket[]; problems: string }> {
  let stdout = '';
  let stderr = '';
  try {
    ({ stdout, stderr } = await promisify(execFile)('tshark', ['-n', '-r', file, '-T', 'json', '-x', '-j', 'frame ip ipv6'], { maxBuffer: 1 << 30, env: { ...process.env, LC_ALL: 'C' } }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    stdout = e.stdout ?? '';
    stderr = `${e.stderr ?? ''} (exit status non-zero)`;
  }
  const list = JSON.parse(stdout.trim() === '' ? '[]' : stdout) as { _source: { layers: Layers } }[];
  const packets = list.map(({ _source: { layers: l } }) => {
    const ip6 = last(l.ipv6);
    const ip4 = last(l.ip);
    return {
      time: l.frame['frame.time_epoch'],
      len: Number(l.frame['frame.len']),
      capLen: Number(l.frame['frame.cap_len']),
      section: l.frame['frame.section_number'] ?? '',
      iface: l.frame['frame.interface_id'] ?? '',
      encap: l.frame['frame.encap_type'],
      raw: l.frame_raw?.[0] ?? '',
      innerSrc: [ip4?.['ip.src'], ip6?.['ipv6.src']].filter((a): a is string => typeof a === 'string'),
      protocols: l.frame['frame.protocols'],
    };
  });
  return { packets, problems: stderr.split('\n').filter((s) => s && !/^Running as user/.test(s)).join('\n') };
}

/** The record facts and bytes of a packet, for equality (not its section: a slice of several captures renumbers them). */
export const packetKey = (p: TsharkPacket): string => `${p.time} ${p.len} ${p.capLen} ${p.iface} ${p.encap} ${p.raw}`;

/** Whether `part` is `whole` with packets left out (same packets, same order). */
export function isSubsequence(part: TsharkPacket[], whole: TsharkPacket[]): boolean {
  let j = 0;
  for (const p of part) {
    const k = packetKey(p);
    while (j < whole.length && packetKey(whole[j]) !== k) j++;
    if (j === whole.length) return false;
    j++;
  }
  return true;
}
