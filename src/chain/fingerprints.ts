/**
 * A set of 128-bit fingerprints (the first 16 bytes of SHA-256) in one
 * typed array with open addressing: about 32 bytes per member instead of a
 * few hundred for a Set of strings, so replay detection over a whole input
 * keeps memory nearly flat as chains grow. A false "seen" would need a
 * 128-bit collision.
 */
import { sha256 } from '../crypto/ed25519.js';

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
    const d = sha256(key);
    const a = d.readUInt32LE(0) | 1; // never 0: an all-zero slot is empty
    const b = d.readUInt32LE(4);
    const c = d.readUInt32LE(8);
    const e = d.readUInt32LE(12);
    if ((this.count + 1) * 2 > this.slots.length / 4) this.grow();
    return this.insert(a >>> 0, b, c, e);
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
