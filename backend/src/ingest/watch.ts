import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnonymousCredential, type ContainerClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { redactText, redactUrl, urlWithoutQuery } from '../security/redact';
import { ImportRefused, type UrlPolicy } from '../security/url-policy';
import { containerClient, fromConnectionString } from './azure-client';
import type { FlowStore, WatchRecord } from '../store/flow-store';
import type { Importer } from './importer';
import type { JobManager } from './jobs';
import { parseNetworkWatcherPath } from './network-watcher';

/** How a watch reaches its container. Kept in a 0600 file in the data directory, never in the API. */
interface WatchSecret {
  containerUrl?: string;
  connectionString?: string;
  accountUrl?: string;
  container?: string;
  managedIdentity?: boolean;
}

const CAPTURE_NAME = /\.(cap|pcap|pcapng|pcap\.gz|pcapng\.gz|cap\.gz)$/i;

const WatchBody = Type.Object(
  {
    containerUrl: Type.Optional(Type.String({ maxLength: 8192, description: 'container URL with a SAS token (rl permissions)' })),
    connectionString: Type.Optional(Type.String({ maxLength: 4096, description: 'storage account connection string (with "container")' })),
    accountUrl: Type.Optional(Type.String({ maxLength: 2048, description: 'https://ACCOUNT.blob.core.windows.net (with "container" and managedIdentity)' })),
    container: Type.Optional(Type.String({ maxLength: 63 })),
    managedIdentity: Type.Optional(Type.Boolean({ description: 'authenticate with DefaultAzureCredential (managed identity on Azure VMs)' })),
    prefix: Type.Optional(Type.String({ maxLength: 1024, description: 'only blobs under this prefix, e.g. network-watcher-logs/' })),
    intervalSec: Type.Optional(Type.Integer({ minimum: 5, maximum: 86400 })),
  },
  { additionalProperties: false },
);

interface WatchConfig {
  dataDir: string;
  watchIntervalSec: number;
}

/**
 * Container watches: poll a blob container, import every new capture blob exactly once. A blob
 * version is marked seen (name + ETag, in the store) when its import succeeded, was a duplicate, or
 * failed on its content; network failures are retried at the next poll.
 */
export class WatchManager {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<string>();
  private readonly secretsFile: string;
  private stopped = false;

  constructor(
    private readonly store: FlowStore,
    private readonly importer: Importer,
    private readonly jobs: JobManager,
    private readonly policy: UrlPolicy,
    private readonly config: WatchConfig,
    private readonly log: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void },
  ) {
    this.secretsFile = path.join(config.dataDir, 'watch-secrets.json');
  }

  async start(): Promise<void> {
    for (const w of await this.store.listWatches()) this.schedule(w, 1000);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private secrets(): Record<string, WatchSecret> {
    try {
      return JSON.parse(fs.readFileSync(this.secretsFile, 'utf8')) as Record<string, WatchSecret>;
    } catch {
      return {};
    }
  }

  private saveSecrets(all: Record<string, WatchSecret>): void {
    fs.mkdirSync(this.config.dataDir, { recursive: true });
    const tmp = `${this.secretsFile}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(all), { mode: 0o600 });
    fs.renameSync(tmp, this.secretsFile);
  }

  /**
   * A client for the container, after the URL policy accepted its endpoint (a 400 now); its
   * requests go through the policy's agents, which check every connection again.
   */
  private async client(s: WatchSecret): Promise<ContainerClient> {
    const agents = this.policy.agents();
    if (s.containerUrl) {
      await this.importer.checkUrl(s.containerUrl);
      return containerClient(s.containerUrl, new AnonymousCredential(), agents);
    }
    if (s.connectionString) {
      if (!s.container) throw new ImportRefused('"container" is required with a connection string');
      const { url, credential } = fromConnectionString(s.connectionString, s.container);
      await this.importer.checkUrl(url);
      return containerClient(url, credential, agents);
    }
    if (s.accountUrl && s.container && s.managedIdentity) {
      const url = `${s.accountUrl.replace(/\/+$/, '')}/${encodeURIComponent(s.container)}`;
      await this.importer.checkUrl(url);
      return containerClient(url, new DefaultAzureCredential(), agents);
    }
    throw new ImportRefused('a watch needs "containerUrl" (with SAS), or "connectionString" + "container", or "accountUrl" + "container" + "managedIdentity": true');
  }

  async add(body: WatchSecret & { prefix?: string; intervalSec?: number }): Promise<WatchRecord> {
    const secret: WatchSecret = { containerUrl: body.containerUrl, connectionString: body.connectionString, accountUrl: body.accountUrl, container: body.container, managedIdentity: body.managedIdentity };
    const client = await this.client(secret);
    try {
      // One listing call proves the credentials before the watch is kept.
      await client.listBlobsFlat({ prefix: body.prefix }).byPage({ maxPageSize: 1 }).next();
    } catch (err) {
      throw new ImportRefused(`cannot list the container ${redactUrl(client.url)}: ${azureMessage(err)}`);
    }
    const watch: WatchRecord = {
      id: randomUUID(),
      container: urlWithoutQuery(client.url),
      prefix: body.prefix ?? '',
      intervalSec: body.intervalSec ?? this.config.watchIntervalSec,
      createdAt: new Date().toISOString(),
      lastPollAt: null,
      lastError: null,
      blobsIngested: 0,
    };
    this.saveSecrets({ ...this.secrets(), [watch.id]: secret });
    await this.store.saveWatch(watch);
    this.schedule(watch, 0);
    return watch;
  }

  async remove(id: string): Promise<boolean> {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    const all = this.secrets();
    delete all[id];
    this.saveSecrets(all);
    return this.store.deleteWatch(id);
  }

  private schedule(w: WatchRecord, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(w.id));
    this.timers.set(
      w.id,
      setTimeout(() => {
        // (A poll still running when the sidecar stops ends without scheduling the next: the store is closing.)
        void this.poll(w.id)
          .then(async () => {
            if (this.stopped) return;
            const cur = (await this.store.listWatches()).find((x) => x.id === w.id);
            if (cur) this.schedule(cur, cur.intervalSec * 1000);
          })
          .catch((err: unknown) => {
            if (!this.stopped) this.log.warn({ watch: w.id, error: redactText(String(err)) }, 'watch poll failed');
          });
      }, delayMs).unref(),
    );
  }

  /** Lists the container once and queues an import for every capture blob not seen yet. */
  async poll(id: string): Promise<{ queued: string[] }> {
    const w = (await this.store.listWatches()).find((x) => x.id === id);
    const secret = this.secrets()[id];
    if (!w || !secret) return { queued: [] };
    const queued: string[] = [];
    try {
      const client = await this.client(secret);
      for await (const blob of client.listBlobsFlat({ prefix: w.prefix || undefined })) {
        const etag = blob.properties.etag ?? '';
        const key = `${id}\u0000${blob.name}\u0000${etag}`;
        if (!CAPTURE_NAME.test(blob.name) || this.inFlight.has(key) || (await this.store.watchSeen(id, blob.name, etag))) continue;
        this.inFlight.add(key);
        queued.push(this.importBlob(w, client, blob.name, etag, blob.properties.contentLength ?? null, key));
      }
      await this.store.saveWatch({ ...w, lastPollAt: new Date().toISOString(), lastError: null });
    } catch (err) {
      const msg = err instanceof ImportRefused ? err.message : `listing failed: ${azureMessage(err)}`;
      this.log.warn({ watch: id, error: msg }, 'watch poll failed');
      await this.store.saveWatch({ ...w, lastPollAt: new Date().toISOString(), lastError: msg });
    }
    return { queued };
  }

  private importBlob(w: WatchRecord, client: ContainerClient, name: string, etag: string, size: number | null, key: string): string {
    const source = `${w.container}/${name}`;
    const nw = parseNetworkWatcherPath(name);
    const display = nw ? `${nw.vm} ${path.basename(name)}` : path.basename(name);
    const job = this.jobs.submit('watch', display, source, async (ctx) => {
      const known = await this.store.findCapture({ etagOf: { source, etag } });
      if (known) return { result: 'already ingested', captureId: known.id };
      ctx.progress({ bytesTotal: size });
      // The SDK resumes a dropped download with ranged requests (maxRetryRequests).
      let res: Awaited<ReturnType<ReturnType<ContainerClient['getBlobClient']>['download']>>;
      try {
        res = await client.getBlobClient(name).download(0, undefined, { abortSignal: ctx.signal, maxRetryRequests: 5, conditions: etag ? { ifMatch: etag } : undefined });
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        throw new Error(`${source}: download failed: ${azureMessage(err)}`);
      }
      if (!res.readableStreamBody) throw new Error(`${source}: empty download`);
      const out = await this.importer.ingest(ctx, {
        stream: res.readableStreamBody as AsyncIterable<Uint8Array>,
        name: display,
        source,
        sourceKind: 'watch',
        etag,
        azure: nw ? { subscription: nw.subscription, resourceGroup: nw.resourceGroup, vm: nw.vm } : null,
      });
      return { result: out.result === 'ingested' ? 'ingested' : 'already ingested', captureId: out.capture.id, packets: out.capture.packets, flows: out.capture.flows };
    });
    void this.jobs.wait(job.id).then(async (done) => {
      this.inFlight.delete(key);
      if (!done) return;
      const contentProblem = done.state === 'failed' && /not a pcap|truncated|corrupt|empty|unsupported|the limit of one capture/i.test(done.error ?? '');
      if (done.state === 'done' || contentProblem) await this.store.markWatchSeen(w.id, name, etag, done.state === 'done' ? String(done.result) : `failed: ${done.error}`);
    });
    return job.id;
  }

  routes(app: FastifyInstance): void {
    app.post('/api/watches', { schema: { summary: 'Watch a blob container and import each new capture once', body: WatchBody } }, async (req, reply) => {
      const w = await this.add(req.body as WatchSecret & { prefix?: string; intervalSec?: number });
      return reply.code(201).send(w);
    });
    app.get('/api/watches', { schema: { summary: 'Container watches' } }, async () => this.store.listWatches());
    app.post('/api/watches/:id/poll', { schema: { summary: 'Poll a watch now', params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await this.store.listWatches()).some((w) => w.id === id)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no watch ${id}` });
      return this.poll(id);
    });
    app.delete('/api/watches/:id', { schema: { params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (req, reply) => {
      const id = (req.params as { id: string }).id;
      if (!(await this.remove(id))) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no watch ${id}` });
      return { id, deleted: true };
    });
  }
}

/** One line from an Azure SDK error, never empty: a redirect (which the SDK does not follow) says where it pointed. */
function azureMessage(err: unknown): string {
  const e = err as { statusCode?: number; code?: string; message?: string; response?: { headers?: { get(name: string): string | undefined } } };
  const first = (e.message ?? String(err)).split('\n')[0];
  const status = e.statusCode;
  if (status !== undefined && status >= 300 && status < 400) {
    const location = e.response?.headers?.get('location');
    return redactText(`HTTP ${status}: the storage service answered with a redirect${location ? ` to ${redactUrl(location)}` : ''}, which watches do not follow`);
  }
  const text = [status !== undefined ? `HTTP ${status}` : '', e.code, first].filter(Boolean).join(' ');
  return redactText(text || 'no reason given by the storage service');
}
