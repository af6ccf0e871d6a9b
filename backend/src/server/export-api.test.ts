import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeCapture } from '../flows';
import { CSV_COLUMNS, csvRow } from '../cli/format';
import { EXPORT_COLUMNS } from '../store/duckdb/exports';
import { scanCapture } from '../testing/scan-capture';
import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';

/**
 * Flow exports and the export routes' answers to bad requests, through the running sidecar: a
 * capture's export is the CLI's CSV of the same capture, field for field; big exports stream with
 * flat memory and stop when the client goes.
 */
let s: RunningSidecar;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-export-'));
const mixed = generated({ bytes: 3_000_000, seed: 5, mix: { tls: 3, http: 2, dns: 3, quic: 2, ssh: 1, icmp: 1, scan: 1 }, lossRate: 0.02 });
let mixedId = '';

const b64 = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url');
const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  s = await startSidecar();
  const r = await upload(s, 'mixed.pcap', mixed);
  expect(r.status).toBe(201);
  mixedId = String(r.json.captureId);
}, 120_000);

afterAll(async () => {
  await s?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A client that reads the first bytes of an export and closes its connection (as a browser's cancelled download does). */
function cutOff(url: string, body: unknown): Promise<void> {
  return new Promise((done, fail) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-capsight-request': 'test' } }, (res) => {
      if (res.statusCode !== 200) fail(new Error(`status ${res.statusCode}`));
      res.once('data', () => {
        req.destroy();
        done();
      });
    });
    req.on('error', () => undefined);
    req.end(JSON.stringify(body));
  });
}

/** Splits CSV text into rows of cells (quoted cells with "" escapes, as both writers make them). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  return rows;
}

describe('flow exports', () => {
  it('exports every flow of a capture as the CLI writes it (same field names, same values)', async () => {
    const file = path.join(dir, 'mixed.pcap');
    fs.writeFileSync(file, mixed);
    const cli: string[][] = [CSV_COLUMNS];
    await analyzeCapture(file, { onFlow: (f) => cli.push(parseCsv(`${csvRow(f)}\n`)[0]) });
    const r = await s.call('/api/export/flows', post({ format: 'csv', filters: [{ key: 'capture', operator: '=', value: mixedId }] }));
    expect(r.status).toBe(200);
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="capsight-flows.csv"');
    const rows = parseCsv(await r.text());
    const header = rows[0];
    expect(header).toEqual(EXPORT_COLUMNS.map(([n]) => n));
    // Every CLI column but tunnel_ip_version (not stored) is exported under its name.
    expect(CSV_COLUMNS.filter((c) => !header.includes(c))).toEqual(['tunnel_ip_version']);
    const key = (cells: string[], cols: string[]): string => ['proto', 'src', 'sport', 'dst', 'dport', 'first'].map((c) => cells[cols.indexOf(c)]).join(' ');
    const exported = new Map(rows.slice(1).map((cells) => [key(cells, header), cells]));
    expect(exported.size).toBe(cli.length - 1);
    const differences: string[] = [];
    for (const cells of cli.slice(1)) {
      const e = exported.get(key(cells, CSV_COLUMNS));
      if (!e) {
        differences.push(`missing ${key(cells, CSV_COLUMNS)}`);
        continue;
      }
      for (const [i, c] of CSV_COLUMNS.entries()) {
        if (c === 'tunnel_ip_version') continue;
        const want = cells[i];
        const got = e[header.indexOf(c)];
        // A whole number the store keeps as a double may read "12.0": the same number.
        if (want !== got && !(want !== '' && Number(want) === Number(got))) differences.push(`${key(cells, CSV_COLUMNS)} ${c}: cli "${want}" export "${got}"`);
      }
    }
    expect(differences.slice(0, 10)).toEqual([]);
    expect(cli.length).toBeGreaterThan(100);
  });

  it('exports ndjson under the same names, and a filtered export holds exactly the filtered flows', async () => {
    const r = await s.call(`/api/export/flows?format=ndjson&query=${b64({ filters: [{ key: 'app', operator: '=', value: 'dns' }] })}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await r.text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const count = await postJson(s, '/api/query', { refId: 'A', kind: 'flows', limit: 1, filters: [{ key: 'app', operator: '=', value: 'dns' }] });
    const total = (count.json.results as { A: { frames: { schema: { meta: { custom: { total: number } } } }[] } }).A.frames[0].schema.meta.custom.total;
    expect(lines).toHaveLength(total);
    expect(lines.every((l) => l.app === 'dns' && Object.keys(l).join(',') === EXPORT_COLUMNS.map(([n]) => n).join(','))).toBe(true);
  });
});

describe('export requests that cannot be answered', () => {
  const cases: [string, string, RequestInit | undefined, number, RegExp][] = [
    ['no selection', '/api/export/pcap', undefined, 400, /give "capture" and "flow" \(one flow\), or "query"/],
    ['a flow id that is not a number', '/api/export/pcap?capture=abc&flow=x1', undefined, 400, /flow/],
    ['a query that is not base64url JSON', '/api/export/pcap?query=%%%', undefined, 400, /"query" is not base64url-encoded JSON/],
    ['a query of the wrong shape', `/api/export/pcap?query=${b64({ filters: 3 })}`, undefined, 400, /"query": \/filters must be array/],
    ['an unknown filter key', `/api/export/pcap?query=${b64({ filters: [{ key: 'colour', operator: '=', value: 'red' }] })}`, undefined, 400, /unknown filter key "colour"|"colour"/],
    ['a regular expression the store cannot run', '/api/export/pcap', post({ filters: [{ key: 'app', operator: '=~', value: '(a)\\1' }] }), 400, /regular expression/],
    ['a format on a packet export', '/api/export/pcap', post({ format: 'csv' }), 400, /"format" applies to flow exports/],
    ['an unknown export format', '/api/export/flows', post({ format: 'xml' }), 400, /format/],
    ['both a query and a flow', `/api/export/pcap?capture=a&flow=1&query=${b64({})}`, undefined, 400, /either "query" or "capture" and "flow"/],
    ['a flow that does not exist', '/api/export/pcap?capture=0000000000000000&flow=7', undefined, 404, /no flow matches the time range and filters/],
    ['a range without traffic', '/api/export/pcap', post({ from: 1000, to: 2000 }), 404, /no flow matches/],
  ];
  it.each(cases)('%s', async (_what, url, init, status, message) => {
    const r = await s.call(url, init);
    expect(r.status).toBe(status);
    expect(((await r.json()) as { message: string }).message).toMatch(message);
  });
});

describe('big exports', () => {
  it('streams a million flows with flat memory, and stops when the client goes', async () => {
    const big = scanCapture(1_000_000);
    const r = await upload(s, 'scan.pcap', big);
    expect(r.status).toBe(201);
    const id = String(r.json.captureId);
    const selection = { filters: [{ key: 'capture', operator: '=', value: id }] };

    // Memory the JavaScript side holds (heap and buffers), and the process's resident size.
    const held = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const before = process.memoryUsage().rss;
    const heldBefore = held();
    let peak = before;
    let heldPeak = heldBefore;
    const res = await s.call('/api/export/flows', post({ ...selection, format: 'csv' }));
    expect(res.status).toBe(200);
    let lines = 0;
    let bytes = 0;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (let c = await reader.read(); !c.done; c = await reader.read()) {
      bytes += c.value.length;
      for (const b of c.value) if (b === 10) lines++;
      peak = Math.max(peak, process.memoryUsage().rss);
      heldPeak = Math.max(heldPeak, held());
    }
    expect(lines).toBe(1_000_001);
    // The export (~250 MB of CSV) never sits in memory: the process grows by a page at most.
    process.stderr.write(`1 M-flow export: ${(bytes / 1e6).toFixed(0)} MB; RSS ${(before / 2 ** 20).toFixed(0)} -> peak ${(peak / 2 ** 20).toFixed(0)} MiB; heap+buffers ${(heldBefore / 2 ** 20).toFixed(0)} -> peak ${(heldPeak / 2 ** 20).toFixed(0)} MiB\n`);
    expect(peak - before).toBeLessThan(bytes / 2);
    expect(heldPeak - heldBefore).toBeLessThan(64 * 2 ** 20);

    // A client that goes away mid-export: the export stops, its page files go, the sidecar serves on.
    const staging = path.join(s.dataDir, 'staging');
    await cutOff(`${s.url}/api/export/flows`, { ...selection, format: 'ndjson' });
    await cutOff(`${s.url}/api/export/pcap`, selection);
    for (;;) {
      const left = fs.readdirSync(staging).filter((f) => f.startsWith('export-'));
      if (left.length === 0) break;
      await new Promise((done) => setTimeout(done, 50));
    }
    const health = await s.call('/health');
    expect([health.status, ((await health.json()) as { status: string }).status]).toEqual([200, 'ok']);
    const again = await s.call(`/api/export/pcap?capture=${id}&flow=999999`);
    expect(again.status).toBe(200);
    expect(Number(again.headers.get('x-capsight-packets'))).toBe(1);
    expect((await again.arrayBuffer()).byteLength).toBe(24 + 16 + 54);
  }, 300_000);
});
