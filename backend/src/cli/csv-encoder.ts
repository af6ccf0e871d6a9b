import type { FlowRecord } from '../model/flow';
import { ByteWriter, Literal, SecondText } from '../model/byte-writer';
import { isoNs } from '../model/time';
import { noneCounted, noTimes, resetIndex, TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../flows/tcp-health';
import { ADDRESS_TEXT_MAX, writeAddress } from '../flows/address';
import type { FlowAddressWords } from '../flows/assembler';
import { CSV_COLUMNS, csvCell } from './format';

/**
 * Writes flows as CSV rows straight into a reused byte buffer: the same bytes as
 * csvRow(f) + "\n" (a test checks that). Hand-written for the same reason as NdjsonEncoder: a row
 * built as strings (an object per flow, a cell string per column, a join) cost ~5 µs, twice the
 * engine's own work per flow on a scan's capture.
 */
export class CsvEncoder extends ByteWriter {
  private readonly firstSecond = new SecondText(COMMA, false);
  private readonly lastSecond = new SecondText(COMMA, false);

  /** The header row (column names, see CSV_COLUMNS). */
  header(): void {
    this.reserve(HEADER.length);
    this.lit(HEADER);
  }

  /**
   * One flow's row. With `addresses` (the engine's words: run it with addressText false), src and
   * dst are spelled from them straight into the row; without, the record's text is copied.
   */
  row(f: FlowRecord, addresses?: FlowAddressWords): void {
    this.reserve(
      FIXED_BOUND + 2 * ADDRESS_TEXT_MAX + f.src.length + f.dst.length + strBound(f.app) + strBound(f.app_source) + strBound(f.server_name) + strBound(f.state) +
        strBound(f.tunnel) + strBound(f.alpn) + strBound(f.http_method) + strBound(f.dns_rcode) + strBound(f.ssh_banner),
    );
    this.uint(f.proto);
    this.byte(COMMA_CODE);
    // Addresses are digits, dots, colons and hex letters: nothing to quote.
    if (addresses) this.pos = writeAddress(this.buf, this.pos, addresses[0], addresses[1], addresses[2], addresses[3], addresses[4]);
    else this.ascii(f.src);
    this.number(f.sport);
    this.byte(COMMA_CODE);
    if (addresses) this.pos = writeAddress(this.buf, this.pos, addresses[0], addresses[5], addresses[6], addresses[7], addresses[8]);
    else this.ascii(f.dst);
    this.number(f.dport);
    this.time(f.first_sec, f.first_nsec, this.firstSecond);
    this.time(f.last_sec, f.last_nsec, this.lastSecond);
    this.number(f.src_pkts);
    this.number(f.src_bytes);
    this.number(f.dst_pkts);
    this.number(f.dst_bytes);
    this.number(f.src_ip_bytes);
    this.number(f.dst_ip_bytes);
    this.number(f.src_payload_bytes);
    this.number(f.dst_payload_bytes);
    this.cell(f.app);
    this.cell(f.app_source);
    this.cell(f.server_name);
    this.cell(f.state);
    this.optionalNumber(f.vlan);
    this.number(f.ip_version);
    this.optionalNumber(f.inner_vlan);
    this.cell(f.tunnel);
    this.optionalNumber(f.tunnel_ip_version);
    this.cell(f.alpn);
    this.cell(f.http_method);
    this.cell(f.dns_rcode);
    this.cell(f.ssh_banner);
    this.number(f.src_tcp_flags);
    this.number(f.dst_tcp_flags);
    this.number(f.fragments);
    const t = f.tcp;
    if (t === null) {
      this.lit(NOT_TCP_END); // the TCP health columns empty
      return;
    }
    const counts = t.counts;
    const times = t.times;
    const resets = resetIndex(t);
    const zeroCounts = noneCounted(counts);
    const unknownTimes = noTimes(times);
    if (zeroCounts && unknownTimes) {
      this.lit(QUIET_TCP_END[resets]); // a scan's probes: the rest of the row in one copy
      return;
    }
    if (zeroCounts) this.lit(ZERO_COUNTS);
    else for (let i = 0; i < counts.length; i++) this.number(counts[i]);
    if (unknownTimes) this.lit(NO_TIMES);
    else {
      for (let i = 0; i < times.length; i++) {
        this.byte(COMMA_CODE);
        if (!Number.isNaN(times[i])) this.milli(times[i]);
      }
    }
    this.lit(RESET_END[resets]);
  }

  /** `,` and a non-negative integer. */
  private number(n: number): void {
    this.byte(COMMA_CODE);
    this.uint(n);
  }

  /** `,` and a non-negative integer, or nothing for null. */
  private optionalNumber(n: number | null): void {
    this.byte(COMMA_CODE);
    if (n !== null) this.uint(n);
  }

  /** `,` and a text cell: as it is when it needs no quotes (nearly every name), else as csvCell() spells it. */
  private cell(s: string | null): void {
    this.byte(COMMA_CODE);
    if (s === null) return;
    const b = this.buf;
    const start = this.pos;
    let p = start;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === COMMA_CODE) {
        this.pos = start + b.write(csvCell(s), start, 'utf8');
        return;
      }
      b[p++] = c;
    }
    this.pos = p;
  }

  /** `,` and the time; years outside 0..9999 as isoNs() spells them. */
  private time(sec: number, nsec: number, second: SecondText): void {
    if (!this.isoTime(sec, nsec, second)) this.cell(isoNs(sec, nsec));
  }
}

const COMMA_CODE = 0x2c;
const COMMA = new Literal(',');
const HEADER = new Literal(CSV_COLUMNS.join(',') + '\n');
const ZERO_COUNTS = new Literal(',0'.repeat(TCP_COUNT_FIELDS.length));
const NO_TIMES = new Literal(','.repeat(TCP_TIME_FIELDS.length));
/** reset_by (none, src, dst, both) by reset_after_data (none, true, false), and the end of the row (resetIndex's order). */
const RESET_END = ['', 'src', 'dst', 'both'].flatMap((by) => ['', 'true', 'false'].map((after) => new Literal(`,${by},${after}\n`)));
const QUIET_TCP_END = RESET_END.map((end) => Literal.join([ZERO_COUNTS, NO_TIMES, end]));
/** A flow of another protocol: its TCP health columns (counts, times, reset_by, reset_after_data) empty. */
const NOT_TCP_END = new Literal(','.repeat(TCP_COUNT_FIELDS.length + TCP_TIME_FIELDS.length + 2) + '\n');

/** Bytes for every number, comma and fixed text of a row: generous, checked once per flow. */
const FIXED_BOUND = 1024;
/** A text cell's worst case: every UTF-16 unit three UTF-8 bytes, or a doubled quote, plus the quotes. */
const strBound = (s: string | null): number => (s === null ? 0 : s.length * 3 + 2);
