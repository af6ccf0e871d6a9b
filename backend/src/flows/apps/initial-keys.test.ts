import * as crypto from 'node:crypto';
import { aesEncryptBlock, aesGcmKeystreamXor, aesKeyExpansion, clientInitialKeys } from './initial-keys';

/** The hand-written Initial key derivation and AES block against node:crypto (and RFC 9001's own example). */
function reference(dcid: Buffer, v2: boolean): { key: Buffer; iv: Buffer; hp: Buffer } {
  const salt = Buffer.from(v2 ? '0dede3def700a6db819381be6e269dcbf9bd2ed9' : '38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
  // HKDF-Expand of one block: HMAC(secret, info || 0x01).
  const label = (secret: Buffer, name: string, length: number): Buffer =>
    crypto.createHmac('sha256', secret).update(Buffer.concat([Buffer.from([0, length, 6 + name.length]), Buffer.from(`tls13 ${name}`), Buffer.from([0, 1])])).digest().subarray(0, length);
  const initial = crypto.createHmac('sha256', salt).update(dcid).digest();
  const client = label(initial, 'client in', 32);
  const p = v2 ? 'quicv2 ' : 'quic ';
  return { key: label(client, `${p}key`, 16), iv: label(client, `${p}iv`, 12), hp: label(client, `${p}hp`, 16) };
}

describe('QUIC Initial keys, hand-written', () => {
  it("derive RFC 9001 Appendix A's client keys", () => {
    const k = clientInitialKeys(Buffer.from('8394c8f03e515708', 'hex'), false);
    expect(Buffer.from(k.key).toString('hex')).toBe('1f369613dd76d5467730efcbe3b1a22d');
    expect(Buffer.from(k.hp).toString('hex')).toBe('9f50449e04a0e810283a1e9933adedd2');
    expect(Buffer.from(k.iv).toString('hex')).toBe('fa044b2f42a3fd3b46fb255c');
    // The header-protection mask of RFC 9001 A.2's sample.
    const mask = new Uint8Array(16);
    aesEncryptBlock(aesKeyExpansion(k.hp), Buffer.from('d1b1c98dd7689fb8ec11d242b123dc9b', 'hex'), 0, mask);
    expect(Buffer.from(mask.subarray(0, 5)).toString('hex')).toBe('437b9aec36');
  });

  it('equal node:crypto for connection IDs of every length, v1 and v2, and so does the AES block', () => {
    let seed = 7;
    const rnd = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255));
    for (let len = 0; len <= 20; len++) {
      for (const v2 of [false, true]) {
        const dcid = rnd(len);
        const want = reference(dcid, v2);
        const got = clientInitialKeys(dcid, v2);
        expect(Buffer.from(got.iv).toString('hex')).toBe(want.iv.toString('hex'));
        expect(Buffer.from(got.key).toString('hex')).toBe(want.key.toString('hex'));
        expect(Buffer.from(got.hp).toString('hex')).toBe(want.hp.toString('hex'));
        const sample = rnd(16);
        const ecb = crypto.createCipheriv('aes-128-ecb', want.hp, null).setAutoPadding(false);
        const mask = new Uint8Array(16);
        aesEncryptBlock(aesKeyExpansion(got.hp), sample, 0, mask);
        expect(Buffer.from(mask).toString('hex')).toBe(ecb.update(sample).toString('hex'));
      }
    }
  });

  it("reads GCM's payload as node:crypto encrypts it, for every length up to 70 bytes", () => {
    let seed = 11;
    const rnd = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255));
    for (let len = 1; len <= 70; len++) {
      const key = rnd(16);
      const nonce = rnd(12);
      const plain = rnd(len);
      const gcm = crypto.createCipheriv('aes-128-gcm', key, nonce);
      const sealed = Buffer.concat([gcm.update(plain), gcm.final()]);
      const out = new Uint8Array(len);
      aesGcmKeystreamXor(aesKeyExpansion(key), nonce, sealed, 0, len, out);
      expect(Buffer.from(out).toString('hex')).toBe(plain.toString('hex'));
      // In two parts, the second continuing the key stream at a block boundary (QUIC reads a payload's start first).
      const cut = Math.min(len, 16 * (len % 4));
      const parts = new Uint8Array(len);
      aesGcmKeystreamXor(aesKeyExpansion(key), nonce, sealed, 0, cut, parts);
      aesGcmKeystreamXor(aesKeyExpansion(key), nonce, sealed, cut, len, parts, cut);
      expect(Buffer.from(parts).toString('hex')).toBe(plain.toString('hex'));
    }
  });
});
