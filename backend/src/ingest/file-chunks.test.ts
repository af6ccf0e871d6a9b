import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { Enricher, bundledEnrichment } from '../enrich/enricher';
import { analyzeCapture } from '../flows';
import { DuckDbStore } from '../store/duckdb/duckdb-store';
import { generateCaptureBuffer } from '../synth/generator';
import { BufferPool } from './buffer-pool';
import { fileChunks, SlowReads } from './file-chunks';
import { ingestCapture } from './pipeline';

describe('path import reads into recycled buffers', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-file-chunks-'));
  // Several of the hasher's 4 MiB buffers plus a partial one, so buffers come back and are reused.
  const bytes = generateCaptureBuffer({ bytes: 19_000_000, seed: 21, hosts: 60, flows: 900, ipv6Share: 0.3 });
  const file = path.join(dir, 'c.pcap');
  fs.writeFileSync(file, bytes);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Read on this thread, and (every read taken as slow) switched to reads ahead after two reads.
  it.each([
    ['read on the ingest thread', undefined],
    ['read ahead after slow reads', -1],
  ])('yields the exact bytes when a buffer is lent again as soon as the consumer moves on: %s', async (_name, slowReadMs) => {
    const pool: Uint8Array[] = [];
    let held: Uint8Array | null = null;
    let created = 0;
    const parts: Buffer[] = [];
    for await (const chunk of fileChunks(file, () => pool.pop() ?? (created++, new Uint8Array(1_000_003)), slowReadMs === undefined ? undefined : new SlowReads(slowReadMs))) {
      if (held) pool.push(held); // the previous chunk is free now
      parts.push(Buffer.from(chunk));
      held = new Uint8Array(chunk.buffer);
    }
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
    expect(created).toBeLessThanOrEqual(3);
  });

  it('leaves the ingest thread after two slow reads in a row or one stalled read, not after one slow read', () => {
    const reads = (times: number[]): boolean[] => {
      const policy = new SlowReads(10, 50);
      return times.map((ms) => policy.tooSlow(ms));
    };
    // A pause of the machine in one read: the reads stay on the thread.
    expect(reads([1, 14, 1, 12, 1])).toEqual([false, false, false, false, false]);
    expect(reads([1, 14, 12, 1])).toEqual([false, false, true, false]);
    // A read that held the thread this long switches at once.
    expect(reads([1, 51])).toEqual([false, true]);
  });

  it("lends buffers whose pages are touched already (a read's time is the read's own), and takes them back", () => {
    const pool = new BufferPool(64 << 20);
    const before = process.memoryUsage().rss;
    const fresh = pool.take();
    // Untouched, a fresh allocation this large would not be resident yet.
    expect(process.memoryUsage().rss - before).toBeGreaterThan(48 << 20);
    fresh[5] = 7;
    pool.give(fresh.buffer);
    const again = pool.take();
    expect(again.buffer).toBe(fresh.buffer);
    expect(again[5]).toBe(7);
  });

  // Plain, gzip-compressed (its chunks go through zlib, so they are copied to the hasher, never
  // lent again) and cut short (read on after the damage, so the hash covers the whole file).
  const cases: [string, Buffer][] = [
    ['c.pcap', bytes],
    ['c.pcap.gz', zlib.gzipSync(bytes, { level: 1 })],
    ['cut.pcap', bytes.subarray(0, 13_000_001)],
  ];
  it.each(cases)('stores %s with the SHA-256 of the whole file and the flows the CLI finds', async (name, content) => {
    const capture = path.join(dir, name);
    fs.writeFileSync(capture, content);
    const store = await DuckDbStore.open(path.join(dir, `store-${name}`));
    try {
      const enricher = await Enricher.load(bundledEnrichment([]));
      const out = await ingestCapture({ stream: { handle: await fs.promises.open(capture, 'r') }, name, source: capture, sourceKind: 'path' }, { store, enricher, bucketNs: 1e9, idleTimeoutNs: 120e9 });
      let flows = 0;
      const cli = await analyzeCapture(capture, { onFlow: () => flows++ });
      expect(out.capture.sha256).toBe(createHash('sha256').update(content).digest('hex'));
      expect(out.capture).toMatchObject({ size: content.length, packets: cli.stats.packets, bytes: cli.stats.bytes, flows, compressed: name.endsWith('.gz') });
      expect(out.capture.damage === null).toBe(name !== 'cut.pcap');
    } finally {
      await store.close();
    }
  });
});
