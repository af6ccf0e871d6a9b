import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDownload } from '../backend/src/ingest/http-download';
import { UrlPolicy } from '../backend/src/security/url-policy';
import { startAzurite } from '../backend/src/testing/azurite';
import { spawnSidecar, timedImport } from '../backend/src/testing/sidecar-process';

/**
 * End-to-end ingest: the capture as a blob in Azurite, imported by SAS URL through the sidecar's
 * API until the job is done (the capture is queryable then), next to a plain download of the same
 * URL and the engine's parse time of the file. Each step runs `runs` times (a fresh store each
 * time); the median is printed: on two shared cores single runs vary by a fifth.
 */
export async function ingestBench(capture: string, parseSec: number, runs: number): Promise<string> {
  const size = fs.statSync(capture).size;
  const az = await startAzurite();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-bench-ingest-'));
  try {
    const container = az.service.getContainerClient('bench');
    await container.create();
    await container.getBlockBlobClient('capture.pcap').uploadFile(capture, { blockSize: 8 * 1024 * 1024, concurrency: 4 });
    const url = az.blobSasUrl('bench', 'capture.pcap');
    const policy = new UrlPolicy({ allowHosts: [], importAllow: [`127.0.0.1:${az.port}`] });
    const download = async (parallelism: number): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const dl = await openDownload(url, policy, { parallelism });
      let n = 0;
      for await (const c of dl.body) n += c.length;
      if (n !== size) throw new Error(`downloaded ${n} of ${size} bytes`);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const median = async (step: () => Promise<number>): Promise<number> => {
      const xs: number[] = [];
      for (let i = 0; i < runs; i++) xs.push(await step());
      return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    };
    const dl1 = await median(() => download(1));
    const dl4 = await median(() => download(4));
    // The built sidecar in its own process, as it runs in production.
    const timed = async (body: Record<string, string>, dir: string): Promise<number> => {
      const s = await spawnSidecar(['--data-dir', dir, '--import-allow', `127.0.0.1:${az.port}`, '--import-dirs', path.dirname(capture)]);
      try {
        const { job, seconds } = await timedImport(s.url, body);
        if (job.state !== 'done') throw new Error(`ingest failed: ${String(job.error)}`);
        return seconds;
      } finally {
        await s.stop();
      }
    };
    const fresh = (): string => fs.mkdtempSync(path.join(dataDir, 'run-'));
    const ingestSec = await median(() => timed({ url }, fresh()));
    const pathSec = await median(() => timed({ path: capture }, fresh()));
    const mbps = (sec: number): string => (size / 1e6 / sec).toFixed(0);
    return [
      `| step | seconds | MB/s | vs CLI parse |`,
      `|---|---:|---:|---:|`,
      `| CLI parse (capsight flows, file) | ${parseSec.toFixed(2)} | ${mbps(parseSec)} | 1.00 |`,
      `| download only, 1 connection | ${dl1.toFixed(2)} | ${mbps(dl1)} | ${(parseSec / dl1).toFixed(2)} |`,
      `| download only, 4 ranged connections | ${dl4.toFixed(2)} | ${mbps(dl4)} | ${(parseSec / dl4).toFixed(2)} |`,
      `| ingest by SAS URL until queryable | ${ingestSec.toFixed(2)} | ${mbps(ingestSec)} | ${(parseSec / ingestSec).toFixed(2)} |`,
      `| ingest from a server path until queryable | ${pathSec.toFixed(2)} | ${mbps(pathSec)} | ${(parseSec / pathSec).toFixed(2)} |`,
    ].join('\n');
  } finally {
    await az.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
