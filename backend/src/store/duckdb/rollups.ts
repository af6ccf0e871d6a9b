import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { ConnectionPool } from './pool';
import { ROLLUP_MINUTES, ROLLUP_SIZE } from './schema';

/** A capture's rollup is built when its minute rows are at most this share of its bucket rows. */
export const ROLLUP_MAX_SHARE = 0.5;
/** Bucket rows grouped per statement (time slices of the capture), so the grouping fits the store's memory. */
const ROLLUP_SLICE_ROWS = 1_000_000;
const MINUTE = 60_000;

export type RollupState = 'pending' | 'built' | 'none';

/**
 * Builds the one-minute rollup (`buckets_1m`) of each published capture, one capture at a time, on a
 * connection of its own, after the capture's ingest has committed: an import is queryable without
 * waiting for it, and until it is built (or where it would not halve the rows, 'none') queries read
 * the capture's whole minutes from `buckets` (`unrolled()`), with the same sums.
 *
 * A capture's state and its minute rows change in one transaction; the capture leaves `unrolled()`
 * only after that commits, so a query reads each capture's minutes from exactly one table. Closing
 * the store interrupts a rollup under way: the capture stays 'pending' and is built at the next start.
 */
export class MinuteRollups {
  private readonly waiting: string[] = [];
  private readonly unrolledIds = new Set<string>();
  private running: { id: string; done: Promise<void>; cancel: AbortController } | null = null;
  private idle: (() => void)[] = [];
  private closed = false;

  private constructor(
    private readonly conn: ConnectionPool,
    private readonly onError: (captureId: string, err: Error) => void,
  ) {}

  /** `states`: the stored captures whose rollup is not built; pending ones are built again. */
  static async open(instance: DuckDBInstance, states: [string, RollupState][], onError: (captureId: string, err: Error) => void): Promise<MinuteRollups> {
    const r = new MinuteRollups(await ConnectionPool.create(instance, 1), onError);
    for (const [id, state] of states) {
      if (state === 'built') continue;
      r.unrolledIds.add(id);
      if (state === 'pending') r.schedule(id);
    }
    return r;
  }

  /** Captures whose whole minutes are read from `buckets`, at this moment. */
  unrolled(): string[] {
    return [...this.unrolledIds];
  }

  /** Called before the commit that publishes the capture (as 'pending'): from then on queries read its minutes from `buckets`. */
  publishing(id: string): void {
    this.unrolledIds.add(id);
  }

  /** Its publish failed or rolled back. */
  notPublished(id: string): void {
    this.unrolledIds.delete(id);
  }

  /** Builds the capture's rollup after those scheduled before it. */
  schedule(id: string): void {
    if (this.closed) return;
    this.waiting.push(id);
    if (!this.running) void this.next();
  }

  /**
   * Before the capture is deleted: it is not built, and a build under way stops (its transaction
   * rolls back). It stays read from its bucket rows until deleted() (a failed delete leaves it
   * 'pending' in the store, built at the next start).
   */
  async forget(id: string): Promise<void> {
    const i = this.waiting.indexOf(id);
    if (i >= 0) this.waiting.splice(i, 1);
    const run = this.running;
    if (run?.id === id) {
      run.cancel.abort();
      await run.done;
    }
  }

  /** The capture's deletion committed. */
  deleted(id: string): void {
    this.unrolledIds.delete(id);
  }

  /** Resolves when no rollup is waiting or under way. */
  settled(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiting.length = 0;
    const run = this.running;
    if (run) {
      run.cancel.abort();
      await run.done;
    }
    await this.conn.close();
  }

  private async next(): Promise<void> {
    const id = this.waiting.shift();
    if (id === undefined || this.closed) {
      this.running = null;
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    const cancel = new AbortController();
    const done = this.build(id, cancel.signal).then(
      (state) => {
        if (state === 'built') this.unrolledIds.delete(id);
      },
      (err: Error) => {
        if (!cancel.signal.aborted) this.onError(id, err);
      },
    );
    this.running = { id, done, cancel };
    await done;
    void this.next();
  }

  /**
   * Decides and builds in one transaction; null when the capture is gone. An interrupted statement
   * fails the build; its transaction is rolled back outside the interruptible call.
   */
  private async build(id: string, signal: AbortSignal): Promise<RollupState | null> {
    try {
      return await this.conn.use((db) => this.decideAndBuild(db, id), signal);
    } catch (err) {
      await this.conn.use((db) => db.run('ROLLBACK')).catch(() => undefined);
      throw err;
    }
  }

  private async decideAndBuild(db: DuckDBConnection, id: string): Promise<RollupState | null> {
    await db.run('BEGIN TRANSACTION');
    const [rows, minutes, first, last] = (await db.runAndReadAll(ROLLUP_SIZE, [id])).getRowsJS()[0].map((v) => (v === null ? 0 : Number(v)));
    // No bucket rows: nothing to roll up, so the (empty) rollup is complete.
    const state: RollupState = minutes <= rows * ROLLUP_MAX_SHARE ? 'built' : 'none';
    if (state === 'built' && rows > 0) {
      const from = Math.floor(first / MINUTE) * MINUTE;
      const to = Math.floor(last / MINUTE) * MINUTE + MINUTE;
      const step = Math.ceil((to - from) / MINUTE / Math.ceil(rows / ROLLUP_SLICE_ROWS)) * MINUTE;
      for (let t = from; t < to; t += step) await db.run(ROLLUP_MINUTES, [id, t, Math.min(t + step, to)]);
    }
    const set = await db.run(`UPDATE captures SET rollup = $2 WHERE id = $1 AND rollup = 'pending'`, [id, state]);
    if (set.rowsChanged !== 1) {
      await db.run('ROLLBACK');
      return null;
    }
    await db.run('COMMIT');
    return state;
  }
}
