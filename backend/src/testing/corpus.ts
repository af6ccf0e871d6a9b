import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The shared capture corpus (../shared/captures beside the repository): 278 real captures from
 * public test suites with tshark's outputs in oracle/. Tests skip with a visible notice where it
 * is absent; its files are never copied into the project.
 */
export const CORPUS_DIR = path.resolve(__dirname, '../../../../shared/captures');

export function corpusAvailable(): boolean {
  return fs.existsSync(path.join(CORPUS_DIR, 'MANIFEST.tsv'));
}

export interface CorpusEntry {
  /** Path relative to the corpus root, e.g. "zeek/http__get.pcap". */
  file: string;
  abs: string;
  /** tshark's exact per-conversation sums, when present. */
  oraclePath: string;
  packets: string;
  /** The manifest's format column, e.g. "pcap LE us", "pcapng LE 2 IDBs", "pcap LE us CUT". */
  format: string;
  /** capinfos's link type column, e.g. "ether (1)"; "mime (-)" where capinfos read the file as another format. */
  linkType: string;
  exercises: string;
}

export function corpusEntries(): CorpusEntry[] {
  const lines = fs.readFileSync(path.join(CORPUS_DIR, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const header = lines[0].split('\t');
  const col = (name: string): number => header.indexOf(name);
  return lines.slice(1).map((line) => {
    const f = line.split('\t');
    const file = f[col('file')];
    const dir = path.dirname(file);
    return {
      file,
      abs: path.join(CORPUS_DIR, file),
      oraclePath: path.join(CORPUS_DIR, dir, 'oracle', `${path.basename(file)}.convs.json`),
      packets: f[col('packets')],
      format: f[col('format')] ?? '',
      linkType: f[col('link_type')],
      exercises: f[col('exercises')],
    };
  });
}

export function notice(what: string): void {
  process.stderr.write(`\n*** SKIPPED: ${what}: ${CORPUS_DIR} not found (the shared capture corpus sits beside the clone in CI) ***\n\n`);
}
