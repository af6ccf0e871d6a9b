import { PacketView } from '../decode/packet-view';
import { FlowTable } from './flow-table';

/** xorshift32: a deterministic sequence, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

/** Key n as a packet: IPv4 or IPv6 by n's parity, distinct addresses and ports per n. */
function packetFor(v: PacketView, n: number): void {
  v.reset();
  v.ipVersion = n % 2 === 0 ? 4 : 6;
  v.proto = n % 3 === 0 ? 6 : 17;
  v.src.fill(0);
  v.dst.fill(0);
  if (v.ipVersion === 4) {
    v.src[3] = 0x0a000000 + (n >>> 8);
    v.dst[3] = 0xc0a80000 + (n & 0xff);
  } else {
    v.src[0] = 0x20010db8;
    v.src[3] = n;
    v.dst[0] = 0xfd000000;
    v.dst[3] = n * 7;
  }
  v.sport = 1024 + (n % 50000);
  v.dport = n % 5 === 0 ? 443 : 53;
}

/**
 * The table against a Map: keys inserted, then dropped one at a time and in batches (large ones
 * go through removeMany's ordering by index place), while the table grows from a small start (so
 * probe runs are long, wrap around the index's end and move in backward shifts). After every step
 * each live key must be found at its slot and each dropped key not at all.
 */
describe('FlowTable', () => {
  it('finds every live key and no removed one through growth, single removals and batches', () => {
    const grows: number[] = [];
    const table = new FlowTable(16, (cap) => grows.push(cap));
    const v = new PacketView();
    const next = random(0x9e3779b9);
    const live = new Map<number, number>(); // key number -> slot
    const dropped = new Set<number>();
    let nextKey = 0;

    const lookup = (n: number): number => {
      packetFor(v, n);
      table.setKey(v);
      return table.find();
    };
    const check = (): void => {
      expect(table.size).toBe(live.size);
      for (const [n, slot] of live) expect(lookup(n)).toBe(slot);
      for (const n of dropped) expect(lookup(n)).toBe(-1);
    };
    const add = (count: number): void => {
      for (let i = 0; i < count; i++) {
        const n = nextKey++;
        expect(lookup(n)).toBe(-1);
        const slot = table.insert();
        expect(slot).toBe(lookup(n)); // found again at once
        live.set(n, slot);
      }
    };
    const drop = (count: number, batch: boolean): void => {
      const keys = [...live.keys()];
      const chosen = new Set<number>();
      while (chosen.size < Math.min(count, keys.length)) chosen.add(keys[next() % keys.length]);
      const slots = Int32Array.from([...chosen], (n) => live.get(n)!);
      if (batch) {
        // Padded on both sides: only slots[1 .. 1 + n) may be removed.
        const padded = new Int32Array(slots.length + 2).fill(-1);
        padded.set(slots, 1);
        table.removeMany(padded, 1, 1 + slots.length);
      } else for (const s of slots) table.remove(s);
      for (const n of chosen) {
        live.delete(n);
        dropped.add(n);
      }
    };

    add(40);
    check();
    drop(10, false);
    check();
    add(3000);
    check();
    drop(30, true); // below the ordering threshold
    check();
    drop(1500, true); // ordered by index place
    check();
    add(2000); // recycled slots
    check();
    drop(2500, true);
    drop(200, false);
    check();
    expect(grows[0]).toBe(16);
    expect(grows.length).toBeGreaterThan(5);
  });

  // A table kept near half full of its index for many rounds: probe runs often wrap around the
  // index's end, and removals there must shift entries back across it.
  it.each([
    ['single removals', 16, 15, 1],
    ['batches ordered by index place', 128, 127, 64],
  ])('keeps every key findable under churn near capacity (%s)', (_name, capacity, full, batch) => {
    const table = new FlowTable(capacity, () => undefined);
    const v = new PacketView();
    const next = random(12345);
    const live = new Map<number, number>();
    let nextKey = 0;
    const lookup = (n: number): number => {
      packetFor(v, n);
      table.setKey(v);
      return table.find();
    };
    for (let round = 0; round < 300; round++) {
      while (live.size < full) {
        const n = nextKey++;
        expect(lookup(n)).toBe(-1);
        live.set(n, table.insert());
      }
      const keys = [...live.keys()];
      const chosen = new Set<number>();
      while (chosen.size < batch) chosen.add(keys[next() % keys.length]);
      table.removeMany(Int32Array.from([...chosen], (n) => live.get(n)!), 0, chosen.size);
      for (const n of chosen) {
        live.delete(n);
        expect(lookup(n)).toBe(-1);
      }
      for (const [n, slot] of live) expect(lookup(n)).toBe(slot);
    }
    expect(table.capacity).toBe(capacity); // never grew: the index stayed this crowded
  });
});
