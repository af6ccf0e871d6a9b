import * as fs from 'node:fs';

/**
 * ASN lookup from range CSV files (the format of the @ip-location-db "asn" package:
 * `start,end,asn,organisation`, addresses as decimal numbers). Ranges load into sorted typed arrays
 * for binary search. IPv6 ranges are kept at /64 resolution (their top 64 bits): routed IPv6
 * prefixes are /64 or shorter, so no allocation is lost.
 */
export interface AsnInfo {
  asn: number;
  org: string;
}

class RangeColumns {
  starts: number[] = [];
  ends: number[] = [];
  asns: number[] = [];
  orgs: number[] = [];
}

export class AsnTable {
  private constructor(
    private readonly v4Start: Float64Array,
    private readonly v4End: Float64Array,
    private readonly v4Asn: Uint32Array,
    private readonly v4Org: Uint32Array,
    private readonly v6Start: BigUint64Array,
    private readonly v6End: BigUint64Array,
    private readonly v6Asn: Uint32Array,
    private readonly v6Org: Uint32Array,
    private readonly orgs: string[],
  ) {}

  get ranges(): number {
    return this.v4Start.length + this.v6Start.length;
  }

  static load(ipv4Csv: string | null, ipv6Csv: string | null): AsnTable {
    const orgs: string[] = [];
    const orgIndex = new Map<string, number>();
    const org = (name: string): number => {
      let i = orgIndex.get(name);
      if (i === undefined) {
        i = orgs.length;
        orgs.push(name);
        orgIndex.set(name, i);
      }
      return i;
    };
    const v4 = new RangeColumns();
    const v6Start: bigint[] = [];
    const v6End: bigint[] = [];
    const v6 = new RangeColumns();
    if (ipv4Csv) {
      forEachRow(ipv4Csv, (start, end, asn, name) => {
        v4.starts.push(Number(start));
        v4.ends.push(Number(end));
        v4.asns.push(asn);
        v4.orgs.push(org(name));
      });
    }
    if (ipv6Csv) {
      forEachRow(ipv6Csv, (start, end, asn, name) => {
        v6Start.push(BigInt(start) >> 64n);
        v6End.push(BigInt(end) >> 64n);
        v6.asns.push(asn);
        v6.orgs.push(org(name));
      });
    }
    return new AsnTable(
      Float64Array.from(v4.starts),
      Float64Array.from(v4.ends),
      Uint32Array.from(v4.asns),
      Uint32Array.from(v4.orgs),
      BigUint64Array.from(v6Start),
      BigUint64Array.from(v6End),
      Uint32Array.from(v6.asns),
      Uint32Array.from(v6.orgs),
      orgs,
    );
  }

  lookupV4(addr: number): AsnInfo | null {
    const i = lastAtMost(this.v4Start, addr);
    if (i < 0 || addr > this.v4End[i]) return null;
    return { asn: this.v4Asn[i], org: this.orgs[this.v4Org[i]] };
  }

  /** hi64: the address's top 64 bits. */
  lookupV6(hi64: bigint): AsnInfo | null {
    const i = lastAtMost(this.v6Start, hi64);
    if (i < 0 || hi64 > this.v6End[i]) return null;
    return { asn: this.v6Asn[i], org: this.orgs[this.v6Org[i]] };
  }
}

function lastAtMost<T extends number | bigint>(starts: { length: number; [i: number]: T }, x: T): number {
  let lo = 0;
  let hi = starts.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (starts[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** Rows of `start,end,asn,org` where org may be a quoted CSV field with "" escapes. */
function forEachRow(file: string, row: (start: string, end: string, asn: number, org: string) => void): void {
  const text = fs.readFileSync(file, 'utf8');
  let p = 0;
  let line = 1;
  while (p < text.length) {
    let nl = text.indexOf('\n', p);
    if (nl < 0) nl = text.length;
    const c1 = text.indexOf(',', p);
    const c2 = text.indexOf(',', c1 + 1);
    const c3 = text.indexOf(',', c2 + 1);
    if (c1 < 0 || c3 < 0 || c3 > nl) {
      if (nl > p + 1) throw new Error(`${file}:${line}: expected start,end,asn,organisation`);
    } else {
      let org = text.slice(c3 + 1, nl).replace(/\r$/, '');
      if (org.startsWith('"')) {
        // A quoted field may hold commas but (in these files) no newlines.
        org = org.slice(1, org.endsWith('"') ? -1 : undefined).replace(/""/g, '"');
      }
      row(text.slice(p, c1), text.slice(c1 + 1, c2), Number(text.slice(c2 + 1, c3)), org);
    }
    p = nl + 1;
    line++;
  }
}
