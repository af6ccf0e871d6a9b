import { analyzeCapture } from '../flows';
import { CapsightError } from '../errors';
import * as path from 'node:path';
import { CORPUS_DIR, corpusAvailable, corpusEntries, notice } from './corpus';

const run = corpusAvailable() ? describe : describe.skip;
if (!corpusAvailable()) notice('corpus robustness and application names');

run('every corpus capture', () => {
  it('is read without a crash, a hang or a stack trace; broken files get one-line messages naming them', async () => {
    const entries = corpusEntries();
    expect(entries.length).toBe(278);
    let damaged = 0;
    let refused = 0;
    const countMismatch: string[] = [];
    for (const e of entries) {
      const started = Date.now();
      try {
        const r = await analyzeCapture(e.abs, { onFlow: () => undefined });
        if (r.damage) {
          damaged++;
          expect(r.damage.message).toContain(e.abs);
          expect(r.damage.message).toMatch(/byte offset \d+/);
          expect(r.damage.message).not.toContain('\n');
        }
        // capinfos counted "mime" files (cut pcapng headers) as one generic record: not a packet count.
        if (/^\d+$/.test(e.packets) && !e.linkType.startsWith('mime') && r.read.packets !== Number(e.packets)) countMismatch.push(`${e.file}: ${r.read.packets} packets, capinfos ${e.packets}`);
      } catch (err) {
        expect(err).toBeInstanceOf(CapsightError);
        expect((err as Error).message).toContain(e.abs);
        expect((err as Error).message).not.toContain('\n');
        refused++;
      }
      expect(Date.now() - started).toBeLessThan(10_000);
    }
    expect(countMismatch).toEqual([]);
    // The manifest's broken files: cut, corrupt, invalid versions, empty.
    expect(damaged + refused).toBeGreaterThanOrEqual(12);
  });
});

run('application identification on real traffic', () => {
  it('finds the server name the manifest lists for each TLS/QUIC/HTTP capture', async () => {
    const missing: string[] = [];
    let checked = 0;
    for (const e of corpusEntries()) {
      const m = /SNI ([\w.:-]+)/.exec(e.exercises);
      if (!m) continue;
      const want = m[1];
      const names = new Set<string>();
      await analyzeCapture(e.abs, { onFlow: (f) => f.server_name && names.add(f.server_name) });
      checked++;
      if (!names.has(want)) missing.push(`${e.file}: want ${want}, got ${[...names].join(',') || 'none'}`);
    }
    expect(checked).toBeGreaterThan(15);
    expect(missing).toEqual([]);
  });

  it.each([
    ['tcpdump/dns_udp_8053.pcap', { app: 'dns', app_source: 'payload', server_name: 'www.tcpdump.org', dns_rcode: 'NOERROR' }],
    ['tcpdump/dns_tcp.pcap', { app: 'dns', app_source: 'payload', server_name: 'www.tcpdump.org', dns_rcode: 'NOERROR' }],
    ['zeek/ssh__ssh.pcap', { app: 'ssh', app_source: 'payload', ssh_banner: 'SSH-2.0-OpenSSH_5.9' }],
    ['tcpdump/print-flags.pcap', { app: 'http', app_source: 'payload', server_name: 'localhost', http_method: 'GET' }],
    ['suricata-verify/tls__tls-client-hello-frag-01__dump_mtu300.pcap', { app: 'tls', server_name: 'www.google.com' }],
    ['suricata-verify/quic-frag__input.pcap', { app: 'quic', server_name: 'token.services.mozilla.com' }],
  ])('%s: first flow is identified from its payload', async (file, want) => {
    const flows: Record<string, unknown>[] = [];
    await analyzeCapture(path.join(CORPUS_DIR, file), { onFlow: (f) => flows.push({ ...f }) });
    expect(flows.find((f) => f.app === want.app)).toMatchObject(want);
  });
});
