import { clientHelloMessage, dnsQuery, dnsResponse, httpRequest, httpResponseHead, tlsRecord } from './payloads';
import { ipv4Frame, pcapFile, type PcapPacket } from './frames';
import { Rng } from './generator';

/**
 * A capture with a known story, for the anomaly detectors: steady office traffic (a few local
 * clients, TLS and HTTP to a fixed set of public servers, DNS to a local resolver), minute by
 * minute, and optionally the events an alert rule should catch, each at a known minute:
 * - spike: one client downloads ten times its usual HTTP volume for five minutes;
 * - newCountry: one TLS connection to a server in a country never contacted before;
 * - scan: a new local host probes 200 ports of another (the ports answer with RST: REJ);
 * - failures: five minutes of DNS lookups answered NXDOMAIN and connections refused (REJ).
 * Without injections the same seed gives the same background, packet for packet, so a test can
 * run the detectors on both and know exactly what should and should not be found.
 */
export interface ScenarioOptions {
  /** Capture start, seconds since the epoch (whole minutes are the scenario's time grid). */
  startSec: number;
  minutes: number;
  seed?: number;
  spikeAt?: number;
  newCountryAt?: number;
  scanAt?: number;
  failuresAt?: number;
}

/** The addresses the scenario uses; tests check their countries with the real enrichment. */
export const SCENARIO = {
  clients: Array.from({ length: 8 }, (_, i) => `10.20.0.${10 + i}`),
  resolver: '10.20.0.2',
  /** Public servers contacted all along (three countries, checked by the tests). */
  servers: ['8.8.8.8', '8.8.4.4', '1.1.1.1', '9.9.9.9', '208.67.222.222', '208.67.220.220'],
  /** The server of the new country, contacted once at newCountryAt. */
  newServer: '200.160.0.8',
  /** The scanner and its target. */
  scanner: '10.20.0.66',
  scanTarget: '10.20.0.50',
  scanPorts: 200,
  /** The client whose HTTP volume spikes. */
  spikeClient: '10.20.0.10',
} as const;

const MSS = 1400;

interface Out {
  packets: { ns: bigint; data: Buffer }[];
}

const at = (ms: number): bigint => BigInt(Math.round(ms * 1000)) * 1000n;

/** A TCP conversation: handshake, request, `responseBytes` in MSS segments each ACKed, FIN both ways. */
function tcpSession(out: Out, t0: number, client: string, server: string, cport: number, sport: number, request: Buffer, responseHead: Buffer | null, responseBytes: number): void {
  let t = t0;
  const c = (flags: number, payload?: Buffer): void => {
    out.packets.push({ ns: at(t), data: ipv4Frame({ src: client, dst: server, proto: 6, sport: cport, dport: sport, flags, payload }) });
    t += 2;
  };
  const s = (flags: number, payload?: Buffer): void => {
    out.packets.push({ ns: at(t), data: ipv4Frame({ src: server, dst: client, proto: 6, sport, dport: cport, flags, payload }) });
    t += 2;
  };
  c(0x02);
  s(0x12);
  c(0x10);
  c(0x18, request);
  let left = responseBytes;
  let first = true;
  while (left > 0) {
    const n = Math.min(MSS, left);
    s(0x10, first && responseHead ? Buffer.concat([responseHead, Buffer.alloc(Math.max(0, n - responseHead.length))]) : Buffer.alloc(n));
    c(0x10);
    left -= n;
    first = false;
  }
  c(0x11);
  s(0x11);
  c(0x10);
}

/** A connection attempt answered with RST (REJ), or not answered at all (S0). */
function refused(out: Out, t: number, client: string, server: string, cport: number, sport: number, answered: boolean): void {
  out.packets.push({ ns: at(t), data: ipv4Frame({ src: client, dst: server, proto: 6, sport: cport, dport: sport, flags: 0x02 }) });
  if (answered) out.packets.push({ ns: at(t + 1), data: ipv4Frame({ src: server, dst: client, proto: 6, sport, dport: cport, flags: 0x14 }) });
}

function dns(out: Out, t: number, client: string, resolver: string, cport: number, id: number, name: string, nxdomain: boolean, answer: string): void {
  const addr = answer.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  out.packets.push({ ns: at(t), data: ipv4Frame({ src: client, dst: resolver, proto: 17, sport: cport, dport: 53, payload: dnsQuery(id, name) }) });
  out.packets.push({ ns: at(t + 3), data: ipv4Frame({ src: resolver, dst: client, proto: 17, sport: 53, dport: cport, payload: dnsResponse(id, name, addr, nxdomain) }) });
}

const NAMES = ['mail.example.com', 'intranet.example.org', 'cdn.example.net', 'api.example.com', 'files.example.org', 'news.example.net'];

export function scenarioCapture(o: ScenarioOptions): Buffer {
  const rng = new Rng(o.seed ?? 1);
  const out: Out = { packets: [] };
  const S = SCENARIO;
  let port = 40000;
  const nextPort = (): number => (port = port >= 60000 ? 40000 : port + 1);
  const hello = (name: string): Buffer => tlsRecord(0x16, clientHelloMessage(name, ['h2', 'http/1.1'], (n) => Buffer.alloc(n, 7)));
  for (let m = 0; m < o.minutes; m++) {
    const base = (o.startSec + m * 60) * 1000;
    S.clients.forEach((client, ci) => {
      // Ordinary variation: 1-3 TLS sessions of 3-9 segments, 0-2 HTTP downloads of 1-5, 1-3 DNS
      // lookups a minute. Drawn the same way whatever is injected (injections draw nothing).
      const name = NAMES[(ci + m) % NAMES.length];
      const tls = 1 + rng.int(3);
      for (let k = 0; k < tls; k++) {
        const server = S.servers[(ci + m + k) % S.servers.length];
        tcpSession(out, base + rng.int(55_000), client, server, nextPort(), 443, hello(name), null, (3 + rng.int(7)) * MSS);
      }
      const http = rng.int(3);
      for (let k = 0; k < http; k++) {
        const size = (1 + rng.int(5)) * MSS;
        tcpSession(out, base + rng.int(55_000), client, S.servers[(ci + m + 3 + k) % S.servers.length], nextPort(), 80, httpRequest('GET', name, `/p/${m}/${k}`), httpResponseHead(size), size);
      }
      const lookups = 1 + rng.int(3);
      for (let k = 0; k < lookups; k++) dns(out, base + rng.int(55_000), client, S.resolver, nextPort(), (m * 64 + ci * 4 + k) & 0xffff, name, false, S.servers[(ci + k) % S.servers.length]);
    });
    if (o.spikeAt !== undefined && m >= o.spikeAt && m < o.spikeAt + 5) {
      for (let k = 0; k < 36; k++) tcpSession(out, base + 2000 + k * 1500, S.spikeClient, S.servers[3], nextPort(), 80, httpRequest('GET', 'files.example.org', `/big/${m}/${k}`), httpResponseHead(3 * MSS), 3 * MSS);
    }
    if (o.newCountryAt === m) tcpSession(out, base + 30_000, S.clients[1], S.newServer, nextPort(), 443, hello('www.example.br'), null, 4 * MSS);
    if (o.scanAt === m) {
      for (let k = 0; k < S.scanPorts; k++) refused(out, base + 1000 + k * 100, S.scanner, S.scanTarget, 50000, 1000 + k, true);
    }
    if (o.failuresAt !== undefined && m >= o.failuresAt && m < o.failuresAt + 5) {
      for (let k = 0; k < 8; k++) {
        dns(out, base + 2000 + k * 6000, S.clients[k], S.resolver, nextPort(), (0x8000 + m * 16 + k) & 0xffff, `missing-${k}.example.com`, true, '0.0.0.0');
        refused(out, base + 4000 + k * 6000, S.clients[k], S.servers[0], nextPort(), 8443, true);
      }
    }
  }
  out.packets.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
  const packets: PcapPacket[] = out.packets.map((p) => ({ sec: Number(p.ns / 1_000_000_000n), frac: Number((p.ns % 1_000_000_000n) / 1000n), data: p.data }));
  return pcapFile({}, packets);
}
