import * as fc from 'fast-check';
import { ADDRESS_TEXT_MAX, formatAddress, writeAddress } from './address';

/** Node's URL parser serialises IPv6 hosts the RFC 5952 way (lower case, first longest run of 2+ zero groups as ::). */
function urlForm(words: number[]): string {
  const hex = words.flatMap((w) => [w >>> 16, w & 0xffff]).map((g) => g.toString(16)).join(':');
  return new URL(`http://[${hex}]/`).hostname.slice(1, -1);
}

/** 32-bit words made mostly of zero and 0xffff groups, so zero runs of every length and position occur. */
const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.constant(0xffff0000), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }));

describe('formatAddress', () => {
  it('writes dotted quads', () => {
    expect(formatAddress(4, 0, 0, 0, 0)).toBe('0.0.0.0');
    expect(formatAddress(4, 0, 0, 0, 0xffffffff)).toBe('255.255.255.255');
    expect(formatAddress(4, 0, 0, 0, 0x0a09630c)).toBe('10.9.99.12');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (w) => {
        expect(formatAddress(4, 0, 0, 0, w)).toBe([w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.'));
      }),
      { numRuns: 2000 },
    );
  });

  it('writes IPv6 the RFC 5952 way, as the URL parser does', () => {
    expect(formatAddress(6, 0x20010db8, 0, 0, 1)).toBe('2001:db8::1');
    expect(formatAddress(6, 0, 0, 0, 0)).toBe('::');
    expect(formatAddress(6, 0, 0, 0, 1)).toBe('::1');
    expect(formatAddress(6, 0x20010db8, 0, 0x10000, 0)).toBe('2001:db8:0:0:1::');
    expect(formatAddress(6, 0x20010db8, 0x10000, 0x10001, 0x10001)).toBe('2001:db8:1:0:1:1:1:1'); // a single zero group stays
    fc.assert(
      fc.property(fc.tuple(word, word, word, word), ([a, b, c, d]) => {
        fc.pre(!(a === 0 && b === 0 && c === 0xffff)); // IPv4-mapped: below
        expect(formatAddress(6, a, b, c, d)).toBe(urlForm([a, b, c, d]));
      }),
      { numRuns: 5000 },
    );
  });

  it('answers from its cache only for the very same address', () => {
    // 6 x 8000 addresses that differ in one word (or only in the IP version) fill the 32,768-entry
    // cache over, so entries are met by addresses other than their own; asked again newest first,
    // the recent ones are answered from either place of their set.
    const dotted = (w: number): string => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.');
    const check = (i: number): void => {
      const x = (Math.imul(i, 0x9e3779b1) >>> 0) | 1;
      expect(formatAddress(4, 0, 0, 0, x)).toBe(dotted(x));
      expect(formatAddress(6, 0, 0, 0, x)).toBe(urlForm([0, 0, 0, x])); // the same words as the IPv4 one
      for (let word = 0; word < 4; word++) {
        const words = [0x20010db8, 1, 2, 3];
        words[word] = x;
        expect(formatAddress(6, words[0], words[1], words[2], words[3])).toBe(urlForm(words));
      }
    };
    for (let i = 0; i < 8000; i++) check(i);
    for (let i = 7999; i >= 0; i--) check(i);
  });

  it('keeps the dotted tail of IPv4-mapped addresses', () => {
    expect(formatAddress(6, 0, 0, 0xffff, 0xc0000201)).toBe('::ffff:192.0.2.1');
  });
});

describe('writeAddress', () => {
  it("writes formatAddress's text as bytes at any position, and returns the position after it", () => {
    const buf = Buffer.alloc(64 + ADDRESS_TEXT_MAX);
    const check = (version: number, a: number, b: number, c: number, d: number, at: number): void => {
      buf.fill(0x7e);
      const text = formatAddress(version, a, b, c, d);
      expect(text.length).toBeLessThanOrEqual(ADDRESS_TEXT_MAX);
      const end = writeAddress(buf, at, version, a, b, c, d);
      expect(end - at).toBe(text.length);
      expect(buf.toString('latin1', at, end)).toBe(text);
      expect(buf[at - 1]).toBe(0x7e); // nothing written around it
      expect(buf[end]).toBe(0x7e);
    };
    check(6, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 5); // the longest text
    check(6, 0, 0, 0xffff, 0xffffffff, 9); // IPv4-mapped
    check(4, 0, 0, 0, 0, 1);
    fc.assert(
      fc.property(fc.boolean(), fc.tuple(word, word, word, word), fc.integer({ min: 1, max: 63 }), (v6, [a, b, c, d], at) => {
        if (v6) check(6, a, b, c, d, at);
        else check(4, 0, 0, 0, d, at);
      }),
      { numRuns: 5000 },
    );
  });
});
