import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { setBackendSrv, type BackendSrv, type BackendSrvRequest, type FetchResponse } from '@grafana/runtime';
import { Observable } from 'rxjs';
import { spawnSidecar, type SidecarProcess } from '../../backend/src/testing/sidecar-process';

/**
 * For tests against the real sidecar: Grafana's data source proxy played by a few lines. Like the
 * `sidecar` route in plugin.json, it drops everything up to ".../sidecar" and forwards the rest.
 */
export function useSidecarProxy(sidecarUrl: string): void {
  const fetch = (options: BackendSrvRequest): Observable<FetchResponse<unknown>> =>
    new Observable((sub) => {
      const url = new URL(options.url.replace(/^.*\/sidecar(?=\/)/, ''), sidecarUrl);
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

/** One HTTP request with an optional JSON body; the answer as text. */
function send(url: URL | string, method: string, data?: unknown): Promise<{ status: number; statusText: string; text: string }> {
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

/** POST a JSON body and read the JSON answer (test set-up, outside the data source). */
export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return JSON.parse((await send(url, 'POST', body)).text);
}

/** GET a JSON document (test set-up, outside the data source). */
export async function getJson<T>(url: string): Promise<T> {
  return JSON.parse((await send(url, 'GET')).text);
}

/**
 * The built sidecar with its generated demo capture stored (own process, temporary data directory),
 * and the proxy stand-in pointed at it.
 */
export async function startDemoSidecar(args: string[] = []): Promise<SidecarProcess> {
  const sidecar = await spawnSidecar(['--demo', 'true', '--data-dir', fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-plugin-test-')), ...args]);
  for (let i = 0; i < 300 && (await getJson<{ captures: number }>(`${sidecar.url}/health`)).captures === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  useSidecarProxy(sidecar.url);
  return sidecar;
}
