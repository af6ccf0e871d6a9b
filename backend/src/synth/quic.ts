import * as crypto from 'node:crypto';

/**
 * Real QUIC v1 client Initial packets (RFC 9000 §17.2.2, RFC 9001 §5) for generated captures:
 * a TLS ClientHello in a CRYPTO frame, padded to 1200 bytes, protected with the Initial keys
 * derived from the Destination Connection ID (AES-128-GCM, AES-ECB header protection), so that
 * Capsight's QUIC reader does exactly the work it does on real traffic. Facts from the RFCs; the
 * engine's decryption (flows/apps/quic.ts) is independent of this code.
 */
const SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

function hkdfExpandLabel(secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'ascii');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 255, full.length]), full, Buffer.from([0])]);
  return expand(secret, info, length);
}

/** HKDF-Expand (RFC 5869) for one block. */
function expand(prk: Buffer, info: Buffer, length: number): Buffer {
  return crypto.createHmac('sha256', prk).update(Buffer.concat([info, Buffer.from([1])])).digest().subarray(0, length);
}

function varint(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 255]);
  return Buffer.from([0x80 | ((n >>> 24) & 0x3f), (n >> 16) & 255, (n >> 8) & 255, n & 255]);
}

/** A protected client Initial datagram payload carrying `clientHello` (a TLS handshake message, or a part of it). */
/** `cryptoOffset`: where this part of the ClientHello starts (a large one spans two Initials). */
export function clientInitial(dcid: Buffer, scid: Buffer, packetNumber: number, clientHello: Buffer, cryptoOffset = 0): Buffer {
  const initial = crypto.createHmac('sha256', SALT_V1).update(dcid).digest();
  const client = hkdfExpandLabel(initial, 'client in', 32);
  const key = hkdfExpandLabel(client, 'quic key', 16);
  const iv = hkdfExpandLabel(client, 'quic iv', 12);
  const hp = hkdfExpandLabel(client, 'quic hp', 16);
  const pnLen = 2;
  const crypt = Buffer.concat([Buffer.from([0x06]), varint(cryptoOffset), varint(clientHello.length), clientHello]);
  // Header: long form, fixed bit, type Initial (0), packet number length 2.
  const headerFixed = Buffer.concat([Buffer.from([0xc0 | (pnLen - 1), 0, 0, 0, 1, dcid.length]), dcid, Buffer.from([scid.length]), scid, varint(0)]);
  // Pad the plaintext so the datagram is 1200 bytes (a client Initial's minimum).
  const overhead = headerFixed.length + 2 + pnLen + 16;
  const plain = Buffer.concat([crypt, Buffer.alloc(Math.max(0, 1200 - overhead - crypt.length))]);
  const length = pnLen + plain.length + 16;
  const pn = Buffer.from([(packetNumber >> 8) & 255, packetNumber & 255]);
  const header = Buffer.concat([headerFixed, Buffer.from([0x40 | (length >> 8), length & 255]), pn]);
  const nonce = Buffer.from(iv);
  nonce[10] ^= pn[0];
  nonce[11] ^= pn[1];
  const gcm = crypto.createCipheriv('aes-128-gcm', key, nonce);
  gcm.setAAD(header);
  const sealed = Buffer.concat([gcm.update(plain), gcm.final(), gcm.getAuthTag()]);
  const packet = Buffer.concat([header, sealed]);
  // Header protection: the sample starts 4 bytes after the packet number's start.
  const pnOffset = header.length - pnLen;
  const ecb = crypto.createCipheriv('aes-128-ecb', hp, null);
  ecb.setAutoPadding(false);
  const mask = ecb.update(packet.subarray(pnOffset + 4, pnOffset + 20));
  packet[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) packet[pnOffset + i] ^= mask[1 + i];
  return packet;
}
