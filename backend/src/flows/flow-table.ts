import type { PacketView } from '../decode/packet-view';

/**
 * Hash table of live flows, keyed by the canonical (direction-independent) flow key. Keys live in
 * one Uint32Array (KEY_WORDS words per slot); the index is open addressing with linear probing and
 * backward-shift deletion, so there are no tombstones and no per-packet allocation. Slots are
 * recycled through a free list; the table doubles when full and tells its owner to grow columns.
 *
 * Key words: A address (4), B address (4), ports (A << 16 | B), ipVersion << 8 | proto, VLANs.
 * A is the endpoint whose (address, port) sorts lower, so both directions meet in one slot.
 */
export const KEY_WORDS = 11;

export class FlowTable {
  capacity: number;
  /** Live slots. */
  size = 0;
  /** One past the highest slot ever handed out (sweeps scan [0, highWater)). */
  highWater = 0;
  keys: Uint32Array;
  live: Uint8Array;
  private hashes: Uint32Array;
  private index: Int32Array;
  private mask: number;
  private free: Int32Array;
  private freeTop = 0;
  /** Scratch key of the packet being processed, and whether its sender is endpoint A. */
  readonly key = new Uint32Array(KEY_WORDS);
  senderIsA = true;
  private keyHash = 0;
  private probe = 0;

  constructor(
    initialCapacity: number,
    private readonly onGrow: (capacity: number) => void,
  ) {
    this.capacity = initialCapacity;
    this.keys = new Uint32Array(initialCapacity * KEY_WORDS);
    this.live = new Uint8Array(initialCapacity);
    this.hashes = new Uint32Array(initialCapacity);
    this.index = new Int32Array(initialCapacity * 2);
    this.mask = initialCapacity * 2 - 1;
    this.free = new Int32Array(initialCapacity);
    onGrow(initialCapacity);
  }

  /** Loads the packet's canonical key into `key` and sets `senderIsA`. */
  setKey(v: PacketView): void {
    const k = this.key;
    const s = v.src;
    const d = v.dst;
    // Compare (src, sport) with (dst, dport) word by word.
    let cmp = 0;
    for (let i = 0; i < 4 && cmp === 0; i++) cmp = s[i] === d[i] ? 0 : s[i] < d[i] ? -1 : 1;
    if (cmp === 0) cmp = v.sport === v.dport ? 0 : v.sport < v.dport ? -1 : 1;
    const senderIsA = cmp <= 0;
    this.senderIsA = senderIsA;
    const a = senderIsA ? s : d;
    const b = senderIsA ? d : s;
    k[0] = a[0];
    k[1] = a[1];
    k[2] = a[2];
    k[3] = a[3];
    k[4] = b[0];
    k[5] = b[1];
    k[6] = b[2];
    k[7] = b[3];
    k[8] = senderIsA ? ((v.sport << 16) | v.dport) >>> 0 : ((v.dport << 16) | v.sport) >>> 0;
    k[9] = (v.ipVersion << 8) | v.proto;
    k[10] = (((v.vlan + 1) << 16) | (v.innerVlan + 1)) >>> 0;
    let h = 0x811c9dc5;
    for (let i = 0; i < KEY_WORDS; i++) h = Math.imul(h ^ k[i], 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    this.keyHash = (h ^ (h >>> 13)) >>> 0;
  }

  /** Slot of the current key, or -1 (then `insert` adds it). */
  find(): number {
    const k = this.key;
    const keys = this.keys;
    const hashes = this.hashes;
    const index = this.index;
    const mask = this.mask;
    const h = this.keyHash;
    let i = h & mask;
    for (;;) {
      const e = index[i];
      if (e === 0) {
        this.probe = i;
        return -1;
      }
      const slot = e - 1;
      if (hashes[slot] === h) {
        const o = slot * KEY_WORDS;
        if (
          keys[o] === k[0] && keys[o + 1] === k[1] && keys[o + 2] === k[2] && keys[o + 3] === k[3] &&
          keys[o + 4] === k[4] && keys[o + 5] === k[5] && keys[o + 6] === k[6] && keys[o + 7] === k[7] &&
          keys[o + 8] === k[8] && keys[o + 9] === k[9] && keys[o + 10] === k[10]
        ) {
          return slot;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /** Adds the current key (after a `find` that returned -1) and returns its slot. */
  insert(): number {
    if (this.size === this.capacity) {
      this.grow();
      this.find();
    }
    const slot = this.freeTop > 0 ? this.free[--this.freeTop] : this.highWater++;
    this.keys.set(this.key, slot * KEY_WORDS);
    this.hashes[slot] = this.keyHash;
    this.live[slot] = 1;
    this.index[this.probe] = slot + 1;
    this.size++;
    return slot;
  }

  remove(slot: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = this.hashes[slot] & mask;
    while (index[i] !== slot + 1) i = (i + 1) & mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const e = index[j];
      if (e === 0) break;
      const home = this.hashes[e - 1] & mask;
      // Move e into the hole when its home position is not inside (hole, j].
      if (hole <= j ? home <= hole || home > j : home <= hole && home > j) {
        index[hole] = e;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[hole] = 0;
    this.live[slot] = 0;
    this.free[this.freeTop++] = slot;
    this.size--;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const keys = new Uint32Array(cap * KEY_WORDS);
    keys.set(this.keys);
    const live = new Uint8Array(cap);
    live.set(this.live);
    const hashes = new Uint32Array(cap);
    hashes.set(this.hashes);
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeTop));
    this.keys = keys;
    this.live = live;
    this.hashes = hashes;
    this.free = free;
    this.capacity = cap;
    this.index = new Int32Array(cap * 2);
    this.mask = cap * 2 - 1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (!live[slot]) continue;
      let i = hashes[slot] & this.mask;
      while (this.index[i] !== 0) i = (i + 1) & this.mask;
      this.index[i] = slot + 1;
    }
    this.onGrow(cap);
  }
}
