import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

import { MALLOC_ENV, SERVE_NODE_FLAGS } from '../server/node-flags';

const BIN = path.resolve(__dirname, '../../bin/capsight.js');

export interface SidecarProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The built sidecar (`capsight serve`) as its own process, on a random port of 127.0.0.1. */
export async function spawnSidecar(args: string[]): Promise<SidecarProcess> {
  if (!fs.existsSync(path.resolve(BIN, '../../dist/cli/main.js'))) throw new Error('build first: npm run build');
  const child = spawn(process.execPath, [...SERVE_NODE_FLAGS, BIN, 'serve', '--port', '0', '--demo', 'false', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...MALLOC_ENV },
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sidecar did not start within 30 s: ${out}`));
    }, 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => reject(new Error(`sidecar exited with ${code}: ${out}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * One HTTP request with an optional JSON body; the answer as text. node:http rather than fetch:
 * the plugin's tests use it too, and they run in jsdom, which has no fetch.
 */
export function send(url: URL | string, method: string, data?: unknown): Promise<{ status: number; statusText: string; text: string }> {
  const body = data === undefined ? undefined : JSON.stringify(data);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The built sidecar with its generated demo capture stored (temporary data directory). */
export async function spawnDemoSidecar(args: string[] = []): Promise<SidecarProcess> {
  const sidecar = await spawnSidecar(['--demo', 'true', '--data-dir', fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-demo-')), ...args]);
  for (let i = 0; i < 300; i++) {
    if ((JSON.parse((await send(`${sidecar.url}/health`, 'GET')).text) as { captures: number }).captures > 0) return sidecar;
    await new Promise((r) => setTimeout(r, 100));
  }
  await sidecar.stop();
  throw new Error('the demo capture was not stored within 30 s');
}

/**
 * POSTs an import and waits for its job; returns the job and the seconds it took by the job's own
 * clock (created to finished), so the polling (every 100 ms) neither pads nor disturbs the figure.
 */
export async function timedImport(url: string, body: Record<string, string>): Promise<{ job: Record<string, unknown>; seconds: number }> {
  const r = (await (await fetch(`${url}/api/imports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id?: string; message?: string };
  if (!r.id) throw new Error(`import refused: ${String(r.message)}`);
  for (;;) {
    const job = (await (await fetch(`${url}/api/jobs/${r.id}`)).json()) as Record<string, unknown>;
    if (job.state !== 'queued' && job.state !== 'running') return { job, seconds: (Date.parse(String(job.finishedAt)) - Date.parse(String(job.createdAt))) / 1000 };
    await new Promise((res) => setTimeout(res, 100));
  }
}
