import { scanCapture } from '../testing/scan-capture';
import { column, generated, postJson, query, startSidecar, upload, type RunningSidecar } from '../testing/sidecar';
import { bearerMatches } from './auth';

type Results = Record<string, { status: number; error?: string; frames: { schema: { fields: { name: string }[] }; data: { values: unknown[][] } }[] }>;

/** Every bad input is the client's error (4xx) with a message naming what is wrong, never a 500. */
describe('bad input answers 4xx naming the field', () => {
  let s: RunningSidecar;
  let scanId: string;
  let otherId: string;
  beforeAll(async () => {
    s = await startSidecar();
    scanId = String((await upload(s, 'scan.pcap', scanCapture(2000))).json.captureId);
    otherId = String((await upload(s, 'other.pcap', generated({ bytes: 200_000, seed: 61 }))).json.captureId);
  });
  afterAll(async () => s.close());

  it.each([
    ['(a)\\1', /filter "server_name": the regular expression "\(a\)\\\\1" is not one the store can run \(RE2 syntax.*\): invalid escape sequence: \\1/],
    ['(?=a)', /invalid perl operator: \(\?=/],
    ['(?<!a)b', /invalid perl operator/],
    ['(a{1000}){1000}', /invalid repetition size: \{1000\}/],
  ])('refuses the regular expression %s that JavaScript takes and RE2 does not', async (pattern, message) => {
    const r = await postJson(s, '/api/query', { refId: 'R', kind: 'flows', filters: [{ key: 'server_name', operator: '=~', value: pattern }] });
    expect(r.status).toBe(400);
    expect(String(r.json.message)).toMatch(/^query R: /);
    expect(String(r.json.message)).toMatch(message);
  });

  it('fails only the query with the bad regular expression in a list (207)', async () => {
    const r = await postJson(s, '/api/query', { queries: [{ refId: 'A', kind: 'protocols' }, { refId: 'B', kind: 'flows', filters: [{ key: 'app', operator: '!~', value: '(?=x)' }] }, { refId: 'C', kind: 'flows', filters: [{ key: 'app', operator: '=~', value: '(?i)DNS|tls' }] }] });
    expect(r.status).toBe(207);
    const results = r.json.results as Results;
    expect(results.A.status).toBe(200);
    expect(results.B).toMatchObject({ status: 400, frames: [] });
    expect(results.C.status).toBe(200);
  });

  it.each([
    [{ from: 1e300 }, /"from" \(1e\+300\) is not a time/],
    [{ to: -1e300 }, /"to" \(-1e\+300\) is not a time/],
    [{ kind: 'timeseries', intervalMs: 1e308 }, /"intervalMs" \(1e\+308\) is longer than a year/],
    [{ filters: [{ key: 'port', operator: '=', value: 1e300 }] }, /filter "port": 1e\+300 is out of range/],
    [{ filters: [{ key: 'src_asn', operator: '>', value: '12345678901234567890' }] }, /filter "src_asn": 12345678901234567890 is out of range/],
    [{ filters: [{ key: 'port', operator: '=', value: '' }] }, /filter "port": "" is not a decimal number/],
    [{ filters: [{ key: 'dport', operator: 'in', value: ['53', '0x35'] }] }, /filter "dport": "0x35" is not a decimal number/],
    [{ filters: [{ key: 'ip', operator: '=', value: '010.001.057.056' }] }, /filter "ip": "010\.001\.057\.056" is not an IP address/],
    [{ filters: [{ key: 'src_local', operator: '=', value: 'maybe' }] }, /filter "src_local": "maybe" is not true or false/],
  ])('refuses %j', async (extra, message) => {
    const r = await postJson(s, '/api/query', { refId: 'Q', kind: 'flows', ...extra });
    expect(r.status).toBe(400);
    expect(String(r.json.message)).toMatch(message);
  });

  it('answers refIds named like object properties (__proto__, constructor, toString)', async () => {
    const r = await postJson(s, '/api/query', { queries: ['__proto__', 'constructor', 'toString', 'hasOwnProperty'].map((refId) => ({ refId, kind: 'keys' })) });
    expect(r.status).toBe(200);
    const results = r.json.results as Results;
    for (const refId of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) expect(Object.getOwnPropertyDescriptor(results, refId)?.value).toMatchObject({ status: 200 });
    const dup = await postJson(s, '/api/query', { queries: [{ refId: 'X', kind: 'keys' }, { refId: 'X', kind: 'keys' }] });
    expect(dup.status).toBe(400);
    expect(dup.json.message).toBe('duplicate refId "X"');
  });

  it('applies a captures query\'s filters: on the capture itself, and by its flows', async () => {
    const names = async (filters: unknown[]): Promise<string[]> => column<string>((await query(s, { kind: 'captures', filters })).frames[0], 'name').sort();
    expect(await names([])).toEqual(['other.pcap', 'scan.pcap']);
    expect(await names([{ key: 'capture', operator: '!=', value: scanId }])).toEqual(['other.pcap']);
    expect(await names([{ key: 'capture', operator: '=~', value: `${otherId.slice(0, 6)}.*` }])).toEqual(['other.pcap']);
    expect(await names([{ key: 'src', operator: 'cidr', value: '10.0.0.0/24' }, { key: 'dport', operator: '<', value: 100 }])).toEqual(['scan.pcap']);
  });

  it('answers 400 to a multipart upload without a boundary and to an upload name over 200 characters', async () => {
    const r = await s.call('/api/imports/upload', { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toMatch(/^malformed multipart\/form-data body: .*boundary/i);
    const long = await upload(s, `${'x'.repeat(5000)}.pcap`, generated({ bytes: 20_000, seed: 62 }));
    expect(long.status).toBe(400);
    expect(long.json.message).toBe("the uploaded file's name is 5005 characters long; at most 200 are allowed (rename the file)");
    expect(s.store.summary().captures).toBe(2);
  });

  it('compares tokens by HMAC: right, wrong of any length, missing', () => {
    expect(bearerMatches('Bearer s3cret-token', 's3cret-token')).toBe(true);
    for (const h of ['Bearer s3cret-toke', 'Bearer s3cret-token-and-more', 'Bearer S3CRET-TOKEN', 'Basic s3cret-token', undefined]) expect(bearerMatches(h, 's3cret-token')).toBe(false);
  });
});
