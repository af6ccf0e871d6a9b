import type { PacketView } from '../decode/packet-view';
import { grown } from './columns';
import { KEY_WORDS } from './flow-table';

/**
 * TCP health per flow and direction: Wireshark's sequence analysis (the tcp.analysis.* flags
 * users know), handshake timing, RTT samples from data/ACK pairs and resets.
 *
 * The flag rules follow Wireshark's TCP analysis (packet-tcp.c, tcp_analyze_sequence_number), in
 * its order, as tshark 4.0 (the oracle) has them, including its conventions (a sequence number of 0
 * means "not seen yet", the raw unscaled window is compared, a retransmission's kind is decided
 * fast > out-of-order > spurious > plain). docs/tcp-health.md lists each flag's rule and where
 * Capsight differs (RTT samples, flows keyed by VLAN and split by idle timeout, fragments).
 *
 * Hot path: state in typed arrays (index slot * 2 + direction, 0 = initiator) for TCP flows past
 * their first packet only, nothing allocated per packet; RTT samples in pooled blocks of 32 (a
 * reservoir beyond that).
 */

/** Counters per direction, in TCP_COUNTERS' order (index into `counts`; RetransBytes stays 0 there: those have a 64-bit array). */
export const enum C {
  Retrans = 0,
  RetransBytes,
  FastRetrans,
  Spurious,
  OutOfOrder,
  Lost,
  AckUnseen,
  DupAck,
  ZeroWindow,
  WindowFull,
  KeepAlive,
}
const NC = 11;

/** Flags of one segment (a subset of Wireshark's TCP_A_* flags). */
export const enum F {
  Retrans = 1 << 0,
  Fast = 1 << 1,
  Spurious = 1 << 2,
  OutOfOrder = 1 << 3,
  Lost = 1 << 4,
  AckUnseen = 1 << 5,
  DupAck = 1 << 6,
  ZeroWindow = 1 << 7,
  WindowFull = 1 << 8,
  KeepAlive = 1 << 9,
  KeepAliveAck = 1 << 10,
  ZeroWindowProbe = 1 << 11,
  ZeroWindowProbeAck = 1 << 12,
  WindowUpdate = 1 << 13,
}

const SYN = 0x02;
const FIN = 0x01;
const RST = 0x04;
const ACK = 0x10;

/** Wireshark's out-of-order threshold before an initial RTT is known: 3 ms. */
const OOO_DEFAULT_NS = 3_000_000;
/** Wireshark's fast-retransmission window after the last duplicate ACK: 20 ms. */
const FAST_RETRANS_NS = 20_000_000;
/** RTT samples kept per direction (a reservoir beyond that; the median is exact below it). */
const RTT_SAMPLES = 32;
/**
 * Blocks of RTT samples per chunk of the pool (256 KiB). The pool grows a chunk at a time: doubling
 * one array copied it and touched fresh pages for the whole of it each time, ~70 ms of a 1 GB
 * import's parse on this project's VMs (a first touch of a page costs 8-14 µs here).
 */
const CHUNK_BITS = 10;
const CHUNK_BLOCKS = 1 << CHUNK_BITS;
/** Unset window: Wireshark starts a direction's window at the largest 32-bit value (never equal to a real one). */
const NO_WINDOW = 0xffffffff;
/** index[] of a flow with no packet yet, and of one whose first packet is kept aside. */
const FRESH = -1;
const KEPT = -2;

/**
 * A TCP connection silent for longer than the idle timeout ends as a flow, but not as a
 * connection: its sequence state is parked under the flow key, and a later flow of the same key
 * that starts without a SYN continues from it (a keep-alive after the silence is one, a segment
 * after a gap is lost), as Wireshark's one stream per connection would. Per side (A, B of the
 * canonical key): next sequence, highest sequence to be ACKed, last ACK, window, window scale,
 * the last segment's flags, duplicate ACKs (parkedColumns()), then the times of the next sequence
 * and of the last ACK.
 */
/** parkedColumns().length, and the two times. */
const PARK_SIDE = 7 + 2;
const PARK_INIT_IS_A = 2 * PARK_SIDE;
const PARK_BASE_SEC = PARK_INIT_IS_A + 1;
const PARK_BASE_NS = PARK_BASE_SEC + 1;
const PARK_FIELDS = PARK_BASE_NS + 1;
/** Parked connections kept at most (oldest dropped first): a few MB. */
const PARK_LIMIT = 16_384;
/** A parked state applies only when the new flow's sequence (and ACK) are this close to it: the same key with other numbers is a new connection. */
const PARK_REACH = 1 << 24;

/** The flow key's words as text (a Map key). */
function keyText(keys: Uint32Array, o: number): string {
  let t = '';
  for (let i = o; i < o + KEY_WORDS; i++) t += `${keys[i]},`;
  return t;
}

/** Sequence-space comparisons (RFC 1982 style, as Wireshark's GT_SEQ/LT_SEQ). */
const gt = (a: number, b: number): boolean => ((a - b) | 0) > 0;
const lt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const le = (a: number, b: number): boolean => ((a - b) | 0) <= 0;

/** Per-direction counters of a flow, as `src_<name>` and `dst_<name>` (in C order). */
export const TCP_COUNTERS = ['retrans', 'retrans_bytes', 'fast_retrans', 'spurious_retrans', 'out_of_order', 'lost_segments', 'ack_unseen', 'dup_acks', 'zero_windows', 'window_full', 'keep_alives'] as const;
/** Field names of TcpHealthRecord.counts: src_retrans, dst_retrans, src_retrans_bytes, ... */
export const TCP_COUNT_FIELDS: readonly string[] = TCP_COUNTERS.flatMap((n) => [`src_${n}`, `dst_${n}`]);
/**
 * Whether a record's counts are all zero (the encoders then write them in one copy). Most such
 * records are the shared quiet ones: one compare for those. (Walking them too was ~150 ns per flow
 * on a scan: their frozen arrays and the fresh ones are two element kinds, so the loop's loads
 * went through V8's polymorphic path.)
 */
export function noneCounted(counts: readonly number[]): boolean {
  if (counts === ZERO_COUNTS) return true;
  for (let i = 0; i < counts.length; i++) if (counts[i] !== 0) return false;
  return true;
}

/**
 * Whether a record has no handshake and no RTT sample (every time unknown), by the same shortcut.
 * Three checks suffice: the handshake's three times are known together, and each direction's
 * median with its minimum.
 */
export function noTimes(times: readonly number[]): boolean {
  return times === NO_TIMES || (Number.isNaN(times[0]) && Number.isNaN(times[3]) && Number.isNaN(times[5]));
}
/** Field names of TcpHealthRecord.times, microseconds. */
export const TCP_TIME_FIELDS = ['handshake_rtt_us', 'syn_to_synack_us', 'synack_to_ack_us', 'server_rtt_min_us', 'server_rtt_median_us', 'client_rtt_min_us', 'client_rtt_median_us'] as const;

/** The counts and times of every quiet record (QUIET below): shared, frozen. */
const ZERO_COUNTS: readonly number[] = Object.freeze(new Array<number>(TCP_COUNT_FIELDS.length).fill(0));
const NO_TIMES: readonly number[] = Object.freeze(new Array<number>(TCP_TIME_FIELDS.length).fill(NaN));

/**
 * What one TCP flow's analysis adds to its record. Arrays rather than 31 named fields: the
 * encoders (ndjson, the store's staging file) walk them by index; publicFlow() names them.
 */
export interface TcpHealthRecord {
  /** Values of TCP_COUNT_FIELDS, in order. */
  counts: number[];
  /** Values of TCP_TIME_FIELDS in microseconds (nanosecond resolution), NaN when unknown. */
  times: number[];
  /** Who sent a RST: the initiator, the responder, both, or nobody (null). */
  resetBy: 'src' | 'dst' | 'both' | null;
  /** Whether payload had been sent before the first RST (null without a RST). */
  resetAfterData: boolean | null;
}

const small = (x: number): number => {
  const i = x | 0;
  return i === x ? i : x;
};
/** Nanoseconds to microseconds (NaN stays NaN). */
const us = (ns: number): number => Math.round(ns) / 1000;

export class TcpHealth {
  // Per direction (slot * 2 + dir).
  private nextSeq = new Uint32Array(0);
  private maxSeqToAck = new Uint32Array(0);
  private lastAck = new Uint32Array(0);
  private window = new Uint32Array(0);
  private winScale = new Int8Array(0);
  private dupAcks = new Int32Array(0);
  private lastFlags = new Uint16Array(0);
  private nextSeqTime = new Float64Array(0);
  private lastAckTime = new Float64Array(0);
  /** The newest segment waiting for its ACK (end sequence, time; NaN time: none). */
  private segEnd = new Uint32Array(0);
  private segTime = new Float64Array(0);
  private rttMin = new Float64Array(0);
  private rttCount = new Uint32Array(0);
  /** Each direction's block of RTT samples in `sampleChunks` (-1: none yet). */
  private sampleBlock = new Int32Array(0);
  /** Block b is at (b & (CHUNK_BLOCKS - 1)) * RTT_SAMPLES in chunk b >> CHUNK_BITS. */
  private readonly sampleChunks: Float64Array[] = [];
  private freeBlocks: number[] = [];
  private blocks = 0;
  /** Counters per direction (32 bits: no flow retransmits four billion segments), and retransmitted bytes (which can pass 4 GB). */
  private counts = new Uint32Array(0);
  private retransBytes = new Float64Array(0);
  // Per slot.
  private baseSec = new Float64Array(0);
  private baseNs = new Uint32Array(0);
  private mruSyn = new Float64Array(0);
  private synAck = new Float64Array(0);
  private firstRtt = new Float64Array(0);
  /** SYN to SYN-ACK of the measured handshake (NaN: no SYN-ACK between the SYN and the ACK). */
  private handshakeSynAck = new Float64Array(0);
  /** Bit 0: initiator reset, bit 1: responder reset, bit 2: payload seen, bit 3: payload seen before the first reset. */
  private resets = new Uint8Array(0);

  /**
   * TCP state lives in its own dense slots (only TCP flows take one: a DNS-heavy capture pays
   * nothing); `index` maps a flow-table slot to its TCP slot.
   */
  private index = new Int32Array(0);
  private capacity = 0;
  private next = 0;
  private readonly free: number[] = [];
  /** Connections that went silent past the idle timeout, by flow key (PARK_FIELDS each). */
  private readonly parked = new Map<string, Float64Array>();
  /** The parked state the next start() continues (set by resumable()). */
  private resuming: Float64Array | null = null;

  // A flow's first packet, per flow-table slot (until its TCP state exists).
  private firstSec = new Float64Array(0);
  private firstNs = new Uint32Array(0);
  private firstSeq = new Uint32Array(0);
  private firstAck = new Uint32Array(0);
  private firstLen = new Uint32Array(0);
  private firstWindow = new Uint16Array(0);
  private firstFlags = new Uint8Array(0);
  private firstScale = new Int8Array(0);
  /** Bit 0: sent by the initiator; bit 1: a complete segment. */
  private firstInfo = new Uint8Array(0);

  /** The flow table grew to `cap` slots. */
  grow(cap: number): void {
    this.index = grown(this.index, cap);
    this.firstSec = grown(this.firstSec, cap);
    this.firstNs = grown(this.firstNs, cap);
    this.firstSeq = grown(this.firstSeq, cap);
    this.firstAck = grown(this.firstAck, cap);
    this.firstLen = grown(this.firstLen, cap);
    this.firstWindow = grown(this.firstWindow, cap);
    this.firstFlags = grown(this.firstFlags, cap);
    this.firstScale = grown(this.firstScale, cap);
    this.firstInfo = grown(this.firstInfo, cap);
  }

  private allocate(): number {
    const t = this.free.length > 0 ? (this.free.pop() as number) : this.next++;
    if (t >= this.capacity) this.reserve(Math.max(1024, this.capacity * 2));
    return t;
  }

  private reserve(cap: number): void {
    this.capacity = cap;
    const d = cap * 2;
    this.nextSeq = grown(this.nextSeq, d);
    this.maxSeqToAck = grown(this.maxSeqToAck, d);
    this.lastAck = grown(this.lastAck, d);
    this.window = grown(this.window, d);
    this.winScale = grown(this.winScale, d);
    this.dupAcks = grown(this.dupAcks, d);
    this.lastFlags = grown(this.lastFlags, d);
    this.nextSeqTime = grown(this.nextSeqTime, d);
    this.lastAckTime = grown(this.lastAckTime, d);
    this.segEnd = grown(this.segEnd, d);
    this.segTime = grown(this.segTime, d);
    this.rttMin = grown(this.rttMin, d);
    this.rttCount = grown(this.rttCount, d);
    this.sampleBlock = grown(this.sampleBlock, d);
    this.counts = grown(this.counts, d * NC);
    this.retransBytes = grown(this.retransBytes, d);
    this.baseSec = grown(this.baseSec, cap);
    this.baseNs = grown(this.baseNs, cap);
    this.mruSyn = grown(this.mruSyn, cap);
    this.synAck = grown(this.synAck, cap);
    this.firstRtt = grown(this.firstRtt, cap);
    this.handshakeSynAck = grown(this.handshakeSynAck, cap);
    this.resets = grown(this.resets, cap);
  }

  /**
   * A new TCP flow in flow-table slot `flowSlot` (its first packet, at sec/ns, comes next). After
   * resumable() found a parked connection, the flow continues its sequence state.
   */
  start(flowSlot: number, initIsA: boolean, sec: number, ns: number): void {
    const p = this.resuming;
    if (p === null) {
      this.index[flowSlot] = FRESH;
      return;
    }
    this.resuming = null;
    const slot = this.allocate();
    this.index[flowSlot] = slot;
    this.init(slot, sec, ns);
    // Times of the parked state, moved to this flow's base.
    const shift = (p[PARK_BASE_SEC] - sec) * 1e9 + (p[PARK_BASE_NS] - ns);
    const columns = this.parkedColumns();
    for (let side = 0; side < 2; side++) {
      const d = slot * 2 + ((side === 0) === initIsA ? 0 : 1);
      const o = side * PARK_SIDE;
      for (let k = 0; k < columns.length; k++) columns[k][d] = p[o + k];
      this.nextSeqTime[d] = p[o + PARK_SIDE - 2] + shift;
      this.lastAckTime[d] = p[o + PARK_SIDE - 1] + shift;
    }
  }

  /** The per-direction state a parked connection keeps besides its two times (the arrays of now: reserve() replaces them). */
  private parkedColumns(): (Uint32Array | Int8Array | Int32Array | Uint16Array)[] {
    return [this.nextSeq, this.maxSeqToAck, this.lastAck, this.window, this.winScale, this.lastFlags, this.dupAcks];
  }

  /** Parks the sequence state of a flow that ends silent (not closed) with its connection still open. */
  park(flowSlot: number, keys: Uint32Array, o: number, initIsA: boolean): void {
    const slot = this.index[flowSlot];
    if (slot < 0) return; // one packet: nothing to continue from
    const p = new Float64Array(PARK_FIELDS);
    const columns = this.parkedColumns();
    for (let side = 0; side < 2; side++) {
      const d = slot * 2 + ((side === 0) === initIsA ? 0 : 1);
      const q = side * PARK_SIDE;
      for (let k = 0; k < columns.length; k++) p[q + k] = columns[k][d];
      p[q + PARK_SIDE - 2] = this.nextSeqTime[d];
      p[q + PARK_SIDE - 1] = this.lastAckTime[d];
    }
    p[PARK_INIT_IS_A] = initIsA ? 1 : 0;
    p[PARK_BASE_SEC] = this.baseSec[slot];
    p[PARK_BASE_NS] = this.baseNs[slot];
    const key = keyText(keys, o);
    const parked = this.parked;
    parked.delete(key);
    if (parked.size >= PARK_LIMIT) parked.delete(parked.keys().next().value as string);
    parked.set(key, p);
  }

  /**
   * Whether the flow starting with this packet (key loaded in `key`, no SYN) continues a parked
   * connection: 1 or 0 = side A initiated it (or not), -1 = no. The next start() takes it up.
   */
  resumable(key: Uint32Array, senderIsA: boolean, v: PacketView): number {
    if (this.parked.size === 0 || !v.tcpComplete) return -1;
    const text = keyText(key, 0);
    const p = this.parked.get(text);
    if (p === undefined) return -1;
    this.parked.delete(text);
    const own = senderIsA ? 0 : PARK_SIDE;
    const other = senderIsA ? PARK_SIDE : 0;
    if (p[own] !== 0 && Math.abs((v.tcpSeq - p[own]) | 0) >= PARK_REACH) return -1;
    if (v.tcpFlags & ACK && p[other] !== 0 && Math.abs((v.tcpAck - p[other]) | 0) >= PARK_REACH) return -1;
    this.resuming = p;
    return p[PARK_INIT_IS_A];
  }

  /** Keeps a flow's first packet (its TCP state is made at the second, or when the flow ends). */
  private keep(flowSlot: number, fromInit: boolean, v: PacketView, sec: number, ns: number): void {
    this.index[flowSlot] = KEPT;
    this.firstSec[flowSlot] = sec;
    this.firstNs[flowSlot] = ns;
    this.firstSeq[flowSlot] = v.tcpSeq;
    this.firstAck[flowSlot] = v.tcpAck;
    this.firstLen[flowSlot] = v.payloadBytes;
    this.firstWindow[flowSlot] = v.tcpWindow;
    this.firstFlags[flowSlot] = v.tcpFlags;
    this.firstScale[flowSlot] = v.tcpWinScale;
    this.firstInfo[flowSlot] = (fromInit ? 1 : 0) | (v.tcpComplete ? 2 : 0);
  }

  /** The flow's TCP state, from its kept first packet. */
  private materialize(flowSlot: number): number {
    const slot = this.allocate();
    this.index[flowSlot] = slot;
    const sec = this.firstSec[flowSlot];
    const ns = this.firstNs[flowSlot];
    this.init(slot, sec, ns);
    const info = this.firstInfo[flowSlot];
    this.segment(slot, (info & 1) !== 0, this.firstFlags[flowSlot], this.firstLen[flowSlot], (info & 2) !== 0, this.firstSeq[flowSlot], this.firstAck[flowSlot],
      this.firstWindow[flowSlot], this.firstScale[flowSlot], sec, ns);
    return slot;
  }

  private init(slot: number, sec: number, ns: number): void {
    this.baseSec[slot] = sec;
    this.baseNs[slot] = ns;
    this.mruSyn[slot] = NaN;
    this.synAck[slot] = NaN;
    this.firstRtt[slot] = NaN;
    this.handshakeSynAck[slot] = NaN;
    this.resets[slot] = 0;
    for (let d = slot * 2; d < slot * 2 + 2; d++) {
      this.nextSeq[d] = 0;
      this.maxSeqToAck[d] = 0;
      this.lastAck[d] = 0;
      this.window[d] = NO_WINDOW;
      this.winScale[d] = -1;
      this.dupAcks[d] = 0;
      this.lastFlags[d] = 0;
      this.nextSeqTime[d] = 0;
      this.lastAckTime[d] = 0;
      this.segTime[d] = NaN;
      this.rttMin[d] = NaN;
      this.rttCount[d] = 0;
      this.sampleBlock[d] = -1;
      this.retransBytes[d] = 0;
    }
    const counts = this.counts;
    for (let i = slot * 2 * NC; i < (slot * 2 + 2) * NC; i++) counts[i] = 0;
  }

  /**
   * One segment of the flow in `slot`, sent by the initiator (fromInit) or the responder, at
   * (sec, ns). Returns its flags (F.*).
   */
  packet(flowSlot: number, fromInit: boolean, v: PacketView, sec: number, ns: number): number {
    let slot = this.index[flowSlot];
    if (slot < 0) {
      if (slot === FRESH) {
        // The flow's first packet: kept aside; a flow that never sends a second (a scan's SYN)
        // never takes TCP state.
        this.keep(flowSlot, fromInit, v, sec, ns);
        return 0;
      }
      slot = this.materialize(flowSlot);
    }
    return this.segment(slot, fromInit, v.tcpFlags, v.payloadBytes, v.tcpComplete, v.tcpSeq, v.tcpAck, v.tcpWindow, v.tcpWinScale, sec, ns);
  }

  private segment(slot: number, fromInit: boolean, flags: number, seglen: number, complete: boolean, seq: number, ack: number, window: number, winScale: number, sec: number, ns: number): number {
    const now = (sec - this.baseSec[slot]) * 1e9 + (ns - this.baseNs[slot]);
    if (flags & RST) {
      const r = this.resets[slot];
      if ((r & 3) === 0 && r & 4) this.resets[slot] = r | 8;
      this.resets[slot] |= fromInit ? 1 : 2;
    }
    if (seglen > 0) this.resets[slot] |= 4;
    if (!complete) return 0;
    const fwd = slot * 2 + (fromInit ? 0 : 1);
    const rev = slot * 2 + (fromInit ? 1 : 0);
    const nextSeq = this.nextSeq;
    const fwdNext = nextSeq[fwd];
    let ta = 0;

    // Zero-window probe: one byte at the next expected sequence while the peer's window is 0.
    if (seglen === 1 && seq === fwdNext && this.window[rev] === 0) {
      ta |= F.ZeroWindowProbe;
    } else {
      if (window === 0 && (flags & (RST | FIN | SYN)) === 0) ta |= F.ZeroWindow;
      // A gap before this segment: the previous one was not captured.
      if (fwdNext !== 0 && gt(seq, fwdNext) && (flags & RST) === 0) ta |= F.Lost;
      const plain = (flags & (SYN | FIN | RST)) === 0;
      if (seglen <= 1 && seq === ((fwdNext - 1) >>> 0) && plain) ta |= F.KeepAlive;
      const sameAck = seglen === 0 && seq === fwdNext && ack === this.lastAck[fwd] && plain;
      if (sameAck && window !== 0 && window !== this.window[fwd]) ta |= F.WindowUpdate;
      const revScale = this.winScale[rev];
      if (seglen > 0 && revScale !== -1 && plain) {
        const edge = (this.lastAck[rev] + ((this.window[rev] << (revScale === -2 ? 0 : revScale)) >>> 0)) >>> 0;
        if (((seq + seglen) >>> 0) === edge) ta |= F.WindowFull;
      }
      if (sameAck && window !== 0 && window === this.window[fwd] && this.lastFlags[rev] & F.KeepAlive) {
        ta |= F.KeepAliveAck;
      } else if (sameAck && window === 0 && window === this.window[fwd] && this.lastFlags[rev] & F.ZeroWindowProbe) {
        ta |= F.ZeroWindowProbeAck;
      } else if (sameAck && window !== 0 && window === this.window[fwd]) {
        const n = this.dupAcks[fwd];
        this.dupAcks[fwd] = n === -1 ? 1 : n + 1;
        ta |= F.DupAck;
      }
    }
    // (Wireshark's "finished_fwd".)
    if (ack !== this.lastAck[fwd]) this.dupAcks[fwd] = 0;
    const revMax = this.maxSeqToAck[rev];
    if (revMax !== 0 && gt(ack, revMax) && flags & ACK) {
      // An ACK for data never seen going the other way. After a gap the other side's highest
      // contiguous sequence lags its next one: it jumps there (and the ACK is reported), so the
      // ACKs that follow, of data that was seen, are not. Otherwise it is reported once until the
      // other side's ACK moves (its duplicate-ACK counter at -1 marks "already reported").
      if (lt(revMax, nextSeq[rev])) {
        this.maxSeqToAck[rev] = nextSeq[rev];
        ta |= F.AckUnseen;
      } else {
        if (this.dupAcks[rev] === 0) ta |= F.AckUnseen;
        this.dupAcks[rev] = -1;
      }
    }
    const synFin = (flags & (SYN | FIN)) !== 0;
    if ((seglen > 0 || synFin) && (ta & F.KeepAlive) === 0) ta |= this.retransmission(fwd, rev, seq, seglen, synFin, now, slot);

    const end = (seq + seglen + (synFin ? 1 : 0)) >>> 0;
    if ((gt(end, fwdNext) || fwdNext === 0) && (ta & F.ZeroWindowProbe) === 0) {
      nextSeq[fwd] = end;
      this.nextSeqTime[fwd] = now;
    }
    const max = this.maxSeqToAck[fwd];
    if ((seq === max || max === 0) && (ta & F.ZeroWindowProbe) === 0) this.maxSeqToAck[fwd] = nextSeq[fwd];

    // RTT sample: this ACK covers exactly the newest segment the other side sent (Karn: not a retransmitted one).
    if (flags & ACK && ack === this.segEnd[rev] && !Number.isNaN(this.segTime[rev])) {
      this.sample(rev, now - this.segTime[rev]);
      this.segTime[rev] = NaN;
    }
    // (Data segments only: the handshake has its own timing, and a SYN answered by RST is no RTT sample.)
    if (seglen > 0) {
      if ((ta & (F.Retrans | F.Fast | F.Spurious | F.OutOfOrder)) === 0 && end === nextSeq[fwd]) {
        this.segEnd[fwd] = end;
        this.segTime[fwd] = now;
      } else this.segTime[fwd] = NaN;
    }

    this.window[fwd] = window;
    this.lastAck[fwd] = ack;
    this.lastAckTime[fwd] = now;
    this.lastFlags[fwd] = ta;
    if (flags & SYN && winScale >= 0) this.winScale[fwd] = winScale;
    if (flags & SYN && this.winScale[fwd] === -1) {
      this.winScale[fwd] = -2;
      this.winScale[rev] = -2;
    } else if (flags & SYN && flags & ACK && this.winScale[rev] === -2) this.winScale[fwd] = -2;
    this.handshake(slot, flags, now);
    this.count(fwd, ta, seglen);
    return ta;
  }

  /** Retransmission kinds (fast, out-of-order, spurious, plain, in Wireshark 4.0's order) of a segment that carries data or SYN/FIN. */
  private retransmission(fwd: number, rev: number, seq: number, seglen: number, synFin: boolean, now: number, slot: number): number {
    const fwdNext = this.nextSeq[fwd];
    let notAdvanced = fwdNext !== 0 && lt(seq, fwdNext);
    // More than one byte starting one below the expected sequence: new data after a zero-window probe.
    if (seglen > 1 && ((fwdNext - 1) >>> 0) === seq) notAdvanced = false;
    const revAck = this.lastAck[rev];
    if (notAdvanced && this.dupAcks[rev] >= 2 && revAck === seq && now - this.lastAckTime[rev] < FAST_RETRANS_NS) return F.Fast | F.Retrans;
    const rtt = this.firstRtt[slot];
    const threshold = Number.isNaN(rtt) ? OOO_DEFAULT_NS : rtt;
    if (notAdvanced && now - this.nextSeqTime[fwd] < threshold && fwdNext !== ((seq + seglen + (synFin ? 1 : 0)) >>> 0)) return F.OutOfOrder;
    if (seglen > 0 && revAck !== 0 && le((seq + seglen) >>> 0, revAck)) return F.Spurious | F.Retrans;
    return notAdvanced ? F.Retrans : 0;
  }

  /**
   * Handshake timing as Wireshark's initial RTT: from the most recent SYN to the first pure ACK
   * (ACK without SYN, either direction) after it; split at the first SYN-ACK in between.
   */
  private handshake(slot: number, flags: number, now: number): void {
    if ((flags & (SYN | ACK)) === SYN) {
      this.mruSyn[slot] = now;
      this.synAck[slot] = NaN;
    } else if ((flags & (SYN | ACK)) === (SYN | ACK)) {
      if (Number.isNaN(this.synAck[slot])) this.synAck[slot] = now;
    } else if ((flags & (SYN | ACK)) === ACK && Number.isNaN(this.firstRtt[slot]) && !Number.isNaN(this.mruSyn[slot])) {
      const rtt = now - this.mruSyn[slot];
      // (Wireshark keeps a zero RTT as "none yet" and measures again at the next ACK.)
      if (rtt !== 0) {
        this.firstRtt[slot] = rtt;
        this.handshakeSynAck[slot] = this.synAck[slot] - this.mruSyn[slot];
      }
    }
  }

  private count(d: number, ta: number, seglen: number): void {
    if (ta === 0) return;
    const c = this.counts;
    const o = d * NC;
    if (ta & F.Retrans) {
      c[o + C.Retrans] += 1;
      this.retransBytes[d] += seglen;
    }
    if (ta & F.Fast) c[o + C.FastRetrans] += 1;
    if (ta & F.Spurious) c[o + C.Spurious] += 1;
    if (ta & F.OutOfOrder) c[o + C.OutOfOrder] += 1;
    if (ta & F.Lost) c[o + C.Lost] += 1;
    if (ta & F.AckUnseen) c[o + C.AckUnseen] += 1;
    if (ta & F.DupAck) c[o + C.DupAck] += 1;
    if (ta & F.ZeroWindow) c[o + C.ZeroWindow] += 1;
    if (ta & F.WindowFull) c[o + C.WindowFull] += 1;
    if (ta & F.KeepAlive) c[o + C.KeepAlive] += 1;
  }

  private sample(d: number, rtt: number): void {
    if (!(rtt >= 0)) return;
    if (Number.isNaN(this.rttMin[d]) || rtt < this.rttMin[d]) this.rttMin[d] = rtt;
    const n = this.rttCount[d]++;
    let block = this.sampleBlock[d];
    if (block < 0) block = this.sampleBlock[d] = this.takeBlock();
    const samples = this.sampleChunks[block >> CHUNK_BITS];
    const base = (block & (CHUNK_BLOCKS - 1)) * RTT_SAMPLES;
    if (n < RTT_SAMPLES) samples[base + n] = rtt;
    else {
      // Reservoir sampling with a deterministic draw (the same capture, the same median).
      const j = Math.imul(n + 1, 0x9e3779b1) >>> 0;
      if (j % (n + 1) < RTT_SAMPLES) samples[base + (j % RTT_SAMPLES)] = rtt;
    }
  }

  /** A block of RTT_SAMPLES doubles in the pool, recycled when the flow ends. */
  private takeBlock(): number {
    if (this.freeBlocks.length > 0) return this.freeBlocks.pop() as number;
    const b = this.blocks++;
    if ((b & (CHUNK_BLOCKS - 1)) === 0) this.sampleChunks.push(new Float64Array(CHUNK_BLOCKS * RTT_SAMPLES));
    return b;
  }

  private readonly sorted = new Float64Array(RTT_SAMPLES);

  private median(d: number): number {
    const block = this.sampleBlock[d];
    const n = Math.min(this.rttCount[d], RTT_SAMPLES);
    if (block < 0 || n === 0) return NaN;
    const s = this.sampleChunks[block >> CHUNK_BITS];
    const base = (block & (CHUNK_BLOCKS - 1)) * RTT_SAMPLES;
    if (n === 1) return s[base];
    const a = this.sorted;
    for (let i = 0; i < n; i++) a[i] = s[base + i];
    const mid = n >> 1;
    const upper = select(a, n, mid);
    return n % 2 === 1 ? upper : (select(a, mid, mid - 1) + upper) / 2;
  }

  /**
   * The record of a flow of one segment (a scan's SYN, its RST answer) without making its TCP
   * state: alone, a segment can only be a zero window or (at sequence 2^32-1) a keep-alive, and
   * those go the long way (null).
   */
  private quietFirst(flowSlot: number): TcpHealthRecord | null {
    const flags = this.firstFlags[flowSlot];
    const len = this.firstLen[flowSlot];
    const info = this.firstInfo[flowSlot];
    if ((info & 2) !== 0 && (flags & (SYN | FIN | RST)) === 0 && (this.firstWindow[flowSlot] === 0 || (this.firstSeq[flowSlot] === 0xffffffff && len <= 1))) return null;
    const resets = (flags & RST ? ((info & 1) !== 0 ? 1 : 2) : 0) | (len > 0 ? 4 : 0);
    return QUIET[resets & 11];
  }

  /** The flow's fields (call once, when it ends: its TCP slot is freed). */
  read(flowSlot: number): TcpHealthRecord {
    let slot = this.index[flowSlot];
    if (slot === FRESH) return QUIET[0];
    if (slot === KEPT) {
      const quiet = this.quietFirst(flowSlot);
      if (quiet !== null) return quiet;
      slot = this.materialize(flowSlot);
    }
    this.free.push(slot);
    const c = this.counts;
    const i = slot * 2 * NC;
    const r = i + NC;
    const d0 = slot * 2;
    const resets = this.resets[slot];
    let any = 0;
    for (let k = i; k < i + 2 * NC; k++) any |= c[k];
    if (any === 0 && Number.isNaN(this.firstRtt[slot]) && this.sampleBlock[d0] < 0 && this.sampleBlock[d0 + 1] < 0) {
      // Nothing happened (a scan's SYN, a short exchange without handshake): a shared record.
      return QUIET[resets & 11];
    }
    for (let d = d0; d < d0 + 2; d++) {
      const block = this.sampleBlock[d];
      if (block >= 0) this.freeBlocks.push(block);
    }
    // (An array literal: one allocation, no growth.)
    const counts = [
      c[i], c[r], small(this.retransBytes[d0]), small(this.retransBytes[d0 + 1]), c[i + 2], c[r + 2], c[i + 3], c[r + 3],
      c[i + 4], c[r + 4], c[i + 5], c[r + 5], c[i + 6], c[r + 6], c[i + 7], c[r + 7], c[i + 8], c[r + 8], c[i + 9], c[r + 9], c[i + 10], c[r + 10],
    ];
    const rtt = this.firstRtt[slot];
    const toServer = this.handshakeSynAck[slot];
    // Server RTT: the initiator's segments (direction 0) ACKed by the responder; client RTT the reverse.
    const times = [us(rtt), us(toServer), us(rtt - toServer), us(this.rttMin[d0]), us(this.median(d0)), us(this.rttMin[d0 + 1]), us(this.median(d0 + 1))];
    return { counts, times, resetBy: resetBy(resets), resetAfterData: resetAfterData(resets) };
  }
}

const resetBy = (resets: number): TcpHealthRecord['resetBy'] => {
  const by = resets & 3;
  return by === 0 ? null : by === 1 ? 'src' : by === 2 ? 'dst' : 'both';
};
const resetAfterData = (resets: number): boolean | null => ((resets & 3) === 0 ? null : (resets & 8) !== 0);

/**
 * A record's reset fields as one index, for the encoders' tables of their text: resetBy (null,
 * src, dst, both) x 3 + resetAfterData (null, true, false).
 */
export function resetIndex(t: TcpHealthRecord): number {
  const by = t.resetBy === null ? 0 : t.resetBy === 'src' ? 1 : t.resetBy === 'dst' ? 2 : 3;
  return by * 3 + (t.resetAfterData === null ? 0 : t.resetAfterData ? 1 : 2);
}

/** Shared, frozen records of flows with nothing to report, by their reset bits (who reset, data before it). */
const QUIET: readonly TcpHealthRecord[] = Array.from({ length: 12 }, (_, bits) =>
  Object.freeze({ counts: ZERO_COUNTS as number[], times: NO_TIMES as number[], resetBy: resetBy(bits), resetAfterData: resetAfterData(bits) }),
);

/**
 * The k-th smallest of a[0..n) (quickselect, in place, no allocation). After it, a[0..k) holds
 * the k smallest: the lower median of an even count is then the largest of a[0..mid).
 */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}
