import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { timeStep } from './model';

/**
 * Time-series steps never fall below the stored bucket and are whole numbers of buckets (a 10 s
 * range at 1,000 points once came back in 10 ms steps, 990 of them zeros between full ones).
 */
describe('timeStep', () => {
  it('is a round step, at least the bucket, and a multiple of it', () => {
    expect(timeStep(10, 1000)).toBe(1000);
    expect(timeStep(1500, 1000)).toBe(2000);
    expect(timeStep(61_000, 1000)).toBe(120_000);
    expect(timeStep(10, 100)).toBe(100);
    expect(timeStep(150, 250)).toBe(1000);
    expect(timeStep(3 * 86_400_000 + 1, 1000)).toBe(4 * 86_400_000);
    for (const bucket of [100, 200, 250, 500, 1000, 2000, 5000, 60_000]) {
      for (let ms = 1; ms < 10_000_000; ms = Math.ceil(ms * 1.7)) {
        const s = timeStep(ms, bucket);
        expect([bucket, ms, s >= ms && s >= bucket && s % bucket === 0]).toEqual([bucket, ms, true]);
      }
    }
  });
});

describe('time series on the stored buckets', () => {
  let sidecar: RunningSidecar;
  let sub: RunningSidecar;
  const start = 1_767_225_600_000;
  const capture = generated({ bytes: 3_000_000, seed: 21, meanGapNs: 5_000_000 }); // a packet every ~5 ms: traffic in every 100 ms

  beforeAll(async () => {
    sidecar = await startSidecar();
    sub = await startSidecar({ bucket: '100ms' });
    expect((await upload(sidecar, 'g.pcap', capture)).status).toBe(201);
    expect((await upload(sub, 'g.pcap', capture)).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await sidecar?.close();
    await sub?.close();
  });

  async function series(s: RunningSidecar, q: Record<string, unknown>): Promise<{ step: number; times: number[]; values: number[] }> {
    const r = await postJson(s, '/api/query', { refId: 'A', kind: 'timeseries', metric: 'packets', ...q });
    expect(r.status).toBe(200);
    const f = (r.json.results as Record<string, { frames: { schema: { meta: { custom: { intervalMs: number } } }; data: { values: number[][] } }[] }>).A.frames[0];
    return { step: f.schema.meta.custom.intervalMs, times: f.data.values[0], values: f.data.values[1] };
  }

  it('a 10 s range at 1,000 points: 1 s steps, no empty step between full ones', async () => {
    const r = await series(sidecar, { from: start + 5_000, to: start + 15_000, maxDataPoints: 1000 });
    expect(r.step).toBe(1000);
    expect(r.times).toHaveLength(10);
    expect(r.values.every((v) => v > 0)).toBe(true);
  });

  it('Grafana\'s interval of 1.5 s becomes 2 s steps (whole buckets), and the sum is the range\'s total', async () => {
    const r = await series(sidecar, { from: start + 2_000, to: start + 18_000, intervalMs: 1500, maxDataPoints: 1000 });
    expect(r.step).toBe(2000);
    expect(r.values.every((v) => v > 0)).toBe(true);
    const fine = await series(sidecar, { from: start + 2_000, to: start + 18_000, maxDataPoints: 1000 });
    expect(r.values.reduce((a, b) => a + b, 0)).toBe(fine.values.reduce((a, b) => a + b, 0));
  });

  it('with 100 ms buckets, steps go down to 100 ms and no further', async () => {
    const r = await series(sub, { from: start + 5_000, to: start + 6_000, maxDataPoints: 1000 });
    expect(r.step).toBe(100);
    expect(r.times).toHaveLength(10);
    expect(r.values.every((v) => v > 0)).toBe(true);
  });
});
