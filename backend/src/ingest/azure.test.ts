import * as http from 'node:http';
import * as net from 'node:net';
import { ImportRefused, UrlPolicy } from '../security/url-policy';
import { ACCOUNT, KEY, startAzurite, type Azurite } from '../testing/azurite';
import { generated, postJson, startSidecar, waitForJob, type RunningSidecar } from '../testing/sidecar';
import { AnonymousCredential } from '@azure/storage-blob';
import { containerClient } from './azure-client';
import { BufferPool } from './buffer-pool';
import { openDownload } from './http-download';
import { openThreadedDownload } from './threaded-download';
import { parseNetworkWatcherPath } from './network-watcher';

const NW = 'subscriptions/0000-1111/resourcegroups/rg-prod/providers/microsoft.compute/virtualmachines/vm-web-01/2026/11/26/packetcapture_10_15_00_123.cap';

/** A TCP proxy that cuts the first connection after `cutAfter` bytes from the server (a dropped download). */
async function flakyProxy(targetPort: number, cutAfter: number): Promise<{ port: number; cuts: number; close(): Promise<void> }> {
  const state = { cuts: 0 };
  let first = true;
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.pipe(upstream);
    const cut = first;
    first = false;
    let sent = 0;
    upstream.on('data', (d: Buffer) => {
      if (cut && sent + d.length >= cutAfter) {
        client.write(d.subarray(0, Math.max(0, cutAfter - sent)));
        state.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      sent += d.length;
      client.write(d);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get cuts() {
      return state.cuts;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('Azure Blob imports against Azurite', () => {
  let az: Azurite;
  let s: RunningSidecar;
  const capture = generated({ bytes: 2_500_000, seed: 33 });
  beforeAll(async () => {
    az = await startAzurite();
    const c = az.service.getContainerClient('network-watcher-logs');
    await c.create();
    await c.getBlockBlobClient(NW).uploadData(capture);
    s = await startSidecar({ 'import-allow': `127.0.0.1:${az.port}`, 'download-parallelism': '3' });
  });
  afterAll(async () => {
    await s?.close();
    await az?.stop();
  });

  it('imports a Network Watcher blob by SAS URL, with VM metadata, and never keeps the signature', async () => {
    const url = az.blobSasUrl('network-watcher-logs', NW);
    const sig = new URL(url).searchParams.get('sig') as string;
    const r = await postJson(s, '/api/imports', { url });
    expect(r.status).toBe(202);
    const job = await waitForJob(s, String(r.json.id));
    expect(job).toMatchObject({ state: 'done', result: 'ingested', bytesDone: capture.length, bytesTotal: capture.length });
    const caps = (await (await s.call('/api/captures')).json()) as Record<string, unknown>[];
    expect(caps[0]).toMatchObject({ name: 'packetcapture_10_15_00_123.cap', sourceKind: 'url', size: capture.length, azure: { subscription: '0000-1111', resourceGroup: 'rg-prod', vm: 'vm-web-01' } });
    expect(caps[0].etag).toBeTruthy();

    // Same blob again: known by its ETag before any download.
    const again = await waitForJob(s, String((await postJson(s, '/api/imports', { url })).json.id));
    expect(again).toMatchObject({ state: 'done', result: 'already ingested', captureId: caps[0].id });

    const everything = [JSON.stringify(r.json), JSON.stringify(job), JSON.stringify(caps), await (await s.call('/api/jobs')).text(), s.logs.join('\n')].join('\n');
    expect(everything).not.toContain(sig);
    expect(everything).not.toContain(encodeURIComponent(sig));
  });

  it('reports a tampered SAS as a clear 403 without echoing the signature', async () => {
    const url = new URL(az.blobSasUrl('network-watcher-logs', NW));
    const forged = 'AAAA' + (url.searchParams.get('sig') as string).slice(4);
    url.searchParams.set('sig', forged);
    const job = await waitForJob(s, String((await postJson(s, '/api/imports', { url: url.toString() })).json.id));
    expect(job.state).toBe('failed');
    expect(String(job.error)).toMatch(/access denied \(is the SAS token valid.*\(403 (AuthorizationFailure|AuthenticationFailed): Server failed to authenticate/);
    expect(JSON.stringify(job) + s.logs.join('\n')).not.toContain(forged.slice(4, 30));
    expect(String(job.error)).toContain('sig=REDACTED');
  });

  it('resumes a download whose connection drops half-way, and stores the same capture', async () => {
    // A copy under another name, so it is not "already ingested" by ETag; same bytes, so same sha256.
    const c = az.service.getContainerClient('copies');
    await c.create();
    await c.getBlockBlobClient('dropped.pcap').uploadData(capture);
    const proxy = await flakyProxy(az.port, 700_000);
    const s2 = await startSidecar({ 'import-allow': `127.0.0.1:${proxy.port}`, 'download-parallelism': '1' });
    try {
      const url = az.blobSasUrl('copies', 'dropped.pcap').replace(`:${az.port}/`, `:${proxy.port}/`);
      const job = await waitForJob(s2, String((await postJson(s2, '/api/imports', { url })).json.id));
      expect(proxy.cuts).toBe(1);
      expect(job).toMatchObject({ state: 'done', result: 'ingested', bytesDone: capture.length });
      const [mine] = (await (await s2.call('/api/captures')).json()) as { sha256: string }[];
      const [direct] = (await (await s.call('/api/captures')).json()) as { sha256: string }[];
      expect(mine.sha256).toBe(direct.sha256);
    } finally {
      await s2.close();
      await proxy.close();
    }
  });

  it('reads ranged segments into pooled buffers that come back to it', async () => {
    const policy = new UrlPolicy({ allowHosts: [], importAllow: [`127.0.0.1:${az.port}`] });
    const pool = new BufferPool(64 * 1024);
    const dl = await openDownload(az.blobSasUrl('network-watcher-logs', NW), policy, { parallelism: 3, pool });
    const memories = new Set<ArrayBufferLike>();
    const parts: Buffer[] = [];
    for await (const segment of dl.body) {
      memories.add(segment.buffer);
      parts.push(Buffer.from(segment));
      pool.give(segment.buffer as ArrayBuffer); // what the hash worker does once it has hashed a segment
    }
    expect(Buffer.concat(parts).equals(capture)).toBe(true);
    expect(parts.length).toBe(Math.ceil(capture.length / pool.size)); // 39 segments
    expect(memories.size).toBeLessThanOrEqual(3 + 2 + 1); // in flight, being read, waiting to come back, and the short last one
  });

  it('downloads on a thread of its own: the same bytes, and refusals as the policy words them', async () => {
    const policy = new UrlPolicy({ allowHosts: [], importAllow: [`127.0.0.1:${az.port}`] });
    const dl = await openThreadedDownload(az.blobSasUrl('network-watcher-logs', NW), policy, { parallelism: 3 });
    expect(dl.size).toBe(capture.length);
    const parts: Buffer[] = [];
    for await (const segment of dl.body) {
      parts.push(Buffer.from(segment));
      dl.pool.give(segment.buffer as ArrayBuffer); // back to the download thread, as the hash worker does
    }
    expect(Buffer.concat(parts).equals(capture)).toBe(true);
    const elsewhere = new UrlPolicy({ allowHosts: [], importAllow: [] });
    const signed = az.blobSasUrl('network-watcher-logs', NW);
    const refused = await openThreadedDownload(signed, elsewhere, { parallelism: 3 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ImportRefused);
    expect((refused as Error).message).toMatch(/plain http is refused/);
    expect((refused as Error).message).not.toContain(String(new URL(signed).searchParams.get('sig')));
  });

  it('watches a container: each new capture blob once, also across a restart', async () => {
    const c = az.service.getContainerClient('watched');
    await c.create();
    const path = (vm: string, t: string): string => `network-watcher-logs/subscriptions/s1/resourcegroups/rg/providers/microsoft.compute/virtualmachines/${vm}/2026/11/26/packetcapture_${t}_000.cap`;
    await c.getBlockBlobClient(path('vm-a', '01_00_00')).uploadData(generated({ bytes: 120_000, seed: 41 }));
    await c.getBlockBlobClient(path('vm-b', '02_00_00')).uploadData(generated({ bytes: 120_000, seed: 42 }));
    await c.getBlockBlobClient('network-watcher-logs/readme.json').uploadData(Buffer.from('{}'));
    const w = await postJson(s, '/api/watches', { containerUrl: az.containerSasUrl('watched'), prefix: 'network-watcher-logs/', intervalSec: 3600 });
    expect(w.status).toBe(201);
    const id = String(w.json.id);
    expect(JSON.stringify(w.json)).not.toMatch(/sig=/);

    // Waits for states, never for time: the watch's own first poll runs when it is added, and a
    // blob's checkpoint is written after its job is done.
    const settled = async (srv: RunningSidecar, blobs: number): Promise<void> => {
      for (let i = 0; ; i++) {
        const watch = ((await (await srv.call('/api/watches')).json()) as { id: string; blobsIngested: number }[]).find((x) => x.id === id);
        const active = ((await (await srv.call('/api/jobs')).json()) as { state: string }[]).some((j) => j.state === 'queued' || j.state === 'running');
        if (watch?.blobsIngested === blobs && !active) return;
        if (i > 2400) throw new Error(`watch ${id}: ${watch?.blobsIngested} blobs ingested, ${blobs} expected${active ? ', jobs still active' : ''}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const poll = async (srv: RunningSidecar): Promise<number> => {
      const { json } = await postJson(srv, `/api/watches/${id}/poll`, {});
      const queued = json.queued as string[];
      for (const j of queued) expect(await waitForJob(srv, j)).toMatchObject({ state: 'done' });
      return queued.length;
    };
    await settled(s, 2);
    const names = async (srv: RunningSidecar): Promise<string[]> => ((await (await srv.call('/api/captures')).json()) as { name: string }[]).map((x) => x.name).sort();
    expect((await names(s)).filter((n) => n.startsWith('vm-'))).toEqual(['vm-a packetcapture_01_00_00_000.cap', 'vm-b packetcapture_02_00_00_000.cap']);
    expect(await poll(s)).toBe(0);

    await c.getBlockBlobClient(path('vm-c', '03_00_00')).uploadData(generated({ bytes: 120_000, seed: 43 }));
    expect(await poll(s)).toBe(1);
    await settled(s, 3);

    // Restart on the same data directory: the checkpoint and the credentials survive.
    const dir = s.dataDir;
    await s.close();
    s = await startSidecar({ 'import-allow': `127.0.0.1:${az.port}` }, dir);
    expect(await poll(s)).toBe(0);
    await settled(s, 3);
    const watches = (await (await s.call('/api/watches')).json()) as Record<string, unknown>[];
    expect(watches[0]).toMatchObject({ id, blobsIngested: 3, lastError: null });
    const caps = (await (await s.call('/api/captures')).json()) as { azure: { vm: string } | null }[];
    expect(caps.map((x) => x.azure?.vm).filter(Boolean).sort()).toEqual(['vm-a', 'vm-b', 'vm-c', 'vm-web-01']);
  });
});

/** An http front for Azurite that answers every blob download with a redirect (listings pass through). */
async function redirectingFront(azuritePort: number, location: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && !/comp=list/.test(req.url ?? '')) {
      res.writeHead(302, { location });
      res.end();
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: azuritePort, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

describe('watches through the Azure SDK under the import policy', () => {
  let az: Azurite;
  let s: RunningSidecar;
  let front: Awaited<ReturnType<typeof redirectingFront>>;
  beforeAll(async () => {
    az = await startAzurite();
    const c = az.service.getContainerClient('guarded');
    await c.create();
    await c.getBlockBlobClient('a.pcap').uploadData(generated({ bytes: 60_000, seed: 44 }));
    front = await redirectingFront(az.port, 'http://169.254.169.254/latest/meta-data/');
    s = await startSidecar({ 'import-allow': `127.0.0.1:${az.port},127.0.0.1:${front.port}` });
  });
  afterAll(async () => {
    await s?.close();
    await front?.close();
    await az?.stop();
  });

  it('reads a container by connection string (account key) and keeps no key anywhere', async () => {
    const connectionString = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${az.endpoint};`;
    const w = await postJson(s, '/api/watches', { connectionString, container: 'guarded', intervalSec: 3600 });
    expect(w.status).toBe(201);
    const { json } = await postJson(s, `/api/watches/${String(w.json.id)}/poll`, {});
    for (const j of json.queued as string[]) expect(await waitForJob(s, j)).toMatchObject({ state: 'done', result: expect.stringMatching(/ingested/) });
    expect(JSON.stringify(await (await s.call('/api/watches')).json()) + s.logs.join('\n')).not.toContain(KEY);
    await s.call(`/api/watches/${String(w.json.id)}`, { method: 'DELETE', headers: { 'x-capsight-request': '1' } });
  });

  it.each([
    ['not key=value pairs', 'garbage', /"connectionString" is not a storage connection string: part 1 is not a name=value pair/],
    ['no key', 'AccountName=a;EndpointSuffix=core.windows.net', /neither AccountKey nor SharedAccessSignature/],
    ['a key that is not base64', 'AccountName=a;AccountKey=not*base64', /AccountKey is not base64/],
  ])('refuses a connection string with %s (400, naming the field)', async (_what, connectionString, message) => {
    const r = await postJson(s, '/api/watches', { connectionString, container: 'guarded' });
    expect(r.status).toBe(400);
    expect(String(r.json.message)).toMatch(message);
  });

  it('fails a watched blob that answers with a redirect, saying so (the SDK follows none)', async () => {
    const containerUrl = az.containerSasUrl('guarded').replace(`127.0.0.1:${az.port}`, `127.0.0.1:${front.port}`);
    const w = await postJson(s, '/api/watches', { containerUrl, intervalSec: 3600 });
    expect(w.status).toBe(201);
    // The watch's first poll (when it is added) queues the blob: wait for that job to finish.
    let job: Record<string, unknown> | undefined;
    while (!job) {
      const jobs = (await (await s.call('/api/jobs')).json()) as Record<string, unknown>[];
      job = jobs.find((j) => j.kind === 'watch' && String(j.source).includes(`:${front.port}/`) && j.state !== 'queued' && j.state !== 'running');
      if (!job) await new Promise((r) => setImmediate(r));
    }
    expect(job.state).toBe('failed');
    expect(String(job.error)).toMatch(/a\.pcap: download failed: HTTP 302: the storage service answered with a redirect to http:\/\/169\.254\.169\.254\/latest\/meta-data\/, which watches do not follow$/);
  });

  it('sends every SDK request through the policy\'s agents: a connection the policy refuses is never opened', async () => {
    const strict = new UrlPolicy({ allowHosts: ['127.0.0.1'], importAllow: [] });
    const client = containerClient(az.containerSasUrl('guarded'), new AnonymousCredential(), strict.agents(), { maxTries: 1 });
    await expect(client.listBlobsFlat().next()).rejects.toThrow(/plain http is refused/);
    const https = containerClient(az.containerSasUrl('guarded').replace('http:', 'https:'), new AnonymousCredential(), strict.agents(), { maxTries: 1 });
    await expect(https.listBlobsFlat().next()).rejects.toThrow(/host resolves to loopback address 127\.0\.0\.1, which imports may not reach/);
    strict.close();
  });
});

describe('Network Watcher paths', () => {
  it('reads subscription, resource group, VM and start time', () => {
    expect(parseNetworkWatcherPath(`network-watcher-logs/${NW}`)).toEqual({ subscription: '0000-1111', resourceGroup: 'rg-prod', vm: 'vm-web-01', startedMs: Date.UTC(2026, 10, 26, 10, 15, 0, 123) });
    expect(parseNetworkWatcherPath('subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/ss/virtualMachines/3/2026/01/02/packetcapture_00_00_01_5.cap')).toMatchObject({ vm: 'ss/3', resourceGroup: 'RG' });
    expect(parseNetworkWatcherPath('captures/2026/some.pcap')).toBeNull();
  });
});
