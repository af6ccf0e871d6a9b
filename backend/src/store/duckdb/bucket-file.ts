import type { BucketBatch } from '../../model/flow';
import { ByteWriter } from '../../model/byte-writer';
import { StagingFile } from './flow-file';

/**
 * Staged bucket rows as a tab-separated file, loaded with the flow files on the ingest's DuckDB
 * connection (see DuckDbIngest). They went through an appender before: its rows are flushed to the
 * table on the ingest's connection, so every ~200 k rows the JavaScript thread waited for the
 * flow load running there (0.2-0.6 s each; 1.3 s of a 5.7 s parse of a 200 MB DNS-heavy capture).
 * Columns follow stage_buckets in schema.ts: flow_id, ts_ms, then the six counters.
 */
class BucketTsvWriter extends ByteWriter {
  rows(b: BucketBatch): void {
    const n = b.length;
    for (let i = 0; i < n; i++) {
      // Eight numbers of at most 21 characters and their separators.
      this.reserve(8 * 24);
      this.field(b.flowId[i]);
      this.field(b.startSec[i] * 1000 + Math.floor(b.startNs[i] / 1e6));
      this.field(b.srcPkts[i]);
      this.field(b.srcBytes[i]);
      this.field(b.dstPkts[i]);
      this.field(b.dstBytes[i]);
      this.field(b.srcRetrans[i]);
      this.last(b.dstRetrans[i]);
    }
  }

  /** Counters and ids are non-negative integers; a time before 1970 is negative. */
  private field(n: number): void {
    this.decimal(n);
    this.byte(0x09);
  }

  private last(n: number): void {
    this.decimal(n);
    this.byte(0x0a);
  }
}

export class BucketFile extends StagingFile<BucketTsvWriter> {
  constructor(path: string) {
    super(path, (sink) => new BucketTsvWriter(sink));
  }

  /** Copies the batch's rows (the engine reuses the batch). */
  write(b: BucketBatch): void {
    this.open().rows(b);
    this.rows += b.length;
  }
}
