import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BufferPool } from '../backend/src/ingest/buffer-pool';
import { DEFAULT_SEGMENT, openDownload } from '../backend/src/ingest/http-download';
import { cliLaunch } from '../backend/src/server/node-flags';
import { UrlPolicy } from '../backend/src/security/url-policy';
import { startAzurite } from '../backend/src/testing/azurite';
import { spawnSidecar, timedImport } from '../backend/src/testing/sidecar-process';
import { inTurnsAsync, machine, median, pairedRatio, runOnce } from './measure';

/**
 * End-to-end ingest: the capture imported by URL through the sidecar's API until the job is done
 * (the capture is queryable then), next to a plain download of the same URL and the engine's parse
 * time of the file, and the same capture imported from a server path. The URL is served by nginx
 * (plain static file server with ranges) when it is installed: Azurite's own CPU use on two cores
 * distorts the figure, so it serves the second set of rows only (and the tests, for correctness).
 * nginx also serves it at a cloud download's bandwidth, where the network sets the pace.
 * Each step runs `runs` times (a fresh store each time); the median is printed. The steps a ratio
 * compares run in turns, a round at a time, each round starting one step further on (this VM's
 * speed drifts by tens of percent within minutes): a URL's downloads and ingests, and the path
 * imports with CLI parses of the same file. Those ratios are medians of the rounds' ratios.
 */
export async function ingestBench(capture: string, parseSec: number, runs: number): Promise<string> {
  const size = fs.statSync(capture).size;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-bench-ingest-'));
  const mbps = (sec: number): string => (size / 1e6 / sec).toFixed(0);
  const fresh = (): string => fs.mkdtempSync(path.join(dataDir, 'run-'));

  /** Rows for one server: download 1 and 4 connections, ingest by URL (with the ratio to the download). */
  async function rows(server: string, url: string, hostPort: string, oneConnection = true): Promise<string[]> {
    const policy = new UrlPolicy({ allowHosts: [], importAllow: [hostPort] });
    const download = async (parallelism: number): Promise<number> => {
      const t0 = process.hrtime.bigint();
      // Segments into recycled buffers, as the import's download reads them (fresh 8 MiB buffers
      // cost page faults: 2.0 instead of ~1.3 s for 1 GB from nginx on loopback).
      const pool = new BufferPool(DEFAULT_SEGMENT);
      const dl = await openDownload(url, policy, { parallelism, pool });
      let n = 0;
      for await (const c of dl.body) {
        n += c.length;
        pool.give(c.buffer as ArrayBuffer);
      }
      if (n !== size) throw new Error(`downloaded ${n} of ${size} bytes`);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const [dl1s, dl4s, ingests, flowsOnlys] = await inTurnsAsync(
      [
        oneConnection ? () => download(1) : null,
        () => download(4),
        () => timed({ url }, ['--import-allow', hostPort]),
        () => timed({ url }, ['--import-allow', hostPort, '--keep-packets', 'false']),
      ],
      runs,
    );
    const dl1 = dl1s.length > 0 ? median(dl1s) : Infinity;
    const dl4 = median(dl4s);
    const ingest = median(ingests);
    const flowsOnly = median(flowsOnlys);
    // Each round's ingest against that round's best plain download.
    const bestOfRound = dl4s.map((d, i) => Math.min(d, dl1s[i] ?? Infinity));
    const ingestRatio = pairedRatio(ingests, bestOfRound);
    const flowsOnlyRatio = pairedRatio(flowsOnlys, bestOfRound);
    return [
      ...(oneConnection ? [`| ${server}: download only, 1 connection | ${dl1.toFixed(2)} | ${mbps(dl1)} | ${(parseSec / dl1).toFixed(2)} | |`] : []),
      `| ${server}: download only, 4 ranged connections | ${dl4.toFixed(2)} | ${mbps(dl4)} | ${(parseSec / dl4).toFixed(2)} | |`,
      `| ${server}: ingest by URL until queryable | ${ingest.toFixed(2)} | ${mbps(ingest)} | ${(parseSec / ingest).toFixed(2)} | ${ingestRatio.toFixed(2)} |`,
      `| ${server}: the same with --keep-packets false (no copy of the bytes) | ${flowsOnly.toFixed(2)} | ${mbps(flowsOnly)} | ${(parseSec / flowsOnly).toFixed(2)} | ${flowsOnlyRatio.toFixed(2)} |`,
    ];
  }

  // The built sidecar in its own process, as it runs in production.
  let keptSec: number[] = [];
  async function timed(body: Record<string, string>, args: string[]): Promise<number> {
    // Earlier steps' writes (kept copies, Azurite's blob) reach the disk ~30 s later, by the
    // kernel's clock: flushed first, so they are not written back during this run.
    spawnSync('sync');
    const s = await spawnSidecar(['--data-dir', fresh(), '--import-dirs', path.dirname(capture), ...args]);
    try {
      const { job, seconds } = await timedImport(s.url, body);
      if (job.state !== 'done') throw new Error(`ingest failed: ${String(job.error)}`);
      if (!args.includes('--keep-packets')) keptSec.push((await untilPacketsKept(s.url, String(job.captureId))) - Date.parse(String(job.createdAt)) / 1000);
      return seconds;
    } finally {
      await s.stop();
    }
  }

  const out = [
    machine(),
    '',
    `| step | seconds | MB/s | speed ÷ CLI parse | time ÷ best plain download |`,
    `|---|---:|---:|---:|---:|`,
    `| CLI parse (capsight flows, file) | ${parseSec.toFixed(2)} | ${mbps(parseSec)} | 1.00 | |`,
  ];
  try {
    const nginx = await startNginx(path.dirname(capture), dataDir);
    if (nginx) {
      try {
        out.push(...(await rows('nginx', `http://127.0.0.1:${nginx.port}/${path.basename(capture)}`, `127.0.0.1:${nginx.port}`)));
      } finally {
        nginx.stop();
      }
      // The same at a cloud blob's bandwidth (nginx limit_rate per connection): there the network,
      // not the CPU, sets the pace, and parsing runs while the bytes arrive.
      const limited = await startNginx(path.dirname(capture), dataDir, CLOUD_RATE_PER_CONNECTION);
      if (limited) {
        try {
          out.push(...(await rows(`nginx at ${CLOUD_RATE_PER_CONNECTION.slice(0, -1)} MiB/s per connection`, `http://127.0.0.1:${limited.port}/${path.basename(capture)}`, `127.0.0.1:${limited.port}`, false)));
        } finally {
          limited.stop();
        }
      }
    } else out.push('| nginx not installed (Debian package nginx-light): no plain-server rows | | | | |');
    const az = await startAzurite();
    try {
      const container = az.service.getContainerClient('bench');
      await container.create();
      await container.getBlockBlobClient('capture.pcap').uploadFile(capture, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
      out.push(...(await rows('Azurite (SAS URL)', az.blobSasUrl('bench', 'capture.pcap'), `127.0.0.1:${az.port}`)));
    } finally {
      await az.stop();
    }
    keptSec = [];
    // The CLI's parse of the same file, in turns with the path imports: the path row's ratio is theirs.
    const cli = [...cliLaunch(process.execPath), path.resolve(__dirname, '../backend/bin/capsight.js'), 'flows', capture];
    const [cliSecs, pathSecs] = await inTurnsAsync([async () => runOnce(cli).wall, () => timed({ path: capture }, [])], runs);
    const cliSec = median(cliSecs);
    const pathSec = median(pathSecs);
    const pathKept = median(keptSec);
    out.push(`| CLI parse again, in turns with the path imports below | ${cliSec.toFixed(2)} | ${mbps(cliSec)} | 1.00 | |`);
    out.push(`| ingest from a server path until queryable | ${pathSec.toFixed(2)} | ${mbps(pathSec)} | ${pairedRatio(cliSecs, pathSecs).toFixed(2)} | |`);
    out.push(`| ... and until its packets are kept (the kernel's copy done) | ${pathKept.toFixed(2)} | ${mbps(pathKept)} | ${pairedRatio(cliSecs, keptSec).toFixed(2)} | |`);
    return out.join('\n');
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * A bandwidth a download from cloud storage may have: 4 ranged connections (the sidecar's default)
 * at 50 MiB/s each (nginx's limit_rate, in MiB), about 210 MB/s in all.
 */
const CLOUD_RATE_PER_CONNECTION = '50m';

/** Epoch seconds when the capture's packets became available for slicing (polled; fails when they will not be). */
async function untilPacketsKept(url: string, id: string): Promise<number> {
  for (;;) {
    const c = (await (await fetch(`${url}/api/captures/${id}`)).json()) as { packetsKept?: { available: boolean; reason?: string } };
    if (c.packetsKept?.available) return Date.now() / 1000;
    if (!/^being copied/.test(c.packetsKept?.reason ?? '')) throw new Error(`packets not kept: ${String(c.packetsKept?.reason)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** nginx serving `root` on a free loopback port (its config, pid and logs in `scratch`), or null when not installed. */
async function startNginx(root: string, scratch: string, limitRate?: string): Promise<{ port: number; stop: () => void } | null> {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((b) => fs.existsSync(b));
  if (!bin) return null;
  const port = await new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  const dir = fs.mkdtempSync(path.join(scratch, 'nginx-'));
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http { access_log off; sendfile on; tcp_nopush on; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  types { application/vnd.tcpdump.pcap pcap; } default_type application/octet-stream;
  server { listen 127.0.0.1:${port}; root ${root};${limitRate ? ` limit_rate ${limitRate};` : ''} location / { } } }
`,
  );
  const child: ChildProcess = spawn(bin, ['-c', conf, '-p', dir], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return { port, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`nginx did not start: ${spawnSync('cat', [`${dir}/error.log`], { encoding: 'utf8' }).stdout}`);
}
