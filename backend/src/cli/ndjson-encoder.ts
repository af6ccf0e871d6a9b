import type { FlowRecord } from '../model/flow';
import { ByteWriter, isPlainAscii, Literal, SecondText } from '../model/byte-writer';
import { isoNs } from '../model/time';
import { noneCounted, noTimes, resetIndex, TCP_COUNT_FIELDS, TCP_TIME_FIELDS } from '../flows/tcp-health';
import { ADDRESS_TEXT_MAX, writeAddress } from '../flows/address';
import type { FlowAddressWords } from '../flows/assembler';

/**
 * Writes flows as ndjson straight into a reused byte buffer: same keys, order and values as
 * JSON.stringify(publicFlow(f)) (a test checks that). Hand-written because building each line as
 * a JS string made output the largest allocator of `capsight flows` (about 2.5 KB of garbage per
 * flow); here a flow costs no allocation beyond its two address strings.
 */
export class NdjsonEncoder extends ByteWriter {
  private readonly firstSecond = new SecondText(K.first, true);
  private readonly lastSecond = new SecondText(K.last, true);
  /** `,"app":"dns","app_source":"payload"` and the like, by app and source. */
  private readonly apps = new PairLiterals(K.app, K.app_source);
  /** `,"dns_rcode":"NOERROR","ssh_banner":null` and the like, by rcode. */
  private readonly rcodes = new PairLiterals(K.dns_rcode, K.ssh_banner);

  /**
   * One flow's line. With `addresses` (the engine's words: run it with addressText false), src and
   * dst are spelled from them straight into the line; without, the record's text is copied.
   */
  flow(f: FlowRecord, addresses?: FlowAddressWords): void {
    this.reserve(
      FIXED_BOUND + 2 * ADDRESS_TEXT_MAX + f.src.length + f.dst.length + strBound(f.app) + strBound(f.app_source) + strBound(f.server_name) + strBound(f.state) +
        strBound(f.tunnel) + strBound(f.alpn) + strBound(f.http_method) + strBound(f.dns_rcode) + strBound(f.ssh_banner),
    );
    // Addresses are plain ASCII: the quotes around them travel with the keys.
    const proto = f.proto;
    if (proto === 6) this.lit(TCP_THEN_SRC);
    else if (proto === 17) this.lit(UDP_THEN_SRC);
    else {
      this.lit(K.proto);
      this.uint(proto);
      this.lit(SRC_OPEN);
    }
    if (addresses) this.pos = writeAddress(this.buf, this.pos, addresses[0], addresses[1], addresses[2], addresses[3], addresses[4]);
    else this.ascii(f.src);
    this.lit(SPORT_AFTER_SRC);
    this.uint(f.sport);
    this.lit(DST_OPEN);
    if (addresses) this.pos = writeAddress(this.buf, this.pos, addresses[0], addresses[5], addresses[6], addresses[7], addresses[8]);
    else this.ascii(f.dst);
    this.lit(DPORT_AFTER_DST);
    this.uint(f.dport);
    this.time(f.first_sec, f.first_nsec, this.firstSecond);
    this.time(f.last_sec, f.last_nsec, this.lastSecond);
    this.lit(K.src_pkts);
    this.uint(f.src_pkts);
    this.lit(K.src_bytes);
    this.uint(f.src_bytes);
    if (f.dst_pkts === 0 && f.dst_bytes === 0 && f.dst_ip_bytes === 0 && f.dst_payload_bytes === 0) {
      // Unanswered (a scan's probes, most of a capture's flows there): the zeros go with the keys.
      this.lit(NO_DST_THEN_SRC_IP);
      this.uint(f.src_ip_bytes);
      if (f.src_payload_bytes === 0) this.lit(NO_DST_IP_NO_PAYLOAD);
      else {
        this.lit(NO_DST_IP_THEN_SRC_PAYLOAD);
        this.uint(f.src_payload_bytes);
        this.lit(NO_DST_PAYLOAD);
      }
    } else {
      this.lit(K.dst_pkts);
      this.uint(f.dst_pkts);
      this.lit(K.dst_bytes);
      this.uint(f.dst_bytes);
      this.lit(K.src_ip_bytes);
      this.uint(f.src_ip_bytes);
      this.lit(K.dst_ip_bytes);
      this.uint(f.dst_ip_bytes);
      this.lit(K.src_payload_bytes);
      this.uint(f.src_payload_bytes);
      this.lit(K.dst_payload_bytes);
      this.uint(f.dst_payload_bytes);
    }
    // The usual runs of a line (no application; a known state; no VLAN or tunnel; no ALPN and
    // HTTP method; no DNS rcode or SSH banner; no TCP flags or fragments) in one copy each, keys
    // and values together: a copy costs ~20 ns, and a scan's line took ~26 of them before.
    const state = stateIndex(f.state);
    const noApp = f.app === null && f.app_source === null && f.server_name === null;
    const plain = f.vlan === null && f.inner_vlan === null && f.tunnel === null && f.tunnel_ip_version === null;
    const noAlpn = f.alpn === null && f.http_method === null;
    const noRcode = f.dns_rcode === null && f.ssh_banner === null;
    const v6 = f.ip_version === 4 ? 0 : 1;
    if (!noApp) {
      const known = this.apps.get(f.app, f.app_source);
      if (known !== undefined) this.lit(known);
      else {
        this.strField(K.app, KN.app, f.app);
        this.strField(K.app_source, KN.app_source, f.app_source);
      }
      this.strField(K.server_name, KN.server_name, f.server_name);
    }
    if (state >= 0 && plain && noAlpn) {
      // From the state to the rcode (or to the banner's start) in one copy: most lines.
      this.lit((noApp ? NO_APP_STATE_PLAIN : STATE_PLAIN)[((noRcode ? 0 : STATES.length) + state) * 2 + v6]);
    } else {
      if (noApp) this.lit(state >= 0 ? NO_APP_STATE[state] : NO_APP);
      if (state >= 0) {
        if (!noApp) this.lit(STATE[state]);
      } else this.strField(K.state, KN.state, f.state);
      if (plain && noAlpn) this.lit(noRcode ? PLAIN_BARE[v6] : PLAIN_NO_ALPN[v6]);
      else {
        if (plain) this.lit(PLAIN[v6]);
        else {
          this.uintField(K.vlan, KN.vlan, f.vlan);
          this.lit(K.ip_version);
          this.uint(f.ip_version);
          this.uintField(K.inner_vlan, KN.inner_vlan, f.inner_vlan);
          this.strField(K.tunnel, KN.tunnel, f.tunnel);
          this.uintField(K.tunnel_ip_version, KN.tunnel_ip_version, f.tunnel_ip_version);
        }
        if (noAlpn) this.lit(NO_ALPN_METHOD);
        else {
          this.strField(K.alpn, KN.alpn, f.alpn);
          this.strField(K.http_method, KN.http_method, f.http_method);
        }
        if (noRcode) this.lit(NO_RCODE_BANNER);
      }
    }
    if (!noRcode) {
      const known = f.ssh_banner === null ? this.rcodes.get(f.dns_rcode, null) : undefined;
      if (known !== undefined) this.lit(known);
      else {
        this.strField(K.dns_rcode, KN.dns_rcode, f.dns_rcode);
        this.strField(K.ssh_banner, KN.ssh_banner, f.ssh_banner);
      }
    }
    const t = f.tcp;
    const fragments = f.fragments;
    // A TCP flow with nothing to report (a scan's probes): the fragments and the rest of the line
    // in one copy (QUIET_TCP_END's index; -1 for any other flow).
    const quiet = t !== null && noneCounted(t.counts) && noTimes(t.times) ? resetIndex(t) : -1;
    if (f.src_tcp_flags === 0 && f.dst_tcp_flags === 0 && fragments === 0) {
      if (t === null) {
        this.lit(NO_FLAGS_END); // a UDP flow's line ends here
        return;
      }
      this.lit(NO_FLAGS);
      if (quiet >= 0) {
        this.lit(QUIET_TCP_END[quiet]);
        return;
      }
    } else {
      this.lit(K.src_tcp_flags);
      this.uint(f.src_tcp_flags);
      this.lit(K.dst_tcp_flags);
      this.uint(f.dst_tcp_flags);
      if (fragments === 0) {
        if (quiet >= 0) {
          this.lit(NO_FRAGMENTS_QUIET_END[quiet]);
          return;
        }
        this.lit(NO_FRAGMENTS);
      } else {
        this.lit(K.fragments);
        this.uint(fragments);
        if (quiet >= 0) {
          this.lit(QUIET_TCP_END[quiet]);
          return;
        }
      }
    }
    if (t !== null) {
      const counts = t.counts;
      const times = t.times;
      if (noneCounted(counts)) this.lit(TCP_ZERO_COUNTS); // most flows: one copy
      else {
        for (let i = 0; i < counts.length; i++) {
          this.lit(TCP_COUNT_KEYS[i]);
          this.uint(counts[i]);
        }
      }
      if (noTimes(times)) this.lit(TCP_NO_TIMES);
      else {
        for (let i = 0; i < times.length; i++) {
          const x = times[i];
          if (Number.isNaN(x)) this.lit(TCP_TIME_NULLS[i]);
          else {
            this.lit(TCP_TIME_KEYS[i]);
            this.milli(x);
          }
        }
      }
      this.lit(RESET_BY_AFTER_DATA_END[resetIndex(t)]);
      return;
    }
    this.lit(K.end);
  }

  /** A field that may be null: a null one is written together with its key, in one copy. */
  private uintField(key: Literal, keyNull: Literal, n: number | null): void {
    if (n === null) this.lit(keyNull);
    else {
      this.lit(key);
      this.uint(n);
    }
  }

  private strField(key: Literal, keyNull: Literal, s: string | null): void {
    if (s === null) this.lit(keyNull);
    else {
      this.lit(key);
      this.str(s);
    }
  }

  /** A string in quotes: plain ASCII (nearly every name) as it is, anything else spelled by JSON.stringify (escapes, non-ASCII). */
  private str(s: string): void {
    const start = this.pos;
    this.byte(0x22);
    if (this.plain(s)) this.byte(0x22);
    else this.pos = start + this.buf.write(JSON.stringify(s), start, 'utf8');
  }

  /** A time field: see ByteWriter.isoTime; years outside 0..9999 as a JSON string of isoNs(). */
  private time(sec: number, nsec: number, second: SecondText): void {
    if (this.isoTime(sec, nsec, second)) return;
    this.lit(second.key);
    this.str(isoNs(sec, nsec));
  }
}

/**
 * The text of two neighbouring string fields, keys and values, for values met before: an engine's
 * apps, sources and rcodes are a few dozen names, so each pair is one copy after a map lookup
 * instead of two keys and two quoted values (~60 ns). Only plain ASCII values, at most LIMIT pairs.
 */
class PairLiterals {
  private readonly byFirst = new Map<string | null, Map<string | null, Literal>>();
  private size = 0;
  private lastFirst: string | null = null;
  private lastSecond: string | null = null;
  private last: Literal | undefined = undefined;

  constructor(
    private readonly firstKey: Literal,
    private readonly secondKey: Literal,
  ) {}

  get(first: string | null, second: string | null): Literal | undefined {
    // Neighbouring flows mostly ask for the pair asked for last (a resolver's "dns"/"payload" and
    // NOERROR): two compares instead of two map lookups.
    if (first === this.lastFirst && second === this.lastSecond && this.last !== undefined) return this.last;
    const text = this.find(first, second);
    this.lastFirst = first;
    this.lastSecond = second;
    this.last = text;
    return text;
  }

  private find(first: string | null, second: string | null): Literal | undefined {
    let bySecond = this.byFirst.get(first);
    const known = bySecond?.get(second);
    if (known !== undefined || this.size >= PairLiterals.LIMIT) return known;
    if ((first !== null && !isPlainAscii(first)) || (second !== null && !isPlainAscii(second))) return undefined;
    const text = (v: string | null): string => (v === null ? 'null' : `"${v}"`);
    const made = Literal.join([this.firstKey, enc(text(first)), this.secondKey, enc(text(second))]);
    if (bySecond === undefined) this.byFirst.set(first, (bySecond = new Map()));
    bySecond.set(second, made);
    this.size++;
    return made;
  }

  private static readonly LIMIT = 1024;
}

const enc = (s: string): Literal => new Literal(s);
const key = (name: string, first = false): Literal => enc(`${first ? '{' : ','}"${name}":`);
/**
 * Each key's prefix: `{"proto":`, `,"src":`, ... Written out as one object literal: an object
 * filled key by key in a loop turns into a dictionary past a dozen keys, and every `K.x` below
 * became a hash lookup (32 per flow).
 */
const K = {
  proto: key('proto', true),
  first: key('first'),
  last: key('last'),
  src_pkts: key('src_pkts'),
  src_bytes: key('src_bytes'),
  dst_pkts: key('dst_pkts'),
  dst_bytes: key('dst_bytes'),
  src_ip_bytes: key('src_ip_bytes'),
  dst_ip_bytes: key('dst_ip_bytes'),
  src_payload_bytes: key('src_payload_bytes'),
  dst_payload_bytes: key('dst_payload_bytes'),
  app: key('app'),
  app_source: key('app_source'),
  server_name: key('server_name'),
  state: key('state'),
  vlan: key('vlan'),
  ip_version: key('ip_version'),
  inner_vlan: key('inner_vlan'),
  tunnel: key('tunnel'),
  tunnel_ip_version: key('tunnel_ip_version'),
  alpn: key('alpn'),
  http_method: key('http_method'),
  dns_rcode: key('dns_rcode'),
  ssh_banner: key('ssh_banner'),
  src_tcp_flags: key('src_tcp_flags'),
  dst_tcp_flags: key('dst_tcp_flags'),
  fragments: key('fragments'),
  end: enc('}\n'),
};
/** The same keys with a null value, for the fields that may be null. */
const keyNull = (name: string): Literal => enc(`,"${name}":null`);
const KN = {
  app: keyNull('app'),
  app_source: keyNull('app_source'),
  server_name: keyNull('server_name'),
  state: keyNull('state'),
  vlan: keyNull('vlan'),
  inner_vlan: keyNull('inner_vlan'),
  tunnel: keyNull('tunnel'),
  tunnel_ip_version: keyNull('tunnel_ip_version'),
  alpn: keyNull('alpn'),
  http_method: keyNull('http_method'),
  dns_rcode: keyNull('dns_rcode'),
  ssh_banner: keyNull('ssh_banner'),
};

/** TCP health keys (see flows/tcp-health.ts; TCP flows only), and the usual all-zero / all-unknown runs in one copy. */
const TCP_COUNT_KEYS = TCP_COUNT_FIELDS.map((n) => key(n));
const TCP_TIME_KEYS = TCP_TIME_FIELDS.map((n) => key(n));
const TCP_TIME_NULLS = TCP_TIME_FIELDS.map((n) => keyNull(n));
const TCP_ZERO_COUNTS = enc(TCP_COUNT_FIELDS.map((n) => `,"${n}":0`).join(''));
const TCP_NO_TIMES = enc(TCP_TIME_FIELDS.map((n) => `,"${n}":null`).join(''));
/** `reset_by` none, src, dst, both; `reset_after_data` null, true, false. */
const RESET_BY = [keyNull('reset_by'), enc(',"reset_by":"src"'), enc(',"reset_by":"dst"'), enc(',"reset_by":"both"')];
const AFTER_DATA = [keyNull('reset_after_data'), enc(',"reset_after_data":true'), enc(',"reset_after_data":false')];
/** The end of a TCP line, by RESET_BY x AFTER_DATA (resetIndex's order). */
const RESET_BY_AFTER_DATA_END = RESET_BY.flatMap((by) => AFTER_DATA.map((after) => Literal.join([by, after, K.end])));
/** The end of a TCP line without counts or times, by RESET_BY x AFTER_DATA; the same after `,"fragments":0`. */
const QUIET_TCP_END = RESET_BY_AFTER_DATA_END.map((end) => Literal.join([TCP_ZERO_COUNTS, TCP_NO_TIMES, end]));
const NO_APP = enc(',"app":null,"app_source":null,"server_name":null');
/** The states the engine gives (flows/tcp-state.ts), most frequent first; `,"state":"S0"` and the like, alone and after NO_APP. */
const STATES = ['S0', 'SF', 'REJ', 'S1', 'RSTO', 'RSTR', 'OTH', 'S2', 'S3', 'RSTOS0', 'SH', 'SHR', 'RSTRH'];
const STATE = STATES.map((st) => enc(`,"state":"${st}"`));
const NO_APP_STATE = STATE.map((st) => Literal.join([NO_APP, st]));
/** Index of a state in STATES, -1 for any other text. (Compares of the engine's interned strings: no hashing.) */
function stateIndex(state: string | null): number {
  for (let i = 0; i < STATES.length; i++) if (state === STATES[i]) return i;
  return -1;
}
const NO_RCODE_BANNER = enc(',"dns_rcode":null,"ssh_banner":null');

/** No VLAN or tunnel, by IP version 4 and 6; the same with no ALPN and HTTP method; and with no DNS rcode and SSH banner either. */
const PLAIN = [enc(',"vlan":null,"ip_version":4,"inner_vlan":null,"tunnel":null,"tunnel_ip_version":null'), enc(',"vlan":null,"ip_version":6,"inner_vlan":null,"tunnel":null,"tunnel_ip_version":null')];
const NO_ALPN_METHOD = enc(',"alpn":null,"http_method":null');
const PLAIN_NO_ALPN = PLAIN.map((p) => Literal.join([p, NO_ALPN_METHOD]));
const PLAIN_BARE = PLAIN_NO_ALPN.map((p) => Literal.join([p, NO_RCODE_BANNER]));
/**
 * A known state then PLAIN_BARE or PLAIN_NO_ALPN, with and without NO_APP before: index
 * ((rcode or banner present ? STATES.length : 0) + state) * 2 + (IPv6 ? 1 : 0).
 */
const STATE_PLAIN = [PLAIN_BARE, PLAIN_NO_ALPN].flatMap((tails) => STATE.flatMap((st) => tails.map((tail) => Literal.join([st, tail]))));
const NO_APP_STATE_PLAIN = STATE_PLAIN.map((l) => Literal.join([NO_APP, l]));
const NO_FLAGS = enc(',"src_tcp_flags":0,"dst_tcp_flags":0,"fragments":0');
const NO_FLAGS_END = Literal.join([NO_FLAGS, K.end]);
const NO_FRAGMENTS = enc(',"fragments":0');
const NO_FRAGMENTS_QUIET_END = QUIET_TCP_END.map((end) => Literal.join([NO_FRAGMENTS, end]));
/** The counters of a flow without packets back: the zeros with their keys, the sender's values between. */
const NO_DST_THEN_SRC_IP = enc(',"dst_pkts":0,"dst_bytes":0,"src_ip_bytes":');
const NO_DST_IP_THEN_SRC_PAYLOAD = enc(',"dst_ip_bytes":0,"src_payload_bytes":');
const NO_DST_PAYLOAD = enc(',"dst_payload_bytes":0');
const NO_DST_IP_NO_PAYLOAD = Literal.join([NO_DST_IP_THEN_SRC_PAYLOAD, enc('0'), NO_DST_PAYLOAD]);
/** An address's key with the opening quote, and the next key with the closing quote before it. */
const SRC_OPEN = enc(',"src":"');
const SPORT_AFTER_SRC = enc('","sport":');
const DST_OPEN = enc(',"dst":"');
const DPORT_AFTER_DST = enc('","dport":');
/** The line's start to the source address's opening quote, for TCP and UDP. */
const TCP_THEN_SRC = Literal.join([K.proto, enc('6'), SRC_OPEN]);
const UDP_THEN_SRC = Literal.join([K.proto, enc('17'), SRC_OPEN]);

/** Bytes for every key, number and fixed string of a line: generous, checked once per flow. */
const FIXED_BOUND = 2048;
const strBound = (s: string | null): number => (s === null ? 4 : s.length * 6 + 2);
