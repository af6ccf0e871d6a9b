/**
 * `capsight flows` (apps and TCP health on, as users run it) beside softflowd on each traffic
 * profile (backend/src/synth/profiles.ts), one core each (taskset -c 0), median of --runs, with
 * peak RSS; and the same run on the machine's other Node when there is one (/usr/bin/node), so
 * the choice of Node is checked on every profile, not on one.
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
import { PROFILES, profileOptions, type Profile } from '../backend/src/synth/profiles';
import { CLI_NODE_FLAGS } from '../backend/src/server/node-flags';
import { HAVE_TIME, installed, median, runOnce } from './measure';


/** The profile's capture, generated once into bench/out. */
export function profileCapture(outDir: string, profile: Profile, bytes: number, seed: number): string {
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

interface Timed {
  wall: number;
  rssMiB: number;
}

/** Median of `runs` runs of `cmd` on one core. */
function timed(cmd: string[], runs: number): Timed {
  const pin = installed('taskset') ? ['taskset', '-c', '0'] : [];
  const results = Array.from({ length: runs }, () => runOnce([...pin, ...cmd]));
  return { wall: median(results.map((r) => r.wall)), rssMiB: median(results.map((r) => r.rssKiB)) / 1024 };
}

export function profilesBench(outDir: string, profiles: readonly string[], bytes: number, seed: number, runs: number): string {
  if (!HAVE_TIME) return 'skipped: /usr/bin/time (Debian package "time") is needed for peak RSS\n';
  const root = path.resolve(__dirname, '..');
  const bin = path.join(root, 'backend', 'bin', 'capsight.js');
  const otherNode = fs.existsSync('/usr/bin/node') && fs.realpathSync('/usr/bin/node') !== fs.realpathSync(process.execPath) ? '/usr/bin/node' : null;
  const otherVersion = otherNode ? spawnSync(otherNode, ['-v'], { encoding: 'utf8' }).stdout.trim() : '';
  const softflowd = installed('softflowd');
  const lines = [
    `${(bytes / 1e6).toFixed(0)} MB per profile, seed ${seed}, one core, median of ${runs}; capsight on Node ${process.version} with ${CLI_NODE_FLAGS.join(' ')} (its #! line)` +
      (otherNode ? `; "other Node": the same run on ${otherVersion}` : '') + (softflowd ? '' : '; softflowd not installed (Debian package softflowd)'),
    '',
    `| profile | packets | flows | capsight s | softflowd s | capsight speed ÷ softflowd | softflowd -v 9 s (IPv6 tracked) | capsight speed ÷ softflowd -v 9 | capsight peak RSS MiB |${otherNode ? ' other Node s |' : ''}`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|${otherNode ? '---:|' : ''}`,
  ];
  for (const name of profiles) {
    if (!(PROFILES as readonly string[]).includes(name)) throw new Error(`unknown profile "${name}" (profiles: ${PROFILES.join(', ')})`);
    const capture = profileCapture(outDir, name as Profile, bytes, seed);
    const stats = JSON.parse(spawnSync(process.execPath, [bin, 'stats', '--format', 'json', capture], { encoding: 'utf8' }).stdout) as { packets: number; flows: number };
    const mine = timed([process.execPath, ...CLI_NODE_FLAGS, bin, 'flows', capture], runs);
    // softflowd sends NetFlow to the discard port on loopback.
    const softflowdCmd = ['softflowd', '-d', '-r', capture, '-n', '127.0.0.1:9'];
    const peer = softflowd ? timed(softflowdCmd, runs) : null;
    const peerV9 = softflowd ? timed([...softflowdCmd, '-v', '9'], runs) : null;
    const other = otherNode ? timed([otherNode, ...CLI_NODE_FLAGS, bin, 'flows', capture], runs) : null;
    lines.push(
      `| ${name} | ${(stats.packets / 1e6).toFixed(2)} M | ${stats.flows >= 1e6 ? `${(stats.flows / 1e6).toFixed(2)} M` : `${(stats.flows / 1e3).toFixed(0)} k`} | ${mine.wall.toFixed(2)} | ` +
        `${peer ? peer.wall.toFixed(2) : '-'} | ${peer ? (peer.wall / mine.wall).toFixed(2) : '-'} | ` +
        `${peerV9 ? peerV9.wall.toFixed(2) : '-'} | ${peerV9 ? (peerV9.wall / mine.wall).toFixed(2) : '-'} | ${mine.rssMiB.toFixed(0)} |${other ? ` ${other.wall.toFixed(2)} |` : ''}`,
    );
  }
  return lines.join('\n') + '\n';
}
