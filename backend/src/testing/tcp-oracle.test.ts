import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateCaptureBuffer } from '../synth/generator';
import { profileOptions, type Profile } from '../synth/profiles';
import { corpusAvailable, corpusEntries, notice } from './corpus';
import { compareTcp, engineTcp, TCP_ORACLE_EXCEPTIONS as EXCEPTIONS, tsharkInstalled, tsharkTcp } from './tcp-oracle';

/**
 * TCP health against tshark's sequence analysis (tcp.analysis.*) on every TCP capture of the
 * shared corpus: per conversation and direction, every counter and the handshake RTT (to the
 * microsecond). tshark runs here on each capture. Every file that differs is listed in
 * TCP_ORACLE_EXCEPTIONS with its reason; a listed file that no longer differs fails the test.
 */

let tshark = false;
beforeAll(async () => {
  tshark = await tsharkInstalled();
  if (!tshark) process.stderr.write('\n*** SKIPPED: TCP analysis oracle: tshark is not installed (.ci/run installs it) ***\n\n');
});

const run = corpusAvailable() ? describe : describe.skip;
if (!corpusAvailable()) notice('TCP analysis oracle');

run('TCP health against tshark', () => {
  it('matches tshark on every TCP conversation of the corpus, except the listed files', async () => {
    if (!tshark) return;
    let compared = 0;
    let matched = 0;
    let malformed = 0;
    let differing = 0;
    const failures: string[] = [];
    const excusedSeen = new Set<string>();
    const entries = corpusEntries();
    // Two at a time: tshark is a process of its own.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const e = entries[next++];
        let engine;
        try {
          engine = await engineTcp(e.abs);
        } catch (err) {
          if ((err as { code?: string }).code) continue; // not a capture: the robustness test covers it
          throw err;
        }
        if (engine.size === 0) continue;
        const c = compareTcp(await tsharkTcp(e.abs), engine);
        compared += c.compared;
        matched += c.matched;
        malformed += c.malformed.length;
        if (EXCEPTIONS[e.file]) {
          if (c.differ.length > 0) excusedSeen.add(e.file);
          differing += c.differ.length;
          continue;
        }
        if (c.differ.length > 0) failures.push(`${e.file}: ${c.differ.slice(0, 3).map((d) => `${d.key} ${d.what.join('; ')}`).join(' | ')}`);
      }
    };
    await Promise.all([worker(), worker()]);
    process.stderr.write(
      `TCP analysis oracle: ${matched}/${compared} conversations equal to tshark (${((100 * matched) / compared).toFixed(1)} %); ` +
        `${Object.keys(EXCEPTIONS).length} files excepted (${differing} conversations differ there); ${malformed} left out where tshark found a frame malformed\n`,
    );
    expect(failures).toEqual([]);
    expect([...excusedSeen].sort()).toEqual(Object.keys(EXCEPTIONS).sort());
    expect(compared).toBeGreaterThan(150);
  }, 600_000);
});

describe('TCP health against tshark on generated traffic', () => {
  it.each(['lossy', 'web', 'scan'] as Profile[])('equals tshark on every TCP conversation of the %s profile', async (profile) => {
    if (!tshark) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-tcp-profile-'));
    try {
      const file = path.join(dir, `${profile}.pcap`);
      fs.writeFileSync(file, generateCaptureBuffer(profileOptions(profile, 4_000_000, 5)));
      const c = compareTcp(await tsharkTcp(file), await engineTcp(file), true);
      process.stderr.write(`TCP analysis oracle, ${profile} profile: ${c.matched}/${c.compared} conversations equal to tshark\n`);
      expect(c.differ).toEqual([]);
      expect(c.unpaired).toEqual([]);
      expect(c.compared).toBeGreaterThan(profile === 'scan' ? 10_000 : 80);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
