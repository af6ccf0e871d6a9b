import { addressNumber, cidrRange } from '../../enrich/address-class';
import * as ipaddr from 'ipaddr.js';
import { ipv4Frame, ipv6UdpFrame, pcapFile } from '../../synth/frames';
import { postJson, startSidecar, upload, type RunningSidecar } from '../../testing/sidecar';

/**
 * CIDR filters against addresses at both ends of the address space, IPv4 and IPv6, at every prefix
 * length: the sidecar's flow counts must equal the count computed here from the addresses.
 * (Blocks in the upper half of the IPv6 space, fd00::/8 among them, once matched nothing: their
 * numbers exceed a signed 128-bit parameter.)
 */
const V6 = ['::2', '::ffff:1:2', '7fff:ffff:ffff:ffff:ffff:ffff:ffff:fffe', '8000::1', 'fd00:1::5', 'fd00:1::6', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe'];
const V4 = ['0.0.0.1', '10.0.0.1', '127.255.255.254', '128.0.0.1', '192.168.1.1', '255.255.255.254'];
/** Flows: each address with the next one of its family (so every address is in one or two flows). */
const pairs = (list: string[]) => list.map((a, i) => [a, list[(i + 1) % list.length]] as const);

let sidecar: RunningSidecar;

beforeAll(async () => {
  sidecar = await startSidecar();
  const packets = [
    ...pairs(V6).map(([a, b], i) => ({ sec: 1_767_225_600 + i, frac: 0, data: ipv6UdpFrame({ src: a, dst: b, sport: 40000 + i, dport: 9 }) })),
    ...pairs(V4).map(([a, b], i) => ({ sec: 1_767_225_700 + i, frac: 0, data: ipv4Frame({ src: a, dst: b, proto: 17, sport: 40000 + i, dport: 9 }) })),
  ];
  expect((await upload(sidecar, 'edges.pcap', pcapFile({}, packets))).status).toBe(201);
}, 60_000);

afterAll(async () => sidecar?.close());

/** Flows with either end inside the block, counted from the addresses themselves. */
function expected(block: string, flows: readonly (readonly [string, string])[]): number {
  const [lo, hi] = cidrRange(block);
  const inside = (a: string) => {
    const n = addressNumber(ipaddr.parse(a) as ipaddr.IPv4 | ipaddr.IPv6);
    return n >= lo && n <= hi;
  };
  return flows.filter(([a, b]) => inside(a) || inside(b)).length;
}

async function counts(blocks: string[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < blocks.length; i += 50) {
    const chunk = blocks.slice(i, i + 50);
    const r = await postJson(sidecar, '/api/query', { queries: chunk.map((b, j) => ({ refId: `Q${j}`, kind: 'flows', limit: 100, filters: [{ key: 'ip', operator: 'cidr', value: b }] })) });
    expect(r.status).toBe(200);
    const results = r.json.results as Record<string, { frames: { data: { values: unknown[][] } }[] }>;
    out.push(...chunk.map((_, j) => results[`Q${j}`].frames[0].data.values[0].length));
  }
  return out;
}

describe('cidr filters', () => {
  const flows = [...pairs(V6), ...pairs(V4)];

  it('match at every IPv6 prefix length, at both ends of the space', async () => {
    const blocks = V6.flatMap((a) => Array.from({ length: 129 }, (_, p) => `${a}/${p}`));
    const got = await counts(blocks);
    expect(blocks.map((b, i) => `${b}: ${got[i]}`).filter((_line, i) => got[i] !== expected(blocks[i], flows))).toEqual([]);
    // The cases users met: fd00::/8 (the default local range), ::/0 (everything), a /128.
    expect(got[blocks.indexOf('fd00:1::5/8')]).toBe(3);
    expect(got[blocks.indexOf('::2/0')]).toBe(flows.length);
  });

  it('match at every IPv4 prefix length, at both ends of the space', async () => {
    const blocks = V4.flatMap((a) => Array.from({ length: 33 }, (_, p) => `${a}/${p}`));
    const got = await counts(blocks);
    expect(blocks.map((b, i) => `${b}: ${got[i]}`).filter((_line, i) => got[i] !== expected(blocks[i], flows))).toEqual([]);
    // IPv4 is stored as IPv4-mapped IPv6: ::ffff:1:2 (0.1.0.2) is inside 0.0.0.0/0 too.
    expect(got[blocks.indexOf('10.0.0.1/0')]).toBe(pairs(V4).length + 2);
  });
});
