import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { SCENARIO, scenarioCapture } from '../../backend/src/synth/scenario';
import { startSidecar, upload, type RunningSidecar } from '../../backend/src/testing/sidecar';
import { pluginContext, sdkAvailable, sdkNotice, startPlugin, type PluginHost } from './testing/plugin-host';
import { evaluateRule, type Rule } from './testing/rule-eval';

/**
 * The provisioned alert rules (provisioning/alerting/capsight-rules.yaml), evaluated as Grafana's
 * rule engine would (testing/rule-eval.ts) through the built plugin, against two sidecars: one
 * holding the scenario capture with its injected events, one the same capture without them.
 * Each rule must fire for its event with the event's labels, and never on the quiet capture.
 */
const run = sdkAvailable() ? describe : describe.skip;
if (!sdkAvailable()) sdkNotice('provisioned alert rules through the plugin');

const RULES_FILE = path.resolve(__dirname, '../../provisioning/alerting/capsight-rules.yaml');
const START = 1_767_225_600;
const ms = (minute: number): number => (START + minute * 60) * 1000;

const file = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { apiVersion: number; groups: { orgId: number; name: string; folder: string; interval: string; rules: (Rule & Record<string, unknown>)[] }[] };
const rules = file.groups.flatMap((g) => g.rules);

let story: RunningSidecar;
let quiet: RunningSidecar;
let plugin: PluginHost;

beforeAll(async () => {
  if (!sdkAvailable()) return;
  [story, quiet] = await Promise.all([startSidecar(), startSidecar()]);
  await upload(story, 'story.pcap', scenarioCapture({ startSec: START, minutes: 80, spikeAt: 60, newCountryAt: 66, scanAt: 71, failuresAt: 75 }));
  await upload(quiet, 'quiet.pcap', scenarioCapture({ startSec: START, minutes: 80 }));
  plugin = await startPlugin();
}, 120_000);

afterAll(async () => {
  await plugin?.kill();
  await story?.close();
  await quiet?.close();
});

describe('provisioned alert rules: the file', () => {
  it('is Grafana\'s provisioning format: rules in the Capsight folder, reading uid "capsight", a condition that is an expression', () => {
    expect(file.apiVersion).toBe(1);
    expect(file.groups.map((g) => [g.folder, g.orgId, g.interval])).toEqual([['Capsight', 1, '1m']]);
    for (const r of rules) {
      expect(r).toMatchObject({ uid: expect.stringMatching(/^capsight-[a-z-]+$/), title: expect.any(String), noDataState: 'OK', execErrState: 'Error', for: expect.any(String) });
      const queries = r.data.filter((d) => d.datasourceUid !== '__expr__');
      expect(queries.every((q) => q.datasourceUid === 'capsight' && q.relativeTimeRange && q.model.refId === q.refId && q.model.queryVersion === 2)).toBe(true);
      expect(r.data.find((d) => d.refId === r.condition)?.datasourceUid).toBe('__expr__');
      const annotations = r.annotations as Record<string, string>;
      expect(annotations.summary).toBeTruthy();
      expect(annotations.__dashboardUid__).toBe('capsight-anomalies');
      expect(annotations.runbook_url).toMatch(/^\/d\/capsight-/);
    }
    expect(new Set(rules.flatMap((r) => r.data.map((d) => d.model.kind)).filter(Boolean))).toEqual(new Set(['volume_change', 'new_values', 'scan_suspects', 'failure_surge']));
  });
});

run('provisioned alert rules, evaluated through the plugin', () => {
  const storyCtx = () => pluginContext({ url: story.url, uid: 'story' });
  const quietCtx = () => pluginContext({ url: quiet.url, uid: 'quiet' });
  const byUid = (uid: string) => rules.find((r) => r.uid === uid) as Rule;

  it.each([
    ['capsight-volume-spike', 65, ['app=http']],
    ['capsight-new-country', 70, ['dst_country=BR,dst_country_name=Brazil']],
    ['capsight-scan', 75, [`src=${SCENARIO.scanner}`]],
    ['capsight-connection-failures', 80, ['']],
    ['capsight-dns-errors', 80, ['']],
  ])('%s fires for its event (evaluated at minute %i) with the event\'s labels', async (uid, minute, firing) => {
    const r = await evaluateRule(plugin, storyCtx(), byUid(uid as string), ms(minute as number));
    expect(r).toEqual({ firing, problems: [] });
  });

  it('each rule fires only around its own event (and the scan is also a surge of failed connections)', async () => {
    const firedAt: Record<string, number[]> = {};
    for (let minute = 15; minute <= 90; minute += 1) {
      for (const rule of rules) {
        const r = await evaluateRule(plugin, storyCtx(), rule, ms(minute));
        expect(r.problems).toEqual([]);
        if (r.firing.length > 0) (firedAt[rule.uid] ??= []).push(minute);
      }
    }
    // A window is 5 minutes and ends at the last traffic before the evaluation: an event at minute m
    // is in the windows evaluated from m + 1 to m + 5. After the capture's end (minute 80) the rules
    // keep judging its last window (windowEnd "data").
    const span = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(firedAt['capsight-volume-spike']).toEqual(span(62, 68));
    expect(firedAt['capsight-new-country']).toEqual(span(67, 71));
    expect(firedAt['capsight-scan']).toEqual(span(72, 76));
    expect(firedAt['capsight-connection-failures']).toEqual([...span(72, 76), ...span(78, 90)]);
    expect(firedAt['capsight-dns-errors']).toEqual(span(78, 90));
    expect(Object.keys(firedAt).sort()).toEqual(rules.map((r) => r.uid).sort());
  });

  it('no rule fires on the capture without the events, at any minute', async () => {
    for (let minute = 15; minute <= 90; minute += 1) {
      for (const rule of rules) {
        expect([rule.uid, minute, await evaluateRule(plugin, quietCtx(), rule, ms(minute))]).toEqual([rule.uid, minute, { firing: [], problems: [] }]);
      }
    }
  });
});
