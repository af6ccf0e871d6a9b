import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { StatementInterrupted } from '../flow-store';

/**
 * Connections used one operation at a time (a DuckDB connection runs one statement at a time).
 * Operations wait in FIFO order, so writes through a pool of one keep their order.
 */
export class ConnectionPool {
  private readonly idle: DuckDBConnection[] = [];
  private readonly all: DuckDBConnection[] = [];
  private readonly waiting: ((c: DuckDBConnection) => void)[] = [];
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  private constructor() {}

  static async create(instance: DuckDBInstance, size: number): Promise<ConnectionPool> {
    const pool = new ConnectionPool();
    for (let i = 0; i < size; i++) {
      const c = await instance.connect();
      pool.all.push(c);
      pool.idle.push(c);
    }
    return pool;
  }

  /**
   * Runs fn on a connection of its own. When `signal` fires while fn runs, the statement in progress
   * is interrupted (DuckDB stops it at its next check and fn rejects); an interrupt on an idle
   * connection has no effect on its next statement.
   */
  async use<T>(fn: (c: DuckDBConnection) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.closing) throw new Error('the store is closed');
    const c = this.idle.pop() ?? (await new Promise<DuckDBConnection>((r) => this.waiting.push(r)));
    // DuckDB clears a connection's interrupt when a statement starts: one sent while the statement
    // is still being planned would be lost, so it is repeated until fn settles.
    let repeat: NodeJS.Timeout | undefined;
    const interrupt = (): void => {
      c.interrupt();
      repeat ??= setInterval(() => c.interrupt(), 20);
    };
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      if (signal?.aborted) throw new StatementInterrupted();
      return await fn(c);
    } catch (err) {
      if (signal?.aborted && /interrupt/i.test(String((err as Error).message))) throw new StatementInterrupted();
      throw err;
    } finally {
      clearInterval(repeat);
      signal?.removeEventListener('abort', interrupt);
      const next = this.waiting.shift();
      if (next) next(c);
      else {
        this.idle.push(c);
        if (this.idle.length === this.all.length) this.drained?.();
      }
    }
  }

  /**
   * Waits for the operations in flight, then closes every connection. Closing a connection under a
   * running statement is not safe: DuckDB then destroys the connection's context from inside that
   * statement, which deadlocks a libuv worker thread, and with it the process's exit.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.idle.length < this.all.length) await new Promise<void>((r) => (this.drained = r));
      for (const c of this.all) c.closeSync();
    })();
    return this.closing;
  }
}
