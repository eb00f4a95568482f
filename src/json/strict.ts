/**
 * Strict JSON reader (receipts-v1 §8).
 *
 * JSON.parse keeps the last of duplicate keys, accepts lone surrogates, loses
 * integers above 2^53 and hides source spans; every one of those is an attack
 * surface for a signature verifier. This reader keeps number literals as text,
 * records the source span of every value (the receipt hash and the recorder
 * entry hash are computed over source bytes), and reports syntax problems
 * ahead of duplicate keys, as the spec's precedence requires.
 */

export const MAX_DEPTH = 128;

/** A JSON number kept as its literal text (lossless; validated later). */
export class JNum {
  constructor(readonly raw: string) {}
}

export class JArr {
  readonly items: JVal[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  start = 0;
  end = 0;
}

/** An object in member order; keys are compared after unescaping. */
export class JObj {
  readonly keys: string[] = [];
  readonly vals: JVal[] = [];
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  start = 0;
  end = 0;
  // A Map, not a plain object: "__proto__" is an ordinary (here: unknown) member name.
  private readonly index = new Map<string, number>();

  /** Adds a member; returns false when the key is already present. */
  add(key: string, val: JVal, start: number, end: number): boolean {
    if (this.index.has(key)) return false;
    this.index.set(key, this.keys.length);
    this.keys.push(key);
    this.vals.push(val);
    this.starts.push(start);
    this.ends.push(end);
    return true;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): JVal | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.vals[i];
  }

  /** Source span [start, end) of a member's value, in the parsed text. */
  span(key: string): [number, number] | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : [this.starts[i]!, this.ends[i]!];
  }

  get size(): number {
    return this.keys.length;
  }
}

export type JVal = string | JNum | boolean | null | JArr | JObj;

export type JsonRule = 'utf8' | 'bom' | 'empty' | 'syntax' | 'trailing' | 'control' | 'depth' | 'surrogate' | 'duplicate';

export interface JsonError {
  rule: JsonRule;
  reason: 'malformed_json' | 'duplicate_key';
  message: string;
  /** Character offset in the decoded text (byte offset for UTF-8 errors). */
  offset: number;
  line: number;
  column: number;
  pointer: string;
}

export type ParseResult = { ok: true; value: JVal; text: string } | { ok: false; error: JsonError; text?: string };

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly; returns null on any invalid sequence. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return null;
  }
}

/** Parses one JSON document from bytes (rules 1–7 of §8). */
export function parseJsonBytes(bytes: Uint8Array): ParseResult {
  const text = decodeUtf8(bytes);
  if (text === null) {
    const at = firstInvalidUtf8(bytes);
    const { line, column } = lineOfByte(bytes, at);
    return {
      ok: false,
      error: {
        rule: 'utf8',
        reason: 'malformed_json',
        message: `input is not valid UTF-8 (byte offset ${at}, line ${line}, byte column ${column})`,
        offset: at,
        line,
        column,
        pointer: '',
      },
    };
  }
  return parseJsonText(text);
}

/** Parses one JSON document from already-decoded text. */
export function parseJsonText(text: string): ParseResult {
  const p = new Parser(text);
  try {
    const value = p.document();
    if (p.duplicate) return { ok: false, error: p.duplicate, text };
    return { ok: true, value, text };
  } catch (e) {
    if (e instanceof SyntaxFault) return { ok: false, error: p.errorAt(e.rule, e.message, e.offset), text };
    throw e;
  }
}

class SyntaxFault {
  constructor(
    readonly rule: JsonRule,
    readonly message: string,
    readonly offset: number,
  ) {}
}

class Parser {
  private i = 0;
  private depth = 0;
  /** Path of the value being parsed, for JSON Pointers in errors. */
  private readonly path: (string | number)[] = [];
  duplicate: JsonError | null = null;

  constructor(private readonly s: string) {}

  document(): JVal {
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) throw new SyntaxFault('bom', 'byte-order mark at start of input is not allowed', 0);
    this.ws();
    if (this.i >= s.length) throw new SyntaxFault('empty', 'empty input: expected a JSON value', this.i);
    const v = this.value();
    this.ws();
    if (this.i < s.length) throw new SyntaxFault('trailing', `unexpected data after the JSON value`, this.i);
    return v;
  }

  errorAt(rule: JsonRule, message: string, offset: number): JsonError {
    const { line, column } = lineCol(this.s, offset);
    return {
      rule,
      reason: rule === 'duplicate' ? 'duplicate_key' : 'malformed_json',
      message: `${message} (line ${line}, column ${column})`,
      offset,
      line,
      column,
      pointer: toPointer(this.path),
    };
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  private value(): JVal {
    const c = this.s.charCodeAt(this.i);
    switch (c) {
      case 0x7b: // {
        return this.object();
      case 0x5b: // [
        return this.array();
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        throw new SyntaxFault('syntax', this.i >= this.s.length ? 'unexpected end of input' : `unexpected character ${describeChar(c)}`, this.i);
    }
  }

  private enter(): void {
    if (++this.depth > MAX_DEPTH) {
      throw new SyntaxFault('depth', `nesting deeper than ${MAX_DEPTH} levels`, this.i);
    }
  }

  private object(): JObj {
    this.enter();
    const o = new JObj();
    o.start = this.i;
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      o.end = this.i;
      this.depth--;
      return o;
    }
    for (;;) {
      if (this.s.charCodeAt(this.i) !== 0x22) throw new SyntaxFault('syntax', 'expected a string key', this.i);
      const keyAt = this.i;
      const key = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x3a) throw new SyntaxFault('syntax', `expected ':' after key`, this.i);
      this.i++;
      this.ws();
      this.path.push(key);
      const start = this.i;
      const v = this.value();
      const end = this.i;
      if (!o.add(key, v, start, end) && !this.duplicate) {
        this.duplicate = this.errorAt('duplicate', `duplicate key ${JSON.stringify(key)}`, keyAt);
      }
      this.path.pop();
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
        this.ws();
        continue;
      }
      if (c === 0x7d) {
        this.i++;
        o.end = this.i;
        this.depth--;
        return o;
      }
      throw new SyntaxFault('syntax', this.i >= this.s.length ? 'unexpected end of input inside an object' : `expected ',' or '}' in object`, this.i);
    }
  }

  private array(): JArr {
    this.enter();
    const a = new JArr();
    a.start = this.i;
    this.i++;
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++;
      a.end = this.i;
      this.depth--;
      return a;
    }
    for (let n = 0; ; n++) {
      this.path.push(n);
      const start = this.i;
      const v = this.value();
      a.items.push(v);
      a.starts.push(start);
      a.ends.push(this.i);
      this.path.pop();
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
        this.ws();
        continue;
      }
      if (c === 0x5d) {
        this.i++;
        a.end = this.i;
        this.depth--;
        return a;
      }
      throw new SyntaxFault('syntax', this.i >= this.s.length ? 'unexpected end of input inside an array' : `expected ',' or ']' in array`, this.i);
    }
  }

  private string(): string {
    const s = this.s;
    const open = this.i;
    let i = open + 1;
    // Fast path: no escapes.
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        return s.slice(open + 1, i);
      }
      if (c === 0x5c) break;
      if (c < 0x20 || i >= s.length) {
        if (i >= s.length) throw new SyntaxFault('syntax', 'unterminated string', open);
        throw new SyntaxFault('control', `raw control character U+${hex4(c)} inside a string`, i);
      }
      i++;
    }
    let out = s.slice(open + 1, i);
    for (;;) {
      const c = s.charCodeAt(i);
      if (i >= s.length) throw new SyntaxFault('syntax', 'unterminated string', open);
      if (c === 0x22) {
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) throw new SyntaxFault('control', `raw control character U+${hex4(c)} inside a string`, i);
      if (c !== 0x5c) {
        const runStart = i;
        while (i < s.length) {
          const d = s.charCodeAt(i);
          if (d === 0x22 || d === 0x5c || d < 0x20) break;
          i++;
        }
        out += s.slice(runStart, i);
        continue;
      }
      const e = s.charCodeAt(i + 1);
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const u = this.hexEscape(i);
          if (u >= 0xd800 && u <= 0xdbff) {
            const lo = s.charCodeAt(i + 6) === 0x5c && s.charCodeAt(i + 7) === 0x75 ? this.hexEscape(i + 6) : -1;
            if (lo < 0xdc00 || lo > 0xdfff) {
              throw new SyntaxFault('surrogate', `lone surrogate escape \\u${hex4(u)} (not followed by a low surrogate)`, i);
            }
            out += String.fromCharCode(u, lo);
            i += 12;
            continue;
          }
          if (u >= 0xdc00 && u <= 0xdfff) {
            throw new SyntaxFault('surrogate', `lone surrogate escape \\u${hex4(u)}`, i);
          }
          out += String.fromCharCode(u);
          i += 6;
          continue;
        }
        default:
          throw new SyntaxFault('syntax', `invalid escape sequence in string`, i);
      }
      i += 2;
    }
  }

  private hexEscape(at: number): number {
    let v = 0;
    for (let k = at + 2; k < at + 6; k++) {
      const c = this.s.charCodeAt(k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else throw new SyntaxFault('syntax', 'invalid \\u escape: expected four hex digits', at);
      v = v * 16 + d;
    }
    return v;
  }

  private number(): JNum {
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === 0x2d) i++;
    const first = s.charCodeAt(i);
    if (first === 0x30) {
      i++;
    } else if (first >= 0x31 && first <= 0x39) {
      while (isDigit(s.charCodeAt(i))) i++;
    } else {
      throw new SyntaxFault('syntax', 'invalid number', start);
    }
    if (s.charCodeAt(i) === 0x2e) {
      i++;
      if (!isDigit(s.charCodeAt(i))) throw new SyntaxFault('syntax', 'invalid number: digit expected after "."', start);
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(s.charCodeAt(i))) throw new SyntaxFault('syntax', 'invalid number: digit expected in exponent', start);
      while (isDigit(s.charCodeAt(i))) i++;
    }
    this.i = i;
    return new JNum(s.slice(start, i));
  }

  private literal<T extends boolean | null>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    throw new SyntaxFault('syntax', `invalid literal (expected ${word})`, this.i);
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

function describeChar(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  return `U+${hex4(c)}`;
}

/** 1-based line and column (in UTF-16 units) of a character offset. */
export function lineCol(s: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, s.length);
  for (let i = 0; i < end; i++) {
    if (s.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function lineOfByte(b: Uint8Array, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at && i < b.length; i++) {
    if (b[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: at - lineStart + 1 };
}

/**
 * Offset of the first byte of the first ill-formed UTF-8 sequence (RFC 3629:
 * no overlongs, no surrogates, nothing above U+10FFFF, no truncation).
 * Only called once decoding has already failed, to say where.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f; // UTF-16 surrogates are not characters
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/** One RFC 6901 reference token: `~` → `~0`, `/` → `~1`. */
export function escapePointer(seg: string): string {
  return seg.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** RFC 6901 JSON Pointer for a path. */
export function toPointer(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) out += '/' + escapePointer(String(seg));
  return out;
}

/** JSON type name for messages. */
export function typeName(v: JVal | undefined): string {
  if (v === undefined) return 'absent';
  if (v === null) return 'null';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'boolean';
  if (v instanceof JNum) return 'number';
  if (v instanceof JArr) return 'array';
  return 'object';
}

/**
 * Converts a parsed value to plain JavaScript (for JSON Schema validation of
 * documents that are not signed, such as packet.json). Members are defined,
 * not assigned, so that a "__proto__" member stays an ordinary own member.
 */
export function toPlain(v: JVal): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof JNum) return Number(v.raw);
  if (v instanceof JArr) return v.items.map(toPlain);
  const o: Record<string, unknown> = {};
  for (let i = 0; i < v.keys.length; i++) {
    Object.defineProperty(o, v.keys[i]!, { value: toPlain(v.vals[i]!), enumerable: true, writable: true, configurable: true });
  }
  return o;
}
