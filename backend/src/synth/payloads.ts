/**
 * Application payloads in their real wire formats, for generated captures: DNS query/response
 * (RFC 1035), TLS 1.3 ClientHello with SNI and ALPN (RFC 8446), HTTP/1.1 request/response, SSH
 * identification strings. Built once per flow, so plain Buffers are fine here.
 */

export const SERVER_NAMES = [
  'www.microsoft.com', 'login.microsoftonline.com', 'management.azure.com', 'storage.blob.core.windows.net', 'github.com',
  'api.github.com', 'registry.npmjs.org', 'www.google.com', 'fonts.gstatic.com', 'www.wikipedia.org', 'cdn.jsdelivr.net',
  'update.ubuntu.com', 'deb.debian.org', 'www.bbc.co.uk', 'www.lemonde.fr', 'www.spiegel.de', 'www.nhk.or.jp', 'www.naver.com',
  'www.baidu.com', 'www.yandex.ru', 'www.globo.com', 'www.abc.net.au', 'www.cbc.ca', 'www.elpais.com', 'www.corriere.it',
  'api.stripe.com', 'slack.com', 'zoom.us', 'teams.microsoft.com', 'outlook.office365.com', 'grafana.com', 'prometheus.io',
];

function nameBytes(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  const out = Buffer.alloc(parts.reduce((n, p) => n + 1 + p.length, 1));
  let o = 0;
  for (const p of parts) {
    out[o++] = p.length;
    out.write(p, o, 'ascii');
    o += p.length;
  }
  out[o] = 0;
  return out;
}

export function dnsQuery(id: number, name: string, qtype = 1): Buffer {
  const q = nameBytes(name);
  const b = Buffer.alloc(12 + q.length + 4);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x0100, 2); // RD
  b.writeUInt16BE(1, 4);
  q.copy(b, 12);
  b.writeUInt16BE(qtype, 12 + q.length);
  b.writeUInt16BE(1, 14 + q.length);
  return b;
}

/** Response with one A record (or NXDOMAIN with none). */
export function dnsResponse(id: number, name: string, address: number, nxdomain: boolean): Buffer {
  const q = nameBytes(name);
  const answer = nxdomain ? 0 : 16;
  const b = Buffer.alloc(12 + q.length + 4 + answer);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(0x8180 | (nxdomain ? 3 : 0), 2); // QR, RD, RA, rcode
  b.writeUInt16BE(1, 4);
  b.writeUInt16BE(nxdomain ? 0 : 1, 6);
  q.copy(b, 12);
  let o = 12 + q.length;
  b.writeUInt16BE(1, o);
  b.writeUInt16BE(1, o + 2);
  o += 4;
  if (!nxdomain) {
    b.writeUInt16BE(0xc00c, o); // pointer to the question name
    b.writeUInt16BE(1, o + 2);
    b.writeUInt16BE(1, o + 4);
    b.writeUInt32BE(300, o + 6);
    b.writeUInt16BE(4, o + 10);
    b.writeUInt32BE(address >>> 0, o + 12);
  }
  return b;
}

function ext(type: number, body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(body.length, 2);
  return Buffer.concat([h, body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n, 0);
  return b;
}

/** A TLS ClientHello handshake message (type 1), without the record header. */
/** `keyShareFirst`: the key share before SNI and ALPN (browsers shuffle extensions), else after them. */
export function clientHelloMessage(sni: string, alpn: string[], random: (n: number) => Buffer, keySharePadding = 0, keyShareFirst = false): Buffer {
  const host = Buffer.from(sni, 'ascii');
  const sniBody = Buffer.concat([u16(host.length + 3), Buffer.from([0]), u16(host.length), host]);
  const protos = Buffer.concat(alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'ascii')])));
  const key = random(32 + keySharePadding);
  const keyShare = Buffer.concat([u16(key.length + 4), u16(0x001d), u16(key.length), key]);
  const share = ext(51, keyShare);
  const extensions = Buffer.concat([
    ...(keyShareFirst ? [share] : []),
    ext(0, sniBody),
    ext(10, Buffer.concat([u16(4), u16(0x001d), u16(0x0017)])), // supported groups
    ext(13, Buffer.concat([u16(4), u16(0x0403), u16(0x0804)])), // signature algorithms
    ext(16, Buffer.concat([u16(protos.length), protos])), // ALPN
    ext(43, Buffer.from([2, 0x03, 0x04])), // supported versions: TLS 1.3
    ...(keyShareFirst ? [] : [share]),
  ]);
  const suites = Buffer.concat([u16(6), u16(0x1301), u16(0x1302), u16(0x1303)]);
  const body = Buffer.concat([u16(0x0303), random(32), Buffer.from([32]), random(32), suites, Buffer.from([1, 0]), u16(extensions.length), extensions]);
  const header = Buffer.from([1, (body.length >> 16) & 255, (body.length >> 8) & 255, body.length & 255]);
  return Buffer.concat([header, body]);
}

export function tlsRecord(type: number, body: Buffer): Buffer {
  const h = Buffer.from([type, 0x03, 0x01, (body.length >> 8) & 255, body.length & 255]);
  return Buffer.concat([h, body]);
}

export function httpRequest(method: string, host: string, path: string): Buffer {
  return Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: capsight-synth/1.0\r\nAccept: */*\r\n\r\n`, 'ascii');
}

export function httpResponseHead(contentLength: number): Buffer {
  return Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${contentLength}\r\n\r\n`, 'ascii');
}

export const SSH_CLIENT = Buffer.from('SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n', 'ascii');
export const SSH_SERVER = Buffer.from('SSH-2.0-OpenSSH_8.9p1 Debian-3\r\n', 'ascii');
