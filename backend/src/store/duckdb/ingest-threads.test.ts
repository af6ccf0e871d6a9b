import { DuckDBInstance } from '@duckdb/node-api';
import { IngestThreads } from './ingest-threads';

/** The thread setting while ingests are open, on a real DuckDB instance (in memory). */
describe('IngestThreads', () => {
  it('runs DuckDB on one thread while any ingest is open and restores the setting after the last', async () => {
    const db = await DuckDBInstance.create(':memory:', { threads: '3' });
    const probe = await db.connect();
    const threads = async (): Promise<number> => Number((await probe.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0][0]);
    const ingests = await IngestThreads.open(await db.connect());
    try {
      const first = await ingests.enter();
      expect(await threads()).toBe(1);
      // A second ingest while the first is open: the first to close leaves the setting to the other.
      const second = await ingests.enter();
      await first();
      expect(await threads()).toBe(1);
      await first(); // a second release of the same ingest changes nothing
      expect(await threads()).toBe(1);
      await second();
      expect(await threads()).toBe(3);
      // And again from the start.
      const third = await ingests.enter();
      expect(await threads()).toBe(1);
      await third();
      expect(await threads()).toBe(3);
    } finally {
      await ingests.close();
      probe.closeSync();
      db.closeSync();
    }
  });
});
