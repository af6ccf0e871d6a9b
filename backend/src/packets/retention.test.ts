import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PacketArchive } from './archive';
import { generated, postJson, startSidecar, upload, waitForJob, type RunningSidecar } from '../testing/sidecar';

/**
 * Keeping packets: content-addressed copies in the data directory, a budget in bytes and age with
 * the oldest evicted first, and captures whose packets are gone still answering flow queries while
 * their exports say why they cannot, and the way out.
 */
const a = generated({ bytes: 400_000, seed: 11 });
const b = generated({ bytes: 400_000, seed: 12 });
const c = generated({ bytes: 400_000, seed: 13 });
const fileOfA = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-retention-')), 'a.pcap');
fs.writeFileSync(fileOfA, a);

interface CaptureView {
  id: string;
  sha256: string;
  flows: number;
  packetsKept: { available: boolean; availableUntil?: string | null; keptAt?: string; bytes?: number; reason?: string };
}

async function captures(s: RunningSidecar): Promise<Map<string, CaptureView>> {
  const list = (await (await s.call('/api/captures')).json()) as CaptureView[];
  return new Map(list.map((x) => [x.id, x]));
}

async function add(s: RunningSidecar, name: string, data: Buffer): Promise<string> {
  const r = await upload(s, name, data);
  expect(r.status).toBe(201);
  return String(r.json.captureId);
}

/** A one-flow export, its body read (an unread body keeps the connection busy, and the sidecar's close waits for it). */
async function exportOf(s: RunningSidecar, id: string): Promise<{ status: number; json: () => Promise<unknown> }> {
  const r = await s.call(`/api/export/pcap?capture=${id}&flow=0`);
  const body = Buffer.from(await r.arrayBuffer());
  return { status: r.status, json: async () => JSON.parse(body.toString('utf8')) as unknown };
}
const packetFiles = (s: RunningSidecar): string[] => fs.readdirSync(path.join(s.dataDir, 'packets')).filter((f) => /\.(cap|idx)$/.test(f)).sort();

describe('packet retention', () => {
  let s: RunningSidecar;
  afterEach(async () => s?.close());

  it('evicts the oldest copy past the byte budget; the capture keeps its flows and says how to get packets back', async () => {
    // Room for two captures (and their indexes), not three.
    s = await startSidecar({ 'packets-max-bytes': String(Math.round(a.length * 2.5)) });
    const ida = await add(s, 'a.pcap', a);
    const idb = await add(s, 'b.pcap', b);
    expect((await exportOf(s, ida)).status).toBe(200);
    const idc = await add(s, 'c.pcap', c);
    const list = await captures(s);
    expect(list.get(ida)?.packetsKept).toEqual({ available: false, reason: expect.stringMatching(/^evicted on .* to keep packet storage within CAPSIGHT_PACKETS_MAX_BYTES \(.*\), oldest first$/) });
    for (const id of [idb, idc]) expect(list.get(id)?.packetsKept).toMatchObject({ available: true, availableUntil: expect.any(String) });
    const r = await exportOf(s, ida);
    expect(r.status).toBe(410);
    expect(((await r.json()) as { message: string }).message).toMatch(new RegExp(`^capture ${ida} \\(a\\.pcap\\): its packets are not available: evicted on .*\\. Its flows stay queryable; import the capture again to slice its packets$`));
    const flows = await postJson(s, '/api/query', { refId: 'A', kind: 'flows', limit: 5, filters: [{ key: 'capture', operator: '=', value: ida }] });
    expect(flows.status).toBe(200);
    // Importing the same bytes again brings the packets back (and the budget now evicts b, the oldest).
    const again = await upload(s, 'a.pcap', a);
    expect(again.json.result).toBe('already ingested');
    expect((await exportOf(s, ida)).status).toBe(200);
    expect((await captures(s)).get(idb)?.packetsKept.available).toBe(false);
    expect(packetFiles(s)).toHaveLength(4);
  });

  it('evicts copies past their age, refuses a capture larger than the budget, and keeps nothing when told not to', async () => {
    s = await startSidecar({ 'packets-max-age': '1d', 'packets-max-bytes': String(a.length * 3) });
    const ida = await add(s, 'a.pcap', a);
    const kept = (await captures(s)).get(ida)?.packetsKept;
    expect(Date.parse(String(kept?.availableUntil)) - Date.parse(String(kept?.keptAt))).toBe(86_400_000);
    s.archive.enforce(undefined, Date.now() + 2 * 86_400_000);
    expect((await captures(s)).get(ida)?.packetsKept.reason).toMatch(/older than CAPSIGHT_PACKETS_MAX_AGE \(1d\)$/);
    expect(packetFiles(s)).toEqual([]);
    await s.close();

    s = await startSidecar({ 'packets-max-bytes': '100000' });
    const idb = await add(s, 'b.pcap', b);
    expect((await captures(s)).get(idb)?.packetsKept.reason).toMatch(/^not kept: the capture \(.* KiB\) is larger than the packet storage budget of 98 KiB \(CAPSIGHT_PACKETS_MAX_BYTES\)$/);
    expect((await exportOf(s, idb)).status).toBe(410);
    await s.close();

    s = await startSidecar({ 'keep-packets': 'false' });
    const idc = await add(s, 'c.pcap', c);
    const r = await exportOf(s, idc);
    expect(r.status).toBe(410);
    expect(((await r.json()) as { message: string }).message).toMatch(/packets are not kept \(CAPSIGHT_KEEP_PACKETS=false\)/);
    expect(packetFiles(s)).toEqual([]);
  });

  it('keeps one copy per content, survives a restart, and deletes the copy with its capture', async () => {
    s = await startSidecar();
    const ida = await add(s, 'a.pcap', a);
    await add(s, 'a-again.pcap', a);
    const sha = (await captures(s)).get(ida)?.sha256;
    expect(packetFiles(s)).toEqual([`${sha}.cap`, `${sha}.idx`]);
    expect(fs.readFileSync(path.join(s.dataDir, 'packets', `${sha}.cap`))).toEqual(a);
    const dir = s.dataDir;
    // An ingest cut short by a crash leaves its partial copy in incoming/: the next start clears it.
    fs.writeFileSync(path.join(dir, 'packets', 'incoming', 'left-over.cap'), 'x');
    await s.close();
    s = await startSidecar({}, dir);
    expect(fs.readdirSync(path.join(dir, 'packets', 'incoming'))).toEqual([]);
    expect((await exportOf(s, ida)).status).toBe(200);
    expect((await s.call(`/api/captures/${ida}`, { method: 'DELETE' })).status).toBe(200);
    expect(packetFiles(s)).toEqual([]);
  });

  it('never puts a SAS signature into an export\'s name or headers', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': a.length });
      res.end(a);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      s = await startSidecar({ 'import-allow': host });
      const secret = 'sv=2024&sig=TOPSECRETsignature%3D&se=2030';
      const r = await postJson(s, '/api/imports', { url: `http://${host}/captures/vm1.cap?${secret}` });
      expect(r.status).toBe(202);
      const job = await waitForJob(s, String(r.json.id));
      const id = String(job.captureId);
      for (const url of [`/api/export/pcap?capture=${id}&flow=0`, `/api/export/flows?query=${Buffer.from(JSON.stringify({ filters: [{ key: 'capture', operator: '=', value: id }] })).toString('base64url')}`]) {
        const e = await s.call(url);
        expect(e.status).toBe(200);
        const headers = JSON.stringify([...e.headers.entries()]);
        expect(headers).not.toMatch(/TOPSECRET|sig=/i);
        expect(Buffer.from(await e.arrayBuffer()).toString('latin1')).not.toMatch(/TOPSECRET/);
      }
      expect(JSON.stringify(await captures(s))).not.toMatch(/TOPSECRET/);
      expect(s.logs.join('\n')).not.toMatch(/TOPSECRET/);
    } finally {
      server.close();
    }
  });
});

describe('copies made after the import', () => {
  it('a file imported from a path: the kernel copies it beside the ingest; its packets are "being copied" until then', async () => {
    const s = await startSidecar({ 'import-dirs': path.dirname(fileOfA) });
    try {
      const r = await postJson(s, '/api/imports', { path: fileOfA });
      const job = await waitForJob(s, String(r.json.id));
      const id = String(job.captureId);
      // Wait for the state (the copy ends), never for time.
      let kept = (await captures(s)).get(id)?.packetsKept;
      while (kept?.available !== true) {
        expect(kept?.reason).toMatch(/^being copied into the packet store/);
        await new Promise((done) => setTimeout(done, 20));
        kept = (await captures(s)).get(id)?.packetsKept;
      }
      const sha = (await captures(s)).get(id)?.sha256;
      expect(fs.readFileSync(path.join(s.dataDir, 'packets', `${sha}.cap`))).toEqual(a);
      expect((await exportOf(s, id)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('keeps a copy being made as "being copied" (an export: 503, ask again), and files it when it ends', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-archive-'));
    const archive = new PacketArchive({ dataDir: dir, enabled: true, maxBytes: 0, maxAgeMs: 0 });
    const k = archive.begin(null);
    if (!('dataFd' in k)) throw new Error('not kept');
    fs.writeSync(k.dataFd, a);
    k.index.finish({ flows: 0, format: 'pcap', compressed: false });
    let finish: (why: string | null) => void = () => undefined;
    const sha = 'a'.repeat(64);
    archive.commitAfter(k, sha, new Promise((r) => (finish = r)));
    expect(archive.availability(sha)).toEqual({ available: false, reason: expect.stringMatching(/^being copied/), soon: true });
    await expect(archive.open(sha, 0)).rejects.toMatchObject({ soon: true });
    // copied(): what a one-shot reader (capsight slice) waits for; it settles only once the copy is filed.
    let filed = false;
    const waiting = archive.copied(sha).then(() => (filed = true));
    await new Promise((r) => setImmediate(r));
    expect(filed).toBe(false);
    finish(null);
    await waiting;
    expect(archive.availability(sha)).toMatchObject({ available: true });
    await archive.copied('d'.repeat(64)); // no copy under way: settles at once
    // A copy that went wrong is recorded with its reason.
    const k2 = archive.begin(null);
    if (!('dataFd' in k2)) throw new Error('not kept');
    archive.commitAfter(k2, 'b'.repeat(64), Promise.resolve('the file changed while it was imported'));
    await archive.copied('b'.repeat(64));
    expect(archive.availability('b'.repeat(64))).toEqual({ available: false, reason: 'not kept: the file changed while it was imported' });
    // A capture deleted while its copy is made: the copy is dropped when it ends.
    const k3 = archive.begin(null);
    if (!('dataFd' in k3)) throw new Error('not kept');
    let finish3: (why: string | null) => void = () => undefined;
    archive.commitAfter(k3, 'c'.repeat(64), new Promise((r) => (finish3 = r)));
    archive.remove('c'.repeat(64));
    finish3(null);
    await archive.copied('c'.repeat(64));
    expect(archive.availability('c'.repeat(64)).available).toBe(false);
    expect(fs.existsSync(k3.dataPath)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
