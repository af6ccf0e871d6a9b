/**
 * Where a `capsight flows` run's time goes on each traffic profile: the engine cut after each of
 * its stages (backend/src/tools/engine-stages.ts: read, records, decode, flows with TCP health,
 * apps), timed inside the process, beside the whole command, its start-up alone (a capture of no
 * packets) and softflowd on the same file. One core each (taskset -c 0), the CLI's Node flags,
 * `--runs` rounds in turns; medians. Each stage includes the ones before it, so the step from one
 * column to the next is what that stage adds.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pcapFile } from '../backend/src/synth/frames';
import { cliLaunch } from '../backend/src/server/node-flags';
import { STAGES } from '../backend/src/tools/engine-stages';
import { firstCorePin, installed, machine, median, softflowdCommand, turns } from './measure';
import { profileCapture } from './profiles';

/** Milliseconds of one command: the stage's own report (in-process), or the whole process's wall time. */
function timeOnce(cmd: string[], inProcess: boolean): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd.slice(1), { stdio: ['ignore', inProcess ? 'pipe' : 'ignore', 'pipe'], encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0 && r.status !== 3) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr.slice(0, 300)}`);
  return inProcess ? (JSON.parse(r.stdout) as { ms: number }).ms : wallMs;
}

export function stagesBench(outDir: string, profiles: readonly string[], bytes: number, seed: number, runs: number): string {
  const root = path.resolve(__dirname, '..');
  const bin = path.join(root, 'backend', 'bin', 'capsight.js');
  const stagesJs = path.join(root, 'backend', 'dist', 'tools', 'engine-stages.js');
  const pin = firstCorePin();
  const softflowd = installed('softflowd');
  const node = [...pin, ...cliLaunch(process.execPath)];
  const empty = path.join(outDir, 'no-packets.pcap');
  // A pcap header and no packet: the command's start-up and end alone.
  fs.writeFileSync(empty, pcapFile({}, []));
  const lines = [
    `${machine()}; ${(bytes / 1e6).toFixed(0)} MB per profile, seed ${seed}, one core, ${runs} rounds in turns, medians in ms. ` +
      'Stage columns are timed inside the process (no Node start-up), each including the ones before it; ' +
      '"start-up" is `capsight flows` on a capture of no packets; "output and the rest" is the whole command less the engine and the start-up.',
    '',
    '| profile | read | + records | + decode | + flows, TCP health | + apps (the engine) | start-up | output and the rest | capsight flows | softflowd -v 9 | softflowd |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const name of profiles) {
    const capture = profileCapture(outDir, name, bytes, seed);
    const softflowdCmd = [...pin, ...softflowdCommand(capture)];
    const cmds: { cmd: string[]; inProcess: boolean }[] = [
      ...STAGES.map((s) => ({ cmd: [...node, stagesJs, s, capture], inProcess: true })),
      { cmd: [...node, bin, 'flows', empty], inProcess: false },
      { cmd: [...node, bin, 'flows', capture], inProcess: false },
      ...(softflowd ? [{ cmd: [...softflowdCmd, '-v', '9'], inProcess: false }, { cmd: softflowdCmd, inProcess: false }] : []),
    ];
    const times = cmds.map((): number[] => []);
    for (const i of turns(cmds.length, runs)) times[i].push(timeOnce(cmds[i].cmd, cmds[i].inProcess));
    const m = times.map((t) => median(t));
    const [read, records, decode, flows, apps, startUp, whole, v9, v5] = m;
    const ms = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(0));
    lines.push(`| ${name} | ${ms(read)} | ${ms(records)} | ${ms(decode)} | ${ms(flows)} | ${ms(apps)} | ${ms(startUp)} | ${ms(whole - apps - startUp)} | ${ms(whole)} | ${ms(v9)} | ${ms(v5)} |`);
  }
  return lines.join('\n') + '\n';
}
