import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS_DIR, corpusAvailable, notice } from '../testing/corpus';
import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';

/**
 * Per-address sent and received follow the address: ip_bytes_sent with an "ip" filter is what that
 * address sent, as client or as server (the Endpoints dashboard once plotted initiator-to-responder
 * bytes as "sent by the selected IPs": for a server, what it received). Checked against tshark's
 * conversation sums on a real browsing capture, and against the endpoints table.
 */
const BRO = path.join(CORPUS_DIR, 'zeek/http__bro.org.pcap');
const ORACLE = path.join(CORPUS_DIR, 'zeek/oracle/http__bro.org.pcap.convs.json');

let sidecar: RunningSidecar;

beforeAll(async () => {
  sidecar = await startSidecar();
  expect((await upload(sidecar, 'g.pcap', generated({ bytes: 1_500_000, seed: 31 }))).status).toBe(201);
  if (corpusAvailable()) expect((await upload(sidecar, 'bro.pcap', fs.readFileSync(BRO))).status).toBe(201);
}, 60_000);

afterAll(async () => sidecar?.close());

async function frames(q: Record<string, unknown>) {
  const r = await postJson(sidecar, '/api/query', { refId: 'A', ...q });
  expect(r.status).toBe(200);
  return (r.json.results as Record<string, { frames: { schema: { fields: { name: string }[] }; data: { values: unknown[][] } }[] }>).A.frames;
}

/** The sum of a time series over the whole range (all steps, all series). */
async function total(metric: string, filters: unknown[]): Promise<number> {
  const f = await frames({ kind: 'timeseries', metric, filters, maxDataPoints: 100 });
  return f.reduce((a, fr) => a + (fr.data.values[1] as number[]).reduce((x, y) => x + y, 0), 0);
}

async function endpoint(ip: string, filters: unknown[] = []): Promise<{ sent: number; received: number }> {
  const [f] = await frames({ kind: 'endpoints', limit: 10000, filters: [...filters, { key: 'ip', operator: '=', value: ip }] });
  const col = (n: string) => (f.data.values[f.schema.fields.findIndex((x) => x.name === n)] as number[])[(f.data.values[0] as string[]).indexOf(ip)];
  return { sent: col('bytes_sent'), received: col('bytes_received') };
}

describe('per-address sent and received', () => {
  it('follow the address on a generated capture (servers and clients), equal to the endpoints table', async () => {
    const [top] = await frames({ kind: 'endpoints', limit: 6, sort: { by: 'bytes', desc: true } });
    const ips = top.data.values[0] as string[];
    for (const ip of ips) {
      const filters = [{ key: 'ip', operator: '=', value: ip }];
      const e = await endpoint(ip);
      expect([ip, await total('ip_bytes_sent', filters), await total('ip_bytes_received', filters)]).toEqual([ip, e.sent, e.received]);
    }
    // A server (it initiated nothing): what it sent is not what its clients sent it.
    const [more] = await frames({ kind: 'endpoints', limit: 200, sort: { by: 'bytes', desc: true } });
    const initiated = more.data.values[more.schema.fields.findIndex((x) => x.name === 'flows_initiated')] as number[];
    const server = (more.data.values[0] as string[])[initiated.indexOf(0)];
    expect(server).toBeDefined();
    const f = [{ key: 'ip', operator: '=', value: server }];
    expect(await total('ip_bytes_sent', f)).not.toBe(await total('bytes_sent', f));
    // No "ip" filter: every address is selected, so sent and received are both the total.
    expect(await total('ip_bytes_sent', [])).toBe(await total('bytes', []));
  });

  (corpusAvailable() ? it : it.skip)('equal tshark\'s conversation sums per address on zeek/http__bro.org.pcap', async () => {
    const convs = (JSON.parse(fs.readFileSync(ORACLE, 'utf8')) as { convs: Record<string, [number, number, number, number]> }).convs;
    const sent = new Map<string, number>();
    const received = new Map<string, number>();
    for (const [k, [, ab, , ba]] of Object.entries(convs)) {
      const [, a, , b] = k.split('|');
      sent.set(a, (sent.get(a) ?? 0) + ab);
      received.set(a, (received.get(a) ?? 0) + ba);
      sent.set(b, (sent.get(b) ?? 0) + ba);
      received.set(b, (received.get(b) ?? 0) + ab);
    }
    const [cap] = await frames({ kind: 'captures' });
    const bro = (cap.data.values[0] as string[])[(cap.data.values[1] as string[]).indexOf('bro.pcap')];
    const busiest = [...sent.keys()].sort((a, b) => sent.get(b)! + received.get(b)! - sent.get(a)! - received.get(a)!).slice(0, 4);
    for (const ip of busiest) {
      const filters = [{ key: 'capture', operator: '=', value: bro }, { key: 'ip', operator: '=', value: ip }];
      expect([ip, await total('ip_bytes_sent', filters), await total('ip_bytes_received', filters)]).toEqual([ip, sent.get(ip), received.get(ip)]);
    }
  });
});

if (!corpusAvailable()) notice('per-address sent/received against tshark');

describe('the endpoint view of one address', () => {
  it('endpoints with an "ip" filter list that address, not everything that talked to it', async () => {
    const [top] = await frames({ kind: 'endpoints', limit: 3, sort: { by: 'bytes', desc: true } });
    const ip = (top.data.values[0] as string[])[0];
    const [one] = await frames({ kind: 'endpoints', limit: 100, filters: [{ key: 'ip', operator: '=', value: ip }] });
    expect(one.data.values[0]).toEqual([ip]);
    // Every row of the unfiltered table is the same numbers (a row is the address's own totals).
    const rowOf = (f: typeof top, i: number) => f.schema.fields.map((_, c) => f.data.values[c][i]);
    expect(rowOf(one, 0)).toEqual(rowOf(top, 0));
  });

  it('peers: from the address\'s side, adding up to its totals', async () => {
    const [top] = await frames({ kind: 'endpoints', limit: 3, sort: { by: 'bytes', desc: true } });
    const ip = (top.data.values[0] as string[])[0];
    const filters = [{ key: 'ip', operator: '=', value: ip }];
    const [peers] = await frames({ kind: 'peers', limit: 10000, filters });
    const c = (n: string) => peers.data.values[peers.schema.fields.findIndex((x) => x.name === n)] as number[];
    const e = await endpoint(ip);
    expect(c('bytes_sent').reduce((a, b) => a + b, 0)).toBe(e.sent);
    expect(c('bytes_received').reduce((a, b) => a + b, 0)).toBe(e.received);
    expect((peers.data.values[0] as string[]).includes(ip)).toBe(false);
    expect(peers.schema.fields.map((x) => x.name)).toEqual(['peer', 'peer_country', 'peer_asn', 'peer_as_org', 'bytes', 'bytes_sent', 'bytes_received', 'packets_sent', 'packets_received', 'flows', 'services', 'names', 'first', 'last']);
    const r = await postJson(sidecar, '/api/query', { refId: 'A', kind: 'peers' });
    expect((r.json.results as Record<string, { frames: { schema: { meta: { notices: unknown[] } } }[] }>).A.frames[0].schema.meta.notices).toEqual([
      { severity: 'info', text: 'select an address (the ip variable, or an "ip" filter) to list its peers' },
    ]);
  });
});
