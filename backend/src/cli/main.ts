import { parseArgs } from 'node:util';
import { CapsightError } from '../errors';
import { analyzeCapture, type AnalyzeResult, type FlowAddressWords } from '../flows';
import type { FlowRecord } from '../model/flow';
import { NdjsonEncoder } from './ndjson-encoder';
import { parseDuration, parseSize } from './units';
import { OutputBuffer } from './output';
import { setV8FlagSince } from './v8-flag';

/**
 * Exit codes (documented in README):
 *  0 success
 *  1 usage error (unknown command or option, bad value)
 *  2 input unusable: unreadable, empty, not a capture, unsupported version (nothing printed)
 *  3 capture damaged (truncated or corrupt): everything before the damage was printed
 *  4 slice: no flow matches the filters (nothing written)
 */
export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_INPUT = 2;
export const EXIT_DAMAGED = 3;
export const EXIT_NO_MATCH = 4;

const USAGE = `usage: capsight <command> [options]

commands:
  flows <capture|->   one bidirectional flow per line
      --format ndjson|csv|table   output format (default ndjson)
      --bucket 1s                 time-bucket width (whole seconds, or a divisor of 1s such as 100ms)
      --idle-timeout 120s         end a flow after this much packet time without packets
      --no-fragments              do not attribute non-first IP fragments to flows (tshark's view)
      --no-apps                   skip payload inspection (apps from ports only; ~10% faster)
  stats <capture|->   packets, bytes, time span, link types, protocol shares, decode problems
      --format text|json          output format (default text)
  slice <capture> [filter ...] -o FILE|-
                      the packets of the flows the filters select, as pcap (pcapng for a pcapng)
      filters: key<op>value with the query model's keys and operators, e.g.
               ip=10.0.0.5  port!=53  app=~tls|quic  "dst cidr 10.0.0.0/8"  "country in US,DE"  retrans>0
      --from TIME --to TIME        only packets in [from, to) (ISO 8601 or epoch ms)
      --idle-timeout 120s --no-fragments   as for flows
  serve               run the sidecar (HTTP API, embedded store); options in README
      --port 9877 --host 127.0.0.1 --data-dir ./data --config FILE ...
  generate            write a deterministic synthetic pcap (see README)
      --size 100MB --seed 1 --hosts 200 --flows 20000 --ipv6 0.2 -o FILE|-
      --profile web|dns|scan|elephants|lossy|classic   a traffic profile (sets the mix)

  A capture is a pcap or pcapng file, optionally gzip-compressed, or "-" for stdin.
  Exit codes: 0 ok, 1 usage, 2 input not a usable capture, 3 capture damaged (partial output),
  4 slice selected no flow.`;

class UsageError extends Error {}

/**
 * A one-shot run over a capture spends a fixed share of its CPU in TurboFan, and most of that went
 * to code that runs once per flow (tens of thousands of calls: emission, ndjson encoding), where
 * Maglev's code is good enough and about ten times cheaper to compile. With this threshold only
 * the per-packet path (millions of calls) reaches TurboFan: on a 1 GB capture, about 60 ms less
 * CPU. The flag exists from V8 12 (Node 22); V8 reads it at each tier-up decision, so setting it
 * before the first packet is enough. The sidecar, a long-lived process, keeps V8's defaults.
 */
function tierUpOnlyThePerPacketPath(): void {
  setV8FlagSince(12, '--invocation-count-for-turbofan=100000');
}

function fail(msg: string): never {
  throw new UsageError(msg);
}

function oneInput(positionals: string[], command: string): string {
  if (positionals.length === 0) fail(`${command}: missing capture argument (a file path or - for stdin)`);
  if (positionals.length > 1) fail(`${command}: expected one capture, got ${positionals.length}`);
  return positionals[0];
}

async function flowsCommand(args: string[], out: OutputBuffer, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      format: { type: 'string', default: 'ndjson' },
      bucket: { type: 'string', default: '1s' },
      'idle-timeout': { type: 'string', default: '120s' },
      'no-fragments': { type: 'boolean', default: false },
      'no-apps': { type: 'boolean', default: false },
    },
  });
  const input = oneInput(positionals, 'flows');
  const format = values.format;
  if (format !== 'ndjson' && format !== 'csv' && format !== 'table') fail(`flows: --format must be ndjson, csv or table, got "${format}"`);
  const bucketNs = parseDuration(values.bucket, '--bucket');
  const idleTimeoutNs = parseDuration(values['idle-timeout'], '--idle-timeout');
  if (bucketNs % 1_000_000_000 !== 0 && 1_000_000_000 % bucketNs !== 0) fail(`flows: --bucket ${values.bucket} must be whole seconds or divide one second evenly`);

  let write: (f: FlowRecord, addresses: FlowAddressWords) => void;
  let finishOutput = (): void => undefined;
  if (format === 'ndjson') {
    const encoder = new NdjsonEncoder((b) => out.bytes(b));
    // The encoder spells addresses from the engine's words (addressText below): no strings made.
    write = (f, addresses) => encoder.flow(f, addresses);
    finishOutput = () => encoder.flush();
  } else if (format === 'csv') {
    const { CsvEncoder } = await import('./csv-encoder');
    const encoder = new CsvEncoder((b) => out.bytes(b));
    encoder.header();
    write = (f, addresses) => encoder.row(f, addresses);
    finishOutput = () => encoder.flush();
  } else {
    const { TABLE_HEADER, tableCells, tableRow } = await import('./format');
    out.line(tableRow(TABLE_HEADER));
    write = (f) => out.line(tableRow(tableCells(f)));
  }
  const result = await analyzeCapture(input, {
    name: input === '-' ? 'stdin' : input,
    bucketNs,
    idleTimeoutNs,
    attributeFragments: !values['no-fragments'],
    identifyApps: !values['no-apps'],
    onFlow: write,
    addressText: format === 'table', // ndjson and CSV spell addresses from the engine's words
    pace: () => out.pace(),
  });
  finishOutput();
  out.flush();
  return reportDamage(result, err);
}

function reportDamage(result: AnalyzeResult, err: (s: string) => void): number {
  if (!result.damage) return EXIT_OK;
  err(`capsight: warning: ${result.damage.message}; results cover the ${result.read.packets} packets before it`);
  return EXIT_DAMAGED;
}

async function statsCommand(args: string[], out: OutputBuffer, err: (s: string) => void): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string', default: 'text' } } });
  const input = oneInput(positionals, 'stats');
  if (values.format !== 'text' && values.format !== 'json') fail(`stats: --format must be text or json, got "${values.format}"`);
  const result = await analyzeCapture(input, { name: input === '-' ? 'stdin' : input, onFlow: () => undefined });
  const { statsReport, statsText } = await import('./stats-report');
  const report = statsReport(input === '-' ? 'stdin' : input, result);
  if (values.format === 'json') out.line(JSON.stringify(report, null, 2));
  else out.line(statsText(report));
  out.flush();
  return reportDamage(result, err);
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = new OutputBuffer();
  const err = (s: string): void => {
    process.stderr.write(s + '\n');
  };
  if (command === 'flows' || command === 'stats') tierUpOnlyThePerPacketPath();
  try {
    switch (command) {
      case 'flows':
        return await flowsCommand(rest, out, err);
      case 'stats':
        return await statsCommand(rest, out, err);
      case 'generate':
        return await (await import('./generate')).generateCommand(rest, parseSize);
      case 'serve':
        return await (await import('./serve')).serveCommand(rest);
      case 'slice':
        return await (await import('./slice')).sliceCommand(rest, err);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        fail(`unknown command "${command}"`);
    }
  } catch (e) {
    if (out.closed) return EXIT_OK; // downstream closed the pipe (e.g. "| head"): not an error
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`capsight: ${(e as Error).message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    // (By name too: `slice` and `serve` are loaded beside the bundle, with their own copy of the class.)
    if (e instanceof CapsightError || (e as Error).name === 'CapsightError') {
      err(`capsight: ${(e as Error).message}`);
      return (e as CapsightError).code === 'BAD_ARGUMENT' ? EXIT_USAGE : EXIT_INPUT;
    }
    throw e;
  }
}
