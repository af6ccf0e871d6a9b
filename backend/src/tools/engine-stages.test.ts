import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeCapture } from '../flows';
import { generateCaptureBuffer } from '../synth/generator';
import { profileOptions } from '../synth/profiles';
import { prepareStage, STAGES } from './engine-stages';

/**
 * The bench's stage cuts (npm run bench -- --only stages) do the work they are named for: each
 * stage's count equals the engine's own figure for the same capture.
 */
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
    let flows = 0;
    const engine = await analyzeCapture(file, { onFlow: () => void flows++ });
    const counts = Object.fromEntries(await Promise.all(STAGES.map(async (s) => [s, await prepareStage(s, file)()] as const)));
    expect(counts.read).toBe(fs.statSync(file).size);
    expect(counts.records).toBe(engine.read.packets);
    const ipPackets = engine.stats.versionPackets[4] + engine.stats.versionPackets[6];
    expect(counts.decode).toBe(ipPackets);
    expect(counts.flows).toBe(flows);
    expect(counts.apps).toBe(flows);
    expect(flows).toBeGreaterThan(100);
  });
});
