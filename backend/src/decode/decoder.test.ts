import * as v8 from 'node:v8';
import { ipv4Frame } from '../testing/capture-writer';
import { PacketDecoder } from './decoder';
import { Category } from './packet-view';
import { Problem } from './problems';

const udp = ipv4Frame({ src: '192.0.2.1', dst: '198.51.100.2', proto: 17, sport: 5000, dport: 53, payload: Buffer.alloc(20) });

describe('PacketDecoder', () => {
  it('decodes Ethernet/IPv4/UDP with lengths from the headers', () => {
    const d = new PacketDecoder();
    expect(d.decode(udp, 0, udp.length, udp.length, 1)).toBe(Category.Flow);
    const v = d.view;
    expect([v.ipVersion, v.proto, v.sport, v.dport, v.ipBytes, v.payloadBytes]).toEqual([4, 17, 5000, 53, 48, 20]);
    expect(v.src[3]).toBe(0xc0000201);
  });

  it('never throws when a packet is cut at any length, and says where it stopped', () => {
    const d = new PacketDecoder();
    for (let n = 0; n <= udp.length; n++) {
      const cat = d.decode(udp, 0, n, udp.length, 1);
      if (n < 14) expect([cat, d.view.problem]).toEqual([Category.Undecodable, Problem.LinkHeaderTruncated]);
      else if (n < 34) expect([cat, d.view.problem]).toEqual([Category.Undecodable, Problem.IpHeaderTruncated]);
      else if (n < 42) {
        expect(cat).toBe(Category.Flow); // addresses known: the packet still counts
        expect(d.view.problem).toBe(Problem.TransportTruncated);
      } else expect([cat, d.view.problem]).toEqual([Category.Flow, 0]);
    }
  });

  it('records outer and inner VLAN of a QinQ stack', () => {
    const f = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1, dport: 2, vlan: [100, 200] });
    const d = new PacketDecoder();
    expect(d.decode(f, 0, f.length, f.length, 1)).toBe(Category.Flow);
    expect([d.view.vlan, d.view.innerVlan, d.view.sport]).toEqual([100, 200, 1]);
  });

  it('attributes a non-first fragment to its first fragment, or reports it when unseen', () => {
    const first = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 7, dport: 9, ipId: 77, moreFragments: true, payload: Buffer.alloc(64) });
    const second = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, ipId: 77, fragOffset: 72, payload: Buffer.alloc(40) });
    const other = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, ipId: 78, fragOffset: 72, payload: Buffer.alloc(40) });
    const d = new PacketDecoder();
    d.decode(first, 0, first.length, first.length, 1);
    expect(d.decode(second, 0, second.length, second.length, 1)).toBe(Category.Flow);
    expect([d.view.sport, d.view.dport, d.view.fragment, d.view.payloadBytes]).toEqual([7, 9, true, 40]);
    expect(d.decode(other, 0, other.length, other.length, 1)).toBe(Category.Fragment);
    const off = new PacketDecoder({ attributeFragments: false });
    off.decode(first, 0, first.length, first.length, 1);
    expect(off.decode(second, 0, second.length, second.length, 1)).toBe(Category.Fragment);
  });

  it("keys a source-routed IPv4 packet by the route's final hop while the route is being followed", () => {
    const dstOf = (ipOptions: number[]): string => {
      const f = ipv4Frame({ src: '9.10.11.12', dst: '13.14.15.16', proto: 6, sport: 20, dport: 80, flags: 0x02, ipOptions });
      const d = new PacketDecoder();
      expect(d.decode(f, 0, f.length, f.length, 1)).toBe(Category.Flow);
      expect([d.view.sport, d.view.dport, d.view.payloadBytes]).toEqual([20, 80, 0]);
      const a = d.view.dst[3];
      return [a >>> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255].join('.');
    };
    const route = [1, 2, 3, 4, 5, 6, 7, 8];
    expect(dstOf([131, 11, 4, ...route])).toBe('5.6.7.8'); // loose source route, first hop next
    expect(dstOf([1, 137, 11, 8, ...route])).toBe('5.6.7.8'); // strict, after a no-op, second hop next
    expect(dstOf([131, 11, 12, ...route])).toBe('13.14.15.16'); // route done: the header holds the final hop
    expect(dstOf([7, 11, 4, ...route])).toBe('13.14.15.16'); // record route is no source route
    expect(dstOf([131, 11, 6, ...route])).toBe('13.14.15.16'); // pointer inside an address: malformed
    expect(dstOf([131, 40, 4, ...route])).toBe('13.14.15.16'); // option runs past the header
    expect(dstOf([0, 131, 11, 4, ...route])).toBe('13.14.15.16'); // after end-of-options
  });

  it('analyses TCP in the first fragment of a tunnel packet, not in a first fragment of its own', () => {
    const segment = Buffer.alloc(1400, 0x61);
    const inner = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1923, dport: 80, seq: 1000, payload: segment }).subarray(14);
    const gtp = Buffer.from([0x30, 0xff, inner.length >> 8, inner.length & 255, 0, 0, 0, 1]);
    // The outer datagram is cut after 600 bytes of the inner packet; its second fragment follows.
    const first = ipv4Frame({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, sport: 2152, dport: 2152, ipId: 5, moreFragments: true, payload: Buffer.concat([gtp, inner.subarray(0, 600)]) });
    const d = new PacketDecoder();
    expect(d.decode(first, 0, first.length, first.length, 1)).toBe(Category.Flow);
    expect([d.view.proto, d.view.sport, d.view.tcpSeq, d.view.payloadBytes, d.view.tcpComplete]).toEqual([6, 1923, 1000, 1400, true]);

    const own = ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1923, dport: 80, seq: 1000, ipId: 6, moreFragments: true, payload: segment.subarray(0, 600) });
    expect(d.decode(own, 0, own.length, own.length, 1)).toBe(Category.Flow);
    expect([d.view.sport, d.view.tcpComplete]).toEqual([1923, false]); // the segment's length is not known yet
  });

  it("keeps the view's object layout whatever it decodes: sequence numbers past 2^31, a tunnel it falls back from", async () => {
    // A field that first holds small integers and later another kind of number changes the layout
    // (V8's map) of the view mid-run, and every function that reads the view drops to slower code.
    v8.setFlagsFromString('--allow-natives-syntax');
    const sameLayout = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
    await jest.isolateModulesAsync(async () => {
      // Fresh copies of the modules: layouts other tests of this file gave the classes do not count.
      const { PacketDecoder: Decoder } = await import('./decoder');
      const { PacketView: View } = await import('./packet-view');
      const untouched = new View();
      const d = new Decoder();
      const frames = [
        udp,
        ipv4Frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 40000, dport: 443, seq: 0xfffffff0, ack: 0x80000001, flags: 0x10 }),
        // GTP-U whose inner packet is no IP: the decoder goes back to the outer UDP flow.
        ipv4Frame({ src: '192.0.2.1', dst: '192.0.2.2', proto: 17, sport: 2152, dport: 2152, payload: Buffer.from([0x30, 0xff, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]) }),
      ];
      for (const f of frames) expect(d.decode(f, 0, f.length, f.length, 1)).toBe(Category.Flow);
      expect([d.view.sport, d.view.tunnel, d.view.payloadBytes]).toEqual([2152, 0, 12]);
      expect(sameLayout(untouched, d.view)).toBe(true);
    });
  });

  it('counts an unknown link type instead of failing', () => {
    const d = new PacketDecoder();
    expect(d.decode(udp, 0, udp.length, udp.length, 147)).toBe(Category.UnknownLink);
    expect(d.view.problem).toBe(Problem.UnknownLinkType);
  });
});
