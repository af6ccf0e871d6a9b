import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { removeStaleSocketDirs, STALE_AFTER_MS } from './stale-sockets';

/** A process that listens on a unix socket at file, SIGKILLed once listening: its socket file stays, nobody accepts on it. */
async function killedListener(file: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(file)}, () => process.stdout.write('ready'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`listener exited early (${code})`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('removeStaleSocketDirs', () => {
  let base: string;
  let live: net.Server | null = null;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-stale-'));
  });
  afterEach(async () => {
    if (live) await new Promise((r) => live!.close(r));
    live = null;
    fs.rmSync(base, { recursive: true, force: true });
  });

  const dir = (name: string): string => {
    const d = path.join(base, name);
    fs.mkdirSync(d);
    return d;
  };
  const age = (d: string, ageMs: number): void => {
    const t = new Date(Date.now() - ageMs);
    fs.utimesSync(d, t, t);
  };

  it('removes old empty directories and those of killed listeners; keeps live, young, foreign and own ones', async () => {
    const old = STALE_AFTER_MS + 60_000;
    const empty = dir('capsight-plugin-AAAAAA');
    const killed = dir('capsight-plugin-BBBBBB');
    await killedListener(path.join(killed, 'grpc.sock'));
    expect(fs.readdirSync(killed)).toEqual(['grpc.sock']); // what SIGKILL leaves behind
    const listening = dir('capsight-plugin-CCCCCC');
    live = net.createServer();
    await new Promise<void>((r) => live!.listen(path.join(listening, 'grpc.sock'), r));
    dir('capsight-plugin-DDDDDD'); // young: made just now
    const own = dir('capsight-plugin-EEEEEE');
    const otherContent = dir('capsight-plugin-FFFFFF');
    fs.writeFileSync(path.join(otherContent, 'notes.txt'), 'not a socket');
    const otherName = dir('capsight-plugin-bin-0123456789abcdef');
    fs.writeFileSync(path.join(base, 'capsight-plugin-GGGGGG'), 'a file, not a directory');
    for (const d of [empty, killed, listening, own, otherContent, otherName]) age(d, old);

    const removed = await removeStaleSocketDirs(base, own);

    expect(removed.sort()).toEqual([empty, killed].sort());
    expect(fs.readdirSync(base).sort()).toEqual(
      ['capsight-plugin-CCCCCC', 'capsight-plugin-DDDDDD', 'capsight-plugin-EEEEEE', 'capsight-plugin-FFFFFF', 'capsight-plugin-GGGGGG', 'capsight-plugin-bin-0123456789abcdef'].sort(),
    );
  });

  it('answers an empty list for a base directory that does not exist', async () => {
    expect(await removeStaleSocketDirs(path.join(base, 'missing'), undefined)).toEqual([]);
  });
});
