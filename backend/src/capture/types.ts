/** Receives every packet record a capture reader finds. */
export interface PacketHandler {
  /**
   * One packet. `data[off .. off+capLen)` holds the captured bytes and is valid only during the
   * call (readers reuse their buffers). `origLen` is the length on the wire before snaplen.
   * Time is split into whole seconds since the epoch and nanoseconds, so it stays exact.
   */
  packet(data: Uint8Array, off: number, capLen: number, origLen: number, tsSec: number, tsNsec: number, linkType: number): void;
}

/** Reader-level problems that do not stop reading (counted by kind, reported in stats). */
export interface ReaderNotes {
  format: 'pcap' | 'pcapng' | null;
  compressed: boolean;
  /** Problem kind -> count, e.g. "pcapng: if_tsresol option has length 2". */
  problems: Map<string, number>;
}

export const LINKTYPE_UNDEFINED_INTERFACE = -1;
