import type { PluginContext } from './protocol/messages';
import { SidecarClient, SidecarError } from './sidecar/client';

/**
 * One sidecar client per data source instance, as Grafana configures it: the sidecar URL from
 * jsonData.url, the token from decryptedSecureJsonData.apiToken, the time limit from
 * jsonData.timeoutSec (default 30 s). Grafana sends the settings with every call; an instance is
 * rebuilt when its lastUpdatedMS changes (the user saved the data source), and the old one's
 * connections are closed.
 */
export interface DataSourceJson {
  url?: string;
  timeoutSec?: number;
}

export const DEFAULT_TIMEOUT_SEC = 30;

interface Entry {
  updated: number;
  client: SidecarClient;
}

export class InstanceManager {
  private readonly byId = new Map<string, Entry>();

  get size(): number {
    return this.byId.size;
  }

  /** The instance for the call's data source (throws SidecarError 'bad-config' for unusable settings). */
  get(ctx: PluginContext | null): SidecarClient {
    const s = ctx?.dataSourceInstanceSettings;
    if (!s) throw new SidecarError('bad-config', 'the call carries no data source settings');
    const key = `${ctx.orgId}/${s.uid || s.id}`;
    const known = this.byId.get(key);
    if (known && known.updated === s.lastUpdatedMS) return known.client;
    let json: DataSourceJson = {};
    if (s.jsonData?.length) {
      try {
        json = JSON.parse(s.jsonData.toString('utf8')) as DataSourceJson;
      } catch {
        throw new SidecarError('bad-config', "the data source's settings (jsonData) are not JSON");
      }
    }
    const url = json.url || s.url;
    if (!url) throw new SidecarError('bad-config', 'no sidecar URL configured: set it in the data source settings (e.g. http://127.0.0.1:9877)');
    const timeoutSec = Number(json.timeoutSec) > 0 ? Number(json.timeoutSec) : DEFAULT_TIMEOUT_SEC;
    const client = new SidecarClient({ url, token: s.decryptedSecureJsonData?.apiToken || undefined, timeoutMs: timeoutSec * 1000 });
    known?.client.close();
    this.byId.set(key, { updated: s.lastUpdatedMS, client });
    return client;
  }

  closeAll(): void {
    for (const e of this.byId.values()) e.client.close();
    this.byId.clear();
  }
}
