/** Well-known ports (IANA service names, lower case) used when no payload parser recognised the flow. */
const TCP: Record<number, string> = {
  20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'dns', 80: 'http', 88: 'kerberos', 110: 'pop3',
  111: 'sunrpc', 119: 'nntp', 135: 'msrpc', 139: 'netbios-ssn', 143: 'imap', 179: 'bgp', 389: 'ldap', 443: 'https',
  445: 'smb', 465: 'smtps', 514: 'syslog', 587: 'submission', 636: 'ldaps', 853: 'dns-over-tls', 873: 'rsync',
  993: 'imaps', 995: 'pop3s', 1433: 'mssql', 1521: 'oracle', 1723: 'pptp', 1883: 'mqtt', 2049: 'nfs', 2379: 'etcd',
  3128: 'http-proxy', 3268: 'ldap-gc', 3306: 'mysql', 3389: 'rdp', 5060: 'sip', 5061: 'sips', 5222: 'xmpp',
  5432: 'postgresql', 5671: 'amqps', 5672: 'amqp', 5900: 'vnc', 5985: 'winrm', 5986: 'winrm-https', 6379: 'redis',
  6443: 'kubernetes', 6653: 'openflow', 6667: 'irc', 8080: 'http-alt', 8443: 'https-alt', 9092: 'kafka', 9200: 'elasticsearch',
  11211: 'memcached', 27017: 'mongodb',
};
const UDP: Record<number, string> = {
  53: 'dns', 67: 'dhcp', 68: 'dhcp', 69: 'tftp', 123: 'ntp', 137: 'netbios-ns', 138: 'netbios-dgm', 161: 'snmp',
  162: 'snmp-trap', 443: 'quic', 500: 'isakmp', 514: 'syslog', 546: 'dhcpv6', 547: 'dhcpv6', 1194: 'openvpn',
  1701: 'l2tp', 1812: 'radius', 1813: 'radius-acct', 1900: 'ssdp', 2152: 'gtp-u', 3478: 'stun', 3544: 'teredo',
  4500: 'ipsec-nat-t', 4789: 'vxlan', 5060: 'sip', 5353: 'mdns', 5355: 'llmnr', 6081: 'geneve', 51820: 'wireguard',
};

/**
 * Name index per port (0: none), so a lookup is one typed-array read: the tables above are
 * sparse-keyed objects, whose elements V8 keeps as a hash table (a lookup per port per flow).
 */
function portIndex(names: Record<number, string>): { index: Uint8Array; names: (string | null)[] } {
  const index = new Uint8Array(65536);
  const list: (string | null)[] = [null];
  for (const [port, name] of Object.entries(names)) {
    index[Number(port)] = list.length;
    list.push(name);
  }
  return { index, names: list };
}
const TCP_PORTS = portIndex(TCP);
const UDP_PORTS = portIndex(UDP);

/** Application by port: the responder's port first, then the initiator's. */
export function appByPort(proto: number, sport: number, dport: number): string | null {
  const t = proto === 6 ? TCP_PORTS : proto === 17 ? UDP_PORTS : null;
  if (t === null) return null;
  const i = t.index[dport];
  return t.names[i !== 0 ? i : t.index[sport]];
}
