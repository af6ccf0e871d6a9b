/**
 * Zeek-style connection states from the TCP flags each side sent (OR-ed over the flow) and
 * whether each side sent a SYN-ACK. Definitions (Zeek conn.log):
 *  S0 attempt, no reply | S1 established, not terminated | SF normal establishment and termination
 *  REJ attempt rejected | S2 established, initiator closed only | S3 established, responder closed only
 *  RSTO initiator aborted | RSTR responder aborted | RSTOS0 initiator SYN then RST, no SYN-ACK
 *  RSTRH responder SYN-ACK then RST, no SYN from the initiator | SH initiator SYN then FIN, no SYN-ACK
 *  SHR responder SYN-ACK then FIN, no SYN | OTH no SYN seen (midstream)
 * For other protocols: S0 when only the initiator sent packets, SF when both sides did.
 */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const ACK = 0x10;

export function connectionState(proto: number, srcFlags: number, dstFlags: number, dstSynAck: boolean, dstPkts: number): string {
  if (proto !== 6) return dstPkts > 0 ? 'SF' : 'S0';
  const srcSyn = (srcFlags & SYN) !== 0;
  const dstSyn = (dstFlags & SYN) !== 0;
  if (srcSyn) {
    if (dstSynAck || (dstSyn && (dstFlags & ACK) !== 0)) {
      if (srcFlags & RST) return 'RSTO';
      if (dstFlags & RST) return 'RSTR';
      if (srcFlags & FIN && dstFlags & FIN) return 'SF';
      if (srcFlags & FIN) return 'S2';
      if (dstFlags & FIN) return 'S3';
      return 'S1';
    }
    if (dstFlags & RST) return 'REJ';
    if (srcFlags & RST) return 'RSTOS0';
    if (srcFlags & FIN) return 'SH';
    return dstPkts > 0 ? 'S1' : 'S0';
  }
  if (dstSynAck) {
    if (dstFlags & RST) return 'RSTRH';
    if (dstFlags & FIN) return 'SHR';
  }
  return 'OTH';
}
