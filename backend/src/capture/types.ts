/** Receives every packet record a capture reader finds. */
export interface PacketHandler {
  /**
   * One packet. `data[off .. off+capLen)` holds the captured bytes and is valid only during the
   * call (readers reuse their buffers). `origLen` is the length on the wire before snaplen.
   * `time` holds [whole seconds since the epoch, nanoseconds]: split so it stays exact, and passed
   * in one reused array because seconds since 1970 exceed V8's small-integer range, so passing them
   * as arguments would allocate a heap number per packet.
   */
  packet(data: Uint8Array, off: number, capLen: number, origLen: number, linkType: number, time: Float64Array): void;
}

/** Reader-level problems that do not stop reading (counted by kind, reported in stats). */
export interface ReaderNotes {
  format: 'pcap' | 'pcapng' | null;
  compressed: boolean;
  /** Problem kind -> count, e.g. "pcapng: if_tsresol option has length 2". */
  problems: Map<string, number>;
}

export const LINKTYPE_UNDEFINED_INTERFACE = -1;
