import { parseDns } from './dns';
import { parseHttp } from './http';
import { parseClientHello, parseClientHelloStart } from './tls';
import { ascii, latin1 } from './text';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('payload text', () => {
  it('reads Latin-1 from Buffers and plain Uint8Arrays alike', () => {
    const b = bytes('xxexample.comyy');
    expect(latin1(b, 2, 13)).toBe('example.com');
    expect(latin1(new Uint8Array(b), 2, 13)).toBe('example.com');
  });

  it('shows non-printable bytes as ? and leaves the input untouched', () => {
    const b = new Uint8Array([0x41, 0x00, 0x42, 0xff, 0x7f, 0x43]);
    expect(ascii(b, 0, 6)).toBe('A?B??C');
    expect(ascii(b, 2, 3)).toBe('B');
    expect([...b]).toEqual([0x41, 0x00, 0x42, 0xff, 0x7f, 0x43]);
  });
});

describe('parseHttp', () => {
  const parse = (s: string): ReturnType<typeof parseHttp> => parseHttp(bytes(s), 0, s.length);

  it('reads method and Host from a request', () => {
    expect(parse('GET /x HTTP/1.1\r\nUser-Agent: t\r\nhOsT: Example.org \r\n\r\n')).toEqual({ method: 'GET', host: 'Example.org', response: false });
    expect(parse('PROPFIND / HTTP/1.0\r\n\r\n')).toEqual({ method: 'PROPFIND', host: null, response: false });
  });

  it('rejects complete request lines without an HTTP version, and non-requests', () => {
    expect(parse('GET /x FTP/1.1\r\nHost: a\r\n\r\n')).toBeNull();
    expect(parse('GET /x HTTP/\r\nHost: a\r\n\r\n')).toBeNull();
    expect(parse('get /x HTTP/1.1\r\n\r\n')).toBeNull();
    expect(parse('\x16\x03\x01\x00\x05hello')).toBeNull();
  });

  it('accepts a request line cut by the end of the segment', () => {
    expect(parse('POST /upload/a/very/long/pa')).toEqual({ method: 'POST', host: null, response: false });
  });

  it('recognises responses', () => {
    expect(parse('HTTP/1.1 200 OK\r\n\r\n')).toEqual({ method: null, host: null, response: true });
  });
});

/** A ClientHello handshake message (type, length, body) with the given extensions. */
function clientHello(extensions: Buffer[]): Buffer {
  const ext = Buffer.concat(extensions);
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), Buffer.alloc(32), Buffer.from([0]), // version, random, no session id
    Buffer.from([0, 2, 0x13, 0x01]), Buffer.from([1, 0]), // one cipher suite, null compression
    Buffer.from([ext.length >> 8, ext.length & 255]), ext,
  ]);
  return Buffer.concat([Buffer.from([1, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
}
const extension = (type: number, data: Buffer): Buffer => Buffer.concat([Buffer.from([type >> 8, type & 255, data.length >> 8, data.length & 255]), data]);
function alpn(names: Buffer[]): Buffer {
  const list = Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), n])));
  return extension(16, Buffer.concat([Buffer.from([list.length >> 8, list.length & 255]), list]));
}
function sni(name: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  return extension(0, Buffer.concat([Buffer.from([0, n.length + 3, 0, n.length >> 8, n.length & 255]), n]));
}

describe('parseClientHello', () => {
  const parse = (m: Buffer) => parseClientHello(m, 0, m.length);

  it('reads the server name and the ALPN list', () => {
    const m = clientHello([sni('www.example.org'), alpn([Buffer.from('h2'), Buffer.from('http/1.1')])]);
    expect(parse(m)).toEqual({ sni: 'www.example.org', alpn: 'h2,http/1.1' });
  });

  it('keeps empty protocol names and shows unprintable bytes as ?', () => {
    expect(parse(clientHello([alpn([Buffer.alloc(0), Buffer.from('h2')])]))?.alpn).toBe(',h2');
    expect(parse(clientHello([alpn([Buffer.alloc(0)])]))?.alpn).toBe('');
    expect(parse(clientHello([alpn([Buffer.from([0x68, 0x00, 0xff, 0x32])])]))?.alpn).toBe('h??2');
  });

  it('stops at a truncated hello', () => {
    const m = clientHello([sni('a.example')]);
    expect(parseClientHello(m, 0, m.length - 1)).toBeNull();
  });

  it('counts an extension that occurs twice the first time', () => {
    expect(parse(clientHello([sni('first.example'), alpn([Buffer.from('h2')]), sni('second.example'), alpn([Buffer.from('h3')])]))).toEqual({ sni: 'first.example', alpn: 'h2' });
    // A server_name without a host name does not count.
    const noHost = extension(0, Buffer.from([0, 5, 1, 0, 2, 0x61, 0x62]));
    expect(parse(clientHello([noHost, sni('b.example')]))?.sni).toBe('b.example');
  });
});

describe('parseClientHelloStart', () => {
  const keyShare = extension(51, Buffer.alloc(1200, 7));
  const h2 = alpn([Buffer.from('h2')]);
  const hellos = {
    'SNI and ALPN first': clientHello([sni('early.example'), h2, keyShare]),
    'SNI and ALPN after the key share': clientHello([keyShare, sni('late.example'), h2]),
    'SNI only': clientHello([sni('sni-only.example'), keyShare]),
    'neither': clientHello([keyShare]),
    'no extensions': clientHello([]).subarray(0, 4 + 2 + 32 + 1 + 4 + 2),
    'malformed extension': clientHello([sni('m.example'), extension(13, Buffer.alloc(4)).subarray(0, 6)]),
  };

  it.each(Object.entries(hellos))('%s: at every cut, undecided or what the whole hello gives', (_, m) => {
    // (The no-extensions hello's length field is fixed up to its cut size.)
    if (m.length < 100) m.writeUIntBE(m.length - 4, 1, 3);
    const whole = parseClientHello(m, 0, m.length);
    expect(whole).not.toBeNull();
    expect(parseClientHelloStart(m, 0, m.length)).toEqual(whole);
    let decided = false;
    for (let avail = 0; avail <= m.length; avail++) {
      const got = parseClientHelloStart(m, 0, avail);
      if (got === undefined) {
        expect(decided).toBe(false); // once decided, more bytes do not undo it
        continue;
      }
      decided = true;
      expect(got).toEqual(whole);
    }
  });

  it('decides as soon as SNI and ALPN are read, not before', () => {
    const m = hellos['SNI and ALPN first'];
    const alpnEnd = m.indexOf(Buffer.from('h2')) + 2;
    expect(parseClientHelloStart(m, 0, alpnEnd - 1)).toBeUndefined();
    expect(parseClientHelloStart(m, 0, alpnEnd)).toEqual({ sni: 'early.example', alpn: 'h2' });
    expect(parseClientHelloStart(hellos['SNI and ALPN after the key share'], 0, 1000)).toBeUndefined();
    // Without ALPN, an extension header may still name one: decided once the last header is read
    // (the key share's; its body is not needed).
    const sniOnly = hellos['SNI only'];
    const lastHeaderEnd = sniOnly.length - 1200;
    expect(parseClientHelloStart(sniOnly, 0, lastHeaderEnd - 1)).toBeUndefined();
    expect(parseClientHelloStart(sniOnly, 0, lastHeaderEnd)).toEqual({ sni: 'sni-only.example', alpn: null });
  });

  it('is not a ClientHello when the first byte says so', () => {
    expect(parseClientHelloStart(Buffer.from([2, 0, 0, 40, 3, 3]), 0, 6)).toBeNull();
  });
});

describe('parseDns', () => {
  it('reads a name through a compression pointer', () => {
    // Response: question www.example.org, answer name = pointer to offset 12 (the question's name).
    const q = Buffer.from([3, 0x77, 0x77, 0x77, 7, ...Buffer.from('example'), 3, ...Buffer.from('org'), 0, 0, 1, 0, 1]);
    const header = Buffer.from([0x12, 0x34, 0x81, 0x83, 0, 1, 0, 1, 0, 0, 0, 0]); // NXDOMAIN
    const answer = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]);
    const m = Buffer.concat([header, q, answer]);
    expect(parseDns(m, 0, m.length)).toEqual({ name: 'www.example.org', response: true, rcode: 3 });
    // Answer-only response whose name points back into the header's neighbourhood is refused.
    const bad = Buffer.concat([Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]), Buffer.from([0xc0, 20, 0, 1, 0, 1])]);
    expect(parseDns(bad, 0, bad.length)).toBeNull();
  });

  it('refuses names with unprintable bytes and names over 255 bytes', () => {
    const header = Buffer.from([0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    const odd = Buffer.concat([header, Buffer.from([3, 0x61, 0x00, 0x62, 0, 0, 1, 0, 1])]);
    expect(parseDns(odd, 0, odd.length)).toBeNull();
    const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
    const long = Buffer.concat([header, label, label, label, label, Buffer.from([0, 0, 1, 0, 1])]);
    expect(parseDns(long, 0, long.length)).toBeNull();
    const ok = Buffer.concat([header, label, label, label, Buffer.from([0, 0, 1, 0, 1])]);
    expect(parseDns(ok, 0, ok.length)?.name).toBe(`${'a'.repeat(63)}.${'a'.repeat(63)}.${'a'.repeat(63)}`);
  });

  it('gives each query its own name while names repeat, evict each other and differ by one byte', () => {
    const query = (name: string): Buffer =>
      Buffer.concat([Buffer.from([0, 1, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), bytes(l)])), Buffer.from([0, 0, 1, 0, 1])]);
    // Three times more names than the cache holds, then the same names again in another order,
    // and pairs of the same length that differ in one character (a hit must compare every byte).
    const names = Array.from({ length: 3000 }, (_, i) => `host${i}.example.org`);
    const twins = names.slice(0, 50).map((n) => n.replace('example', 'exbmple'));
    for (const n of [...names, ...names.slice().reverse(), ...names.slice(0, 50).flatMap((n, i) => [n, twins[i]])]) {
      const m = query(n);
      expect(parseDns(m, 0, m.length)?.name).toBe(n);
    }
  });
});
