import { CapsightError } from '../errors';
import { LINKTYPE_UNDEFINED_INTERFACE, type PacketHandler, type ReaderNotes } from './types';
import { convertTimestamp, makeResolution, resolutionFromOption, tsOut, type TsResolution } from './pcapng-time';

/**
 * Streaming pcap/pcapng parser. Feed it chunks of any size with push(); it calls the handler for
 * every packet and never keeps a reference to a chunk after push() returns. A record that straddles
 * two chunks is completed in a reusable carry buffer, so output does not depend on chunking and
 * memory stays constant (carry grows only to the largest record seen).
 *
 * Hand-written rather than a library: this is the hot path (no per-packet allocation).
 */

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
const PCAPNG_MIN_BLOCK = 12;
/** Largest pcap record accepted when the file's snaplen is smaller (libpcap's own ceiling). */
const PCAP_DEFAULT_MAX_CAPLEN = 262_144;
/** Hard ceiling for any record or block: anything larger is taken as corruption. */
const MAX_RECORD = 64 * 1024 * 1024;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_OPB = 0x00000002;
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const enum Mode {
  Detect,
  PcapHeader,
  Pcap,
  Pcapng,
}

interface PcapngInterface {
  linkType: number;
  snapLen: number;
  res: TsResolution;
}

const DEFAULT_RES = makeResolution(1_000_000n, 0);

function hex(bytes: Uint8Array, off: number, n: number): string {
  const parts: string[] = [];
  for (let i = off; i < off + n && i < bytes.length; i++) parts.push(bytes[i].toString(16).padStart(2, '0'));
  return parts.join(' ');
}

export class CaptureParser {
  readonly notes: ReaderNotes = { format: null, compressed: false, problems: new Map() };
  /** Packet records delivered. */
  packets = 0;
  /**
   * Length of the record (pcap record with its header, or whole pcapng block) of the packet being
   * delivered; with deliveredOffset, where its bytes lie in the (decompressed) capture. Valid only
   * during PacketHandler.packet (the packet archive's index reads them there).
   */
  deliveredLength = 0;

  private mode: Mode = Mode.Detect;
  // Buffers like the read chunks, so every packet the decoder sees has the same element type
  // (a mix makes every byte read in the decoder polymorphic).
  private carry: Uint8Array = Buffer.alloc(256 * 1024);
  private carryLen = 0;
  /** Absolute offset of the next unconsumed byte (start of carry when carryLen > 0). */
  private offset = 0;
  private sawInput = false;

  // pcap state
  private le = true;
  private nanos = false;
  private linkType = 0;
  private maxCapLen = PCAP_DEFAULT_MAX_CAPLEN;

  // pcapng state (per section)
  private ifaces: PcapngInterface[] = [];
  /** Time of the packet being delivered: [seconds, nanoseconds] (see PacketHandler). */
  private readonly time = new Float64Array(2);

  constructor(
    private readonly handler: PacketHandler,
    private readonly name: string,
  ) {}

  note(kind: string): void {
    this.notes.problems.set(kind, (this.notes.problems.get(kind) ?? 0) + 1);
  }

  /** Bytes consumed so far (complete records). */
  get bytesConsumed(): number {
    return this.offset;
  }

  /** Offset of the record being delivered (during PacketHandler.packet: offset is advanced after the call). */
  get deliveredOffset(): number {
    return this.offset;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    this.sawInput = true;
    if (this.mode === Mode.Detect) {
      if (this.carryLen + n < 4) {
        this.ensureCarry(this.carryLen + n);
        this.carry.set(chunk, this.carryLen);
        this.carryLen += n;
        return;
      }
      const head = new Uint8Array(4);
      for (let i = 0; i < 4; i++) head[i] = i < this.carryLen ? this.carry[i] : chunk[i - this.carryLen];
      this.detect(head, 0);
    }
    let pos = 0;
    if (this.carryLen > 0) {
      pos = this.fillCarry(chunk);
      if (this.carryLen > 0) return;
    }
    if (this.mode === Mode.Pcap) pos = this.pcapRecords(chunk, pos);
    for (;;) {
      const avail = n - pos;
      const need = this.headerNeed();
      if (avail < need) break;
      const len = this.recordLength(chunk, pos);
      if (avail < len) break;
      this.consume(chunk, pos, len);
      this.offset += len;
      pos += len;
      if (this.mode === Mode.Pcap) pos = this.pcapRecords(chunk, pos);
    }
    const rest = n - pos;
    if (rest > 0) {
      this.ensureCarry(rest);
      this.carry.set(chunk.subarray(pos, n), 0);
      this.carryLen = rest;
    }
  }

  /** Call at end of input: throws CAPTURE_TRUNCATED if the input ended inside a record. */
  finish(): void {
    if (!this.sawInput) throw new CapsightError('EMPTY_INPUT', `${this.name}: empty input (0 bytes), not a capture`, 0);
    if (this.carryLen === 0) return;
    if (this.mode === Mode.Detect) {
      throw new CapsightError('NOT_A_CAPTURE', `${this.name}: not a pcap or pcapng capture (only ${this.carryLen} bytes: ${hex(this.carry, 0, this.carryLen)})`, 0);
    }
    const need = this.headerNeed();
    let what: string;
    if (this.mode === Mode.PcapHeader) what = 'the pcap file header';
    else if (this.mode === Mode.Pcap) what = 'a packet record';
    else what = 'a pcapng block';
    let detail: string;
    if (this.carryLen < need) detail = `${this.carryLen} of ${need} header bytes present`;
    else {
      const len = this.recordLength(this.carry, 0);
      detail = `${this.carryLen} of ${len} bytes present`;
    }
    throw new CapsightError('CAPTURE_TRUNCATED', `${this.name}: truncated: input ends inside ${what} at byte offset ${this.offset} (${detail})`, this.offset);
  }

  // ---- framing -------------------------------------------------------------------------------

  private ensureCarry(size: number): void {
    if (size <= this.carry.length) return;
    let cap = this.carry.length;
    while (cap < size) cap *= 2;
    const next = Buffer.alloc(cap);
    next.set(this.carry.subarray(0, this.carryLen), 0);
    this.carry = next;
  }

  /** Completes the record held in carry from the start of chunk. Returns bytes of chunk used. */
  private fillCarry(chunk: Uint8Array): number {
    let pos = 0;
    const need = this.headerNeed();
    if (this.carryLen < need) {
      const take = Math.min(need - this.carryLen, chunk.length);
      this.ensureCarry(this.carryLen + take);
      this.carry.set(chunk.subarray(0, take), this.carryLen);
      this.carryLen += take;
      pos = take;
      if (this.carryLen < need) return pos;
    }
    const len = this.recordLength(this.carry, 0);
    if (this.carryLen < len) {
      const take = Math.min(len - this.carryLen, chunk.length - pos);
      this.ensureCarry(len);
      this.carry.set(chunk.subarray(pos, pos + take), this.carryLen);
      this.carryLen += take;
      pos += take;
      if (this.carryLen < len) return pos;
    }
    this.carryLen = 0;
    this.consume(this.carry, 0, len);
    this.offset += len;
    return pos;
  }

  private headerNeed(): number {
    switch (this.mode) {
      case Mode.Detect:
        return 4;
      case Mode.PcapHeader:
        return PCAP_FILE_HEADER;
      case Mode.Pcap:
        return PCAP_RECORD_HEADER;
      default:
        return PCAPNG_MIN_BLOCK;
    }
  }

  /** Length of the record starting at b[o]; validates it (throws CAPTURE_CORRUPT). */
  private recordLength(b: Uint8Array, o: number): number {
    switch (this.mode) {
      case Mode.Detect:
        throw new Error('unreachable: detection happens before framing');
      case Mode.PcapHeader:
        return PCAP_FILE_HEADER;
      case Mode.Pcap: {
        const capLen = this.u32(b, o + 8, this.le);
        this.checkCapLen(capLen);
        return PCAP_RECORD_HEADER + capLen;
      }
      default:
        return this.blockLength(b, o);
    }
  }

  private checkCapLen(capLen: number): void {
    if (capLen > this.maxCapLen) {
      throw new CapsightError(
        'CAPTURE_CORRUPT',
        `${this.name}: corrupt packet record at byte offset ${this.offset}: captured length ${capLen} exceeds the maximum of ${this.maxCapLen}`,
        this.offset,
      );
    }
  }

  private blockLength(b: Uint8Array, o: number): number {
    const type = this.u32(b, o, true);
    let le = this.le;
    if (type === BT_SHB) {
      const bom = this.u32(b, o + 8, true);
      if (bom === BYTE_ORDER_MAGIC) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new CapsightError('CAPTURE_CORRUPT', `${this.name}: corrupt pcapng section header at byte offset ${this.offset}: bad byte-order magic ${hex(b, o + 8, 4)}`, this.offset);
    }
    const len = this.u32(b, o + 4, le);
    if (len < PCAPNG_MIN_BLOCK || len % 4 !== 0 || len > MAX_RECORD || (type === BT_SHB && len < 28)) {
      throw new CapsightError(
        'CAPTURE_CORRUPT',
        `${this.name}: corrupt pcapng block at byte offset ${this.offset}: block length ${len} is invalid (must be a multiple of 4, at least ${type === BT_SHB ? 28 : 12}, at most ${MAX_RECORD})`,
        this.offset,
      );
    }
    return len;
  }

  private u32(b: Uint8Array, o: number, le: boolean): number {
    return le ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0 : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  private u16(b: Uint8Array, o: number, le: boolean): number {
    return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
  }

  // ---- records -------------------------------------------------------------------------------

  private consume(b: Uint8Array, o: number, len: number): void {
    switch (this.mode) {
      case Mode.Detect:
        throw new Error('unreachable: detection happens before framing');
      case Mode.PcapHeader:
        this.pcapHeader(b, o);
        return;
      case Mode.Pcap:
        this.pcapRecord(b, o);
        return;
      default:
        this.pcapngBlock(b, o, len);
    }
  }

  private detect(b: Uint8Array, o: number): void {
    const m = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
    switch (m) {
      case 0xd4c3b2a1:
      case 0x4d3cb2a1:
        this.le = true;
        this.nanos = m === 0x4d3cb2a1;
        this.mode = Mode.PcapHeader;
        this.notes.format = 'pcap';
        break;
      case 0xa1b2c3d4:
      case 0xa1b23c4d:
        this.le = false;
        this.nanos = m === 0xa1b23c4d;
        this.mode = Mode.PcapHeader;
        this.notes.format = 'pcap';
        break;
      case BT_SHB:
        this.mode = Mode.Pcapng;
        this.notes.format = 'pcapng';
        break;
      default: {
        let hint = '';
        if (m === 0x34cdb2a1 || m === 0xa1b2cd34) hint = ' (modified "Kuznetsov" pcap is not supported)';
        else if (b[o] === 0x1f && b[o + 1] === 0x8b) hint = ' (gzip data: read it through a file path or stream source)';
        throw new CapsightError('NOT_A_CAPTURE', `${this.name}: not a pcap or pcapng capture (starts with bytes ${hex(b, o, 4)})${hint}`, 0);
      }
    }
  }

  private pcapHeader(b: Uint8Array, o: number): void {
    const major = this.u16(b, o + 4, this.le);
    const minor = this.u16(b, o + 6, this.le);
    if (major !== 2) {
      throw new CapsightError('UNSUPPORTED_VERSION', `${this.name}: unsupported pcap version ${major}.${minor} at byte offset 4 (only 2.x is defined)`, 4);
    }
    if (minor !== 4) this.note(`pcap: unusual version 2.${minor} (read as 2.4)`);
    const snapLen = this.u32(b, o + 16, this.le);
    const linkField = this.u32(b, o + 20, this.le);
    if ((linkField & 0x0fff0000) !== 0) this.note('pcap: reserved bits set in the link-type field (ignored)');
    this.linkType = linkField & 0xffff;
    this.maxCapLen = Math.min(MAX_RECORD, Math.max(PCAP_DEFAULT_MAX_CAPLEN, snapLen));
    this.mode = Mode.Pcap;
  }

  private pcapRecord(b: Uint8Array, o: number): void {
    const le = this.le;
    let sec = this.u32(b, o, le);
    let frac = this.u32(b, o + 4, le);
    const capLen = this.u32(b, o + 8, le);
    const origLen = this.u32(b, o + 12, le);
    if (this.nanos) {
      if (frac >= 1_000_000_000) {
        this.note('pcap: timestamp fraction >= 1 s (normalised)');
        sec += Math.floor(frac / 1_000_000_000);
        frac %= 1_000_000_000;
      }
    } else {
      if (frac >= 1_000_000) {
        this.note('pcap: timestamp fraction >= 1 s (normalised)');
        sec += Math.floor(frac / 1_000_000);
        frac %= 1_000_000;
      }
      frac *= 1000;
    }
    this.packets++;
    this.time[0] = sec;
    this.time[1] = frac;
    this.deliveredLength = PCAP_RECORD_HEADER + capLen;
    this.handler.packet(b, o + PCAP_RECORD_HEADER, capLen, origLen < capLen ? capLen : origLen, this.linkType, this.time);
  }

  /**
   * The pcap fast path: whole records inside one chunk, without going through the generic
   * framing switch. Returns the position of the first incomplete record.
   */
  private pcapRecords(b: Uint8Array, pos: number): number {
    const n = b.length;
    const le = this.le;
    const handler = this.handler;
    const linkType = this.linkType;
    const maxCap = this.maxCapLen;
    const nanos = this.nanos;
    const time = this.time;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    // this.offset and this.packets are updated per record, not once after the loop: V8 13 compiles
    // this loop on its first call, before code after the loop has ever run, and then left the
    // compiled loop at every chunk's end through a deoptimization (174 times per GB).
    while (n - pos >= PCAP_RECORD_HEADER) {
      // (A DataView read is one load in optimized code; four byte loads and shifts cost more.)
      let sec = dv.getUint32(pos, le);
      let frac = dv.getUint32(pos + 4, le);
      const capLen = dv.getUint32(pos + 8, le);
      const origLen = dv.getUint32(pos + 12, le);
      if (capLen > maxCap) this.checkCapLen(capLen);
      const end = pos + PCAP_RECORD_HEADER + capLen;
      if (end > n) break;
      if (nanos) {
        if (frac >= 1_000_000_000) {
          this.note('pcap: timestamp fraction >= 1 s (normalised)');
          sec += Math.floor(frac / 1_000_000_000);
          frac %= 1_000_000_000;
        }
      } else {
        if (frac >= 1_000_000) {
          this.note('pcap: timestamp fraction >= 1 s (normalised)');
          sec += Math.floor(frac / 1_000_000);
          frac %= 1_000_000;
        }
        frac *= 1000;
      }
      this.packets++;
      time[0] = sec;
      time[1] = frac;
      this.deliveredLength = end - pos;
      handler.packet(b, pos + PCAP_RECORD_HEADER, capLen, origLen < capLen ? capLen : origLen, linkType, time);
      this.offset += end - pos;
      pos = end;
    }
    return pos;
  }

  // ---- pcapng --------------------------------------------------------------------------------

  private corrupt(what: string): never {
    throw new CapsightError('CAPTURE_CORRUPT', `${this.name}: corrupt pcapng ${what} at byte offset ${this.offset}`, this.offset);
  }

  private pcapngBlock(b: Uint8Array, o: number, len: number): void {
    const type = this.u32(b, o, this.le);
    if (type === BT_SHB) {
      this.le = this.u32(b, o + 8, true) === BYTE_ORDER_MAGIC;
      const major = this.u16(b, o + 12, this.le);
      const minor = this.u16(b, o + 14, this.le);
      if (major !== 1 || minor !== 0) {
        throw new CapsightError('UNSUPPORTED_VERSION', `${this.name}: unsupported pcapng version ${major}.${minor} in the section header at byte offset ${this.offset} (only 1.0 is defined)`, this.offset);
      }
      this.ifaces = [];
    }
    if (this.u32(b, o + len - 4, this.le) !== len) this.corrupt(`block (type 0x${type.toString(16)}): trailing length differs from leading length ${len}`);
    this.deliveredLength = len;
    switch (type) {
      case BT_SHB:
        return;
      case BT_IDB:
        this.idb(b, o, len);
        return;
      case BT_EPB:
        this.epb(b, o, len);
        return;
      case BT_SPB:
        this.spb(b, o, len);
        return;
      case BT_OPB:
        this.opb(b, o, len);
        return;
      default:
      // Name resolution, statistics, custom, journal and unknown blocks: skipped by length.
    }
  }

  private idb(b: Uint8Array, o: number, len: number): void {
    if (len < 20) this.corrupt(`interface description block: length ${len} is below the minimum of 20`);
    const linkType = this.u16(b, o + 8, this.le);
    const snapLen = this.u32(b, o + 12, this.le);
    let units = 1_000_000n;
    let offsetSec = 0;
    let sawResol = false;
    let sawOffset = false;
    let p = o + 16;
    const end = o + len - 4;
    while (p + 4 <= end) {
      const code = this.u16(b, p, this.le);
      const olen = this.u16(b, p + 2, this.le);
      const vo = p + 4;
      if (code === 0) break;
      if (vo + olen > end) {
        this.note('pcapng: interface option runs past the end of its block (rest of options ignored)');
        break;
      }
      if (code === 9) {
        if (olen !== 1) this.note(`pcapng: if_tsresol option has length ${olen} (ignored)`);
        else if (sawResol) this.note('pcapng: if_tsresol given twice (first kept)');
        else {
          sawResol = true;
          const r = resolutionFromOption(b[vo]);
          if (r) units = r.units;
          else this.note(`pcapng: if_tsresol 0x${b[vo].toString(16)} is finer than supported (microseconds assumed)`);
        }
      } else if (code === 14) {
        if (olen !== 8) this.note(`pcapng: if_tsoffset option has length ${olen} (ignored)`);
        else if (sawOffset) this.note('pcapng: if_tsoffset given twice (first kept)');
        else {
          sawOffset = true;
          const lo = this.u32(b, vo + (this.le ? 0 : 4), this.le);
          const hi = this.u32(b, vo + (this.le ? 4 : 0), this.le) | 0; // signed
          offsetSec = hi * 4294967296 + lo;
        }
      }
      p = vo + ((olen + 3) & ~3);
    }
    this.ifaces.push({ linkType, snapLen, res: units === 1_000_000n && offsetSec === 0 ? DEFAULT_RES : makeResolution(units, offsetSec) });
  }

  private iface(id: number): PcapngInterface | null {
    const f = id < this.ifaces.length ? this.ifaces[id] : undefined;
    if (f) return f;
    this.note(`pcapng: packet refers to interface ${id}, which was not described (counted as unknown link type)`);
    return null;
  }

  private deliver(b: Uint8Array, dataOff: number, capLen: number, origLen: number, linkType: number): void {
    this.packets++;
    this.handler.packet(b, dataOff, capLen, origLen < capLen ? capLen : origLen, linkType, this.time);
  }

  private epb(b: Uint8Array, o: number, len: number): void {
    if (len < 32) this.corrupt(`enhanced packet block: length ${len} is below the minimum of 32`);
    const f = this.iface(this.u32(b, o + 8, this.le));
    const hi = this.u32(b, o + 12, this.le);
    const lo = this.u32(b, o + 16, this.le);
    let capLen = this.u32(b, o + 20, this.le);
    const origLen = this.u32(b, o + 24, this.le);
    if (capLen > len - 32) {
      this.note('pcapng: captured length exceeds its block (clipped)');
      capLen = len - 32;
    }
    convertTimestamp(hi, lo, f ? f.res : DEFAULT_RES);
    this.time[0] = tsOut.sec;
    this.time[1] = tsOut.nsec;
    this.deliver(b, o + 28, capLen, origLen, f ? f.linkType : LINKTYPE_UNDEFINED_INTERFACE);
  }

  private opb(b: Uint8Array, o: number, len: number): void {
    if (len < 32) this.corrupt(`packet block: length ${len} is below the minimum of 32`);
    const f = this.iface(this.u16(b, o + 8, this.le));
    const hi = this.u32(b, o + 12, this.le);
    const lo = this.u32(b, o + 16, this.le);
    let capLen = this.u32(b, o + 20, this.le);
    const origLen = this.u32(b, o + 24, this.le);
    if (capLen > len - 32) {
      this.note('pcapng: captured length exceeds its block (clipped)');
      capLen = len - 32;
    }
    convertTimestamp(hi, lo, f ? f.res : DEFAULT_RES);
    this.time[0] = tsOut.sec;
    this.time[1] = tsOut.nsec;
    this.deliver(b, o + 28, capLen, origLen, f ? f.linkType : LINKTYPE_UNDEFINED_INTERFACE);
  }

  /** Simple packet block: no timestamp (the previous packet's time is used) and interface 0. */
  private spb(b: Uint8Array, o: number, len: number): void {
    if (len < 16) this.corrupt(`simple packet block: length ${len} is below the minimum of 16`);
    const f = this.iface(0);
    const origLen = this.u32(b, o + 8, this.le);
    let capLen = len - 16;
    if (f && f.snapLen > 0 && capLen > f.snapLen) capLen = f.snapLen;
    if (capLen > origLen) capLen = origLen;
    this.deliver(b, o + 12, capLen, origLen, f ? f.linkType : LINKTYPE_UNDEFINED_INTERFACE);
  }
}
