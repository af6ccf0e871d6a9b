import type { BucketBatch } from '../model/flow';

/** Bucket width helpers: widths are whole seconds, or divisors of one second. */
export interface BucketClock {
  widthNs: number;
  /** Whole seconds per bucket, 0 for sub-second buckets. */
  wholeSec: number;
  /** Buckets per second for sub-second buckets, 0 otherwise. */
  perSec: number;
}

export function bucketClock(widthNs: number): BucketClock {
  if (!Number.isInteger(widthNs) || widthNs <= 0) throw new RangeError(`bucket width must be a positive number of nanoseconds, got ${widthNs}`);
  if (widthNs % 1_000_000_000 === 0) return { widthNs, wholeSec: widthNs / 1_000_000_000, perSec: 0 };
  if (1_000_000_000 % widthNs === 0) return { widthNs, wholeSec: 0, perSec: 1_000_000_000 / widthNs };
  throw new RangeError(`bucket width ${widthNs} ns is neither a whole number of seconds nor a divisor of one second`);
}

/** Collects bucket rows in columnar batches and hands each full batch to the sink. */
export class BucketWriter {
  private batch: BucketBatch;

  constructor(
    private readonly clock: BucketClock,
    private readonly sink: ((batch: BucketBatch) => void) | null,
    private readonly capacity = 8192,
  ) {
    // Without a sink nothing is written: no columns (8192 rows of nine cost a CLI run ~2 ms of its start).
    this.batch = BucketWriter.alloc(sink === null ? 0 : capacity);
  }

  private static alloc(n: number): BucketBatch {
    return {
      length: 0,
      flowId: new Float64Array(n),
      startSec: new Float64Array(n),
      startNs: new Uint32Array(n),
      srcPkts: new Float64Array(n),
      srcBytes: new Float64Array(n),
      dstPkts: new Float64Array(n),
      dstBytes: new Float64Array(n),
      srcRetrans: new Float64Array(n),
      dstRetrans: new Float64Array(n),
    };
  }

  /** The start of a bucket in epoch ms, as the store writes a row's (floored to the millisecond). */
  startMs(bucket: number): number {
    const c = this.clock;
    if (c.wholeSec !== 0) return bucket * c.wholeSec * 1000;
    const sec = Math.floor(bucket / c.perSec);
    return sec * 1000 + Math.floor(((bucket - sec * c.perSec) * c.widthNs) / 1e6);
  }

  add(flowId: number, bucket: number, srcPkts: number, srcBytes: number, dstPkts: number, dstBytes: number, srcRetrans: number, dstRetrans: number): void {
    if (this.sink === null) return;
    const b = this.batch;
    const i = b.length;
    const c = this.clock;
    b.flowId[i] = flowId;
    if (c.wholeSec !== 0) {
      b.startSec[i] = bucket * c.wholeSec;
      b.startNs[i] = 0;
    } else {
      const sec = Math.floor(bucket / c.perSec);
      b.startSec[i] = sec;
      b.startNs[i] = (bucket - sec * c.perSec) * c.widthNs;
    }
    b.srcPkts[i] = srcPkts;
    b.srcBytes[i] = srcBytes;
    b.dstPkts[i] = dstPkts;
    b.dstBytes[i] = dstBytes;
    b.srcRetrans[i] = srcRetrans;
    b.dstRetrans[i] = dstRetrans;
    b.length = i + 1;
    if (b.length === this.capacity) this.flush();
  }

  /** Hands the pending rows to the sink. The sink must copy what it keeps: the batch is reused. */
  flush(): void {
    if (this.sink === null || this.batch.length === 0) return;
    this.sink(this.batch);
    this.batch.length = 0;
  }
}
