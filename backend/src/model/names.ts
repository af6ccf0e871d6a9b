/**
 * Names people read instead of numbers: IP protocols, services by port, TCP flags. Part of the
 * shared model: the engine names applications by port with them, and query answers show them.
 */
/** Well-known ports (IANA service names, lower case): the application when no payload parser recognised the flow, and the service names tables show. */
export const TCP_SERVICES: Record<number, string> = {
  20: 'ftp-data', 21: 'ftp', 22: 'ssh', 23: 'telnet', 25: 'smtp', 53: 'dns', 80: 'http', 88: 'kerberos', 110: 'pop3',
  111: 'sunrpc', 119: 'nntp', 135: 'msrpc', 139: 'netbios-ssn', 143: 'imap', 179: 'bgp', 389: 'ldap', 443: 'https',
  445: 'smb', 465: 'smtps', 514: 'syslog', 587: 'submission', 636: 'ldaps', 853: 'dns-over-tls', 873: 'rsync',
  993: 'imaps', 995: 'pop3s', 1433: 'mssql', 1521: 'oracle', 1723: 'pptp', 1883: 'mqtt', 2049: 'nfs', 2379: 'etcd',
  3128: 'http-proxy', 3268: 'ldap-gc', 3306: 'mysql', 3389: 'rdp', 5060: 'sip', 5061: 'sips', 5222: 'xmpp',
  5432: 'postgresql', 5671: 'amqps', 5672: 'amqp', 5900: 'vnc', 5985: 'winrm', 5986: 'winrm-https', 6379: 'redis',
  6443: 'kubernetes', 6653: 'openflow', 6667: 'irc', 8080: 'http-alt', 8443: 'https-alt', 9092: 'kafka', 9200: 'elasticsearch',
  11211: 'memcached', 27017: 'mongodb',
};
export const UDP_SERVICES: Record<number, string> = {
  53: 'dns', 67: 'dhcp', 68: 'dhcp', 69: 'tftp', 123: 'ntp', 137: 'netbios-ns', 138: 'netbios-dgm', 161: 'snmp',
  162: 'snmp-trap', 443: 'quic', 500: 'isakmp', 514: 'syslog', 546: 'dhcpv6', 547: 'dhcpv6', 1194: 'openvpn',
  1701: 'l2tp', 1812: 'radius', 1813: 'radius-acct', 1900: 'ssdp', 2152: 'gtp-u', 3478: 'stun', 3544: 'teredo',
  4500: 'ipsec-nat-t', 4789: 'vxlan', 5060: 'sip', 5353: 'mdns', 5355: 'llmnr', 6081: 'geneve', 51820: 'wireguard',
};


/** IANA protocol numbers by their usual lower-case names. */
const PROTOCOLS: Record<number, string> = {
  1: 'icmp', 2: 'igmp', 4: 'ipip', 6: 'tcp', 17: 'udp', 33: 'dccp', 41: 'ipv6', 47: 'gre', 50: 'esp', 51: 'ah',
  58: 'icmpv6', 89: 'ospf', 103: 'pim', 112: 'vrrp', 132: 'sctp',
};
const BY_NAME: Record<string, number> = { ...Object.fromEntries(Object.entries(PROTOCOLS).map(([n, name]) => [name, Number(n)])), icmp6: 58, ipv6_icmp: 58 };

/** "tcp" for 6; the number as text for protocols without a usual name. */
export function protocolName(proto: number | null): string | null {
  if (proto === null || proto === undefined) return null;
  return PROTOCOLS[proto] ?? String(proto);
}

/** 6 for "tcp" (any case); undefined for names it does not know. */
export function protocolNumber(name: string): number | undefined {
  return BY_NAME[name.toLowerCase()];
}

/** The IANA service name of a TCP or UDP port ("https" for 443/tcp), else null. */
export function serviceName(proto: number, port: number): string | null {
  return (proto === 6 ? TCP_SERVICES[port] : proto === 17 ? UDP_SERVICES[port] : undefined) ?? null;
}

/** TCP flags as letters, highest bit first: C(WR) E(CE) U(RG) A(CK) P(SH) R(ST) S(YN) F(IN); "" for none. */
export function tcpFlagLetters(flags: number): string {
  let out = '';
  const letters = 'CEUAPRSF';
  for (let bit = 7; bit >= 0; bit--) if (flags & (1 << bit)) out += letters[7 - bit];
  return out;
}
