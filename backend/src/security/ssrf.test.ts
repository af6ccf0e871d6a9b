import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { postJson, startSidecar, waitForJob, type RunningSidecar } from '../testing/sidecar';
import { redactText, redactUrl } from './redact';

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
    s = await startSidecar({ 'allow-hosts': '*.blob.core.windows.net,localhost,10.0.0.1,metadata.test', 'import-allow': `169.254.169.254,127.0.0.1:${port}` });
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

describe('redaction', () => {
  it('cuts SAS signatures, keys and tokens from URLs and text', () => {
    expect(redactUrl('https://a.blob.core.windows.net/c/b.cap?sv=2024&sig=abc%2Fdef&se=x')).toBe('https://a.blob.core.windows.net/c/b.cap?sv=2024&sig=REDACTED&se=x');
    expect(redactUrl('https://u:p@h/x?token=t')).toBe('https://h/x?token=REDACTED');
    expect(redactText('GET https://a/b?sig=s3cr3t failed; AccountKey=abc==;Bearer eyJhbGciOi')).toBe('GET https://a/b?sig=REDACTED failed; AccountKey=REDACTED;Bearer REDACTED');
  });
});
