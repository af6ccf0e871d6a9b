import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Measuring whole commands the same way in every bench table. */

export function installed(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

export const HAVE_TIME = fs.existsSync('/usr/bin/time');

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
