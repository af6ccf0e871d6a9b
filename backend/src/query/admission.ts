/**
 * Which query runs next. A fixed number of queries run in the store at once; heavy ones (by their
 * estimated cost) may take only some of those places, so a light query (a variable's values, a
 * stat panel) always finds one. Waiting queries are taken client by client in turn, not in arrival
 * order: one client's burst cannot push every other client's queries behind it. A client that
 * already has too many queries waiting is told to slow down (HTTP 429).
 */
/**
 * Places for heavy queries out of `slots`: one per core beyond the first, at most all but one.
 * On a two-core machine one heavy query runs at a time; the rest of the CPU stays with light
 * queries and the event loop.
 */
export function heavySlotsFor(slots: number, cores: number): number {
  return Math.max(1, Math.min(slots - 1, cores - 1));
}

export class AdmissionRefused extends Error {
  readonly statusCode = 429;
}

export class AdmissionCancelled extends Error {}

export interface AdmissionLimits {
  /** Queries running at once. */
  slots: number;
  /** Of those, heavy queries at most. */
  heavySlots: number;
  /** Queries one client may have waiting. */
  maxWaitingPerClient: number;
}

interface Waiter {
  client: string;
  heavy: boolean;
  admit: () => void;
}

/** Waiters of one lane, served client by client in turn. */
class Lane {
  private readonly byClient = new Map<string, Waiter[]>();
  /** Clients with waiters, in the order they are served next. */
  private readonly turn: string[] = [];

  /** Waiters in the lane. */
  size = 0;

  waitingOf(client: string): number {
    return this.byClient.get(client)?.length ?? 0;
  }

  push(w: Waiter): void {
    let q = this.byClient.get(w.client);
    if (!q) {
      this.byClient.set(w.client, (q = []));
      this.turn.push(w.client);
    }
    q.push(w);
    this.size++;
  }

  /** The next waiter: the oldest of the client whose turn it is; that client goes to the back. */
  shift(): Waiter | undefined {
    const client = this.turn.shift();
    if (client === undefined) return undefined;
    const q = this.byClient.get(client) as Waiter[];
    const w = q.shift() as Waiter;
    this.size--;
    if (q.length > 0) this.turn.push(client);
    else this.byClient.delete(client);
    return w;
  }

  remove(w: Waiter): boolean {
    const q = this.byClient.get(w.client);
    const i = q?.indexOf(w) ?? -1;
    if (!q || i < 0) return false;
    q.splice(i, 1);
    this.size--;
    if (q.length === 0) {
      this.byClient.delete(w.client);
      this.turn.splice(this.turn.indexOf(w.client), 1);
    }
    return true;
  }
}

export class QueryAdmission {
  private running = 0;
  private runningHeavy = 0;
  private readonly light = new Lane();
  private readonly heavy = new Lane();
  private heavyNext = false;

  constructor(private readonly limits: AdmissionLimits) {
    if (limits.heavySlots >= limits.slots) throw new Error('heavy queries must leave at least one place to light ones');
  }

  /** Counts for /metrics and tests. */
  stats(): { running: number; runningHeavy: number; waiting: number } {
    return { running: this.running, runningHeavy: this.runningHeavy, waiting: this.light.size + this.heavy.size };
  }

  /**
   * Waits for a place; resolves with the function that gives it back (call it exactly once).
   * Rejects with AdmissionRefused when the client has too many queries waiting, with
   * AdmissionCancelled when `signal` fires first.
   */
  enter(client: string, heavy: boolean, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new AdmissionCancelled('cancelled before it ran'));
    if (this.fits(heavy) && this.light.size === 0 && (!heavy || this.heavy.size === 0)) return Promise.resolve(this.take(heavy));
    const lane = heavy ? this.heavy : this.light;
    if (lane.waitingOf(client) >= this.limits.maxWaitingPerClient) {
      return Promise.reject(new AdmissionRefused(`too many queries waiting from this client (${this.limits.maxWaitingPerClient}): wait for the running ones to finish`));
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (lane.remove(waiter)) reject(new AdmissionCancelled('cancelled while waiting to run'));
      };
      const waiter: Waiter = {
        client,
        heavy,
        admit: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.take(heavy));
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      lane.push(waiter);
    });
  }

  private fits(heavy: boolean): boolean {
    return this.running < this.limits.slots && (!heavy || this.runningHeavy < this.limits.heavySlots);
  }

  private take(heavy: boolean): () => void {
    this.running++;
    if (heavy) this.runningHeavy++;
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.running--;
      if (heavy) this.runningHeavy--;
      this.dispatch();
    };
  }

  /**
   * Fills free places. When both lanes wait and both fit, they take turns (heavy queries are not
   * starved by a stream of light ones; light ones keep their own place whatever heavy ones do).
   */
  private dispatch(): void {
    for (;;) {
      const light = this.light.size > 0 && this.fits(false);
      const heavy = this.heavy.size > 0 && this.fits(true);
      if (!light && !heavy) return;
      const takeHeavy = heavy && (!light || this.heavyNext);
      this.heavyNext = !takeHeavy;
      ((takeHeavy ? this.heavy : this.light).shift() as Waiter).admit();
    }
  }
}
