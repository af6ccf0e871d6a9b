import type { PacketView } from './packet-view';

/**
 * Remembers, for each recent first fragment, the innermost flow it decoded to, so that later
 * fragments of the same datagram (which carry no transport header) join that flow. Keyed by the
 * fragmented layer's (version, src, dst, id, protocol); direct-mapped with overwrite, so memory is
 * fixed (a lost entry only leaves a later fragment unattributed, which is counted).
 */
const SIZE = 4096;
const KEY_WORDS = 11; // version|proto, src[4], dst[4], id, used
const VAL_WORDS = 14; // ipVersion, src[4], dst[4], proto, sport, dport, tunnel, tunnelIpVersion

export class FragmentTable {
  private readonly keys = new Uint32Array(SIZE * KEY_WORDS);
  private readonly vals = new Uint32Array(SIZE * VAL_WORDS);
  private readonly pending = new Uint32Array(KEY_WORDS);

  private static hash(version: number, src: Uint32Array, dst: Uint32Array, id: number, proto: number): number {
    let h = Math.imul(id ^ (version << 24) ^ (proto << 16), 0x9e3779b1);
    for (let i = 0; i < 4; i++) {
      h = Math.imul(h ^ src[i], 0x85ebca6b);
      h = Math.imul(h ^ dst[i], 0xc2b2ae35);
    }
    return (h ^ (h >>> 15)) & (SIZE - 1);
  }

  /** Records the fragmented layer's key; `remember` later stores the innermost flow under it. */
  begin(version: number, src: Uint32Array, dst: Uint32Array, id: number, proto: number): void {
    const k = this.pending;
    k[0] = (version << 8) | proto;
    for (let i = 0; i < 4; i++) {
      k[1 + i] = src[i];
      k[5 + i] = dst[i];
    }
    k[9] = id;
    k[10] = 1;
  }

  remember(v: PacketView): void {
    const k = this.pending;
    const slot = FragmentTable.hash(k[0] >> 8, k.subarray(1, 5), k.subarray(5, 9), k[9], k[0] & 0xff);
    this.keys.set(k, slot * KEY_WORDS);
    const o = slot * VAL_WORDS;
    const vals = this.vals;
    vals[o] = v.ipVersion;
    for (let i = 0; i < 4; i++) {
      vals[o + 1 + i] = v.src[i];
      vals[o + 5 + i] = v.dst[i];
    }
    vals[o + 9] = v.proto;
    vals[o + 10] = v.sport;
    vals[o + 11] = v.dport;
    vals[o + 12] = v.tunnel;
    vals[o + 13] = v.tunnelIpVersion;
  }

  /** Fills the view with the innermost flow of this fragment's datagram; false when unknown. */
  recall(version: number, src: Uint32Array, dst: Uint32Array, id: number, proto: number, v: PacketView): boolean {
    const slot = FragmentTable.hash(version, src, dst, id, proto);
    const ko = slot * KEY_WORDS;
    const keys = this.keys;
    if (keys[ko + 10] !== 1 || keys[ko] !== ((version << 8) | proto) || keys[ko + 9] !== id) return false;
    for (let i = 0; i < 4; i++) if (keys[ko + 1 + i] !== src[i] || keys[ko + 5 + i] !== dst[i]) return false;
    const o = slot * VAL_WORDS;
    const vals = this.vals;
    v.ipVersion = vals[o];
    for (let i = 0; i < 4; i++) {
      v.src[i] = vals[o + 1 + i];
      v.dst[i] = vals[o + 5 + i];
    }
    v.proto = vals[o + 9];
    v.sport = vals[o + 10];
    v.dport = vals[o + 11];
    if (v.tunnel === 0) {
      v.tunnel = vals[o + 12];
      v.tunnelIpVersion = vals[o + 13];
    }
    return true;
  }
}
