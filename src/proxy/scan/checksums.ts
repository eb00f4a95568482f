/**
 * Checksum validators for the financial and crypto patterns (spec/proxy.md §5.6).
 * A regex hit counts only when its validator accepts it.
 */
import { createHash } from 'node:crypto';
import { wordlist as englishWordlist } from '@scure/bip39/wordlists/english.js';

/** Luhn (mod 10) over a digit string. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** Card issuer by prefix and the lengths it issues (§5.6: 4, 51–55, 2221–2720, 34/37, 6011/65, 35). */
export function cardIssuer(digits: string): string | null {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p4 = Number(digits.slice(0, 4));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19 ? 'visa' : null;
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16 ? 'mastercard' : null;
  if (p2 === 34 || p2 === 37) return n === 15 ? 'amex' : null;
  if (p4 === 6011 || p2 === 65) return n >= 16 && n <= 19 ? 'discover' : null;
  if (p2 === 35) return n >= 16 && n <= 19 ? 'jcb' : null;
  return null;
}

function cardDigitsValid(digits: string): boolean {
  if (digits.length < 13 || digits.length > 19) return false;
  if (/^(\d)\1+$/.test(digits)) return false;
  return cardIssuer(digits) !== null && luhnValid(digits);
}

/**
 * A card number candidate: 13–19 digits, known issuer, Luhn. Grouped forms
 * use one separator (space or `-`) between groups of 3–6 digits (4-4-4-4,
 * 4-6-5, 4-4-4-4-3); any run of whole groups inside the candidate may be the
 * number ("order 12 4111 1111 1111 1111", "… 1111 2 items"). Single digits
 * separated by spaces are not a card.
 */
export function creditCardValid(candidate: string): boolean {
  if (!/[ -]/.test(candidate)) return cardDigitsValid(candidate);
  const groups = candidate.split(/[ -]/);
  if (candidate.includes(' ') && candidate.includes('-')) return false;
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    for (let j = i; j < groups.length; j++) {
      const g = groups[j]!;
      if (g.length < 3 || g.length > 6) break;
      digits += g;
      if (digits.length > 19) break;
      if (j > i && cardDigitsValid(digits)) return true;
    }
  }
  return false;
}

/** ISO 13616 IBAN countries and their total lengths (SWIFT IBAN registry). */
export const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HR: 21, HU: 28, IE: 22,
  IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18,
  NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31,
  SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29,
  VA: 22, VG: 24, XK: 20, YE: 30,
};

/** IBAN: country on the ISO 13616 list with its length, and mod-97 == 1. Spaces are ignored. */
export function ibanValid(candidate: string): boolean {
  const s = candidate.replace(/ /g, '').toUpperCase();
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (len === undefined || s.length !== len || !/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    const v = c >= 65 ? c - 55 : c - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const B58_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < B58.length; i++) B58_INDEX[B58.charCodeAt(i)] = i;

/** Base58 (Bitcoin alphabet) to bytes; null on a character outside the alphabet. */
export function base58Decode(s: string): Buffer | null {
  let n = 0n;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? B58_INDEX[c]! : -1;
    if (v < 0) return null;
    n = n * 58n + BigInt(v);
  }
  let hex = n === 0n ? '' : n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  let zeros = 0;
  while (zeros < s.length && s[zeros] === '1') zeros++;
  return Buffer.concat([Buffer.alloc(zeros), Buffer.from(hex, 'hex')]);
}

function sha256(b: Buffer): Buffer {
  return createHash('sha256').update(b).digest();
}

/** Base58Check: returns the payload (version byte included) when the 4-byte double-SHA-256 checksum matches. */
export function base58Check(s: string): Buffer | null {
  const raw = base58Decode(s);
  if (!raw || raw.length < 5) return null;
  const body = raw.subarray(0, raw.length - 4);
  const sum = sha256(sha256(body)).subarray(0, 4);
  return sum.equals(raw.subarray(raw.length - 4)) ? body : null;
}

/** P2PKH/P2SH address: version 0x00 or 0x05 and a 21-byte payload (version + 20-byte hash). */
export function btcBase58AddressValid(s: string): boolean {
  const p = base58Check(s);
  return p !== null && p.length === 21 && (p[0] === 0x00 || p[0] === 0x05);
}

/** WIF private key: version 0x80 and a 32-byte key, or 33 bytes ending in the 0x01 compression flag. */
export function btcWifValid(s: string): boolean {
  const p = base58Check(s);
  if (p === null || p[0] !== 0x80) return false;
  return p.length === 33 || (p.length === 34 && p[33] === 0x01);
}

const BECH32_CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32_GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GEN[i]!;
  }
  return chk >>> 0;
}

/** Segwit address (`bc1…`/`tb1…`): bech32 (constant 1) or bech32m (0x2bc830a3) checksum; mixed case is invalid. */
export function bech32AddressValid(s: string): boolean {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return false;
  const t = s.toLowerCase();
  const pos = t.lastIndexOf('1');
  if (pos < 1 || pos + 7 > t.length || t.length > 90) return false;
  const hrp = t.slice(0, pos);
  if (hrp !== 'bc' && hrp !== 'tb') return false;
  const data: number[] = [];
  for (let i = pos + 1; i < t.length; i++) {
    const v = BECH32_CHARSET.indexOf(t[i]!);
    if (v < 0) return false;
    data.push(v);
  }
  const exp: number[] = [];
  for (let i = 0; i < hrp.length; i++) exp.push(hrp.charCodeAt(i) >> 5);
  exp.push(0);
  for (let i = 0; i < hrp.length; i++) exp.push(hrp.charCodeAt(i) & 31);
  const pm = bech32Polymod([...exp, ...data]);
  return pm === 1 || pm === 0x2bc830a3;
}

/** US SSN shape guard (the regex already excludes most; this re-checks the groups). */
export function ssnValid(s: string): boolean {
  const m = /^(\d{3})-(\d{2})-(\d{4})$/.exec(s);
  if (!m) return false;
  const [area, group, serial] = [m[1]!, m[2]!, m[3]!];
  return area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';
}

/** Mnemonic lengths BIP-39 defines (128 to 256 bits of entropy). */
const MNEMONIC_LENGTHS = [24, 21, 18, 15, 12] as const;

let bip39Index: Map<string, number> | null = null;

/** Word → 11-bit index, from the maintained English list (spec/proxy.md §11 item 7: never a hand-copied list). */
function bip39Words(): Map<string, number> {
  bip39Index ??= new Map(englishWordlist.map((w, i) => [w, i]));
  return bip39Index;
}

/** Whether `indices` (12–24 words) carry a valid BIP-39 checksum: the first ENT/32 bits of SHA-256(entropy). */
export function bip39ChecksumValid(indices: readonly number[]): boolean {
  const n = indices.length;
  if (n % 3 !== 0 || n < 12 || n > 24) return false;
  const totalBits = n * 11;
  const checksumBits = totalBits / 33;
  const entropyBytes = (totalBits - checksumBits) / 8;
  const bits = new Uint8Array(totalBits);
  indices.forEach((idx, w) => {
    for (let b = 0; b < 11; b++) bits[w * 11 + b] = (idx >> (10 - b)) & 1;
  });
  const entropy = Buffer.alloc(entropyBytes);
  for (let i = 0; i < entropyBytes * 8; i++) entropy[i >> 3]! |= bits[i]! << (7 - (i & 7));
  const hash = createHash('sha256').update(entropy).digest();
  for (let i = 0; i < checksumBits; i++) {
    if (((hash[i >> 3]! >> (7 - (i & 7))) & 1) !== bits[entropyBytes * 8 + i]) return false;
  }
  return true;
}

/**
 * A run of words holds a seed phrase when some window of 12, 15, 18, 21 or
 * 24 consecutive BIP-39 English words passes the checksum (§5.6). Words
 * outside the list split the run.
 */
export function bip39PhraseIn(text: string): boolean {
  const index = bip39Words();
  let run: number[] = [];
  const check = (): boolean => {
    for (const len of MNEMONIC_LENGTHS) {
      for (let start = 0; start + len <= run.length; start++) {
        if (bip39ChecksumValid(run.slice(start, start + len))) return true;
      }
    }
    return false;
  };
  for (const word of text.toLowerCase().split(/[^a-z]+/)) {
    if (word === '') continue;
    const idx = index.get(word);
    if (idx !== undefined) {
      run.push(idx);
      continue;
    }
    if (run.length >= 12 && check()) return true;
    run = [];
  }
  return run.length >= 12 && check();
}
