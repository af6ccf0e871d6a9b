import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateCaptureBuffer } from '../backend/src/synth/generator';
import { scenarioCapture } from '../backend/src/synth/scenario';
import { scanCapture, SCAN_START_MS } from '../backend/src/testing/scan-capture';
import { spawnSidecar } from '../backend/src/testing/sidecar-process';

/**
 * Heavy and light clients against one sidecar process on 127.0.0.1 (bounded, loopback): light
 * dashboard queries alone first (the peer: the same sidecar without the heavy load), then the same
 * light clients while heavy clients send what the hardening issue found hostile, for `seconds`.
 * Measured: light-query p95 (alone and under load, and the ratio), /health p99 (probed every
 * 50 ms), the process's peak RSS (sampled every 100 ms), heavy answers by status, and whether
 * the process survived.
 */
interface Sample {
  ms: number;
  status: number;
}

function request(url: string, agent: http.Agent, body: unknown, client: string): Promise<Sample> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const start = performance.now();
  return new Promise((resolve) => {
    const req = http.request(url, { method: text ? 'POST' : 'GET', agent, headers: { 'content-type': 'application/json', 'x-capsight-client': client } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - start, status: res.statusCode ?? 0 }));
    });
    req.on('error', () => resolve({ ms: performance.now() - start, status: 0 }));
    req.end(text);
  });
}

const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const HOUR = 3_600_000;
const range = { from: SCAN_START_MS - HOUR, to: SCAN_START_MS + 2 * HOUR };
const LIGHT = [
  { kind: 'protocols', ...range },
  { kind: 'timeseries', metric: 'bytes', maxDataPoints: 800, ...range },
  { kind: 'countries', ...range },
  { kind: 'values', key: 'app', ...range },
  { kind: 'flows', limit: 50, ...range },
];
const keys = ['server_name', 'app', 'state', 'src', 'dst', 'ip', 'country', 'src_as_org', 'dst_as_org'];
const ips = Array.from({ length: 1000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.7`);
const HEAVY = [
  // The issue's 3.3 KB request: 25 time series of up to 1,001 series at 100,000 points (refused before running).
  { queries: Array.from({ length: 25 }, (_, i) => ({ refId: `Q${i}`, kind: 'timeseries', maxDataPoints: 100000, groupBy: ['sport'], topN: 1000, metric: 'flows', from: SCAN_START_MS, to: SCAN_START_MS + HOUR })) },
  // 50 regular-expression filters over every flow (runs until done or the time limit).
  { kind: 'endpoints', filters: Array.from({ length: 50 }, (_, i) => ({ key: keys[i % keys.length], operator: '!~', value: `(.*[a-f]{2,9}.*[0-9]{1,5}.*){1,8}x${i}` })) },
  // Two 1,000-address "in" filters on either end.
  { kind: 'conversations', filters: [{ key: 'ip', operator: 'in', value: ips }, { key: 'ip', operator: 'in', value: ips.map((x) => x.replace('10.', '11.')) }], limit: 1000 },
  // The largest flow page, and a fine grouped series over the whole store.
  { kind: 'flows', limit: 10000, offset: 100000 },
  { kind: 'timeseries', metric: 'flows', groupBy: ['dport'], topN: 100, maxDataPoints: 2000, ...range },
];

async function clientLoop(url: string, bodies: unknown[], client: string, until: () => boolean, out: Sample[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; !until(); i++) out.push(await request(`${url}/api/query`, agent, bodies[i % bodies.length], client));
  agent.destroy();
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

export async function loadBench(seconds: number, heavyClients: number, lightClients: number): Promise<string> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-load-'));
  const sidecar = await spawnSidecar(['--data-dir', dataDir]);
  const pid = sidecar.child.pid as number;
  try {
    // A mix that looks like traffic: a 400,000-flow SYN scan, generated TLS/QUIC/DNS/IPv6 traffic, the alerting scenarios.
    const captures: [string, Buffer][] = [
      ['scan.pcap', scanCapture(400_000)],
      ['mixed.pcap', generateCaptureBuffer({ bytes: 100_000_000, seed: 7, hosts: 400, flows: 20_000, ipv6Share: 0.25, startSec: SCAN_START_MS / 1000 })],
      ['scenario.pcap', scenarioCapture({ startSec: SCAN_START_MS / 1000, minutes: 90 })],
    ];
    for (const [name, data] of captures) {
      const form = new FormData();
      form.append('file', new Blob([data]), name);
      const r = await fetch(`${sidecar.url}/api/imports/upload`, { method: 'POST', body: form, headers: { 'x-capsight-request': 'bench' } });
      if (r.status !== 201) throw new Error(`upload ${name}: ${r.status} ${await r.text()}`);
    }
    const health: Sample[] = [];
    let peakRss = rssOf(pid);
    let stop = false;
    const probe = (async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (!stop) {
        health.push(await request(`${sidecar.url}/health`, agent, undefined, 'probe'));
        await new Promise((r) => setTimeout(r, 50));
      }
      agent.destroy();
    })();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssOf(pid))), 100);

    const phase = async (ms: number, heavyN: number): Promise<{ light: Sample[]; heavy: Sample[]; health: Sample[] }> => {
      const end = Date.now() + ms;
      const until = (): boolean => Date.now() >= end;
      const light: Sample[] = [];
      const heavy: Sample[] = [];
      const before = health.length;
      await Promise.all([
        ...Array.from({ length: lightClients }, (_, i) => clientLoop(sidecar.url, LIGHT, `light-${i}`, until, light)),
        ...Array.from({ length: heavyN }, (_, i) => clientLoop(sidecar.url, HEAVY.slice(i % HEAVY.length).concat(HEAVY.slice(0, i % HEAVY.length)), `heavy-${i}`, until, heavy)),
      ]);
      return { light, heavy, health: health.slice(before) };
    };
    const alone = await phase(Math.min(15_000, seconds * 1000), 0);
    const rssAlone = peakRss;
    const loaded = await phase(seconds * 1000, heavyClients);
    stop = true;
    await probe;
    clearInterval(sampler);
    const alive = sidecar.child.exitCode === null && sidecar.child.signalCode === null;
    const byStatus = new Map<number, number>();
    for (const h of loaded.heavy) byStatus.set(h.status, (byStatus.get(h.status) ?? 0) + 1);
    const lightOk = (xs: Sample[]): number[] => xs.filter((x) => x.status === 200).map((x) => x.ms);
    const f = (n: number): string => n.toFixed(1);
    const rows = [
      `| phase | light queries (ok/all) | light p50 ms | light p95 ms | /health p99 ms | /health max ms | heavy answers by status | peak RSS MiB |`,
      `|---|---:|---:|---:|---:|---:|---|---:|`,
      `| light alone | ${lightOk(alone.light).length}/${alone.light.length} | ${f(pct(lightOk(alone.light), 50))} | ${f(pct(lightOk(alone.light), 95))} | ${f(pct(alone.health.map((h) => h.ms), 99))} | ${f(Math.max(...alone.health.map((h) => h.ms)))} | - | ${(rssAlone / 1048576).toFixed(0)} |`,
      `| ${heavyClients} heavy + ${lightClients} light, ${seconds} s | ${lightOk(loaded.light).length}/${loaded.light.length} | ${f(pct(lightOk(loaded.light), 50))} | ${f(pct(lightOk(loaded.light), 95))} | ${f(pct(loaded.health.map((h) => h.ms), 99))} | ${f(Math.max(...loaded.health.map((h) => h.ms)))} | ${[...byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ')} | ${(peakRss / 1048576).toFixed(0)} |`,
    ];
    const ratio = pct(lightOk(loaded.light), 95) / pct(lightOk(alone.light), 95);
    return `${rows.join('\n')}\n\nlight p95 under load / alone: ${ratio.toFixed(2)}x; sidecar process ${alive ? 'alive' : 'DIED'} after the run; /health failures: ${loaded.health.filter((h) => h.status !== 200).length}\n`;
  } finally {
    await sidecar.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
