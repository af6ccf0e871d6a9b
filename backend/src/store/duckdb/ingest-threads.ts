import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * DuckDB's worker threads, lowered to one while any ingest is open (from openIngest to its commit
 * or abort), restored when the last one closes.
 *
 * An ingest loads its flows while the engine parses (DuckDbIngest.loadEarly). With every thread,
 * DuckDB's loads took the engine's core as well: a DNS-heavy 200 MB import parsed in 5.7 s instead
 * of 4.2 s and ended no sooner than without the early loads. With one, the loads run beside the parse
 * on the other core. The publish at the end gains nothing from a second thread either: DuckDB's
 * parallel batch insert and sort cost more than they save on a small capture (41 k flows: ~480 ms
 * with two threads, ~370 ms with one) and break even on a big one (656 k flows: 3.3-3.7 s either
 * way), with the kernel copy of the capture and the process's other threads beside it.
 *
 * `threads` is global in DuckDB: a dashboard query that runs during an import gets one thread too,
 * on the core the import's engine does not use.
 */
export class IngestThreads {
  private open = 0;
  /** SET statements, one after another in the order they were asked for. */
  private settings: Promise<void> = Promise.resolve();

  constructor(
    /** A connection of its own (a SET must not wait behind a query). */
    private readonly conn: DuckDBConnection,
    /** The instance's thread count, restored after. */
    private readonly threads: number,
  ) {}

  static async open(conn: DuckDBConnection): Promise<IngestThreads> {
    const threads = Number((await conn.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0][0]);
    return new IngestThreads(conn, threads);
  }

  /** One thread from now until the returned release is called (once; later calls do nothing). */
  async enter(): Promise<() => Promise<void>> {
    if (this.threads <= 1) return async () => undefined;
    if (this.open++ === 0) this.set(1);
    await this.settings;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      if (--this.open === 0) this.set(this.threads);
      await this.settings;
    };
  }

  /** Waits for the settings asked for, then closes the connection. */
  async close(): Promise<void> {
    await this.settings;
    this.conn.closeSync();
  }

  private set(n: number): void {
    // A failed SET leaves the setting as it was: an ingest is then only slower, never wrong.
    this.settings = this.settings.then(() => this.conn.run(`SET threads = ${n}`)).then(
      () => undefined,
      () => undefined,
    );
  }
}
