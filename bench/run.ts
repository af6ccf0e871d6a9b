/**
 * `npm run bench`: everything measured side by side, printed as markdown tables (README keeps them).
 *   engine  capsight flows vs softflowd / nfpcapd / tshark / tcpdump on a generated capture
 *   ingest  that capture imported from Azurite by SAS URL, vs plain download and CLI parse
 *   query   p50/p95 of every dashboard query kind over >= 10 M bucket rows
 *   plugin  the backend plugin: binary size, start to handshake, QueryData overhead, memory
 *   load    heavy and light clients at once: light p95, /health p99, peak RSS (not in the default set)
 *   profiles capsight flows vs softflowd on each traffic profile (web with QUIC, dns, scan, elephants, lossy, classic), one core
 *   stages  where a run's time goes on each profile: the engine cut after each stage, start-up, output (not in the default set)
 *   export  pcap slices (one flow; a filter over the whole capture vs tcpdump -r -w) and flow exports from a stored 1 GB capture
 *
 *   npm run bench -- --size 200MB --runs 5 --seed 1 --only engine,query --bucket-rows 10000000
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseSize } from '../backend/src/cli/units';
import { generateCapture } from '../backend/src/synth/generator';
import { engineBench } from './engine';
import { exportBench } from './export';
import { loadBench } from './load';
import { ingestBench } from './ingest';
import { pluginBench } from './plugin';
import { profilesBench } from './profiles';
import { queryBench } from './query';
import { stagesBench } from './stages';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GB' },
    seed: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    only: { type: 'string', default: 'engine,profiles,ingest,query,plugin,export' },
    profiles: { type: 'string', default: 'classic,web,dns,scan,elephants,lossy' },
    'profile-size': { type: 'string', default: '1GB' },
    'bucket-rows': { type: 'string', default: '10000000' },
    'no-tshark': { type: 'boolean', default: false },
    'load-seconds': { type: 'string', default: '60' },
    'heavy-clients': { type: 'string', default: '6' },
    'light-clients': { type: 'string', default: '4' },
  },
});

async function main(): Promise<void> {
  const sections = new Set(values.only.split(','));
  const outDir = path.resolve(__dirname, 'out');
  fs.mkdirSync(outDir, { recursive: true });
  const bytes = parseSize(values.size, '--size');
  const seed = Number(values.seed);
  const runs = Math.max(1, Number(values.runs));
  const capture = path.join(outDir, `synthetic-${bytes}-s${seed}.pcap`);
  if ((sections.has('engine') || sections.has('ingest')) && !fs.existsSync(capture)) {
    process.stdout.write(`generating ${capture} ...\n`);
    const fd = fs.openSync(capture, 'w');
    generateCapture({ bytes, seed, hosts: 500, flows: Math.max(100, Math.round(bytes / 35_000)), ipv6Share: 0.2 }, (c) => fs.writeSync(fd, c));
    fs.closeSync(fd);
  }
  let parseSec = NaN;
  if (sections.has('engine')) {
    process.stdout.write('\n## Engine\n\n');
    parseSec = engineBench(capture, runs, { peers: true, tshark: !values['no-tshark'] }).capsightSec;
  }
  if (sections.has('profiles')) {
    process.stdout.write('\n## Traffic profiles\n\n' + profilesBench(outDir, values.profiles.split(','), parseSize(values['profile-size'], '--profile-size'), seed, runs));
  }
  if (sections.has('stages')) {
    process.stdout.write('\n## Where a run goes (stages)\n\n' + stagesBench(outDir, values.profiles.split(','), parseSize(values['profile-size'], '--profile-size'), seed, runs));
  }
  if (sections.has('ingest')) {
    if (Number.isNaN(parseSec)) parseSec = engineBench(capture, runs, { peers: false, tshark: false }).capsightSec;
    process.stdout.write('\n## Ingest\n\n' + (await ingestBench(capture, parseSec, runs)) + '\n');
  }
  if (sections.has('query')) {
    process.stdout.write('\n## Query latency\n\n' + (await queryBench(Number(values['bucket-rows']), Math.max(20, runs))) + '\n');
  }
  if (sections.has('load')) {
    process.stdout.write('\n## Load (heavy and light clients)\n\n' + (await loadBench(Number(values['load-seconds']), Number(values['heavy-clients']), Number(values['light-clients']))) + '\n');
  }
  if (sections.has('export')) {
    process.stdout.write('\n## Exports (pcap slices, flows)\n\n' + (await exportBench(outDir, parseSize(values['profile-size'], '--profile-size'), seed, runs)) + '\n');
  }
  if (sections.has('plugin')) {
    process.stdout.write('\n## Backend plugin\n\n' + (await pluginBench(runs, 300)) + '\n');
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
