import * as path from 'node:path';
import { Readable } from 'node:stream';
import { analyzeCapture } from '../flows';
import type { FlowRecord } from '../model/flow';
import { generateCaptureBuffer } from '../synth/generator';
import { CORPUS_DIR, corpusAvailable, notice } from '../testing/corpus';
import { isoNs } from '../model/time';
import { csvRow, CSV_COLUMNS, publicFlow } from './format';
import { NdjsonEncoder } from './ndjson-encoder';
import { CsvEncoder } from './csv-encoder';
import type { FlowAddressWords } from '../flows/assembler';

describe('isoNs', () => {
  it('agrees with Date for leap days, century years, 2038 and past 2106', () => {
    const seconds = [0, 59, 86399, 951782400, 951868799, 1709251199, 1709251200, 1767225600, 2147483647, 2147483648, 4107542400, 4294967295, 4354819200, 253402300799];
    for (const s of seconds) expect(isoNs(s, 7)).toBe(`${new Date(s * 1000).toISOString().slice(0, -5)}.000000007Z`);
    expect(isoNs(1767225600, 123456789)).toBe('2026-01-01T00:00:00.123456789Z');
  });
});

/** Real flows (generated and from the corpus) and made-up ones at the edges of the encoders' fast paths. */
async function encoderTestFlows(what: string): Promise<FlowRecord[]> {
  const flows: FlowRecord[] = [];
  await analyzeCapture(Readable.from([generateCaptureBuffer({ bytes: 300_000, seed: 11, hosts: 30, flows: 80, ipv6Share: 0.4 })]), { onFlow: (f) => flows.push(f) });
  if (corpusAvailable()) {
    // Captures with tunnels, VLANs, SNI/ALPN, HTTP, DNS rcode and SSH banners in their flows.
    for (const f of ['zeek/http__bro.org.pcap', 'zeek/tunnels__vxlan-encapsulated-http.pcap', 'zeek/q-in-q.pcap', 'zeek/tls__chrome-34-google.pcap', 'zeek/ssh__ssh.pcap', 'tcpdump/dns_tcp.pcap']) {
      await analyzeCapture(path.join(CORPUS_DIR, f), { onFlow: (x) => flows.push(x) });
    }
  } else notice(`${what} equivalence on corpus flows (generated flows still run)`);
  expect(flows.length).toBeGreaterThan(50);
  expect(flows.some((f) => f.tcp !== null && f.tcp.counts.some((n) => n > 0))).toBe(true);
  // Hostile names (quotes, commas, line breaks, control bytes, non-ASCII, lone surrogates) and dates outside 0..9999.
  const odd = { ...flows[0], server_name: 'a"b\\c\n\u0001é\ud800', ssh_banner: 'SSH-2.0-\u00ff', first_sec: 253402300800, last_sec: 2 ** 40 };
  flows.push(odd, flows[0]); // and back to an ordinary date after them
  flows.push({ ...flows[1], server_name: 'a,b', alpn: 'h2\r\n', http_method: 'G\tET', tunnel: 'x"' });
  // Values the encoders' one-copy literals do not cover: a state, app and rcode they have no literal
  // for (one needs escaping), more app and rcode names than they keep literals for, and flows with
  // nothing back, with and without payload from the sender.
  flows.push({ ...flows[0], state: 'X"y\u00e9', app: 'a"pp', app_source: 'port', server_name: null, dns_rcode: 'RC"', ssh_banner: null });
  for (let i = 0; i < 1100; i++) flows.push({ ...flows[i % 40], app: `app${i}`, app_source: i % 3 === 0 ? null : i % 3 === 1 ? 'port' : 'payload', dns_rcode: `RCODE${i}`, ssh_banner: null });
  const unanswered = { ...flows[0], dst_pkts: 0, dst_bytes: 0, dst_ip_bytes: 0, dst_payload_bytes: 0 };
  flows.push({ ...unanswered, src_payload_bytes: 7 }, { ...unanswered, src_payload_bytes: 0 }, { ...unanswered, dst_ip_bytes: 3 });
  // TCP flows with and without anything to report, with each reset pair, flags and fragments or none.
  const quietTcp = flows.find((f) => f.tcp !== null && f.tcp.counts.every((n) => n === 0) && f.tcp.times.every((x) => Number.isNaN(x)));
  const busyTcp = flows.find((f) => f.tcp !== null && f.tcp.counts.some((n) => n > 0));
  expect(quietTcp && busyTcp).toBeTruthy();
  for (const base of [quietTcp!, busyTcp!]) {
    for (const resetBy of [null, 'src', 'dst', 'both'] as const) {
      for (const resetAfterData of [null, true, false]) {
        for (const [flagsA, flagsB, fragments] of [[0, 0, 0], [2, 0, 0], [0, 0, 4], [2, 20, 1]]) {
          flows.push({ ...base, src_tcp_flags: flagsA, dst_tcp_flags: flagsB, fragments, tcp: { ...base.tcp!, resetBy, resetAfterData } });
        }
      }
    }
  }
  // Numbers at each digit count's edges (two digits are written per step), both sides of 2^31.
  const edges = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 9999, 10000, 99999, 123456, 999999, 1000000, 9999999, 10000000, 99999999, 100000000, 999999999, 1000000000, 2147483647, 2147483648, 4294967296, 99999999999, 2 ** 53 - 1];
  for (const n of edges) flows.push({ ...flows[1], src_pkts: n, dst_bytes: n, src_payload_bytes: n, first_nsec: n % 1e9, last_nsec: (n * 7) % 1e9, fragments: n });
  return flows;
}

/** The lines an encoder writes for flows, through a small buffer (so chunk boundaries fall inside the run). */
function encodeLines(make: EncoderRun, flows: FlowRecord[]): string[] {
  const chunks: Buffer[] = [];
  const encoder = make((b) => void chunks.push(Buffer.from(b)));
  for (const f of flows) encoder.each(f);
  encoder.flush();
  const lines = Buffer.concat(chunks).toString('utf8').split('\n');
  expect(lines.pop()).toBe('');
  return lines;
}

describe('NdjsonEncoder', () => {
  it('writes exactly JSON.stringify(publicFlow(f)) per line for real flows', async () => {
    const flows = await encoderTestFlows('ndjson');
    const lines = encodeLines((sink) => {
      const e = new NdjsonEncoder(sink, 4096);
      return { each: (f) => e.flow(f), flush: () => e.flush() };
    }, flows);
    expect(lines).toEqual(flows.map((f) => JSON.stringify(publicFlow(f))));
  });

  it("spells addresses from the engine's words as the records' text (the CLI runs the engine with addressText false)", async () => {
    await expectWordsSpelledAsText((sink) => {
      const e = new NdjsonEncoder(sink, 4096);
      return { each: (f, words) => e.flow(f, words), flush: () => e.flush() };
    });
  });
});

describe('CsvEncoder', () => {
  it('writes exactly the header and csvRow(f) per row for real flows', async () => {
    const flows = await encoderTestFlows('CSV');
    const lines = encodeLines((sink) => {
      const e = new CsvEncoder(sink, 4096);
      e.header();
      return { each: (f) => e.row(f), flush: () => e.flush() };
    }, flows);
    // A quoted cell may hold a line break: compare the whole text, not split rows, as stdout's
    // UTF-8 spelled csvRow()'s strings (a lone surrogate becomes U+FFFD).
    const expected = [CSV_COLUMNS.join(','), ...flows.map(csvRow)].join('\n');
    expect(lines.join('\n')).toBe(Buffer.from(expected, 'utf8').toString('utf8'));
    expect(lines[0].split(',')).toHaveLength(31 + 22 + 7 + 2);
  });

  it("spells addresses from the engine's words as the records' text (the CLI runs the engine with addressText false)", async () => {
    await expectWordsSpelledAsText((sink) => {
      const e = new CsvEncoder(sink, 4096);
      return { each: (f, words) => e.row(f, words), flush: () => e.flush() };
    });
  });
});

type EncoderRun = (sink: (b: Uint8Array) => void) => { each: (f: FlowRecord, words?: FlowAddressWords) => void; flush: () => void };

async function expectWordsSpelledAsText(make: EncoderRun): Promise<void> {
  const inputs: (() => Parameters<typeof analyzeCapture>[0])[] = [
    () => Readable.from([generateCaptureBuffer({ bytes: 400_000, seed: 12, hosts: 40, flows: 120, ipv6Share: 0.5 })]),
  ];
  if (corpusAvailable()) {
    // IPv6 (with zero runs), tunnels and VLANs.
    for (const f of ['zeek/tunnels__vxlan-encapsulated-http.pcap', 'zeek/q-in-q.pcap', 'zeek/communityid__ipv6.pcap', 'zeek/tunnels__geneve-ipv6.pcap', 'tcpdump/dns_tcp.pcap']) inputs.push(() => path.join(CORPUS_DIR, f));
  } else notice('address spelling on corpus flows (generated flows still run)');
  let v6 = 0;
  for (const input of inputs) {
    const run = async (addressText: boolean): Promise<{ text: string; srcs: string[] }> => {
      const chunks: Buffer[] = [];
      const srcs: string[] = [];
      const encoder = make((b) => void chunks.push(Buffer.from(b)));
      await analyzeCapture(input(), {
        addressText,
        onFlow: (f, words) => {
          srcs.push(f.src);
          encoder.each(f, addressText ? undefined : words);
        },
      });
      encoder.flush();
      return { text: Buffer.concat(chunks).toString('utf8'), srcs };
    };
    const fromText = await run(true);
    const fromWords = await run(false);
    expect(fromText.srcs.length).toBeGreaterThan(0);
    v6 += fromText.srcs.filter((s) => s.includes(':')).length;
    expect(fromWords.srcs.every((s) => s === '')).toBe(true); // no strings made
    expect(fromWords.text).toBe(fromText.text);
  }
  expect(v6).toBeGreaterThan(10);
}
