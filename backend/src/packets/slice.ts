import type { ByteSource } from './byte-source';
import { GROUP_PACKETS, NO_FLOW, type IndexGroup, type PacketIndex } from './packet-index';

/**
 * Slices a kept capture: the records of the selected flows' packets, copied byte for byte from the
 * capture (timestamps, lengths, link types, snap lengths and pcapng blocks as they were), in
 * capture order. A pcap stays pcap (its file header first); a pcapng keeps its section headers
 * and interface descriptions (so interface ids still point where they did) and drops statistics,
 * name-resolution and decryption-secret blocks, which speak for the whole capture.
 * Several captures go into one pcapng, a section each (`pcapngSection`: a pcap's records become
 * enhanced packet blocks with its link type, snap length and time resolution).
 */
export interface SliceInput {
  captureId: string;
  source: ByteSource;
  index: PacketIndex;
  /** Selected flows: flows[id] === 1. */
  flows: Uint8Array;
  /** Packets with time in [fromMs, toMs) (epoch ms; a packet's time floored to the millisecond). */
  fromMs: number;
  toMs: number;
  /** Size of the kept (decompressed) capture when known: where a capture without packets ends. */
  captureBytes: number | null;
}

export interface SlicePlan {
  packets: number;
  /** Bytes of the selected records (the output adds headers). */
  recordBytes: number;
}

/** Most output bytes read and handed on at once. */
const BATCH_BYTES = 8 << 20;
/** A group's selected records are read as one span when it holds this many runs or more and is no longer than BATCH_BYTES. */
const SPAN_RUNS = 4;

const SHB = 0x0a0d0d0a;
const IDB = 1;

interface Step {
  /** Bytes [gap[0], gap[1]) between the previous group and this one (file header, pcapng blocks). */
  gap: [number, number] | null;
  /** Selected records as [offset, length] pairs, adjacent records merged. */
  runs: number[];
  packets: number;
}

function selectedBounds(flows: Uint8Array): [number, number] {
  let lo = 0;
  while (lo < flows.length && flows[lo] === 0) lo++;
  let hi = flows.length - 1;
  while (hi >= 0 && flows[hi] === 0) hi--;
  return [lo, hi];
}

/** The index walked group by group: the gaps between groups and each group's selected records. */
async function* walk(input: SliceInput): AsyncGenerator<Step> {
  const { flows, fromMs, toMs, index } = input;
  const [lo, hi] = selectedBounds(flows);
  const buf = new Uint32Array(GROUP_PACKETS * 3);
  let prevEnd = 0;
  for (const g of index.groups) {
    const gap: [number, number] | null = g.offset > prevEnd ? [prevEnd, g.offset] : null;
    prevEnd = g.offset + g.bytes;
    if (skip(g, fromMs, toMs, lo, hi)) {
      if (gap) yield { gap, runs: [], packets: 0 };
      continue;
    }
    const e = await index.entries(g, buf);
    const deltas = new Int32Array(e.buffer, e.byteOffset, e.length);
    const runs: number[] = [];
    let packets = 0;
    let off = g.offset;
    for (let i = 0; i < g.count * 3; i += 3) {
      const flow = e[i];
      const len = e[i + 1];
      const ms = g.baseMs + deltas[i + 2];
      if (flow !== NO_FLOW && flow < flows.length && flows[flow] === 1 && ms >= fromMs && ms < toMs) {
        packets++;
        const n = runs.length;
        // Adjacent records merge into one run up to a batch's size, so a run always holds whole records.
        if (n > 0 && runs[n - 2] + runs[n - 1] === off && runs[n - 1] + len <= BATCH_BYTES) runs[n - 1] += len;
        else runs.push(off, len);
      }
      off += len;
    }
    if (gap || packets > 0) yield { gap, runs, packets };
  }
}

function skip(g: IndexGroup, fromMs: number, toMs: number, lo: number, hi: number): boolean {
  return g.maxMs < fromMs || g.minMs >= toMs || g.maxFlow < lo || g.minFlow > hi;
}

/** Packets and record bytes a slice will hold, from the index alone. */
export async function planSlice(input: SliceInput): Promise<SlicePlan> {
  let packets = 0;
  let recordBytes = 0;
  for await (const step of walk(input)) {
    packets += step.packets;
    for (let i = 1; i < step.runs.length; i += 2) recordBytes += step.runs[i];
  }
  return { packets, recordBytes };
}

/** A slice's buffer for span reads, reused from group to group (grown to the longest span). */
interface SpanBuffer {
  buf: Buffer;
}

/** The selected records, in batches of at most BATCH_BYTES (a longer record alone). */
async function* records(source: ByteSource, runs: number[], spans: SpanBuffer): AsyncGenerator<Uint8Array> {
  let i = 0;
  while (i < runs.length) {
    // Records of this batch: runs[i..j) (more than BATCH_BYTES only when one record is larger).
    let total = 0;
    let j = i;
    while (j < runs.length && (j === i || total + runs[j + 1] <= BATCH_BYTES)) {
      total += runs[j + 1];
      j += 2;
    }
    const out = Buffer.allocUnsafe(total);
    const spanStart = runs[i];
    const spanEnd = runs[j - 2] + runs[j - 1];
    if ((j - i) / 2 >= SPAN_RUNS && spanEnd - spanStart <= BATCH_BYTES) {
      // Many runs close together: one read of the span, the runs copied out of it.
      if (spans.buf.length < spanEnd - spanStart) spans.buf = Buffer.allocUnsafe(Math.max(BATCH_BYTES, spanEnd - spanStart));
      const span = spans.buf;
      await source.read(spanStart, spanEnd - spanStart, span);
      let at = 0;
      for (let k = i; k < j; k += 2) {
        span.copy(out, at, runs[k] - spanStart, runs[k] - spanStart + runs[k + 1]);
        at += runs[k + 1];
      }
    } else {
      let at = 0;
      for (let k = i; k < j; k += 2) {
        await source.read(runs[k], runs[k + 1], out.subarray(at, at + runs[k + 1]));
        at += runs[k + 1];
      }
    }
    yield out;
    i = j;
  }
}

/** The section header and interface description blocks found in [from, to) of a pcapng. */
async function* headerBlocks(source: ByteSource, from: number, to: number): AsyncGenerator<Uint8Array> {
  const head = Buffer.alloc(12);
  let le = true;
  let p = from;
  while (p + 12 <= to) {
    await source.read(p, 12, head);
    const type = head.readUInt32LE(0);
    if (type === SHB) le = head.readUInt32LE(8) === 0x1a2b3c4d;
    const blockType = le ? type : head.readUInt32BE(0);
    const len = le ? head.readUInt32LE(4) : head.readUInt32BE(4);
    if (len < 12 || p + len > to) break;
    if (blockType === SHB || blockType === IDB) {
      const block = Buffer.allocUnsafe(len);
      await source.read(p, len, block);
      yield block;
    }
    p += len;
  }
}

/** Where a capture without any packet ends, for its headers. */
function headerEnd(input: SliceInput, format: 'pcap' | 'pcapng'): number {
  if (format === 'pcap') return 24;
  return input.captureBytes ?? 0;
}

/** The slice in the capture's own format. */
export async function* sliceNative(input: SliceInput, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const format = input.index.meta.format;
  const spans: SpanBuffer = { buf: Buffer.alloc(0) };
  let sawGroup = false;
  for await (const step of walk(input)) {
    if (signal?.aborted) return;
    if (step.gap) {
      sawGroup = true;
      if (format === 'pcap') {
        if (step.gap[0] === 0) {
          const header = Buffer.allocUnsafe(24);
          await input.source.read(0, 24, header);
          yield header;
        }
      } else yield* headerBlocks(input.source, step.gap[0], step.gap[1]);
    }
    yield* records(input.source, step.runs, spans);
  }
  if (!sawGroup) {
    // No packets at all: the headers alone (a valid, empty capture).
    const end = headerEnd(input, format);
    if (format === 'pcap') {
      const header = Buffer.allocUnsafe(24);
      await input.source.read(0, 24, header);
      yield header;
    } else yield* headerBlocks(input.source, 0, end);
  }
}

/** pcap file header facts needed to restate its records as pcapng blocks. */
interface PcapHeader {
  le: boolean;
  nanos: boolean;
  snapLen: number;
  linkType: number;
}

function readPcapHeader(b: Buffer): PcapHeader {
  const magic = b.readUInt32BE(0);
  const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
  const nanos = magic === 0x4d3cb2a1 || magic === 0xa1b23c4d;
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  return { le, nanos, snapLen: u32(16), linkType: u32(20) & 0xffff };
}

/** A section header and one interface (the pcap's link type, snap length and time resolution), little-endian. */
function sectionFor(h: PcapHeader): Buffer {
  const shb = Buffer.alloc(28);
  shb.writeUInt32LE(SHB, 0);
  shb.writeUInt32LE(28, 4);
  shb.writeUInt32LE(0x1a2b3c4d, 8);
  shb.writeUInt16LE(1, 12);
  shb.writeUInt16LE(0, 14);
  shb.writeInt32LE(-1, 16); // section length unknown
  shb.writeInt32LE(-1, 20);
  shb.writeUInt32LE(28, 24);
  const idb = Buffer.alloc(32);
  idb.writeUInt32LE(IDB, 0);
  idb.writeUInt32LE(32, 4);
  idb.writeUInt16LE(h.linkType, 8);
  idb.writeUInt32LE(h.snapLen, 12);
  idb.writeUInt16LE(9, 16); // if_tsresol
  idb.writeUInt16LE(1, 18);
  idb.writeUInt8(h.nanos ? 9 : 6, 20);
  idb.writeUInt32LE(0, 24); // opt_endofopt
  idb.writeUInt32LE(32, 28);
  return Buffer.concat([shb, idb]);
}

/** pcap records -> enhanced packet blocks on interface 0 (packet bytes unchanged). */
function pcapRecordsAsEpbs(records: Uint8Array, h: PcapHeader): Buffer {
  const b = Buffer.from(records.buffer, records.byteOffset, records.byteLength);
  const u32 = (o: number): number => (h.le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  let size = 0;
  for (let p = 0; p < b.length; p += 16 + u32(p + 8)) size += 32 + ((u32(p + 8) + 3) & ~3);
  const out = Buffer.alloc(size);
  let o = 0;
  for (let p = 0; p < b.length; ) {
    const sec = u32(p);
    const frac = u32(p + 4);
    const capLen = u32(p + 8);
    const origLen = u32(p + 12);
    const ts = BigInt(sec) * (h.nanos ? 1_000_000_000n : 1_000_000n) + BigInt(frac);
    const total = 32 + ((capLen + 3) & ~3);
    out.writeUInt32LE(6, o);
    out.writeUInt32LE(total, o + 4);
    out.writeUInt32LE(0, o + 8);
    out.writeUInt32LE(Number(ts >> 32n), o + 12);
    out.writeUInt32LE(Number(ts & 0xffffffffn), o + 16);
    out.writeUInt32LE(capLen, o + 20);
    out.writeUInt32LE(origLen, o + 24);
    b.copy(out, o + 28, p + 16, p + 16 + capLen);
    out.writeUInt32LE(total, o + total - 4);
    o += total;
    p += 16 + capLen;
  }
  return out;
}

/** The slice as pcapng section(s): a pcapng capture as it is, a pcap restated (see above). */
export async function* slicePcapngSection(input: SliceInput, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  if (input.index.meta.format === 'pcapng') {
    yield* sliceNative(input, signal);
    return;
  }
  let header: PcapHeader | null = null;
  for await (const chunk of sliceNative(input, signal)) {
    if (header === null) {
      header = readPcapHeader(Buffer.from(chunk.buffer, chunk.byteOffset, 24));
      yield sectionFor(header);
      if (chunk.length > 24) yield pcapRecordsAsEpbs(chunk.subarray(24), header);
      continue;
    }
    yield pcapRecordsAsEpbs(chunk, header);
  }
}
