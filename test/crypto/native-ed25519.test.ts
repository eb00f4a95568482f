/**
 * The native Ed25519 verifier against node:crypto (OpenSSL, whose results it
 * must reproduce exactly for every key it accepts) and @noble/ed25519 (an
 * independent implementation of the curve arithmetic).
 */
import * as crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { describe, expect, it, vi } from 'vitest';
import {
  nativeEd25519,
  nativeEd25519Internals,
  nativeEd25519Status,
  type NativeEd25519,
  type NativeKey,
} from '../../src/crypto/native-ed25519.js';

ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(crypto.createHash('sha512').update(m).digest());

if (!nativeEd25519) {
  console.warn(
    `native Ed25519 tests skipped: the addon is ${nativeEd25519Status} (build it with \`node scripts/build-native.mjs\`)`,
  );
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = (((-121665n * modPow(121666n, P - 2n, P)) % P) + P) % P;

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

const leToBigInt = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).reverse().toString('hex') || '0'));
const bigIntToLe = (n: bigint, len: number): Buffer =>
  Buffer.from(n.toString(16).padStart(2 * len, '0'), 'hex').reverse();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Buffer => Buffer.from(h, 'hex');

function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length);
}

/** OpenSSL's answer; node:crypto throws for some malformed inputs, which counts as invalid. */
function opensslVerify(pub: KeyObject, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return crypto.verify(null, msg, pub, sig);
  } catch {
    return false;
  }
}

/** Deterministic pseudo-random bytes (SHA-512 in counter mode), so failures reproduce. */
function detBytes(label: string, n: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; out.length * 64 < n; i++) out.push(crypto.createHash('sha512').update(`${label}/${i}`).digest());
  return Buffer.concat(out).subarray(0, n);
}

/** RFC 8032 §7.1, TESTs 1–3. */
const RFC8032 = [
  {
    name: 'TEST 1',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

/** RFC 8032 TEST 1024's key pair; its 1023-byte message is generated here instead of typed in. */
const RFC8032_1024 = {
  secret: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
  publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
};

interface Item {
  pub: KeyObject;
  raw: Buffer;
  key: NativeKey;
  msg: Buffer;
  sig: Buffer;
}

function makeItems(native: NativeEd25519, count: number, label: string): Item[] {
  const items: Item[] = [];
  for (let i = 0; i < count; i++) {
    const priv = privateKeyFromSeed(detBytes(`${label}/seed/${i}`, 32));
    const pub = crypto.createPublicKey(priv);
    const raw = rawPublicKey(pub);
    const key = native.prepareKey(raw);
    if (!key) throw new Error(`prepareKey declined a genuine key ${hex(raw)}`);
    const len = i % 7 === 0 ? 0 : i % 7 === 1 ? 32 : i % 7 === 2 ? 1 + (i % 200) : (i * 7919) % 1500;
    const msg = detBytes(`${label}/msg/${i}`, len);
    items.push({ pub, raw, key, msg, sig: crypto.sign(null, msg, priv) });
  }
  return items;
}

function flipBit(b: Buffer, byteFrom: number, byteTo: number, rnd: number): Buffer {
  const out = Buffer.from(b);
  const span = byteTo - byteFrom;
  const bit = rnd % (span * 8);
  out[byteFrom + (bit >> 3)] ^= 1 << (bit & 7);
  return out;
}

function batchAsync(
  native: NativeEd25519,
  key: NativeKey,
  messages: Uint8Array,
  offsets: Uint32Array,
  sigs: Uint8Array,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    native.verifyBatch(key, messages, offsets, sigs, (err, results) => (err ? reject(err) : resolve(results)));
  });
}

describe.skipIf(!nativeEd25519)('native Ed25519 verifier', () => {
  const native = nativeEd25519 as NativeEd25519;
  const internals = nativeEd25519Internals!;

  describe('building blocks (test hooks)', () => {
    it('SHA-512 equals node:crypto for every length 0..300 and around block boundaries', () => {
      const lengths = new Set<number>();
      for (let n = 0; n <= 300; n++) lengths.add(n);
      for (const n of [111, 112, 127, 128, 129, 239, 240, 255, 256, 257, 1000, 1023, 1024, 4095, 65_537]) lengths.add(n);
      for (const n of lengths) {
        const data = detBytes(`sha/${n}`, n);
        expect(hex(internals.sha512(data)), `length ${n}`).toBe(crypto.createHash('sha512').update(data).digest('hex'));
      }
    });

    it('reduces 512-bit values modulo L like BigInt does', () => {
      const specials = [0n, 1n, L - 1n, L, L + 1n, 2n * L, 2n ** 252n, 2n ** 253n - 1n, 2n ** 256n - 1n, 2n ** 512n - 1n,
        (2n ** 512n - 1n) / L * L, (2n ** 512n - 1n) / L * L - 1n, 2n ** 260n * L, 2n ** 385n];
      for (const v of specials) {
        expect(leToBigInt(internals.reduce512(bigIntToLe(v, 64))), v.toString(16)).toBe(v % L);
      }
      for (let i = 0; i < 5000; i++) {
        const h = crypto.randomBytes(64);
        // Also exercise sparse values: zero out random 8-byte words.
        if (i % 3 === 0) for (let w = 0; w < 8; w++) if (h[w] & 1) h.fill(0, 8 * w, 8 * w + 8);
        expect(leToBigInt(internals.reduce512(h))).toBe(leToBigInt(h) % L);
      }
    });
  });

  describe('RFC 8032 §7.1 vectors', () => {
    for (const v of RFC8032) {
      it(`${v.name} verifies, and fails with any single flipped bit`, () => {
        const key = native.prepareKey(bytes(v.publicKey));
        expect(key).not.toBeNull();
        expect(key!.publicKeyHex).toBe(v.publicKey);
        const msg = bytes(v.message);
        const sig = bytes(v.signature);
        expect(native.verify(key!, msg, sig)).toBe(true);
        expect(ed.verify(sig, msg, bytes(v.publicKey), { zip215: false })).toBe(true);
        for (let bit = 0; bit < 512; bit++) {
          const bad = Buffer.from(sig);
          bad[bit >> 3] ^= 1 << (bit & 7);
          expect(native.verify(key!, msg, bad), `signature bit ${bit}`).toBe(false);
        }
        for (let bit = 0; bit < msg.length * 8; bit++) {
          const bad = Buffer.from(msg);
          bad[bit >> 3] ^= 1 << (bit & 7);
          expect(native.verify(key!, bad, sig), `message bit ${bit}`).toBe(false);
        }
      });
    }

    it('TEST 1024 key pair (1023-byte message generated and signed with node:crypto)', () => {
      const priv = privateKeyFromSeed(bytes(RFC8032_1024.secret));
      expect(hex(rawPublicKey(crypto.createPublicKey(priv)))).toBe(RFC8032_1024.publicKey);
      const msg = detBytes('rfc8032/1024', 1023);
      const sig = crypto.sign(null, msg, priv);
      const key = native.prepareKey(bytes(RFC8032_1024.publicKey))!;
      expect(native.verify(key, msg, sig)).toBe(true);
      expect(native.verify(key, flipBit(msg, 0, 1023, 4242), sig)).toBe(false);
      expect(native.verify(key, msg, flipBit(sig, 0, 64, 77))).toBe(false);
    });
  });

  describe('differential against node:crypto', () => {
    it('5,000 random keys and messages: genuine signatures verify, every mutation agrees with OpenSSL', () => {
      const items = makeItems(native, 5000, 'random');
      let checked = 0;
      let validCount = 0;
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const other = items[(i + 1) % items.length];
        const sVal = leToBigInt(it.sig.subarray(32));
        const cases: Array<[string, Buffer, Buffer]> = [
          ['genuine', it.msg, it.sig],
          ['R bit', it.msg, flipBit(it.sig, 0, 32, i * 31 + 7)],
          ['S bit', it.msg, flipBit(it.sig, 32, 64, i * 17 + 3)],
          ['S + L', it.msg, Buffer.concat([it.sig.subarray(0, 32), bigIntToLe(sVal + L, 32)])],
          ['swapped signature', it.msg, other.sig],
          ['short signature', it.msg, it.sig.subarray(0, 63)],
        ];
        if (!other.msg.equals(it.msg)) cases.push(['other message', other.msg, it.sig]);
        if (it.msg.length > 0) cases.push(['M bit', flipBit(it.msg, 0, it.msg.length, i * 13 + 5), it.sig]);
        for (const [what, msg, sig] of cases) {
          const want = opensslVerify(it.pub, msg, sig);
          const got = native.verify(it.key, msg, sig);
          if (got !== want) {
            throw new Error(`${what}: native ${got}, OpenSSL ${want} (key ${hex(it.raw)}, msg ${hex(msg)}, sig ${hex(sig)})`);
          }
          if (what === 'genuine') expect(got).toBe(true);
          if (got) validCount++;
          checked++;
        }
      }
      expect(validCount).toBe(items.length); // only the genuine signatures
      expect(checked).toBeGreaterThan(35_000);
    });

    it('an independent implementation (noble, strict RFC 8032 mode) agrees on a sample', () => {
      const items = makeItems(native, 150, 'noble');
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const cases: Array<[Buffer, Buffer]> = [
          [it.msg, it.sig],
          [it.msg, flipBit(it.sig, 0, 32, i)],
          [it.msg, flipBit(it.sig, 32, 64, i)],
          [items[(i + 1) % items.length].msg, it.sig],
        ];
        for (const [msg, sig] of cases) {
          expect(native.verify(it.key, msg, sig)).toBe(ed.verify(sig, msg, it.raw, { zip215: false }));
        }
      }
    });

    it('2,000 totally random signatures are invalid in both', () => {
      const items = makeItems(native, 20, 'junk');
      for (let i = 0; i < 2000; i++) {
        const it = items[i % items.length];
        const sig = crypto.randomBytes(64);
        if (i % 2 === 0) sig[63] &= 0x0f; // half with S < 2^252, so they reach the curve arithmetic
        const got = native.verify(it.key, it.msg, sig);
        expect(got).toBe(opensslVerify(it.pub, it.msg, sig));
        expect(got).toBe(false);
      }
    });

    it('non-canonical R (y + p for y < 19, either sign bit) is invalid in both', () => {
      const [it] = makeItems(native, 1, 'noncanonical');
      const s = it.sig.subarray(32);
      for (let y = 0n; y < 19n; y++) {
        for (const sign of [0, 0x80]) {
          const r = bigIntToLe(y + P, 32);
          r[31] |= sign;
          const sig = Buffer.concat([r, s]);
          expect(native.verify(it.key, it.msg, sig)).toBe(false);
          expect(opensslVerify(it.pub, it.msg, sig)).toBe(false);
        }
      }
    });

    it('R = identity with S = 0 against a genuine key: same answer as OpenSSL', () => {
      const items = makeItems(native, 10, 'identity-r');
      const identity = bytes('01' + '00'.repeat(31));
      for (const it of items) {
        for (const r of [identity, bytes('01' + '00'.repeat(30) + '80')]) {
          const sig = Buffer.concat([r, Buffer.alloc(32)]);
          expect(native.verify(it.key, it.msg, sig)).toBe(opensslVerify(it.pub, it.msg, sig));
        }
      }
    });

    it('signatures under a key with a torsion component (mixed order) agree with OpenSSL', () => {
      // A' = A + T8 for an order-8 point T8 is not small order, so the fast path accepts it.
      // Signatures are made by hand: R = [r]B, S = r + k a (mod L), which is valid in
      // OpenSSL's cofactorless check only when [k]T8 = identity, i.e. k = 0 (mod 8).
      const t8 = ed.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', false);
      expect(t8.multiply(8n, false).is0()).toBe(true);
      let agreedValid = 0;
      for (let i = 0; i < 64; i++) {
        const a = (leToBigInt(detBytes(`mixed/a/${i}`, 64)) % (L - 1n)) + 1n;
        const A2 = ed.Point.BASE.multiply(a).add(t8);
        const raw = Buffer.from(A2.toBytes());
        const key = native.prepareKey(raw);
        expect(key, hex(raw)).not.toBeNull();
        const pub = publicKeyFromRaw(raw);
        const msg = detBytes(`mixed/m/${i}`, 40);
        const r = (leToBigInt(detBytes(`mixed/r/${i}`, 64)) % (L - 1n)) + 1n;
        const R = Buffer.from(ed.Point.BASE.multiply(r).toBytes());
        const k = leToBigInt(crypto.createHash('sha512').update(Buffer.concat([R, raw, msg])).digest()) % L;
        const S = (r + k * a) % L;
        const sig = Buffer.concat([R, bigIntToLe(S, 32)]);
        const want = opensslVerify(pub, msg, sig);
        expect(native.verify(key!, msg, sig), `k mod 8 = ${k % 8n}`).toBe(want);
        if (want) agreedValid++;
      }
      // About one in eight hashes is 0 mod 8; make sure both outcomes were exercised.
      expect(agreedValid).toBeGreaterThan(0);
      expect(agreedValid).toBeLessThan(64);
    });
  });

  describe('prepareKey', () => {
    /** Whether (y^2 - 1)/(d y^2 + 1) is a square mod p (Euler's criterion). */
    function hasX(y: bigint): boolean {
      const u = (((y * y - 1n) % P) + P) % P;
      const v = (D * y * y + 1n) % P;
      const w = (u * modPow(v, P - 2n, P)) % P;
      return w === 0n || modPow(w, (P - 1n) / 2n, P) === 1n;
    }

    it('returns null for wrong lengths', () => {
      const good = bytes(RFC8032[0].publicKey);
      expect(native.prepareKey(good)).not.toBeNull();
      for (const n of [0, 1, 31, 33, 64]) expect(native.prepareKey(new Uint8Array(n))).toBeNull();
    });

    it('returns null for y >= p (either sign bit)', () => {
      for (let y = P; y < 2n ** 255n; y++) {
        for (const sign of [0, 0x80]) {
          const enc = bigIntToLe(y, 32);
          enc[31] |= sign;
          expect(native.prepareKey(enc), hex(enc)).toBeNull();
        }
      }
    });

    it('returns null for a y with no x', () => {
      let found = 0;
      for (let y = 2n; found < 20; y++) {
        if (hasX(y)) continue;
        found++;
        const enc = bigIntToLe(y, 32);
        expect(() => ed.Point.fromBytes(enc, false)).toThrow();
        expect(native.prepareKey(enc), `y = ${y}`).toBeNull();
      }
    });

    it('returns null for x = 0 with the sign bit set', () => {
      expect(native.prepareKey(bytes('01' + '00'.repeat(30) + '80'))).toBeNull(); // y = 1
      expect(native.prepareKey(bytes('ec' + 'ff'.repeat(31)))).toBeNull(); // y = -1
    });

    it('returns null for each of the 8 small-order points', () => {
      const smallOrder = [
        '0100000000000000000000000000000000000000000000000000000000000000', // identity
        'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
        '0000000000000000000000000000000000000000000000000000000000000000', // (sqrt(-1), 0), order 4
        '0000000000000000000000000000000000000000000000000000000000000080', // (-sqrt(-1), 0), order 4
        'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
        'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
        '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
        '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
      ];
      const points = smallOrder.map((h) => ed.Point.fromHex(h, false));
      // They are 8 distinct points, each with [8]P = identity: the whole torsion subgroup.
      expect(new Set(points.map((p) => p.toHex())).size).toBe(8);
      for (const p of points) expect(p.clearCofactor().is0()).toBe(true);
      for (const h of smallOrder) expect(native.prepareKey(bytes(h)), h).toBeNull();
    });

    it('accepts exactly the strictly decodable points that are not small order (2,000 random encodings)', () => {
      let accepted = 0;
      for (let i = 0; i < 2000; i++) {
        const enc = detBytes(`enc/${i}`, 32);
        let want: boolean;
        try {
          want = !ed.Point.fromBytes(enc, false).isSmallOrder();
        } catch {
          want = false;
        }
        const key = native.prepareKey(enc);
        expect(key !== null, hex(enc)).toBe(want);
        if (key) {
          expect(key.publicKeyHex).toBe(hex(enc));
          accepted++;
        }
      }
      expect(accepted).toBeGreaterThan(800); // about half of all y have an x
    });

    it('agrees with strict decoding for every y near 0 and near p, both signs', () => {
      const ys: bigint[] = [];
      for (let y = 0n; y < 300n; y++) ys.push(y, P - 1n - y);
      let accepted = 0;
      for (const y of ys) {
        for (const sign of [0, 0x80]) {
          const enc = bigIntToLe(y, 32);
          enc[31] |= sign;
          let want: boolean;
          try {
            want = !ed.Point.fromBytes(enc, false).isSmallOrder();
          } catch {
            want = false;
          }
          if (want) accepted++;
          expect(native.prepareKey(enc) !== null, hex(enc)).toBe(want);
        }
      }
      expect(accepted).toBeGreaterThan(400);
    });

    it('accepts random genuine keys, and a NativeKey is opaque', () => {
      const items = makeItems(native, 50, 'genuine');
      for (const it of items) expect(it.key.publicKeyHex).toBe(hex(it.raw));
      expect(Object.isFrozen(items[0].key)).toBe(true);
      const forged = { publicKeyHex: hex(items[0].raw) } as NativeKey;
      expect(() => native.verify(forged, items[0].msg, items[0].sig)).toThrow(TypeError);
      expect(() => native.prepareKey('00'.repeat(32) as unknown as Uint8Array)).toThrow(TypeError);
    });

    it('keeps one table per key: a signature by one key never verifies under another', () => {
      const [a, b] = makeItems(native, 2, 'two-keys');
      expect(native.verify(a.key, a.msg, a.sig)).toBe(true);
      expect(native.verify(b.key, b.msg, b.sig)).toBe(true);
      expect(native.verify(b.key, a.msg, a.sig)).toBe(false);
      expect(native.verify(a.key, b.msg, b.sig)).toBe(false);
      // The same message signed by both keys.
      const privA = privateKeyFromSeed(detBytes('two-keys/seed/0', 32));
      const privB = privateKeyFromSeed(detBytes('two-keys/seed/1', 32));
      const msg = Buffer.from('same message');
      const sigA = crypto.sign(null, msg, privA);
      const sigB = crypto.sign(null, msg, privB);
      expect(native.verify(a.key, msg, sigA)).toBe(true);
      expect(native.verify(b.key, msg, sigB)).toBe(true);
      expect(native.verify(a.key, msg, sigB)).toBe(false);
      expect(native.verify(b.key, msg, sigA)).toBe(false);
      // A second prepared copy of the same key behaves the same.
      const again = native.prepareKey(a.raw)!;
      expect(native.verify(again, msg, sigA)).toBe(true);
      expect(native.verify(again, msg, sigB)).toBe(false);
    });

    it('signature of the wrong length is false, not a throw', () => {
      const [it] = makeItems(native, 1, 'lengths');
      for (const n of [0, 32, 63, 65, 128]) {
        const sig = Buffer.alloc(n);
        it.sig.copy(sig, 0, 0, Math.min(64, n));
        expect(native.verify(it.key, it.msg, sig)).toBe(false);
      }
    });
  });

  describe('verifyBatch', () => {
    it('1,000 mixed items give exactly the synchronous results', async () => {
      const items = makeItems(native, 40, 'batch');
      // One key for the whole batch (as in a chain); items signed by other keys are simply invalid under it.
      const { key } = items[0];
      const msgs: Buffer[] = [];
      const sigs: Buffer[] = [];
      for (let i = 0; i < 1000; i++) {
        const it = i % 3 === 0 ? items[0] : items[i % items.length];
        let msg = it.msg;
        let sig = it.sig;
        if (i % 5 === 1) sig = flipBit(sig, 0, 64, i);
        if (i % 7 === 2 && msg.length > 0) msg = flipBit(msg, 0, msg.length, i);
        if (i % 11 === 3) msg = Buffer.from(`fresh message ${i}`);
        if (i % 13 === 4) sig = crypto.sign(null, msg, privateKeyFromSeed(detBytes('batch/seed/0', 32)));
        msgs.push(msg);
        sigs.push(sig);
      }
      const offsets = new Uint32Array(msgs.length + 1);
      for (let i = 0; i < msgs.length; i++) offsets[i + 1] = offsets[i] + msgs[i].length;
      // Put the messages at an odd offset inside a larger buffer, to check byteOffset handling.
      const backing = Buffer.alloc(offsets[msgs.length] + 7);
      Buffer.concat(msgs).copy(backing, 3);
      const messages = backing.subarray(3, 3 + offsets[msgs.length]);
      const results = await batchAsync(native, key, messages, offsets, Buffer.concat(sigs));
      expect(results).toBeInstanceOf(Uint8Array);
      expect(results.length).toBe(1000);
      const expected = msgs.map((m, i) => (native.verify(key, m, sigs[i]) ? 1 : 0));
      expect(Array.from(results)).toEqual(expected);
      const valid = expected.filter((x) => x === 1).length;
      expect(valid).toBeGreaterThan(100);
      expect(valid).toBeLessThan(1000);
      // And the synchronous answers are OpenSSL's.
      for (let i = 0; i < msgs.length; i++) expect(expected[i] === 1).toBe(opensslVerify(items[0].pub, msgs[i], sigs[i]));
    });

    it('an empty batch calls done asynchronously with an empty array', async () => {
      const [it] = makeItems(native, 1, 'empty');
      let called = false;
      const p = new Promise<Uint8Array>((resolve, reject) => {
        native.verifyBatch(it.key, new Uint8Array(0), new Uint32Array([0]), new Uint8Array(0), (err, results) => {
          called = true;
          if (err) reject(err);
          else resolve(results);
        });
      });
      expect(called).toBe(false);
      const results = await p;
      expect(results).toBeInstanceOf(Uint8Array);
      expect(results.length).toBe(0);
    });

    it('several batches in flight at once each get their own results', async () => {
      const items = makeItems(native, 8, 'parallel');
      const { key } = items[0];
      const runs = Array.from({ length: 6 }, (_, r) => {
        const n = 50 + r;
        const msgs = Array.from({ length: n }, (_, i) => items[(i + r) % items.length].msg);
        const sigs = Array.from({ length: n }, (_, i) => items[(i + r) % items.length].sig);
        const offsets = new Uint32Array(n + 1);
        for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i] + msgs[i].length;
        const expected = sigs.map((s, i) => (native.verify(key, msgs[i], s) ? 1 : 0));
        return batchAsync(native, key, Buffer.concat(msgs), offsets, Buffer.concat(sigs)).then((res) =>
          expect(Array.from(res)).toEqual(expected),
        );
      });
      await Promise.all(runs);
    });

    it('throws a TypeError synchronously for inconsistent buffers', () => {
      const [it] = makeItems(native, 1, 'shapes');
      const done = vi.fn();
      const msgs = Buffer.alloc(10);
      const sig64 = Buffer.alloc(64);
      const call = (messages: unknown, offsets: unknown, sigs: unknown, cb: unknown = done) => () =>
        native.verifyBatch(
          it.key,
          messages as Uint8Array,
          offsets as Uint32Array,
          sigs as Uint8Array,
          cb as (err: Error | null, r: Uint8Array) => void,
        );
      expect(call(msgs, new Uint32Array([0, 10, 10]), sig64)).toThrow(TypeError); // 2 items, 1 signature
      expect(call(msgs, new Uint32Array([0]), sig64)).toThrow(TypeError); // 0 items, 1 signature
      expect(call(msgs, new Uint32Array([0, 5]), Buffer.alloc(63))).toThrow(TypeError);
      expect(call(msgs, new Uint32Array([0, 5]), Buffer.alloc(128))).toThrow(TypeError);
      expect(call(msgs, new Uint32Array([]), Buffer.alloc(0))).toThrow(TypeError); // no entries at all
      expect(call(msgs, new Uint32Array([0, 6, 5]), Buffer.alloc(128))).toThrow(TypeError); // decreasing
      expect(call(msgs, new Uint32Array([0, 11]), sig64)).toThrow(TypeError); // beyond messages
      expect(call(msgs, new Uint32Array([1, 5]), sig64)).toThrow(TypeError); // offsets[0] != 0
      expect(call(msgs, [0, 5], sig64)).toThrow(TypeError); // not a Uint32Array
      expect(call(msgs, new Int32Array([0, 5]), sig64)).toThrow(TypeError);
      expect(call('abc', new Uint32Array([0, 3]), sig64)).toThrow(TypeError);
      expect(call(msgs, new Uint32Array([0, 5]), sig64, 'not a function')).toThrow(TypeError);
      expect(() =>
        native.verifyBatch({ publicKeyHex: it.key.publicKeyHex }, msgs, new Uint32Array([0, 5]), sig64, done),
      ).toThrow(TypeError);
      expect(done).not.toHaveBeenCalled();
    });

    it('keeps its inputs alive on its own while it runs', async () => {
      const [it] = makeItems(native, 1, 'lifetime');
      const results = await new Promise<Uint8Array>((resolve, reject) => {
        (() => {
          const offsets = new Uint32Array([0, it.msg.length]);
          native.verifyBatch(it.key, Buffer.from(it.msg), offsets, Buffer.from(it.sig), (err, r) =>
            err ? reject(err) : resolve(r),
          );
        })();
        (globalThis as { gc?: () => void }).gc?.();
      });
      expect(Array.from(results)).toEqual([1]);
    });
  });

  it('EGRESS_VERIFY_NO_NATIVE=1 disables the addon', async () => {
    const before = process.env.EGRESS_VERIFY_NO_NATIVE;
    process.env.EGRESS_VERIFY_NO_NATIVE = '1';
    try {
      vi.resetModules();
      const mod = await import('../../src/crypto/native-ed25519.js');
      expect(mod.nativeEd25519).toBeNull();
      expect(mod.nativeEd25519Status).toMatch(/EGRESS_VERIFY_NO_NATIVE/);
    } finally {
      if (before === undefined) delete process.env.EGRESS_VERIFY_NO_NATIVE;
      else process.env.EGRESS_VERIFY_NO_NATIVE = before;
      vi.resetModules();
    }
  });
});
