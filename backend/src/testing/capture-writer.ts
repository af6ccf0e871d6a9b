/**
 * Small writers for hand-made captures in tests: classic pcap (either byte order, us or ns; in
 * synth/frames.ts, shared with the scenario generator) and pcapng blocks (either byte order).
 * Facts from the formats' specifications; nothing copied.
 */
export { ipv4Frame, pcapFile, type PcapPacket } from '../synth/frames';

export class PcapngWriter {
  private parts: Buffer[] = [];
  constructor(private le = true) {}

  private w32(b: Buffer, v: number, o: number): void {
    if (this.le) b.writeUInt32LE(v >>> 0, o);
    else b.writeUInt32BE(v >>> 0, o);
  }
  private w16(b: Buffer, v: number, o: number): void {
    if (this.le) b.writeUInt16LE(v, o);
    else b.writeUInt16BE(v, o);
  }

  private block(type: number, body: Buffer): this {
    const padded = Buffer.alloc((body.length + 3) & ~3);
    body.copy(padded);
    const total = 12 + padded.length;
    const b = Buffer.alloc(total);
    this.w32(b, type, 0);
    this.w32(b, total, 4);
    padded.copy(b, 8);
    this.w32(b, total, total - 4);
    this.parts.push(b);
    return this;
  }

  option(code: number, value: Buffer): Buffer {
    const b = Buffer.alloc(4 + ((value.length + 3) & ~3));
    this.w16(b, code, 0);
    this.w16(b, value.length, 2);
    value.copy(b, 4);
    return b;
  }

  section(le = this.le): this {
    this.le = le;
    const body = Buffer.alloc(16);
    this.w32(body, 0x1a2b3c4d, 0);
    this.w16(body, 1, 4);
    this.w16(body, 0, 6);
    body.writeInt32LE(-1, 8);
    body.writeInt32LE(-1, 12);
    return this.block(0x0a0d0d0a, body);
  }

  /** Interface with link type, optional if_tsresol byte and if_tsoffset seconds. */
  iface(linkType: number, tsresol?: number, tsoffset?: number): this {
    const head = Buffer.alloc(8);
    this.w16(head, linkType, 0);
    this.w32(head, 0, 4);
    const opts: Buffer[] = [];
    if (tsresol !== undefined) opts.push(this.option(9, Buffer.from([tsresol])));
    if (tsoffset !== undefined) {
      const v = Buffer.alloc(8);
      if (this.le) v.writeBigInt64LE(BigInt(tsoffset));
      else v.writeBigInt64BE(BigInt(tsoffset));
      opts.push(this.option(14, v));
    }
    if (opts.length) opts.push(Buffer.alloc(4));
    return this.block(1, Buffer.concat([head, ...opts]));
  }

  epb(iface: number, ts: bigint, data: Uint8Array, origLen = data.length): this {
    const h = Buffer.alloc(20);
    this.w32(h, iface, 0);
    this.w32(h, Number(ts >> 32n), 4);
    this.w32(h, Number(ts & 0xffffffffn), 8);
    this.w32(h, data.length, 12);
    this.w32(h, origLen, 16);
    return this.block(6, Buffer.concat([h, Buffer.from(data)]));
  }

  opb(iface: number, ts: bigint, data: Uint8Array): this {
    const h = Buffer.alloc(20);
    this.w16(h, iface, 0);
    this.w32(h, Number(ts >> 32n), 4);
    this.w32(h, Number(ts & 0xffffffffn), 8);
    this.w32(h, data.length, 12);
    this.w32(h, data.length, 16);
    return this.block(2, Buffer.concat([h, Buffer.from(data)]));
  }

  spb(data: Uint8Array, origLen = data.length): this {
    const h = Buffer.alloc(4);
    this.w32(h, origLen, 0);
    return this.block(3, Buffer.concat([h, Buffer.from(data)]));
  }

  custom(type: number, body: Buffer): this {
    return this.block(type, body);
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}
