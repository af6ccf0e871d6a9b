import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateCaptureBuffer } from '../synth/generator';
import { pcapFile, ipv4Frame } from '../testing/capture-writer';
import { CLI_NODE_FLAGS, MALLOC_ENV_ASSIGNMENT } from '../server/node-flags';

/** The real `capsight` binary (built by `npm run build`, which `npm ci` runs), as a user runs it. */
const BIN = path.resolve(__dirname, '../../bin/capsight.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function capsight(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const packets = [
  { sec: 1_700_000_000, frac: 1, data: ipv4Frame({ src: '10.0.0.1', dst: '93.184.216.34', proto: 6, sport: 51000, dport: 80, flags: 0x02 }) },
  { sec: 1_700_000_000, frac: 500, data: ipv4Frame({ src: '93.184.216.34', dst: '10.0.0.1', proto: 6, sport: 80, dport: 51000, flags: 0x12 }) },
  {
    sec: 1_700_000_001,
    frac: 0,
    data: ipv4Frame({ src: '10.0.0.1', dst: '93.184.216.34', proto: 6, sport: 51000, dport: 80, flags: 0x18, payload: Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n') }),
  },
];
const capture = path.join(dir, 'small.pcap');
fs.writeFileSync(capture, pcapFile({}, packets));

describe('capsight CLI', () => {
  it('prints ndjson flows with the documented field names', () => {
    const r = capsight(['flows', capture]);
    expect(r.code).toBe(0);
    const flows = r.out.trim().split('\n').map((l) => JSON.parse(l));
    expect(flows).toHaveLength(1);
    expect(flows[0]).toMatchObject({
      proto: 6, src: '10.0.0.1', sport: 51000, dst: '93.184.216.34', dport: 80,
      first: '2023-11-14T22:13:20.000001000Z', last: '2023-11-14T22:13:21.000000000Z',
      src_pkts: 2, dst_pkts: 1, app: 'http', app_source: 'payload', server_name: 'example.com', http_method: 'GET', state: 'S1', vlan: null,
    });
    for (const k of ['src_bytes', 'dst_bytes', 'src_ip_bytes', 'dst_ip_bytes', 'src_payload_bytes', 'dst_payload_bytes']) expect(typeof flows[0][k]).toBe('number');
  });

  it('names applications from ports only with --no-apps, counters unchanged', () => {
    const full = JSON.parse(capsight(['flows', capture]).out);
    const fast = JSON.parse(capsight(['flows', '--no-apps', capture]).out);
    expect(fast).toMatchObject({ app: 'http', app_source: 'port', server_name: null, http_method: null });
    for (const k of ['src_pkts', 'dst_pkts', 'src_bytes', 'dst_bytes', 'state', 'first', 'last']) expect(fast[k]).toEqual(full[k]);
  });

  it('writes csv with a header and a readable table', () => {
    const csv = capsight(['flows', '--format', 'csv', capture]).out.trim().split('\n');
    expect(csv[0].startsWith('proto,src,sport,dst,dport,first,last,src_pkts,src_bytes,dst_pkts,dst_bytes')).toBe(true);
    expect(csv[1].startsWith('6,10.0.0.1,51000,93.184.216.34,80,')).toBe(true);
    expect(capsight(['flows', '--format', 'table', capture]).out).toMatch(/10\.0\.0\.1:51000 +93\.184\.216\.34:80 .*http +example\.com/);
  });

  it('runs as an executable, with the environment and Node flags its #! line sets', async () => {
    const child = spawn(BIN, ['flows', '-'], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, GLIBC_TUNABLES: '' } });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    // env(1) replaces itself with node (same process): wait for that, stdin held open meanwhile.
    const argv = (): string[] => fs.readFileSync(`/proc/${child.pid}/cmdline`, 'latin1').split('\0');
    while (!/(^|\/)node$/.test(argv()[0])) await new Promise((r) => setTimeout(r, 5));
    expect(argv().slice(1, 1 + CLI_NODE_FLAGS.length)).toEqual([...CLI_NODE_FLAGS]);
    expect(fs.readFileSync(`/proc/${child.pid}/environ`, 'latin1').split('\0')).toContain(MALLOC_ENV_ASSIGNMENT);
    child.stdin.end(fs.readFileSync(capture));
    expect(await exited).toBe(0);
    expect(Buffer.concat(out).toString().trim().split('\n')).toHaveLength(1);
  });

  it('reads stdin with "-"', () => {
    const r = capsight(['flows', '-'], fs.readFileSync(capture));
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(1);
  });

  it('prints stats with packets, bytes, protocols and problems', () => {
    const r = capsight(['stats', '--format', 'json', capture]);
    const s = JSON.parse(r.out);
    expect(s).toMatchObject({ packets: 3, format: 'pcap', flows: 1, problems: {} });
    expect(s.protocols[0]).toMatchObject({ proto: 6, name: 'tcp', packets: 3, share_bytes: 1 });
  });

  it('exits 2 with one line naming the file for input that is not a capture', () => {
    const bad = path.join(dir, 'notes.txt');
    fs.writeFileSync(bad, 'hello, world\n');
    const r = capsight(['flows', bad]);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toEqual([`capsight: ${bad}: not a pcap or pcapng capture (starts with bytes 68 65 6c 6c)`]);
  });

  it('exits 3 for a truncated capture, after printing the flows before the damage', () => {
    const cut = path.join(dir, 'cut.pcap');
    const whole = fs.readFileSync(capture);
    fs.writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const r = capsight(['flows', cut]);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out.trim()).src_pkts).toBe(1);
    expect(r.err).toMatch(/^capsight: warning: .*cut\.pcap: truncated: input ends inside a packet record at byte offset \d+ .*results cover the 2 packets before it\n$/);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('exits 1 with usage for bad options', () => {
    expect(capsight(['flows', '--format', 'xml', capture]).code).toBe(1);
    expect(capsight(['flows', '--bucket', '7ms', capture]).err).toContain('must be whole seconds or divide one second evenly');
    expect(capsight(['frobnicate']).code).toBe(1);
    expect(capsight(['flows']).err).toContain('missing capture argument');
    const badProfile = capsight(['generate', '--profile', 'videocall', '-o', path.join(dir, 'never.pcap')]);
    expect(badProfile.code).toBe(1);
    expect(badProfile.err).toContain('--profile must be one of classic, web, dns, scan, elephants, lossy, got "videocall"');
    expect(fs.existsSync(path.join(dir, 'never.pcap'))).toBe(false);
  });

  it('exits 2 for a missing file', () => {
    const r = capsight(['stats', path.join(dir, 'nope.pcap')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('nope.pcap: cannot read: no such file');
  });

  it('stops reading while nobody reads its output, then prints every flow', async () => {
    // ~12 k flows ending along the capture's 15 s (idle timeout 1 s): ~7 MB of ndjson for 20 MB in.
    const input = generateCaptureBuffer({ bytes: 20_000_000, seed: 3, hosts: 500, flows: 40_000, ipv6Share: 0.2 });
    const expected = capsight(['flows', '--idle-timeout', '1s', '-'], input).out;
    const child = spawn(process.execPath, [BIN, 'flows', '--idle-timeout', '1s', '-'], { stdio: ['pipe', 'pipe', 'ignore'] });
    child.stdout.pause();
    let accepted = 0;
    const pump = (): void => {
      while (accepted < input.length) {
        const chunk = input.subarray(accepted, accepted + 65536);
        accepted += chunk.length;
        if (!child.stdin.write(chunk)) return void child.stdin.once('drain', pump);
      }
      child.stdin.end();
    };
    pump();
    // Wait until the CLI stops taking input (or has taken all of it, which is the failure).
    let last = -1;
    for (let waited = 0; accepted !== last && accepted < input.length && waited < 10_000; waited += 500) {
      last = accepted;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(accepted).toBeLessThan(input.length * 0.5);
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stdout.resume();
    const code = await new Promise((r) => child.on('close', r));
    expect(code).toBe(0);
    expect(Buffer.concat(out).toString('utf8')).toBe(expected);
    expect(expected.split('\n').length).toBeGreaterThan(10_000);
  }, 60_000);

  it('generates the same capture for the same seed, which it then reads back completely', () => {
    const a = path.join(dir, 'a.pcap');
    const b = path.join(dir, 'b.pcap');
    for (const f of [a, b]) expect(capsight(['generate', '--size', '2MB', '--seed', '9', '-o', f]).code).toBe(0);
    const hash = (f: string): string => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    expect(hash(a)).toBe(hash(b));
    const stats = JSON.parse(execFileSync(process.execPath, [BIN, 'stats', '--format', 'json', a], { encoding: 'utf8' }));
    expect(stats.bytes).toBeGreaterThan(1_800_000); // capture bytes minus the 24-byte header and 16-byte record headers
    expect(stats.problems).toEqual({});
    expect(stats.apps.map((x: { app: string }) => x.app)).toEqual(expect.arrayContaining(['tls', 'http', 'dns', 'ssh']));
  });

  it('generates to stdout for a reader that falls behind', async () => {
    const file = path.join(dir, 'gen.pcap');
    capsight(['generate', '--size', '5MB', '--seed', '4', '-o', file]);
    const child = spawn(process.execPath, [BIN, 'generate', '--size', '5MB', '--seed', '4', '-o', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    await new Promise((r) => setTimeout(r, 500));
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdout.resume();
    expect(await new Promise((r) => child.on('close', r))).toBe(0);
    expect(err).toBe('');
    expect(Buffer.concat(out).equals(fs.readFileSync(file))).toBe(true);
  }, 30_000);
});
