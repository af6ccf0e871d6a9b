import * as fs from 'node:fs';
import { ByteWriter, digits, Literal, writeAllSync } from '../../model/byte-writer';
import { nsOf } from '../../model/time';
import type { StoredFlow } from '../flow-store';
import { noneCounted, noTimes, TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../../flows/tcp-health';

/**
 * Staged flows as a tab-separated file that DuckDB's CSV reader loads, during the ingest and at
 * commit, on its own threads. Hand-written because it is the ingest hot path for flows: appending
 * 40+ columns through the node-api data chunks cost about 5 µs per flow on the JavaScript thread;
 * bytes written into a reused buffer cost ~1.6 µs for the 90 columns a flow has now (~45 ms less
 * per 41 k flows than building each line as a string, when it had 60).
 * Fields follow FLOW_COLUMNS in schema.ts; NULL is \N; text with a tab, newline, quote or
 * backslash is quoted with "" escapes.
 */
const NEEDS_QUOTES = /[\t\n\r"\\]/;

/** A text field the slow way: quoted when it must be, any Unicode (names from hostile payloads). */
function quotedText(s: string): string {
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const TAB = 0x09;
/** The TCP health fields of a flow of another protocol: all NULL (each after a tab: they follow `fragments`). */
const TCP_NULLS = new Literal('\t\\N'.repeat(TCP_COUNT_FIELDS.length + TCP_TIME_FIELDS.length + 2));
/** The TCP counts of a flow that counted nothing, each after its tab. */
const TCP_ZERO_COUNTS = new Literal('\t0'.repeat(TCP_COUNT_FIELDS.length));
/** The TCP times of a flow without handshake or RTT sample: all NULL, each after its tab. */
const TCP_NO_TIMES = new Literal('\t\\N'.repeat(TCP_TIME_FIELDS.length));
const NEWLINE = 0x0a;
/** Bytes for every number and fixed word of a line: generous, checked once per flow. */
const FIXED_BOUND = 2048;
const textBound = (s: string | null): number => (s === null ? 2 : s.length * 6 + 2);

class TsvWriter extends ByteWriter {
  line(x: StoredFlow): void {
    const f = x.flow;
    const s = x.src;
    const d = x.dst;
    this.reserve(
      FIXED_BOUND + textBound(f.app) + textBound(f.app_source) + textBound(f.server_name) + textBound(f.state) + textBound(f.src) + textBound(f.dst) +
        textBound(s.country) + textBound(d.country) + textBound(s.asOrg) + textBound(d.asOrg) + textBound(f.alpn) + textBound(f.http_method) +
        textBound(f.dns_rcode) + textBound(f.ssh_banner) + textBound(f.tunnel),
    );
    this.count(f.id);
    this.count(f.ip_version);
    this.count(f.proto);
    this.text(f.app);
    this.text(f.app_source);
    this.text(f.server_name);
    this.text(f.state);
    this.num(f.vlan);
    this.text(f.src);
    this.text(f.dst);
    this.numText(s.num);
    this.numText(d.num);
    this.count(f.sport);
    this.count(f.dport);
    this.text(s.country);
    this.text(d.country);
    this.num(s.asn);
    this.num(d.asn);
    this.text(s.asOrg);
    this.text(d.asOrg);
    this.ascii(s.local ? 'true\t' : 'false\t');
    this.ascii(d.local ? 'true\t' : 'false\t');
    this.ns(f.first_sec, f.first_nsec);
    this.ns(f.last_sec, f.last_nsec);
    this.num((f.last_sec - f.first_sec) * 1000 + (f.last_nsec - f.first_nsec) / 1e6);
    this.count(f.src_pkts);
    this.count(f.src_bytes);
    this.count(f.dst_pkts);
    this.count(f.dst_bytes);
    this.count(f.src_ip_bytes);
    this.count(f.dst_ip_bytes);
    this.count(f.src_payload_bytes);
    this.count(f.dst_payload_bytes);
    this.text(f.alpn);
    this.text(f.http_method);
    this.text(f.dns_rcode);
    this.text(f.ssh_banner);
    this.count(f.src_tcp_flags);
    this.count(f.dst_tcp_flags);
    this.num(f.inner_vlan);
    this.text(f.tunnel);
    this.uint(f.fragments);
    const t = f.tcp;
    if (t === null) this.lit(TCP_NULLS);
    else {
      const counts = t.counts;
      if (noneCounted(counts)) this.lit(TCP_ZERO_COUNTS); // most flows: one copy
      else {
        for (let i = 0; i < counts.length; i++) {
          this.byte(TAB);
          this.uint(counts[i]);
        }
      }
      const times = t.times;
      if (noTimes(times)) this.lit(TCP_NO_TIMES);
      else {
        for (let i = 0; i < times.length; i++) {
          this.byte(TAB);
          if (Number.isNaN(times[i])) this.ascii('\\N');
          else this.milli(times[i]);
        }
      }
      this.byte(TAB);
      this.ascii(t.resetBy ?? '\\N');
      this.byte(TAB);
      this.ascii(t.resetAfterData === null ? '\\N' : t.resetAfterData ? 'true' : 'false');
    }
    this.byte(TAB);
    const bucket = f.bucket_ms ?? null;
    if (bucket === null) this.ascii('\\N');
    else this.decimal(bucket);
    this.byte(NEWLINE);
  }

  /** A text field and its tab: plain printable ASCII as is, anything else through quotedText(). */
  private text(s: string | null): void {
    if (s === null) {
      this.ascii('\\N\t');
      return;
    }
    if (!this.plain(s)) this.pos += this.buf.write(quotedText(s), this.pos, 'utf8');
    this.byte(TAB);
  }

  /** A field that is always a non-negative integer (ids, ports, counters, flags) and its tab. */
  private count(n: number): void {
    this.uint(n);
    this.byte(TAB);
  }

  /** A number field and its tab; NULL is \N. */
  private num(n: number | null): void {
    if (n === null) this.ascii('\\N');
    else this.decimal(n);
    this.byte(TAB);
  }

  /** A number already in decimal (an address's 128-bit number) and its tab; NULL is \N. */
  private numText(n: string | null): void {
    this.ascii(n ?? '\\N');
    this.byte(TAB);
  }

  /** Nanoseconds since the epoch (sec * 10^9 + nsec) and its tab, without BigInt. */
  private ns(sec: number, nsec: number): void {
    if (sec > 0) {
      this.uint(sec);
      this.pos = digits(this.buf, this.pos, nsec, 9);
    } else if (sec === 0) this.uint(nsec);
    else this.ascii(String(nsOf(sec, nsec)));
    this.byte(TAB);
  }
}

/** A staging file being written: rows go into a reused buffer, full buffers to the file. */
export class StagingFile<W extends ByteWriter> {
  private fd: number | null;
  private readonly writer: W;
  rows = 0;

  constructor(
    readonly path: string,
    writer: (sink: (bytes: Uint8Array) => void) => W,
  ) {
    const fd = fs.openSync(path, 'w', 0o600);
    this.fd = fd;
    this.writer = writer((bytes) => writeAllSync(fd, bytes));
  }

  protected open(): W {
    if (this.fd === null) throw new Error(`staging file ${this.path} already closed`);
    return this.writer;
  }

  /** Writes what is buffered and closes the file (DuckDB reads it next). */
  close(): void {
    if (this.fd === null) return;
    this.writer.flush();
    fs.closeSync(this.fd);
    this.fd = null;
  }

  remove(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    fs.rmSync(this.path, { force: true });
  }
}

export class FlowFile extends StagingFile<TsvWriter> {
  constructor(path: string) {
    super(path, (sink) => new TsvWriter(sink));
  }

  write(flows: readonly StoredFlow[]): void {
    const w = this.open();
    for (const f of flows) w.line(f);
    this.rows += flows.length;
  }
}
