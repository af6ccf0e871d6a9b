import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeCapture } from '../flows';
import { corpusAvailable, corpusEntries, notice } from '../testing/corpus';
import { generateCaptureBuffer } from '../synth/generator';
import { profileOptions } from '../synth/profiles';
import { prepareStage, STAGES } from './engine-stages';

// The bench's stage cuts (npm run bench -- --only stages) do the work they are named for: each
// stage's count equals the engine's own figure for the same capture.

/**
 * Each stage's count on the file, and what it should be from the engine's own figures (the file's
 * bytes, its packets, its IP packets, its flows twice): null when the file is not a capture the engine reads.
 */
async function stagesAndEngine(file: string): Promise<{ counts: Record<string, number>; expected: Record<string, number> } | null> {
  let flows = 0;
  let engine;
  try {
    engine = await analyzeCapture(file, { onFlow: () => void flows++ });
  } catch (err) {
    if ((err as { code?: string }).code) return null; // not a capture: the robustness test covers it
    throw err;
  }
  const counts: Record<string, number> = {};
  for (const s of STAGES) counts[s] = await prepareStage(s, file)();
  const ipPackets = engine.stats.versionPackets[4] + engine.stats.versionPackets[6];
  const expected = { read: fs.statSync(file).size, records: engine.read.packets, decode: ipPackets, flows, apps: flows };
  return { counts, expected };
}

describe('engine stages', () => {
  let dir = '';
  let file = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-stages-'));
    file = path.join(dir, 'web.pcap');
    fs.writeFileSync(file, generateCaptureBuffer(profileOptions('web', 2_000_000, 3)));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads every byte, parses every record, decodes and assembles the flows the engine finds', async () => {
    const r = await stagesAndEngine(file);
    expect(r).not.toBeNull();
    const { counts, expected } = r as NonNullable<typeof r>;
    expect(counts).toEqual(expected);
    expect(expected.flows).toBeGreaterThan(100);
  });

  const onCorpus = corpusAvailable() ? it : it.skip;
  if (!corpusAvailable()) notice('engine stages on the corpus');
  onCorpus('agree with the engine on every capture of the shared corpus (pcap, pcapng, gzip, damaged ones)', async () => {
    const differ: string[] = [];
    let read = 0;
    for (const e of corpusEntries()) {
      const r = await stagesAndEngine(e.abs);
      if (r === null) continue;
      read++;
      if (JSON.stringify(r.counts) !== JSON.stringify(r.expected)) differ.push(`${e.file}: ${JSON.stringify(r.counts)} vs ${JSON.stringify(r.expected)}`);
    }
    expect(differ).toEqual([]);
    expect(read).toBeGreaterThan(200);
  }, 120_000);
});
