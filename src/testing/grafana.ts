import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { setBackendSrv, type BackendSrv, type BackendSrvRequest, type FetchResponse } from '@grafana/runtime';
import { Observable } from 'rxjs';
import { send, spawnDemoSidecar, type SidecarProcess } from '../../backend/src/testing/sidecar-process';

/**
 * For the front end's tests: Grafana's server played by plugin-backend/src/testing/grafana-server.ts
 * (its /api/ds/query, data source health, resources and upload proxy route, with the real plugin
 * executable behind them), in its own process, in front of the real sidecar; and Grafana's
 * backendSrv in the page sending the plugin's requests to it.
 */
export interface TestGrafana {
  url: string;
  sidecar: SidecarProcess;
  stop(): Promise<void>;
}

const MAIN = path.resolve(__dirname, '../../plugin-backend/src/testing/grafana-server-main.ts');

export async function spawnGrafana(sidecar: SidecarProcess, token = '', role = 'Admin'): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), MAIN, sidecar.url, token, role], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => reject(new Error(`Grafana stand-in exited with ${code}: ${err}`)));
  });
  return { url, child };
}

/** Grafana's backendSrv.fetch, answered by the stand-in at `base` (same paths as Grafana's API). */
export function useGrafana(base: string): void {
  const fetch = (options: BackendSrvRequest): Observable<FetchResponse<unknown>> =>
    new Observable((sub) => {
      const url = new URL(options.url, base);
      for (const [k, v] of Object.entries(options.params ?? {})) url.searchParams.set(k, String(v));
      send(url, options.method ?? 'GET', options.data).then(
        ({ status, statusText, text }) => {
          const data = text ? JSON.parse(text) : undefined;
          if (status >= 400) {
            sub.error({ status, statusText, data });
          } else {
            sub.next({ data, status, statusText, ok: true, headers: new Headers(), redirected: false, type: 'basic', url: url.toString(), config: options });
            sub.complete();
          }
        },
        (e) => sub.error(e),
      );
    });
  setBackendSrv({ fetch } as unknown as BackendSrv);
}

/** The built sidecar with its demo capture, the Grafana stand-in with the plugin in front of it, and backendSrv pointed there. */
export async function startDemoGrafana(sidecarArgs: string[] = [], role = 'Admin'): Promise<TestGrafana> {
  const token = 'frontend-test-token';
  const sidecar = await spawnDemoSidecar(['--api-token', token, ...sidecarArgs]);
  const g = await spawnGrafana(sidecar, token, role);
  useGrafana(g.url);
  return {
    url: g.url,
    sidecar,
    async stop() {
      const exited = new Promise((r) => g.child.once('exit', r));
      g.child.kill('SIGTERM');
      await exited;
      await sidecar.stop();
    },
  };
}

/** POST a JSON body to the sidecar and read the JSON answer (test set-up, outside the plugin). */
export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return JSON.parse((await send(url, 'POST', body)).text);
}

/** GET a JSON document (test set-up, outside the plugin). */
export async function getJson<T>(url: string): Promise<T> {
  return JSON.parse((await send(url, 'GET')).text);
}
