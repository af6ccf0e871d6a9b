import * as dns from 'node:dns';
import * as net from 'node:net';
import { addressLabel, parseAddress } from '../enrich/address-class';
import { redactUrl } from './redact';

/**
 * Which URLs an import may fetch. URL imports run on a cloud VM next to its metadata service, so:
 * https only; hosts from an allow-list (default *.blob.core.windows.net); resolved addresses must
 * be public (no loopback, link-local, private, CGNAT, multicast, reserved), checked after DNS and
 * again on every redirect hop. Explicit exceptions (host or host:port) may use http and private
 * addresses; the metadata service address is refused whatever the configuration says.
 */
export class ImportRefused extends Error {
  readonly statusCode = 400;
}

const METADATA = new Set(['169.254.169.254', 'fd00:ec2::254', '169.254.170.2']);

export interface UrlPolicyConfig {
  allowHosts: readonly string[];
  importAllow: readonly string[];
}

export class UrlPolicy {
  constructor(private readonly config: UrlPolicyConfig) {}

  /** Whether host[:port] is an explicit exception. */
  private isException(u: URL): boolean {
    const host = hostOf(u);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    return this.config.importAllow.some((e) => {
      const entry = e.toLowerCase();
      return entry === host || entry === `${host}:${port}` || entry === `[${host}]:${port}`;
    });
  }

  /** Checks scheme, host and (for address literals) the address; returns whether it is an exception. */
  check(url: URL): { exception: boolean } {
    const shown = redactUrl(url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ImportRefused(`import URL ${shown}: only https URLs can be imported`);
    if (url.username || url.password) throw new ImportRefused(`import URL ${shown}: credentials in the URL are not accepted`);
    const host = hostOf(url);
    const exception = this.isException(url);
    if (url.protocol === 'http:' && !exception) throw new ImportRefused(`import URL ${shown}: plain http is refused (use https, or list the host in CAPSIGHT_IMPORT_ALLOW)`);
    if (!exception && !this.config.allowHosts.some((p) => hostMatches(host, p))) {
      throw new ImportRefused(`import URL ${shown}: host "${host}" is not allowed (allowed: ${this.config.allowHosts.join(', ') || 'none'}; add it with CAPSIGHT_ALLOW_HOSTS or CAPSIGHT_IMPORT_ALLOW)`);
    }
    if (net.isIP(host)) this.checkAddress(host, exception, url);
    return { exception };
  }

  /** Refuses forbidden target addresses (called for literals and for every DNS answer). */
  checkAddress(address: string, exception: boolean, url: URL): void {
    const a = parseAddress(address);
    const shown = redactUrl(url);
    if (!a) throw new ImportRefused(`import URL ${shown}: unusable address ${address}`);
    const plain = a.toString();
    if (METADATA.has(plain)) throw new ImportRefused(`import URL ${shown}: ${plain} is the cloud metadata service and is never fetched`);
    const label = addressLabel(a);
    if (label && !exception) throw new ImportRefused(`import URL ${shown}: host resolves to ${label} address ${plain}, which imports may not reach`);
  }

  /** A DNS lookup function for http(s).request that applies checkAddress to every answer. */
  lookupFor(url: URL, exception: boolean): net.LookupFunction {
    return ((hostname: string, options: dns.LookupOptions, callback: (err: Error | null, address: string | dns.LookupAddress[], family?: number) => void) => {
      dns.lookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
        if (err) return callback(err, '');
        try {
          for (const a of addresses) this.checkAddress(a.address, exception, url);
        } catch (refused) {
          return callback(refused as Error, '');
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      });
    }) as net.LookupFunction;
  }
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function hostMatches(host: string, pattern: string): boolean {
  const p = pattern.toLowerCase().trim();
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}
