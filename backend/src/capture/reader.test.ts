import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { CapsightError } from '../errors';
import { ipv4Frame, pcapFile, PcapngWriter } from '../testing/capture-writer';
import { readCapture } from './source';
import type { PacketHandler } from './types';

interface Seen {
  len: number;
  orig: number;
  sec: number;
  nsec: number;
  lt: number;
  first: number;
}

function collector(): PacketHandler & { seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    packet(data, off, capLen, origLen, linkType, time) {
      seen.push({ len: capLen, orig: origLen, sec: time[0], nsec: time[1], lt: linkType, first: data[off] });
    },
  };
}

const frame = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1234, dport: 53 });

async function read(buf: Buffer): Promise<{ seen: Seen[]; result: Awaited<ReturnType<typeof readCapture>> }> {
  const h = collector();
  const result = await readCapture(Readable.from([buf]), h, { name: 'test.pcap' });
  return { seen: h.seen, result };
}

describe('pcap', () => {
  it.each([
    ['little-endian microseconds', true, false],
    ['big-endian microseconds', false, false],
    ['little-endian nanoseconds', true, true],
    ['big-endian nanoseconds', false, true],
  ])('%s: exact timestamps and lengths', async (_name, le, nanos) => {
    const buf = pcapFile({ le, nanos, linkType: 1 }, [
      { sec: 1_700_000_000, frac: nanos ? 123_456_789 : 123_456, data: frame },
      { sec: 4_294_967_295, frac: nanos ? 999_999_999 : 999_999, data: frame.subarray(0, 30), origLen: frame.length },
    ]);
    const { seen, result } = await read(buf);
    expect(result.format).toBe('pcap');
    expect(result.damage).toBeNull();
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ sec: 1_700_000_000, nsec: nanos ? 123_456_789 : 123_456_000, len: frame.length, orig: frame.length, lt: 1 });
    // Snaplen truncation: captured 30 bytes, the original length still counts.
    expect(seen[1]).toMatchObject({ sec: 4_294_967_295, nsec: nanos ? 999_999_999 : 999_999_000, len: 30, orig: frame.length });
  });

  it('rejects a file that is not a capture, naming the file and its first bytes', async () => {
    const h = collector();
    await expect(readCapture(Readable.from([Buffer.from('<!DOCTYPE html><html>')]), h, { name: 'page.html' })).rejects.toThrow(
      /page\.html: not a pcap or pcapng capture \(starts with bytes 3c 21 44 4f\)/,
    );
  });

  it('rejects empty input', async () => {
    const h = collector();
    await expect(readCapture(Readable.from([]), h, { name: 'empty.pcap' })).rejects.toMatchObject({ code: 'EMPTY_INPUT' });
  });

  it('reports a file cut inside the header with the offset', async () => {
    const buf = pcapFile({}, []).subarray(0, 23);
    const { result } = await read(buf);
    expect(result.damage?.code).toBe('CAPTURE_TRUNCATED');
    expect(result.damage?.message).toMatch(/test\.pcap: truncated: input ends inside the pcap file header at byte offset 0 \(23 of 24/);
  });

  it('keeps packets before a record cut short, and names the offset of the cut record', async () => {
    const buf = pcapFile({}, [{ sec: 1, frac: 0, data: frame }, { sec: 2, frac: 0, data: frame }]);
    const cut = buf.subarray(0, buf.length - 5);
    const { seen, result } = await read(cut);
    expect(seen).toHaveLength(1);
    const secondRecord = 24 + 16 + frame.length;
    expect(result.damage).toBeInstanceOf(CapsightError);
    expect(result.damage?.offset).toBe(secondRecord);
    expect(result.damage?.message).toContain(`at byte offset ${secondRecord}`);
  });

  it('stops at an absurd captured length (corruption) without reading further', async () => {
    const buf = pcapFile({}, [{ sec: 1, frac: 0, data: frame }, { sec: 2, frac: 0, data: frame }]);
    buf.writeUInt32LE(0xfffffff0, 24 + 16 + frame.length + 8);
    const { seen, result } = await read(buf);
    expect(seen).toHaveLength(1);
    expect(result.damage?.code).toBe('CAPTURE_CORRUPT');
    expect(result.damage?.message).toMatch(/captured length 4294967280 exceeds the maximum of 262144/);
  });

  it('rejects an unknown major version', async () => {
    const buf = pcapFile({}, []);
    buf.writeUInt16LE(1, 4);
    await expect(read(buf)).rejects.toMatchObject({ code: 'UNSUPPORTED_VERSION' });
  });

  it('reads gzip-compressed captures by magic, whatever the name', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-'));
    const file = path.join(dir, 'plain-name.pcap');
    fs.writeFileSync(file, zlib.gzipSync(pcapFile({}, [{ sec: 5, frac: 1, data: frame }])));
    const h = collector();
    const result = await readCapture(file, h);
    expect(result.compressed).toBe(true);
    expect(h.seen).toHaveLength(1);
    fs.rmSync(dir, { recursive: true });
  });

  it('reports a truncated gzip stream as damage', async () => {
    const gz = zlib.gzipSync(pcapFile({}, [{ sec: 5, frac: 1, data: frame }, { sec: 6, frac: 1, data: frame }]));
    const { result } = await read(gz.subarray(0, gz.length - 12));
    expect(result.damage?.code).toBe('CAPTURE_TRUNCATED');
  });

  it('names a missing file', async () => {
    await expect(readCapture('/nonexistent/x.pcap', collector())).rejects.toThrow('/nonexistent/x.pcap: cannot read: no such file');
  });
});

describe('pcapng', () => {
  it('reads sections of both byte orders, several interfaces, tsresol and tsoffset, EPB/SPB/OPB, skips other blocks', async () => {
    const w = new PcapngWriter(true)
      .section(true)
      .iface(1) // microseconds
      .iface(101, 9) // raw IP, nanoseconds
      .iface(1, 0x80 | 10, 100) // 2^-10 s units, +100 s offset
      .epb(0, 1_700_000_000_123_456n, frame)
      .epb(1, 1_700_000_000_987_654_321n, frame.subarray(14))
      .epb(2, 1024n * 5n + 512n, frame)
      .custom(0x00000bad, Buffer.from('skip me'))
      .spb(frame)
      .section(false) // a second section, big-endian, with its own interfaces
      .iface(228)
      .opb(0, 42_000_001n, frame.subarray(14));
    const { seen, result } = await read(w.build());
    expect(result.format).toBe('pcapng');
    expect(result.damage).toBeNull();
    expect(seen.map((s) => [s.lt, s.sec, s.nsec])).toEqual([
      [1, 1_700_000_000, 123_456_000],
      [101, 1_700_000_000, 987_654_321],
      [1, 105, 500_000_000],
      [1, 105, 500_000_000], // simple packet block: interface 0, previous packet's time
      [228, 42, 1000],
    ]);
    expect(seen[1].first).toBe(0x45);
  });

  it('counts a packet on an undescribed interface instead of failing', async () => {
    const w = new PcapngWriter().section().epb(3, 1n, frame);
    const { seen, result } = await read(w.build());
    expect(seen).toHaveLength(1);
    expect(seen[0].lt).toBe(-1);
    expect([...result.problems.keys()].join()).toMatch(/interface 3/);
  });

  it('reports a block length that is not a multiple of 4', async () => {
    const buf = new PcapngWriter().section().iface(1).epb(0, 1n, frame).build();
    const epbOffset = 28 + 20;
    buf.writeUInt32LE(45, epbOffset + 4);
    const { result } = await read(buf);
    expect(result.damage?.code).toBe('CAPTURE_CORRUPT');
    expect(result.damage?.message).toContain(`at byte offset ${epbOffset}: block length 45 is invalid`);
  });
});
