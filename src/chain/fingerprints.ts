/**
 * A set of 128-bit fingerprints in one typed array with open addressing:
 * about 32 bytes per member instead of a few hundred for a Set of strings,
 * so replay detection over a whole input keeps memory nearly flat as chains
 * grow.
 *
 * The fingerprint is a fast non-cryptographic hash (four murmur-style lanes).
 * A collision can only make the set say "seen" for a new key, i.e. reject,
 * never accept a real replay (equal keys always collide); and the keys are
 * signed action ids, which only the key holder chooses.
 */

export class FingerprintSet {
  private slots: Uint32Array;
  private count = 0;

  constructor(initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.slots = new Uint32Array(cap * 4);
  }

  get size(): number {
    return this.count;
  }

  /** Adds `key`; returns false when it was already present. */
  add(key: string): boolean {
    let a = 0x9e3779b9 ^ key.length;
    let b = 0x85ebca6b;
    let c = 0xc2b2ae35;
    let e = 0x27d4eb2f;
    for (let i = 0; i < key.length; i++) {
      const k = key.charCodeAt(i);
      a = Math.imul(a ^ k, 0x01000193);
      b = Math.imul(b ^ k, 0x5bd1e995);
      c = Math.imul((c << 5) | (c >>> 27), 0x1b873593) ^ k;
      e = Math.imul(e + k, 0xcc9e2d51) ^ (e >>> 15);
    }
    a = fmix(a ^ e);
    b = fmix(b ^ a);
    c = fmix(c ^ b);
    e = fmix(e ^ c);
    if ((this.count + 1) * 2 > this.slots.length / 4) this.grow();
    return this.insert((a | 1) >>> 0, b >>> 0, c >>> 0, e >>> 0); // a is never 0: an all-zero slot is empty
  }

  private insert(a: number, b: number, c: number, e: number): boolean {
    const s = this.slots;
    const mask = s.length / 4 - 1;
    for (let i = (b ^ c) & mask; ; i = (i + 1) & mask) {
      const o = i * 4;
      if (s[o] === 0) {
        s[o] = a;
        s[o + 1] = b;
        s[o + 2] = c;
        s[o + 3] = e;
        this.count++;
        return true;
      }
      if (s[o] === a && s[o + 1] === b && s[o + 2] === c && s[o + 3] === e) return false;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.count = 0;
    for (let o = 0; o < old.length; o += 4) if (old[o] !== 0) this.insert(old[o]!, old[o + 1]!, old[o + 2]!, old[o + 3]!);
  }
}

/** Murmur3's finaliser: every input bit affects every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
