const LINK_NAMES: Record<number, string> = {
  0: 'null', 1: 'ethernet', 8: 'slip', 9: 'ppp', 10: 'fddi', 12: 'raw', 14: 'raw', 50: 'ppp-hdlc', 51: 'pppoe', 101: 'raw',
  104: 'c-hdlc', 105: 'ieee802.11', 107: 'frame-relay', 108: 'loop', 113: 'linux-sll', 127: 'radiotap', 129: 'arcnet-linux',
  149: 'pktap', 192: 'ppi', 226: 'ipnet', 228: 'ipv4', 229: 'ipv6', 239: 'nflog', 242: 'ipoib', 258: 'pktap', 276: 'linux-sll2',
  [-1]: 'undescribed interface',
};

/** Short name of a LINKTYPE_ number ("ethernet", "linux-sll", ...). */
export function linkTypeName(linkType: number): string {
  return LINK_NAMES[linkType] ?? `linktype ${linkType}`;
}
