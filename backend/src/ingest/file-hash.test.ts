import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Enricher, bundledEnrichment } from '../enrich/enricher';
import { DuckDbStore } from '../store/duckdb/duckdb-store';
import { generateCaptureBuffer } from '../synth/generator';
import { BufferPool } from './buffer-pool';
import { FileHash } from './file-hash';
import { ingestCapture } from './pipeline';

describe('FileHash (a path import hashed by a worker reading the file again)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-file-hash-'));
  // Two of the worker's 4 MiB reads and a partial one.
  const bytes = generateCaptureBuffer({ bytes: 9_500_000, seed: 31, hosts: 40, flows: 300, ipv6Share: 0.3 });
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const startedOn = (fd: number): FileHash => {
    const hash = FileHash.start(fd, new BufferPool(1 << 20));
    if (!hash) throw new Error('no /proc/self/fd here');
    return hash;
  };
  const fileOf = (name: string, content: Buffer): { file: string; fd: number } => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return { file, fd: fs.openSync(file, 'r') };
  };

  it('gives the SHA-256 of the whole file and hands the reader\'s buffers back to the pool', async () => {
    const { fd } = fileOf('whole.pcap', bytes);
    const pool = new BufferPool(1 << 20);
    const hash = FileHash.start(fd, pool);
    if (!hash) throw new Error('no /proc/self/fd here');
    // The reader's chunks, as the pipeline reports them: whole pool buffers and a partial last one.
    const memories = new Set<ArrayBufferLike>();
    for (let at = 0; at < bytes.length; at += pool.size) {
      const buf = pool.take();
      memories.add(buf.buffer);
      const n = fs.readSync(fd, buf, 0, buf.length, at);
      await hash.update(n === buf.length ? buf : buf.subarray(0, n), true);
    }
    expect(await hash.digest()).toBe(sha256);
    expect(hash.keepError).toBeNull();
    // Each buffer came back at once: ten chunks were read into one.
    expect(memories.size).toBe(1);
    // The caller's descriptor is still the caller's.
    expect(fs.fstatSync(fd).size).toBe(bytes.length);
    fs.closeSync(fd);
  });

  it('refuses a file that grew after the hash started', async () => {
    const { file, fd } = fileOf('grows.pcap', bytes);
    const hash = startedOn(fd);
    await hash.update(bytes);
    fs.appendFileSync(file, Buffer.alloc(100));
    await expect(hash.digest()).rejects.toThrow(/the file changed while it was imported/);
    fs.closeSync(fd);
  });

  it('refuses a digest of other bytes than the reader read', async () => {
    const { fd } = fileOf('short.pcap', bytes);
    const hash = startedOn(fd);
    await hash.update(bytes.subarray(0, bytes.length - 1));
    await expect(hash.digest()).rejects.toThrow(`the file changed while it was imported (${bytes.length - 1} bytes read, ${bytes.length} hashed)`);
    fs.closeSync(fd);
  });

  it('is not available for a descriptor that cannot be opened again (the caller hashes the chunks instead)', () => {
    const { fd } = fileOf('closed.pcap', bytes);
    fs.closeSync(fd);
    expect(FileHash.start(fd, new BufferPool(1 << 20))).toBeNull();
  });

  it('stops reading when destroyed', async () => {
    const { fd } = fileOf('stopped.pcap', bytes);
    const hash = startedOn(fd);
    await hash.destroy();
    await hash.destroy();
    fs.closeSync(fd);
  });

  it('fails a path import whose file changes meanwhile, and stores nothing', async () => {
    const { file, fd } = fileOf('changing.pcap', bytes);
    fs.closeSync(fd);
    const store = await DuckDbStore.open(path.join(dir, 'store'));
    try {
      const enricher = await Enricher.load(bundledEnrichment([]));
      let appended = false;
      const onProgress = (): void => {
        if (appended) return;
        appended = true;
        fs.appendFileSync(file, bytes.subarray(0, 1000));
      };
      const importing = ingestCapture(
        { stream: { handle: await fs.promises.open(file, 'r') }, name: 'changing.pcap', source: file, sourceKind: 'path' },
        { store, enricher, bucketNs: 1e9, idleTimeoutNs: 120e9, onProgress },
      );
      await expect(importing).rejects.toThrow(/the file changed while it was imported/);
      expect(appended).toBe(true);
      expect(await store.listCaptures()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
