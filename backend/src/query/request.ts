import { StatementInterrupted, type FlowStore } from '../store/flow-store';
import { AdmissionCancelled, AdmissionRefused, type QueryAdmission } from './admission';
import { answer } from './answer';
import { checkCost, estimateCost, frameValues, ResponseBudget, type QueryLimits } from './cost';
import type { DataFrameJSON } from './frames';
import { checkQuery, defaultRefId, QueryError, type CheckedQuery, type Query } from './model';

/** A query stopped at its time limit (HTTP 503, as Prometheus answers a query timeout). */
export class QueryTimeout extends Error {
  readonly statusCode = 503;
}

/** The client went away (or cancelled) before its query finished. */
export class QueryCancelled extends Error {
  readonly statusCode = 499;
}

/** Answers being built or sent hold too many values already (HTTP 503: try again shortly). */
export class AnswersInFlight extends Error {
  readonly statusCode = 503;
}

export interface QueryRunnerOptions {
  store: FlowStore;
  admission: QueryAdmission;
  limits: QueryLimits;
  bucketMs: number;
  timeoutMs: number;
  /** Called with each query's kind and run time (metrics). */
  onAnswered?: (kind: string, seconds: number) => void;
}

export interface QueryResult {
  status: number;
  frames: DataFrameJSON[];
  error?: string;
}

/** The HTTP status a failed query answers with (its own, in a list). */
export function queryErrorStatus(err: unknown): number | null {
  if (err instanceof QueryError) return 400;
  if (err instanceof AdmissionRefused || err instanceof QueryTimeout || err instanceof QueryCancelled || err instanceof AnswersInFlight) return err.statusCode;
  return null;
}

/**
 * Runs the queries of one /api/query request, one after the other: each is checked (shape,
 * regular expressions in the store's engine, cost), waits for its place (admission), runs under
 * its time limit, and takes its answer's values from the request's budget.
 */
export class QueryRunner {
  /**
   * Values of answers held in memory, over all requests (built, not yet written out): bounded, so
   * many large answers at once cannot exhaust the heap; freed as each response is written.
   */
  private inFlight = 0;
  /** Patterns checked so far: null when the store takes it, else why not. */
  private readonly patterns = new Map<string, string | null>();

  constructor(private readonly o: QueryRunnerOptions) {}

  /**
   * `client`: who is asking (fair turns between clients); `signal`: the request is gone.
   * Errors of one query that are the query's own (400, 429, 503) are returned as its result when
   * `many`; anything else throws.
   */
  async run(list: readonly Query[], client: string, signal: AbortSignal, many: boolean): Promise<{ results: Map<string, QueryResult>; release: () => void }> {
    const results = new Map<string, QueryResult>();
    const budget = new ResponseBudget(this.o.limits.maxResponseValues);
    let held = 0;
    const release = (): void => {
      this.inFlight -= held;
      held = 0;
    };
    try {
      for (const [i, raw] of list.entries()) {
        const refId = raw.refId ?? defaultRefId(i);
        if (results.has(refId)) throw new QueryError(`duplicate refId "${refId}"`);
        try {
          const frames = await this.one(raw, i, client, signal);
          const values = frameValues(frames);
          budget.take(values, refId);
          // (One answer alone always goes out: its size is bounded by the per-request limit.)
          if (this.inFlight > 0 && this.inFlight + values > this.o.limits.maxInFlightValues) {
            throw new AnswersInFlight(`query ${refId}: the sidecar is sending answers of ${this.inFlight.toLocaleString('en-US')} values at the moment; try again shortly`);
          }
          this.inFlight += values;
          held += values;
          results.set(refId, { status: 200, frames });
        } catch (err) {
          const status = queryErrorStatus(err);
          if (status === null || !many) throw err;
          results.set(refId, { status, frames: [], error: (err as Error).message });
        }
      }
    } catch (err) {
      release();
      throw err;
    }
    return { results, release };
  }

  private async one(raw: Query, index: number, client: string, signal: AbortSignal): Promise<DataFrameJSON[]> {
    const q = checkQuery(raw, index, this.o.bucketMs);
    await this.checkPatterns(q);
    const captures = await this.o.store.listCaptures();
    const cost = estimateCost(q, captures);
    checkCost(q, cost, this.o.limits, captures);
    let release: () => void;
    try {
      release = await this.o.admission.enter(client, cost.heavy, signal);
    } catch (err) {
      if (err instanceof AdmissionCancelled) throw new QueryCancelled(`query ${q.refId}: ${err.message}`);
      if (err instanceof AdmissionRefused) throw new AdmissionRefused(`query ${q.refId}: ${err.message}`);
      throw err;
    }
    const limit = new AbortController();
    const timer = setTimeout(() => limit.abort(), this.o.timeoutMs);
    const both = AbortSignal.any([signal, limit.signal]);
    const started = performance.now();
    try {
      return (await answer(this.o.store, q, both)).frames;
    } catch (err) {
      if (!(err instanceof StatementInterrupted)) throw err;
      if (limit.signal.aborted) {
        throw new QueryTimeout(`query ${q.refId}: stopped at the time limit of ${this.o.timeoutMs / 1000} s (CAPSIGHT_QUERY_TIMEOUT): narrow the time range or the filters, or ask for fewer groups (topN)`);
      }
      throw new QueryCancelled(`query ${q.refId}: cancelled (the request was closed)`);
    } finally {
      clearTimeout(timer);
      release();
      this.o.onAnswered?.(q.kind, (performance.now() - started) / 1000);
    }
  }

  /** A query's checks (shape, filters, regular expressions) without running it: exports select flows with it. */
  async check(raw: Query): Promise<CheckedQuery> {
    const q = checkQuery(raw, 0, this.o.bucketMs);
    await this.checkPatterns(q);
    return q;
  }

  /** Regular expressions as the store's engine (RE2) reads them: what it refuses is the query's error, before it runs. */
  private async checkPatterns(q: CheckedQuery): Promise<void> {
    for (const f of q.filters) {
      if (f.operator !== '=~' && f.operator !== '!~') continue;
      const pattern = String(f.value);
      let why = this.patterns.get(pattern);
      if (why === undefined) {
        why = await this.o.store.checkPattern(pattern);
        // Dashboards send the same few patterns again and again: remember the last thousand.
        if (this.patterns.size >= 1000) this.patterns.delete(this.patterns.keys().next().value as string);
        this.patterns.set(pattern, why);
      }
      if (why) throw new QueryError(`query ${q.refId}: filter "${f.key}": the regular expression ${JSON.stringify(pattern)} is not one the store can run (RE2 syntax: no back-references or look-arounds, repetitions up to 1000): ${why}`);
    }
  }
}
