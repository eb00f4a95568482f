/**
 * Go encoding/json emulation: string escaping (receipts-v1 §4.3), raw `ext`
 * compaction (§4.8), the wrapper measurement (§9.4) and the code-point map
 * key order (§4.7).
 */
import { describe, expect, it } from 'vitest';
import { compactRawGo, compactRawPlain, compareCodePoints, goQuote } from '../../src/json/go-encode.js';
import { prng } from '../helpers/json-cases.js';

const hex2 = (c: number) => c.toString(16).padStart(2, '0');

describe('goQuote: §4.3 table row by row', () => {
  const SHORT: Record<number, string> = { 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0c: '\\f', 0x0d: '\\r' };

  for (let c = 0; c < 0x20; c++) {
    const expected = SHORT[c] ?? `\\u00${hex2(c)}`;
    it(`U+00${hex2(c).toUpperCase()} → ${expected}`, () => {
      expect(goQuote(String.fromCharCode(c))).toBe(`"${expected}"`);
    });
  }

  it('uses lowercase hex in \\u00XX (U+000B, U+001B, U+001F)', () => {
    expect(goQuote('\u000b\u001b\u001f')).toBe('"\\u000b\\u001b\\u001f"');
    expect(goQuote('\u0000')).toBe('"\\u0000"');
  });

  it.each([
    ['"', '\\"'],
    ['\\', '\\\\'],
    ['<', '\\u003c'],
    ['>', '\\u003e'],
    ['&', '\\u0026'],
    ['\u2028', '\\u2028'],
    ['\u2029', '\\u2029'],
  ])('%j → %s', (ch, out) => {
    expect(goQuote(ch)).toBe(`"${out}"`);
  });

  it.each([
    ['U+007F', '\u007f'],
    ['/', '/'],
    ["'", "'"],
    ['é (U+00E9)', '\u00e9'],
    ['U+0080', '\u0080'],
    ['U+FFFD', '\uFFFD'],
    ['U+E000', '\uE000'],
    ['U+2027', '\u2027'],
    ['U+202A', '\u202A'],
    ['U+FEFF', '\uFEFF'],
    ['astral U+10000', '\u{10000}'],
    ['astral U+1F600', '😀'],
    ['astral U+10FFFF', '\u{10FFFF}'],
  ])('%s is written raw', (_, ch) => {
    expect(goQuote(ch)).toBe(`"${ch}"`);
  });

  it('escapes every occurrence in mixed text and leaves the rest alone', () => {
    expect(goQuote('a<b>c&d<e\u2028f\u2029"g"\\h/i\tj')).toBe('"a\\u003cb\\u003ec\\u0026d\\u003ce\\u2028f\\u2029\\"g\\"\\\\h/i\\tj"');
    expect(goQuote('')).toBe('""');
    expect(goQuote('plain ascii text')).toBe('"plain ascii text"');
  });

  it('matches the e11 canonical intent (§11.2)', () => {
    const intent = "render <script>alert('x')</script> & preserve \u2028 and \u2029 separators";
    expect(goQuote(intent)).toBe(
      '"render \\u003cscript\\u003ealert(\'x\')\\u003c/script\\u003e \\u0026 preserve \\u2028 and \\u2029 separators"',
    );
  });
});

describe('compactRawGo: ext bytes (§4.8)', () => {
  it('removes space, TAB, LF, CR outside strings and keeps them inside', () => {
    expect(compactRawGo(' {\n\t"a b" :\r\n [ 1 ,\t2 ] , "c" : " x\\t y " } ')).toBe('{"a b":[1,2],"c":" x\\t y "}');
  });

  it('keeps other whitespace-like characters (they can only be inside strings in valid JSON)', () => {
    expect(compactRawGo('{"a":"\u00a0\u3000 "}')).toBe('{"a":"\u00a0\u3000 "}');
  });

  it('escapes < > & U+2028 U+2029 inside strings (keys too)', () => {
    expect(compactRawGo('{"<k>": "a&b\u2028\u2029"}')).toBe('{"\\u003ck\\u003e":"a\\u0026b\\u2028\\u2029"}');
  });

  it('keeps existing escapes verbatim: \\/ , \\u0041, uppercase hex, \\u003C', () => {
    expect(compactRawGo('{"a": "\\/ \\u0041 \\u00E9 \\u003C \\uD83D\\uDE00"}')).toBe('{"a":"\\/ \\u0041 \\u00E9 \\u003C \\uD83D\\uDE00"}');
  });

  it('keeps number spellings verbatim', () => {
    expect(compactRawGo('[ 1e+06 , 2.50 , -0 , 1E400, 123456789012345678901234567890 ]')).toBe('[1e+06,2.50,-0,1E400,123456789012345678901234567890]');
  });

  it('keeps member order and duplicate-free key spellings as written', () => {
    expect(compactRawGo('{ "z":1, "a":2, "\\u0062":3 }')).toBe('{"z":1,"a":2,"\\u0062":3}');
  });

  it('handles escaped quotes and escaped backslashes at string ends', () => {
    expect(compactRawGo('{"a": "x\\" <y> \\"", "b" : "z\\\\" , "c" : "<"}')).toBe('{"a":"x\\" \\u003cy\\u003e \\"","b":"z\\\\","c":"\\u003c"}');
  });

  it('scalars', () => {
    expect(compactRawGo('null')).toBe('null');
    expect(compactRawGo(' "a & b" ')).toBe('"a \\u0026 b"');
    expect(compactRawGo('0')).toBe('0');
    expect(compactRawGo('{}')).toBe('{}');
    expect(compactRawGo('[ ]')).toBe('[]');
  });

  it('does not touch raw non-ASCII or U+007F', () => {
    expect(compactRawGo('{"é":"😀\u007f/"}')).toBe('{"é":"😀\u007f/"}');
  });
});

describe('compactRawPlain: wrapper measurement (§9.4)', () => {
  it('removes whitespace outside strings and changes nothing else', () => {
    expect(compactRawPlain(' {\n "a" : "<b> & c\u2028" ,\t"n" : 1e+06 } ')).toBe('{"a":"<b> & c\u2028","n":1e+06}');
  });

  it('handles escaped quotes inside strings', () => {
    expect(compactRawPlain('{ "a" : "x\\" y" , "b" : "\\\\" }')).toBe('{"a":"x\\" y","b":"\\\\"}');
  });
});

describe('compareCodePoints: §4.7 map key order', () => {
  it('sorts the e10 keys as api_key < U+E000 < U+10000 (unlike the default UTF-16 sort)', () => {
    const keys = ['\u{10000}', '\uE000', 'api_key'];
    expect([...keys].sort(compareCodePoints)).toEqual(['api_key', '\uE000', '\u{10000}']);
    expect([...keys].sort()).toEqual(['api_key', '\u{10000}', '\uE000']);
  });

  it('sorts U+FFFF before any astral character, and astral characters among themselves', () => {
    expect(compareCodePoints('\uFFFF', '\u{10000}')).toBeLessThan(0);
    expect(compareCodePoints('\u{10000}', '\uFFFF')).toBeGreaterThan(0);
    expect(compareCodePoints('\u{10000}', '\u{10001}')).toBeLessThan(0);
    expect(compareCodePoints('\u{1F600}', '\u{10FFFF}')).toBeLessThan(0);
    expect(compareCodePoints('\u{20000}', '\u{1FFFF}')).toBeGreaterThan(0);
  });

  it('prefixes sort first; equal strings compare 0', () => {
    expect(compareCodePoints('a', 'ab')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('', 'a')).toBeLessThan(0);
    expect(compareCodePoints('\u{10000}x', '\u{10000}x')).toBe(0);
    expect(compareCodePoints('B', 'a')).toBeLessThan(0);
  });

  it('agrees with Buffer.compare of UTF-8 bytes on random strings (seeded)', () => {
    const rnd = prng(0x5eed1234);
    const ranges: [number, number][] = [
      [0x20, 0x7e],
      [0x00, 0x1f],
      [0x80, 0x7ff],
      [0x800, 0xd7ff],
      [0xe000, 0xffff],
      [0x10000, 0x10ffff],
      [0xd7f0, 0xd7ff], // just below the surrogate block
      [0xfff0, 0xffff], // just below the astral planes
      [0x10000, 0x1000f],
    ];
    const char = () => {
      const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)]!;
      return String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
    };
    const str = (maxLen: number) => {
      let s = '';
      const n = Math.floor(rnd() * (maxLen + 1));
      for (let i = 0; i < n; i++) s += char();
      return s;
    };
    const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
    const pool: string[] = [];
    let disagreements = 0;
    let utf16Differs = 0;
    for (let k = 0; k < 4000; k++) {
      // share a prefix half of the time so comparisons reach deep positions
      const prefix = rnd() < 0.5 ? str(3) : '';
      const a = prefix + str(4);
      const b = prefix + str(4);
      pool.push(a);
      const ref = sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      if (sign(compareCodePoints(a, b)) !== ref) disagreements++;
      if (sign(compareCodePoints(b, a)) !== -ref) disagreements++;
      if (sign(a < b ? -1 : a > b ? 1 : 0) !== ref) utf16Differs++;
    }
    expect(disagreements).toBe(0);
    // the property test would be vacuous if the naive UTF-16 order never differed
    expect(utf16Differs).toBeGreaterThan(0);
    const byBytes = [...pool].sort((x, y) => Buffer.compare(Buffer.from(x, 'utf8'), Buffer.from(y, 'utf8')));
    expect([...pool].sort(compareCodePoints)).toEqual(byBytes);
  });
});
