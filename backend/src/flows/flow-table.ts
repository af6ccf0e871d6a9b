import type { PacketView } from '../decode/packet-view';
import { grown } from './columns';

/**
 * Hash table of live flows, keyed by the canonical (direction-independent) flow key. Keys live in
 * one Uint32Array (KEY_WORDS words per slot); the index is open addressing with linear probing and
 * backward-shift deletion, so there are no tombstones and no per-packet allocation. Each index
 * entry holds its slot and that slot's hash side by side (two words), so probing compares hashes
 * and backward shifts find home positions without reading another array: on flow-heavy captures
 * those reads were cache misses at random places, one per lookup and per shifted entry. Slots are
 * recycled through a free list; the table doubles when full and tells its owner to grow columns.
 *
 * Key words: A address (4), B address (4), ports (A << 16 | B), ipVersion << 8 | proto, VLANs.
 * A is the endpoint whose (address, port) sorts lower, so both directions meet in one slot.
 *
 * Flows the owner lists (`listTagged`: tagged TCP flows that began with a SYN) are also found by
 * their key without the VLANs, so that a connection whose directions travel on different VLANs
 * can be joined (see `peerOnOtherVlan`, `alias`).
 */
export const KEY_WORDS = 11;
/** Key word 10 of a packet without VLAN tags. */
const UNTAGGED = 0;
/** removeMany sorts its slots by the index region they sit in: 4,096 regions (a few cache lines each on a large table). */
const REGION_BITS = 12;
/** Fewer slots than this are removed as they come (sorting them would cost more than it saves). */
const REMOVE_IN_PLACE_ORDER_FROM = 64;

export class FlowTable {
  capacity: number;
  /** Live slots. */
  size = 0;
  /** One past the highest slot ever handed out (sweeps scan [0, highWater)). */
  highWater = 0;
  keys: Uint32Array;
  live: Uint8Array;
  private hashes: Uint32Array;
  /** Per position: slot + 1 (0: empty), then the slot's hash. */
  private index: Uint32Array;
  private mask: number;
  private free: Int32Array;
  private freeTop = 0;
  /** Scratch key of the packet being processed, and whether its sender is endpoint A. */
  readonly key = new Uint32Array(KEY_WORDS);
  senderIsA = true;
  /** Hash of the current key, in a typed array so the per-packet store never boxes a number. */
  private readonly hashBox = new Uint32Array(1);
  private probe = 0;
  /**
   * Live listed slots by the hash of their key without the VLAN word: a bucket's first slot (-1:
   * none), then a chain through `nextTagged`, newest first. Buckets in a typed array, one per slot
   * of capacity: with a Map here (a get, set and delete per tagged flow) the listing took ~7 % of a
   * scan mix's engine time, ~2.5 % of it the Map's.
   */
  private taggedHeads: Int32Array;
  private nextTagged: Int32Array;
  private listed: Uint8Array;
  /** Keys on another VLAN that lead to a live slot: by full-key hash. */
  private readonly aliases = new Map<number, { key: Uint32Array; slot: number }[]>();
  /** Full-key hashes of the aliases that lead to each slot (removed with it). */
  private readonly aliasesOf = new Map<number, number[]>();
  /** removeMany's scratch: where each region of the index starts in the order, and the order. */
  private readonly regionStarts = new Int32Array((1 << REGION_BITS) + 1);
  private inPlaceOrder = new Int32Array(0);

  constructor(
    initialCapacity: number,
    private readonly onGrow: (capacity: number) => void,
  ) {
    this.capacity = initialCapacity;
    this.keys = new Uint32Array(initialCapacity * KEY_WORDS);
    this.live = new Uint8Array(initialCapacity);
    this.hashes = new Uint32Array(initialCapacity);
    this.index = new Uint32Array(initialCapacity * 4);
    this.mask = initialCapacity * 2 - 1;
    this.free = new Int32Array(initialCapacity);
    this.taggedHeads = new Int32Array(initialCapacity).fill(-1);
    this.nextTagged = new Int32Array(initialCapacity);
    this.listed = new Uint8Array(initialCapacity);
    onGrow(initialCapacity);
  }

  /** Loads the packet's canonical key into `key` and sets `senderIsA`. */
  setKey(v: PacketView): void {
    const k = this.key;
    const s = v.src;
    const d = v.dst;
    const s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    const d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
    // (src, sport) <= (dst, dport) word by word; straight-line code, this runs for every packet.
    const senderIsA =
      s0 !== d0 ? s0 < d0 : s1 !== d1 ? s1 < d1 : s2 !== d2 ? s2 < d2 : s3 !== d3 ? s3 < d3 : v.sport <= v.dport;
    this.senderIsA = senderIsA;
    let ports: number;
    if (senderIsA) {
      k[0] = s0; k[1] = s1; k[2] = s2; k[3] = s3;
      k[4] = d0; k[5] = d1; k[6] = d2; k[7] = d3;
      ports = (v.sport << 16) | v.dport;
    } else {
      k[0] = d0; k[1] = d1; k[2] = d2; k[3] = d3;
      k[4] = s0; k[5] = s1; k[6] = s2; k[7] = s3;
      ports = (v.dport << 16) | v.sport;
    }
    const meta = (v.ipVersion << 8) | v.proto;
    const vlans = ((v.vlan + 1) << 16) | (v.innerVlan + 1);
    k[8] = ports;
    k[9] = meta;
    k[10] = vlans;
    // Multiplicative mixing of every word (int32 arithmetic throughout).
    let h = Math.imul(s0 ^ d0, 0x9e3779b1) ^ Math.imul(s1 ^ d1, 0x85ebca6b);
    h = Math.imul(h ^ (s2 ^ d2), 0xc2b2ae35) ^ Math.imul(k[3], 0x27d4eb2f);
    h = Math.imul(h ^ k[7], 0x165667b1) ^ Math.imul(ports, 0x9e3779b1);
    h = Math.imul(h ^ meta ^ (vlans << 7), 0x85ebca6b);
    h ^= h >>> 15;
    h = Math.imul(h, 0xc2b2ae35);
    this.hashBox[0] = h ^ (h >>> 13);
  }

  /** Slot of the current key, or -1 (then `insert` adds it). */
  find(): number {
    const k = this.key;
    const keys = this.keys;
    const index = this.index;
    const mask = this.mask;
    const h = this.hashBox[0];
    // The step to the next entry comes first, so it runs on every call: placed last, it ran only
    // on a collision, and the optimizing compiler, having built this path (inlined into the
    // per-packet function) before the first one, threw the whole function away at it.
    let i = (h - 1) & mask;
    for (;;) {
      i = (i + 1) & mask;
      const e = index[2 * i];
      if (e === 0) {
        this.probe = i;
        return -1;
      }
      if (index[2 * i + 1] === h) {
        const o = (e - 1) * KEY_WORDS;
        if (
          keys[o] === k[0] && keys[o + 1] === k[1] && keys[o + 2] === k[2] && keys[o + 3] === k[3] &&
          keys[o + 4] === k[4] && keys[o + 5] === k[5] && keys[o + 6] === k[6] && keys[o + 7] === k[7] &&
          keys[o + 8] === k[8] && keys[o + 9] === k[9] && keys[o + 10] === k[10]
        ) {
          return e - 1;
        }
      }
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
    const h = this.hashBox[0];
    this.hashes[slot] = h;
    this.live[slot] = 1;
    this.index[2 * this.probe] = slot + 1;
    this.index[2 * this.probe + 1] = h;
    this.size++;
    return slot;
  }

  /** Lists a tagged slot (just inserted for the current key) under its key without the VLANs. */
  listTagged(slot: number): void {
    this.listed[slot] = 1;
    const b = tupleHash(this.key, 0) & (this.capacity - 1);
    this.nextTagged[slot] = this.taggedHeads[b];
    this.taggedHeads[b] = slot;
  }

  /** True when the current key carries VLAN tags. */
  isTagged(): boolean {
    return this.key[10] !== UNTAGGED;
  }

  /** The live slot an alias of the current key leads to, or -1. */
  findAlias(): number {
    if (this.aliases.size === 0) return -1;
    const list = this.aliases.get(this.hashBox[0] & 0x3fffffff);
    if (!list) return -1;
    const k = this.key;
    for (const a of list) {
      if (a.key.every((w, i) => w === k[i])) return a.slot;
    }
    return -1;
  }

  /**
   * A live slot with the current key's addresses, ports and protocol on another VLAN: the first
   * (after = -1) or the one after `after`; -1 when there is none.
   */
  peerOnOtherVlan(after: number): number {
    let slot = after < 0 ? this.taggedHeads[tupleHash(this.key, 0) & (this.capacity - 1)] : this.nextTagged[after];
    const k = this.key;
    const keys = this.keys;
    for (; slot >= 0; slot = this.nextTagged[slot]) {
      const o = slot * KEY_WORDS;
      let same = keys[o + 10] !== k[10];
      for (let i = 0; i < 10 && same; i++) same = keys[o + i] === k[i];
      if (same) return slot;
    }
    return -1;
  }

  /** From now on the current key leads to `slot` (until that slot is removed). */
  alias(slot: number): void {
    const h = this.hashBox[0] & 0x3fffffff;
    const entry = { key: Uint32Array.from(this.key), slot };
    const list = this.aliases.get(h);
    if (list) list.push(entry);
    else this.aliases.set(h, [entry]);
    const mine = this.aliasesOf.get(slot);
    if (mine) mine.push(h);
    else this.aliasesOf.set(slot, [h]);
  }

  /** Drops the slot from the tagged lists and the aliases that lead to it. */
  private forgetTagged(slot: number): void {
    this.listed[slot] = 0;
    const b = tupleHash(this.keys, slot * KEY_WORDS) & (this.capacity - 1);
    const next = this.nextTagged;
    const head = this.taggedHeads[b];
    if (head === slot) this.taggedHeads[b] = next[slot];
    else {
      let prev = head;
      while (prev >= 0 && next[prev] !== slot) prev = next[prev];
      if (prev >= 0) next[prev] = next[slot];
    }
    if (this.aliasesOf.size === 0) return;
    const hashes = this.aliasesOf.get(slot);
    if (!hashes) return;
    this.aliasesOf.delete(slot);
    for (const h of hashes) {
      const entries = this.aliases.get(h);
      if (!entries) continue;
      const rest = entries.filter((e) => e.slot !== slot);
      if (rest.length > 0) this.aliases.set(h, rest);
      else this.aliases.delete(h);
    }
  }

  /**
   * Removes the slots of slots[from..to). A sweep drops thousands of flows at once; taking them out
   * of the index in their order of creation visits it at random places, a cache miss each. Here
   * they leave the index in the order of their places in it (a counting sort on the top bits of
   * the place), so consecutive unlinks touch neighbouring memory (DNS mix: 0.94 of the time). The
   * slots are then released in the given order, as remove() would have released them.
   */
  removeMany(slots: Int32Array, from: number, to: number): void {
    const n = to - from;
    if (n < REMOVE_IN_PLACE_ORDER_FROM) {
      this.removeEach(slots, from, to);
      return;
    }
    // Each step is a function that ends with its loop (why: FlowAssembler.endingSlots; here ~30
    // deoptimizations a scan mix's run).
    const mask = this.mask;
    const shift = Math.max(0, 32 - Math.clz32(mask) - REGION_BITS);
    this.countRegions(slots, from, to, mask, shift);
    this.sumRegions();
    if (this.inPlaceOrder.length < 2 * n) this.inPlaceOrder = new Int32Array(Math.max(2 * n, this.inPlaceOrder.length * 2));
    this.placeByRegion(slots, from, to, mask, shift);
    this.unlinkPlaced(2 * n);
    this.releaseEach(slots, from, to);
  }

  private removeEach(slots: Int32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.remove(slots[i]);
  }

  /** regionStarts[r + 1] = the number of the slots whose index place falls into region r. */
  private countRegions(slots: Int32Array, from: number, to: number, mask: number, shift: number): void {
    const hashes = this.hashes;
    const starts = this.regionStarts;
    starts.fill(0);
    for (let i = from; i < to; i++) starts[((hashes[slots[i]] & mask) >>> shift) + 1]++;
  }

  /** regionStarts[r] = where region r's slots begin in the placed order. */
  private sumRegions(): void {
    const starts = this.regionStarts;
    for (let r = 1; r < starts.length; r++) starts[r] += starts[r - 1];
  }

  /** inPlaceOrder: (slot, home place) pairs, by region. */
  private placeByRegion(slots: Int32Array, from: number, to: number, mask: number, shift: number): void {
    const hashes = this.hashes;
    const starts = this.regionStarts;
    const order = this.inPlaceOrder;
    for (let i = from; i < to; i++) {
      const slot = slots[i];
      const home = hashes[slot] & mask;
      const at = 2 * starts[home >>> shift]++;
      order[at] = slot;
      order[at + 1] = home;
    }
  }

  private unlinkPlaced(words: number): void {
    const order = this.inPlaceOrder;
    for (let k = 0; k < words; k += 2) this.unlink(order[k], order[k + 1]);
  }

  private releaseEach(slots: Int32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.release(slots[i]);
  }

  remove(slot: number): void {
    this.unlink(slot, this.hashes[slot] & this.mask);
    this.release(slot);
  }

  /** Takes the slot out of the index, starting the search at its home position. */
  private unlink(slot: number, home: number): void {
    const index = this.index;
    const mask = this.mask;
    let i = (home - 1) & mask; // the step first, as in find()
    do i = (i + 1) & mask;
    while (index[2 * i] !== slot + 1);
    // Backward-shift deletion: pull later entries of the probe run into the hole.
    let hole = i;
    let j = (i + 1) & mask;
    for (;;) {
      const e = index[2 * j];
      if (e === 0) break;
      const h = index[2 * j + 1];
      const at = h & mask;
      // Move the entry into the hole when its home position is not inside (hole, j].
      if (hole <= j ? at <= hole || at > j : at <= hole && at > j) {
        index[2 * hole] = e;
        index[2 * hole + 1] = h;
        hole = j;
      }
      j = (j + 1) & mask;
    }
    index[2 * hole] = 0;
  }

  /** The slot's bookkeeping once it is out of the index: tagged lists, liveness, free list. */
  private release(slot: number): void {
    if (this.listed[slot] === 1) this.forgetTagged(slot);
    this.live[slot] = 0;
    this.free[this.freeTop++] = slot;
    this.size--;
  }

  /**
   * The listed slots' buckets for a capacity of `cap`: each old chain is split in order between
   * its two new buckets, so slots of one key stay newest first (the order peerOnOtherVlan offers them in).
   */
  private rebucketed(heads: Int32Array, cap: number): Int32Array {
    const out = new Int32Array(cap).fill(-1);
    const tails = new Int32Array(cap).fill(-1);
    const next = this.nextTagged;
    for (let b = 0; b < heads.length; b++) {
      for (let slot = heads[b]; slot >= 0; ) {
        const after = next[slot];
        const nb = tupleHash(this.keys, slot * KEY_WORDS) & (cap - 1);
        if (tails[nb] < 0) out[nb] = slot;
        else next[tails[nb]] = slot;
        tails[nb] = slot;
        next[slot] = -1;
        slot = after;
      }
    }
    return out;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const keys = grown(this.keys, cap * KEY_WORDS);
    const live = grown(this.live, cap);
    const hashes = grown(this.hashes, cap);
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.freeTop));
    this.keys = keys;
    this.live = live;
    this.hashes = hashes;
    this.free = free;
    this.nextTagged = grown(this.nextTagged, cap);
    this.listed = grown(this.listed, cap);
    this.taggedHeads = this.rebucketed(this.taggedHeads, cap);
    this.capacity = cap;
    const index = new Uint32Array(cap * 4);
    const mask = cap * 2 - 1;
    for (let slot = 0; slot < this.highWater; slot++) {
      if (!live[slot]) continue;
      let i = hashes[slot] & mask;
      while (index[2 * i] !== 0) i = (i + 1) & mask;
      index[2 * i] = slot + 1;
      index[2 * i + 1] = hashes[slot];
    }
    this.index = index;
    this.mask = mask;
    this.onGrow(cap);
  }
}

/** Hash of a key's first ten words (all but the VLANs) at offset o; 30 bits, so Map keys stay small integers. */
function tupleHash(k: Uint32Array, o: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 10; i++) h = Math.imul(h ^ k[o + i], 0x01000193);
  return (h ^ (h >>> 15)) & 0x3fffffff;
}
