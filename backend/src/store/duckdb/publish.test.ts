import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateCapture } from '../../synth/generator';
import { profileOptions } from '../../synth/profiles';
import { postJson, startSidecar, waitForJob, type RunningSidecar } from '../../testing/sidecar';

/**
 * A flow-heavy capture publishes within the store's default memory limit (256 MiB): its bucket
 * rows are joined with their flows a range of flows at a time. One join over all 650 k flows of
 * this DNS-heavy capture failed with "could not allocate block" (two imports in three).
 */
let sidecar: RunningSidecar;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-publish-'));
const file = path.join(dir, 'dns.pcap');

beforeAll(async () => {
  const fd = fs.openSync(file, 'w');
  generateCapture(profileOptions('dns', 200_000_000, 1), (c) => fs.writeSync(fd, c));
  fs.closeSync(fd);
  sidecar = await startSidecar({ 'import-dirs': dir });
}, 120_000);

afterAll(async () => {
  await sidecar?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('publishes a DNS-heavy capture of 650 k flows: every flow and packet queryable', async () => {
  const r = await postJson(sidecar, '/api/imports', { path: file });
  expect(r.status).toBe(202);
  const job = await waitForJob(sidecar, String(r.json.id), 180_000);
  expect([job.state, job.error]).toEqual(['done', null]);
  const q = await postJson(sidecar, '/api/query', { queries: [{ refId: 'F', kind: 'timeseries', metric: 'flows', maxDataPoints: 1 }, { refId: 'P', kind: 'timeseries', metric: 'packets', maxDataPoints: 1 }] });
  const sum = (id: string): number =>
    (q.json.results as Record<string, { frames: { data: { values: number[][] } }[] }>)[id].frames.reduce((a, f) => a + f.data.values[1].reduce((x, y) => x + y, 0), 0);
  const [capture] = (await (await sidecar.call('/api/captures')).json()) as { flows: number; packets: number }[];
  expect(capture.flows).toBeGreaterThan(600_000);
  expect(sum('F')).toBe(capture.flows);
  expect(sum('P')).toBe(capture.packets);
}, 240_000);
