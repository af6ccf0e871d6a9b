import { AdmissionCancelled, AdmissionRefused, QueryAdmission } from './admission';

/** Records the order in which waiting queries are admitted. */
function recorder(a: QueryAdmission) {
  const order: string[] = [];
  const releases = new Map<string, () => void>();
  const enter = (name: string, client: string, heavy: boolean, signal?: AbortSignal): Promise<void> =>
    a.enter(client, heavy, signal).then((release) => {
      order.push(name);
      releases.set(name, release);
    });
  const release = async (name: string): Promise<void> => {
    (releases.get(name) as () => void)();
    await new Promise((r) => setImmediate(r));
  };
  return { order, enter, release };
}

describe('query admission', () => {
  it('keeps a place for light queries whatever heavy ones do', async () => {
    const a = new QueryAdmission({ slots: 3, heavySlots: 2, maxWaitingPerClient: 8 });
    const r = recorder(a);
    await Promise.all([r.enter('h1', 'x', true), r.enter('h2', 'x', true)]);
    void r.enter('h3', 'x', true);
    await r.enter('l1', 'y', false);
    expect(r.order).toEqual(['h1', 'h2', 'l1']);
    expect(a.stats()).toEqual({ running: 3, runningHeavy: 2, waiting: 1 });
    await r.release('h1');
    expect(r.order).toEqual(['h1', 'h2', 'l1', 'h3']);
  });

  it('serves waiting clients in turn, not in arrival order', async () => {
    const a = new QueryAdmission({ slots: 2, heavySlots: 1, maxWaitingPerClient: 8 });
    const r = recorder(a);
    await Promise.all([r.enter('a0', 'a', false), r.enter('a1', 'a', false)]);
    // Client a queues four more before b and c ask once each.
    for (const n of ['a2', 'a3', 'a4', 'a5']) void r.enter(n, 'a', false);
    void r.enter('b0', 'b', false);
    void r.enter('c0', 'c', false);
    for (const n of ['a0', 'a1', 'a2', 'b0', 'c0', 'a3']) await r.release(n);
    expect(r.order).toEqual(['a0', 'a1', 'a2', 'b0', 'c0', 'a3', 'a4', 'a5']);
  });

  it('refuses a client with too many queries waiting (429) and lets others in', async () => {
    const a = new QueryAdmission({ slots: 2, heavySlots: 1, maxWaitingPerClient: 2 });
    const r = recorder(a);
    await r.enter('h0', 'a', true);
    void r.enter('h1', 'a', true);
    void r.enter('h2', 'a', true);
    await expect(a.enter('a', true)).rejects.toThrow(new AdmissionRefused('too many queries waiting from this client (2): wait for the running ones to finish'));
    await expect(a.enter('a', true)).rejects.toMatchObject({ statusCode: 429 });
    await r.enter('l0', 'b', false);
    expect(r.order).toEqual(['h0', 'l0']);
  });

  it('drops a waiting query whose request is gone', async () => {
    const a = new QueryAdmission({ slots: 2, heavySlots: 1, maxWaitingPerClient: 8 });
    const r = recorder(a);
    await r.enter('h0', 'a', true);
    const gone = new AbortController();
    const waiting = a.enter('a', true, gone.signal);
    void r.enter('h2', 'b', true);
    gone.abort();
    await expect(waiting).rejects.toBeInstanceOf(AdmissionCancelled);
    await r.release('h0');
    expect(r.order).toEqual(['h0', 'h2']);
    expect(a.stats()).toEqual({ running: 1, runningHeavy: 1, waiting: 0 });
  });

  it('lets heavy queries take turns with a stream of light ones', async () => {
    const a = new QueryAdmission({ slots: 2, heavySlots: 1, maxWaitingPerClient: 8 });
    const r = recorder(a);
    await Promise.all([r.enter('l0', 'x', false), r.enter('l1', 'y', false)]);
    void r.enter('h0', 'z', true);
    for (const n of ['l2', 'l3']) void r.enter(n, 'x', false);
    await r.release('l0');
    await r.release('l1');
    expect(r.order).toEqual(['l0', 'l1', 'l2', 'h0']);
  });
});
