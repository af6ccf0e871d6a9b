import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { build, stop as stopEsbuild } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { generateCaptureBuffer } from '../backend/src/synth/generator';
import { send, spawnDemoSidecar, type SidecarProcess } from '../backend/src/testing/sidecar-process';
import { startGrafanaStandIn, type GrafanaStandIn } from '../plugin-backend/src/testing/grafana-server';

/**
 * The built plugin in a real browser (Debian's chromium, headless): dist/ modules loaded the way
 * Grafana loads them (AMD, with Grafana's shared modules supplied by browser/host.tsx); Grafana's
 * server played by the stand-in (plugin-backend/src/testing/grafana-server.ts) with the built
 * backend executable behind it, in front of the built sidecar with its demo capture and a token.
 * Screenshots (light and dark) go to test-artifacts/.
 */
const root = path.resolve(__dirname, '..');
const artifacts = path.join(root, 'test-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const run = fs.existsSync(CHROMIUM) ? describe : describe.skip;
if (!fs.existsSync(CHROMIUM)) process.stderr.write(`\n*** SKIPPED: browser test: ${CHROMIUM} not installed (apt-get install chromium; .ci/run does) ***\n\n`);

const TOKEN = 'browser-test-token';
let sidecar: SidecarProcess;
let grafana: GrafanaStandIn;
let server: http.Server;
let browser: Browser;
let base = '';
const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-host-'));

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.html': 'text/html' };

function serveFile(res: http.ServerResponse, file: string): void {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
}

run('the plugin in a real browser', () => {
  beforeAll(async () => {
    if (!fs.existsSync(path.join(root, 'dist/panels/geomap/module.js'))) throw new Error('build first: npm run build');
    await build({
      entryPoints: [path.join(__dirname, 'host.tsx')],
      bundle: true,
      outfile: path.join(hostDir, 'host.js'),
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
      loader: { '.svg': 'text', '.woff': 'empty', '.woff2': 'empty', '.png': 'empty', '.ttf': 'empty', '.eot': 'empty', '.gif': 'empty' },
      logLevel: 'error',
    });
    fs.writeFileSync(path.join(hostDir, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/host.css"></head><body><div id="root"></div><script src="/host.js"></script></body></html>');
    sidecar = await spawnDemoSidecar(['--api-token', TOKEN]);
    grafana = await startGrafanaStandIn({ sidecarUrl: sidecar.url, token: TOKEN });
    const grafanaUrl = new URL(grafana.url);
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname.startsWith('/api/')) {
        // Grafana's API: to the stand-in, body streamed (uploads included).
        const up = http.request({ host: grafanaUrl.hostname, port: grafanaUrl.port, method: req.method, path: url.pathname + url.search, headers: { ...req.headers, host: grafanaUrl.host } }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', () => res.writeHead(502).end());
        req.pipe(up);
        return;
      }
      if (url.pathname.startsWith('/public/plugins/capsight-app/')) return serveFile(res, path.join(root, 'dist', url.pathname.slice('/public/plugins/capsight-app/'.length)));
      if (url.pathname === '/host.js' || url.pathname === '/host.css') return serveFile(res, path.join(hostDir, url.pathname));
      return serveFile(res, path.join(hostDir, 'index.html'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
    });
    fs.mkdirSync(artifacts, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    // esbuild keeps a service process for its async API; left running, it keeps jest from exiting.
    await stopEsbuild();
    await browser?.close();
    await grafana?.close();
    await sidecar?.stop();
    await new Promise((r) => server?.close(r));
  });

  async function open(what: 'panel' | 'queryEditor' | 'captures' | 'dashboard', mode: 'light' | 'dark', arg?: string): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: what === 'dashboard' ? 1470 : 1000, height: 640 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`[browser] ${m.text().slice(0, 400)}\n`); });
    await page.goto(`${base}/d/test`);
    await page.waitForFunction(() => 'capsightHost' in window);
    await page.evaluate(([w, m, a]) => (window as unknown as { capsightHost: Record<string, (m: string, a?: string) => Promise<void>> }).capsightHost[w](m, a), [what, mode, arg] as const);
    expect(errors).toEqual([]);
    return page;
  }

  it('draws the geomap with the demo capture\'s countries (light and dark), and a click sets and clears the country variable', async () => {
    for (const mode of ['light', 'dark'] as const) {
      const page = await open('panel', mode);
      await page.waitForSelector('path[data-country="US"]');
      const filled = await page.$$eval('path[data-country]', (ps) => ps.filter((p) => p.getAttribute('data-country')).length);
      expect(filled).toBeGreaterThan(10);
      await page.screenshot({ path: path.join(artifacts, `geomap-${mode}.png`) });
      if (mode === 'light') {
        await page.click('path[data-country="US"]');
        await page.waitForSelector('[aria-label="Country details"]');
        expect(new URL(page.url()).searchParams.get('var-country')).toBe('US');
        expect(await page.textContent('[aria-label="Country details"]')).toMatch(/United States.*sent/s);
        await page.waitForSelector('[aria-label="Top IPs"]');
        expect(await page.textContent('[aria-label="Top applications"]')).toMatch(/tls|http|dns/);
        await page.screenshot({ path: path.join(artifacts, 'geomap-selected-light.png') });
        await page.click('path[data-country="US"]');
        await page.waitForSelector('[aria-label="Country details"]', { state: 'detached' });
        expect(new URL(page.url()).searchParams.get('var-country')).toBeNull();
      }
      await page.close();
    }
  });

  it('renders the query editor and the Captures page from dist/', async () => {
    for (const mode of ['light', 'dark'] as const) {
      const qe = await open('queryEditor', mode);
      await qe.waitForSelector('text=Time series');
      await qe.screenshot({ path: path.join(artifacts, `query-editor-${mode}.png`) });
      await qe.close();
      const cp = await open('captures', mode);
      await cp.waitForSelector('text=capsight-demo.pcap');
      await cp.screenshot({ path: path.join(artifacts, `captures-${mode}.png`) });
      await cp.close();
    }
  });

  it('uploads a capture larger than a gRPC message through the upload route, from the Captures page', async () => {
    // 6 MB: past gRPC's default 4 MiB message limit, so it could not have gone through a resource call.
    const capture = generateCaptureBuffer({ bytes: 6_000_000, seed: 83, hosts: 60, flows: 300, ipv6Share: 0.2 });
    expect(capture.length).toBeGreaterThan(4 * 1024 * 1024);
    const file = path.join(hostDir, 'big-upload.pcap');
    fs.writeFileSync(file, capture);
    const before = grafana.uploadedBytes();
    const page = await open('captures', 'light');
    await page.waitForSelector('text=capsight-demo.pcap');
    await page.setInputFiles('input[aria-label="Capture file"]', file);
    await page.waitForSelector('a:text-is("big-upload.pcap")', { timeout: 60_000 });
    expect(grafana.uploadedBytes() - before).toBeGreaterThan(capture.length);
    const list = JSON.parse((await send(`${grafana.url}/api/datasources/uid/capsight/resources/api/captures`, 'GET')).text) as { name: string; size: number }[];
    expect(list.find((c) => c.name === 'big-upload.pcap')?.size).toBe(capture.length);
    await page.screenshot({ path: path.join(artifacts, 'captures-uploaded-light.png') });
    await page.close();
  });

  it.each(['overview', 'flows', 'endpoints', 'geography', 'protocols', 'anomalies', 'tcp-health'])('draws every panel of the %s dashboard from the demo capture (light and dark)', async (name) => {
    const board = JSON.parse(fs.readFileSync(path.join(root, 'dist/dashboards', `${name}.json`), 'utf8')) as { panels: { type: string; panels?: unknown[] }[] };
    const count = board.panels.flatMap((p) => (p.type === 'row' ? (p.panels ?? []) : [p])).length;
    for (const mode of ['light', 'dark'] as const) {
      const page = await open('dashboard', mode, name);
      await page.waitForSelector('[data-testid="dashboard"]');
      expect(await page.$$eval('[data-panel]', (ps) => ps.length)).toBe(count);
      if (name === 'tcp-health') {
        // The demo capture loses 1 % of data segments: the worst flows are there, with their retransmissions.
        const worst = await page.$eval('[data-panel^="Worst flows"]', (el) => el.textContent ?? '');
        expect(worst).toMatch(/Retransmissions/);
        expect(worst).toMatch(/10\.\d+\.\d+\.\d+/);
      }
      await page.screenshot({ path: path.join(artifacts, `dashboard-${name}-${mode}.png`), fullPage: true });
      await page.close();
    }
  });

  it('downloads a flow\'s packets and the flow table as CSV from the Flows dashboard\'s links (the token stays on the server)', async () => {
    const page = await open('dashboard', 'light', 'flows');
    await page.waitForSelector('[data-testid="dashboard"]');
    const table = '[data-panel^="Flows (sorted by"]';
    const href = await page.$eval(`${table} a[data-link="Download packets (pcap)"]`, (a) => (a as HTMLAnchorElement).getAttribute('href') ?? '');
    expect(href).toMatch(/^\/api\/datasources\/proxy\/uid\/capsight\/export\/pcap\?capture=[0-9a-f]{16}&flow=\d+$/);
    // Followed from the page as a click would: through Grafana's proxy route, which adds the token.
    const got = await page.evaluate(async (url) => {
      const r = await fetch(url);
      const body = new Uint8Array(await r.arrayBuffer());
      return { status: r.status, disposition: r.headers.get('content-disposition'), packets: r.headers.get('x-capsight-packets'), magic: Array.from(body.subarray(0, 4)) };
    }, href);
    expect(got).toMatchObject({ status: 200, disposition: expect.stringMatching(/^attachment; filename="capsight-.*\.pcap"$/), magic: [0xd4, 0xc3, 0xb2, 0xa1] });
    expect(Number(got.packets)).toBeGreaterThan(0);
    const csvHref = await page.$eval(`${table} a[data-notice-link]`, (a) => (a as HTMLAnchorElement).getAttribute('href') ?? '');
    const csv = await page.evaluate(async (url) => {
      const r = await fetch(url);
      return { status: r.status, head: (await r.text()).split('\n')[0] };
    }, csvHref);
    expect(csv).toEqual({ status: 200, head: expect.stringMatching(/^proto,src,sport,dst,dport,first,last,/) });
    expect(await page.evaluate(() => document.documentElement.outerHTML)).not.toContain(TOKEN);
    await page.close();
  });

  it('draws the endpoint view of one address: its totals, what it sent and received, its peers', async () => {
    // A local address of the demo capture (the dashboards' range: the last 6 hours; the upload above is from 2026-01-01).
    const top = JSON.parse((await send(`${grafana.url}/api/datasources/uid/capsight/resources/api/query`, 'POST', { queries: [{ refId: 'A', kind: 'endpoints', limit: 1, from: Date.now() - 6 * 3600_000, to: Date.now(), filters: [{ key: 'ip', operator: 'cidr', value: '10.0.0.0/8' }] }] })).text);
    const ip = top.results.A.frames[0].data.values[0][0] as string;
    for (const mode of ['light', 'dark'] as const) {
      const page = await open('dashboard', mode, `endpoints?ip=${ip}`);
      await page.waitForSelector('[data-testid="dashboard"]');
      const selected = await page.$eval('[data-panel^="The selected addresses"]', (el) => el.textContent ?? '');
      expect(selected).toContain(ip);
      const peers = await page.$eval('[data-panel="Peers of the selected IPs"]', (el) => el.textContent ?? '');
      expect(peers).not.toContain('select an address');
      expect(peers).toMatch(/peer_country/);
      await page.screenshot({ path: path.join(artifacts, `dashboard-endpoints-one-address-${mode}.png`), fullPage: true });
      await page.close();
    }
  });
});
