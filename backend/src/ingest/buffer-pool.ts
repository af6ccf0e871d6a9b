/**
 * Large read buffers, lent out and handed back: a path import reads the file into them, and the
 * hash worker returns each once hashed. Writing a gigabyte into fresh allocations costs a page
 * fault every 4 KiB, more than parsing it.
 * Buffers (not plain Uint8Arrays): the engine's byte reads are tuned for that one element type.
 */
export class BufferPool {
  private readonly free: Buffer<ArrayBuffer>[] = [];

  constructor(
    readonly size: number,
    /** Free buffers kept at most; beyond, returned ones are left to the garbage collector. */
    private readonly keep = 16,
  ) {}

  take(): Buffer<ArrayBuffer> {
    const recycled = this.free.pop();
    if (recycled) return recycled;
    // Its pages are touched here, not by the read that fills it: a read into untouched pages takes
    // their page faults' time (8-14 ms for 4 MiB on this project's VMs), and a path import judges
    // its reads by their time (file-chunks.ts).
    return Buffer.allocUnsafeSlow(this.size).fill(0);
  }

  /** Takes back the memory of a buffer from take() (other sizes are ignored). */
  give(memory: ArrayBuffer): void {
    if (memory.byteLength === this.size && this.free.length < this.keep) this.free.push(Buffer.from(memory));
  }
}

/** Whether a chunk is the whole of its own ArrayBuffer: then it can be transferred to another thread without a copy. */
export function ownsItsMemory(chunk: Uint8Array): chunk is Uint8Array<ArrayBuffer> {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
}
