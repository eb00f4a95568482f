import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ed from '@noble/ed25519';
import { describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  privateKeyFromSeed,
  publicKeyHexOf,
  publicKeyObject,
  seedFromPhrase,
  sha256,
  sha256Hex,
  signEd25519,
  verifyEd25519,
  verifyEd25519Async,
} from '../../src/crypto/ed25519.js';

// @noble/ed25519 v3 needs a sync SHA-512 for its sync API; node:crypto's is
// fine here because noble's curve arithmetic is the independent part.
ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(crypto.createHash('sha512').update(m).digest());

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sharedDir = path.resolve(repoRoot, '../shared');

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');

/** RFC 8032 §7.1, TESTs 1–3. */
const RFC8032 = [
  {
    name: 'TEST 1',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** The group order L of Ed25519. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBigInt(b: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(b).reverse().toString('hex'));
}

function bigIntToLe32(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
}

describe('sha256', () => {
  it('matches the FIPS 180-2 vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('hashes a string as its UTF-8 bytes and returns a 32-byte Buffer', () => {
    const s = 'ü€𝄞';
    expect(sha256(s).equals(sha256(Buffer.from(s, 'utf8')))).toBe(true);
    expect(Buffer.isBuffer(sha256('x'))).toBe(true);
    expect(sha256('x')).toHaveLength(32);
    expect(sha256Hex(new Uint8Array([1, 2, 3]))).toBe(crypto.createHash('sha256').update(Buffer.from([1, 2, 3])).digest('hex'));
  });
});

describe('RFC 8032 §7.1 vectors, node:crypto against @noble/ed25519', () => {
  for (const v of RFC8032) {
    it(`${v.name}: key derivation, signature and verification agree`, async () => {
      const priv = privateKeyFromSeed(bytes(v.secret));
      expect(publicKeyHexOf(priv)).toBe(v.publicKey);
      expect(hex(ed.getPublicKey(bytes(v.secret)))).toBe(v.publicKey);

      const msg = bytes(v.message);
      expect(signEd25519(priv, msg).toString('hex')).toBe(v.signature);
      expect(hex(ed.sign(msg, bytes(v.secret)))).toBe(v.signature);

      expect(verifyEd25519(v.publicKey, msg, bytes(v.signature))).toBe(true);
      expect(await verifyEd25519Async(v.publicKey, msg, bytes(v.signature))).toBe(true);
      expect(ed.verify(bytes(v.signature), msg, bytes(v.publicKey))).toBe(true);
    });
  }

  const v2KeyFile = path.resolve(sharedDir, 'reference/pipelock-evidence-v2/v2-test-keys.json');
  const v2KeyFileExists = fs.existsSync(v2KeyFile);
  if (!v2KeyFileExists) console.warn(`skipping the shared RFC 8032 key-file test: ${v2KeyFile} not found`);

  it.skipIf(!v2KeyFileExists)('TEST 1 from the shared evidence-v2 key file verifies', () => {
    const file = v2KeyFile;
    const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { public_key_hex: string; signature_hex: string; message: string };
    expect(doc.public_key_hex).toBe(RFC8032[0]?.publicKey);
    const msg = Buffer.from(doc.message, 'utf8');
    expect(verifyEd25519(doc.public_key_hex, msg, bytes(doc.signature_hex))).toBe(true);
    expect(ed.verify(bytes(doc.signature_hex), msg, bytes(doc.public_key_hex))).toBe(true);
  });
});

describe('corpus test keys (seed = SHA-256 of a phrase)', () => {
  const cases = [
    {
      phrase: 'agent-egress-bench-receipt-conformance-test-key-v1',
      seed: 'b22f6ab95d1862a73e26a3cca832387bdcfa9af15815dfdf585b7d6466d6cd62',
      publicKey: '890726e93f89e773fb3b4298271245a69c1884fd1003846c3358b8b65a2288fa',
    },
    {
      phrase: 'pipelock-conformance-test-key-v1',
      seed: 'c8ee65622000420b20ff7ec4e790006b7883ddfd3823ff9ccc2fc050c389bd48',
      publicKey: '4655a7e605c12ebb00a46037881c33c5bca5eb74b45a02e8e7261a7ff5a21678',
    },
  ];
  for (const c of cases) {
    it(`derives ${c.publicKey.slice(0, 8)}… from "${c.phrase}"`, () => {
      const seed = seedFromPhrase(c.phrase);
      expect(seed.toString('hex')).toBe(c.seed);
      expect(publicKeyHexOf(privateKeyFromSeed(seed))).toBe(c.publicKey);
      expect(hex(ed.getPublicKey(seed))).toBe(c.publicKey);
    });
  }
});

describe('node:crypto and @noble/ed25519 agree on derived seeds', () => {
  const seeds = Array.from({ length: 24 }, (_, i) => sha256(`egress-verify cross-check seed ${i}`));
  const messages = [Buffer.alloc(0), Buffer.from('x'), crypto.randomBytes(1000), Buffer.alloc(4096, 0xa5)];

  it('public keys and signatures are byte-identical, and each verifies the other', () => {
    for (const [i, seed] of seeds.entries()) {
      const priv = privateKeyFromSeed(seed);
      const pubHex = publicKeyHexOf(priv);
      expect(hex(ed.getPublicKey(seed))).toBe(pubHex);
      const msg = messages[i % messages.length] as Buffer;
      const nodeSig = signEd25519(priv, msg);
      const nobleSig = ed.sign(msg, seed);
      expect(nodeSig.toString('hex')).toBe(hex(nobleSig));
      expect(verifyEd25519(pubHex, msg, nobleSig)).toBe(true);
      expect(ed.verify(nodeSig, msg, bytes(pubHex))).toBe(true);
    }
  });

  it('both reject a tampered message, a flipped signature bit and a wrong key', () => {
    const seed = seeds[0] as Buffer;
    const other = publicKeyHexOf(privateKeyFromSeed(seeds[1] as Buffer));
    const pubHex = publicKeyHexOf(privateKeyFromSeed(seed));
    const msg = Buffer.from('receipt bytes');
    const sig = signEd25519(privateKeyFromSeed(seed), msg);
    const tamperedMsg = Buffer.from('receipt bytez');
    const flipped = Buffer.from(sig);
    flipped[10] = (flipped[10] as number) ^ 0x01;

    expect(verifyEd25519(pubHex, tamperedMsg, sig)).toBe(false);
    expect(ed.verify(sig, tamperedMsg, bytes(pubHex))).toBe(false);
    expect(verifyEd25519(pubHex, msg, flipped)).toBe(false);
    expect(ed.verify(flipped, msg, bytes(pubHex))).toBe(false);
    expect(verifyEd25519(other, msg, sig)).toBe(false);
    expect(ed.verify(sig, msg, bytes(other))).toBe(false);
  });

  it('both reject a malleated signature whose S is not reduced (S + L)', () => {
    const v = RFC8032[0]!;
    const sig = bytes(v.signature);
    const s = leToBigInt(sig.subarray(32));
    const malleated = Buffer.concat([sig.subarray(0, 32), bigIntToLe32(s + L)]);
    expect(verifyEd25519(v.publicKey, Buffer.alloc(0), malleated)).toBe(false);
    expect(ed.verify(malleated, Buffer.alloc(0), bytes(v.publicKey))).toBe(false);
  });
});

describe('verifyEd25519 / verifyEd25519Async on malformed input', () => {
  const v = RFC8032[0]!;
  const msg = Buffer.alloc(0);
  const sig = bytes(v.signature);
  const bad: Array<[string, string, Uint8Array]> = [
    ['63-byte signature', v.publicKey, sig.subarray(0, 63)],
    ['65-byte signature', v.publicKey, Buffer.concat([sig, Buffer.from([0])])],
    ['empty signature', v.publicKey, Buffer.alloc(0)],
    ['63-hex key', v.publicKey.slice(1), sig],
    ['66-hex key', v.publicKey + '00', sig],
    ['non-hex key', 'z' + v.publicKey.slice(1), sig],
    ['empty key', '', sig],
  ];
  for (const [name, key, s] of bad) {
    it(`returns false, not a throw, for a ${name}`, async () => {
      expect(verifyEd25519(key, msg, s)).toBe(false);
      expect(await verifyEd25519Async(key, msg, s)).toBe(false);
    });
  }

  it('accepts an upper-case key', async () => {
    expect(verifyEd25519(v.publicKey.toUpperCase(), msg, sig)).toBe(true);
    expect(await verifyEd25519Async(v.publicKey.toUpperCase(), msg, sig)).toBe(true);
  });

  it('keeps many async verifications in flight with the right answers', async () => {
    const { privateKey, publicKeyHex } = generateKeyPair();
    const msgs = Array.from({ length: 200 }, (_, i) => Buffer.from(`line ${i}`));
    const sigs = msgs.map((m) => signEd25519(privateKey, m));
    // Every third signature is paired with the wrong message.
    const results = await Promise.all(
      msgs.map((m, i) => verifyEd25519Async(publicKeyHex, i % 3 === 0 ? Buffer.from('other') : m, sigs[i] as Buffer)),
    );
    expect(results).toEqual(msgs.map((_, i) => i % 3 !== 0));
  });
});

describe('key objects', () => {
  const v = RFC8032[0]!;

  it('publicKeyObject returns one cached object per key, whatever the hex case', () => {
    const a = publicKeyObject(v.publicKey);
    expect(publicKeyObject(v.publicKey.toUpperCase())).toBe(a);
    expect(a.asymmetricKeyType).toBe('ed25519');
    expect(publicKeyHexOf(a)).toBe(v.publicKey);
  });

  it('publicKeyObject evicts old entries instead of growing without bound', () => {
    const first = sha256Hex('cache probe');
    const original = publicKeyObject(first);
    for (let i = 0; i < 300; i++) publicKeyObject(sha256Hex(`filler ${i}`));
    const again = publicKeyObject(first);
    expect(again).not.toBe(original);
    expect(publicKeyHexOf(again)).toBe(first);
  });

  it('publicKeyObject throws on anything but 64 hex characters', () => {
    for (const bad of ['', 'abc', v.publicKey.slice(2), v.publicKey + 'a', 'g'.repeat(64), ` ${v.publicKey.slice(1)}`]) {
      expect(() => publicKeyObject(bad)).toThrow('64 hex characters');
    }
  });

  it('privateKeyFromSeed requires exactly 32 bytes', () => {
    expect(() => privateKeyFromSeed(Buffer.alloc(31))).toThrow('32 bytes, got 31');
    expect(() => privateKeyFromSeed(Buffer.alloc(33))).toThrow('32 bytes, got 33');
  });

  it('publicKeyHexOf gives the same hex for the private and the public half', () => {
    const priv = privateKeyFromSeed(bytes(v.secret));
    expect(publicKeyHexOf(crypto.createPublicKey(priv))).toBe(v.publicKey);
    expect(publicKeyHexOf(priv)).toBe(v.publicKey);
  });

  it('publicKeyHexOf refuses a key of another algorithm', () => {
    const { publicKey } = crypto.generateKeyPairSync('x25519');
    expect(() => publicKeyHexOf(publicKey)).toThrow('expected an Ed25519 key, got x25519');
  });

  it('generateKeyPair gives a fresh lowercase key that signs and verifies', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    expect(a.publicKeyHex).toMatch(/^[0-9a-f]{64}$/);
    expect(a.publicKeyHex).not.toBe(b.publicKeyHex);
    expect(publicKeyHexOf(a.privateKey)).toBe(a.publicKeyHex);
    const msg = Buffer.from('hello');
    const sig = signEd25519(a.privateKey, msg);
    expect(sig).toHaveLength(64);
    expect(verifyEd25519(a.publicKeyHex, msg, sig)).toBe(true);
    expect(verifyEd25519(b.publicKeyHex, msg, sig)).toBe(false);
  });
});
