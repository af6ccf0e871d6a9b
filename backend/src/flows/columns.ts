/** A per-slot column of the engine's state (flow table, assembler, applications, TCP health). */
export type Column = Uint8Array | Int8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/** A copy of `column` with room for `length` values (the new ones 0): how every column grows. */
export function grown<T extends Column>(column: T, length: number): T {
  const x = new (column.constructor as new (length: number) => T)(length);
  x.set(column as never);
  return x;
}

/**
 * Sorts `slots` in place by their values in `ids` (unique, below `idLimit`) and returns it. Flows
 * that end together were mostly made together: at a sweep of idle flows their ids usually span
 * little more than their number (scan and DNS mixes: 1.0x at the median sweep). Then each slot is
 * put at its id's offset in a scratch array and read back in order, two passes. Ids spread wider
 * are packed with their slot into one number, id x capacity + slot, and sorted by the typed array's
 * own numeric sort (~90 ns a slot; a comparator that looked up both ids, called ~15 times per slot,
 * took ~5 % of a DNS mix's run). Packing is exact while idLimit x capacity stays within a double's
 * integers; past that (2^53 / capacity ids) the comparator sort runs instead.
 */
export function sortByIds(slots: Int32Array, ids: Float64Array, idLimit: number, capacity: number): Int32Array {
  const n = slots.length;
  if (n < 2) return slots;
  // Each pass is a function that ends with its loop (why: FlowAssembler.endingSlots; here ~80
  // deoptimizations a scan mix's run). No loop here.
  idRange(slots, ids);
  const min = range[0];
  const span = range[1] - min + 1;
  if (span <= Math.max(2 * n, Math.min(n * PLACE_WITHIN_SPAN, PLACE_MAX_SPAN))) {
    const at = new Int32Array(span); // slot + 1 at its id's offset; 0: no slot has that id
    placeAtOffsets(slots, ids, min, at);
    readPlaced(at, slots);
    return slots;
  }
  if (idLimit * capacity > Number.MAX_SAFE_INTEGER) return slots.sort((a, b) => ids[a] - ids[b]);
  const packed = new Float64Array(n);
  pack(slots, ids, capacity, packed);
  packed.sort();
  unpack(packed, capacity, slots);
  return slots;
}

/** The smallest and largest id of the slots (at least two), into `range`: written in the loop, as nothing may follow it. */
const range = new Float64Array(2);

function idRange(slots: Int32Array, ids: Float64Array): void {
  let min = ids[slots[0]];
  let max = min;
  for (let i = 1; i < slots.length; i++) {
    const id = ids[slots[i]];
    if (id < min) min = id;
    else if (id > max) max = id;
    range[0] = min;
    range[1] = max;
  }
}

function placeAtOffsets(slots: Int32Array, ids: Float64Array, min: number, at: Int32Array): void {
  for (let i = 0; i < slots.length; i++) at[ids[slots[i]] - min] = slots[i] + 1;
}

function readPlaced(at: Int32Array, slots: Int32Array): void {
  let k = 0;
  for (let j = 0; j < at.length; j++) if (at[j] !== 0) slots[k++] = at[j] - 1;
}

function pack(slots: Int32Array, ids: Float64Array, capacity: number, packed: Float64Array): void {
  for (let i = 0; i < slots.length; i++) packed[i] = ids[slots[i]] * capacity + slots[i];
}

function unpack(packed: Float64Array, capacity: number, slots: Int32Array): void {
  for (let i = 0; i < packed.length; i++) slots[i] = packed[i] % capacity;
}

/**
 * Ids spanning up to this many times their number are placed by offset (a pass over the span costs
 * ~1 ns an id), while the scratch array stays within PLACE_MAX_SPAN entries (16 MiB); up to twice
 * their number at any size: no more memory than the packed sort's own array.
 */
const PLACE_WITHIN_SPAN = 8;
const PLACE_MAX_SPAN = 1 << 22;
