import { Category } from '../decode/packet-view';
import { Problem } from '../decode/problems';
import type { FlowRecord } from '../model/flow';

/**
 * Packet-level totals for `capsight stats`: packets and wire bytes by link type, IP version,
 * L4 protocol and application, non-IP frames by ethertype, decode problems by kind.
 * Arrays indexed by number on the per-packet path; Maps only for rare kinds.
 */
export class TrafficStats {
  packets = 0;
  bytes = 0;
  firstSec = Infinity;
  firstNs = 0;
  lastSec = -Infinity;
  lastNs = 0;
  readonly linkPackets = new Map<number, number>();
  private lastLinkType = -2;
  private lastLinkCount = 0;
  readonly protoPackets = new Float64Array(256);
  readonly protoBytes = new Float64Array(256);
  readonly versionPackets = new Float64Array(7);
  readonly versionBytes = new Float64Array(7);
  /** Non-IP frames by ethertype (0: not an Ethernet-family frame). */
  readonly nonIp = new Map<number, { packets: number; bytes: number }>();
  unknownLinkPackets = 0;
  undecodablePackets = 0;
  unattributedFragments = 0;
  otherBytes = 0;
  readonly problems = new Float64Array(Problem.Count);
  readonly apps = new Map<string, { flows: number; bytes: number }>();
  flows = 0;

  packet(origLen: number, time: Float64Array, linkType: number): void {
    const sec = time[0];
    const ns = time[1];
    this.packets++;
    this.bytes += origLen;
    if (sec < this.firstSec || (sec === this.firstSec && ns < this.firstNs)) {
      this.firstSec = sec;
      this.firstNs = ns;
    }
    if (sec > this.lastSec || (sec === this.lastSec && ns > this.lastNs)) {
      this.lastSec = sec;
      this.lastNs = ns;
    }
    if (linkType === this.lastLinkType) this.lastLinkCount++;
    else {
      this.flushLink();
      this.lastLinkType = linkType;
      this.lastLinkCount = 1;
    }
  }

  private flushLink(): void {
    if (this.lastLinkCount > 0) this.linkPackets.set(this.lastLinkType, (this.linkPackets.get(this.lastLinkType) ?? 0) + this.lastLinkCount);
    this.lastLinkCount = 0;
  }

  /** Link-type counts, complete (flushes the running count). */
  linkTypes(): Map<number, number> {
    this.flushLink();
    return this.linkPackets;
  }

  problem(p: number): void {
    this.problems[p]++;
  }

  ip(version: number, proto: number, origLen: number): void {
    this.versionPackets[version]++;
    this.versionBytes[version] += origLen;
    this.protoPackets[proto]++;
    this.protoBytes[proto] += origLen;
  }

  other(cat: Category, etherType: number, origLen: number): void {
    this.otherBytes += origLen;
    if (cat === Category.NonIp) {
      const e = this.nonIp.get(etherType);
      if (e) {
        e.packets++;
        e.bytes += origLen;
      } else this.nonIp.set(etherType, { packets: 1, bytes: origLen });
    } else if (cat === Category.UnknownLink) this.unknownLinkPackets++;
    else if (cat === Category.Fragment) this.unattributedFragments++;
    else this.undecodablePackets++;
  }

  flow(f: FlowRecord): void {
    this.flows++;
    const name = f.app ?? 'unknown';
    const a = this.apps.get(name);
    const bytes = f.src_bytes + f.dst_bytes;
    if (a) {
      a.flows++;
      a.bytes += bytes;
    } else this.apps.set(name, { flows: 1, bytes });
  }
}
