import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { analyzeCapture } from '../flows';
import { publicFlow } from '../cli/format';
import { generateCaptureBuffer } from '../synth/generator';
import { CORPUS_DIR, corpusAvailable, notice } from '../testing/corpus';

/** Every flow line and bucket row, as text, for one way of feeding the capture. */
async function run(chunks: Uint8Array[]): Promise<string> {
  const out: string[] = [];
  const r = await analyzeCapture(Readable.from(chunks), {
    onFlow: (f) => out.push(JSON.stringify(publicFlow(f))),
    onBuckets: (b) => {
      for (let i = 0; i < b.length; i++) out.push(`b ${b.flowId[i]} ${b.startSec[i]} ${b.srcPkts[i]} ${b.srcBytes[i]} ${b.dstPkts[i]} ${b.dstBytes[i]}`);
    },
  });
  out.push(`packets ${r.read.packets} damage ${r.damage?.message ?? '-'}`);
  return out.join('\n');
}

function split(buf: Buffer, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(buf.subarray(prev, p));
    prev = p;
  }
  chunks.push(buf.subarray(prev));
  return chunks;
}

const generated = ((): Buffer => {
  return generateCaptureBuffer({ bytes: 400_000, seed: 7, hosts: 40, flows: 60, ipv6Share: 0.3 });
})();

const CORPUS_FILES = [
  'zeek/pcapng-multi-interface.pcapng',
  'zeek/ldap__gap-data-missing.pcapng',
  'zeek/http__bro.org.pcap',
  'tcpdump/pptp.pcap',
  'suricata-verify/tls__tls-client-hello-frag-01__dump_mtu300.pcap',
  'suricata-verify/quic-frag__input.pcap',
  'suricata-verify/bug-1450-04__tls_DER-incomplete-header.pcap',
];

describe('output does not depend on how the input is chunked', () => {
  const inputs: [string, Buffer][] = [['generated capture', generated]];
  if (corpusAvailable()) for (const f of CORPUS_FILES) inputs.push([f, fs.readFileSync(path.join(CORPUS_DIR, f))]);
  else notice('chunking property test on corpus captures (the generated capture still runs)');

  it.each(inputs)('%s', async (_name, buf) => {
    const whole = await run([buf]);
    expect(whole).toContain('packets');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 40 }), async (cuts) => {
        expect(await run(split(buf, cuts))).toBe(whole);
      }),
      { numRuns: 40 },
    );
    // The worst case: one byte at a time.
    if (buf.length < 300_000) expect(await run(split(buf, Array.from({ length: buf.length }, (_, i) => i)))).toBe(whole);
  });
});
