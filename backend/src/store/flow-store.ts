import { randomBytes } from 'node:crypto';
import type { EndpointInfo } from '../enrich/enricher';
import type { BucketBatch, FlowRecord } from '../model/flow';
import type { CheckedQuery } from '../query/model';

/** A capture as listed by the API (never holds a secret: `source` is redacted before it gets here). */
export interface CaptureInfo {
  /** Given when its import starts (newCaptureId): flows are stored under it while the capture is read. */
  id: string;
  sha256: string;
  name: string;
  source: string;
  sourceKind: 'url' | 'upload' | 'path' | 'watch' | 'demo';
  etag: string | null;
  size: number;
  format: string | null;
  compressed: boolean;
  /** First/last packet, ns since the epoch (bigint: ns timestamps exceed 2^53). */
  firstNs: bigint | null;
  lastNs: bigint | null;
  packets: number;
  bytes: number;
  flows: number;
  linkTypes: Record<string, number>;
  problems: Record<string, number>;
  damage: string | null;
  azure: { subscription: string; resourceGroup: string; vm: string } | null;
  ingestedAt: string;
}

export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobRecord {
  id: string;
  kind: 'url' | 'upload' | 'path' | 'watch' | 'demo';
  source: string;
  name: string;
  state: JobState;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  bytesDone: number;
  bytesTotal: number | null;
  packets: number;
  flows: number;
  error: string | null;
  /** "ingested", or "already ingested" when the capture was known (nothing was counted twice). */
  result: string | null;
  captureId: string | null;
  /** Files of a directory import: how many, and how many done. */
  filesTotal: number | null;
  filesDone: number;
}

export interface WatchRecord {
  id: string;
  /** Container URL without its SAS, or "account/container" for other credentials. */
  container: string;
  prefix: string;
  intervalSec: number;
  createdAt: string;
  lastPollAt: string | null;
  lastError: string | null;
  /** Blob versions this watch ingested (derived from its checkpoints). */
  blobsIngested: number;
}

/** A flow ready for storage: the engine's record plus both ends' enrichment. */
export interface StoredFlow {
  flow: FlowRecord;
  src: EndpointInfo;
  dst: EndpointInfo;
}

/** Writes one capture. Nothing is visible to queries until commit; abort (or a crash) leaves nothing. */
export interface IngestSink {
  addFlows(flows: readonly StoredFlow[]): Promise<void>;
  /** Copies the batch (the engine reuses it) before returning. */
  addBuckets(batch: BucketBatch): Promise<void>;
  /**
   * No more rows come: the store may start publishing them (invisible until commit) while the
   * caller still works out the capture row (its SHA-256). Optional to call; commit() does it too.
   */
  inputEnded(): void;
  /** Stores the capture row and publishes everything at once; "duplicate" when the sha256 is known. */
  commit(capture: CaptureInfo): Promise<'ingested' | 'duplicate'>;
  abort(): Promise<void>;
}

/**
 * A capture's id: 16 random hex digits, given before its bytes are read, so the store can load its
 * flows under it while the import runs. The capture's identity for deduplication is its SHA-256,
 * known only at the end.
 */
export function newCaptureId(): string {
  return randomBytes(8).toString('hex');
}

/** A statement stopped because its caller's signal fired (time limit, client gone). */
export class StatementInterrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** Columns of a query answer, by name; numbers as JS numbers, text as strings. */
export type ResultColumns = Record<string, (string | number | boolean | null)[]>;

/**
 * Everything the sidecar keeps. The embedded implementation is DuckDB; another engine (ClickHouse)
 * implements the same interface with its own SQL dialect, and ingest and the query API stay as they are.
 */
export interface FlowStore {
  close(): Promise<void>;

  /** An ingest whose rows are stored under captureId (invisible until its commit). */
  openIngest(captureId: string): Promise<IngestSink>;
  findCapture(by: { sha256?: string; id?: string; etagOf?: { source: string; etag: string } }): Promise<CaptureInfo | null>;
  listCaptures(): Promise<CaptureInfo[]>;
  deleteCapture(id: string): Promise<boolean>;
  /** Captures and flows stored, from memory (answers at once, whatever the store is doing). */
  summary(): { captures: number; flows: number };
  /** Why the store's regular-expression engine refuses `pattern`, or null when it takes it. */
  checkPattern(pattern: string): Promise<string | null>;

  saveJob(job: JobRecord): Promise<void>;
  listJobs(limit: number): Promise<JobRecord[]>;
  getJob(id: string): Promise<JobRecord | null>;
  /** Jobs recorded as queued or running (after a restart: the ones the old process left). */
  unfinishedJobs(): Promise<JobRecord[]>;

  saveWatch(watch: WatchRecord): Promise<void>;
  listWatches(): Promise<WatchRecord[]>;
  deleteWatch(id: string): Promise<boolean>;
  /** Whether the watch already took this blob version. */
  watchSeen(watchId: string, blob: string, etag: string): Promise<boolean>;
  /** Checkpoints a blob version with how its import ended ("ingested", "already ingested", "failed: ..."). */
  markWatchSeen(watchId: string, blob: string, etag: string, result: string): Promise<void>;

  /** Answers a checked query; the columns of each kind are listed in query/results.ts. */
  /** `signal` interrupts the statement (StatementInterrupted): a time limit, a client gone. */
  run(query: CheckedQuery, signal?: AbortSignal): Promise<ResultColumns>;
  /** End of the last traffic in the query's range under its filters (epoch ms, rounded up to a second), null when there is none. */
  latestActivityMs(query: CheckedQuery, signal?: AbortSignal): Promise<number | null>;

  /** Ids of the flows the query's range and filters select, per capture, ascending (pcap slices). */
  selectedFlows(query: CheckedQuery, signal?: AbortSignal): Promise<Map<string, Uint32Array>>;
  /**
   * Every selected flow under the CLI's field names, as files of a page of rows each (CSV rows
   * without a header, or ndjson lines), capture by capture (in time order), flows in ranges of ids.
   * The caller streams each file
   * and deletes it before asking for the next.
   */
  exportFlowPages(query: CheckedQuery, format: 'csv' | 'ndjson', signal?: AbortSignal): AsyncGenerator<string>;
}
