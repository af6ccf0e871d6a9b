import * as path from 'node:path';
import type ipaddr from 'ipaddr.js';
import maxmind, { type Reader, type Response } from 'maxmind';
import { addressLabel, addressNumber, NetworkSet, parseAddress } from './address-class';
import { AsnTable } from './asn-table';

/** What enrichment adds to each end of a flow. */
export interface EndpointInfo {
  /** ISO 3166 alpha-2 code, or an address label ("private", "documentation", ..., "unknown"). */
  country: string;
  asn: number | null;
  asOrg: string | null;
  /** Inside the configured local networks. */
  local: boolean;
  /**
   * The address as a 128-bit number (IPv4 as ::ffff:a.b.c.d) in decimal, as the store's staging
   * file spells it, null when it does not parse. Text, made once per address here: spelling the
   * bigint for each flow took ~260 ns of the store's ~2.2 µs per flow.
   */
  num: string | null;
}

export interface EnrichmentConfig {
  /** mmdb with a country per address: ip-location-db's (`country_code`) or MaxMind Country/City (`country.iso_code`). */
  countryDb: string;
  /** Optional MaxMind ASN mmdb (GeoLite2-ASN); preferred over the CSV ranges when set. */
  asnDb: string | null;
  /** Directory with asn-ipv4-num.csv / asn-ipv6-num.csv (ip-location-db "asn"), or null for no ASN. */
  asnCsvDir: string | null;
  localNetworks: readonly string[];
}

/** The geo data shipped with the package (see README for licences and attribution). */
export function bundledEnrichment(localNetworks: readonly string[]): EnrichmentConfig {
  return {
    countryDb: require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'),
    asnDb: null,
    asnCsvDir: path.dirname(require.resolve('@ip-location-db/asn/package.json')),
    localNetworks,
  };
}

/** Fields read from either database family (ip-location-db, MaxMind). */
interface CountryRecord {
  country_code?: string;
  country?: { iso_code?: string };
}
interface AsnRecord {
  autonomous_system_number?: number;
  autonomous_system_organization?: string;
}

const CACHE_LIMIT = 200_000;

export class Enricher {
  private readonly cache = new Map<string, EndpointInfo>();

  private constructor(
    private readonly countries: Reader<Response>,
    private readonly asnReader: Reader<Response> | null,
    private readonly asnTable: AsnTable | null,
    private readonly local: NetworkSet,
  ) {}

  static async load(config: EnrichmentConfig): Promise<Enricher> {
    const local = new NetworkSet(config.localNetworks);
    const countries = await openDb(config.countryDb, 'country database');
    const asnReader = config.asnDb ? await openDb(config.asnDb, 'ASN database') : null;
    let asnTable: AsnTable | null = null;
    if (!asnReader && config.asnCsvDir) {
      asnTable = AsnTable.load(path.join(config.asnCsvDir, 'asn-ipv4-num.csv'), path.join(config.asnCsvDir, 'asn-ipv6-num.csv'));
    }
    return new Enricher(countries, asnReader, asnTable, local);
  }

  lookup(ip: string): EndpointInfo {
    let info = this.cache.get(ip);
    if (info) return info;
    info = this.compute(ip);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(ip, info);
    return info;
  }

  private compute(ip: string): EndpointInfo {
    const a = parseAddress(ip);
    if (!a) return { country: 'unknown', asn: null, asOrg: null, local: false, num: null };
    const local = this.local.has(a);
    const num = String(addressNumber(a));
    const label = addressLabel(a);
    if (label) return { country: label, asn: null, asOrg: null, local, num };
    const text = a.toString();
    const rec = this.countries.get(text) as CountryRecord | null;
    const country = rec?.country_code ?? rec?.country?.iso_code ?? 'unknown';
    const asn = this.asnOf(a, text);
    return { country, asn: asn?.asn ?? null, asOrg: asn?.org ?? null, local, num };
  }

  private asnOf(a: ipaddr.IPv4 | ipaddr.IPv6, text: string): { asn: number; org: string } | null {
    if (this.asnReader) {
      const r = this.asnReader.get(text) as AsnRecord | null;
      return r?.autonomous_system_number ? { asn: r.autonomous_system_number, org: r.autonomous_system_organization ?? '' } : null;
    }
    if (!this.asnTable) return null;
    const bytes = a.toByteArray();
    if (a.kind() === 'ipv4') return this.asnTable.lookupV4(((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0);
    let hi = 0n;
    for (let i = 0; i < 8; i++) hi = (hi << 8n) | BigInt(bytes[i]);
    return this.asnTable.lookupV6(hi);
  }
}

async function openDb(file: string, what: string): Promise<Reader<Response>> {
  try {
    return await maxmind.open(file, { watchForUpdates: false });
  } catch (err) {
    throw new Error(`cannot open ${what} ${file}: ${(err as Error).message}`);
  }
}
