import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { publicFlow } from '../cli/format';
import { injectedCapture } from '../synth/tcp-events';
import { compareTcp, engineTcp, tsharkInstalled, tsharkTcp } from '../testing/tcp-oracle';
import { analyzeCapture } from '.';
import { TCP_COUNT_FIELDS } from './tcp-health';

/** TCP health on a generated capture whose trouble is known from how it was made. */
describe('TCP health on injected events', () => {
  const { capture, connections } = injectedCapture();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-tcp-'));
  const file = path.join(dir, 'injected.pcap');
  fs.writeFileSync(file, capture);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('finds every injected event exactly, and nothing else', async () => {
    const flows = new Map<string, Record<string, unknown>>();
    await analyzeCapture(file, { onFlow: (f) => flows.set(f.src, publicFlow(f)) });
    expect(flows.size).toBe(connections.length);
    for (const c of connections) {
      const f = flows.get(c.client)!;
      const counts = Object.fromEntries(TCP_COUNT_FIELDS.filter((n) => !n.endsWith('retrans_bytes')).map((n) => [n, f[n]]));
      const want = Object.fromEntries(TCP_COUNT_FIELDS.filter((n) => !n.endsWith('retrans_bytes')).map((n) => [n, c.expected[n] ?? 0]));
      expect({ name: c.name, counts }).toEqual({ name: c.name, counts: want });
      expect(f.dst_retrans_bytes).toBe((c.expected.dst_retrans ?? 0) * 1000);
      expect(f.reset_by).toBe(c.resetBy ?? null);
      expect(f.reset_after_data).toBe(c.resetAfterData ?? null);
    }
  });

  it('measures the handshake split at the capture point and the data/ACK RTT to the microsecond', async () => {
    const flows = new Map<string, Record<string, unknown>>();
    await analyzeCapture(file, { onFlow: (f) => flows.set(f.src, publicFlow(f)) });
    for (const c of connections) {
      const f = flows.get(c.client)!;
      expect([c.name, f.handshake_rtt_us, f.syn_to_synack_us, f.synack_to_ack_us]).toEqual([c.name, c.toServerUs + c.toClientUs, c.toServerUs, c.toClientUs]);
      if (c.resetAfterData === false) continue; // no data, no data/ACK pairs
      expect([c.name, f.server_rtt_min_us, f.server_rtt_median_us]).toEqual([c.name, c.toServerUs, c.toServerUs]);
      expect([c.name, f.client_rtt_min_us, f.client_rtt_median_us]).toEqual([c.name, c.toClientUs, c.toClientUs]);
    }
  });

  it('agrees with tshark on the same capture', async () => {
    if (!(await tsharkInstalled())) {
      process.stderr.write('\n*** SKIPPED: tshark comparison of injected events: tshark is not installed (.ci/run installs it) ***\n\n');
      return;
    }
    const c = compareTcp(await tsharkTcp(file), await engineTcp(file));
    expect(c.differ).toEqual([]);
    expect(c.unpaired).toEqual([]);
    expect(c.matched).toBe(connections.length);
  });
});
