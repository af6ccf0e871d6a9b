import { DuckDBInstance } from '@duckdb/node-api';
import { ConnectionPool } from './pool';

describe('connection pool', () => {
  it('lets statements in flight finish before it closes their connections, then refuses new ones', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const pool = await ConnectionPool.create(instance, 2);
    // Long enough (hundreds of ms) that close() is called while DuckDB is executing it.
    const slow = pool.use(async (c) => (await c.runAndReadAll('SELECT count(*) FROM range(100000000) t(i) WHERE hash(i) % 7 = 0')).getRowsJS()[0][0]);
    const order: string[] = [];
    const running = slow.then((n) => order.push(`query ${String(Number(n) > 0)}`));
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([pool.close(), pool.close()]).then(() => order.push('closed')); // a second close waits too
    await running;
    expect(order).toEqual(['query true', 'closed']);
    await expect(pool.use((c) => c.run('SELECT 1'))).rejects.toThrow('the store is closed');
    instance.closeSync();
  });
});
