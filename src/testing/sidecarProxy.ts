import { setBackendSrv, type BackendSrv, type BackendSrvRequest, type FetchResponse } from '@grafana/runtime';
import { Observable } from 'rxjs';
import { send, spawnDemoSidecar, type SidecarProcess } from '../../backend/src/testing/sidecar-process';

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

/** POST a JSON body and read the JSON answer (test set-up, outside the data source). */
export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return JSON.parse((await send(url, 'POST', body)).text);
}

/** GET a JSON document (test set-up, outside the data source). */
export async function getJson<T>(url: string): Promise<T> {
  return JSON.parse((await send(url, 'GET')).text);
}

/** The built sidecar with its demo capture stored, and the proxy stand-in pointed at it. */
export async function startDemoSidecar(args: string[] = []): Promise<SidecarProcess> {
  const sidecar = await spawnDemoSidecar(args);
  useSidecarProxy(sidecar.url);
  return sidecar;
}
