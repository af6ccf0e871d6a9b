import { grown, sortByIds } from './columns';

describe('grown', () => {
  it('keeps the values and zeroes the new room', () => {
    expect(Array.from(grown(Uint16Array.of(7, 65535), 4))).toEqual([7, 65535, 0, 0]);
  });
});

describe('sortByIds', () => {
  it('orders recycled slots by flow id, not by slot', () => {
    // Slot -> id: slots are reused, so a low slot may hold the newest flow.
    const ids = Float64Array.of(7, 2, 9, 0, 5);
    expect(Array.from(sortByIds(Int32Array.of(0, 1, 2, 3, 4), ids, 10, 8))).toEqual([3, 1, 4, 0, 2]);
  });

  it('packs exactly up to the largest id a double holds with the slot', () => {
    const top = 2 ** 43; // top x 1024 slots = 2^53
    const ids = new Float64Array(1024);
    ids[1023] = top - 2;
    ids[0] = top - 4;
    ids[512] = top - 3;
    expect(Array.from(sortByIds(Int32Array.of(1023, 0, 512), ids, top - 1, 1024))).toEqual([0, 512, 1023]);
  });

  it('sorts with a comparator once ids are too large to pack', () => {
    const big = 2 ** 50;
    const ids = Float64Array.of(big + 2, big, big + 1);
    expect(Array.from(sortByIds(Int32Array.of(0, 1, 2), ids, big + 3, 65536))).toEqual([1, 2, 0]);
  });

  it('returns an empty selection as it is', () => {
    expect(sortByIds(new Int32Array(0), new Float64Array(4), 4, 4).length).toBe(0);
  });
});
