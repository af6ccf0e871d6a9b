import { grown, sortByIds } from './columns';

describe('grown', () => {
  it('keeps the values and zeroes the new room', () => {
    expect(Array.from(grown(Uint16Array.of(7, 65535), 4))).toEqual([7, 65535, 0, 0]);
  });
});

/** A deterministic shuffle (xorshift), so a failure can be replayed. */
function shuffled(n: number, seed: number): number[] {
  const xs = Array.from({ length: n }, (_, i) => i);
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const j = (s >>> 0) % (i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** ids for slots 0..n-1, all different, drawn from [base, base + span). */
function idsWithin(n: number, base: number, span: number, seed: number): Float64Array {
  const offsets = shuffled(span, seed).slice(0, n);
  return Float64Array.from(offsets, (o) => base + o);
}

const byIdReference = (slots: number[], ids: Float64Array): number[] => [...slots].sort((a, b) => ids[a] - ids[b]);

describe('sortByIds', () => {
  it('orders recycled slots by flow id, not by slot', () => {
    // Slot -> id: slots are reused, so a low slot may hold the newest flow.
    const ids = Float64Array.of(7, 2, 9, 0, 5);
    expect(Array.from(sortByIds(Int32Array.of(0, 1, 2, 3, 4), ids, 10, 8))).toEqual([3, 1, 4, 0, 2]);
  });

  // Ids that span up to 8x their number are placed by offset; wider ones are sorted. Both ways must
  // give the order a comparator sort gives, for ids close together and far apart.
  it.each([
    ['close ids, placed by offset', 1.0],
    ['ids with gaps, placed by offset', 7.9],
    ['ids spread wide, sorted', 40],
  ])('%s', (_name, spread) => {
    const n = 3000;
    const ids = idsWithin(n, 123_456, Math.round(n * spread), 7);
    const slots = shuffled(n, 11);
    expect(Array.from(sortByIds(Int32Array.from(slots), ids, 123_456 + n * spread, 4096))).toEqual(byIdReference(slots, ids));
  });

  it('places slots whose ids are 2^52 and more by offset', () => {
    const base = 2 ** 52;
    const ids = Float64Array.of(base + 2, base, base + 1);
    expect(Array.from(sortByIds(Int32Array.of(0, 1, 2), ids, base + 3, 65536))).toEqual([1, 2, 0]);
  });

  it('packs exactly up to the largest id a double holds with the slot', () => {
    const top = 2 ** 43; // top x 1024 slots = 2^53
    const ids = new Float64Array(1024);
    ids[1023] = top - 2;
    ids[0] = 5; // far from the others: sorted, not placed
    ids[512] = top - 3;
    ids[7] = top - 4;
    expect(Array.from(sortByIds(Int32Array.of(1023, 0, 512, 7), ids, top - 1, 1024))).toEqual([0, 7, 512, 1023]);
  });

  it('sorts with a comparator once spread ids are too large to pack', () => {
    const big = 2 ** 50;
    const ids = Float64Array.of(big + 200, big, big + 100);
    expect(Array.from(sortByIds(Int32Array.of(0, 1, 2), ids, big + 201, 65536))).toEqual([1, 2, 0]);
  });

  it('returns an empty or single selection as it is', () => {
    expect(sortByIds(new Int32Array(0), new Float64Array(4), 4, 4).length).toBe(0);
    expect(Array.from(sortByIds(Int32Array.of(3), new Float64Array(4), 4, 4))).toEqual([3]);
  });
});
