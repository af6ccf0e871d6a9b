import type { Logger } from './go-plugin/hclog';
import type { InstanceManager } from './instances';
import type { PluginMetrics } from './metrics';
import { SidecarError, type SidecarClient, type SidecarResponse } from './sidecar/client';

/** What every service handler gets: the instances, the logger, the metrics and a measured sidecar call. */
export interface Context {
  instances: InstanceManager;
  log: Logger;
  metrics: PluginMetrics;
  /** `requester`: the Grafana user the call is for (the sidecar takes its queries in turn with other users'). */
  sidecar(client: SidecarClient, method: string, path: string, body: Buffer | string | undefined, signal: AbortSignal, contentType?: string, requester?: string): Promise<SidecarResponse>;
}

export function createContext(instances: InstanceManager, log: Logger, metrics: PluginMetrics): Context {
  return {
    instances,
    log,
    metrics,
    async sidecar(client, method, path, body, signal, contentType, requester) {
      const route = `${method} ${path.split('?')[0].replace(/\/[0-9a-f-]{6,}(?=\/|$)/gi, '/:id')}`;
      const end = metrics.sidecar.startTimer({ route });
      try {
        const r = await client.request(method, path, body, signal, contentType, requester);
        end({ outcome: r.status < 400 ? 'ok' : `${Math.floor(r.status / 100)}xx` });
        return r;
      } catch (e) {
        end({ outcome: e instanceof SidecarError ? e.failure : 'error' });
        throw e;
      }
    },
  };
}
