import { ByteWriter, Literal } from './byte-writer';

/** A writer that exposes lit() and uint(), collecting what it writes. */
class Probe extends ByteWriter {
  readonly out: Buffer[] = [];

  constructor() {
    super((b) => void this.out.push(Buffer.from(b)), 64);
  }

  put(l: Literal, n: number): void {
    // Exactly the bytes written: reserve() itself must leave room for lit()'s padding.
    this.reserve(l.length + String(n).length);
    this.lit(l);
    this.uint(n);
  }

  text(): string {
    this.flush();
    return Buffer.concat(this.out).toString('latin1');
  }
}

describe('Literal and lit()', () => {
  it('copies every ASCII byte exactly, at every alignment, whatever follows it', () => {
    const all = String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i));
    const probe = new Probe();
    let expected = '';
    for (let cut = 0; cut < 24; cut++) {
      // Lengths 0..23 starting at every offset: the words' padding must never survive.
      const l = new Literal(all.slice(cut * 5, cut * 5 + cut));
      probe.put(l, cut * 1001);
      expected += all.slice(cut * 5, cut * 5 + cut) + String(cut * 1001);
    }
    expect(probe.text()).toBe(expected);
  });

  it('refuses text that is not ASCII (its words could hold a NaN)', () => {
    expect(() => new Literal('caf\u00e9')).toThrow(/ASCII/);
    expect(() => new Literal('\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff')).toThrow(/ASCII/);
  });

  it('joins literals into one', () => {
    expect(Literal.join([new Literal(',"a":'), new Literal('null')]).text).toBe(',"a":null');
  });
});
