import { Enricher } from '../enrich/enricher';
import { enrichmentConfig } from '../server/app';
import { SCENARIO, scenarioCapture } from '../synth/scenario';
import { alertingView } from '../testing/alerting-shape';
import { query, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { median, robustChange } from './anomaly';
import type { DataFrameJSON } from './frames';

/**
 * The anomaly detectors on a capture with a known story (synth/scenario.ts): steady office traffic
 * for 80 minutes with, at known minutes, an HTTP volume spike (60-64), a connection to a new
 * country (66), a port scan (71) and a surge of refused connections and NXDOMAIN answers (75-79);
 * and the same capture without them. Every event must be found, exactly; the clean twin must give
 * nothing to alert on; every answer must be one alerting reads.
 */
const START = 1_767_225_600;
const ms = (minute: number): number => (START + minute * 60) * 1000;

let sidecar: RunningSidecar;
let injected: string;
let clean: string;

async function detect(capture: string, q: Record<string, unknown>): Promise<DataFrameJSON[]> {
  const r = await query(sidecar, { ...q, filters: [...((q.filters as unknown[]) ?? []), { key: 'capture', operator: '=', value: capture }] });
  if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.message}`);
  const frames = r.frames as unknown as DataFrameJSON[];
  expect(alertingView(frames).problems).toEqual([]);
  return frames;
}

/** label values -> number, for a numeric-long answer. */
function numbers(frames: DataFrameJSON[]): Record<string, number> {
  const f = frames[0];
  if (f.schema.fields.length === 0) return {};
  const n = f.schema.fields.findIndex((x) => x.type === 'number');
  const labels = f.schema.fields.map((x, i) => (x.type === 'string' ? i : -1)).filter((i) => i >= 0);
  const out: Record<string, number> = {};
  f.data.values[n].forEach((v, r) => (out[labels.map((i) => f.data.values[i][r]).join('|')] = v as number));
  return out;
}

beforeAll(async () => {
  sidecar = await startSidecar();
  const a = await upload(sidecar, 'story.pcap', scenarioCapture({ startSec: START, minutes: 80, spikeAt: 60, newCountryAt: 66, scanAt: 71, failuresAt: 75 }));
  const b = await upload(sidecar, 'quiet.pcap', scenarioCapture({ startSec: START, minutes: 80 }));
  expect([a.status, b.status]).toEqual([201, 201]);
  injected = String(a.json.captureId);
  clean = String(b.json.captureId);
}, 120_000);

afterAll(async () => {
  await sidecar?.close();
});

describe('robust statistics', () => {
  it('median and robust change', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    // MAD 1 -> spread 1.4826; median 10: floors 0.5, sqrt 3.16 -> spread 3.16.
    expect(robustChange(20, [9, 10, 11, 10, 10])).toEqual({ current: 20, baseline: 10, score: 10 / Math.sqrt(10), ratio: 21 / 11 });
    // A flat zero baseline: spread 1.
    expect(robustChange(40, [0, 0, 0])).toMatchObject({ score: 40, ratio: 41 });
    // A wide baseline: 1.4826 x MAD.
    expect(robustChange(1000, [100, 300, 500, 700, 900]).score).toBeCloseTo((1000 - 500) / (1.4826 * 200), 10);
  });
});

describe('anomaly detectors on a capture with a known story', () => {
  it('the addresses are in the countries the story needs (checked with the real enrichment)', async () => {
    const enricher = await Enricher.load(enrichmentConfig(sidecar.config));
    const countries = new Set(SCENARIO.servers.map((s) => enricher.lookup(s).country));
    const fresh = enricher.lookup(SCENARIO.newServer).country;
    expect(fresh).toBe('BR');
    expect(countries.has(fresh)).toBe(false);
  });

  it('volume_change: the HTTP spike in minutes 60-64, and nothing else', async () => {
    const range = { kind: 'volume_change', groupBy: ['app'], from: ms(0), to: ms(65) };
    const score = numbers(await detect(injected, range));
    const ratio = numbers(await detect(injected, { ...range, measure: 'ratio' }));
    expect(Object.keys(score).sort()).toEqual(['dns', 'http', 'tls']);
    expect(score.http).toBeGreaterThan(20);
    expect(ratio.http).toBeGreaterThan(4);
    expect(Math.max(score.dns, score.tls)).toBeLessThan(3);
    // current and baseline are the volumes themselves: the window's HTTP bytes against the median window.
    const current = numbers(await detect(injected, { ...range, measure: 'current' }));
    const flows = await query(sidecar, { kind: 'protocols', from: ms(60), to: ms(65), filters: [{ key: 'capture', operator: '=', value: injected }] });
    const f = flows.frames[0];
    const names = f.data.values[0] as string[];
    expect(current.http).toBe((f.data.values[1] as number[])[names.indexOf('http')]);
  });

  it('new_values: Brazil, once, in minutes 65-69; its bytes are the flow\'s', async () => {
    const frames = await detect(injected, { kind: 'new_values', key: 'country', from: ms(0), to: ms(70) });
    expect(frames[0].data.values).toEqual([['BR'], ['Brazil'], [1]]);
    const bytes = numbers(await detect(injected, { kind: 'new_values', key: 'dst_country', measure: 'bytes', from: ms(0), to: ms(70) }));
    const flow = await query(sidecar, { kind: 'flows', from: ms(0), to: ms(80), filters: [{ key: 'dst', operator: '=', value: SCENARIO.newServer }] });
    const total = flow.frames[0].data.values[flow.frames[0].schema.fields.findIndex((x) => x.name === 'bytes')] as number[];
    expect(bytes).toEqual({ 'BR|Brazil': total[0] });
    // One window later Brazil is part of the baseline.
    expect((await detect(injected, { kind: 'new_values', key: 'country', from: ms(0), to: ms(75) }))[0].schema.fields).toEqual([]);
  });

  it('scan_suspects: the scanner, with its 200 refused ports on one host', async () => {
    const base = { kind: 'scan_suspects', from: ms(20), to: ms(75) };
    const get = async (measure: string) => numbers(await detect(injected, { ...base, measure }));
    expect(await get('failed_targets')).toEqual({ [SCENARIO.scanner]: 200 });
    expect((await get('targets'))[SCENARIO.scanner]).toBe(200);
    expect((await get('ports'))[SCENARIO.scanner]).toBe(200);
    expect((await get('hosts'))[SCENARIO.scanner]).toBe(1);
    expect((await get('failed_share'))[SCENARIO.scanner]).toBe(1);
    // Ordinary clients have targets, none of them failed.
    const targets = await get('targets');
    expect(Math.max(...SCENARIO.clients.map((c) => targets[c] ?? 0))).toBeLessThan(20);
  });

  it('failure_surge: 40 refused connections and 40 NXDOMAIN answers in minutes 75-79 against a clean baseline', async () => {
    const base = { kind: 'failure_surge', from: ms(0), to: ms(80) };
    const get = async (measure: string) => numbers(await detect(injected, { ...base, measure }))[''];
    expect(await get('failed_flows')).toBe(40);
    expect(await get('failed_score')).toBe(40);
    expect(await get('dns_errors')).toBe(40);
    expect(await get('dns_error_score')).toBe(40);
    const share = await get('dns_error_share');
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(1);
    // Grouped by server: the refused ones all went to one.
    expect(numbers(await detect(injected, { ...base, measure: 'failed_flows', groupBy: ['dst'] }))[SCENARIO.servers[0]]).toBe(40);
  });

  it('the capture without the events: nothing crosses the thresholds of the provisioned rules, at any minute', async () => {
    const worst: Record<string, number> = {};
    for (let end = 15; end <= 80; end += 1) {
      const span = { from: ms(end - 65), to: ms(end) };
      const checks: [string, Record<string, unknown>][] = [
        ['volume score', { kind: 'volume_change', groupBy: ['app'] }],
        ['volume ratio', { kind: 'volume_change', groupBy: ['app'], measure: 'ratio' }],
        ['new countries', { kind: 'new_values', key: 'country' }],
        ['new ports', { kind: 'new_values', key: 'dport' }],
        ['scan', { kind: 'scan_suspects' }],
        ['failures', { kind: 'failure_surge' }],
        ['dns errors', { kind: 'failure_surge', measure: 'dns_error_score' }],
      ];
      for (const [name, q] of checks) {
        const values = Object.values(numbers(await detect(clean, { ...q, ...span })));
        worst[name] = Math.max(worst[name] ?? 0, ...values);
      }
    }
    expect(worst['new countries']).toBe(0);
    expect(worst['new ports']).toBe(0);
    expect(worst.scan).toBe(0);
    expect(worst.failures).toBe(0);
    expect(worst['dns errors']).toBe(0);
    // Ordinary variation stays well inside the volume rule (score > 6 and ratio > 2).
    expect(worst['volume score']).toBeLessThan(6);
    expect(worst['volume ratio']).toBeLessThan(2);
  });

  it('windowEnd "data": a range reaching past the capture analyses its last five minutes', async () => {
    const later = await detect(injected, { kind: 'failure_surge', measure: 'failed_flows', windowEnd: 'data', from: ms(0), to: ms(600) });
    expect(numbers(later)['']).toBe(40);
    // The window ends at the second after the capture's last packet.
    const capture = (await (await sidecar.call(`/api/captures/${injected}`)).json()) as { lastMs: number };
    expect(later[0].schema.meta.custom).toMatchObject({ windowTo: Math.floor(capture.lastMs / 1000) * 1000 + 1000, windowMs: 300_000 });
    // Traffic that ends too soon after the range's start leaves no room for a baseline: NoData, not an error.
    const early = await detect(injected, { kind: 'volume_change', windowEnd: 'data', from: ms(60), to: ms(600), filters: [{ key: 'dst', operator: '=', value: SCENARIO.newServer }] });
    expect(early[0].schema.meta.notices).toEqual([{ severity: 'info', text: expect.stringMatching(/^the traffic in the range ends 7 min after its start: too early for 3 baseline window\(s\) before the last 5 min$/) }]);
    // The same range with the window at the range's end: minutes 595-600 hold no traffic.
    const empty = await detect(injected, { kind: 'failure_surge', from: ms(0), to: ms(600) });
    expect(empty[0].schema.fields).toEqual([]);
    expect(empty[0].schema.meta.notices).toEqual([{ severity: 'info', text: 'no flows started in the window analysed' }]);
  });

  it('capture gaps are not silence: windows without any traffic are left out of the baseline', async () => {
    // The range starts 40 min before the capture: 8 empty baseline windows, 12 observed.
    const frames = await detect(clean, { kind: 'volume_change', from: ms(-40), to: ms(65) });
    expect(frames[0].schema.meta.custom).toMatchObject({ baselineWindows: 20, observedBaselineWindows: 12 });
    expect(Math.abs(Object.values(numbers(frames))[0])).toBeLessThan(6);
    // No observed baseline at all: NoData, not an alert on everything.
    const fresh = await detect(clean, { kind: 'new_values', key: 'country', from: ms(-60), to: ms(5) });
    expect(fresh[0].schema.meta.notices).toEqual([{ severity: 'info', text: 'no traffic in the baseline: nothing to compare the window with' }]);
  });

  it('bad parameters are 400s that name the problem', async () => {
    const bad = async (q: Record<string, unknown>) => query(sidecar, q);
    expect(await bad({ kind: 'volume_change', from: ms(0), to: ms(10) })).toMatchObject({ status: 400, message: expect.stringMatching(/at least 3 earlier window\(s\) .* holds 1 \(10 min\): widen the time range or shorten windowMs/) });
    expect(await bad({ kind: 'scan_suspects', measure: 'bytes', from: ms(0), to: ms(10) })).toMatchObject({ status: 400, message: 'query A: measure "bytes" is not one of kind "scan_suspects" (failed_targets, targets, hosts, ports, failed_share, flows)' });
    expect(await bad({ kind: 'new_values', from: ms(0), to: ms(10) })).toMatchObject({ status: 400, message: expect.stringMatching(/kind "new_values" needs "key"/) });
    expect(await bad({ kind: 'flows', windowMs: 60_000 })).toMatchObject({ status: 400, message: expect.stringMatching(/"windowMs" applies to the anomaly kinds/) });
    expect(await bad({ kind: 'volume_change', groupBy: ['tunnel'], from: ms(0), to: ms(60) })).toMatchObject({ status: 400, message: expect.stringMatching(/"tunnel" is a flow-level key/) });
    expect(await bad({ kind: 'volume_change', windowMs: 500, from: ms(0), to: ms(60) })).toMatchObject({ status: 400 });
  });
});
