import * as fs from 'node:fs';
import { corpusAvailable, corpusEntries, notice } from './corpus';
import { compare, engineSums, ORACLE_EXCEPTIONS as EXCEPTIONS, readOracle } from './oracle';

/**
 * The engine against tshark's exact conversation sums on every capture of the shared corpus.
 * The engine runs with tshark's rules (no fragment attribution: tshark's oracle had IP
 * defragmentation off and counts no non-first fragment). Every difference must be listed in
 * ORACLE_EXCEPTIONS with its reason.
 */

const run = corpusAvailable() ? describe : describe.skip;
if (!corpusAvailable()) notice('tshark oracle comparison');

run('tshark conversation oracle', () => {
  it('matches every TCP/UDP conversation of every capture, except the listed ones', async () => {
    let compared = 0;
    let matched = 0;
    const failures: string[] = [];
    const excusedSeen = new Set<string>();
    for (const e of corpusEntries()) {
      if (!fs.existsSync(e.oraclePath)) continue;
      let sums;
      try {
        sums = await engineSums(e.abs);
      } catch (err) {
        if ((err as { code?: string }).code) continue; // not a capture / unsupported: checked by the robustness test
        throw err;
      }
      const c = compare(readOracle(e.oraclePath), sums);
      compared += c.compared;
      matched += c.matched;
      const clean = c.missing.length === 0 && c.extra.length === 0 && c.differ.length === 0;
      if (EXCEPTIONS[e.file]) {
        if (!clean) excusedSeen.add(e.file);
        continue;
      }
      if (!clean) {
        failures.push(
          `${e.file}: missing ${c.missing.slice(0, 3).join(' ')} extra ${c.extra.slice(0, 3).join(' ')} differ ${c.differ
            .slice(0, 3)
            .map((d) => `${d.key} tshark ${JSON.stringify(d.oracle)} engine ${JSON.stringify(d.engine)}`)
            .join(' ')}`,
        );
      }
    }
    process.stderr.write(`tshark oracle: ${matched}/${compared} conversations match; ${Object.keys(EXCEPTIONS).length} files excepted\n`);
    expect(failures).toEqual([]);
    // An exception that no longer differs must be removed from the list.
    expect([...excusedSeen].sort()).toEqual(Object.keys(EXCEPTIONS).sort());
    expect(compared).toBeGreaterThan(400);
    expect(matched).toBeGreaterThanOrEqual(compared - 7);
  });
});
