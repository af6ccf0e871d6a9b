import type { PacketHandler } from '../capture/types';
import { LINKTYPE_UNDEFINED_INTERFACE } from '../capture/types';
import { PacketDecoder } from '../decode/decoder';
import { Category, TUNNEL_NAMES } from '../decode/packet-view';
import { Problem, PROBLEM_NAMES } from '../decode/problems';
import type { BucketBatch, FlowRecord } from '../model/flow';
import { formatAddress } from './address';
import { AppIdentifier } from './apps/identify';
import { appByPort } from './apps/ports';
import { BucketWriter, bucketClock, type BucketClock } from './buckets';
import { grown, sortByIds } from './columns';
import { FlowTable, KEY_WORDS } from './flow-table';
import { ACK, connectionState, FIN, RST, SYN } from './tcp-state';
import { F, TCP_COUNT_FIELDS, TcpHealth } from './tcp-health';
import { TrafficStats } from './stats';

export interface AssemblerOptions {
  /** Idle timeout in nanoseconds of packet time (default 120 s). */
  idleTimeoutNs?: number;
  /** Bucket width in nanoseconds (default 1 s). */
  bucketNs?: number;
  /** Attribute non-first IP fragments to their flow (default true). */
  attributeFragments?: boolean;
  /** Read payloads to name applications (default true); off, apps come from ports only. */
  identifyApps?: boolean;
  /** Receives every finished flow, and its addresses as words (see FlowAddressWords). */
  onFlow: (flow: FlowRecord, addresses: FlowAddressWords) => void;
  /**
   * Whether records carry src and dst as text (default true). False leaves them '' and the words
   * passed beside each record name them: for a consumer that only copies the text into bytes (the
   * CLI's ndjson writer spells it from the words), making two strings per flow was its largest cost
   * after the writer itself (docs/benchmark-history.md, fifteenth session).
   */
  addressText?: boolean;
  /** Receives per-flow, per-bucket counters in batches (omit when not needed). */
  onBuckets?: (batch: BucketBatch) => void;
}

/**
 * A flow's addresses as the flow table holds them: [IP version, source's four words, destination's
 * four words] (an IPv4 address is the fourth word); formatAddress/writeAddress spell them. One array,
 * rewritten for each flow: valid during the onFlow call only.
 */
export type FlowAddressWords = Uint32Array;

/**
 * A counter read from a Float64Array, as an int32 when it is one: stored that way in the record
 * it is a small integer, not a boxed number allocated per field per flow.
 */
function small(x: number): number {
  const i = x | 0;
  return i === x ? i : x;
}

/** Counter layout per slot: [pkts, wire bytes, IP bytes, payload bytes] for initiator, then responder. */
const CN = 8;
/** Running bucket per slot: [pkts, wire bytes, retransmissions] for initiator, then responder. */
const BK = 6;
/** Where a TCP health record's counts hold the retransmitted packets (what bucket rows count). */
const SRC_RETRANS = TCP_COUNT_FIELDS.indexOf('src_retrans');
const DST_RETRANS = TCP_COUNT_FIELDS.indexOf('dst_retrans');
/**
 * Room for 32k live flows from the start (~8 MB, mostly untouched zero pages until used): each
 * doubling copies every column, and a busy capture went through four of them (-10 ms on 1 GB).
 */
const INITIAL_CAPACITY = 32768;

/**
 * Packets in, bidirectional flows out. Implements PacketHandler so a capture reader can drive it
 * directly. Per-flow state lives in typed arrays indexed by the flow table's slot; the per-packet
 * path allocates nothing (strings are made once per flow, at emission).
 */
export class FlowAssembler implements PacketHandler {
  readonly stats = new TrafficStats();
  private readonly decoder: PacketDecoder;
  private readonly table: FlowTable;
  private readonly apps = new AppIdentifier();
  private readonly tcp = new TcpHealth();
  private readonly buckets: BucketWriter;
  private readonly clock: BucketClock;
  private readonly idleSec: number;
  private readonly idleNs: number;
  private readonly sweepEverySec: number;
  private nextSweepSec = -Infinity;
  private nextId = 0;
  /** Flows end because the capture ended (not silent past the timeout): their connections are not parked. */
  private atCaptureEnd = false;
  /** Flow id of the packet last handled, -1 when it belonged to no flow (ARP, undecodable, ...): the packet archive's index. */
  lastFlowId = -1;
  private readonly onFlow: (flow: FlowRecord, addresses: FlowAddressWords) => void;
  private readonly addressText: boolean;
  private readonly addresses: FlowAddressWords = new Uint32Array(9);
  private readonly identifyApps: boolean;
  private readonly keepsBuckets: boolean;

  // Per-slot columns (grown together with the table).
  private cnt = new Float64Array(0);
  private bkt = new Float64Array(0);
  private curBucket = new Float64Array(0);
  /** Whether the slot's flow has handed out a bucket row yet (1) or not (0). */
  private rowsOut = new Uint8Array(0);
  private firstSec = new Float64Array(0);
  private lastSec = new Float64Array(0);
  private firstNs = new Uint32Array(0);
  private lastNs = new Uint32Array(0);
  private ids = new Float64Array(0);
  private frags = new Float64Array(0);
  private initIsA = new Uint8Array(0);
  private flagsInit = new Uint8Array(0);
  private flagsResp = new Uint8Array(0);
  private respSynAck = new Uint8Array(0);
  private tunnel = new Uint8Array(0);
  private tunnelVer = new Uint8Array(0);

  constructor(options: AssemblerOptions) {
    this.idleNs = options.idleTimeoutNs ?? 120_000_000_000;
    this.idleSec = this.idleNs / 1e9;
    this.sweepEverySec = Math.max(1, this.idleSec / 4);
    this.clock = bucketClock(options.bucketNs ?? 1_000_000_000);
    this.buckets = new BucketWriter(this.clock, options.onBuckets ?? null);
    this.decoder = new PacketDecoder({ attributeFragments: options.attributeFragments });
    this.onFlow = options.onFlow;
    this.addressText = options.addressText ?? true;
    this.identifyApps = options.identifyApps ?? true;
    this.keepsBuckets = options.onBuckets !== undefined;
    this.table = new FlowTable(INITIAL_CAPACITY, (cap) => this.grow(cap));
  }

  /** Live flows (for memory checks and progress). */
  get liveFlows(): number {
    return this.table.size;
  }

  private grow(cap: number): void {
    this.cnt = grown(this.cnt, cap * CN);
    if (this.keepsBuckets) {
      this.bkt = grown(this.bkt, cap * BK);
      this.curBucket = grown(this.curBucket, cap);
      this.rowsOut = grown(this.rowsOut, cap);
    }
    this.firstSec = grown(this.firstSec, cap);
    this.lastSec = grown(this.lastSec, cap);
    this.firstNs = grown(this.firstNs, cap);
    this.lastNs = grown(this.lastNs, cap);
    this.ids = grown(this.ids, cap);
    this.frags = grown(this.frags, cap);
    this.initIsA = grown(this.initIsA, cap);
    this.flagsInit = grown(this.flagsInit, cap);
    this.flagsResp = grown(this.flagsResp, cap);
    this.respSynAck = grown(this.respSynAck, cap);
    this.tunnel = grown(this.tunnel, cap);
    this.tunnelVer = grown(this.tunnelVer, cap);
    this.apps.grow(cap);
    this.tcp.grow(cap);
  }

  /*
   * The per-packet path. An idle or restarted flow goes through begin(), the call new flows make,
   * rather than a branch of its own: the optimizing compiler turns code that has not run yet into
   * a deoptimization, and that branch first ran after the path was compiled, sending the whole
   * path (decoder inlined) back to slower tiers for ~100k packets.
   */
  packet(data: Uint8Array, off: number, capLen: number, origLen: number, linkType: number, time: Float64Array): void {
    const tsSec = time[0];
    const tsNsec = time[1];
    const stats = this.stats;
    stats.packet(origLen, time, linkType);
    if (tsSec >= this.nextSweepSec) this.sweep(time);
    const dec = this.decoder;
    const undefinedInterface = linkType === LINKTYPE_UNDEFINED_INTERFACE;
    const cat = undefinedInterface ? Category.UnknownLink : dec.decode(data, off, capLen, origLen, linkType);
    const v = dec.view;
    if (undefinedInterface) stats.problem(Problem.UndefinedInterface);
    else if (v.problem !== 0) stats.problem(v.problem);
    if (cat !== Category.Flow) {
      stats.other(cat, v.etherType, origLen);
      this.lastFlowId = -1;
      return;
    }
    stats.ip(v.ipVersion, v.proto, origLen);

    const table = this.table;
    table.setKey(v);
    let slot = table.find();
    const flags = v.tcpFlags;
    const isTcp = v.proto === 6;
    const senderIsA = table.senderIsA;
    const lastSec = this.lastSec;
    const lastNs = this.lastNs;
    const firstSec = this.firstSec;
    const firstNs = this.firstNs;
    const known = slot >= 0;
    const ls = known ? lastSec[slot] : 0;
    const ln = known ? lastNs[slot] : 0;
    const fi = known ? this.flagsInit[slot] : 0;
    const fr = known ? this.flagsResp[slot] : 0;
    // A SYN on a connection that was reset or closed both ways starts a new one.
    const restart = isTcp && (flags & (SYN | ACK)) === SYN && (((fi | fr) & RST) | (fi & fr & FIN)) !== 0;
    if (!known || (tsSec - ls) * 1e9 + (tsNsec - ln) > this.idleNs || restart) {
      slot = this.begin(slot, senderIsA, time);
    } else {
      if (tsSec > ls || (tsSec === ls && tsNsec > ln)) {
        lastSec[slot] = tsSec;
        lastNs[slot] = tsNsec;
      } else {
        // Not after the last packet (same timestamp, or reordered): maybe before the first.
        const fs = firstSec[slot];
        const fn = firstNs[slot];
        // Both compares run every time: with the second behind the first, it first ran after the
        // optimizing compiler had built this function without it, which was then built again.
        const secondEarlier = tsSec < fs;
        const nanoEarlier = tsNsec < fn;
        const earlier = secondEarlier || (tsSec === fs && nanoEarlier);
        firstSec[slot] = earlier ? tsSec : fs;
        firstNs[slot] = earlier ? tsNsec : fn;
      }
    }
    this.lastFlowId = this.ids[slot];
    const fromInit = senderIsA === (this.initIsA[slot] === 1);
    const c = slot * CN + (fromInit ? 0 : 4);
    const cnt = this.cnt;
    cnt[c] += 1;
    cnt[c + 1] += origLen;
    cnt[c + 2] += v.ipBytes;
    cnt[c + 3] += v.payloadBytes;
    if (v.fragment) this.frags[slot] += 1;

    // Time buckets (when someone takes them): flush the flow's running bucket when the packet
    // falls into another one. (Bucket indices stay in local variables and typed arrays: no heap
    // numbers per packet.)
    if (this.keepsBuckets) {
      const clock = this.clock;
      const bi = clock.wholeSec !== 0 ? Math.floor(tsSec / clock.wholeSec) : tsSec * clock.perSec + Math.floor(tsNsec / clock.widthNs);
      if (bi !== this.curBucket[slot]) {
        this.flushBucket(slot);
        this.curBucket[slot] = bi;
      }
      const bk = slot * BK + (fromInit ? 0 : 3);
      this.bkt[bk] += 1;
      this.bkt[bk + 1] += origLen;
    }

    if (isTcp) {
      if (this.tcp.packet(slot, fromInit, v, tsSec, tsNsec) & F.Retrans && this.keepsBuckets) this.bkt[slot * BK + (fromInit ? 2 : 5)] += 1;
      if (fromInit) this.flagsInit[slot] |= flags;
      else {
        this.flagsResp[slot] |= flags;
        if ((flags & (SYN | ACK)) === (SYN | ACK)) this.respSynAck[slot] = 1;
      }
    }
    if (v.payloadCap > 0 && this.identifyApps) this.apps.inspect(slot, fromInit, v, data);
  }

  /**
   * A tagged packet without a flow of its own: the other half of a TCP connection whose directions
   * travel on different VLANs (a router between VLANs, captured on a trunk) joins the flow its SYN
   * started, when that flow has heard nothing from this side yet and is not idle; its later
   * packets on this VLAN follow (an alias in the table). The same packets captured twice on two
   * VLANs (before and after a router) stay two flows: there each side has spoken in both. Only
   * flows that began with a SYN are candidates (the connections whose missing half shows): listing
   * and looking up every tagged flow cost the DNS-heavy mix 3 %.
   */
  private acrossVlans(sec: number, ns: number): number {
    const table = this.table;
    const alias = table.findAlias();
    if (alias >= 0) return this.joins(alias, sec, ns) ? alias : -1;
    for (let peer = table.peerOnOtherVlan(-1); peer >= 0; peer = table.peerOnOtherVlan(peer)) {
      const fromInit = table.senderIsA === (this.initIsA[peer] === 1);
      if (this.cnt[peer * CN + (fromInit ? 0 : 4)] !== 0 || !this.joins(peer, sec, ns)) continue;
      table.alias(peer);
      return peer;
    }
    return -1;
  }

  /** Whether a packet at (sec, ns) may join the flow in `slot` (not idle by then); if so, its last time moves. */
  private joins(slot: number, sec: number, ns: number): boolean {
    const ls = this.lastSec[slot];
    const ln = this.lastNs[slot];
    if ((sec - ls) * 1e9 + (ns - ln) > this.idleNs) return false;
    if (sec > ls || (sec === ls && ns > ln)) {
      this.lastSec[slot] = sec;
      this.lastNs[slot] = ns;
    }
    return true;
  }

  /** A new flow in a new slot for the packet's key; an idle or closed flow there (slot >= 0) ends first. */
  private begin(slot: number, senderIsA: boolean, time: Float64Array): number {
    const table = this.table;
    // Only TCP flows are listed for joining, so only a TCP packet looks (UDP-heavy mixes pay nothing).
    if (slot < 0 && this.decoder.view.proto === 6 && table.isTagged()) {
      const peer = this.acrossVlans(time[0], time[1]);
      if (peer >= 0) return peer;
    }
    if (slot >= 0) {
      this.emit(slot);
      table.remove(slot);
      table.find(); // the key is unchanged; remove() moved index entries, so insert() needs a new probe
    }
    const fresh = table.insert();
    this.start(fresh, senderIsA, time);
    return fresh;
  }

  private start(slot: number, senderIsA: boolean, time: Float64Array): void {
    const v = this.decoder.view;
    const sec = time[0];
    const ns = time[1];
    // Initiator rule (see model/flow.ts).
    let senderInitiates: boolean;
    if (v.proto === 6) {
      const f = v.tcpFlags & (SYN | ACK);
      if (f === SYN) {
        senderInitiates = true;
        if (this.table.isTagged()) this.table.listTagged(slot); // its reply may come on another VLAN (acrossVlans)
      } else if (f === (SYN | ACK)) senderInitiates = false;
      else {
        // A connection that went silent past the idle timeout keeps its initiator.
        const parked = this.tcp.resumable(this.table.key, senderIsA, v);
        senderInitiates = parked === -1 ? v.sport >= v.dport : (parked === 1) === senderIsA;
      }
    } else {
      senderInitiates = !(v.sport < 1024 && v.dport >= 1024);
    }
    this.initIsA[slot] = senderInitiates === senderIsA ? 1 : 0;
    this.ids[slot] = this.nextId++;
    this.firstSec[slot] = sec;
    this.lastSec[slot] = sec;
    this.firstNs[slot] = ns;
    this.lastNs[slot] = ns;
    // (Element stores: TypedArray fill() is a runtime call, too dear once per flow.)
    const cnt = this.cnt;
    for (let i = slot * CN; i < slot * CN + CN; i++) cnt[i] = 0;
    if (this.keepsBuckets) {
      // (Only when someone takes buckets: otherwise these columns stay untouched, not a cache line per flow.)
      const bkt = this.bkt;
      for (let i = slot * BK; i < slot * BK + BK; i++) bkt[i] = 0;
      this.curBucket[slot] = NaN;
      this.rowsOut[slot] = 0;
    }
    this.frags[slot] = 0;
    this.flagsInit[slot] = 0;
    this.flagsResp[slot] = 0;
    this.respSynAck[slot] = 0;
    this.tunnel[slot] = v.tunnel;
    this.tunnelVer[slot] = v.tunnelIpVersion;
    if (v.proto === 6) this.tcp.start(slot, this.initIsA[slot] === 1, sec, ns);
    // (App columns need no reset here: emit() clears a slot's before the table frees it, and new slots start empty.)
  }

  private flushBucket(slot: number): void {
    const k = slot * BK;
    const bkt = this.bkt;
    if (bkt[k] + bkt[k + 3] === 0) return;
    this.buckets.add(this.ids[slot], this.curBucket[slot], bkt[k], bkt[k + 1], bkt[k + 3], bkt[k + 4], bkt[k + 2], bkt[k + 5]);
    this.rowsOut[slot] = 1;
    for (let i = k; i < k + BK; i++) bkt[i] = 0;
  }

  /**
   * The flow's last bucket row at its end. A flow with one bucket, whose row holds exactly the
   * flow's own counters (most flows of DNS, scans, short connections), hands out no row: its
   * bucket's start (epoch ms) goes with the flow, and the store reads the row from the flow. That
   * spares the store a third of its work per such flow. Otherwise the row goes out; null.
   */
  private lastBucket(slot: number, f: FlowRecord): number | null {
    const k = slot * BK;
    const bkt = this.bkt;
    const retrans = f.tcp === null ? null : f.tcp.counts;
    if (
      this.rowsOut[slot] === 0 &&
      bkt[k] === f.src_pkts && bkt[k + 1] === f.src_bytes && bkt[k + 3] === f.dst_pkts && bkt[k + 4] === f.dst_bytes &&
      bkt[k + 2] === (retrans === null ? 0 : retrans[SRC_RETRANS]) && bkt[k + 5] === (retrans === null ? 0 : retrans[DST_RETRANS])
    ) {
      return this.buckets.startMs(this.curBucket[slot]); // (its counters are zeroed when begin() reuses the slot)
    }
    this.flushBucket(slot);
    return null;
  }

  /** Emits and drops flows idle for longer than the timeout at packet time (sec, ns). */
  private sweep(time: Float64Array): void {
    this.nextSweepSec = time[0] + this.sweepEverySec;
    // Until the idle timeout has passed since the earliest packet no flow can be idle that long:
    // no scan of the table. (Scans that found nothing had the optimizing compiler build the loop
    // without its emitting branch, thrown away at the first flow that ended: four recompiles.)
    const stats = this.stats;
    if ((time[0] - stats.firstSec) * 1e9 + (time[1] - stats.firstNs) <= this.idleNs) return;
    const expired = this.inIdOrder(this.endingSlots(time[0], time[1], false));
    this.emitEach(expired, 0, expired.length);
    this.table.removeMany(expired, 0, expired.length);
  }

  /**
   * Live slots idle for longer than the timeout at packet time (sec, ns), or all live slots. (A
   * function of its own: its loop is compiled on the stack alone, not together with all that
   * emitting a flow inlines. And nothing after the loop: a loop that runs long is compiled while
   * it runs, before the code after it has run once; that code, compiled without type feedback, was
   * thrown away at the end of each call: ~140 times on the DNS mix. The same holds for emitEach.)
   */
  private endingSlots(sec: number, ns: number, all: boolean): Int32Array {
    const table = this.table;
    const live = table.live;
    const lastSec = this.lastSec;
    const lastNs = this.lastNs;
    const idleNs = this.idleNs;
    const slots = new Int32Array(table.size);
    let n = 0;
    for (let s = 0; s < table.highWater; s++) {
      if (live[s] === 1 && (all || (sec - lastSec[s]) * 1e9 + (ns - lastNs[s]) > idleNs)) slots[n++] = s;
    }
    return slots.subarray(0, n);
  }

  /** The slots sorted into creation order (flow id order), the order flows are emitted in. */
  private inIdOrder(slots: Int32Array): Int32Array {
    return sortByIds(slots, this.ids, this.nextId, this.table.capacity);
  }

  /**
   * Emits the flows of slots[from..to); the caller drops them from the table. One loop for sweep()
   * and finishing(): each loop the optimizing compiler meets without feedback costs a
   * deoptimization and a recompile.
   */
  private emitEach(slots: Int32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) this.emit(slots[i]);
  }

  /** Emits every remaining flow (in creation order) and the last bucket rows. Call at end of input. */
  finish(): void {
    const steps = this.finishing(Infinity);
    while (!steps.next().done);
  }

  /** finish() in steps: pauses after every `batch` flows, so a caller can wait for a slow consumer. */
  *finishing(batch: number): Generator<void, void, void> {
    this.atCaptureEnd = true;
    const rest = this.inIdOrder(this.endingSlots(0, 0, true));
    for (let from = 0; from < rest.length; from += batch) {
      const to = Math.min(from + batch, rest.length);
      this.emitEach(rest, from, to);
      this.table.removeMany(rest, from, to);
      if (to < rest.length) yield;
    }
    this.buckets.flush();
  }

  private emit(slot: number): void {
    const keys = this.table.keys;
    const o = slot * KEY_WORDS;
    const initA = this.initIsA[slot] === 1;
    const ports = keys[o + 8];
    const meta = keys[o + 9];
    const vlans = keys[o + 10];
    const version = (meta >> 8) as 4 | 6;
    const proto = meta & 0xff;
    const words = this.addresses;
    const src = initA ? o : o + 4;
    const dst = initA ? o + 4 : o;
    words[0] = version;
    for (let i = 0; i < 4; i++) {
      words[1 + i] = keys[src + i];
      words[5 + i] = keys[dst + i];
    }
    const text = this.addressText;
    const portA = ports >>> 16;
    const portB = ports & 0xffff;
    const c = slot * CN;
    const cnt = this.cnt;
    const apps = this.apps;
    let app = apps.app[slot] ?? null;
    let appSource: 'payload' | 'port' | null = app ? 'payload' : null;
    const sport = initA ? portA : portB;
    const dport = initA ? portB : portA;
    if (!app) {
      app = appByPort(proto, sport, dport);
      if (app) appSource = 'port';
    }
    const outer = (vlans >>> 16) - 1;
    const inner = (vlans & 0xffff) - 1;
    if (proto === 6 && !this.atCaptureEnd) {
      const fi = this.flagsInit[slot];
      const fr = this.flagsResp[slot];
      // Silent past the idle timeout, neither reset nor closed both ways: the connection may go on.
      if (((fi | fr) & RST) === 0 && (fi & fr & FIN) === 0) this.tcp.park(slot, keys, o, initA);
    }
    const record: FlowRecord = {
      id: small(this.ids[slot]),
      ip_version: version,
      proto,
      src: text ? formatAddress(version, words[1], words[2], words[3], words[4]) : '',
      sport,
      dst: text ? formatAddress(version, words[5], words[6], words[7], words[8]) : '',
      dport,
      first_sec: this.firstSec[slot],
      first_nsec: this.firstNs[slot],
      last_sec: this.lastSec[slot],
      last_nsec: this.lastNs[slot],
      src_pkts: small(cnt[c]),
      dst_pkts: small(cnt[c + 4]),
      src_bytes: small(cnt[c + 1]),
      dst_bytes: small(cnt[c + 5]),
      src_ip_bytes: small(cnt[c + 2]),
      dst_ip_bytes: small(cnt[c + 6]),
      src_payload_bytes: small(cnt[c + 3]),
      dst_payload_bytes: small(cnt[c + 7]),
      app,
      app_source: appSource,
      server_name: apps.serverName[slot] ?? null,
      alpn: apps.alpn[slot] ?? null,
      http_method: apps.httpMethod[slot] ?? null,
      dns_rcode: apps.dnsRcode[slot] ?? null,
      ssh_banner: apps.sshBanner[slot] ?? null,
      src_tcp_flags: this.flagsInit[slot],
      dst_tcp_flags: this.flagsResp[slot],
      state: connectionState(proto, this.flagsInit[slot], this.flagsResp[slot], this.respSynAck[slot] === 1, cnt[c + 4]),
      vlan: outer >= 0 ? outer : null,
      inner_vlan: inner >= 0 ? inner : null,
      tunnel: TUNNEL_NAMES[this.tunnel[slot]] ?? null,
      tunnel_ip_version: this.tunnel[slot] !== 0 ? (this.tunnelVer[slot] as 4 | 6) : null,
      fragments: small(this.frags[slot]),
      tcp: proto === 6 ? this.tcp.read(slot) : null,
      bucket_ms: null,
    };
    if (this.keepsBuckets) record.bucket_ms = this.lastBucket(slot, record);
    apps.reset(slot);
    this.stats.flow(record);
    this.onFlow(record, words);
  }

  /** Problem counts by name (decoder problems; reader problems are reported by the reader). */
  problemCounts(): Map<string, number> {
    const out = new Map<string, number>();
    const p = this.stats.problems;
    for (let i = 1; i < p.length; i++) if (p[i] > 0) out.set(PROBLEM_NAMES[i], p[i]);
    return out;
  }
}
