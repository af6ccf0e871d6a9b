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

  it('counts an unknown link type instead of failing', () => {
    const d = new PacketDecoder();
    expect(d.decode(udp, 0, udp.length, udp.length, 147)).toBe(Category.UnknownLink);
    expect(d.view.problem).toBe(Problem.UnknownLinkType);
  });
});
