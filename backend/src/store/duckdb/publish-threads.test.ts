import { DuckDBInstance } from '@duckdb/node-api';
import { PublishThreads, ROW_GROUP_ROWS } from './publish-threads';

/** The thread setting around publishes, on a real DuckDB instance (in memory). */
describe('PublishThreads', () => {
  it('runs small publishes on one thread, overlapping ones too, and restores the setting after the last', async () => {
    const db = await DuckDBInstance.create(':memory:', { threads: '3' });
    const probe = await db.connect();
    const threads = async (): Promise<number> => Number((await probe.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0][0]);
    const around = await PublishThreads.open(await db.connect());
    try {
      expect(await around.around({ flows: 41_000, buckets: 59_000 }, threads)).toBe(1);
      expect(await threads()).toBe(3);
      // A publish of a row group or more keeps every thread.
      expect(await around.around({ flows: ROW_GROUP_ROWS, buckets: 10 }, threads)).toBe(3);
      expect(await around.around({ flows: 10, buckets: ROW_GROUP_ROWS }, threads)).toBe(3);
      // Two at once: the first to end leaves the setting to the other.
      let endSecond: () => void = () => undefined;
      const second = around.around({ flows: 5, buckets: 5 }, () => new Promise<number>((r) => (endSecond = () => void threads().then(r))));
      expect(await around.around({ flows: 5, buckets: 5 }, threads)).toBe(1);
      expect(await threads()).toBe(1);
      endSecond();
      expect(await second).toBe(1);
      expect(await threads()).toBe(3);
      // A failing publish restores it too.
      await expect(around.around({ flows: 5, buckets: 5 }, () => Promise.reject(new Error('broken')))).rejects.toThrow('broken');
      expect(await threads()).toBe(3);
    } finally {
      around.close();
      probe.closeSync();
      db.closeSync();
    }
  });
});
