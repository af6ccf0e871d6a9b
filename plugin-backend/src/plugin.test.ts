import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { generated, startSidecar, upload, type RunningSidecar } from '../../backend/src/testing/sidecar';
import { scenarioCapture } from '../../backend/src/synth/scenario';
import { NO_VARIABLES } from '../../src/datasource/query/interpolate';
import { resolveQuery, toSidecarQuery } from '../../src/datasource/query/sidecar-query';
import { decodeArrowFrame, toFrameJSON } from './testing/arrow-to-json';
import { BINARY, GRAFANA_UID, grafanaEnv, onPath, pluginContext, sdkAvailable, sdkNotice, startPlugin, type PluginHost } from './testing/plugin-host';

/**
 * The built plugin executable against a harness that plays Grafana's plugin host (see
 * testing/plugin-host.ts) and a real sidecar holding real captures.
 */
const run = sdkAvailable() ? describe : describe.skip;
if (!sdkAvailable()) sdkNotice('backend plugin tests');

const TOKEN = 'plugin-test-token';
const START = 1_767_225_600; // 2026-01-01T00:00:00Z
const ms = (minute: number): number => (START + minute * 60) * 1000;

let sidecar: RunningSidecar;
let plugin: PluginHost;
let captureId: string;

interface DataResponse {
  frames: Buffer[];
  error: string;
  status: number;
  errorSource: string;
  format: string;
}

function queryData(host: PluginHost, ctx: Record<string, unknown>, queries: { refId: string; json: unknown; from?: number; to?: number; maxDataPoints?: number; intervalMS?: number }[], format: 'ARROW' | 'JSON' = 'ARROW', o: { signal?: AbortSignal } = {}) {
  return host.unary<{ responses: Record<string, DataResponse> }>(
    'data',
    'QueryData',
    {
      pluginContext: ctx,
      headers: {},
      format,
      queries: queries.map((q) => ({
        refId: q.refId,
        maxDataPoints: q.maxDataPoints ?? 500,
        intervalMS: q.intervalMS ?? 1000,
        timeRange: { fromEpochMS: q.from ?? ms(0), toEpochMS: q.to ?? ms(80) },
        json: Buffer.from(typeof q.json === 'string' ? q.json : JSON.stringify(q.json)),
      })),
    },
    o,
  );
}

/** The sidecar's own answer to the query the plugin would send for this stored query and range. */
async function direct(stored: Record<string, unknown>, refId: string, from: number, to: number, maxDataPoints = 500, intervalMs = 1000) {
  const q = toSidecarQuery({ ...resolveQuery(stored, NO_VARIABLES), refId }, { from, to, maxDataPoints, intervalMs });
  const r = await sidecar.call('/api/query', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queries: [q] }) });
  return ((await r.json()) as { results: Record<string, { frames: { schema: Record<string, unknown>; data: { values: unknown[][] } }[] }> }).results[refId].frames;
}

beforeAll(async () => {
  if (!sdkAvailable()) return;
  sidecar = await startSidecar({ 'api-token': TOKEN });
  const up = await upload(sidecar, 'scenario.pcap', scenarioCapture({ startSec: START, minutes: 80, spikeAt: 60, newCountryAt: 66, scanAt: 71, failuresAt: 75 }));
  expect(up.status).toBe(201);
  captureId = String(up.json.captureId);
  plugin = await startPlugin();
}, 120_000);

afterAll(async () => {
  await plugin?.kill();
  await sidecar?.close();
});

run('gpx_capsight_flows as Grafana starts it', () => {
  it('refuses to run by hand: one line on stderr, nothing on stdout, exit code 1', async () => {
    const child = spawn(BINARY, [], { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err.trim().split('\n')).toEqual([expect.stringMatching(/^gpx_capsight_flows_linux_\w+ is the Capsight data source's backend: Grafana starts it \(it sets grafana_plugin_type=datasource\)/)]);
  });

  it('starts without Node on the PATH (as UID 472 when the test runs as root), prints only the handshake, logs hclog JSON', async () => {
    expect(onPath('node', grafanaEnv())).toBe(false);
    expect(onPath('sh', { PATH: '/bin' })).toBe(true); // the check itself can find things
    if (process.getuid?.() === 0) {
      const uid = fs.readFileSync(`/proc/${plugin.child.pid}/status`, 'utf8').match(/^Uid:\s+(\d+)/m)?.[1];
      expect(Number(uid)).toBe(GRAFANA_UID);
    }
    expect(plugin.handshake).toMatchObject({ core: 1, app: 2, network: 'unix', protocol: 'grpc' });
    expect(plugin.stdout()).toBe(`1|2|unix|${plugin.handshake.address}|grpc\n`);
    expect(plugin.startMs).toBeLessThan(60_000);
    const logs = plugin.stderrLines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs[0]).toMatchObject({ '@level': 'info', '@message': 'serving', '@timestamp': expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) });
    // The socket's directory is private to Grafana's user.
    expect(fs.statSync(plugin.handshake.address.replace(/\/grpc\.sock$/, '')).mode & 0o777).toBe(0o700);
  });

  it('runs in a root file system that holds only the binary and the C/C++ runtime libraries it links (no Node, nothing else)', async () => {
    if (process.getuid?.() !== 0 || !fs.existsSync('/usr/sbin/chroot')) {
      process.stderr.write('\n*** SKIPPED: the chroot check needs root and /usr/sbin/chroot ***\n\n');
      return;
    }
    const libs = execFileSync('ldd', [BINARY], { encoding: 'utf8' }).match(/\/\S+\.so[.\d]*/g) ?? [];
    // What Grafana's -ubuntu images have: glibc's libraries and libstdc++/libgcc_s (the base image's apt needs them).
    const loader = process.arch === 'arm64' ? 'ld-linux-aarch64.so.1' : 'ld-linux-x86-64.so.2';
    expect(libs.map((l) => path.basename(l)).sort()).toEqual([loader, 'libc.so.6', 'libdl.so.2', 'libgcc_s.so.1', 'libm.so.6', 'libpthread.so.0', 'libstdc++.so.6'].sort());
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-root-'));
    try {
      fs.chmodSync(root, 0o755);
      fs.copyFileSync(BINARY, path.join(root, path.basename(BINARY)));
      fs.chmodSync(path.join(root, path.basename(BINARY)), 0o755);
      for (const lib of libs) {
        fs.mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
        fs.copyFileSync(lib, path.join(root, lib));
      }
      fs.mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
      fs.chmodSync(path.join(root, 'tmp'), 0o1777);
      const jailed = await startPlugin({ command: ['/usr/sbin/chroot', `--userspec=${GRAFANA_UID}:0`, root, `/${path.basename(BINARY)}`], env: { CAPSIGHT_PLUGIN_NETWORK: 'tcp' } });
      try {
        await expect(jailed.unary('health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
        const h = await jailed.unary<{ status: string }>('diagnostics', 'CheckHealth', { pluginContext: pluginContext({ url: sidecar.url, token: TOKEN }) });
        expect(h.status).toBe('OK');
      } finally {
        expect((await jailed.kill()).code).toBe(0);
      }
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('the arm64 binary works too (under qemu-user with Debian\'s arm64 C/C++ libraries, where installed)', async () => {
    const arm64 = BINARY.replace(/_amd64$/, '_arm64');
    if (process.arch !== 'x64' || !fs.existsSync('/usr/bin/qemu-aarch64') || !fs.existsSync('/usr/aarch64-linux-gnu/lib/libstdc++.so.6')) {
      process.stderr.write('\n*** SKIPPED: arm64 binary check: needs x64 with qemu-user, libc6-arm64-cross and libstdc++6-arm64-cross (.ci/run installs them) ***\n\n');
      return;
    }
    const text = execFileSync('file', ['-b', arm64], { encoding: 'utf8' });
    expect(text).toMatch(/^ELF 64-bit LSB .*ARM aarch64/);
    const emulated = await startPlugin({ command: ['/usr/bin/qemu-aarch64', '-L', '/usr/aarch64-linux-gnu', arm64], env: { CAPSIGHT_PLUGIN_NETWORK: 'tcp' } });
    try {
      await expect(emulated.unary('health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
      const r = await queryData(emulated, pluginContext({ url: sidecar.url, token: TOKEN }), [{ refId: 'A', json: { kind: 'new_values', key: 'country' }, from: ms(0), to: ms(70) }]);
      expect(decodeArrowFrame(r.responses.A.frames[0]).values).toEqual([['BR'], ['Brazil'], [1]]);
    } finally {
      expect((await emulated.kill()).code).toBe(0);
    }
  });

  it('answers go-plugin\'s health check for "plugin" with SERVING', async () => {
    await expect(plugin.unary('health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
  });

  it('serves on 127.0.0.1 in the host\'s port range when asked for tcp', async () => {
    const tcp = await startPlugin({ env: { CAPSIGHT_PLUGIN_NETWORK: 'tcp', PLUGIN_MIN_PORT: '20000', PLUGIN_MAX_PORT: '20100' } });
    try {
      expect(tcp.handshake.network).toBe('tcp');
      const [host, port] = tcp.handshake.address.split(':');
      expect(host).toBe('127.0.0.1');
      expect(Number(port)).toBeGreaterThanOrEqual(20000);
      expect(Number(port)).toBeLessThanOrEqual(20100);
      await expect(tcp.unary('health', 'Check', { service: 'plugin' })).resolves.toEqual({ status: 'SERVING' });
    } finally {
      await tcp.kill();
    }
  });
});

run('Diagnostics', () => {
  it('CheckHealth: the same message as "Save & test"', async () => {
    const ok = await plugin.unary<{ status: string; message: string }>('diagnostics', 'CheckHealth', { pluginContext: pluginContext({ url: sidecar.url, token: TOKEN }) });
    expect(ok).toMatchObject({ status: 'OK', message: expect.stringMatching(/^Capsight sidecar \d+\.\d+\.\d+: 1 capture\(s\), \d+ flows$/) });
  });

  it('CheckHealth: a wrong token and a sidecar that is down are errors that say so', async () => {
    const wrong = await plugin.unary<{ status: string; message: string }>('diagnostics', 'CheckHealth', { pluginContext: pluginContext({ url: sidecar.url, token: 'nope', uid: 'wrong-token' }) });
    expect(wrong).toEqual({ status: 'ERROR', message: expect.stringMatching(/^Cannot use the Capsight sidecar: the sidecar at http:\/\/127\.0\.0\.1:\d+ refused the API token \(HTTP 401\)/), jsonDetails: Buffer.alloc(0) });
    const down = await plugin.unary<{ status: string; message: string }>('diagnostics', 'CheckHealth', { pluginContext: pluginContext({ url: 'http://127.0.0.1:9', uid: 'down' }) });
    expect(down.message).toBe('Cannot use the Capsight sidecar: cannot reach the Capsight sidecar at http://127.0.0.1:9: connection refused (is it running on that address?)');
    const bad = await plugin.unary<{ status: string; message: string }>('diagnostics', 'CheckHealth', { pluginContext: pluginContext({ url: 'ftp://x', uid: 'bad' }) });
    expect(bad.message).toBe("Cannot use the Capsight sidecar: the data source's sidecar URL must be http:// or https://, not ftp:");
  });

  it('CollectMetrics: Prometheus text with the plugin\'s calls and process metrics', async () => {
    const r = await plugin.unary<{ metrics: { prometheus: Buffer } }>('diagnostics', 'CollectMetrics', { pluginContext: pluginContext({ url: sidecar.url }) });
    const text = r.metrics.prometheus.toString();
    expect(text).toMatch(/^capsight_plugin_calls_total\{method="CheckHealth",outcome="ok"\} \d+$/m);
    expect(text).toMatch(/^capsight_plugin_process_resident_memory_bytes \d+/m);
  });
});

/** One stored query per kind the sidecar answers, with the range it needs. */
const KIND_QUERIES: { name: string; stored: Record<string, unknown>; from: number; to: number }[] = [
  { name: 'timeseries bytes by app', stored: { kind: 'timeseries', metric: 'bytes', groupBy: ['app'], topN: 3 }, from: ms(0), to: ms(80) },
  { name: 'timeseries flows started', stored: { kind: 'timeseries', metric: 'flows' }, from: ms(10), to: ms(20) },
  { name: 'flow table with chosen columns', stored: { kind: 'flows', limit: 50, sort: { by: 'bytes', desc: true }, columns: ['first', 'src', 'dst', 'app', 'bytes', 'src_local'] }, from: ms(0), to: ms(80) },
  { name: 'flow table, every column', stored: { kind: 'flows', limit: 20 }, from: ms(70), to: ms(72) },
  { name: 'endpoints', stored: { kind: 'endpoints', limit: 20 }, from: ms(0), to: ms(80) },
  { name: 'protocols', stored: { kind: 'protocols', groupBy: ['proto'] }, from: ms(0), to: ms(80) },
  { name: 'countries', stored: { kind: 'countries', side: 'remote' }, from: ms(0), to: ms(80) },
  { name: 'conversations', stored: { kind: 'conversations', limit: 10 }, from: ms(0), to: ms(80) },
  { name: 'histogram', stored: { kind: 'histogram' }, from: ms(0), to: ms(80) },
  { name: 'captures', stored: { kind: 'captures' }, from: ms(0), to: ms(80) },
  { name: 'values', stored: { kind: 'values', key: 'app' }, from: ms(0), to: ms(80) },
  { name: 'keys', stored: { kind: 'keys' }, from: ms(0), to: ms(80) },
  { name: 'volume_change', stored: { kind: 'volume_change', groupBy: ['app'] }, from: ms(0), to: ms(65) },
  { name: 'new_values', stored: { kind: 'new_values', key: 'country' }, from: ms(0), to: ms(70) },
  { name: 'scan_suspects', stored: { kind: 'scan_suspects' }, from: ms(20), to: ms(75) },
  { name: 'failure_surge', stored: { kind: 'failure_surge', measure: 'dns_error_score' }, from: ms(0), to: ms(80) },
];

run('Data/QueryData', () => {
  it.each(KIND_QUERIES.map((k) => [k.name, k]))('%s: Arrow frames carry the sidecar\'s answer, value for value', async (_n, k) => {
    const ctx = pluginContext({ url: sidecar.url, token: TOKEN });
    const r = await queryData(plugin, ctx, [{ refId: 'A', json: { ...k.stored, datasource: { type: 'capsight-flows-datasource', uid: 'capsight' } }, from: k.from, to: k.to }]);
    const res = r.responses.A;
    expect(res.error).toBe('');
    expect(res.status).toBe(200);
    const got = res.frames.map((b) => toFrameJSON(decodeArrowFrame(b)));
    // The sidecar applies a column choice itself (the listed fields first, what row links need after them, hidden).
    const want = await direct(k.stored, 'A', k.from, k.to);
    const columns = k.stored.columns as string[] | undefined;
    if (columns) for (const f of want) expect((f.schema.fields as { name: string }[]).slice(0, columns.length).map((x) => x.name)).toEqual(columns);
    expect(got.length).toBe(want.length);
    expect(got.length).toBeGreaterThan(0);
    got.forEach((g, i) => {
      const w = want[i];
      expect(g.schema.refId).toBe('A');
      expect(g.schema.meta).toEqual(w.schema.meta);
      const wf = w.schema.fields as { name: string; type: string; labels?: Record<string, string>; config: Record<string, unknown> }[];
      expect((g.schema.fields as { name: string }[]).map((f) => f.name)).toEqual(wf.map((f) => f.name));
      (g.schema.fields as { type: string; labels?: unknown; config: unknown }[]).forEach((f, j) => {
        expect(f.type).toBe(wf[j].type);
        expect(f.labels).toEqual(wf[j].labels);
        expect(f.config).toEqual(Object.keys(wf[j].config).length > 0 ? wf[j].config : {});
      });
      expect(g.data.values).toEqual(w.data.values);
    });
  });

  it('every anomaly answer is numeric-long with one number per label set, and the injected events are in them', async () => {
    const ctx = pluginContext({ url: sidecar.url, token: TOKEN });
    const r = await queryData(plugin, ctx, KIND_QUERIES.filter((k) => /_/.test(k.name)).map((k, i) => ({ refId: `Q${i}`, json: k.stored, from: k.from, to: k.to })));
    const frames = Object.fromEntries(Object.entries(r.responses).map(([ref, res]) => [ref, decodeArrowFrame(res.frames[0])]));
    for (const f of Object.values(frames)) {
      expect(f.meta).toMatchObject({ type: 'numeric-long', typeVersion: [0, 1] });
      expect(f.fields.filter((x) => x.type === 'number')).toHaveLength(1);
      expect(f.fields.filter((x) => x.type === 'string').every((x) => !x.nullable)).toBe(true);
    }
    // Rows are sorted by the measure: the spiking application first.
    expect(frames.Q0.values[0][0]).toBe('http');
    expect([...frames.Q0.values[0]].sort()).toEqual(['dns', 'http', 'tls']);
    expect(frames.Q0.values[1][0] as number).toBeGreaterThan(20);
    expect(frames.Q1.values).toEqual([['BR'], ['Brazil'], [1]]);
    expect(frames.Q2.values).toEqual([['10.20.0.66'], [200]]);
    expect(frames.Q3.values).toEqual([[40]]);
  });

  it('answers in frame JSON when Grafana asks for JSON', async () => {
    const k = KIND_QUERIES[0];
    const r = await queryData(plugin, pluginContext({ url: sidecar.url, token: TOKEN }), [{ refId: 'A', json: k.stored, from: k.from, to: k.to }], 'JSON');
    expect(r.responses.A.format).toBe('JSON');
    const frames = r.responses.A.frames.map((b) => JSON.parse(b.toString()));
    expect(frames).toEqual(await direct(k.stored, 'A', k.from, k.to));
  });

  it('takes stored queries as alert rules send them: the first query shape, variables as "All"', async () => {
    const v1 = { kind: 'flows', limit: 1000, filters: [{ key: 'app', operator: 'in', value: '$app' }, { key: 'capture', operator: 'in', value: captureId }, { key: 'ip', operator: '=', value: '${ip}' }] };
    const lists = { kind: 'flows', limit: 1000, filters: [{ key: 'app', operator: 'in', value: 'dns,http' }] };
    const r = await queryData(plugin, pluginContext({ url: sidecar.url, token: TOKEN }), [
      { refId: 'A', json: v1, from: ms(0), to: ms(2) },
      { refId: 'B', json: lists, from: ms(0), to: ms(2) },
    ]);
    const all = await direct({ kind: 'flows', limit: 1000 }, 'X', ms(0), ms(2));
    const a = decodeArrowFrame(r.responses.A.frames[0]);
    expect(a.values[0].length).toBe(all[0].data.values[0].length);
    const b = decodeArrowFrame(r.responses.B.frames[0]);
    const apps = new Set(b.values[b.fields.findIndex((f) => f.name === 'app')]);
    expect([...apps].sort()).toEqual(['dns', 'http']);
  });

  it('fails a bad query alone, with the sidecar\'s words and errorSource downstream; a query that is not JSON is the plugin\'s', async () => {
    const r = await queryData(plugin, pluginContext({ url: sidecar.url, token: TOKEN }), [
      { refId: 'A', json: { kind: 'timeseries' } },
      { refId: 'B', json: { kind: 'flows', filters: [{ key: 'nope', operator: '=', value: 1 }] } },
      { refId: 'C', json: '{"kind": ' },
      { refId: 'D', json: { kind: 'volume_change', windowMs: 3_600_000 }, from: ms(0), to: ms(80) },
    ]);
    expect(r.responses.A.status).toBe(200);
    expect(r.responses.B).toMatchObject({ status: 400, errorSource: 'downstream', error: expect.stringMatching(/unknown filter key "nope"/), frames: [] });
    expect(r.responses.C).toMatchObject({ status: 400, errorSource: 'plugin', error: 'query C: the query model is not JSON' });
    expect(r.responses.D).toMatchObject({ status: 400, errorSource: 'downstream', error: expect.stringMatching(/at least 3 earlier window\(s\).*widen the time range or shorten windowMs/) });
  });

  it('turns a wrong token and a sidecar that is down into per-refId downstream errors', async () => {
    const wrong = await queryData(plugin, pluginContext({ url: sidecar.url, token: 'wrong', uid: 'wrong-token' }), [{ refId: 'A', json: { kind: 'keys' } }, { refId: 'B', json: { kind: 'captures' } }]);
    for (const ref of ['A', 'B']) expect(wrong.responses[ref]).toMatchObject({ status: 401, errorSource: 'downstream', error: expect.stringMatching(/refused the API token \(HTTP 401\)/) });
    const down = await queryData(plugin, pluginContext({ url: 'http://127.0.0.1:9', uid: 'down' }), [{ refId: 'A', json: { kind: 'keys' } }]);
    expect(down.responses.A).toMatchObject({ status: 502, errorSource: 'downstream', error: 'query A: cannot reach the Capsight sidecar at http://127.0.0.1:9: connection refused (is it running on that address?)' });
  });
});

/** An HTTP server that accepts requests and never answers: the sidecar stuck on a long query. */
async function stalledServer(): Promise<{ url: string; closedSockets: () => number; requests: () => number; close: () => Promise<void> }> {
  let closed = 0;
  let requests = 0;
  const server = http.createServer(() => {
    requests++;
  });
  server.on('connection', (s) => s.on('close', () => closed++));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    closedSockets: () => closed,
    requests: () => requests,
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

run('instances, cancellation and time limits', () => {
  it('cancelling a query mid-way aborts the request to the sidecar', async () => {
    const stalled = await stalledServer();
    try {
      const ac = new AbortController();
      const pending = queryData(plugin, pluginContext({ url: stalled.url, uid: 'stalled' }), [{ refId: 'A', json: { kind: 'keys' } }], 'ARROW', { signal: ac.signal });
      await until('the query to reach the stalled sidecar', () => stalled.requests() === 1);
      ac.abort();
      await expect(pending).rejects.toMatchObject({ code: grpc.status.CANCELLED });
      await until('the plugin to drop the sidecar request', () => stalled.closedSockets() === 1);
    } finally {
      await stalled.close();
    }
  });

  it('honours the data source\'s time limit: a per-refId 504', async () => {
    const stalled = await stalledServer();
    try {
      const r = await queryData(plugin, pluginContext({ url: stalled.url, uid: 'slow', timeoutSec: 1 }), [{ refId: 'A', json: { kind: 'keys' } }]);
      expect(r.responses.A).toMatchObject({ status: 504, errorSource: 'downstream', error: `query A: the sidecar at ${stalled.url} did not answer within 1 s` });
    } finally {
      await stalled.close();
    }
  });

  it('keeps data source instances apart, and rebuilds one when its settings change (lastUpdatedMS)', async () => {
    const other = await startSidecar({ 'api-token': 'other-token' });
    try {
      await upload(other, 'small.pcap', generated({ bytes: 300_000, seed: 5, startSec: START }));
      const health = async (o: Parameters<typeof pluginContext>[0]) => (await plugin.unary<{ status: string; message: string }>('diagnostics', 'CheckHealth', { pluginContext: pluginContext(o) })).message;
      const first = await health({ url: sidecar.url, token: TOKEN, uid: 'one', id: 11 });
      const second = await health({ url: other.url, token: 'other-token', uid: 'two', id: 12 });
      expect(first).not.toBe(second);
      expect(second).toMatch(/: 1 capture\(s\), /);
      // Same instance, new token, same lastUpdatedMS: Grafana did not save; the instance stays as it was.
      expect(await health({ url: sidecar.url, token: 'changed', uid: 'one', id: 11 })).toBe(first);
      // Saved (lastUpdatedMS changes): rebuilt with the new settings.
      expect(await health({ url: other.url, token: 'other-token', uid: 'one', id: 11, updated: 2 })).toBe(second);
    } finally {
      await other.close();
    }
  });
});

run('Resource/CallResource', () => {
  const call = (method: string, path: string, body?: unknown, role = 'Admin') =>
    plugin.resource({ pluginContext: pluginContext({ url: sidecar.url, token: TOKEN, role }), path, method, url: path, headers: { 'Content-Type': { values: ['application/json'] } }, body: Buffer.from(body === undefined ? '' : JSON.stringify(body)) });

  it('passes the routes the pages need, with the token added on the server', async () => {
    const [list] = await call('GET', 'api/captures');
    expect(list.code).toBe(200);
    expect(list.headers['content-type'].values[0]).toMatch(/^application\/json/);
    const direct = await (await sidecar.call('/api/captures')).json();
    expect(JSON.parse(list.body.toString())).toEqual(direct);
    const [q] = await call('POST', 'api/query', { refId: 'V', kind: 'values', key: 'country', limit: 10 });
    expect(q.code).toBe(200);
    expect(JSON.parse(q.body.toString()).results.V.frames[0].schema.fields.map((f: { name: string }) => f.name)).toEqual(['value', 'text', 'flows']);
  });

  it('refuses changes to a Viewer, routes it does not know, and reports the sidecar\'s refusals', async () => {
    const [viewer] = await call('DELETE', `api/captures/${captureId}`, undefined, 'Viewer');
    expect(viewer.code).toBe(403);
    expect(JSON.parse(viewer.body.toString()).message).toBe('DELETE api/captures/' + captureId + " changes the sidecar's data: it needs the Editor or Admin role (yours: Viewer)");
    const [unknown] = await call('GET', 'api/../../etc/passwd');
    expect(unknown.code).toBe(404);
    const [refused] = await call('POST', 'api/imports', { url: 'http://169.254.169.254/latest/meta-data' });
    expect(refused.code).toBe(400);
    expect(JSON.parse(refused.body.toString()).message).toMatch(/169\.254\.169\.254/);
  });
});

run('stopping', () => {
  it('stops gracefully on the host\'s Shutdown and on SIGTERM, and removes its socket', async () => {
    const a = await startPlugin();
    const socketDir = a.handshake.address.replace(/\/grpc\.sock$/, '');
    expect(await a.kill()).toEqual({ code: 0, signal: null, graceful: true });
    expect(fs.existsSync(socketDir)).toBe(false);
    const b = await startPlugin();
    b.child.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
    expect(b.stderrLines().map((l) => JSON.parse(l)['@message'])).toEqual(['serving', 'stopping', 'stopped']);
  });

  it('is killed with SIGKILL when it does not stop within 2 s (go-plugin\'s Kill), and Grafana would see the exit', async () => {
    const c = await startPlugin();
    const socketDir = c.handshake.address.replace(/\/grpc\.sock$/, '');
    c.child.kill('SIGSTOP'); // a wedged plugin: it cannot answer Shutdown
    const r = await c.kill();
    expect(r).toMatchObject({ signal: 'SIGKILL', graceful: false });
    // Killed, it could not remove its socket directory: the next plugin process does, once the
    // directory is older than a plugin's start (made so here).
    expect(fs.existsSync(socketDir)).toBe(true);
    const past = new Date(Date.now() - 10 * 60_000);
    fs.utimesSync(socketDir, past, past);
    const d = await startPlugin();
    while (fs.existsSync(socketDir)) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await d.kill()).toMatchObject({ graceful: true });
  });
});
