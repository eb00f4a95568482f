/**
 * Ed25519 and SHA-256 over node:crypto (OpenSSL). This is the hot path of
 * every verification, so it stays thin: raw 32-byte keys in hex at the edges,
 * KeyObjects inside. No I/O.
 */
import * as crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** DER header of an Ed25519 SubjectPublicKeyInfo; the 32 raw key bytes follow. */
export const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** DER header of an Ed25519 PKCS#8 PrivateKeyInfo (v1); the 32-byte seed follows. */
export const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SEED_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

// crypto.hash (Node >= 20.12) skips the Hash object allocation; older 20.x
// releases lack it.
const hasOneShotHash = typeof crypto.hash === 'function';

export function sha256(data: Uint8Array | string): Buffer {
  if (hasOneShotHash) return crypto.hash('sha256', data, 'buffer');
  return crypto.createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return sha256(data).toString('hex');
}

// A chain is usually signed by one key (two around a rotation), so a small
// cache removes the DER parse from nearly every verification. Bounded so a
// hostile input with many distinct signer keys cannot grow it without limit.
const KEY_CACHE_LIMIT = 256;
const publicKeyCache = new Map<string, KeyObject>();

/** An Ed25519 public KeyObject for 64 hex characters (either case). Throws on anything else. */
export function publicKeyObject(hex: string): KeyObject {
  if (!HEX_KEY.test(hex)) {
    throw new Error('Ed25519 public key must be 64 hex characters (32 bytes)');
  }
  const lower = hex.toLowerCase();
  const cached = publicKeyCache.get(lower);
  if (cached) return cached;
  const der = Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(lower, 'hex')]);
  const key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  if (publicKeyCache.size >= KEY_CACHE_LIMIT) {
    // Map iteration order is insertion order: drop the oldest entry.
    const oldest = publicKeyCache.keys().next().value;
    if (oldest !== undefined) publicKeyCache.delete(oldest);
  }
  publicKeyCache.set(lower, key);
  return key;
}

/** The key object, or null when the hex or the signature length cannot be a valid pair. */
function keyForVerify(keyHex: string, signature: Uint8Array): KeyObject | null {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return null;
  try {
    return publicKeyObject(keyHex);
  } catch {
    return null;
  }
}

/** True only for a valid signature; malformed keys and signatures are false, never a throw. */
export function verifyEd25519(keyHex: string, message: Uint8Array, signature: Uint8Array): boolean {
  const key = keyForVerify(keyHex, signature);
  if (!key) return false;
  try {
    return crypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * Same contract as verifyEd25519, but the callback form runs on libuv's thread
 * pool, so a caller can keep several verifications in flight.
 */
export function verifyEd25519Async(keyHex: string, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  const key = keyForVerify(keyHex, signature);
  if (!key) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      crypto.verify(null, message, key, signature, (err, ok) => resolve(!err && ok));
    } catch {
      resolve(false);
    }
  });
}

/**
 * Callback form without a Promise per call: a chain walker issues one of
 * these per receipt, so the allocation and the microtask hop matter.
 */
export function verifyEd25519Callback(keyHex: string, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void {
  const key = keyForVerify(keyHex, signature);
  if (!key) return void queueMicrotask(() => done(false));
  try {
    crypto.verify(null, message, key, signature, (err, ok) => done(!err && ok));
  } catch {
    queueMicrotask(() => done(false));
  }
}

/** The Ed25519 private key whose RFC 8032 secret seed is these 32 bytes. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_SEED_BYTES) {
    throw new Error(`Ed25519 seed must be ${ED25519_SEED_BYTES} bytes, got ${seed.length}`);
  }
  const der = Buffer.concat([ED25519_PKCS8_PREFIX, seed]);
  return crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** The raw public key as 64 lowercase hex; accepts the public or the private KeyObject. */
export function publicKeyHexOf(key: KeyObject): string {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  }
  const pub = key.type === 'private' ? crypto.createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  const prefix = der.subarray(0, ED25519_SPKI_PREFIX.length);
  if (der.length !== ED25519_SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES || !prefix.equals(ED25519_SPKI_PREFIX)) {
    throw new Error('unexpected Ed25519 SPKI encoding');
  }
  return der.subarray(ED25519_SPKI_PREFIX.length).toString('hex');
}

export function signEd25519(privateKey: KeyObject, message: Uint8Array): Buffer {
  return crypto.sign(null, message, privateKey);
}

export function generateKeyPair(): { privateKey: KeyObject; publicKeyHex: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  return { privateKey, publicKeyHex: publicKeyHexOf(publicKey) };
}

/** Test keys in the public corpora are seeded as SHA-256 of a phrase; this reproduces them. */
export function seedFromPhrase(phrase: string): Buffer {
  return sha256(Buffer.from(phrase, 'utf8'));
}
