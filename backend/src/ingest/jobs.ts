import { randomUUID } from 'node:crypto';
import type { FlowStore, JobRecord } from '../store/flow-store';
import { redactText } from '../security/redact';
import { IngestCancelled } from './pipeline';

/** What a running job reports and can be asked. */
export interface JobContext {
  signal: AbortSignal;
  progress(p: Partial<Pick<JobRecord, 'bytesDone' | 'bytesTotal' | 'packets' | 'flows' | 'filesTotal' | 'filesDone' | 'name'>>): void;
}

export interface JobOutcome {
  result: string;
  captureId: string | null;
  packets?: number;
  flows?: number;
}

export type JobTask = (ctx: JobContext) => Promise<JobOutcome>;

/** A job as the API shows it: the record plus rate and ETA. */
export interface JobView extends JobRecord {
  bytesPerSec: number | null;
  etaSec: number | null;
}

interface Live {
  record: JobRecord;
  task: JobTask;
  abort: AbortController;
  startedAtMs: number;
  /** Gives back what the job holds from its request on (an open file), however it ends. */
  release?: () => void;
}

/**
 * Ingest jobs: a queue with a concurrency limit, progress, cancel. Records are saved on every
 * state change (progress is kept in memory), so the job list survives a restart; jobs that were
 * queued or running when the process died are reported as failed, with the reason.
 */
export class JobManager {
  private readonly live = new Map<string, Live>();
  private readonly queue: string[] = [];
  private running = 0;
  private readonly listeners = new Set<(j: JobRecord) => void>();
  private readonly idle: (() => void)[] = [];

  constructor(
    private readonly store: FlowStore,
    private readonly concurrency: number,
    private readonly log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void },
  ) {}

  /** Marks jobs a previous process left unfinished. */
  async recover(): Promise<void> {
    for (const j of await this.store.unfinishedJobs()) {
      await this.store.saveJob({ ...j, state: 'failed', finishedAt: new Date().toISOString(), error: 'interrupted by a restart of the sidecar; nothing of it was stored: import it again' });
    }
  }

  onChange(fn: (j: JobRecord) => void): void {
    this.listeners.add(fn);
  }

  /**
   * Queues a task; every kind of import waits for its turn under the one concurrency limit (an
   * upload's client waits, its bytes held back by TCP, until the upload's turn comes).
   */
  submit(kind: JobRecord['kind'], name: string, source: string, task: JobTask, release?: () => void): JobRecord {
    const record: JobRecord = {
      id: randomUUID(),
      kind,
      source,
      name,
      state: 'queued',
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      bytesDone: 0,
      bytesTotal: null,
      packets: 0,
      flows: 0,
      error: null,
      result: null,
      captureId: null,
      filesTotal: null,
      filesDone: 0,
    };
    this.live.set(record.id, { record, task, abort: new AbortController(), startedAtMs: 0, release });
    this.changed(record);
    this.queue.push(record.id);
    this.pump();
    return record;
  }

  /** Resolves when the job has finished (done, failed or cancelled). */
  async wait(id: string): Promise<JobRecord | null> {
    for (;;) {
      const j = this.live.get(id);
      if (!j) return (await this.get(id)) ?? null;
      if (j.record.state !== 'queued' && j.record.state !== 'running') return j.record;
      await new Promise<void>((r) => this.idle.push(r));
    }
  }

  async get(id: string): Promise<JobView | null> {
    const l = this.live.get(id);
    if (l) return this.view(l);
    const stored = await this.store.getJob(id);
    return stored ? { ...stored, bytesPerSec: null, etaSec: null } : null;
  }

  async list(limit = 100): Promise<JobView[]> {
    const stored = await this.store.listJobs(limit);
    return stored.map((j) => {
      const l = this.live.get(j.id);
      return l ? this.view(l) : { ...j, bytesPerSec: null, etaSec: null };
    });
  }

  /** Cancels a queued or running job; false when it had already finished or does not exist. */
  cancel(id: string): boolean {
    const l = this.live.get(id);
    if (!l || (l.record.state !== 'queued' && l.record.state !== 'running')) return false;
    l.abort.abort();
    if (l.record.state === 'queued') {
      this.queue.splice(this.queue.indexOf(id), 1);
      this.finish(l, 'cancelled', null, null);
    }
    return true;
  }

  /**
   * Cancels every queued and running job and waits until they have stopped (before the store
   * closes: an ingest writing into a closed store would never finish). Their records say why.
   */
  async shutdown(): Promise<void> {
    const open = [...this.live.values()].filter((l) => l.record.state === 'queued' || l.record.state === 'running').map((l) => l.record.id);
    for (const id of open) this.cancel(id);
    for (const id of open) await this.wait(id);
  }

  counts(): Record<string, number> {
    const c: Record<string, number> = { queued: 0, running: 0 };
    for (const l of this.live.values()) c[l.record.state] = (c[l.record.state] ?? 0) + 1;
    return c;
  }

  private view(l: Live): JobView {
    const r = l.record;
    let bytesPerSec: number | null = null;
    let etaSec: number | null = null;
    if (r.state === 'running' && l.startedAtMs > 0) {
      const sec = (Date.now() - l.startedAtMs) / 1000;
      if (sec > 0.2 && r.bytesDone > 0) {
        bytesPerSec = r.bytesDone / sec;
        if (r.bytesTotal) etaSec = Math.max(0, (r.bytesTotal - r.bytesDone) / bytesPerSec);
      }
    }
    return { ...r, bytesPerSec, etaSec };
  }

  private pump(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      void this.start(this.queue.shift() as string);
    }
  }

  private async start(id: string): Promise<void> {
    const l = this.live.get(id);
    if (!l) return;
    this.running++;
    l.record.state = 'running';
    l.record.startedAt = new Date().toISOString();
    l.startedAtMs = Date.now();
    this.changed(l.record);
    const ctx: JobContext = {
      signal: l.abort.signal,
      progress: (p) => Object.assign(l.record, p),
    };
    try {
      const out = await l.task(ctx);
      if (out.packets !== undefined) l.record.packets = out.packets;
      if (out.flows !== undefined) l.record.flows = out.flows;
      this.finish(l, 'done', null, out);
    } catch (err) {
      if (l.abort.signal.aborted || err instanceof IngestCancelled) this.finish(l, 'cancelled', null, null);
      else this.finish(l, 'failed', redactText((err as Error).message ?? String(err)), null);
    } finally {
      this.running--;
      this.pump();
    }
  }

  private finish(l: Live, state: JobRecord['state'], error: string | null, out: JobOutcome | null): void {
    const r = l.record;
    l.release?.();
    r.state = state;
    r.error = error;
    r.finishedAt = new Date().toISOString();
    if (out) {
      r.result = out.result;
      r.captureId = out.captureId;
    }
    if (state === 'failed') this.log.warn({ job: r.id, kind: r.kind, source: r.source, error }, 'import failed');
    else this.log.info({ job: r.id, kind: r.kind, source: r.source, state, result: r.result, captureId: r.captureId, bytes: r.bytesDone }, 'import finished');
    this.changed(r);
    // Finished jobs live on in the store only.
    setTimeout(() => this.live.delete(r.id), 60_000).unref();
    for (const wake of this.idle.splice(0)) wake();
  }

  private changed(r: JobRecord): void {
    void this.store.saveJob({ ...r }).catch((err: unknown) => this.log.warn({ job: r.id, err: String(err) }, 'cannot save job record'));
    for (const fn of this.listeners) fn(r);
  }
}
