/**
 * `capsight flows` (apps and TCP health on, as users run it) beside softflowd on each traffic
 * profile (backend/src/synth/profiles.ts), one core each (taskset -c 0), with peak RSS; and the
 * same run on the machine's other Node when there is one (/usr/bin/node), so the choice of Node is
 * checked on every profile, not on one. The commands run in turns (`--runs` rounds of each); times
 * are medians, and each ratio is the median of the rounds' ratios.
 *
 * softflowd runs twice: as it starts by default (NetFlow v5, which has no IPv6 fields, so softflowd
 * does not track IPv6 packets at all: its man page) and with `-v 9`, where it tracks IPv6 flows as
 * capsight does. On the web and DNS mixes a third of the flows are IPv6: only the second run
 * does the same work.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { generateCapture } from '../backend/src/synth/generator';
import { isProfile, PROFILES, profileOptions } from '../backend/src/synth/profiles';
import { CLI_NODE_FLAGS, cliLaunch, MALLOC_ENV_ASSIGNMENT } from '../backend/src/server/node-flags';
import { firstCorePin, HAVE_TIME, inTurns, installed, machine, median, pairedRatio, softflowdCommand } from './measure';


/** The named profile's capture, generated once into bench/out. */
export function profileCapture(outDir: string, profile: string, bytes: number, seed: number): string {
  if (!isProfile(profile)) throw new Error(`unknown profile "${profile}" (profiles: ${PROFILES.join(', ')})`);
  const file = path.join(outDir, `profile-${profile}-${bytes}-s${seed}.pcap`);
  if (!fs.existsSync(file)) {
    process.stdout.write(`generating ${file} ...\n`);
    const fd = fs.openSync(`${file}.part`, 'w');
    generateCapture(profileOptions(profile, bytes, seed), (c) => fs.writeSync(fd, c));
    fs.closeSync(fd);
    fs.renameSync(`${file}.part`, file);
  }
  return file;
}

export function profilesBench(outDir: string, profiles: readonly string[], bytes: number, seed: number, runs: number): string {
  if (!HAVE_TIME) return 'skipped: /usr/bin/time (Debian package "time") is needed for peak RSS\n';
  const root = path.resolve(__dirname, '..');
  const bin = path.join(root, 'backend', 'bin', 'capsight.js');
  const otherNode = fs.existsSync('/usr/bin/node') && fs.realpathSync('/usr/bin/node') !== fs.realpathSync(process.execPath) ? '/usr/bin/node' : null;
  const otherVersion = otherNode ? spawnSync(otherNode, ['-v'], { encoding: 'utf8' }).stdout.trim() : '';
  const softflowd = installed('softflowd');
  const pin = firstCorePin();
  const lines = [
    `${machine()}; ${(bytes / 1e6).toFixed(0)} MB per profile, seed ${seed}, one core, ${runs} rounds in turns (times: medians; ratios: medians of the rounds' ratios); capsight on Node ${process.version} with ${MALLOC_ENV_ASSIGNMENT} and ${CLI_NODE_FLAGS.join(' ')} (its #! line)` +
      (otherNode ? `; "other Node": the same run on ${otherVersion}` : '') + (softflowd ? '' : '; softflowd not installed (Debian package softflowd)'),
    '',
    `| profile | packets | flows | capsight s | softflowd s | capsight speed ÷ softflowd | softflowd -v 9 s (IPv6 tracked) | capsight speed ÷ softflowd -v 9 | capsight peak RSS MiB |${otherNode ? ' other Node s (its time ÷ capsight\'s) |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|${otherNode ? '---:|' : ''}`,
  ];
  for (const name of profiles) {
    const capture = profileCapture(outDir, name, bytes, seed);
    const stats = JSON.parse(spawnSync(process.execPath, [bin, 'stats', '--format', 'json', capture], { encoding: 'utf8' }).stdout) as { packets: number; flows: number };
    const softflowdCmd = softflowdCommand(capture);
    const [mine, peer, peerV9, other] = inTurns(
      [
        [...pin, ...cliLaunch(process.execPath), bin, 'flows', capture],
        softflowd ? [...pin, ...softflowdCmd] : null,
        softflowd ? [...pin, ...softflowdCmd, '-v', '9'] : null,
        otherNode ? [...pin, ...cliLaunch(otherNode), bin, 'flows', capture] : null,
      ],
      runs,
    );
    if (!mine) throw new Error('capsight did not run');
    const wall = (t: { walls: number[] } | null): string => (t ? median(t.walls).toFixed(2) : '-');
    const speedRatio = (t: { walls: number[] } | null): string => (t ? pairedRatio(t.walls, mine.walls).toFixed(2) : '-');
    lines.push(
      `| ${name} | ${(stats.packets / 1e6).toFixed(2)} M | ${stats.flows >= 1e6 ? `${(stats.flows / 1e6).toFixed(2)} M` : `${(stats.flows / 1e3).toFixed(0)} k`} | ${wall(mine)} | ` +
        `${wall(peer)} | ${speedRatio(peer)} | ${wall(peerV9)} | ${speedRatio(peerV9)} | ${(median(mine.rssKiB) / 1024).toFixed(0)} |${other ? ` ${wall(other)} (${pairedRatio(other.walls, mine.walls).toFixed(2)}) |` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
