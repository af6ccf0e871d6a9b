import { parseArgs } from 'node:util';
import * as fs from 'node:fs';
import { writeAllSync } from '../model/byte-writer';
import { generateCapture, type GenerateOptions } from '../synth/generator';
import { isProfile, PROFILES, profileOptions } from '../synth/profiles';

export async function generateCommand(args: string[], parseSize: (t: string, o: string) => number): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      size: { type: 'string', default: '100MB' },
      seed: { type: 'string', default: '1' },
      hosts: { type: 'string', default: '500' },
      flows: { type: 'string', default: '20000' },
      ipv6: { type: 'string', default: '0.2' },
      profile: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
  });
  if (!values.output) throw Object.assign(new Error('generate: -o FILE (or -o - for stdout) is required'), { code: 'ERR_PARSE_ARGS_MISSING' });
  const int = (t: string, name: string): number => {
    const n = Number(t);
    if (!Number.isInteger(n) || n <= 0) throw Object.assign(new Error(`generate: --${name} must be a positive integer, got "${t}"`), { code: 'ERR_PARSE_ARGS_BAD' });
    return n;
  };
  const ipv6 = Number(values.ipv6);
  if (!(ipv6 >= 0 && ipv6 <= 1)) throw Object.assign(new Error(`generate: --ipv6 must be between 0 and 1, got "${values.ipv6}"`), { code: 'ERR_PARSE_ARGS_BAD' });
  const profile = values.profile;
  if (profile !== undefined && !isProfile(profile)) {
    throw Object.assign(new Error(`generate: --profile must be one of ${PROFILES.join(', ')}, got "${profile}"`), { code: 'ERR_PARSE_ARGS_BAD' });
  }
  const bytes = parseSize(values.size, '--size');
  const seed = int(values.seed, 'seed');
  // A profile (synth/profiles.ts) sets the mix; without one, --hosts, --flows and --ipv6 do.
  const options: GenerateOptions = profile
    ? profileOptions(profile, bytes, seed)
    : { bytes, seed, hosts: int(values.hosts, 'hosts'), flows: int(values.flows, 'flows'), ipv6Share: ipv6 };
  const fd = values.output === '-' ? 1 : fs.openSync(values.output, 'w');
  try {
    generateCapture(options, (chunk) => writeAll(fd, chunk));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e; // the reader of stdout went away (e.g. "| head -c 100")
  } finally {
    if (fd !== 1) fs.closeSync(fd);
  }
  return 0;
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Blocking writes (the generator produces synchronously; process.stdout is never touched, so fd 1
 * keeps the mode the shell gave it). A pipe that its creator made non-blocking answers EAGAIN when
 * full: wait a moment and go on.
 */
function writeAll(fd: number, chunk: Uint8Array): void {
  writeAllSync(fd, chunk, () => Atomics.wait(pauseCell, 0, 0, 2));
}
