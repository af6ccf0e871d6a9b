import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import type { BucketBatch } from '../../model/flow';
import type { CheckedQuery } from '../../query/model';
import type { CaptureInfo, FlowStore, IngestSink, JobRecord, ResultColumns, StoredFlow, WatchRecord } from '../flow-store';
import { ConnectionPool } from './pool';
import { latestActivityMs, runQuery } from './queries';
import { BucketFile } from './bucket-file';
import { FlowFile } from './flow-file';
import { IngestThreads } from './ingest-threads';
import { EXPORT_PAGE_FLOWS, EXPORT_PAGES_AHEAD, exportCaptures, exportPageSql, matchingFlowIds } from './exports';
import { Params } from './sql';
import { sqlText } from './sql-text';
import { MinuteRollups, type RollupState } from './rollups';
import { DDL, MIGRATE_1_TO_2, MIGRATE_2_TO_3, PUBLISH_BUCKETS, PUBLISH_FLOWS, readBucketFile, readFlowFile, SCHEMA_VERSION, STAGE_DDL } from './schema';

/** Read connections: queries take at most all but one (query/admission.ts), API reads the rest. */
export const READ_CONNECTIONS = 4;

export const DEFAULT_STORE_MEMORY = 256 * 1024 * 1024;

/** Flows written before a file of them is loaded during the ingest (DuckDbIngest.loadEarly). */
const EARLY_LOAD_FLOWS = 16_384;
/** Bucket rows written before they are loaded (a few long flows write many rows and end few flows). */
const EARLY_LOAD_BUCKETS = 65_536;
/**
 * The same while no load is under way: DuckDB takes what is staged as soon as it is free, so less is
 * left for after the last byte (1 GB URL import at a cloud's bandwidth: 0.975 of the time).
 */
const IDLE_LOAD_FLOWS = 2_048;
const IDLE_LOAD_BUCKETS = 8_192;
/** Staged files that may wait behind the load under way before the ingest waits for DuckDB. */
const WAITING_LIMIT = 2;

/** Embedded store: one DuckDB file in the data directory. */
export class DuckDbStore implements FlowStore {
  /** Ingests in progress: closing the store aborts them before it closes their connections. */
  private readonly ingests = new Set<DuckDbIngest>();
  private readonly openings = new Set<Promise<DuckDbIngest>>();
  private closing: Promise<void> | null = null;
  /**
   * The capture list, read once per change: every query asks for it (where is the traffic of the
   * selected captures?), and it changes only when an ingest closes or a capture is deleted.
   */
  private captureList: { generation: number; list: Promise<CaptureInfo[]> } | null = null;
  private generation = 0;
  /** What /health reports, kept up to date in memory: answering it never waits for a connection. */
  private readonly totals: { captures: number; flows: number };

  private constructor(
    private readonly instance: DuckDBInstance,
    /** Where ingests stage their flow and bucket files. */
    private readonly stagingDir: string,
    /** Serialised writes (captures, jobs, watches): one connection, FIFO. */
    private readonly writes: ConnectionPool,
    /** Dashboard queries run side by side. */
    private readonly reads: ConnectionPool,
    /** Quick checks (a filter's regular expression) that must not wait behind queries. */
    private readonly checks: ConnectionPool,
    private readonly ingestThreads: IngestThreads,
    /** The minute rollups, built after each ingest's commit. */
    private readonly rollups: MinuteRollups,
    totals: { captures: number; flows: number },
  ) {
    this.totals = totals;
  }

  /**
   * `memoryBytes`: DuckDB's memory limit (its buffer pool; larger sorts and aggregates spill to the
   * data directory). DuckDB's own default is 80% of the machine's memory, which a sidecar beside
   * Grafana must not take.
   */
  static async open(dataDir: string, memoryBytes = DEFAULT_STORE_MEMORY): Promise<DuckDbStore> {
    fs.mkdirSync(dataDir, { recursive: true });
    const file = path.join(dataDir, 'capsight.duckdb');
    // No extension may be fetched at run time (the machine may be offline, and it must not depend on it).
    // checkpoint_threshold: commits stay durable through the WAL; folding it into the file only every
    // 256 MB keeps a checkpoint out of most ingest commits.
    const instance = await DuckDBInstance.create(file, {
      autoinstall_known_extensions: 'false',
      autoload_known_extensions: 'false',
      checkpoint_threshold: '256MB',
      memory_limit: `${Math.max(64, Math.floor(memoryBytes / 1048576))}MiB`,
      // Freed memory goes back to the system within seconds (without it an ingest's peak stays as RSS).
      allocator_background_threads: 'true',
    });
    const writes = await ConnectionPool.create(instance, 1);
    const totals = await writes.use(async (db) => {
      for (const sql of DDL) await db.run(sql);
      const v = await db.runAndReadAll(`SELECT value FROM meta WHERE key = 'schema_version'`);
      const found = v.getRowsJS()[0]?.[0];
      if (found === undefined) await db.run(`INSERT INTO meta VALUES ('schema_version', $1)`, [String(SCHEMA_VERSION)]);
      else if (Number(found) === 1 || Number(found) === 2) {
        // Schema 1 -> 2 -> 3 in one transaction: the stored flows stay (without TCP health from 1: NULL).
        await db.run('BEGIN TRANSACTION');
        for (const sql of [...(Number(found) === 1 ? MIGRATE_1_TO_2 : []), ...MIGRATE_2_TO_3]) await db.run(sql);
        await db.run(`UPDATE meta SET value = $1 WHERE key = 'schema_version'`, [String(SCHEMA_VERSION)]);
        await db.run('COMMIT');
      } else if (Number(found) !== SCHEMA_VERSION) throw new Error(`${file}: schema version ${String(found)}, this Capsight expects ${SCHEMA_VERSION}`);
      const [captures, flows] = (await db.runAndReadAll(`SELECT count(*), coalesce(sum(flows), 0) FROM captures`)).getRowsJS()[0].map(Number);
      const unrolled = (await db.runAndReadAll(`SELECT id, rollup FROM captures WHERE rollup <> 'built'`)).getRowsJS().map(([id, state]): [string, RollupState] => [String(id), state as RollupState]);
      return { captures, flows, unrolled };
    });
    // Flow files of ingests a killed process left behind belong to no capture.
    const stagingDir = path.join(dataDir, 'staging');
    fs.rmSync(stagingDir, { recursive: true, force: true });
    fs.mkdirSync(stagingDir, { recursive: true });
    // A rollup that fails leaves the capture read from its bucket rows (exact, only slower over long ranges).
    const rollups = await MinuteRollups.open(instance, totals.unrolled, (id, err) => process.emitWarning(`capture ${id}: minute rollup not built: ${err.message}`));
    return new DuckDbStore(
      instance, stagingDir, writes, await ConnectionPool.create(instance, READ_CONNECTIONS), await ConnectionPool.create(instance, 1),
      await IngestThreads.open(await instance.connect()), rollups, { captures: totals.captures, flows: totals.flows },
    );
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.openings]);
      await Promise.all([...this.ingests].map((i) => i.abort()));
      await Promise.all([this.rollups.close(), this.writes.close(), this.reads.close(), this.checks.close()]);
      await this.ingestThreads.close();
      this.instance.closeSync();
    })();
    return this.closing;
  }

  private read<T>(fn: (db: DuckDBConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.reads.use(fn, signal);
  }

  private write<T>(fn: (db: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.writes.use(fn);
  }

  async openIngest(captureId: string): Promise<IngestSink> {
    if (this.closing) throw new Error('the store is closed');
    const opening = this.stageIngest(captureId);
    this.openings.add(opening);
    try {
      return await opening;
    } finally {
      this.openings.delete(opening);
    }
  }

  private async stageIngest(captureId: string): Promise<DuckDbIngest> {
    // Asked for now, not waited for: the ingest need not start after the setting does.
    const threads = this.ingestThreads.enter();
    const releaseThreads = (): void => void threads.then((release) => release());
    let conn: DuckDBConnection | null = null;
    try {
      conn = await this.instance.connect();
      for (const sql of STAGE_DDL) await conn.run(sql);
    } catch (err) {
      conn?.closeSync();
      releaseThreads();
      throw err;
    }
    const staged = (): Staged => ({
      flows: new FlowFile(path.join(this.stagingDir, `${randomUUID()}.tsv`)),
      buckets: new BucketFile(path.join(this.stagingDir, `${randomUUID()}.buckets.tsv`)),
    });
    const ingest = new DuckDbIngest(conn, captureId, staged, this.rollups, (published) => {
      // Not awaited: the setting is restored behind the commit (close() waits for it).
      releaseThreads();
      this.ingests.delete(ingest);
      this.generation++;
      if (published) {
        this.totals.captures++;
        this.totals.flows += published.flows;
        this.rollups.schedule(published.id);
      }
    });
    this.ingests.add(ingest);
    return ingest;
  }

  async findCapture(by: { sha256?: string; id?: string; etagOf?: { source: string; etag: string } }): Promise<CaptureInfo | null> {
    let rows: CaptureInfo[] = [];
    if (by.sha256) rows = await this.captures(`WHERE sha256 = $1`, [by.sha256]);
    else if (by.id) rows = await this.captures(`WHERE id = $1`, [by.id]);
    else if (by.etagOf) rows = await this.captures(`WHERE source = $1 AND etag = $2`, [by.etagOf.source, by.etagOf.etag]);
    return rows[0] ?? null;
  }

  async listCaptures(): Promise<CaptureInfo[]> {
    if (this.captureList?.generation !== this.generation) {
      const list = this.captures('ORDER BY first_ns NULLS LAST, ingested_at', []);
      this.captureList = { generation: this.generation, list };
      list.catch(() => (this.captureList = null));
    }
    return [...(await this.captureList.list)];
  }

  private async captures(tail: string, params: DuckDBValue[]): Promise<CaptureInfo[]> {
    const r = await this.read((db) => db.runAndReadAll(`SELECT * FROM captures ${tail}`, params));
    return r.getRowObjectsJS().map((o) => ({
      id: String(o.id),
      sha256: String(o.sha256),
      name: String(o.name),
      source: String(o.source),
      sourceKind: o.source_kind as CaptureInfo['sourceKind'],
      etag: (o.etag as string | null) ?? null,
      size: Number(o.size),
      format: (o.format as string | null) ?? null,
      compressed: Boolean(o.compressed),
      firstNs: o.first_ns === null ? null : BigInt(o.first_ns as bigint),
      lastNs: o.last_ns === null ? null : BigInt(o.last_ns as bigint),
      packets: Number(o.packets),
      bytes: Number(o.bytes),
      flows: Number(o.flows),
      linkTypes: JSON.parse(String(o.link_types)) as Record<string, number>,
      problems: JSON.parse(String(o.problems)) as Record<string, number>,
      damage: (o.damage as string | null) ?? null,
      azure: o.azure_vm ? { subscription: String(o.azure_subscription), resourceGroup: String(o.azure_resource_group), vm: String(o.azure_vm) } : null,
      ingestedAt: String(o.ingested_at),
    }));
  }

  async deleteCapture(id: string): Promise<boolean> {
    await this.rollups.forget(id);
    return this.write(async (db) => {
      await db.run('BEGIN TRANSACTION');
      try {
        for (const t of ['flows', 'buckets', 'buckets_1m']) await db.run(`DELETE FROM ${t} WHERE capture_id = $1`, [id]);
        const deleted = (await db.runAndReadAll(`DELETE FROM captures WHERE id = $1 RETURNING flows`, [id])).getRowsJS();
        await db.run('COMMIT');
        this.rollups.deleted(id);
        this.generation++;
        for (const [flows] of deleted) {
          this.totals.captures--;
          this.totals.flows -= Number(flows);
        }
        return deleted.length > 0;
      } catch (err) {
        await db.run('ROLLBACK');
        throw err;
      }
    });
  }

  /** Resolves once no minute rollup is waiting or being built (tests, benchmarks). */
  rollupsSettled(): Promise<void> {
    return this.rollups.settled();
  }

  summary(): { captures: number; flows: number } {
    return { ...this.totals };
  }

  async checkPattern(pattern: string): Promise<string | null> {
    try {
      // The store's own engine (RE2) compiles it: what it refuses here, it would refuse in a query.
      await this.checks.use((db) => db.run(`SELECT regexp_full_match('', $1::VARCHAR)`, [pattern]));
      return null;
    } catch (err) {
      return String((err as Error).message).replace(/^Invalid Input Error:\s*/, '');
    }
  }

  async saveJob(job: JobRecord): Promise<void> {
    await this.write((db) => db.run(`INSERT OR REPLACE INTO jobs VALUES ($1, $2, $3)`, [job.id, JSON.stringify(job), job.createdAt]));
  }

  async listJobs(limit: number): Promise<JobRecord[]> {
    const r = await this.read((db) => db.runAndReadAll(`SELECT record FROM jobs ORDER BY created_at DESC LIMIT $1`, [limit]));
    return r.getRowsJS().map((row) => JSON.parse(String(row[0])) as JobRecord);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    const r = await this.read((db) => db.runAndReadAll(`SELECT record FROM jobs WHERE id = $1`, [id]));
    const row = r.getRowsJS()[0];
    return row ? (JSON.parse(String(row[0])) as JobRecord) : null;
  }

  async unfinishedJobs(): Promise<JobRecord[]> {
    const r = await this.read((db) => db.runAndReadAll(`SELECT record FROM jobs WHERE json_extract_string(record, '$.state') IN ('queued', 'running')`));
    return r.getRowsJS().map((row) => JSON.parse(String(row[0])) as JobRecord);
  }

  async saveWatch(watch: WatchRecord): Promise<void> {
    await this.write((db) => db.run(`INSERT OR REPLACE INTO watches VALUES ($1, $2)`, [watch.id, JSON.stringify(watch)]));
  }

  async listWatches(): Promise<WatchRecord[]> {
    const r = await this.read((db) =>
      db.runAndReadAll(`SELECT record, (SELECT count(*) FROM watch_seen s WHERE s.watch_id = w.id AND s.result = 'ingested') FROM watches w ORDER BY id`),
    );
    return r.getRowsJS().map((row) => ({ ...(JSON.parse(String(row[0])) as WatchRecord), blobsIngested: Number(row[1]) }));
  }

  async deleteWatch(id: string): Promise<boolean> {
    return this.write(async (db) => {
      await db.run(`DELETE FROM watch_seen WHERE watch_id = $1`, [id]);
      const r = await db.run(`DELETE FROM watches WHERE id = $1`, [id]);
      return r.rowsChanged > 0;
    });
  }

  async watchSeen(watchId: string, blob: string, etag: string): Promise<boolean> {
    const r = await this.read((db) => db.runAndReadAll(`SELECT 1 FROM watch_seen WHERE watch_id = $1 AND blob = $2 AND etag = $3`, [watchId, blob, etag]));
    return r.currentRowCount > 0;
  }

  async markWatchSeen(watchId: string, blob: string, etag: string, result: string): Promise<void> {
    await this.write((db) => db.run(`INSERT OR IGNORE INTO watch_seen VALUES ($1, $2, $3, $4, $5)`, [watchId, blob, etag, new Date().toISOString(), result]));
  }

  run(query: CheckedQuery, signal?: AbortSignal): Promise<ResultColumns> {
    return this.read((db) => runQuery(db, query, this.rollups.unrolled()), signal);
  }

  latestActivityMs(query: CheckedQuery, signal?: AbortSignal): Promise<number | null> {
    return this.read((db) => latestActivityMs(db, query), signal);
  }

  selectedFlows(query: CheckedQuery, signal?: AbortSignal): Promise<Map<string, Uint32Array>> {
    return this.read((db) => matchingFlowIds(db, query), signal);
  }

  async *exportFlowPages(query: CheckedQuery, format: 'csv' | 'ndjson', signal?: AbortSignal): AsyncGenerator<string> {
    const captures = await this.read((db) => exportCaptures(db, query), signal);
    const pages = captures.flatMap((c) => Array.from({ length: Math.ceil(c.flows / EXPORT_PAGE_FLOWS) }, (_, k) => ({ id: c.id, lo: k * EXPORT_PAGE_FLOWS })));
    // Pages are written AHEAD at a time, in parallel (DuckDB writes one COPY's CSV on one thread),
    // while the caller streams the oldest.
    const write = (page: { id: string; lo: number }): { target: string; done: Promise<void> } => {
      const target = path.join(this.stagingDir, `export-${randomUUID()}.part`);
      const p = new Params();
      const sql = exportPageSql(query, page.id, page.lo, page.lo + EXPORT_PAGE_FLOWS, format, target, p);
      const done = this.read(async (db) => void (await db.run(sql, p.values)), signal);
      done.catch(() => fs.rmSync(target, { force: true }));
      return { target, done };
    };
    const ahead: { target: string; done: Promise<void> }[] = [];
    let next = 0;
    const fill = (): void => {
      while (ahead.length < EXPORT_PAGES_AHEAD && next < pages.length) ahead.push(write(pages[next++]));
    };
    try {
      fill();
      while (ahead.length > 0) {
        const current = ahead[0];
        await current.done;
        ahead.shift();
        fill();
        yield current.target;
      }
    } finally {
      // Stopped early: the pages written ahead are not wanted.
      for (const left of ahead) void left.done.then(() => fs.rmSync(left.target, { force: true }), () => undefined);
    }
  }
}

/** An ingest's flows and bucket rows written since the last load, loaded together. */
interface Staged {
  flows: FlowFile;
  buckets: BucketFile;
}

class DuckDbIngest implements IngestSink {
  private closed = false;
  private committing: Promise<unknown> | null = null;

  /** Flows and bucket rows being written; full files are loaded while the ingest goes on. */
  private staged: Staged;
  /** Full files not loaded yet: the next load takes all of them. */
  private waiting: Staged[] = [];
  /** The transaction the early loads run in (begun with the first one; the publish commits it). */
  private begun = false;
  /** Early loads, one after another on the ingest's connection. */
  private loading: Promise<void> = Promise.resolve();
  /** Whether loadWaiting() runs (it takes the files that fill meanwhile). */
  private loadRunning = false;
  /** addFlows/addBuckets callers waiting for the loads to catch up (room()). */
  private roomWaiters: (() => void)[] = [];
  private loadFailed: Error | null = null;
  private aborting = false;

  constructor(
    private readonly conn: DuckDBConnection,
    private readonly captureId: string,
    private readonly newStaged: () => Staged,
    private readonly rollups: MinuteRollups,
    /** Called once, with the capture when it was published. */
    private readonly onClosed: (published: CaptureInfo | null) => void,
  ) {
    this.staged = newStaged();
  }

  private published: CaptureInfo | null = null;
  /** The rows' publish inside the transaction (inputEnded), ahead of the capture row's commit. */
  private prepared: Promise<void> | null = null;

  async addFlows(flows: readonly StoredFlow[]): Promise<void> {
    this.staged.flows.write(flows);
    if (this.staged.flows.rows >= (this.loadRunning ? EARLY_LOAD_FLOWS : IDLE_LOAD_FLOWS)) this.loadEarly();
    return this.room();
  }

  /**
   * Back-pressure: resolves once DuckDB has caught up enough (at most WAITING_LIMIT files waiting
   * behind the load under way). The pipeline reads its next chunk only then, so a capture that
   * makes flows faster than DuckDB loads them waits instead of filling the disk with staged files.
   */
  private room(): Promise<void> {
    if (this.waiting.length <= WAITING_LIMIT || !this.loadRunning) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Loads the full flow file into the flows table now, and the bucket rows written with it into the
   * staging table, inside the ingest's transaction (invisible until the publish commits it), so the
   * publish at the end has only the last rows to load: where the ingest waits for its input (a
   * download) or has a core to spare, that work no longer follows the last byte. Files that fill
   * while a load runs wait for that load to end.
   */
  private loadEarly(): void {
    closeStaged(this.staged);
    this.waiting.push(this.staged);
    this.staged = this.newStaged();
    if (!this.loadRunning) this.loading = this.loadWaiting();
  }

  /**
   * Loads the waiting files, and those that fill meanwhile, one call at a time. Its first call to
   * DuckDB is made before it returns: at the end of the input the engine hands over its open flows
   * in one synchronous burst, and a load started from a promise callback would wait for the end of
   * that burst.
   */
  private async loadWaiting(): Promise<void> {
    this.loadRunning = true;
    try {
      while (this.waiting.length > 0) {
        const files = this.waiting.splice(0);
        try {
          if (this.loadFailed || this.closed || this.aborting) continue;
          const begin = !this.begun;
          this.begun = true;
          await this.insertStaged(files, begin);
        } catch (err) {
          this.loadFailed = err as Error;
        } finally {
          files.forEach(removeStaged);
          for (const resolve of this.roomWaiters.splice(0)) resolve();
        }
      }
    } finally {
      this.loadRunning = false;
      for (const resolve of this.roomWaiters.splice(0)) resolve();
    }
  }

  /** Begins the ingest's transaction unless it is under way. */
  private async begin(): Promise<void> {
    if (this.begun) return;
    await this.conn.run('BEGIN TRANSACTION');
    this.begun = true;
  }

  /**
   * Loads staged flow and bucket files, in order, in one call (which begins the ingest's transaction
   * first when asked):
   * a call with parameters costs three trips through this thread (extract, prepare, run), and while
   * the engine parses, each trip waits for the chunk being parsed (a 16 k-flow load took ~400 ms
   * during a DNS-heavy parse, ~50 ms after it). The capture id is generated (hex), so it is written
   * into the statement.
   */
  private async insertStaged(files: readonly Staged[], begin = false): Promise<void> {
    const id = sqlText(this.captureId);
    const inserts = files.flatMap((f) => [
      ...(f.flows.rows > 0 ? [`INSERT INTO flows SELECT ${id}, * FROM ${readFlowFile(f.flows.path)};`] : []),
      ...(f.buckets.rows > 0 ? [`INSERT INTO stage_buckets SELECT * FROM ${readBucketFile(f.buckets.path)};`] : []),
    ]);
    if (inserts.length === 0 && !begin) return;
    await this.conn.run((begin ? ['BEGIN TRANSACTION;', ...inserts] : inserts).join('\n'));
  }

  async addBuckets(b: BucketBatch): Promise<void> {
    this.staged.buckets.write(b);
    if (this.staged.buckets.rows >= (this.loadRunning ? EARLY_LOAD_BUCKETS : IDLE_LOAD_BUCKETS)) this.loadEarly();
    return this.room();
  }

  inputEnded(): void {
    if (this.prepared || this.closed) return;
    this.prepared = this.prepare();
    this.prepared.catch(() => undefined); // seen by commit() or abort()
  }

  /**
   * Loads the last staged rows and publishes the bucket rows, inside the ingest's transaction: the
   * work of the publish that does not need the capture row, so it runs while the caller waits for
   * the capture's SHA-256 (a path import's hash worker runs behind the parse, at low priority).
   */
  private async prepare(): Promise<void> {
    closeStaged(this.staged);
    const c = this.conn;
    await this.loading;
    if (this.loadFailed) throw this.loadFailed;
    await this.begin();
    await this.insertStaged([this.staged]);
    // Flow ids run from 0 to the number of flows (the engine's creation order; none: NULL, 0).
    const id = this.captureId;
    const flows = Number((await c.runAndReadAll(`SELECT max(flow_id) + 1 FROM flows WHERE capture_id = $1`, [id])).getRowsJS()[0][0] ?? 0);
    for (let from = 0; from < flows && !this.aborting; from += PUBLISH_FLOWS) await c.run(PUBLISH_BUCKETS, [id, from, from + PUBLISH_FLOWS]);
  }

  commit(capture: CaptureInfo): Promise<'ingested' | 'duplicate'> {
    const committing = this.publish(capture);
    this.committing = committing;
    return committing;
  }

  private async publish(capture: CaptureInfo): Promise<'ingested' | 'duplicate'> {
    const c = this.conn;
    try {
      if (capture.id !== this.captureId) throw new Error(`capture ${capture.id} committed through the ingest of ${this.captureId}`);
      this.inputEnded();
      await this.prepared;
      // A known capture is found only now, after the rows' publish: a re-import does that work for
      // nothing, every other import has it done before its SHA-256 is known.
      const known = await c.runAndReadAll(`SELECT 1 FROM captures WHERE sha256 = $1`, [capture.sha256]);
      if (known.currentRowCount > 0) {
        await c.run('ROLLBACK');
        return 'duplicate';
      }
      // Its minute rollup is built after the commit (rollups.ts): 'pending' until then.
      await c.run(`INSERT INTO captures VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, 'pending')`, [
        capture.id, capture.sha256, capture.name, capture.source, capture.sourceKind, capture.etag, capture.size, capture.format, capture.compressed,
        capture.firstNs, capture.lastNs,
        capture.packets, capture.bytes, capture.flows, JSON.stringify(capture.linkTypes), JSON.stringify(capture.problems), capture.damage,
        capture.azure?.subscription ?? null, capture.azure?.resourceGroup ?? null, capture.azure?.vm ?? null, capture.ingestedAt,
      ]);
      this.rollups.publishing(capture.id);
      await c.run('COMMIT');
      this.published = capture;
      return 'ingested';
    } catch (err) {
      // The rows' publish under way (a commit refused before it ended) stops first.
      this.aborting = true;
      await this.prepared?.catch(() => undefined);
      this.rollups.notPublished(capture.id);
      if (this.begun) await c.run('ROLLBACK').catch(() => undefined);
      // Two imports of the same bytes racing: the loser sees the unique sha256 and reports a duplicate.
      if (/unique|primary key|duplicate key/i.test((err as Error).message)) return 'duplicate';
      throw err;
    } finally {
      await this.dispose();
    }
  }

  async abort(): Promise<void> {
    // A commit in flight finishes (or rolls back) and closes the connection itself.
    if (this.committing) await this.committing.catch(() => undefined);
    if (this.closed) return;
    // The load under way ends before the connection goes (what it loaded goes with the
    // transaction); files still waiting are dropped unloaded.
    this.aborting = true;
    await this.loading;
    await this.prepared?.catch(() => undefined);
    if (this.closed) return;
    if (this.begun) await this.conn.run('ROLLBACK').catch(() => undefined);
    await this.dispose();
  }

  private async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    removeStaged(this.staged);
    await this.conn.run('DROP TABLE IF EXISTS stage_buckets').catch(() => undefined);
    this.conn.closeSync();
    this.onClosed(this.published);
  }
}

function closeStaged(s: Staged): void {
  s.flows.close();
  s.buckets.close();
}

function removeStaged(s: Staged): void {
  s.flows.remove();
  s.buckets.remove();
}
