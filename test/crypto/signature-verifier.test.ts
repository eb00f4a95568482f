/**
 * The verifier seam: the native batch verifier must answer exactly as
 * OpenSSL does, whatever the mix of keys, batch boundaries and keys it
 * declines, and every `done` must be called once.
 */
import * as crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyHexOf } from '../../src/crypto/ed25519.js';
import { nativeEd25519 } from '../../src/crypto/native-ed25519.js';
import { NativeBatchVerifier, ThreadPoolVerifier, defaultSignatureVerifier, type SignatureVerifier } from '../../src/crypto/signature-verifier.js';

if (!nativeEd25519) console.warn('note: the native Ed25519 verifier is not built; its seam tests are skipped');

interface Item {
  keyHex: string;
  message: Buffer;
  signature: Buffer;
}

function items(count: number): Item[] {
  const keys = [crypto.generateKeyPairSync('ed25519'), crypto.generateKeyPairSync('ed25519')];
  // The identity point: a small-order key the native path declines (OpenSSL answers instead).
  const smallOrder = '01' + '00'.repeat(31);
  const out: Item[] = [];
  for (let i = 0; i < count; i++) {
    const kp = keys[Math.floor(i / 50) % 2]!; // runs of 50 per key: batches switch keys
    const message = crypto.randomBytes(32);
    const signature = crypto.sign(null, message, kp.privateKey);
    const keyHex = publicKeyHexOf(kp.publicKey);
    switch (i % 7) {
      case 1:
        signature[i % 64]! ^= 1 << (i % 8);
        break;
      case 2:
        message[0]! ^= 0x80;
        break;
      case 3:
        out.push({ keyHex: smallOrder, message, signature });
        continue;
      case 4:
        out.push({ keyHex, message, signature: signature.subarray(0, 63) });
        continue;
      case 5:
        out.push({ keyHex: keyHex.toUpperCase(), message, signature });
        continue;
    }
    out.push({ keyHex, message, signature });
  }
  return out;
}

function openSsl(it: Item): boolean {
  try {
    const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(it.keyHex, 'hex')]);
    return crypto.verify(null, it.message, crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }), it.signature);
  } catch {
    return false;
  }
}

async function run(v: SignatureVerifier, list: Item[]): Promise<boolean[]> {
  const calls = new Array<number>(list.length).fill(0);
  const answers = new Array<boolean>(list.length);
  await new Promise<void>((resolve) => {
    let left = list.length;
    list.forEach((it, i) =>
      v.submit(it.keyHex, it.message, it.signature, (ok) => {
        calls[i]!++;
        answers[i] = ok;
        if (--left === 0) resolve();
      }),
    );
    v.flush();
  });
  expect(calls.every((c) => c === 1)).toBe(true);
  return answers;
}

describe('signature verifiers', () => {
  const list = items(700);
  const expected = list.map(openSsl);

  it('the fixture mixes valid and invalid checks', () => {
    expect(expected.filter(Boolean).length).toBeGreaterThan(100);
    expect(expected.filter((x) => !x).length).toBeGreaterThan(100);
  });

  it('the thread-pool verifier answers as OpenSSL', async () => {
    expect(await run(new ThreadPoolVerifier(), list)).toEqual(expected);
  });

  it.skipIf(!nativeEd25519)('the native batch verifier answers as OpenSSL across batches, key switches and declined keys', async () => {
    const v = new NativeBatchVerifier(nativeEd25519!);
    expect(await run(v, list)).toEqual(expected);
    // A second pass reuses the prepared key tables.
    expect(await run(v, list.slice(0, 333))).toEqual(expected.slice(0, 333));
  });

  it.skipIf(!nativeEd25519)('is the default when built, with a wider window than the thread pool', () => {
    const v = defaultSignatureVerifier();
    expect(v).toBeInstanceOf(NativeBatchVerifier);
    expect(v.window).toBeGreaterThan(new ThreadPoolVerifier().window);
  });
});
