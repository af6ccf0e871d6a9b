import { tcpFlagLetters } from '../model/names';
import { generated, postJson, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { READABLE } from './flow-table';

/** The flow table as people read it, its page notice, and the notice of a range without the captures' traffic. */
let sidecar: RunningSidecar;
const START = 1_767_225_600_000; // the generated capture starts at 2026-01-01T00:00:00Z

interface Frame {
  schema: { fields: { name: string; type: string; config: { displayName?: string; links?: { url: string }[]; custom?: { hidden?: boolean } } }[]; meta: { notices?: { severity: string; text: string; link?: string }[]; custom?: { total?: number } } };
  data: { values: unknown[][] };
}

async function frames(q: Record<string, unknown>): Promise<Frame[]> {
  const r = await postJson(sidecar, '/api/query', { refId: 'A', ...q });
  expect(r.status).toBe(200);
  return (r.json.results as Record<string, { frames: Frame[] }>).A.frames;
}

const col = (f: Frame, name: string) => f.data.values[f.schema.fields.findIndex((x) => x.name === name)];

beforeAll(async () => {
  sidecar = await startSidecar();
  expect((await upload(sidecar, 'g.pcap', generated({ bytes: 1_000_000, seed: 7 }))).status).toBe(201);
}, 60_000);

afterAll(async () => sidecar?.close());

describe('the flow table', () => {
  it('starts with the columns people read, by name, then the rest; nothing is lost', async () => {
    const [f] = await frames({ kind: 'flows', limit: 20 });
    const names = f.schema.fields.map((x) => x.name);
    expect(names.slice(0, READABLE.length)).toEqual([...READABLE]);
    expect(names).toEqual(expect.arrayContaining(['last', 'bytes', 'proto', 'src_asn', 'dst_as_org', 'capture_id', 'flow_id', 'src_tcp_flags', 'src_flags']));
    expect(f.schema.fields.find((x) => x.name === 'src')?.config.displayName).toBe('Client');
    expect(f.schema.fields.filter((x) => ['protocol', 'service', 'src_flags', 'dst_flags'].includes(x.name)).map((x) => x.type)).toEqual(['string', 'string', 'string', 'string']);
    const proto = col(f, 'proto') as number[];
    expect((col(f, 'protocol') as string[]).map((p, i) => [p, proto[i]]).every(([p, n]) => ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6' } as Record<number, string>)[n as number] === p)).toBe(true);
    const flags = col(f, 'src_tcp_flags') as number[];
    (col(f, 'src_flags') as (string | null)[]).forEach((letters, i) => expect(letters).toBe(proto[i] === 6 ? tcpFlagLetters(flags[i]) : null));
    const https = (col(f, 'dport') as number[]).findIndex((p, i) => p === 443 && proto[i] === 6);
    if (https >= 0) expect((col(f, 'service') as string[])[https]).toBe('https');
  });

  it('links each row to its conversation at its time; the span fields are hidden', async () => {
    const [f] = await frames({ kind: 'flows', limit: 1 });
    expect(f.schema.fields.find((x) => x.name === 'first')?.config.links?.[0].url).toBe('/d/capsight-flows?from=${__data.fields.from_ms}&to=${__data.fields.to_ms}&var-ip=${__data.fields.src}&var-port=${__data.fields.sport}');
    expect(f.schema.fields.filter((x) => x.config.custom?.hidden).map((x) => x.name)).toEqual(['from_ms', 'to_ms']);
    const from = (col(f, 'from_ms') as number[])[0];
    const to = (col(f, 'to_ms') as number[])[0];
    expect(from).toBe(Math.floor((col(f, 'first') as number[])[0]));
    expect(to).toBeGreaterThan((col(f, 'last') as number[])[0]);
    expect(Number.isInteger(from) && Number.isInteger(to)).toBe(true);
  });

  it('keeps what a row\'s links read, hidden, when the chosen columns leave it out', async () => {
    const [f] = await frames({ kind: 'flows', limit: 3, columns: ['first', 'dst', 'bytes'] });
    const shown = f.schema.fields.filter((x) => !x.config.custom?.hidden).map((x) => x.name);
    const hidden = f.schema.fields.filter((x) => x.config.custom?.hidden).map((x) => x.name);
    expect(shown).toEqual(['first', 'dst', 'bytes']);
    expect(hidden).toEqual(['from_ms', 'to_ms', 'src', 'sport', 'capture_id', 'flow_id']);
    expect(col(f, 'flow_id')).toHaveLength(3);
  });

  it('says when a page is not every matching flow, with the total; never a silent cut', async () => {
    const [all] = await frames({ kind: 'flows', limit: 10000 });
    const total = all.data.values[0].length;
    expect(all.schema.meta.notices ?? []).toEqual([]);
    const [page] = await frames({ kind: 'flows', limit: 10, offset: 20, sort: { by: 'bytes', desc: true } });
    expect(page.schema.meta.custom?.total).toBe(total);
    expect(page.schema.meta.notices).toEqual([{ severity: 'info', text: `showing flows 21-30 of ${total}, sorted by bytes: narrow with filters or the time range, or page on` }]);
    const [beyond] = await frames({ kind: 'flows', limit: 10, offset: total + 5 });
    expect(beyond.schema.meta.notices?.[0].text).toBe(`no flows on this page: the filters select ${total} flow(s); the page starts at row ${total + 6}`);
  });
});

describe('a range without the captures\' traffic', () => {
  it('says where the traffic is, with a link that sets the range (and the capture variable when one was picked)', async () => {
    const [cap] = await frames({ kind: 'captures' });
    const id = (col(cap, 'id') as string[])[0];
    const now = Date.now();
    const series = await frames({ kind: 'timeseries', from: now - 6 * 3600_000, to: now });
    const notice = series[0].schema.meta.notices?.[0];
    expect(notice).toMatchObject({ severity: 'info', text: expect.stringMatching(/^no capture has traffic in this time range: the captures hold traffic from 2026-01-01 00:00:00Z to 2026-01-01 00:0\d:\d\dZ UTC/) });
    const link = new URLSearchParams(String(notice?.link).slice(1));
    expect(Number(link.get('from'))).toBe(Math.floor((col(cap, 'first') as number[])[0]));
    expect(Number(link.get('to'))).toBeGreaterThan((col(cap, 'last') as number[])[0]);
    const picked = await frames({ kind: 'endpoints', from: now - 3600_000, to: now, filters: [{ key: 'capture', operator: 'in', value: [id] }] });
    expect(picked[0].schema.meta.notices?.[0]).toMatchObject({ text: expect.stringMatching(/^capture g\.pcap has no traffic in this time range: it is traffic from /), link: expect.stringMatching(new RegExp(`&var-capture=${id}$`)) });
    // Inside the span: no notice.
    const inside = await frames({ kind: 'timeseries', from: START, to: START + 3600_000 });
    expect(inside[0].schema.meta.notices).toBeUndefined();
  });
});
