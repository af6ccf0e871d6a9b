import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { analyzeCapture } from '../flows';
import { generated } from '../testing/sidecar';
import { GzipError, gunzipMembers } from './gunzip';

async function inflateAll(input: Buffer, chunk = 65536): Promise<{ out: Buffer; trailingGarbage: number; error: GzipError | null }> {
  const notes = { trailingGarbage: 0 };
  const parts: Buffer[] = [];
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < input.length; i += chunk) yield input.subarray(i, i + chunk);
  }
  let error: GzipError | null = null;
  try {
    for await (const c of gunzipMembers(chunks(), notes)) parts.push(Buffer.from(c));
  } catch (err) {
    if (!(err instanceof GzipError)) throw err;
    error = err;
  }
  return { out: Buffer.concat(parts), trailingGarbage: notes.trailingGarbage, error };
}

/** A gzip member with the optional header fields set: extra field, file name, comment, header CRC. */
function withHeaderFields(member: Buffer): Buffer {
  const header = Buffer.from(member.subarray(0, 10));
  header[3] = 0x04 | 0x08 | 0x10 | 0x02;
  const extra = Buffer.from([4, 0, 1, 2, 3, 4]);
  return Buffer.concat([header, extra, Buffer.from('capture.pcap\0comment\0'), Buffer.from([0xab, 0xcd]), member.subarray(10)]);
}

describe('gzip input, member by member', () => {
  const data = generated({ bytes: 600_000, seed: 12 });
  const a = data.subarray(0, 250_000);
  const b = data.subarray(250_000);

  it('reads every member of a multi-member file, in any chunking, with optional header fields', async () => {
    const file = Buffer.concat([zlib.gzipSync(a), withHeaderFields(zlib.gzipSync(b))]);
    for (const chunk of [1, 7, 16_384, 1 << 20]) {
      const r = chunk === 1 ? await inflateAll(file.subarray(0, 4000), 1) : await inflateAll(file, chunk);
      if (chunk === 1) {
        expect(r.error?.kind).toBe('truncated');
        expect(data.subarray(0, r.out.length).equals(r.out)).toBe(true);
        continue;
      }
      expect(r).toMatchObject({ trailingGarbage: 0, error: null });
      expect(r.out.equals(data)).toBe(true);
    }
  });

  it.each([
    ['text', Buffer.from('garbage after the member\n')],
    ['a broken member header', Buffer.from([0x1f, 0x8b, 1, 2, 3])],
    ['a gzip magic alone', Buffer.from([0x1f, 0x8b])],
  ])('keeps every byte of the last member when %s follows it, and reports the rest as trailing garbage', async (_what, tail) => {
    const r = await inflateAll(Buffer.concat([zlib.gzipSync(a), zlib.gzipSync(b), tail]), 3_434);
    expect(r.error).toBeNull();
    expect(r.out.equals(data)).toBe(true);
    expect(r.trailingGarbage).toBe(tail.length);
  });

  it('stops with "truncated" inside a member and "corrupt" on a bad CRC, after the bytes it could read', async () => {
    const member = zlib.gzipSync(data);
    const cut = await inflateAll(member.subarray(0, member.length - 100));
    expect(cut.error).toMatchObject({ kind: 'truncated' });
    expect(data.subarray(0, cut.out.length).equals(cut.out)).toBe(true);
    const bad = Buffer.from(member);
    bad.writeUInt32LE(bad.readUInt32LE(bad.length - 8) ^ 1, bad.length - 8);
    const crc = await inflateAll(bad);
    expect(crc.out.equals(data)).toBe(true);
    if ((zlib as unknown as { crc32?: unknown }).crc32) expect(crc.error).toEqual(new GzipError('gzip member fails its CRC-32 check', 'corrupt'));
  });

  it('gives the engine (the CLI\'s reader) the whole capture when garbage follows the gzip data', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-gz-'));
    fs.writeFileSync(path.join(dir, 'c.pcap'), data);
    fs.writeFileSync(path.join(dir, 'c.pcap.gz'), Buffer.concat([zlib.gzipSync(data), Buffer.from('trailing garbage')]));
    const plain = await analyzeCapture(path.join(dir, 'c.pcap'), { onFlow: () => undefined });
    const gz = await analyzeCapture(path.join(dir, 'c.pcap.gz'), { onFlow: () => undefined });
    fs.rmSync(dir, { recursive: true });
    expect(gz.damage).toBeNull();
    expect(gz.read.captureBytes).toBe(data.length);
    expect(gz.stats.packets).toBe(plain.stats.packets);
    expect(gz.problems.get('gzip: bytes after the last member ignored (trailing garbage)')).toBe(16);
  });
});
