import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { formatSize } from './sizes';
import { PacketIndex, PacketIndexWriter } from './packet-index';

/**
 * The packet archive: each ingested capture's bytes, kept in the data directory under its SHA-256
 * (`packets/<sha256>.cap`, as imported, gzip included) with its packet index (`<sha256>.idx`), so
 * slices can be cut later. Content-addressed: importing the same bytes again keeps one copy.
 * A retention budget (total bytes, age) evicts the oldest copies first; a capture whose copy is
 * gone keeps its flows, and the archive remembers why the packets went (registry.json).
 */
export interface ArchiveOptions {
  /** The sidecar's data directory (the archive lives in its `packets/`). */
  dataDir: string;
  /** Keep packets at all. */
  enabled: boolean;
  /** Most bytes (captures and indexes) kept; oldest evicted first. 0: no limit. */
  maxBytes: number;
  /** Longest time a copy is kept (ms). 0: no limit. */
  maxAgeMs: number;
}

interface KeptEntry {
  keptAt: string;
  dataBytes: number;
  indexBytes: number;
}

interface GoneEntry {
  at: string;
  reason: string;
}

interface Registry {
  version: 1;
  kept: Record<string, KeptEntry>;
  gone: Record<string, GoneEntry>;
}

export type PacketAvailability =
  | { available: true; keptAt: string; until: string | null; bytes: number }
  | { available: false; reason: string; soon?: boolean };

/** An ingest's copy in progress: the capture's bytes (written by the hash worker) and the index. */
export interface Keeping {
  dataPath: string;
  dataFd: number;
  index: PacketIndexWriter;
}

/** A kept capture opened for slicing. */
export interface KeptCapture {
  dataPath: string;
  dataBytes: number;
  index: PacketIndex;
}

export class PacketsUnavailable extends Error {
  constructor(
    message: string,
    /** The packets are being copied: asking again shortly will work. */
    readonly soon = false,
  ) {
    super(message);
  }
}

const SHA = /^[0-9a-f]{64}$/;

export class PacketArchive {
  private readonly dir: string;
  private readonly tmp: string;
  private registry: Registry;
  /** Copies still being made (by the kernel, after the capture's flows were stored). */
  private readonly copying = new Map<string, Promise<void>>();
  /** Captures deleted while their copy was being made: the copy goes when it ends. */
  private readonly deletedWhileCopying = new Set<string>();

  constructor(private readonly opts: ArchiveOptions) {
    this.dir = path.join(opts.dataDir, 'packets');
    this.tmp = path.join(this.dir, 'incoming');
    fs.mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
    // Copies of ingests that never finished (a crash) go.
    for (const f of fs.readdirSync(this.tmp)) fs.rmSync(path.join(this.tmp, f), { force: true });
    this.registry = this.load();
    // An entry whose files went missing (deleted by hand) is gone, with that reason.
    for (const sha of Object.keys(this.registry.kept)) {
      if (!fs.existsSync(this.dataPath(sha)) || !fs.existsSync(this.indexPath(sha))) this.forget(sha, 'its files were missing from the data directory when the sidecar started');
    }
    this.enforce();
  }

  private load(): Registry {
    try {
      const r = JSON.parse(fs.readFileSync(path.join(this.dir, 'registry.json'), 'utf8')) as Registry;
      if (r.version === 1 && typeof r.kept === 'object' && typeof r.gone === 'object') return r;
    } catch {
      // None yet (or unreadable: the files on disk are checked against an empty registry below).
    }
    return { version: 1, kept: {}, gone: {} };
  }

  private save(): void {
    const file = path.join(this.dir, 'registry.json');
    const part = `${file}.${process.pid}.part`;
    fs.writeFileSync(part, JSON.stringify(this.registry), { mode: 0o600 });
    fs.renameSync(part, file);
  }

  private dataPath(sha: string): string {
    return path.join(this.dir, `${sha}.cap`);
  }

  private indexPath(sha: string): string {
    return path.join(this.dir, `${sha}.idx`);
  }

  /** Starts a copy for an ingest, or says why packets are not kept (recorded by refuse() once the capture's hash is known). */
  begin(expectedBytes: number | null): Keeping | { refused: string } {
    if (!this.opts.enabled) return { refused: 'packets are not kept (CAPSIGHT_KEEP_PACKETS=false)' };
    if (expectedBytes !== null && this.opts.maxBytes > 0 && expectedBytes > this.opts.maxBytes) return { refused: this.tooLarge(expectedBytes) };
    const id = randomUUID();
    const dataPath = path.join(this.tmp, `${id}.cap`);
    const dataFd = fs.openSync(dataPath, 'w', 0o600);
    return { dataPath, dataFd, index: new PacketIndexWriter(path.join(this.tmp, `${id}.idx`)) };
  }

  private tooLarge(bytes: number): string {
    return `not kept: the capture (${formatSize(bytes)}) is larger than the packet storage budget of ${formatSize(this.opts.maxBytes)} (CAPSIGHT_PACKETS_MAX_BYTES)`;
  }

  /**
   * Files the copy under the capture's hash (a copy already there stays: same bytes) and applies
   * the budget. `failed`: why the copy is not whole (a write error), recorded instead.
   */
  commit(k: Keeping, sha256: string, failed: string | null): void {
    if (!SHA.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
    closeQuietly(k.dataFd);
    if (failed !== null || this.registry.kept[sha256]) {
      this.discard(k);
      if (failed !== null && !this.registry.kept[sha256]) {
        this.registry.gone[sha256] = { at: new Date().toISOString(), reason: `not kept: ${failed}` };
        this.save();
      }
      return;
    }
    const dataBytes = fs.statSync(k.dataPath).size;
    const indexBytes = fs.statSync(k.index.path).size;
    if (this.opts.maxBytes > 0 && dataBytes + indexBytes > this.opts.maxBytes) {
      this.discard(k);
      this.registry.gone[sha256] = { at: new Date().toISOString(), reason: this.tooLarge(dataBytes + indexBytes) };
      this.save();
      return;
    }
    fs.renameSync(k.index.path, this.indexPath(sha256));
    fs.renameSync(k.dataPath, this.dataPath(sha256));
    this.registry.kept[sha256] = { keptAt: new Date().toISOString(), dataBytes, indexBytes };
    delete this.registry.gone[sha256];
    this.save();
    this.enforce(sha256);
  }

  /** commit() once `copied` settles (with why the copy is not whole, or null); meanwhile the capture's packets are "being copied". */
  commitAfter(k: Keeping, sha256: string, copied: Promise<string | null>): void {
    const filed = copied
      .catch((err: unknown) => `copying failed (${(err as Error).message})`)
      .then((failed) => {
        // Another import of the same bytes may have started a copy since: that one stays "being copied".
        if (this.copying.get(sha256) === filed) this.copying.delete(sha256);
        if (this.deletedWhileCopying.delete(sha256)) this.discard(k);
        else this.commit(k, sha256, failed);
      })
      .catch(() => this.discard(k));
    this.copying.set(sha256, filed);
  }

  /** Settles once a copy still being made for `sha256` is filed (or dropped); at once when none is. */
  async copied(sha256: string): Promise<void> {
    await this.copying.get(sha256);
  }

  /** Records why a capture's packets were not copied (unless a copy of the same bytes is kept). */
  refuse(sha256: string, reason: string): void {
    if (this.registry.kept[sha256]) return;
    this.registry.gone[sha256] = { at: new Date().toISOString(), reason };
    this.save();
  }

  /** Drops an unfinished copy. */
  discard(k: Keeping): void {
    closeQuietly(k.dataFd);
    k.index.close();
    fs.rmSync(k.dataPath, { force: true });
    fs.rmSync(k.index.path, { force: true });
  }

  /** Evicts copies past the age limit, then the oldest until the total fits the budget (`keep`: the copy just filed, evicted last). */
  enforce(keep?: string, now = Date.now()): void {
    const entries = Object.entries(this.registry.kept).sort((a, b) => (a[1].keptAt < b[1].keptAt ? -1 : a[1].keptAt > b[1].keptAt ? 1 : 0));
    const maxAge = this.opts.maxAgeMs;
    let total = entries.reduce((t, [, e]) => t + e.dataBytes + e.indexBytes, 0);
    let changed = false;
    for (const [sha, e] of entries) {
      const aged = maxAge > 0 && now - Date.parse(e.keptAt) > maxAge;
      const over = this.opts.maxBytes > 0 && total > this.opts.maxBytes && sha !== keep;
      if (!aged && !over) continue;
      const why = aged
        ? `evicted on ${new Date(now).toISOString()}: older than CAPSIGHT_PACKETS_MAX_AGE (${formatAge(maxAge)})`
        : `evicted on ${new Date(now).toISOString()} to keep packet storage within CAPSIGHT_PACKETS_MAX_BYTES (${formatSize(this.opts.maxBytes)}), oldest first`;
      this.removeFiles(sha);
      total -= e.dataBytes + e.indexBytes;
      delete this.registry.kept[sha];
      this.registry.gone[sha] = { at: new Date(now).toISOString(), reason: why };
      changed = true;
    }
    if (changed) this.save();
  }

  private removeFiles(sha: string): void {
    fs.rmSync(this.dataPath(sha), { force: true });
    fs.rmSync(this.indexPath(sha), { force: true });
  }

  private forget(sha: string, reason: string): void {
    this.removeFiles(sha);
    delete this.registry.kept[sha];
    this.registry.gone[sha] = { at: new Date().toISOString(), reason };
    this.save();
  }

  /** Whether a capture's packets can be sliced, until when, or why not. */
  availability(sha256: string): PacketAvailability {
    if (this.copying.has(sha256) && !this.registry.kept[sha256]) return { available: false, reason: 'being copied into the packet store (the import has just finished): ask again in a few seconds', soon: true };
    const e = this.registry.kept[sha256];
    if (e) {
      const until = this.opts.maxAgeMs > 0 ? new Date(Date.parse(e.keptAt) + this.opts.maxAgeMs).toISOString() : null;
      return { available: true, keptAt: e.keptAt, until, bytes: e.dataBytes + e.indexBytes };
    }
    const gone = this.registry.gone[sha256];
    if (gone) return { available: false, reason: gone.reason };
    return { available: false, reason: this.opts.enabled ? 'not kept: the capture was imported before Capsight kept packets' : 'packets are not kept (CAPSIGHT_KEEP_PACKETS=false)' };
  }

  /** Opens a kept capture, or throws PacketsUnavailable saying why it cannot be sliced. */
  async open(sha256: string, flows: number): Promise<KeptCapture> {
    const a = this.availability(sha256);
    if (!a.available) throw new PacketsUnavailable(a.reason, a.soon === true);
    let index: PacketIndex;
    try {
      index = await PacketIndex.open(this.indexPath(sha256));
    } catch (err) {
      const reason = `its packet index could not be read (${(err as Error).message})`;
      this.forget(sha256, reason);
      throw new PacketsUnavailable(reason);
    }
    if (index.meta.flows !== flows) {
      await index.close();
      throw new PacketsUnavailable(`the kept copy's index counts ${index.meta.flows} flows where the store holds ${flows} (made by another engine version)`);
    }
    return { dataPath: this.dataPath(sha256), dataBytes: this.registry.kept[sha256].dataBytes, index };
  }

  /** Removes a capture's copy (the capture was deleted). */
  remove(sha256: string): void {
    if (this.copying.has(sha256)) this.deletedWhileCopying.add(sha256);
    if (!this.registry.kept[sha256] && !this.registry.gone[sha256]) return;
    this.removeFiles(sha256);
    delete this.registry.kept[sha256];
    delete this.registry.gone[sha256];
    this.save();
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Closed already.
  }
}

function formatAge(ms: number): string {
  const days = ms / 86_400_000;
  return Number.isInteger(days) ? `${days}d` : `${Math.round(ms / 3_600_000)}h`;
}
