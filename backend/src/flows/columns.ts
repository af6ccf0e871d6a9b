/** A per-slot column of the engine's state (flow table, assembler, applications, TCP health). */
export type Column = Uint8Array | Int8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/** A copy of `column` with room for `length` values (the new ones 0): how every column grows. */
export function grown<T extends Column>(column: T, length: number): T {
  const x = new (column.constructor as new (length: number) => T)(length);
  x.set(column as never);
  return x;
}
