import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postJson, startSidecar, waitForJob, type RunningSidecar } from '../testing/sidecar';
import { redactText, redactUrl, urlWithoutQuery } from './redact';
import { UrlPolicy } from './url-policy';

/**
 * URL imports on a cloud VM must not become a way into the VNet or the metadata service. Every
 * refusal here happens before a connection is opened (no traffic leaves 127.0.0.1).
 */
describe('URL import refusals (SSRF)', () => {
  let s: RunningSidecar;
  let redirector: http.Server;
  let target = '';
  beforeAll(async () => {
    redirector = http.createServer((_req, res) => {
      res.writeHead(302, { location: target });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const port = (redirector.address() as AddressInfo).port;
    s = await startSidecar({ 'allow-hosts': '*.blob.core.windows.net,localhost,10.0.0.1,metadata.test,::7f00:1,64:ff9b::a9fe:a9fe,2002:a00:1::1', 'import-allow': `169.254.169.254,127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => redirector.close(r));
  });

  it.each([
    ['http://169.254.169.254/metadata/instance?api-version=2021-02-01', /169\.254\.169\.254 is the cloud metadata service/],
    ['https://169.254.169.254/metadata/instance', /cloud metadata service/],
    ['https://localhost/capture.pcap', /resolves to loopback address/],
    ['https://10.0.0.1/capture.pcap', /private address 10\.0\.0\.1/],
    ['https://127.0.0.1:9/x.pcap', /host "127\.0\.0\.1" is not allowed/],
    ['http://account.blob.core.windows.net/c/x.cap?sig=abc', /plain http is refused/],
    ['ftp://account.blob.core.windows.net/c/x.cap', /only https/],
    ['https://evil.example.com/x.cap', /host "evil\.example\.com" is not allowed/],
    ['https://user:pw@account.blob.core.windows.net/c/x.cap', /credentials in the URL/],
    ['not a url', /not a valid URL/],
    ['https://[::7f00:1]/x.pcap', /the IPv4-compatible form of 127\.0\.0\.1/],
    ['https://[64:ff9b::a9fe:a9fe]/x.pcap', /the NAT64 form of 169\.254\.169\.254 is the cloud metadata service/],
    ['https://[2002:a00:1::1]/x.pcap', /the 6to4 form of 10\.0\.0\.1/],
  ])('refuses %s with 400', async (url, message) => {
    const r = await postJson(s, '/api/imports', { url });
    expect(r.status).toBe(400);
    expect(String(r.json.message)).toMatch(message);
  });

  it.each([
    ['https://10.0.0.1/private.pcap', /private address 10\.0\.0\.1/],
    ['http://169.254.169.254/latest/meta-data/', /cloud metadata service/],
    ['https://evil.example.com/x.pcap', /not allowed/],
  ])('follows a redirect only after checking it again: -> %s', async (to, message) => {
    target = to;
    const port = (redirector.address() as AddressInfo).port;
    const r = await postJson(s, '/api/imports', { url: `http://127.0.0.1:${port}/capture.pcap?sig=SECRET-SIGNATURE` });
    expect(r.status).toBe(202);
    const job = await waitForJob(s, String(r.json.id));
    expect(job.state).toBe('failed');
    expect(String(job.error)).toMatch(message);
    expect(JSON.stringify(job) + s.logs.join('\n')).not.toContain('SECRET-SIGNATURE');
  });
});

describe('addresses that carry an IPv4 address', () => {
  const policy = new UrlPolicy({ allowHosts: ['*'], importAllow: [] });
  const url = new URL('https://example.test/x.pcap');
  it.each([
    ['::7f00:1', /loopback address ::7f00:1, the IPv4-compatible form of 127\.0\.0\.1/],
    ['::ffff:127.0.0.1', /loopback address 127\.0\.0\.1/],
    ['::ffff:a9fe:a9fe', /169\.254\.169\.254 is the cloud metadata service/],
    ['64:ff9b::a9fe:a9fe', /64:ff9b::a9fe:a9fe, the NAT64 form of 169\.254\.169\.254 is the cloud metadata service/],
    ['64:ff9b::a00:1', /private address 64:ff9b::a00:1, the NAT64 form of 10\.0\.0\.1/],
    ['64:ff9b:1::a00:1', /local-use NAT64 address 64:ff9b:1::a00:1/],
    ['2002:7f00:1::1', /loopback address 2002:7f00:1::1, the 6to4 form of 127\.0\.0\.1/],
    ['2002:c0a8:101::1', /private address 2002:c0a8:101::1, the 6to4 form of 192\.168\.1\.1/],
    ['2001:0:a9fe:a9fe::1', /the Teredo server form of 169\.254\.169\.254 is the cloud metadata service/],
    ['2001:0:4136:e378:8000:63bf:f5ff:fffe', /private address 2001:0:4136:e378:8000:63bf:f5ff:fffe, the Teredo client form of 10\.0\.0\.1/],
  ])('refuses %s by the IPv4 address it carries', (address, message) => {
    expect(() => policy.checkAddress(address, false, url)).toThrow(message);
  });

  it.each(['2002:808:808::1', '64:ff9b::808:808', '2001:0:808:808::f7f7:f7f7', '2606:4700::1111'])('lets %s (public inside and out) through', (address) => {
    expect(() => policy.checkAddress(address, false, url)).not.toThrow();
  });

  it('refuses an embedded metadata address even for an explicit exception', () => {
    expect(() => policy.checkAddress('64:ff9b::a9fe:a9fe', true, url)).toThrow(/cloud metadata service/);
    expect(() => policy.checkAddress('64:ff9b::a00:1', true, url)).not.toThrow();
  });
});

describe('redaction', () => {
  it('cuts SAS signatures, keys and tokens from URLs and text', () => {
    expect(redactUrl('https://a.blob.core.windows.net/c/b.cap?sv=2024&sig=abc%2Fdef&se=x')).toBe('https://a.blob.core.windows.net/c/b.cap?sv=2024&sig=REDACTED&se=x');
    expect(redactUrl('https://u:p@h/x?token=t')).toBe('https://h/x?token=REDACTED');
    expect(redactText('GET https://a/b?sig=s3cr3t failed; AccountKey=abc==;Bearer eyJhbGciOi')).toBe('GET https://a/b?sig=REDACTED failed; AccountKey=REDACTED;Bearer REDACTED');
  });

  it.each([
    ['after a space', 'Server failed to authenticate the request. sig=S3CRET is not valid', 'Server failed to authenticate the request. sig=REDACTED is not valid'],
    ['URL-encoded once', 'signed resource x.cap%3Fsv%3D2024%26sig%3DS3CRET%26se%3D1', 'signed resource x.cap%3Fsv%3D2024%26sig%3DREDACTED%26se%3D1'],
    ['URL-encoded twice', 'next=%2Fc%2Fx.cap%253Fsv%253D1%2526sig%253DS3CRET%2526se%253D1', 'next=%2Fc%2Fx.cap%253Fsv%253D1%2526sig%253DREDACTED%2526se%253D1'],
    ['in a fragment', 'https://a.blob.core.windows.net/c/x.cap#sig=S3CRET&se=1', 'https://a.blob.core.windows.net/c/x.cap#sig=REDACTED&se=1'],
    ['in a connection string', 'AccountName=a;AccountKey=S3CRET==;EndpointSuffix=core.windows.net', 'AccountName=a;AccountKey=REDACTED;EndpointSuffix=core.windows.net'],
    ['in quotes', '<Message>"sig=S3CRET"</Message>', '<Message>"sig=REDACTED"</Message>'],
  ])('cuts a secret %s', (_where, text, expected) => {
    expect(redactText(text)).toBe(expected);
    expect(redactText(text)).not.toContain('S3CRET');
  });

  it('keeps no secret in a source identity: fragment dropped, encoded query in the path cut', () => {
    expect(urlWithoutQuery('https://a.blob.core.windows.net/c/x.cap%3Fsig%3DS3CRET?sig=1#sig=2')).toBe('https://a.blob.core.windows.net/c/x.cap%3Fsig%3DREDACTED');
  });
});

describe('secrets in what remote servers answer and in the URL itself', () => {
  let s: RunningSidecar;
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const body = req.url?.startsWith('/forbidden') ? 'AuthenticationFailed: the request sig=S3CRET-A is not valid, nor %26sig%3DS3CRET-B' : '<Error><Code>InternalError</Code><Message>signature sig=S3CRET-C%26se%3D1</Message></Error>';
      res.writeHead(req.url?.startsWith('/forbidden') ? 403 : 500, { 'content-type': 'text/plain' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
    s = await startSidecar({ 'import-allow': `127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => server.close(r));
  });

  it.each(['/forbidden/x.pcap', '/broken/x.pcap', '/c/x.pcap%3Fsv%3D1%26sig%3DS3CRET-D#sig=S3CRET-E', '/forbidden/y.pcap?sv=1&sig=S3CRET-F#token=S3CRET-G'])('keeps every secret of %s out of the job, its name, the job list and the log', async (p) => {
    const r = await postJson(s, '/api/imports', { url: `${base}${p}` });
    expect(r.status).toBe(202);
    const job = await waitForJob(s, String(r.json.id));
    expect(job.state).toBe('failed');
    expect(String(job.error)).toMatch(/HTTP 500|access denied/);
    const everything = [JSON.stringify(r.json), JSON.stringify(job), await (await s.call('/api/jobs')).text(), s.logs.join('\n')].join('\n');
    expect(everything).not.toMatch(/S3CRET/);
  });
});
