import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

/**
 * The packet index of one kept capture: where each packet's record lies in the capture's
 * (decompressed) bytes and which flow it belongs to, so a slice reads only what it needs.
 *
 * File layout (little-endian, written front to back while the capture is ingested):
 *   entries   per packet 3 × u32: flow id (NO_FLOW: in no flow), record length, milliseconds
 *             from its group's base time (signed)
 *   groups    per group GROUP_FIELDS × f64 (see IndexGroup): runs of at most GROUP_PACKETS packets
 *             whose records follow each other without a gap; a slice skips a group by its time
 *             span and flow-id range without reading its entries
 *   trailer   TRAILER_BYTES: magic, version, packets, groups, flows, format, compressed
 * 12 bytes per packet: about 1.7 % of a capture of 700-byte packets, 15 % of one of 80-byte scans.
 */
export const NO_FLOW = 0xffffffff;
const ENTRY_WORDS = 3;
export const ENTRY_BYTES = ENTRY_WORDS * 4;
export const GROUP_PACKETS = 4096;
const GROUP_FIELDS = 9;
const TRAILER_BYTES = 64;
const MAGIC = 0x49505343; // "CSPI"
const VERSION = 1;
/** Entries buffered before a write. */
const FLUSH_ENTRIES = 65536;
const MAX_DELTA_MS = 0x7fffffff;

export interface IndexGroup {
  /** Ordinal of the group's first packet (its entries start at firstPacket × ENTRY_BYTES). */
  firstPacket: number;
  count: number;
  /** Offset of the first record in the capture's bytes; the others follow without a gap. */
  offset: number;
  /** Bytes of the group's records. */
  bytes: number;
  /** Base of the entries' millisecond deltas, and the time span of the group's packets (epoch ms, floored). */
  baseMs: number;
  minMs: number;
  maxMs: number;
  /** Smallest and largest flow id of the group's packets (NO_FLOW and -1 when none is in a flow). */
  minFlow: number;
  maxFlow: number;
}

export interface IndexMeta {
  packets: number;
  flows: number;
  format: 'pcap' | 'pcapng';
  compressed: boolean;
}

/** Writes an index while packets arrive (bounded memory: entries are flushed in blocks). */
export class PacketIndexWriter {
  private readonly fd: number;
  private readonly buf = new Uint32Array(FLUSH_ENTRIES * ENTRY_WORDS);
  private readonly deltas = new Int32Array(this.buf.buffer);
  private fill = 0;
  private packets = 0;
  private readonly groups: number[] = [];
  private g: IndexGroup | null = null;
  private closed = false;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w', 0o600);
  }

  /** One packet: its record's place, its flow (-1: none), its time (seconds, nanoseconds). */
  add(offset: number, length: number, flow: number, sec: number, ns: number): void {
    const ms = sec * 1000 + Math.floor(ns / 1e6);
    let g = this.g;
    if (g === null || g.count === GROUP_PACKETS || g.offset + g.bytes !== offset || Math.abs(ms - g.baseMs) > MAX_DELTA_MS) {
      this.endGroup();
      g = this.g = { firstPacket: this.packets, count: 0, offset, bytes: 0, baseMs: ms, minMs: ms, maxMs: ms, minFlow: NO_FLOW, maxFlow: -1 };
    }
    g.count++;
    g.bytes += length;
    if (ms < g.minMs) g.minMs = ms;
    else if (ms > g.maxMs) g.maxMs = ms;
    if (flow >= 0) {
      if (flow < g.minFlow) g.minFlow = flow;
      if (flow > g.maxFlow) g.maxFlow = flow;
    }
    const i = this.fill * ENTRY_WORDS;
    this.buf[i] = flow >= 0 ? flow : NO_FLOW;
    this.buf[i + 1] = length;
    this.deltas[i + 2] = ms - g.baseMs;
    this.packets++;
    if (++this.fill === FLUSH_ENTRIES) this.flush();
  }

  private endGroup(): void {
    const g = this.g;
    if (g === null) return;
    this.groups.push(g.firstPacket, g.count, g.offset, g.bytes, g.baseMs, g.minMs, g.maxMs, g.minFlow, g.maxFlow);
    this.g = null;
  }

  private flush(): void {
    if (this.fill === 0) return;
    writeAll(this.fd, new Uint8Array(this.buf.buffer, 0, this.fill * ENTRY_BYTES));
    this.fill = 0;
  }

  finish(meta: Omit<IndexMeta, 'packets'>): void {
    this.flush();
    this.endGroup();
    writeAll(this.fd, new Uint8Array(Float64Array.from(this.groups).buffer));
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(MAGIC, 0);
    trailer.writeUInt32LE(VERSION, 4);
    trailer.writeDoubleLE(this.packets, 8);
    trailer.writeDoubleLE(this.groups.length / GROUP_FIELDS, 16);
    trailer.writeDoubleLE(meta.flows, 24);
    trailer.writeUInt32LE(meta.format === 'pcapng' ? 1 : 0, 32);
    trailer.writeUInt32LE(meta.compressed ? 1 : 0, 36);
    writeAll(this.fd, trailer);
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
}

/** A finished index, open for slicing. */
export class PacketIndex {
  private constructor(
    private readonly file: FileHandle,
    readonly meta: IndexMeta,
    readonly groups: IndexGroup[],
  ) {}

  static async open(path: string): Promise<PacketIndex> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      const trailer = Buffer.alloc(TRAILER_BYTES);
      if (size < TRAILER_BYTES) throw damaged(path, 'shorter than its trailer');
      await file.read(trailer, 0, TRAILER_BYTES, size - TRAILER_BYTES);
      if (trailer.readUInt32LE(0) !== MAGIC || trailer.readUInt32LE(4) !== VERSION) throw damaged(path, 'unknown magic or version');
      const packets = trailer.readDoubleLE(8);
      const groupCount = trailer.readDoubleLE(16);
      const groupBytes = groupCount * GROUP_FIELDS * 8;
      if (packets * ENTRY_BYTES + groupBytes + TRAILER_BYTES !== size) throw damaged(path, 'sizes do not add up');
      const raw = new Float64Array(groupCount * GROUP_FIELDS);
      await file.read(new Uint8Array(raw.buffer), 0, groupBytes, packets * ENTRY_BYTES);
      const groups: IndexGroup[] = [];
      for (let i = 0; i < raw.length; i += GROUP_FIELDS) {
        groups.push({ firstPacket: raw[i], count: raw[i + 1], offset: raw[i + 2], bytes: raw[i + 3], baseMs: raw[i + 4], minMs: raw[i + 5], maxMs: raw[i + 6], minFlow: raw[i + 7], maxFlow: raw[i + 8] });
      }
      const meta: IndexMeta = { packets, flows: trailer.readDoubleLE(24), format: trailer.readUInt32LE(32) === 1 ? 'pcapng' : 'pcap', compressed: trailer.readUInt32LE(36) === 1 };
      return new PacketIndex(file, meta, groups);
    } catch (err) {
      await file.close();
      throw err;
    }
  }

  /** The group's entries ([flow, length, delta ms] per packet; read deltas through an Int32Array view). */
  async entries(g: IndexGroup, into: Uint32Array): Promise<Uint32Array> {
    const words = g.count * ENTRY_WORDS;
    const out = into.length >= words ? into.subarray(0, words) : new Uint32Array(words);
    await this.file.read(new Uint8Array(out.buffer, out.byteOffset, words * 4), 0, words * 4, g.firstPacket * ENTRY_BYTES);
    return out;
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}

function damaged(path: string, why: string): Error {
  return new Error(`packet index ${path} is damaged (${why})`);
}
