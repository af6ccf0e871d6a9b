import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { CapsightError } from '../errors';
import { analyzeCapture } from '../flows';
import { generateCaptureBuffer } from '../synth/generator';
import { corpusAvailable, corpusEntries, notice } from './corpus';

/**
 * Mutated real captures (bit flips, truncation, length fields set to huge values, spliced bytes):
 * the engine may report damage or refuse the input with a CapsightError, and nothing else.
 */
function seeds(): Buffer[] {
  const out = [generateCaptureBuffer({ bytes: 60_000, seed: 3, hosts: 20, flows: 30, ipv6Share: 0.5 })];
  if (corpusAvailable()) {
    for (const e of corpusEntries()) {
      const size = fs.statSync(e.abs).size;
      if (size > 0 && size < 40_000) out.push(fs.readFileSync(e.abs));
    }
  } else notice('fuzzing of corpus captures (the generated capture is still fuzzed)');
  return out;
}

const SEEDS = seeds();

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'u32'; at: number; value: number } | { kind: 'splice'; at: number; len: number; from: number };

function mutate(buf: Buffer, muts: Mutation[]): Buffer {
  let b = Buffer.from(buf);
  for (const m of muts) {
    if (b.length === 0) break;
    if (m.kind === 'flip') b[m.at % b.length] ^= 1 << m.bit;
    else if (m.kind === 'cut') b = b.subarray(0, m.at % (b.length + 1));
    else if (m.kind === 'u32') {
      const at = (m.at % b.length) & ~3;
      if (at + 4 <= b.length) b.writeUInt32LE(m.value >>> 0, at);
    } else {
      const at = m.at % b.length;
      const from = m.from % b.length;
      b.copy(b, at, from, Math.min(b.length, from + m.len));
    }
  }
  return b;
}

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 0xffff, 0x7fffffff, 0xffffffff, 0x10000, 0x3ffffff) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), from: fc.nat() }),
);

describe('fuzzing', () => {
  it('mutated captures never crash, hang or grow memory without bound', async () => {
    let cases = 0;
    const rssBefore = process.memoryUsage().rss;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (pick, muts) => {
        const input = mutate(SEEDS[pick % SEEDS.length], muts);
        cases++;
        const started = Date.now();
        try {
          await analyzeCapture(Readable.from([input]), { name: 'fuzz', onFlow: () => undefined, onBuckets: () => undefined });
        } catch (err) {
          if (!(err instanceof CapsightError)) throw err;
          expect(err.message.startsWith('fuzz: ')).toBe(true);
        }
        expect(Date.now() - started).toBeLessThan(5000);
      }),
      { numRuns: 3000, seed: 20261126 },
    );
    expect(cases).toBe(3000);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
  });
});
