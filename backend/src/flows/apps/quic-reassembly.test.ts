import { Readable } from 'node:stream';
import { ipv4Frame, pcapFile, type PcapPacket } from '../../synth/frames';
import { clientHelloMessage } from '../../synth/payloads';
import { clientInitial } from '../../synth/quic';
import { analyzeCapture } from '..';
import type { FlowRecord } from '../../model/flow';

/**
 * A ClientHello larger than one Initial arrives as CRYPTO frames in several packets, in any order
 * (browsers split and shuffle it). The reader keeps the stream sized to what it has received and
 * names the server once every byte of the ClientHello is there, whichever piece comes last.
 */
describe('QUIC ClientHello spread over Initials', () => {
  let n = 0;
  const random = (len: number): Buffer => Buffer.alloc(len, ++n);
  // A post-quantum-sized key share: ~1.9 KB, more than one Initial holds.
  const hello = clientHelloMessage('split.example.net', ['h3'], random, 1700);
  const dcid = Buffer.from('0011223344556677', 'hex');
  const scid = Buffer.from('8899aabbccddeeff', 'hex');
  const pieces: [number, number][] = [
    [0, 700],
    [700, 1400],
    [1400, hello.length],
  ];

  const flowOf = async (order: number[]): Promise<FlowRecord> => {
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
    expect(hello.length).toBeGreaterThan(1400);
    const flow = await flowOf(order);
    expect(flow).toMatchObject({ app: 'quic', server_name: 'split.example.net', alpn: 'h3' });
  });

  it('names no server while a piece of the ClientHello is missing', async () => {
    for (const order of [
      [0, 1],
      [2, 0],
      [1, 2],
    ]) {
      const flow = await flowOf(order);
      expect(flow.app).toBe('quic');
      expect(flow.server_name).toBeNull();
    }
  });
});
