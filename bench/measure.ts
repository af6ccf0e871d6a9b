import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Measuring whole commands the same way in every bench table. */

export function installed(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

/** softflowd reading a capture, its NetFlow sent to the discard port on loopback (no collector). */
export function softflowdCommand(capture: string): string[] {
  return ['softflowd', '-d', '-r', capture, '-n', '127.0.0.1:9'];
}

/** The prefix that pins a command to the first core (taskset -c 0), or none without taskset. */
export function firstCorePin(): string[] {
  return installed('taskset') ? ['taskset', '-c', '0'] : [];
}

export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export const HAVE_TIME = fs.existsSync('/usr/bin/time');

/**
 * The machine a table was measured on: its CPU model, cores and kernel. Peers' ratios move with it
 * (softflowd ran twice as fast on an Intel Xeon VM as on an AMD EPYC one, capsight 1.3 times).
 */
export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Linux ${os.release()}`;
}

/**
 * One run of `cmd` (exit 0, or 3: a damaged capture, read to the damage): wall seconds and, under
 * GNU time (/usr/bin/time), peak RSS in KiB (NaN without it). Output is discarded.
 */
export function runOnce(cmd: string[]): { wall: number; rssKiB: number } {
  const marker = path.join(os.tmpdir(), `capsight-bench-time-${process.pid}.txt`);
  const argv = HAVE_TIME ? ['/usr/bin/time', '-f', '%M', '-o', marker, ...cmd] : cmd;
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0 && r.status !== 3) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr.toString().slice(0, 300)}`);
  if (!HAVE_TIME) return { wall, rssKiB: NaN };
  const rssKiB = Number(fs.readFileSync(marker, 'utf8').trim().split('\n').pop());
  fs.rmSync(marker, { force: true });
  return { wall, rssKiB };
}

/**
 * `runs` rounds of every command, one after another, each round starting one command further on:
 * a drift of the machine's speed (this bench's VM moves by tens of percent within minutes) then
 * hits every command alike, and none always runs first. Null commands are skipped.
 */
export function inTurns(cmds: (string[] | null)[], runs: number): ({ walls: number[]; rssKiB: number[] } | null)[] {
  const out = cmds.map((c) => (c ? { walls: [] as number[], rssKiB: [] as number[] } : null));
  for (const i of turns(cmds.length, runs)) {
    const cmd = cmds[i];
    const o = out[i];
    if (!cmd || !o) continue;
    const r = runOnce(cmd);
    o.walls.push(r.wall);
    o.rssKiB.push(r.rssKiB);
  }
  return out;
}

/** inTurns for steps that are promises (null: skipped): each step's seconds, in round order. */
export async function inTurnsAsync(steps: ((() => Promise<number>) | null)[], runs: number): Promise<number[][]> {
  const out = steps.map((): number[] => []);
  for (const i of turns(steps.length, runs)) {
    const step = steps[i];
    if (step) out[i].push(await step());
  }
  return out;
}

/** The order of `runs` rounds of `count` steps, each round starting one step further on. */
export function* turns(count: number, runs: number): Generator<number> {
  for (let round = 0; round < runs; round++) for (let k = 0; k < count; k++) yield (round + k) % count;
}

/** Median over rounds of a[i] / b[i]: a ratio of runs made side by side. */
export function pairedRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]));
}
