import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { corpusAvailable, corpusEntries, notice, type CorpusEntry } from '../testing/corpus';
import { column, query, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { tsharkInstalled } from '../testing/tcp-oracle';
import { isSubsequence, packetKey, tsharkPackets, type TsharkPacket } from '../testing/tshark-packets';

/**
 * pcap slices through the running sidecar, checked by tshark (an independent reader): every slice
 * reads without complaint, holds exactly the packets of its flows (counts, bytes, both directions)
 * and each of them byte for byte as tshark reads it in the original capture, in the original order,
 * with its timestamp, lengths, interface and link type.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capsight-slice-'));
let sidecar: RunningSidecar;
let ready = false;

/** Captures covering pcap (both byte orders, µs and ns), pcapng (several interfaces), VLAN/QinQ, tunnels and fragments. */
function chosen(): CorpusEntry[] {
  const named = /multi-interface|QinQ|qinq|vlan|tunnels__|gtp|fragment|frag|bro\.org|handshake-nano|pptp|various_gre|vxlan|geneve|erspan/i;
  return corpusEntries().filter((e) => !/CUT|too-short/.test(e.format) && (named.test(e.file) || /^pcapng|BE|ns/.test(e.format)));
}
interface Flow {
  capture: string;
  id: number;
  src: string;
  dst: string;
  sport: number;
  proto: number;
  srcPkts: number;
  dstPkts: number;
  srcBytes: number;
  dstBytes: number;
  fromMs: number;
  toMs: number;
}

const imported = new Map<string, { id: string; original: TsharkPacket[]; flows: Flow[] }>();

async function flowsOf(capture: string): Promise<Flow[]> {
  const r = await query(sidecar, { kind: 'flows', limit: 10000, filters: [{ key: 'capture', operator: '=', value: capture }], sort: { by: 'flow_id', desc: false } });
  expect(r.status).toBe(200);
  const f = r.frames[0];
  const n = column(f, 'flow_id').length;
  return Array.from({ length: n }, (_, i) => ({
    capture,
    id: column<number>(f, 'flow_id')[i],
    src: column<string>(f, 'src')[i],
    dst: column<string>(f, 'dst')[i],
    sport: column<number>(f, 'sport')[i],
    proto: column<number>(f, 'proto')[i],
    srcPkts: column<number>(f, 'src_pkts')[i],
    dstPkts: column<number>(f, 'dst_pkts')[i],
    srcBytes: column<number>(f, 'src_bytes')[i],
    dstBytes: column<number>(f, 'dst_bytes')[i],
    fromMs: column<number>(f, 'from_ms')[i],
    toMs: column<number>(f, 'to_ms')[i],
  }));
}

/** A slice saved to a file, with tshark's reading of it. */
async function slice(pathAndQuery: string, init?: RequestInit): Promise<{ status: number; headers: Headers; file: string; read: Awaited<ReturnType<typeof tsharkPackets>>; body: Buffer }> {
  const r = await sidecar.call(pathAndQuery, init);
  const body = Buffer.from(await r.arrayBuffer());
  const file = path.join(dir, `slice-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, body);
  const read = r.status === 200 ? await tsharkPackets(file) : { packets: [], problems: '' };
  return { status: r.status, headers: r.headers, file, read, body };
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  if (!corpusAvailable()) return notice('pcap slices of real captures');
  if (!(await tsharkInstalled())) {
    process.stderr.write('\n*** SKIPPED: pcap slices: tshark is not installed (.ci/run installs it) ***\n\n');
    return;
  }
  sidecar = await startSidecar();
  for (const e of chosen()) {
    const up = await upload(sidecar, path.basename(e.file), fs.readFileSync(e.abs));
    if (up.status !== 201) continue; // not a capture the sidecar stores (an invalid version, ...): nothing to slice
    const id = String((up.json as { captureId: string }).captureId);
    imported.set(e.file, { id, original: (await tsharkPackets(e.abs)).packets, flows: await flowsOf(id) });
  }
  ready = true;
}, 600_000);

afterAll(async () => {
  await sidecar?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('pcap slices', () => {
  it('covers the kinds of capture it must keep intact', () => {
    if (!ready) return;
    const files = [...imported.keys()].join(' ');
    for (const kind of [/multi-interface\.pcapng/, /QinQ|qinq/, /vxlan/, /gtp1_gn_normal_incl_fragmentation/, /fragmented-1/, /handshake-nano/]) expect(files).toMatch(kind);
    expect(imported.size).toBeGreaterThan(30);
  });

  it('a whole capture\'s flows: every packet of every flow, byte for byte, in order, read cleanly by tshark', async () => {
    if (!ready) return;
    const failures: string[] = [];
    for (const [file, c] of imported) {
      if (c.flows.length === 0) continue;
      const s = await slice('/api/export/pcap', post({ filters: [{ key: 'capture', operator: '=', value: c.id }] }));
      const packets = c.flows.reduce((t, f) => t + f.srcPkts + f.dstPkts, 0);
      const bytes = c.flows.reduce((t, f) => t + f.srcBytes + f.dstBytes, 0);
      const got = s.read.packets;
      const wrong = [
        s.status !== 200 && `status ${s.status}`,
        s.read.problems && `tshark: ${s.read.problems}`,
        got.length !== packets && `${got.length} packets, flows hold ${packets}`,
        got.reduce((t, p) => t + p.len, 0) !== bytes && `bytes differ from the flows' ${bytes}`,
        !isSubsequence(got, c.original) && 'packets differ from the original\'s',
        s.headers.get('x-capsight-packets') !== String(packets) && `header says ${s.headers.get('x-capsight-packets')} packets`,
        s.headers.get('content-length') !== null && Number(s.headers.get('content-length')) !== s.body.length && 'content-length differs from the body',
      ].filter(Boolean);
      if (wrong.length > 0) failures.push(`${file}: ${wrong.join('; ')}`);
    }
    expect(failures).toEqual([]);
  }, 600_000);

  it('one flow at a time: its packets and bytes in each direction, as tshark counts them', async () => {
    if (!ready) return;
    const failures: string[] = [];
    let checked = 0;
    let directional = 0;
    for (const [file, c] of imported) {
      for (const f of c.flows.slice(0, 10)) {
        const s = await slice(`/api/export/pcap?capture=${f.capture}&flow=${f.id}`);
        const got = s.read.packets;
        const fromSrc = got.filter((p) => p.innerSrc.includes(f.src));
        const fromDst = got.filter((p) => p.innerSrc.includes(f.dst));
        const sum = (ps: TsharkPacket[]): number => ps.reduce((t, p) => t + p.len, 0);
        // Directions by tshark's innermost source address, where it shows one of the flow's ends on
        // every packet (not for ICMP, which quotes other packets, nor for fragments of tunnelled
        // packets, whose inner header only the first fragment carries).
        const attributable = f.src !== f.dst && f.proto !== 1 && f.proto !== 58 && fromSrc.length + fromDst.length === got.length;
        const directions = attributable ? [fromSrc.length, sum(fromSrc), fromDst.length, sum(fromDst)] : null;
        if (attributable) directional++;
        const wrong = [
          s.status !== 200 && `status ${s.status}`,
          s.read.problems && `tshark: ${s.read.problems}`,
          got.length !== f.srcPkts + f.dstPkts && `${got.length} packets, flow has ${f.srcPkts + f.dstPkts}`,
          directions && JSON.stringify(directions) !== JSON.stringify([f.srcPkts, f.srcBytes, f.dstPkts, f.dstBytes]) && `directions ${JSON.stringify(directions)} vs flow ${JSON.stringify([f.srcPkts, f.srcBytes, f.dstPkts, f.dstBytes])}`,
          !isSubsequence(got, c.original) && 'packets differ from the original\'s',
          !/^attachment; filename="capsight-[0-9a-f]{16}-flow-\d+\.pcap(ng)?"$/.test(s.headers.get('content-disposition') ?? '') && `file name ${s.headers.get('content-disposition')}`,
        ].filter(Boolean);
        if (wrong.length > 0) failures.push(`${file} flow ${f.id}: ${wrong.join('; ')}`);
        checked++;
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(100);
    expect(directional).toBeGreaterThan(80);
  }, 600_000);

  it('matches tshark\'s conversation table for each TCP flow of a web capture', async () => {
    if (!ready) return;
    const c = imported.get('zeek/http__bro.org.pcap');
    if (!c) return;
    for (const f of c.flows.filter((x) => x.proto === 6).slice(0, 10)) {
      const s = await slice(`/api/export/pcap?capture=${f.capture}&flow=${f.id}`);
      const { stdout } = await promisify(execFile)('tshark', ['-n', '-q', '-r', s.file, '-z', 'conv,tcp'], { env: { ...process.env, LC_ALL: 'C' } });
      const rows = stdout.split('\n').filter((l) => l.includes('<->'));
      expect(rows).toHaveLength(1);
      // "A:p <-> B:q  frames bytes (B->A)  frames bytes (A->B) ...": bytes in "bytes", or rounded in kB/MB.
      const m = /^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s+(\d+) (bytes|kB|MB)\s+(\d+)\s+(\d+) (bytes|kB|MB)/.exec(rows[0].trim()) as RegExpExecArray;
      expect(m).not.toBeNull();
      const aIsSrc = m[1] === f.src && Number(m[2]) === f.sport;
      const toA = [Number(m[5]), Number(m[6]), m[7]] as const;
      const fromA = [Number(m[8]), Number(m[9]), m[10]] as const;
      const [fromSrc, toSrc] = aIsSrc ? [fromA, toA] : [toA, fromA];
      const unit = { bytes: 1, kB: 1000, MB: 1_000_000 } as Record<string, number>;
      // (tshark rounds kB and MB down or to nearest depending on its version: either is accepted there.)
      const shown = (bytes: number, [, value, u]: readonly [number, number, string]): number => (u === 'bytes' || Math.floor(bytes / unit[u]) !== value ? Math.round(bytes / unit[u]) : value);
      expect([fromSrc[0], fromSrc[1], toSrc[0], toSrc[1]]).toEqual([f.srcPkts, shown(f.srcBytes, fromSrc), f.dstPkts, shown(f.dstBytes, toSrc)]);
    }
  });

  it('keeps the interfaces of a pcapng and the link type, snap length and time resolution of a pcap', async () => {
    if (!ready) return;
    const multi = imported.get('zeek/pcapng-multi-interface.pcapng');
    const nano = imported.get('tcpdump/tcp-handshake-nano.pcap');
    if (!multi || !nano) return;
    const m = await slice('/api/export/pcap', post({ filters: [{ key: 'capture', operator: '=', value: multi.id }] }));
    expect(new Set(m.read.packets.map((p) => p.iface))).toEqual(new Set(multi.original.map((p) => p.iface)));
    expect(m.headers.get('content-type')).toBe('application/x-pcapng');
    const n = await slice('/api/export/pcap', post({ filters: [{ key: 'capture', operator: '=', value: nano.id }] }));
    // The pcap file header is the original's: magic (nanosecond), version, snap length, link type.
    expect(n.body.subarray(0, 24)).toEqual(fs.readFileSync(corpusEntries().find((e) => e.file === 'tcpdump/tcp-handshake-nano.pcap')?.abs as string).subarray(0, 24));
    expect(n.read.packets.map(packetKey)).toEqual(nano.original.map(packetKey));
  });

  it('several captures in one file: a pcapng section each, every packet as in its own slice', async () => {
    if (!ready) return;
    const a = imported.get('zeek/pcapng-multi-interface.pcapng');
    const b = imported.get('zeek/vlan-qinqinq.pcap');
    const c = imported.get('tcpdump/tcp-handshake-nano.pcap');
    if (!a || !b || !c) return;
    for (const x of [a, b, c]) expect(x.flows.length).toBeGreaterThan(0);
    const s = await slice('/api/export/pcap', post({ filters: [{ key: 'capture', operator: 'in', value: [a.id, b.id, c.id] }] }));
    expect(s.status).toBe(200);
    expect(s.read.problems).toBe('');
    expect(s.headers.get('content-type')).toBe('application/x-pcapng');
    expect(s.headers.get('content-disposition')).toMatch(/-and-2-more-/);
    const own = await Promise.all([a, b, c].map(async (x) => (await slice('/api/export/pcap', post({ filters: [{ key: 'capture', operator: '=', value: x.id }] }))).read.packets));
    // Time, lengths and bytes of every packet equal; sections follow the captures' start times.
    const facts = (p: TsharkPacket): string => `${p.time} ${p.len} ${p.capLen} ${p.encap} ${p.raw}`;
    expect(s.read.packets.map(facts).sort()).toEqual(own.flat().map(facts).sort());
    expect(new Set(s.read.packets.map((p) => p.section)).size).toBeGreaterThanOrEqual(3);
  });

  it('a gzip capture (kept compressed) slices to the same bytes as its plain twin', async () => {
    if (!ready) return;
    const e = corpusEntries().find((x) => x.file === 'zeek/http__bro.org.pcap') as CorpusEntry;
    const plain = imported.get(e.file);
    if (!plain) return;
    const up = await upload(sidecar, 'bro.org.pcap.gz', zlib.gzipSync(fs.readFileSync(e.abs)));
    expect(up.status).toBe(201);
    const gz = String((up.json as { captureId: string }).captureId);
    for (const f of plain.flows.slice(0, 5)) {
      const a = await slice(`/api/export/pcap?capture=${plain.id}&flow=${f.id}`);
      const b = await slice(`/api/export/pcap?capture=${gz}&flow=${f.id}`);
      expect(b.status).toBe(200);
      expect(b.body).toEqual(a.body);
    }
  });

  it('cuts a flow to the time range asked for', async () => {
    if (!ready) return;
    const c = imported.get('zeek/http__bro.org.pcap');
    if (!c) return;
    const f = [...c.flows].sort((x, y) => y.srcPkts + y.dstPkts - (x.srcPkts + x.dstPkts))[0];
    const whole = await slice(`/api/export/pcap?capture=${f.capture}&flow=${f.id}`);
    const times = whole.read.packets.map((p) => Number(p.time) * 1000);
    const mid = Math.floor((times[0] + times[times.length - 1]) / 2);
    const s = await slice('/api/export/pcap', post({ from: mid, to: f.toMs, filters: [{ key: 'capture', operator: '=', value: f.capture }, { key: 'flow_id', operator: '=', value: f.id }] }));
    const expected = whole.read.packets.filter((p) => Math.floor(Number(p.time) * 1000) >= mid);
    expect(s.read.packets.map(packetKey)).toEqual(expected.map(packetKey));
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(whole.read.packets.length);
  });
});
