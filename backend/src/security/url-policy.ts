import * as dns from 'node:dns';
import * as net from 'node:net';
import ipaddr from 'ipaddr.js';
import { addressLabel, parseAddress } from '../enrich/address-class';
import { guardedAgents, type GuardedAgents } from './guarded-agent';
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
  private guarded: GuardedAgents | null = null;

  constructor(private readonly config: UrlPolicyConfig) {}

  /** The settings this policy enforces (a download worker builds the same policy from them). */
  get settings(): UrlPolicyConfig {
    return this.config;
  }

  /** http(s) agents that check every connection they open against this policy (security/guarded-agent.ts). */
  agents(): GuardedAgents {
    return (this.guarded ??= guardedAgents(this));
  }

  /** Closes the agents' idle connections. */
  close(): void {
    this.guarded?.http.destroy();
    this.guarded?.https.destroy();
  }

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

  /**
   * Refuses forbidden target addresses (called for literals and for every DNS answer). An IPv6
   * address that carries an IPv4 one (mapped, compatible, NAT64, 6to4, Teredo) is judged by the
   * IPv4 address as well: ::7f00:1 reaches 127.0.0.1 on most hosts, 64:ff9b::a9fe:a9fe the
   * metadata service through a NAT64 gateway.
   */
  checkAddress(address: string, exception: boolean, url: URL): void {
    const a = parseAddress(address);
    const shown = redactUrl(url);
    if (!a) throw new ImportRefused(`import URL ${shown}: unusable address ${address}`);
    const plain = a.toString();
    // The IPv4 address inside first: its refusal says more than the IPv6 block's.
    for (const { form, v4 } of [...embeddedIPv4(a), { form: '', v4: null as ipaddr.IPv4 | null }]) {
      const target = v4 ?? a;
      const what = v4 ? `${plain}, the ${form} form of ${v4.toString()}` : plain;
      if (METADATA.has(target.toString())) throw new ImportRefused(`import URL ${shown}: ${what} is the cloud metadata service and is never fetched`);
      const label = addressLabel(target) ?? (v4 ? null : ipv6Label(a as ipaddr.IPv6));
      if (label && !exception) throw new ImportRefused(`import URL ${shown}: host resolves to ${label} address ${what}, which imports may not reach`);
    }
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

/**
 * The IPv4 addresses an IPv6 address carries, with the name of the form: IPv4-compatible
 * (::a.b.c.d, deprecated but routed by some stacks), NAT64 (64:ff9b::/96, RFC 6052), 6to4
 * (2002:AABB:CCDD::/48, RFC 3056) and Teredo (2001::/32: server in bits 32-63, client obfuscated
 * in the last 32 bits, RFC 4380). (IPv4-mapped addresses are parsed as IPv4 already.)
 */
export function embeddedIPv4(a: ipaddr.IPv4 | ipaddr.IPv6): { form: string; v4: ipaddr.IPv4 }[] {
  if (a.kind() !== 'ipv6') return [];
  const p = (a as ipaddr.IPv6).parts;
  const v4 = (hi: number, lo: number): ipaddr.IPv4 => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  const out: { form: string; v4: ipaddr.IPv4 }[] = [];
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7] > 1)) out.push({ form: 'IPv4-compatible', v4: v4(p[6], p[7]) });
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) out.push({ form: 'NAT64', v4: v4(p[6], p[7]) });
  if (p[0] === 0x2002) out.push({ form: '6to4', v4: v4(p[1], p[2]) });
  if (p[0] === 0x2001 && p[1] === 0) {
    out.push({ form: 'Teredo server', v4: v4(p[2], p[3]) });
    out.push({ form: 'Teredo client', v4: v4(p[6] ^ 0xffff, p[7] ^ 0xffff) });
  }
  return out;
}

/** IPv6 blocks imports may not reach beyond addressLabel's: local-use NAT64 (64:ff9b:1::/48) and the IPv4-compatible block itself. */
function ipv6Label(a: ipaddr.IPv6): string | null {
  if (a.match(ipaddr.parseCIDR('64:ff9b:1::/48') as [ipaddr.IPv6, number])) return 'local-use NAT64';
  if (a.match(ipaddr.parseCIDR('::/96') as [ipaddr.IPv6, number])) return 'IPv4-compatible';
  return null;
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

function hostMatches(host: string, pattern: string): boolean {
  const p = pattern.toLowerCase().trim();
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  return host === p;
}
