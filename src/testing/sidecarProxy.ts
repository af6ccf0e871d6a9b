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
      const body = options.data === undefined ? undefined : JSON.stringify(options.data);
      const req = http.request(url, { method: options.method ?? 'GET', headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          const data = text ? JSON.parse(text) : undefined;
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            sub.error({ status, statusText: res.statusMessage, data });
          } else {
            sub.next({ data, status, statusText: res.statusMessage ?? '', ok: true, headers: new Headers(), redirected: false, type: 'basic', url: url.toString(), config: options });
            sub.complete();
          }
        });
      });
      req.on('error', (e) => sub.error(e));
      req.end(body);
    });
  setBackendSrv({ fetch } as unknown as BackendSrv);
}

/** POST a JSON body and read the JSON answer (test set-up, outside the data source). */
export function postJson<T>(url: string, body: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (r) => {
      let t = '';
      r.on('data', (c) => (t += c));
      r.on('end', () => resolve(JSON.parse(t)));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** GET a JSON document (test set-up, outside the data source). */
export function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (r) => {
        let t = '';
        r.on('data', (c) => (t += c));
        r.on('end', () => resolve(JSON.parse(t)));
      })
      .on('error', reject);
  });
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
