/**
 * §5.1 normalisation steps and the §5.6 checksum validators, one by one.
 */
import { describe, expect, it } from 'vitest';
import {
  base58Check,
  bech32AddressValid,
  btcBase58AddressValid,
  btcWifValid,
  cardIssuer,
  creditCardValid,
  ibanValid,
  luhnValid,
  ssnValid,
} from '../../src/proxy/scan/checksums.js';
import {
  cleanUnicode,
  collapseWhitespace,
  decodeBase32,
  decodeBase64,
  decodeCandidates,
  decodeHex,
  decodeLayers,
  newBudget,
  noiseStrip,
  percentDecodeIter,
  percentDecodeOnce,
  shannonEntropy,
  textRuns,
  unescapeSequences,
} from '../../src/proxy/scan/normalize.js';
import { base32Encode } from '../../src/proxy/scan/patterns.js';
import { splitHost, hostMatchesPattern } from '../../src/proxy/scan/host-match.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';

describe('Unicode clean-up (§5.1)', () => {
  it('leaves printable ASCII untouched (fast path)', () => {
    const s = 'plain ASCII text, with tabs\tand\nlines';
    expect(cleanUnicode(s)).toBe(s);
  });
  it('applies NFKC (full-width and compatibility forms)', () => {
    expect(cleanUnicode('ＡＫＩＡＩＯＳＦＯＤＮＮ７ＥＸＡＭＰＬＥ')).toBe(KEY);
    expect(cleanUnicode('ﬁle')).toBe('file');
  });
  it('removes zero-width and format characters', () => {
    const hidden = ['\u200B', '\u200C', '\u200D', '\u200E', '\u200F', '\u2060', '\u2064', '\uFEFF', '\u00AD', '\u180E', '\u115F', '\u1160', '\u3164', '\u202E'];
    for (const z of hidden) expect(cleanUnicode(`AKIA${z}IOSFODNN7EXAMPLE`)).toBe(KEY);
  });
  it('strips C0, C1 and DEL controls but keeps tab/LF/CR unless asked', () => {
    expect(cleanUnicode('AKIA\u0000IOSF\u0007ODNN\u007F7EXA\u0085MPLE')).toBe(KEY);
    expect(cleanUnicode('a\tb\nc\u0001')).toBe('a\tb\nc');
    expect(cleanUnicode('a\tb\nc\u00e9', { stripLineBreaks: true })).toBe('abce');
  });
  it('removes combining marks after NFD', () => {
    expect(cleanUnicode('pa\u0301ssword')).toBe('password');
    expect(cleanUnicode('Ãkìä')).toBe('Akia');
  });
  it('folds Cyrillic and Greek look-alikes to Latin', () => {
    expect(cleanUnicode('АКІАIOSFODNN7ЕХАМРLЕ')).toBe(KEY); // Cyrillic А К І Е Х М Р
    expect(cleanUnicode('ΑΚΙΑIOSFODNN7EXAMPLE')).toBe(KEY); // Greek Α Κ Ι
    expect(cleanUnicode('раѕѕword')).toBe('password');
  });
  it('collapses whitespace and strips the noise characters of query values', () => {
    expect(collapseWhitespace('  a \t\n b  c ')).toBe('a b c');
    expect(noiseStrip('AKIA.IOSF/ODNN 7EXA\t,MP;|LE+')).toBe(KEY);
  });
});

describe('character escapes in decoded layers', () => {
  it('\\uXXXX, \\u{X}, %uXXXX and numeric HTML references become a decoded layer', () => {
    expect(unescapeSequences('\\u0041\\u004BIA \\u{1F600} %u0041 &#65;&#x4b;')).toBe('AKIA \u{1F600} A AK');
    expect(unescapeSequences('no escapes \\x41 &amp;')).toBe('no escapes \\x41 &amp;');
    expect(decodeCandidates('d=\\u0041\\u004BIAIOSFODNN7EXAMPLE', newBudget())).toContain('d=AKIAIOSFODNN7EXAMPLE');
  });
});

describe('percent-decoding (§5.1, §5.7)', () => {
  it('decodes once, with form semantics on request', () => {
    expect(percentDecodeOnce('a%20b+c')).toBe('a b+c');
    expect(percentDecodeOnce('a%20b+c', true)).toBe('a b c');
    expect(percentDecodeOnce('%E3%83%91%zz')).toBe('パ%zz');
  });
  it('counts rounds, up to 8, stopping when nothing changes', () => {
    expect(percentDecodeIter('plain')).toEqual({ value: 'plain', rounds: 0 });
    expect(percentDecodeIter('%41')).toEqual({ value: 'A', rounds: 1 });
    expect(percentDecodeIter('%2541')).toEqual({ value: 'A', rounds: 2 });
    expect(percentDecodeIter('%252541')).toEqual({ value: 'A', rounds: 3 });
    let deep = 'A';
    for (let i = 0; i < 10; i++) deep = encodeURIComponent(deep === 'A' ? '%41' : deep);
    expect(percentDecodeIter(deep).rounds).toBe(8);
  });
  it('keeps a "+" produced by decoding %2B (form semantics on the first round only)', () => {
    expect(percentDecodeIter('a%252Bb', true)).toEqual({ value: 'a+b', rounds: 2 });
  });
  it('turns invalid UTF-8 into U+FFFD instead of throwing', () => {
    expect(percentDecodeIter('%FF%41').value).toBe('\uFFFDA');
  });
});

describe('entropy', () => {
  it('is Shannon entropy in bits per character', () => {
    expect(shannonEntropy('')).toBe(0);
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(shannonEntropy('x7Kp2mQ9vR4sL8nW1bY6cT3fA0jH5dE')).toBeGreaterThan(4.5);
  });
  it('pure hex never exceeds 4.0 bits per character', () => {
    expect(shannonEntropy('0123456789abcdef'.repeat(4))).toBeCloseTo(4, 10);
    expect(shannonEntropy('550e8400-e29b-41d4-a716-446655440000')).toBeLessThan(4);
  });
});

describe('candidate-token decoders (§5.1)', () => {
  const raw = Buffer.from(KEY);
  it('base64: standard and URL-safe, padded or not', () => {
    const std = raw.toString('base64');
    expect(decodeBase64(std)?.toString()).toBe(KEY);
    expect(decodeBase64(std.replace(/=+$/, ''))?.toString()).toBe(KEY);
    const bin = Buffer.from([0xfb, 0xff, 0xbf, 0x41, 0x42]);
    expect(decodeBase64(bin.toString('base64url'))).toEqual(bin);
    expect(decodeBase64(bin.toString('base64'))).toEqual(bin);
    expect(decodeBase64('abcde')).toBeNull(); // length 1 mod 4
    expect(decodeBase64('ab+c_d')).toBeNull(); // mixed alphabets
  });
  it('base32: RFC 4648, upper-cased first, padding optional', () => {
    const b32 = base32Encode(raw);
    expect(decodeBase32(b32)?.toString()).toBe(KEY);
    expect(decodeBase32(b32.toLowerCase().replace(/=+$/, ''))?.toString()).toBe(KEY);
    expect(decodeBase32('ABC1')).toBeNull();
  });
  it('hex: plain and with every delimiter of §5.1', () => {
    const hex = raw.toString('hex');
    const pairs = hex.match(/../g)!;
    for (const form of [hex, hex.toUpperCase(), pairs.join(':'), pairs.join('-'), pairs.join(' '), pairs.join(','), pairs.map((p) => '\\x' + p).join(''), pairs.map((p) => '0x' + p).join(' '), '0x' + hex]) {
      expect(decodeHex(form)?.toString(), form).toBe(KEY);
    }
    expect(decodeHex('abc')).toBeNull();
  });
  it('finds candidate tokens in text and decodes each form', () => {
    const hex = raw.toString('hex');
    const pairs = hex.match(/../g)!;
    const forms = [
      raw.toString('base64'),
      raw.toString('base64url'),
      base32Encode(raw),
      hex,
      pairs.join(':'),
      pairs.join(', '),
      pairs.map((p) => '\\x' + p).join(''),
      pairs.map((p) => '0x' + p).join(','),
    ];
    for (const f of forms) expect(decodeCandidates(`prefix "${f}" suffix`, newBudget()), f).toContain(KEY);
  });
  it('decodes recursively to max_decode_depth and no deeper', () => {
    let enc = KEY;
    for (let i = 0; i < 3; i++) enc = Buffer.from(enc).toString('base64');
    expect(decodeLayers(enc, 3)).toContain(KEY);
    expect(decodeLayers(enc, 2)).not.toContain(KEY);
    expect(decodeLayers(enc, 0)).toEqual([]);
    // mixed encodings: hex of base32 of base64
    const mixed = Buffer.from(base32Encode(Buffer.from(Buffer.from(KEY).toString('base64')))).toString('hex');
    expect(decodeLayers(mixed, 3)).toContain(KEY);
  });
  it('keeps printable runs of binary payloads (secret inside binary)', () => {
    const bin = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1]), Buffer.from(KEY), Buffer.from([0, 0xff])]);
    expect(decodeLayers(bin.toString('hex'), 1).join('\n')).toContain(KEY);
  });
  it('respects the work budget', () => {
    const text = Array.from({ length: 50 }, (_, i) => Buffer.from(`token number ${i} padding`).toString('base64')).join(' ');
    expect(decodeCandidates(text, newBudget(1 << 20, 5)).length).toBeLessThanOrEqual(5);
  });
  it('finds character runs in one pass', () => {
    const r = textRuns('ab QUtJQUlPU0ZPRE5ON0VYQU1QTEU= de:ad:be:ef:00:11:22:33:44 x');
    expect(r.cand.length).toBeGreaterThan(0);
    expect(r.hex.length).toBe(1);
    expect(r.token.length).toBeGreaterThan(0);
  });
});

describe('host names', () => {
  it('splits the registrable domain (two labels, three under a two-level suffix)', () => {
    expect(splitHost('a.b.evil.example.com')).toMatchObject({ registrable: 'example.com', subdomain: ['a', 'b', 'evil'] });
    expect(splitHost('x.shop.co.uk.')).toMatchObject({ registrable: 'shop.co.uk', subdomain: ['x'] });
    expect(splitHost('example.com')).toMatchObject({ registrable: 'example.com', subdomain: [] });
  });
  it('matches host patterns as in §4 (wildcard covers the apex, never IPs)', () => {
    expect(hostMatchesPattern('api.github.com', '*.github.com')).toBe(true);
    expect(hostMatchesPattern('github.com.', '*.GitHub.com')).toBe(true);
    expect(hostMatchesPattern('evilgithub.com', '*.github.com')).toBe(false);
    expect(hostMatchesPattern('10.0.0.1', '*.0.0.1')).toBe(false);
    expect(hostMatchesPattern('api.openai.com', 'api.openai.com')).toBe(true);
  });
});

describe('checksum validators (§5.6)', () => {
  it('Luhn and issuer: accepts test numbers, rejects look-alikes', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(creditCardValid('4111 1111 1111 1111')).toBe(true);
    expect(creditCardValid('4111-1111-1111-1112')).toBe(false); // Luhn-invalid
    expect(creditCardValid('5500000000000004')).toBe(true);
    expect(creditCardValid('378282246310005')).toBe(true);
    expect(creditCardValid('6011111111111117')).toBe(true);
    expect(creditCardValid('2221000000000009')).toBe(true);
    expect(creditCardValid('3530111333300000')).toBe(true);
    expect(creditCardValid('1234567812345670')).toBe(false); // Luhn-valid, no issuer
    expect(creditCardValid('378282246310005000')).toBe(false); // Amex prefix, wrong length
    expect(cardIssuer('4111111111111111')).toBe('visa');
    // grouping: one separator between groups of 3–6 digits; whole groups may be the number
    expect(creditCardValid('3782 822463 10005')).toBe(true);
    expect(creditCardValid('12 4111 1111 1111 1111')).toBe(true);
    expect(creditCardValid('4111 1111 1111 1111 2')).toBe(true);
    expect(creditCardValid('4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9')).toBe(false); // single digits are not a card
    expect(creditCardValid('4111 1111-1111 1111')).toBe(false); // mixed separators
  });
  it('IBAN: ISO 13616 country, its length, mod-97', () => {
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 01')).toBe(false); // checksum
    expect(ibanValid('DE89370400440532013000000')).toBe(false); // length
    expect(ibanValid('ZZ89370400440532013000')).toBe(false); // country
    expect(ibanValid('GA1212345678901234567890123')).toBe(false);
  });
  it('Base58Check addresses and WIF keys', () => {
    expect(btcBase58AddressValid('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa')).toBe(true);
    expect(btcBase58AddressValid('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy')).toBe(true);
    expect(btcBase58AddressValid('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb')).toBe(false);
    expect(base58Check('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfN0')).toBeNull(); // '0' is not base58
    expect(btcWifValid('5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ')).toBe(true);
    expect(btcWifValid('KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617')).toBe(true);
    expect(btcWifValid('5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTK')).toBe(false);
    expect(btcWifValid('1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa')).toBe(false); // an address, not a key
  });
  it('bech32 and bech32m', () => {
    expect(bech32AddressValid('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq')).toBe(true);
    expect(bech32AddressValid('BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ')).toBe(true);
    expect(bech32AddressValid('bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297')).toBe(true);
    expect(bech32AddressValid('bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr')).toBe(false);
    expect(bech32AddressValid('bc1qAR0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq')).toBe(false); // mixed case
  });
  it('US SSN groups', () => {
    expect(ssnValid('123-45-6789')).toBe(true);
    for (const bad of ['000-12-3456', '666-12-3456', '912-12-3456', '123-00-4567', '123-45-0000']) expect(ssnValid(bad), bad).toBe(false);
  });
});
