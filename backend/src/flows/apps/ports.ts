import { TCP_SERVICES as TCP, UDP_SERVICES as UDP } from '../../model/names';

/**
 * Name index per port (0: none), so a lookup is one typed-array read: the tables (model/names.ts) are
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
