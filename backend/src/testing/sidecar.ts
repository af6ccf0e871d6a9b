import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createSidecar, type Sidecar } from '../server/app';
import { loadConfig, type ServerConfig } from '../server/config';
import { generateCaptureBuffer, type GenerateOptions } from '../synth/generator';

export interface RunningSidecar extends Sidecar {
  url: string;
  config: ServerConfig;
  dataDir: string;
  /** Every log line written so far (JSON). */
  logs: string[];
  /** fetch against the sidecar, with the token when one is configured. */
  call(pathAndQuery: string, init?: RequestInit): Promise<Response>;
}

/** A real sidecar on 127.0.0.1 (random port) with a temporary data directory. */
export async function startSidecar(overrides: Record<string, string> = {}, dataDir?: string): Promise<RunningSidecar> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-test-'));
  const config = loadConfig({ 'data-dir': dir, port: '0', demo: 'false', 'log-level': 'info', ...overrides }, {});
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const sidecar = await createSidecar(config, { level: 'info', stream });
  await sidecar.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = sidecar.app.server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return {
    ...sidecar,
    url,
    config,
    dataDir: dir,
    logs,
    call: (p, init = {}) => {
      const headers = new Headers(init.headers);
      if (config.apiToken && !headers.has('authorization')) headers.set('authorization', `Bearer ${config.apiToken}`);
      // What Grafana's backend sends (security model: requests that change something carry it).
      if (!headers.has('x-capsight-request')) headers.set('x-capsight-request', 'test');
      return fetch(url + p, { ...init, headers });
    },
  };
}

/** A generated capture in memory. */
export function generated(options: Partial<GenerateOptions> & { bytes: number; seed: number }): Buffer {
  return generateCaptureBuffer({ hosts: 60, flows: Math.max(20, Math.round(options.bytes / 20_000)), ipv6Share: 0.2, ...options });
}

export async function postJson(s: RunningSidecar, p: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await s.call(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

export async function upload(s: RunningSidecar, name: string, data: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  const form = new FormData();
  form.append('file', new Blob([data]), name);
  const r = await s.call('/api/imports/upload', { method: 'POST', body: form });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** The job as the API shows it now. */
export async function getJob(s: RunningSidecar, id: string): Promise<Record<string, unknown>> {
  return (await (await s.call(`/api/jobs/${id}`)).json()) as Record<string, unknown>;
}

/** Polls a job until it finishes. */
export async function waitForJob(s: RunningSidecar, id: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const j = await getJob(s, id);
    if (j.state !== 'queued' && j.state !== 'running') return j;
    if (Date.now() > end) throw new Error(`job ${id} still ${String(j.state)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs queries and returns the frames of refId A. */
export async function query(s: RunningSidecar, q: Record<string, unknown>): Promise<{ status: number; frames: { schema: { fields: { name: string; labels?: Record<string, string> }[]; meta: Record<string, unknown> }; data: { values: unknown[][] } }[]; message?: string }> {
  const { status, json } = await postJson(s, '/api/query', { refId: 'A', ...q });
  const results = json.results as Record<string, { frames: never[] }> | undefined;
  return { status, frames: results?.A.frames ?? [], message: json.message as string | undefined };
}

/** Column `name` of a frame as an array. */
export function column<T = unknown>(frame: { schema: { fields: { name: string }[] }; data: { values: unknown[][] } }, name: string): T[] {
  const i = frame.schema.fields.findIndex((f) => f.name === name);
  if (i < 0) throw new Error(`no field ${name} in ${frame.schema.fields.map((f) => f.name).join(',')}`);
  return frame.data.values[i] as T[];
}
