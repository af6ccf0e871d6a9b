import { Readable } from 'node:stream';
import { ipv4Frame, pcapFile, type PcapPacket } from '../../synth/frames';
import { clientHelloMessage } from '../../synth/payloads';
import { clientInitial } from '../../synth/quic';
import { analyzeCapture } from '..';
import type { FlowRecord } from '../../model/flow';

/**
 * A ClientHello larger than one Initial arrives as CRYPTO frames in several packets, in any order
 * (browsers split and shuffle it). The reader keeps the stream sized to what it has received and
 * names the server once the bytes from the ClientHello's start hold its SNI and ALPN, or once every
 * byte is there, whichever piece comes last.
 */
describe('QUIC ClientHello spread over Initials', () => {
  let n = 0;
  const random = (len: number): Buffer => Buffer.alloc(len, ++n);
  // A post-quantum-sized key share: ~1.9 KB, more than one Initial holds; after SNI and ALPN, or before them.
  const helloOf = (keyShareFirst: boolean): Buffer => clientHelloMessage('split.example.net', ['h3'], random, 1700, keyShareFirst);
  const dcid = Buffer.from('0011223344556677', 'hex');
  const scid = Buffer.from('8899aabbccddeeff', 'hex');

  const flowOf = async (hello: Buffer, order: number[]): Promise<FlowRecord> => {
    const pieces: [number, number][] = [
      [0, 700],
      [700, 1400],
      [1400, hello.length],
    ];
    const packets: PcapPacket[] = order.map((k, i) => ({
      sec: 1,
      frac: i,
      data: ipv4Frame({
        src: '10.0.0.1',
        dst: '192.0.2.7',
        proto: 17,
        sport: 50000,
        dport: 443,
        payload: clientInitial(dcid, scid, i, hello.subarray(pieces[k][0], pieces[k][1]), pieces[k][0]),
      }),
    }));
    const flows: FlowRecord[] = [];
    await analyzeCapture(Readable.from([pcapFile({}, packets)]), { onFlow: (f) => flows.push(f) });
    expect(flows).toHaveLength(1);
    return flows[0];
  };

  it.each([
    ['in order', [0, 1, 2]],
    ['last piece first', [2, 0, 1]],
    ['first piece last', [1, 2, 0]],
  ])('%s: the server name and ALPN are read', async (_, order) => {
    for (const keyShareFirst of [false, true]) {
      const hello = helloOf(keyShareFirst);
      expect(hello.length).toBeGreaterThan(1400);
      const flow = await flowOf(hello, order);
      expect(flow).toMatchObject({ app: 'quic', server_name: 'split.example.net', alpn: 'h3' });
    }
  });

  it('reads SNI and ALPN from the first piece without the rest (the key share after them)', async () => {
    const hello = helloOf(false);
    expect(hello.indexOf('split.example.net')).toBeLessThan(700);
    for (const order of [[0], [0, 1], [2, 0]]) expect(await flowOf(hello, order)).toMatchObject({ app: 'quic', server_name: 'split.example.net', alpn: 'h3' });
  });

  it('names no server while a piece it needs is missing', async () => {
    // The start is missing; or SNI and ALPN come after the key share, and any piece is missing.
    const cases: [boolean, number[]][] = [
      [false, [1, 2]],
      [true, [0, 1]],
      [true, [2, 0]],
      [true, [1, 2]],
    ];
    for (const [keyShareFirst, order] of cases) {
      const hello = helloOf(keyShareFirst);
      if (keyShareFirst) expect(hello.indexOf('split.example.net')).toBeGreaterThan(1400);
      const flow = await flowOf(hello, order);
      expect(flow.app).toBe('quic');
      expect(flow.server_name).toBeNull();
    }
  });
});
