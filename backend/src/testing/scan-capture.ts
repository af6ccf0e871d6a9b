import { ipv4Frame, pcapFile, type PcapPacket } from '../synth/frames';

/** 2026-01-01T00:00:00Z, where the scan starts. */
export const SCAN_START_MS = 1_767_225_600_000;

/**
 * A SYN scan: `flows` one-packet TCP flows, 200 a second, each from its own 10.x address to its
 * own port. Many flows in few bytes (28 MB for 400,000): a store large enough for a query to take
 * seconds, built in about one.
 */
export function scanCapture(flows: number): Buffer {
  const packets: PcapPacket[] = [];
  for (let i = 0; i < flows; i++) {
    packets.push({
      sec: SCAN_START_MS / 1000 + Math.floor(i / 200),
      frac: (i % 200) * 5000,
      data: ipv4Frame({ src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: `198.51.${(i >> 8) & 255}.${i & 255}`, proto: 6, sport: 40000 + (i % 20000), dport: i % 65536, flags: 2 }),
    });
  }
  return pcapFile({}, packets);
}
