import * as fs from 'node:fs';
import { FILE_CHUNK_BYTES, readCapture } from '../capture/source';
import type { PacketHandler } from '../capture/types';
import { PacketDecoder } from '../decode/decoder';
import { Category } from '../decode/packet-view';
import { FlowAssembler } from '../flows/assembler';

/**
 * The engine cut after each of its stages, for `npm run bench -- --only stages`: where a
 * `capsight flows` run's time goes, measured rather than sampled (a sampling profiler on one core
 * put a quarter to half of its samples in the file's reads, which timed take far less).
 *   node backend/dist/tools/engine-stages.js <stage> <capture>   prints the stage's milliseconds
 * Stages, each including the ones before it:
 *   read     the file read into one reused buffer, as the engine reads it (the kernel's copy)
 *   records  + pcap/pcapng record parsing (a handler that takes each packet and does nothing)
 *   decode   + header decoding (link, IP, transport)
 *   flows    + the flow table, counters and TCP health (applications from ports only)
 *   apps     + applications named from payloads: the engine as `capsight flows` runs it, without output
 * The time runs from before the first read to after the last flow is handed out: not Node's start,
 * nor the building of the decoder or flow table.
 * It prints {stage, ms, result}: result is the bytes read, the packets, the packets of flows, or the flows.
 */
export const STAGES = ['read', 'records', 'decode', 'flows', 'apps'] as const;
export type Stage = (typeof STAGES)[number];

/**
 * The engine up to `stage` on the file, made ready (its decoder or flow table built: the start-up
 * column counts those) and returned as the run to time: it yields the bytes read, the packets, the
 * packets of flows, or the flows.
 */
export function prepareStage(stage: Stage, file: string): () => Promise<number> {
  if (stage === 'read') {
    const buf = Buffer.allocUnsafe(FILE_CHUNK_BYTES);
    return async () => {
      const fd = fs.openSync(file, 'r');
      let total = 0;
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) total += n;
      fs.closeSync(fd);
      return total;
    };
  }
  if (stage === 'records' || stage === 'decode') {
    const decoder = new PacketDecoder({});
    let count = 0;
    const handler: PacketHandler =
      stage === 'records'
        ? { packet: () => void count++ }
        : { packet: (d, o, capLen, origLen, linkType) => void (count += decoder.decode(d, o, capLen, origLen, linkType) === Category.Flow ? 1 : 0) };
    return async () => {
      await readCapture(file, handler);
      return count;
    };
  }
  let flows = 0;
  const assembler = new FlowAssembler({ onFlow: () => void flows++, addressText: false, identifyApps: stage === 'apps' });
  return async () => {
    await readCapture(file, assembler);
    assembler.finish();
    return flows;
  };
}

async function main(): Promise<void> {
  const [stage, file] = process.argv.slice(2);
  if (!(STAGES as readonly string[]).includes(stage) || !file) {
    process.stderr.write(`usage: engine-stages <${STAGES.join('|')}> <capture>\n`);
    process.exit(2);
  }
  const run = prepareStage(stage as Stage, file);
  const started = process.hrtime.bigint();
  const result = await run();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  // (The result is printed so that no stage's work can be dropped as unused.)
  process.stdout.write(`${JSON.stringify({ stage, ms, result })}\n`);
}

if (require.main === module) void main();
