import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeCapture } from '../flows';
import { CSV_COLUMNS, csvRow } from '../cli/format';
import { EXPORT_COLUMNS } from '../store/duckdb/exports';
import { scanCapture } from '../testing/scan-capture';
import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { send, spawnSidecar, timedImport } from '../testing/sidecar-process';

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
    // One capture, one page: rows in stored order, the order the engine finished the flows (the CLI's).
    expect(rows.slice(1).map((cells) => key(cells, header))).toEqual(cli.slice(1).map((cells) => key(cells, CSV_COLUMNS)));
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

describe('stopping the sidecar during a download', () => {
  it('sends the download whole, then closes its connection and stops (no wait for the keep-alive timeout)', async () => {
    const own = await startSidecar();
    // Big enough that the export is still being written when the stop begins (the client holds it back).
    const big = generated({ bytes: 24_000_000, seed: 8 });
    const r = await upload(own, 'big.pcap', big);
    expect(r.status).toBe(201);
    const agent = new http.Agent({ keepAlive: true });
    let stopped: Promise<void> | null = null;
    try {
      const got = await new Promise<{ length: number; bytes: number; socketClosed: Promise<void> }>((resolve, reject) => {
        const req = http.get(`${own.url}/api/export/pcap?query=${b64({ filters: [{ key: 'capture', operator: '=', value: String(r.json.captureId) }] })}`, { agent, headers: { 'x-capsight-request': 'test' } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          res.pause();
          const socketClosed = new Promise<void>((closed) => res.socket.once('close', () => closed()));
          stopped = own.close();
          let bytes = 0;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => resolve({ length: Number(res.headers['content-length']), bytes, socketClosed }));
          res.resume();
        });
        req.on('error', reject);
      });
      expect(got.length).toBeGreaterThan(20_000_000);
      expect(got.bytes).toBe(got.length);
      // The server ends the connection (the client's agent would keep it); the stop completes.
      await got.socketClosed;
      await stopped;
    } finally {
      agent.destroy();
      if (!stopped) await own.close();
    }
  }, 60_000);
});

describe('big exports', () => {
  /** Resident memory of a process, from /proc (bytes). */
  const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

  it('streams a million flows with flat memory, and stops when the client goes', async () => {
    // The built sidecar in its own process (the heap limit it runs with), so its memory is its own.
    const file = path.join(dir, 'scan.pcap');
    fs.writeFileSync(file, scanCapture(1_000_000));
    const p = await spawnSidecar(['--data-dir', fs.mkdtempSync(path.join(dir, 'data-')), '--import-dirs', dir]);
    try {
      const { job } = await timedImport(p.url, { path: file });
      expect(job.state).toBe('done');
      const selection = { filters: [{ key: 'capture', operator: '=', value: String(job.captureId) }] };
      const pid = p.child.pid as number;
      const before = rssOf(pid);
      let peak = before;
      /** Peak by the time a quarter of the rows went out: later growth would be memory that grows with the rows. */
      let peakAtQuarter = 0;
      let lines = 0;
      let bytes = 0;
      // ndjson: 1.4 GB for a million flows, several times the process's heap limit.
      await new Promise<void>((resolve, reject) => {
        const req = http.request(`${p.url}/api/export/flows`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
            peak = Math.max(peak, rssOf(pid));
            if (lines < 250_000) peakAtQuarter = peak;
          });
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ ...selection, format: 'ndjson' }));
      });
      expect(lines).toBe(1_000_000);
      const mib = (x: number): string => (x / 2 ** 20).toFixed(0);
      process.stderr.write(`1 M-flow ndjson export: ${(bytes / 1e6).toFixed(0)} MB; sidecar RSS ${mib(before)} -> ${mib(peakAtQuarter)} at a quarter -> peak ${mib(peak)} MiB\n`);
      expect(bytes).toBeGreaterThan(1e9);
      // Bounded by the store's memory limit (256 MiB) and the heap's limits, not by the rows: 1.4 GB
      // went out (a process holding it would also die at its 512 MiB heap limit), and the whole
      // process stays under the 1 GiB the security model states (README; 840-910 MiB seen). The
      // growth from `before` is printed, not asserted: it depends on what the import left resident
      // (367-458 MiB with DuckDB on one thread during imports, 634 MiB with two; the peak was the
      // same), and how much of it comes after the first quarter varies with the machine's load.
      expect(peak).toBeLessThan(2 ** 30);

      // Clients that go away mid-export: the exports stop, their page files go, the sidecar serves on.
      await cutOff(`${p.url}/api/export/flows`, { ...selection, format: 'ndjson' });
      await cutOff(`${p.url}/api/export/pcap`, selection);
      const staging = path.join(String(fs.readdirSync(dir).filter((d) => d.startsWith('data-')).map((d) => path.join(dir, d))[0]), 'staging');
      for (;;) {
        const left = fs.readdirSync(staging).filter((f) => f.startsWith('export-'));
        if (left.length === 0) break;
        await new Promise((done) => setTimeout(done, 50));
      }
      const health = JSON.parse((await send(`${p.url}/health`, 'GET')).text) as { status: string };
      expect(health.status).toBe('ok');
      const again = await send(`${p.url}/api/export/pcap?capture=${String(job.captureId)}&flow=999999`, 'GET');
      expect(again.status).toBe(200);
    } finally {
      await p.stop();
    }
  }, 300_000);
});
