/**
 * The strict JSON reader against receipts-v1 §8: every rule gets the input it
 * exists to catch and the exact outcome (rule, reason, line/column, pointer),
 * plus the lossless number text and the value spans that §4.8/§7.3 need.
 */
import { describe, expect, it } from 'vitest';
import { JArr, JNum, JObj, MAX_DEPTH, parseJsonBytes, parseJsonText, toPlain, toPointer, typeName } from '../../src/json/strict.js';
import { errorShape, parseErr, parseOk } from '../helpers/json-cases.js';

const bytes = (...b: number[]) => new Uint8Array(b);
const Q = 0x22; // "

const malformed = (rule: string, line: number, column: number, pointer = '') => ({ rule, reason: 'malformed_json', line, column, pointer });

describe('§8 rule 1: input must be valid UTF-8 (parseJsonBytes)', () => {
  it('rejects an overlong two-byte encoding of "/" (C0 AF)', () => {
    const e = parseErr(bytes(Q, 0xc0, 0xaf, Q));
    expect(errorShape(e)).toEqual({ rule: 'utf8', reason: 'malformed_json', line: 1, column: 2, pointer: '' });
    expect(e.offset).toBe(1);
  });

  it('rejects an overlong three-byte encoding (E0 80 AF)', () => {
    const e = parseErr(bytes(Q, 0xe0, 0x80, 0xaf, Q));
    expect(e.rule).toBe('utf8');
    expect(e.reason).toBe('malformed_json');
    expect(e.offset).toBe(1); // E0 may only be followed by A0–BF: the sequence starting at E0 is ill-formed
  });

  it('rejects a lone continuation byte', () => {
    const e = parseErr(bytes(Q, 0x61, 0x80, Q));
    expect(errorShape(e)).toEqual({ rule: 'utf8', reason: 'malformed_json', line: 1, column: 3, pointer: '' });
    expect(e.offset).toBe(2);
  });

  it('rejects a truncated multi-byte sequence followed by more text', () => {
    const e = parseErr(bytes(Q, 0xe2, 0x82, Q)); // € is E2 82 AC
    expect(e.rule).toBe('utf8');
    expect(e.offset).toBe(1); // where the incomplete sequence starts
  });

  it('rejects a multi-byte sequence truncated by the end of input, at its first byte', () => {
    const e = parseErr(bytes(Q, 0xe2, 0x82));
    expect(e.rule).toBe('utf8');
    expect(e.reason).toBe('malformed_json');
    expect(e.offset).toBe(1);
    const f = parseErr(bytes(0x0a, 0x0a, 0x0a, 0xe2));
    expect([f.offset, f.line, f.column]).toEqual([3, 4, 1]);
    const g = parseErr(Buffer.concat([Buffer.from('{"a":"' + 'x'.repeat(100) + '\n'), bytes(0xf0, 0x9f, 0x98)]));
    expect([g.offset, g.line, g.column]).toEqual([107, 2, 1]);
  });

  it('rejects surrogate code points encoded in UTF-8 (CESU-style ED A0 80 and ED B0 80)', () => {
    expect(parseErr(bytes(Q, 0xed, 0xa0, 0x80, Q)).rule).toBe('utf8');
    expect(parseErr(bytes(Q, 0xed, 0xb0, 0x80, Q)).rule).toBe('utf8');
    // a whole CESU-8 encoded pair for U+10000 is still invalid UTF-8
    expect(parseErr(bytes(Q, 0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80, Q)).rule).toBe('utf8');
  });

  it('rejects code points above U+10FFFF and the never-valid bytes F5..FF', () => {
    expect(parseErr(bytes(Q, 0xf4, 0x90, 0x80, 0x80, Q)).rule).toBe('utf8');
    expect(parseErr(bytes(Q, 0xff, Q)).rule).toBe('utf8');
  });

  it('reports the line of the bad byte', () => {
    const e = parseErr(Buffer.concat([Buffer.from('{\n"a":\n"'), bytes(0x80), Buffer.from('"}')]));
    expect(e.rule).toBe('utf8');
    expect(e.line).toBe(3);
    expect(e.offset).toBe(8);
  });

  it('decodes valid multi-byte text exactly (no U+FFFD substitution anywhere)', () => {
    const p = parseJsonBytes(Buffer.from('"é€😀\uFFFD"', 'utf8'));
    expect(p.ok).toBe(true);
    if (p.ok) expect(p.value).toBe('é€😀\uFFFD');
  });
});

describe('§8 rule 2: byte-order mark rejected, not skipped', () => {
  it('rejects a UTF-8 BOM before the value (bytes)', () => {
    const e = parseErr(bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d));
    expect(errorShape(e)).toEqual(malformed('bom', 1, 1));
    expect(e.offset).toBe(0);
  });

  it('rejects U+FEFF at the start of decoded text', () => {
    expect(errorShape(parseErr('\uFEFF{}'))).toEqual(malformed('bom', 1, 1));
  });

  it('a U+FEFF after leading whitespace is not whitespace either', () => {
    expect(errorShape(parseErr(' \uFEFF{}'))).toEqual(malformed('syntax', 1, 2));
  });

  it('U+FEFF inside a string is ordinary text', () => {
    expect(parseOk('"\uFEFF"')).toBe('\uFEFF');
  });
});

describe('§8 rule 3: exactly one value', () => {
  it('rejects empty input (text and bytes)', () => {
    expect(errorShape(parseErr(''))).toEqual(malformed('empty', 1, 1));
    expect(errorShape(parseErr(bytes()))).toEqual(malformed('empty', 1, 1));
  });

  it('rejects whitespace-only input, pointing after the whitespace', () => {
    const e = parseErr(' \n\t\r ');
    expect(errorShape(e)).toEqual(malformed('empty', 2, 4));
    expect(e.offset).toBe(5);
  });

  it('rejects `}EXTRA` trailing data', () => {
    const e = parseErr('{}EXTRA');
    expect(errorShape(e)).toEqual(malformed('trailing', 1, 3));
    expect(e.offset).toBe(2);
  });

  it('rejects two values', () => {
    expect(errorShape(parseErr('{} {}'))).toEqual(malformed('trailing', 1, 4));
    expect(errorShape(parseErr('{}\n{}'))).toEqual(malformed('trailing', 2, 1));
    expect(errorShape(parseErr('1 2'))).toEqual(malformed('trailing', 1, 3));
    expect(errorShape(parseErr('"a""b"'))).toEqual(malformed('trailing', 1, 4));
  });

  it('rejects a NUL byte after the value', () => {
    expect(errorShape(parseErr('{}\u0000'))).toEqual(malformed('trailing', 1, 3));
  });

  it('accepts surrounding space, TAB, LF and CR only', () => {
    expect(parseOk(' \t\r\n{} \t\r\n')).toBeInstanceOf(JObj);
    expect(errorShape(parseErr('{}\u00a0'))).toEqual(malformed('trailing', 1, 3));
    expect(errorShape(parseErr('{}\f'))).toEqual(malformed('trailing', 1, 3));
  });

  it('scalars are complete documents', () => {
    expect(parseOk('true')).toBe(true);
    expect(parseOk('false')).toBe(false);
    expect(parseOk('null')).toBe(null);
    expect(parseOk('"x"')).toBe('x');
    expect(errorShape(parseErr('tru'))).toEqual(malformed('syntax', 1, 1));
    expect(errorShape(parseErr('nulls'))).toEqual(malformed('trailing', 1, 5));
  });
});

describe('§8 rule 4: no raw control characters inside strings', () => {
  it('rejects raw U+0000 in a member value', () => {
    const e = parseErr('{"a":"x\u0000"}');
    expect(errorShape(e)).toEqual(malformed('control', 1, 8, '/a'));
  });

  it('rejects raw U+001F', () => {
    expect(errorShape(parseErr('{"a":"\u001f"}'))).toEqual(malformed('control', 1, 7, '/a'));
  });

  it('rejects raw TAB and LF inside a string (only escapes are allowed)', () => {
    expect(errorShape(parseErr('"a\tb"'))).toEqual(malformed('control', 1, 3));
    expect(errorShape(parseErr('"a\nb"'))).toEqual(malformed('control', 1, 3));
  });

  it('rejects a raw control character after an escape (slow path) and in a key', () => {
    expect(errorShape(parseErr('"\\n\u0000"'))).toEqual(malformed('control', 1, 4));
    expect(errorShape(parseErr('{"a\u0001":1}'))).toEqual(malformed('control', 1, 4));
  });

  it('accepts U+007F and C1 controls raw, and escaped controls', () => {
    expect(parseOk('"\u007f\u0080\u009f"')).toBe('\u007f\u0080\u009f');
    expect(parseOk('"\\u0000\\u001f\\t"')).toBe('\u0000\u001f\t');
  });
});

describe('§8 rule 5: nesting depth ≤ 128', () => {
  const arrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const objects = (n: number) => '{"k":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);

  it('MAX_DEPTH is 128', () => {
    expect(MAX_DEPTH).toBe(128);
  });

  it('accepts 128 nested arrays and rejects 129 at the 129th bracket', () => {
    expect(parseOk(arrays(128))).toBeInstanceOf(JArr);
    const e = parseErr(arrays(129));
    expect(errorShape(e)).toEqual(malformed('depth', 1, 129, '/0'.repeat(128)));
    expect(e.offset).toBe(128);
  });

  it('accepts 128 nested objects and rejects 129', () => {
    expect(parseOk(objects(128))).toBeInstanceOf(JObj);
    const e = parseErr(objects(129));
    expect(errorShape(e)).toEqual(malformed('depth', 1, 5 * 128 + 1, '/k'.repeat(128)));
  });

  it('a scalar at depth 128 is fine (only containers count)', () => {
    expect(parseOk('['.repeat(128) + '1' + ']'.repeat(128))).toBeInstanceOf(JArr);
  });

  it('counts from the root through members (e.g. inside ext)', () => {
    const ok = '{"ext":' + '['.repeat(127) + ']'.repeat(127) + '}';
    expect(parseOk(ok)).toBeInstanceOf(JObj);
    const bad = '{"ext":' + '['.repeat(128) + ']'.repeat(128) + '}';
    const e = parseErr(bad);
    expect(errorShape(e)).toEqual(malformed('depth', 1, 7 + 128, '/ext' + '/0'.repeat(127)));
    const mixed = '{"a":[{"b":' + '['.repeat(126) + ']'.repeat(126) + '}]}';
    expect(parseErr(mixed).rule).toBe('depth');
    const mixedOk = '{"a":[{"b":' + '['.repeat(125) + ']'.repeat(125) + '}]}';
    expect(parseOk(mixedOk)).toBeInstanceOf(JObj);
  });

  it('depth is released when a container closes (siblings at depth 128 are fine)', () => {
    const deep = '['.repeat(127) + ']'.repeat(127);
    expect(parseOk(`[${deep},${deep}]`)).toBeInstanceOf(JArr);
    const deepObj = '{"k":'.repeat(126) + '{}' + '}'.repeat(126);
    expect(parseOk(`{"a":${deepObj},"b":${deepObj}}`)).toBeInstanceOf(JObj);
  });
});

describe('§8 rule 6: lone surrogate escapes', () => {
  it('rejects a high surrogate alone', () => {
    const e = parseErr('"\\ud800"');
    expect(errorShape(e)).toEqual(malformed('surrogate', 1, 2));
  });

  it('rejects a low surrogate alone', () => {
    expect(errorShape(parseErr('"\\udc00"'))).toEqual(malformed('surrogate', 1, 2));
    expect(errorShape(parseErr('"\\uDFFF"'))).toEqual(malformed('surrogate', 1, 2));
  });

  it('rejects a high surrogate followed by a non-low escape or plain text', () => {
    expect(errorShape(parseErr('"\\ud800\\u0041"'))).toEqual(malformed('surrogate', 1, 2));
    expect(errorShape(parseErr('"\\ud800\\ud800"'))).toEqual(malformed('surrogate', 1, 2));
    expect(errorShape(parseErr('"\\ud800\\n"'))).toEqual(malformed('surrogate', 1, 2));
    expect(errorShape(parseErr('"\\ud800x"'))).toEqual(malformed('surrogate', 1, 2));
  });

  it('rejects a high surrogate at the end of a string', () => {
    expect(errorShape(parseErr('"ab\\ud800"'))).toEqual(malformed('surrogate', 1, 4));
  });

  it('reports the pointer of the string (value and key)', () => {
    expect(errorShape(parseErr('{"k":["x","\\udfff"]}'))).toEqual(malformed('surrogate', 1, 12, '/k/1'));
    expect(errorShape(parseErr('{"\\ud800":1}'))).toEqual(malformed('surrogate', 1, 3));
  });

  it('accepts valid pairs, either hex case, at both ends of the astral range', () => {
    expect(parseOk('"\\ud83d\\ude00"')).toBe('😀');
    expect(parseOk('"\\uD83D\\uDE00"')).toBe('😀');
    expect(parseOk('"\\ud800\\udc00"')).toBe('\u{10000}');
    expect(parseOk('"\\udbff\\udfff"')).toBe('\u{10FFFF}');
    expect(parseOk('"a\\ud800\\udc00b"')).toBe('a\u{10000}b');
  });
});

describe('§8 rule 7: duplicate keys (duplicate_key)', () => {
  const dup = (line: number, column: number, pointer: string) => ({ rule: 'duplicate', reason: 'duplicate_key', line, column, pointer });

  it('top level', () => {
    const e = parseErr('{"a":1,"a":2}');
    expect(errorShape(e)).toEqual(dup(1, 8, '/a'));
    expect(e.offset).toBe(7);
  });

  it('nested', () => {
    expect(errorShape(parseErr('{"x":{"b":1,"b":2}}'))).toEqual(dup(1, 13, '/x/b'));
  });

  it('inside arrays', () => {
    expect(errorShape(parseErr('{"x":[0,{"k":1,\n"k":2}]}'))).toEqual(dup(2, 1, '/x/1/k'));
    expect(errorShape(parseErr('[{"a":1},{"a":1,"a":1}]'))).toEqual(dup(1, 17, '/1/a'));
  });

  it('compares keys after unescaping: "a" vs "\\u0061" (both orders) and "/" vs "\\/"', () => {
    expect(errorShape(parseErr('{"a":1,"\\u0061":2}'))).toEqual(dup(1, 8, '/a'));
    expect(errorShape(parseErr('{"\\u0061":1,"a":2}'))).toEqual(dup(1, 13, '/a'));
    expect(errorShape(parseErr('{"/":1,"\\/":2}'))).toEqual(dup(1, 8, '/~1'));
  });

  it('a literal astral character and its surrogate-pair escape are duplicates', () => {
    expect(errorShape(parseErr('{"😀":1,"\\ud83d\\ude00":2}'))).toEqual(dup(1, 9, '/😀'));
  });

  it('keys differing in case or normalisation are distinct', () => {
    const o = parseOk('{"a":1,"A":2,"\u00e9":3,"e\u0301":4}') as JObj;
    expect(o.keys).toEqual(['a', 'A', '\u00e9', 'e\u0301']);
  });

  it('reports only the first duplicate in document order of detection', () => {
    expect(errorShape(parseErr('{"a":1,"a":2,"b":1,"b":2}'))).toEqual(dup(1, 8, '/a'));
  });

  it('__proto__ is an ordinary key; a duplicate __proto__ is caught', () => {
    const o = parseOk('{"__proto__":{"polluted":1}}') as JObj;
    expect(o.keys).toEqual(['__proto__']);
    expect(o.has('__proto__')).toBe(true);
    expect((o.get('__proto__') as JObj).keys).toEqual(['polluted']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(errorShape(parseErr('{"__proto__":1,"__proto__":2}'))).toEqual(dup(1, 16, '/__proto__'));
  });

  it('Object.prototype names are neither present by default nor immune to duplicate detection', () => {
    const o = parseOk('{}') as JObj;
    expect(o.has('toString')).toBe(false);
    expect(o.has('constructor')).toBe(false);
    expect(o.get('hasOwnProperty')).toBeUndefined();
    expect(errorShape(parseErr('{"toString":1,"toString":2}'))).toEqual(dup(1, 15, '/toString'));
  });

  it('a syntax error anywhere wins over an earlier duplicate (rules 1–6 before rule 7)', () => {
    expect(errorShape(parseErr('{"a":1,"a":2,"b":}'))).toEqual(malformed('syntax', 1, 18, '/b'));
    expect(errorShape(parseErr('{"a":1,"a":2}x'))).toEqual(malformed('trailing', 1, 14));
    expect(parseErr('{"a":1,"a":2,"b":"\\ud800"}').rule).toBe('surrogate');
    expect(parseErr('{"a":1,"a":' + '['.repeat(128) + ']'.repeat(128) + '}').rule).toBe('depth');
    expect(parseErr(Buffer.concat([Buffer.from('{"a":1,"a":"'), bytes(0xff), Buffer.from('"}')])).rule).toBe('utf8');
  });
});

describe('numbers: RFC 8259 grammar, kept as literal text', () => {
  it.each(['0', '-0', '1e5', '1.5E-3', '-1.5e+10', '0.0', '123', '-7'])('accepts %s and keeps the text', (n) => {
    const v = parseOk(n);
    expect(v).toBeInstanceOf(JNum);
    expect((v as JNum).raw).toBe(n);
  });

  it.each([
    ['01', 'trailing', 2],
    ['-01', 'trailing', 3],
    ['00', 'trailing', 2],
    ['0x10', 'trailing', 2],
    ['+1', 'syntax', 1],
    ['1.', 'syntax', 1],
    ['.5', 'syntax', 1],
    ['1e', 'syntax', 1],
    ['1e+', 'syntax', 1],
    ['1.5e', 'syntax', 1],
    ['-', 'syntax', 1],
    ['- 1', 'syntax', 1],
    ['NaN', 'syntax', 1],
    ['Infinity', 'syntax', 1],
    ['-Infinity', 'syntax', 1],
  ] as const)('rejects %s (%s at column %i)', (n, rule, column) => {
    expect(errorShape(parseErr(n))).toEqual(malformed(rule, 1, column));
  });

  it('a bad number inside a member reports the member pointer', () => {
    expect(errorShape(parseErr('{"n":+1}'))).toEqual(malformed('syntax', 1, 6, '/n'));
    const e = parseErr('{"n":01}');
    expect(e.rule).toBe('syntax');
    expect(e.column).toBe(7);
  });

  it('keeps integers beyond 2^53 and 2^64 and long fractions losslessly', () => {
    const o = parseOk('{"a":18446744073709551615,"b":123456789012345678901234567890,"c":-9223372036854775809,"d":1.000000000000000000001,"e":1E400}') as JObj;
    expect((o.get('a') as JNum).raw).toBe('18446744073709551615');
    expect((o.get('b') as JNum).raw).toBe('123456789012345678901234567890');
    expect((o.get('c') as JNum).raw).toBe('-9223372036854775809');
    expect((o.get('d') as JNum).raw).toBe('1.000000000000000000001');
    expect((o.get('e') as JNum).raw).toBe('1E400');
  });
});

describe('strings: escapes', () => {
  it('decodes every short escape and \\u escapes', () => {
    expect(parseOk('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC"')).toBe('"\\/\b\f\n\r\tAé€');
  });

  it.each([
    ['"\\x"', 2],
    ['"\\u12"', 2],
    ['"\\u12"}', 2],
    ['"\\uZZZZ"', 2],
    ['"\\U0041"', 2],
    ["\"\\'\"", 2],
    ['"\\ud800\\uZZZZ"', 8],
  ] as const)('rejects the invalid escape in %s', (s, column) => {
    expect(errorShape(parseErr(s))).toEqual(malformed('syntax', 1, column));
  });

  it('rejects unterminated strings', () => {
    expect(errorShape(parseErr('"abc'))).toEqual(malformed('syntax', 1, 1));
    expect(errorShape(parseErr('"abc\\'))).toEqual(malformed('syntax', 1, 5));
    expect(errorShape(parseErr('{"a":"x'))).toEqual(malformed('syntax', 1, 6, '/a'));
  });
});

describe('structure errors', () => {
  it.each([
    ['{"a" 1}', 1, 6, ''],
    ['{a:1}', 1, 2, ''],
    ['{"a":1,}', 1, 8, ''],
    ['[1,]', 1, 4, '/1'],
    ['[1 2]', 1, 4, ''],
    ['{"a":1', 1, 7, ''],
    ['[', 1, 2, '/0'],
  ] as const)('%s → syntax at %i:%i %s', (text, line, column, pointer) => {
    expect(errorShape(parseErr(text))).toEqual(malformed('syntax', line, column, pointer));
  });

  it('columns count UTF-16 units; lines count LF', () => {
    expect(errorShape(parseErr('["😀",x]'))).toEqual(malformed('syntax', 1, 7, '/1'));
    expect(errorShape(parseErr('{\r\n  "a": [\n    1,\n    x\n  ]\n}'))).toEqual(malformed('syntax', 4, 5, '/a/1'));
  });
});

describe('source spans of values', () => {
  const text = '{ "a" : [ 1 , { "b" : "x\\"y" } ] ,\n  "c":18446744073709551615 }';

  it('member spans are exact [start, end) ranges of the value text', () => {
    const o = parseOk(text) as JObj;
    expect(o.start).toBe(0);
    expect(o.end).toBe(text.length);
    expect(o.span('a')).toEqual([8, 32]);
    expect(text.slice(8, 32)).toBe('[ 1 , { "b" : "x\\"y" } ]');
    const c = o.span('c')!;
    expect(text.slice(c[0], c[1])).toBe('18446744073709551615');
    expect(o.span('missing')).toBeUndefined();
  });

  it('nested array item and object member spans', () => {
    const o = parseOk(text) as JObj;
    const a = o.get('a') as JArr;
    expect([a.start, a.end]).toEqual([8, 32]);
    expect(a.starts).toEqual([10, 14]);
    expect(a.ends).toEqual([11, 30]);
    expect(text.slice(a.starts[1], a.ends[1])).toBe('{ "b" : "x\\"y" }');
    const inner = a.items[1] as JObj;
    expect([inner.start, inner.end]).toEqual([14, 30]);
    const b = inner.span('b')!;
    expect(text.slice(b[0], b[1])).toBe('"x\\"y"');
    expect(inner.get('b')).toBe('x"y');
  });

  it('spans are UTF-16 offsets into the decoded text (astral characters count 2)', () => {
    const t = '{"k":"😀","n":1}';
    const o = parseOk(t) as JObj;
    expect(o.span('k')).toEqual([5, 9]);
    expect(o.span('n')).toEqual([14, 15]);
  });

  it('literal and number spans', () => {
    const t = '[ true ,null, -1.5e3 ]';
    const a = parseOk(t) as JArr;
    expect(a.items.map((_, i) => t.slice(a.starts[i], a.ends[i]))).toEqual(['true', 'null', '-1.5e3']);
  });
});

describe('toPointer (RFC 6901)', () => {
  it('escapes ~ as ~0 and / as ~1, in that order', () => {
    expect(toPointer(['a/b', 'c~d', 0, '~1', '/~'])).toBe('/a~1b/c~0d/0/~01/~1~0');
    expect(toPointer([])).toBe('');
    expect(toPointer([''])).toBe('/');
  });

  it('is used for error pointers', () => {
    expect(errorShape(parseErr('{"a/b":{"c~d":[1,}]}}'))).toEqual(malformed('syntax', 1, 18, '/a~1b/c~0d/1'));
  });
});

describe('typeName and toPlain', () => {
  it('names each JSON type', () => {
    const a = parseOk('["s",1,true,null,[],{}]') as JArr;
    expect(a.items.map(typeName)).toEqual(['string', 'number', 'boolean', 'null', 'array', 'object']);
    expect(typeName(undefined)).toBe('absent');
  });

  it('keeps __proto__ as an own member and does not touch prototypes', () => {
    const plain = toPlain(parseOk('{"__proto__":{"x":1},"n":2}')) as Record<string, unknown>;
    expect(Object.keys(plain)).toEqual(['__proto__', 'n']);
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(plain, '__proto__')!.value).toEqual({ x: 1 });
  });

  it('parseJsonText returns the text it parsed', () => {
    const r = parseJsonText('{"a":1}');
    expect(r.ok && r.text).toBe('{"a":1}');
  });
});
