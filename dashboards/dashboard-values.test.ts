import { TSHARK_FLAGS, tsharkInstalled, tsharkTcp } from '../backend/src/testing/tcp-oracle';
import { FAILED_STATES } from '../backend/src/query/anomaly-rules';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NO_VARIABLES } from '../src/datasource/query/interpolate';
import { resolveQuery, toSidecarQuery } from '../src/datasource/query/sidecar-query';
import { scenarioCapture } from '../backend/src/synth/scenario';
import { alertingView } from '../backend/src/testing/alerting-shape';
import { CORPUS_DIR, corpusAvailable, notice } from '../backend/src/testing/corpus';
import { postJson, startSidecar, upload, type RunningSidecar } from '../backend/src/testing/sidecar';
import type { DataFrameJSON } from '../backend/src/query/frames';
import { allPanels, buildDashboards } from './capsight';

/**
 * Every query of every bundled dashboard, run as the backend runs it (variables "All"), with its
 * answer checked against numbers known independently:
 * - zeek/http__bro.org.pcap against tshark's conversation sums (../shared/captures/.../oracle):
 *   volumes, rates, per-address sent/received, conversations, countries, flows;
 * - the scenario capture (backend/src/synth/scenario.ts), whose failures are known by
 *   construction: 200 refused ports (the scan) and 40 refused connections, 40 NXDOMAIN answers.
 */
const BRO = path.join(CORPUS_DIR, 'zeek/http__bro.org.pcap');
const ORACLE = path.join(CORPUS_DIR, 'zeek/oracle/http__bro.org.pcap.convs.json');
const run = corpusAvailable() ? describe : describe.skip;
if (!corpusAvailable()) notice('dashboard values against tshark');

type Frame = DataFrameJSON;
const col = (f: Frame, name: string) => f.data.values[f.schema.fields.findIndex((x) => x.name === name)] as number[];
const sum = (xs: number[]) => xs.reduce((a, b) => a + (b ?? 0), 0);

interface Oracle {
  bytes: number;
  packets: number;
  sent: Map<string, number>;
  received: Map<string, number>;
  pairs: Map<string, number>;
}

function oracle(): Oracle {
  const convs = (JSON.parse(fs.readFileSync(ORACLE, 'utf8')) as { convs: Record<string, [number, number, number, number]> }).convs;
  const o: Oracle = { bytes: 0, packets: 0, sent: new Map(), received: new Map(), pairs: new Map() };
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  for (const [k, [pab, bab, pba, bba]] of Object.entries(convs)) {
    const [, a, , b] = k.split('|');
    o.bytes += bab + bba;
    o.packets += pab + pba;
    add(o.sent, a, bab);
    add(o.received, a, bba);
    add(o.sent, b, bba);
    add(o.received, b, bab);
    add(o.pairs, [a, b].sort().join(' '), bab + bba);
  }
  return o;
}

let sidecar: RunningSidecar;
const captures: Record<string, { id: string; from: number; to: number }> = {};
const START = 1_767_225_600;

/** A dashboard target as the backend sends it (variables "All"), on one capture over its span. */
async function ask(target: Record<string, unknown>, capture: string): Promise<{ status: number; frames: Frame[]; error?: string }> {
  const c = captures[capture];
  const q = resolveQuery(target, NO_VARIABLES, [{ key: 'capture', operator: '=', value: c.id }]);
  const r = await postJson(sidecar, '/api/query', { queries: [toSidecarQuery({ ...q, refId: 'A' }, { from: c.from, to: c.to, maxDataPoints: 300 })] });
  const res = (r.json.results as Record<string, { status: number; frames: Frame[]; error?: string }>).A;
  return res;
}

beforeAll(async () => {
  sidecar = await startSidecar();
  const add = async (name: string, data: Buffer) => {
    const u = await upload(sidecar, name, data);
    expect(u.status).toBe(201);
    const cap = (await (await sidecar.call(`/api/captures/${String(u.json.captureId)}`)).json()) as { id: string; firstMs: number; lastMs: number };
    captures[name] = { id: cap.id, from: Math.floor(cap.firstMs / 60_000) * 60_000 - 3600_000, to: Math.ceil((cap.lastMs + 1) / 60_000) * 60_000 };
  };
  if (corpusAvailable()) await add('bro', fs.readFileSync(BRO));
  await add('story', scenarioCapture({ startSec: START, minutes: 80, scanAt: 71, failuresAt: 75 }));
}, 120_000);

afterAll(async () => sidecar?.close());

const dashboards = buildDashboards() as Record<string, { title: string; panels: Parameters<typeof allPanels>[0] }>;
const targets = Object.values(dashboards).flatMap((d) => allPanels(d.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ dashboard: d.title, panel: p.title, target: t }))));

run('every dashboard query against tshark\'s numbers (zeek/http__bro.org.pcap)', () => {
  it.each(targets.map((t) => [`${t.dashboard} / ${t.panel}`, t]))('%s', async (_name, { target, dashboard }) => {
    const o = oracle();
    const r = await ask(target, 'bro');
    expect([r.status, r.error]).toEqual([200, undefined]);
    const frames = r.frames;
    if (dashboard === 'Capsight / TCP health') {
      await checkTcpHealthPanel(target, frames);
      return;
    }
    const kind = String(target.kind);
    const filtered = /"(REJ|NXDOMAIN)"/.test(JSON.stringify(target.filters));
    const metric = String(target.metric ?? 'bytes');
    switch (kind) {
      case 'timeseries': {
        if (filtered) {
          expect(frames.map((f) => f.schema.fields)).toEqual([[]]); // bro.org: no failed connection, no DNS: no data
          break;
        }
        const step = Number((frames[0].schema.meta.custom as { intervalMs: number }).intervalMs);
        const total = sum(frames.map((f) => sum(col(f, metric))));
        if (metric === 'bytes' || metric === 'ip_bytes_sent' || metric === 'ip_bytes_received') expect(total).toBe(o.bytes);
        else if (metric === 'packets') expect(total).toBe(o.packets);
        else if (metric === 'bits_per_sec') expect(Math.round((total * step) / 8000)).toBe(o.bytes);
        else if (metric === 'packets_per_sec') expect(Math.round((total * step) / 1000)).toBe(o.packets);
        else if (metric === 'flows') expect(total).toBe(13);
        break;
      }
      case 'protocols': {
        if (filtered) {
          expect(frames[0].data.values[0] ?? []).toEqual([]);
          break;
        }
        // A top list of names leaves out the flows without one: the flow table says how many bytes those are.
        const named = (target.filters as { key: string; operator: string }[]).find((f) => f.operator === '=~');
        let expected = o.bytes;
        if (named) {
          const flows = (await ask({ kind: 'flows', limit: 10000 }, 'bro')).frames[0];
          const key = col(flows, named.key) as unknown as (string | null)[];
          expected = sum(col(flows, 'bytes').filter((_, i) => key[i] !== null && key[i] !== ''));
          expect(expected).toBeLessThanOrEqual(o.bytes);
        }
        expect(sum(col(frames[0], 'bytes'))).toBe(expected);
        break;
      }
      case 'countries':
        expect(sum(col(frames[0], 'bytes'))).toBe(target.side === 'both' ? 2 * o.bytes : o.bytes);
        break;
      case 'endpoints': {
        const ips = col(frames[0], 'ip') as unknown as string[];
        expect(ips.sort()).toEqual([...o.sent.keys()].sort());
        ips.forEach((ip, i) => expect([ip, col(frames[0], 'bytes_sent')[i], col(frames[0], 'bytes_received')[i]]).toEqual([ip, o.sent.get(ip), o.received.get(ip)]));
        break;
      }
      case 'conversations': {
        const src = col(frames[0], 'src') as unknown as string[];
        const dst = col(frames[0], 'dst') as unknown as string[];
        src.forEach((s, i) => expect(col(frames[0], 'bytes')[i]).toBe(o.pairs.get([s, dst[i]].sort().join(' '))));
        expect(sum(col(frames[0], 'bytes'))).toBe(o.bytes);
        break;
      }
      case 'peers':
        // Without an address selected, the panel asks for one.
        expect(frames[0].schema.meta.notices?.[0].text).toMatch(/^select an address/);
        break;
      case 'histogram':
        expect(sum(col(frames[0], 'flows'))).toBe(13);
        expect(sum(col(frames[0], 'bytes'))).toBe(o.bytes);
        break;
      case 'flows':
        expect((frames[0].schema.meta.custom as { total: number }).total).toBe(13);
        expect(sum(col(frames[0], 'src_bytes')) + sum(col(frames[0], 'dst_bytes'))).toBe(o.bytes);
        break;
      case 'captures':
        expect(col(frames[0], 'packets')).toEqual([751]);
        break;
      default:
        // The anomaly detectors: answers alerting reads (their numbers are tested on the scenario capture).
        expect(alertingView(frames).problems).toEqual([]);
    }
  });
});

/**
 * A TCP health panel on bro.org: retransmissions equal tshark's tcp.analysis.retransmission count
 * (when tshark is installed), resets and the flow tables equal what the full flow table says.
 */
async function checkTcpHealthPanel(target: Record<string, unknown>, frames: Frame[]): Promise<void> {
  const all = (await ask({ kind: 'flows', limit: 10000 }, 'bro')).frames[0];
  const n = (name: string): number[] => col(all, name).map((x) => Number(x ?? 0));
  const metric = String(target.metric ?? '');
  if (target.kind === 'timeseries') {
    const values = frames.flatMap((f) => (f.schema.fields.length > 1 ? (f.data.values[1] as number[]) : []));
    if (metric === 'retransmissions') {
      const engine = sum(n('src_retrans')) + sum(n('dst_retrans'));
      expect(sum(values)).toBe(engine);
      if (await tsharkInstalled()) expect(engine).toBe([...(await tsharkTcp(BRO)).values()].reduce((a, s) => a + s.counts[0] + s.counts[TSHARK_FLAGS.length], 0));
    } else if (metric === 'retrans_rate') {
      expect(values.every((v) => v >= 0 && v <= 100)).toBe(true);
    } else if (metric === 'handshake_rtt') {
      const rtts = n('handshake_rtt_us').filter((x) => x > 0);
      expect(values.length > 0).toBe(rtts.length > 0);
      const shown = values.filter((v) => v !== null);
      expect(shown.every((v) => v * 1000 >= Math.min(...rtts) - 1e-6 && v * 1000 <= Math.max(...rtts) + 1e-6)).toBe(true);
    } else if (metric === 'resets') {
      expect(sum(values)).toBe((col(all, 'reset_by') as unknown[]).filter((x) => x !== null).length);
    } else if (metric === 'flows') {
      expect(sum(values)).toBe((col(all, 'state') as unknown as string[]).filter((s, i) => FAILED_STATES.includes(s as never) && n('proto')[i] === 6).length);
    } else throw new Error(`no check for ${metric}`);
    return;
  }
  // The flow tables: as many rows as the full table has flows passing the panel's extra filter.
  const extra = (target.filters as { key: string; value: number }[]).find((f) => ['retrans', 'handshake_rtt', 'zero_windows'].includes(f.key))!;
  const column = { retrans: ['src_retrans', 'dst_retrans'], handshake_rtt: ['handshake_rtt_us'], zero_windows: ['src_zero_windows', 'dst_zero_windows'] }[extra.key]!;
  const passing = n(column[0]).filter((x, i) => x + (column[1] ? n(column[1])[i] : 0) > 0).length;
  const total = frames[0].schema.fields.length === 0 ? 0 : (frames[0].schema.meta.custom as { total: number }).total;
  expect(total).toBe(passing);
}

describe('the failure panels on a capture whose failures are known by construction', () => {
  const failurePanels = targets.filter((t) => /Failed connections by|DNS errors/.test(t.panel) && t.dashboard === 'Capsight / Flows');

  it('exist on the Flows dashboard', () => {
    expect(failurePanels.map((t) => t.panel).sort()).toEqual(['DNS errors (NXDOMAIN, SERVFAIL)', 'DNS errors by name', 'Failed connections by server', 'Failed connections by state (S0, REJ, resets)']);
  });

  it.each(failurePanels.map((t) => [t.panel, t]))('%s', async (_name, { target }) => {
    const r = await ask(target, 'story');
    expect(r.status).toBe(200);
    const f = r.frames;
    if (target.kind === 'timeseries') {
      const byLabel = Object.fromEntries(f.map((fr) => [Object.values(fr.schema.fields[1].labels ?? {})[0], sum(col(fr, 'flows'))]));
      expect(byLabel).toEqual(target.groupBy?.toString() === 'state' ? { REJ: 240 } : { NXDOMAIN: 40 });
    } else if ((target.groupBy as string[])[0] === 'dst') {
      expect([(col(f[0], 'name') as unknown as string[]).slice(0, 2), col(f[0], 'flows').slice(0, 2)]).toEqual([['10.20.0.50', '8.8.8.8'], [200, 40]]);
    } else {
      expect(sum(col(f[0], 'flows'))).toBe(40);
      expect((col(f[0], 'name') as unknown as string[]).every((n) => /^missing-\d\.example\.com$/.test(n))).toBe(true);
    }
  });
});
