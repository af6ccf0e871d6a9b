import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../synth/generator';
import { BufferPool } from './buffer-pool';
import { ParallelHash } from './parallel-hash';

/** n bytes that differ at every offset of a block (a misplaced block shows). */
const bytes = (n: number, seed: number): Buffer => new Rng(seed).bytes(n);

describe('ParallelHash', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-hash-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hashes and copies every byte in order, whole blocks and odd pieces, given or copied', async () => {
    const pool = new BufferPool(1 << 20);
    const file = path.join(dir, 'copy.bin');
    const fd = fs.openSync(file, 'w', 0o600);
    // Pieces that cross block (4 KiB) and staging-buffer (~8 MiB) boundaries at odd places; the
    // pool's buffers move to the worker, the others are copied into batches.
    const sizes = [1, 4095, 4097, 100, 9_000_000, 3, 1 << 20, 1 << 20, 12_345, 8_454_143, 4096, 7];
    const pieces = sizes.map((n, i) => bytes(n, i + 1));
    const hash = new ParallelHash(pool, fd);
    for (const piece of pieces) {
      const take = piece.length === pool.size;
      const given = take ? pool.take() : piece;
      if (take) piece.copy(given);
      await hash.update(given, take);
    }
    const digest = await hash.digest();
    fs.closeSync(fd);
    const all = Buffer.concat(pieces);
    expect(hash.keepError).toBeNull();
    expect(digest).toBe(createHash('sha256').update(all).digest('hex'));
    const copy = fs.readFileSync(file);
    expect(copy.length).toBe(all.length);
    expect(copy.equals(all)).toBe(true);
  });

  it('flushes a large copy to the device while writing it, and the copy stays whole', async () => {
    // 160 MiB in the pool's buffers crosses the flush interval (64 MiB) twice; the first flush is
    // counted whatever the disk's speed (the digest waits for one under way). A small copy is not
    // flushed at all.
    const pool = new BufferPool(4 << 20);
    const file = path.join(dir, 'large.bin');
    const fd = fs.openSync(file, 'w', 0o600);
    const hash = new ParallelHash(pool, fd);
    const expected = createHash('sha256');
    const block = bytes(pool.size, 42);
    for (let i = 0; i < 40; i++) {
      block[0] = i; // every buffer differs: a buffer written twice or skipped shows
      expected.update(block);
      const given = pool.take();
      block.copy(given);
      await hash.update(given, true);
    }
    const digest = await hash.digest();
    fs.closeSync(fd);
    expect(hash.keepError).toBeNull();
    expect(hash.flushes).toBeGreaterThanOrEqual(1);
    expect(digest).toBe(expected.digest('hex'));
    expect(fs.statSync(file).size).toBe(40 * pool.size);
    const copy = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    expect(copy).toBe(digest);
    fs.rmSync(file);

    const smallFd = fs.openSync(path.join(dir, 'small.bin'), 'w', 0o600);
    const small = new ParallelHash(new BufferPool(1 << 20), smallFd);
    await small.update(bytes(3 << 20, 7));
    await small.digest();
    fs.closeSync(smallFd);
    expect(small.flushes).toBe(0);
  });

  it('hashes without a copy when given no file', async () => {
    const hash = new ParallelHash(new BufferPool(1 << 20));
    const b = bytes(5_000_001, 9);
    await hash.update(b);
    expect(await hash.digest()).toBe(createHash('sha256').update(b).digest('hex'));
  });
});

describe('ParallelHash when its thread dies', () => {
  it('fails the digest instead of waiting for it forever', async () => {
    const hash = new ParallelHash(new BufferPool(1 << 20));
    // A message the thread cannot hash makes it throw, as any crash of it would.
    (hash as unknown as { worker: { postMessage: (m: unknown) => void } }).worker.postMessage({ not: 'bytes' });
    await expect(hash.digest()).rejects.toThrow(/data/);
    await hash.destroy();
  });
});
