import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSidecar, timedImport } from '../backend/src/testing/sidecar-process';
import { installed, median } from './measure';
import { profileCapture } from './profiles';

/**
 * Exports out of a stored capture (the web profile: QUIC, TLS, DNS, a third IPv6), through the
 * built sidecar's HTTP API, the whole answer read: one flow's packets (the largest flow, a typical
 * one, one near the end), a filter over the whole capture next to `tcpdump -r in -w out <bpf>` for
 * the same selection, and every flow as CSV and ndjson. Medians of `runs`.
 */
interface Timed {
  seconds: number;
  bytes: number;
  headers: http.IncomingHttpHeaders;
}

function request(url: string, method: 'GET' | 'POST', body?: unknown): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { method, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${url}: HTTP ${res.statusCode}`));
        else resolve({ seconds: Number(process.hrtime.bigint() - started) / 1e9, bytes, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

async function medianOf(runs: number, step: () => Promise<Timed>): Promise<Timed> {
  const all: Timed[] = [];
  for (let i = 0; i < runs; i++) all.push(await step());
  const s = median(all.map((t) => t.seconds));
  return all.find((t) => t.seconds === s) as Timed;
}

/** tcpdump reading the capture and writing the packets its filter selects (wall seconds, packets written). */
function tcpdump(capture: string, bpf: string, runs: number): { seconds: number; packets: number } {
  const out = path.join(os.tmpdir(), `capsight-bench-tcpdump-${process.pid}.pcap`);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('tcpdump', ['-n', '-r', capture, '-w', out, bpf], { stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (r.status !== 0) throw new Error(`tcpdump ${bpf}: ${r.stderr.toString()}`);
  }
  const count = spawnSync('tcpdump', ['-n', '-r', out], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 }).stdout.toString().split('\n').filter(Boolean).length;
  fs.rmSync(out, { force: true });
  return { seconds: median(times), packets: count };
}

export async function exportBench(outDir: string, bytes: number, seed: number, runs: number): Promise<string> {
  const capture = profileCapture(outDir, 'web', bytes, seed);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-bench-export-'));
  const s = await spawnSidecar(['--data-dir', dataDir, '--import-dirs', path.dirname(capture)]);
  const lines: string[] = [];
  try {
    const { job, seconds } = await timedImport(s.url, { path: capture });
    if (job.state !== 'done') throw new Error(`import failed: ${String(job.error)}`);
    const id = String(job.captureId);
    // The kernel copies a path import's file beside the ingest: slices wait for that copy.
    for (;;) {
      const c = (await (await fetch(`${s.url}/api/captures/${id}`)).json()) as { packetsKept?: { available: boolean; reason?: string } };
      if (c.packetsKept?.available) break;
      if (!/^being copied/.test(c.packetsKept?.reason ?? '')) throw new Error(`packets not kept: ${String(c.packetsKept?.reason)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const flowsOf = async (sort: string, desc: boolean, offset = 0): Promise<{ flow: number; packets: number }> => {
      const r = (await (await fetch(`${s.url}/api/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refId: 'A', kind: 'flows', limit: 1, offset, sort: { by: sort, desc } }) })).json()) as {
        results: { A: { frames: { schema: { fields: { name: string }[] }; data: { values: number[][] } }[] } };
      };
      const f = r.results.A.frames[0];
      const col = (n: string): number => f.data.values[f.schema.fields.findIndex((x) => x.name === n)][0];
      return { flow: col('flow_id'), packets: col('src_pkts') + col('dst_pkts') };
    };
    const total = Number(job.flows);
    const picks: [string, { flow: number; packets: number }][] = [
      ['largest flow', await flowsOf('bytes', true)],
      ['a typical flow (median bytes)', await flowsOf('bytes', true, Math.floor(total / 2))],
      ['the last flow to start', await flowsOf('first', true)],
    ];
    lines.push(`Capture: the web profile, ${(fs.statSync(capture).size / 1e9).toFixed(2)} GB, ${total.toLocaleString('en-US')} flows, ${Number(job.packets).toLocaleString('en-US')} packets; imported from a path (index built) in ${seconds.toFixed(2)} s.`, '');
    lines.push('| one flow out of the stored capture | packets | time (s) |', '|---|---:|---:|');
    for (const [what, f] of picks) {
      const t = await medianOf(runs, () => request(`${s.url}/api/export/pcap?capture=${id}&flow=${f.flow}`, 'GET'));
      if (Number(t.headers['x-capsight-packets']) !== f.packets) throw new Error(`${what}: ${String(t.headers['x-capsight-packets'])} packets, flow has ${f.packets}`);
      lines.push(`| ${what} | ${f.packets.toLocaleString('en-US')} | ${t.seconds.toFixed(3)} |`);
    }

    lines.push('', '| filter over the whole capture | capsight packets | capsight (s) | tcpdump packets | tcpdump -r -w (s) | capsight ÷ tcpdump speed |', '|---|---:|---:|---:|---:|---:|');
    const selections: [string, unknown[], string][] = [
      ['TLS on 443/tcp', [{ key: 'proto', operator: '=', value: 6 }, { key: 'port', operator: '=', value: 443 }], 'tcp port 443'],
      ['DNS on 53/udp', [{ key: 'proto', operator: '=', value: 17 }, { key: 'port', operator: '=', value: 53 }], 'udp port 53'],
      ['IPv6', [{ key: 'ip_version', operator: '=', value: 6 }], 'ip6'],
    ];
    const haveTcpdump = installed('tcpdump');
    for (const [what, filters, bpf] of selections) {
      const t = await medianOf(runs, () => request(`${s.url}/api/export/pcap`, 'POST', { filters: [{ key: 'capture', operator: '=', value: id }, ...filters] }));
      const packets = Number(t.headers['x-capsight-packets']);
      if (!haveTcpdump) {
        lines.push(`| ${what} | ${packets.toLocaleString('en-US')} | ${t.seconds.toFixed(2)} | | (tcpdump not installed) | |`);
        continue;
      }
      const d = tcpdump(capture, bpf, runs);
      lines.push(`| ${what} (\`${bpf}\`) | ${packets.toLocaleString('en-US')} | ${t.seconds.toFixed(2)} | ${d.packets.toLocaleString('en-US')} | ${d.seconds.toFixed(2)} | ${(d.seconds / t.seconds).toFixed(2)} |`);
    }

    lines.push('', '| every flow exported | rows | MB | time (s) | rows/s |', '|---|---:|---:|---:|---:|');
    for (const format of ['csv', 'ndjson']) {
      const t = await medianOf(runs, () => request(`${s.url}/api/export/flows`, 'POST', { format, filters: [{ key: 'capture', operator: '=', value: id }] }));
      lines.push(`| ${format} | ${total.toLocaleString('en-US')} | ${(t.bytes / 1e6).toFixed(0)} | ${t.seconds.toFixed(2)} | ${Math.round(total / t.seconds).toLocaleString('en-US')} |`);
    }
  } finally {
    await s.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return lines.join('\n');
}
