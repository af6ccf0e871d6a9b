import { addressLabel, DEFAULT_LOCAL_NETWORKS, parseAddress } from './address-class';
import { bundledEnrichment, Enricher } from './enricher';

describe('address labels', () => {
  it.each([
    ['10.1.2.3', 'private'],
    ['172.31.255.1', 'private'],
    ['192.168.0.1', 'private'],
    ['fd12::1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['ff02::fb', 'multicast'],
    ['192.0.2.7', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['::ffff:10.0.0.1', 'private'],
    ['8.8.8.8', null],
    ['2606:4700::1111', null],
  ])('%s is %s', (ip, label) => {
    expect(addressLabel(parseAddress(ip)!)).toBe(label);
  });
});

describe('Enricher on the bundled databases', () => {
  let enricher: Enricher;
  beforeAll(async () => {
    enricher = await Enricher.load(bundledEnrichment(DEFAULT_LOCAL_NETWORKS));
  });

  it('finds country and ASN of well-known public resolvers', () => {
    expect(enricher.lookup('8.8.8.8')).toEqual({ country: 'US', asn: 15169, asOrg: expect.stringMatching(/google/i), local: false, num: String(0xffff_0808_0808n) });
    expect(enricher.lookup('1.1.1.1')).toMatchObject({ asn: 13335, local: false });
    const v6 = enricher.lookup('2001:4860:4860::8888');
    expect(v6).toMatchObject({ country: 'US', asn: 15169 });
    expect(enricher.lookup('::ffff:8.8.8.8')).toMatchObject({ country: 'US', asn: 15169 });
  });

  it('labels private ends and marks them local, instead of a blank country', () => {
    expect(enricher.lookup('10.0.0.5')).toEqual({ country: 'private', asn: null, asOrg: null, local: true, num: String(0xffff_0a00_0005n) });
    expect(enricher.lookup('not an ip')).toEqual({ country: 'unknown', asn: null, asOrg: null, local: false, num: null });
  });
});
