import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { column, generated, query, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { tsharkInstalled } from '../testing/tcp-oracle';
import { tsharkPackets } from '../testing/tshark-packets';
import { parseFilter } from './slice';

/**
 * `capsight slice` as a user runs it (the built binary): the same filter language and the same
 * bytes as the sidecar's packet export of the same capture.
 */
const BIN = path.resolve(__dirname, '../../bin/capsight.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-slice-cli-'));
const capture = generated({ bytes: 2_000_000, seed: 21, ipv6Share: 0.3 });
const file = path.join(dir, 'mixed.pcap');
fs.writeFileSync(file, capture);
let sidecar: RunningSidecar;
let captureId = '';
/** The capture's busiest address (known once it is imported). */
let busiest = '';

beforeAll(async () => {
  sidecar = await startSidecar();
  const r = await upload(sidecar, 'mixed.pcap', capture);
  expect(r.status).toBe(201);
  captureId = String(r.json.captureId);
  const q = await query(sidecar, { kind: 'endpoints', limit: 1 });
  busiest = column<string>(q.frames[0], 'ip')[0];
}, 60_000);

afterAll(async () => {
  await sidecar?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function capsight(args: string[]): { code: number | null; out: Buffer; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr.toString('utf8') };
}

describe('capsight slice', () => {
  it('reads filters as the query model does', () => {
    expect(parseFilter('ip=10.0.0.5')).toEqual({ key: 'ip', operator: '=', value: '10.0.0.5' });
    expect(parseFilter('port!=53')).toEqual({ key: 'port', operator: '!=', value: '53' });
    expect(parseFilter('app=~tls|quic')).toEqual({ key: 'app', operator: '=~', value: 'tls|quic' });
    expect(parseFilter('dst cidr 10.0.0.0/8')).toEqual({ key: 'dst', operator: 'cidr', value: '10.0.0.0/8' });
    expect(parseFilter('country in US, DE')).toEqual({ key: 'country', operator: 'in', value: ['US', 'DE'] });
    expect(parseFilter('retrans>0')).toEqual({ key: 'retrans', operator: '>', value: '0' });
    expect(() => parseFilter('port 80')).toThrow(/expected key<operator>value/);
  });

  it.each([
    ['one address', () => [`ip=${busiest}`], () => [{ key: 'ip', operator: '=', value: busiest }]],
    ['a protocol and a port range', () => ['app=~tls|quic', 'dport>400'], () => [{ key: 'app', operator: '=~', value: 'tls|quic' }, { key: 'dport', operator: '>', value: 400 }]],
    ['IPv6 servers', () => ['dst cidr ::/0'], () => [{ key: 'dst', operator: 'cidr', value: '::/0' }]],
  ])('writes the same bytes as the sidecar for %s', async (_what, argsOf, filtersOf) => {
    const args = argsOf();
    const filters = filtersOf();
    const out = path.join(dir, `${args.join('_').replace(/[^a-z0-9]+/gi, '_')}.pcap`);
    const r = capsight(['slice', file, ...args, '-o', out]);
    expect([r.code, r.err]).toEqual([0, expect.stringMatching(/^capsight: \d+ packets of \d+ flow\(s\) written to .* \(pcap\)\n$/)]);
    const fromSidecar = Buffer.from(await (await sidecar.call('/api/export/pcap', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filters: [{ key: 'capture', operator: '=', value: captureId }, ...filters] }) })).arrayBuffer());
    const written = fs.readFileSync(out);
    expect(written.length).toBeGreaterThan(24 + 100);
    expect(written.equals(fromSidecar)).toBe(true);
    if (await tsharkInstalled()) expect((await tsharkPackets(out)).problems).toBe('');
  });

  it('writes to stdout, and says what went wrong with an exit code', () => {
    const r = capsight(['slice', file, 'port=53', '-o', '-']);
    expect(r.code).toBe(0);
    expect(r.out.subarray(0, 4).toString('hex')).toBe('d4c3b2a1');
    const none = capsight(['slice', file, 'port=1', '-o', path.join(dir, 'none.pcap')]);
    expect([none.code, none.err]).toEqual([4, 'capsight: no flow matches the time range and filters: there are no packets to export\n']);
    expect(fs.existsSync(path.join(dir, 'none.pcap'))).toBe(false);
    const bad = capsight(['slice', file, 'colour=red', '-o', path.join(dir, 'x.pcap')]);
    expect([bad.code, bad.err]).toEqual([1, expect.stringMatching(/^capsight: slice: unknown filter key "colour"/)]);
    const noOut = capsight(['slice', file, 'port=53']);
    expect([noOut.code, noOut.err]).toEqual([1, expect.stringMatching(/missing -o FILE/)]);
    const missing = capsight(['slice', path.join(dir, 'nope.pcap'), 'port=53', '-o', path.join(dir, 'x.pcap')]);
    expect([missing.code, missing.err]).toEqual([2, expect.stringMatching(/nope\.pcap: cannot read: no such file/)]);
  });
});
