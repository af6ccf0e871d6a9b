import type { DuckDBConnection } from '@duckdb/node-api';

/** Rows in a DuckDB row group: the unit its inserts spread over threads. */
export const ROW_GROUP_ROWS = 122_880;

/**
 * DuckDB's worker threads, lowered to one while a small capture is published. A publish of less
 * than a row group of flows and of bucket rows has nothing for a second thread to take over, and
 * DuckDB's parallel (batch) insert and sort paths cost more than they save there: the publish of
 * a 1 GB capture's 41 k flows took ~480 ms with two threads and ~370 ms with one (2 cores, with
 * the kernel still copying the capture beside it). Bigger publishes keep every thread.
 *
 * `threads` is global in DuckDB: a dashboard query that runs during a small publish gets one
 * thread too (still its own, beside the publish's) for the few hundred milliseconds it lasts.
 * Overlapping publishes share the setting; the last one out restores it.
 */
export class PublishThreads {
  private smallPublishes = 0;
  /** SET statements, one after another in the order they were asked for. */
  private settings: Promise<void> = Promise.resolve();

  constructor(
    /** A connection of its own (a SET must not wait behind a query). */
    private readonly conn: DuckDBConnection,
    /** The instance's thread count, restored after. */
    private readonly threads: number,
  ) {}

  static async open(conn: DuckDBConnection): Promise<PublishThreads> {
    const threads = Number((await conn.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0][0]);
    return new PublishThreads(conn, threads);
  }

  /** Runs `publish` on one DuckDB thread when it is small (and the instance has more than one). */
  async around<T>(rows: { flows: number; buckets: number }, publish: () => Promise<T>): Promise<T> {
    if (this.threads <= 1 || rows.flows >= ROW_GROUP_ROWS || rows.buckets >= ROW_GROUP_ROWS) return publish();
    if (this.smallPublishes++ === 0) this.set(1);
    await this.settings;
    try {
      return await publish();
    } finally {
      if (--this.smallPublishes === 0) this.set(this.threads);
      await this.settings;
    }
  }

  close(): void {
    this.conn.closeSync();
  }

  private set(n: number): void {
    // A failed SET leaves the setting as it was: a publish is then only slower, never wrong.
    this.settings = this.settings.then(() => this.conn.run(`SET threads = ${n}`)).then(
      () => undefined,
      () => undefined,
    );
  }
}
