/**
 * Engine benchmark: `capsight flows` side by side with whichever of softflowd, nfpcapd, tshark and
 * tcpdump are installed, on the same generated capture. Each command runs under GNU time
 * (/usr/bin/time) for wall time and peak RSS; the median of --runs runs is reported. Output goes
 * to /dev/null (flows are still formatted). With taskset, capsight and softflowd also run pinned
 * to one core (V8's compiler and GC threads then share it), and Node's bare start-up and the
 * engine's warm in-process pass are measured, to show where a whole-process difference comes from.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliLaunch } from '../backend/src/server/node-flags';
import { HAVE_TIME, inTurns, installed, machine, median, pairedRatio, runOnce, softflowdCommand } from './measure';

export interface EngineResult {
  /** Median wall seconds of `capsight flows`. */
  capsightSec: number;
}

export interface EngineOptions {
  /** The peers, the one-core rows, Node's bare start-up and the warm pass (off: capsight's own rows only). */
  peers: boolean;
  tshark: boolean;
}

export function engineBench(capture: string, runs: number, opts: EngineOptions): EngineResult {
  const root = path.resolve(__dirname, '..');
  const size = fs.statSync(capture).size;
  const capsight = path.join(root, 'backend', 'bin', 'capsight.js');
  const stats = JSON.parse(execFileSync(process.execPath, [capsight, 'stats', '--format', 'json', capture], { encoding: 'utf8' })) as { packets: number; flows: number };

  interface Tool {
    name: string;
    cmd: string[];
    /** Reads no capture (a reference time): no throughput columns. */
    reference?: boolean;
  }

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-bench-'));
  const tools: Tool[] = [
    // With the environment and Node flags of its #! line, as users run it.
    { name: 'capsight flows', cmd: [...cliLaunch(process.execPath), capsight, 'flows', capture] },
    { name: 'capsight flows --no-apps', cmd: [...cliLaunch(process.execPath), capsight, 'flows', '--no-apps', capture] },
    { name: 'capsight flows --format csv', cmd: [...cliLaunch(process.execPath), capsight, 'flows', '--format', 'csv', capture] },
  ];
  if (opts.peers) {
    // softflowd sends NetFlow to a discard port on loopback; nfpcapd writes nfcapd files to a scratch dir.
    const softflowd = installed('softflowd') ? softflowdCommand(capture) : null;
    if (softflowd) tools.push({ name: 'softflowd -r', cmd: softflowd });
    if (installed('nfpcapd')) tools.push({ name: 'nfpcapd -r', cmd: ['nfpcapd', '-r', capture, '-w', scratch] });
    if (installed('tshark') && opts.tshark) tools.push({ name: 'tshark -z conv', cmd: ['tshark', '-n', '-q', '-r', capture, '-z', 'conv,tcp', '-z', 'conv,udp'] });
    if (installed('tcpdump')) tools.push({ name: 'tcpdump -w /dev/null', cmd: ['tcpdump', '-r', capture, '-w', '/dev/null'] });
    if (installed('taskset')) {
      tools.push({ name: ONE_CORE_CAPSIGHT, cmd: ['taskset', '-c', '0', ...tools[0].cmd] });
      if (softflowd) tools.push({ name: ONE_CORE_SOFTFLOWD, cmd: ['taskset', '-c', '0', ...softflowd] });
      // NetFlow v5 (the default) has no IPv6 fields, so softflowd skips IPv6 packets; with v9 it tracks them as capsight does.
      if (softflowd) tools.push({ name: ONE_CORE_SOFTFLOWD_V9, cmd: ['taskset', '-c', '0', ...softflowd, '-v', '9'] });
    }
    tools.push({ name: 'node -e 0 (Node start-up alone)', cmd: [process.execPath, '-e', '0'], reference: true });
  }

  if (!HAVE_TIME) process.stdout.write('note: /usr/bin/time (Debian package "time") is missing: peak RSS is not measured\n');

  process.stdout.write(`capture: ${(size / 1e6).toFixed(0)} MB, ${stats.packets} packets (${(size / stats.packets).toFixed(0)} B mean), ${stats.flows} flows; ${runs} runs each, median; ${machine()}\n\n`);
  const rows: { name: string; wall: number; rss: number; reference: boolean }[] = [];
  // The one-core rows run in turns (their ratios are printed below); the others one after another.
  const oneCore = ONE_CORE.map((name) => tools.find((t) => t.name === name) ?? null);
  const turns = inTurns(oneCore.map((t) => t?.cmd ?? null), runs);
  for (const t of tools) {
    const k = oneCore.indexOf(t);
    const taken = k >= 0 ? turns[k] : null;
    const results = taken ? taken.walls.map((wall, i) => ({ wall, rssKiB: taken.rssKiB[i] })) : [];
    if (!taken) for (let i = 0; i < (t.name.startsWith('tshark') ? 1 : runs); i++) results.push(runOnce(t.cmd));
    rows.push({ name: t.name, wall: median(results.map((r) => r.wall)), rss: median(results.map((r) => r.rssKiB)) / 1024, reference: t.reference ?? false });
  }
  fs.rmSync(scratch, { recursive: true, force: true });

  const mine = rows[0].wall;
  const lines = ['| tool | wall s | MB/s | packets/s | peak RSS MiB | capsight speed ÷ tool speed |', '|---|---:|---:|---:|---:|---:|'];
  for (const r of rows) {
    const speed = r.reference ? '- | - | ' : `${(size / 1e6 / r.wall).toFixed(0)} | ${(stats.packets / r.wall / 1e6).toFixed(2)} M | `;
    const rss = Number.isNaN(r.rss) ? '-' : r.rss.toFixed(0);
    lines.push(`| ${r.name} | ${r.wall.toFixed(2)} | ${speed}${rss} | ${r.reference ? '-' : (r.wall / mine).toFixed(2)} |`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  const [c1, s1, s9] = turns;
  if (c1 && s1) process.stdout.write(`\none core, in turns: capsight speed ÷ softflowd speed = ${pairedRatio(s1.walls, c1.walls).toFixed(2)} (median of ${runs} rounds)\n`);
  if (c1 && s9) process.stdout.write(`one core, in turns: capsight speed ÷ softflowd -v 9 speed (IPv6 tracked too) = ${pairedRatio(s9.walls, c1.walls).toFixed(2)}\n`);
  if (!opts.peers) return { capsightSec: mine };
  const warm = warmPass(root, capture, runs);
  process.stdout.write(`engine alone, in-process, warm (pass ${runs + 1} over the same file, ndjson encoded): ${warm.toFixed(2)} s, ${(size / 1e6 / warm).toFixed(0)} MB/s\n`);
  return { capsightSec: mine };
}

const ONE_CORE_CAPSIGHT = 'capsight flows, one core (taskset -c 0)';
const ONE_CORE_SOFTFLOWD = 'softflowd -r, one core (taskset -c 0)';
const ONE_CORE_SOFTFLOWD_V9 = 'softflowd -r -v 9 (IPv6 tracked), one core (taskset -c 0)';
const ONE_CORE = [ONE_CORE_CAPSIGHT, ONE_CORE_SOFTFLOWD, ONE_CORE_SOFTFLOWD_V9];

/** Seconds of the last of passes+1 in-process passes of the built engine (JIT warm, no process start). */
function warmPass(root: string, capture: string, passes: number): number {
  const script = `
    const { analyzeCapture } = require(${JSON.stringify(path.join(root, 'backend/dist/flows'))});
    const { NdjsonEncoder } = require(${JSON.stringify(path.join(root, 'backend/dist/cli/ndjson-encoder'))});
    (async () => {
      let last = 0;
      for (let i = 0; i <= ${passes}; i++) {
        const encoder = new NdjsonEncoder(() => undefined);
        const started = process.hrtime.bigint();
        await analyzeCapture(${JSON.stringify(capture)}, { onFlow: (f) => encoder.flow(f) });
        encoder.flush();
        last = Number(process.hrtime.bigint() - started) / 1e9;
      }
      process.stdout.write(String(last));
    })();`;
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}
