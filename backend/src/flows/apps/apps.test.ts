import { parseHttp } from './http';
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
