/**
 * Normalisation applied before any text matching (spec/proxy.md §5.1):
 * Unicode clean-up, iterated percent-decoding with a round count, and the
 * candidate-token decoders (base64 std/url padded or not, base32, hex plain
 * or delimited), recursive to `max_decode_depth`. Pure functions.
 */

// ---------------------------------------------------------------- Unicode

/** Text that needs no Unicode work: printable ASCII plus tab, LF, CR. */
const ASCII_CLEAN = /^[\t\n\r\x20-\x7e]*$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/**
 * Zero-width and format characters: U+200B–U+200F, U+2060–U+2064, U+FEFF,
 * U+00AD, U+180E (all category Cf) plus every other Cf (bidi controls, tag
 * characters), and the Hangul fillers U+115F, U+1160, U+3164.
 */
const FORMAT_CHARS = /[\p{Cf}\u115F\u1160\u3164\uFFA0]/gu;
/** C0 (except tab, LF, CR), DEL and C1 controls. */
const CONTROL_CHARS = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]/g;
/** C0 including tab, LF, CR (for URL components, where a line break is never meaningful). */
const ALL_CONTROL_CHARS = /[\x00-\x1F\x7F-\x9F]/g;
const COMBINING_MARKS = /\p{M}/gu;

/** Cyrillic and Greek look-alikes of Latin letters (the small confusables table of §5.1). */
export const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic capitals
  'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
  'Х': 'X', 'У': 'Y', 'Ү': 'Y', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ԛ': 'Q', 'Ԝ': 'W', 'Һ': 'H', 'Ӏ': 'I',
  // Cyrillic small letters
  'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j',
  'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ӏ': 'l', 'к': 'k', 'ү': 'y', 'ɡ': 'g',
  // Greek capitals
  'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
  'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'Ϲ': 'C', 'Ϳ': 'J',
  // Greek small letters
  'α': 'a', 'ο': 'o', 'ν': 'v', 'ρ': 'p', 'ι': 'i', 'κ': 'k', 'υ': 'u', 'χ': 'x', 'ϲ': 'c', 'ϳ': 'j', 'τ': 't',
};
const CONFUSABLE_RE = new RegExp(`[${Object.keys(CONFUSABLES).join('')}]`, 'gu');
const GREEK_OR_CYRILLIC = /[\u0370-\u052F\u0261]/;

export interface CleanOptions {
  /** Also strip tab, LF and CR (URL components). Default false: line structure is kept. */
  stripLineBreaks?: boolean;
}

/**
 * §5.1 Unicode clean-up: NFKC; remove zero-width and format characters;
 * strip C0, C1 and DEL controls (tab/LF/CR are kept unless `stripLineBreaks`);
 * remove combining marks after NFD; fold the confusables table.
 * Printable ASCII is returned unchanged (the fast path).
 */
export function cleanUnicode(s: string, opts: CleanOptions = {}): string {
  if (opts.stripLineBreaks) {
    if (PRINTABLE_ASCII.test(s)) return s;
    if (ASCII_CLEAN.test(s)) return s.replace(/[\t\n\r]/g, '');
  } else if (ASCII_CLEAN.test(s)) return s;
  let t = s.normalize('NFKC');
  t = t.replace(FORMAT_CHARS, '');
  t = t.replace(opts.stripLineBreaks ? ALL_CONTROL_CHARS : CONTROL_CHARS, '');
  if (!ASCII_CLEAN.test(t)) {
    t = t.normalize('NFD').replace(COMBINING_MARKS, '');
    if (GREEK_OR_CYRILLIC.test(t)) t = t.replace(CONFUSABLE_RE, (c) => CONFUSABLES[c] ?? c);
    t = t.normalize('NFC');
  }
  return t;
}

/** Collapse every whitespace run to one space and trim (response scanning, §5.11). */
export function collapseWhitespace(s: string): string {
  // Only runs that are not already a single space are rewritten (most spaces of prose are).
  return s.replace(/\s{2,}|[^\S ]/g, ' ').trim();
}

/** Noise stripping of query keys and values (§5.4): remove `. / space tab , ; | +`. */
export function noiseStrip(s: string): string {
  return s.replace(/[./ \t,;|+]/g, '');
}

// ---------------------------------------------------------------- percent-decoding

const PCT_RUN = /(?:%[0-9A-Fa-f]{2})+/g;
const PCT_ANY = /%[0-9A-Fa-f]{2}/;

function decodePctRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    return Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8');
  }
}

/** One round of percent-decoding; invalid UTF-8 becomes U+FFFD, stray `%` stays. */
export function percentDecodeOnce(s: string, plusAsSpace = false): string {
  const t = plusAsSpace && s.includes('+') ? s.replace(/\+/g, ' ') : s;
  return t.includes('%') ? t.replace(PCT_RUN, decodePctRun) : t;
}

export interface PercentDecoded {
  value: string;
  /** Rounds that decoded at least one `%XX` (§5.7: three or more is `encoding_evasion`). */
  rounds: number;
}

/**
 * Iterated percent-decoding, up to `maxRounds` (8) rounds, until nothing
 * changes. `plusAsSpace` applies form semantics to the first round only, so
 * a `+` produced by decoding `%2B` survives.
 */
export function percentDecodeIter(s: string, plusAsSpace = false, maxRounds = 8): PercentDecoded {
  let value = plusAsSpace && s.includes('+') ? s.replace(/\+/g, ' ') : s;
  let rounds = 0;
  while (rounds < maxRounds && PCT_ANY.test(value)) {
    const next = value.replace(PCT_RUN, decodePctRun);
    if (next === value) break;
    value = next;
    rounds++;
  }
  return { value, rounds };
}

// ---------------------------------------------------------------- entropy

const asciiCounts = new Int32Array(128);

/** Shannon entropy in bits per character (code points). */
export function shannonEntropy(s: string): number {
  const n = s.length;
  if (n === 0) return 0;
  let other: Map<number, number> | undefined;
  let len = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) asciiCounts[c]!++;
    else (other ??= new Map()).set(c, (other.get(c) ?? 0) + 1);
    len++;
  }
  let h = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      const k = asciiCounts[c]!;
      if (k > 0) {
        const p = k / len;
        h -= p * Math.log2(p);
        asciiCounts[c] = 0;
      }
    }
  }
  if (other) for (const k of other.values()) {
    const p = k / len;
    h -= p * Math.log2(p);
  }
  return h;
}

// ---------------------------------------------------------------- token decoders

const B32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const B32_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 32; i++) B32_INDEX[B32_ALPHABET.charCodeAt(i)] = i;

/** RFC 4648 base32 (uppercased first; padding optional). Null when not base32. */
export function decodeBase32(token: string): Buffer | null {
  const t = token.toUpperCase().replace(/=+$/, '');
  const rem = t.length % 8;
  if (t.length === 0 || rem === 1 || rem === 3 || rem === 6) return null;
  const out = Buffer.allocUnsafe(Math.floor((t.length * 5) / 8));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    const v = c < 128 ? B32_INDEX[c]! : -1;
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/** Base64, standard or URL-safe, padded or not. Null when the length cannot be base64 or the alphabets are mixed. */
export function decodeBase64(token: string): Buffer | null {
  const t = token.replace(/=+$/, '');
  if (t.length === 0 || t.length % 4 === 1) return null;
  if (!/^[A-Za-z0-9+/_-]+$/.test(t)) return null;
  if (/[+/]/.test(t) && /[_-]/.test(t)) return null;
  return Buffer.from(t, 'base64');
}

/** Hex, plain or with delimiters (`:`, `-`, space, `,`, `\x` prefix, `0x` prefix). Null when not hex. */
export function decodeHex(token: string): Buffer | null {
  let t = token;
  if (/\\x|0x/i.test(t)) t = t.replace(/\\x|0x/gi, '');
  t = t.replace(/[:\-, ]/g, '');
  if (t.length < 2 || t.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(t)) return null;
  return Buffer.from(t, 'hex');
}

const PRINTABLE_RUNS = /[^\t\n\r\x20-\x7e\u00a0-\ufffc]+/g;

/**
 * Decoded bytes as text for matching: UTF-8, with runs of non-printable
 * bytes turned into line breaks; runs shorter than `minRun` characters are
 * dropped. Empty string when nothing text-like remains.
 */
export function decodedText(buf: Buffer, minRun = 6): string {
  if (buf.length === 0) return '';
  const s = buf.toString('utf8');
  if (ASCII_CLEAN.test(s)) return s.length >= minRun ? s : '';
  const parts = s.split(PRINTABLE_RUNS).filter((p) => p.length >= minRun);
  return parts.length ? cleanUnicode(parts.join('\n')) : '';
}

/** A work budget for one scan call, so hostile input cannot make decoding unbounded. */
export interface DecodeBudget {
  /** Decoded characters still allowed. */
  chars: number;
  /** Candidate tokens still allowed. */
  tokens: number;
}

export function newBudget(chars = 4 << 20, tokens = 8192): DecodeBudget {
  return { chars, tokens };
}

// ---------------------------------------------------------------- character runs

/** A 256-entry class table from the characters listed. */
function classTable(chars: string): Uint8Array {
  const t = new Uint8Array(256);
  for (const ch of chars) t[ch.charCodeAt(0)] = 1;
  return t;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Candidate-token alphabet (base64 std and url, base32, hex): `[A-Za-z0-9+/_-]`. */
const CANDIDATE_CLASS = classTable(ALNUM + '+/_-');
/** Delimited-hex alphabet: hex digits, `: - , space`, and the `x` / `\` of `0x` / `\x`. */
const HEX_DELIMITED_CLASS = classTable('0123456789abcdefABCDEF:-, xX\\');
/** Token-pattern alphabet `[A-Za-z0-9_+/=.-]`: every token-shaped DLP match lies inside one run of it. */
const TOKEN_CLASS = classTable(ALNUM + '_+/=.-');

/** Bits of `RUN_CLASSES`: candidate token, delimited hex, token pattern. */
const RUN_CAND = 1;
const RUN_HEX = 2;
const RUN_TOKEN = 4;
const RUN_CLASSES = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  RUN_CLASSES[i] = (CANDIDATE_CLASS[i]! ? RUN_CAND : 0) | (HEX_DELIMITED_CLASS[i]! ? RUN_HEX : 0) | (TOKEN_CLASS[i]! ? RUN_TOKEN : 0);
}

export interface TextRuns {
  /** Runs of `[A-Za-z0-9+/_-]`, 11+ characters (candidate tokens before `=` padding). */
  cand: [number, number][];
  /** Runs of the delimited-hex alphabet, 23+ characters (8+ byte pairs). */
  hex: [number, number][];
  /** Runs of `[A-Za-z0-9_+/=.-]`, 11+ characters. */
  token: [number, number][];
}

let lastRunsText: string | undefined;
let lastRuns: TextRuns | undefined;

/**
 * The character runs the decoders and the token-shaped patterns need, in one
 * pass over the bytes (a class-run regex backtracks at every position of a
 * long text; this loop is linear). Characters above U+00FF are read by their
 * low byte, which can only merge runs; every consumer slices the original
 * text and re-checks it. The last result is cached (the same body text is
 * decoded first and matched later).
 */
export function textRuns(text: string): TextRuns {
  if (text === lastRunsText && lastRuns) return lastRuns;
  const cand: [number, number][] = [];
  const hex: [number, number][] = [];
  const token: [number, number][] = [];
  const n = text.length;
  if (n >= 11) {
    // Long texts: a byte view is cheaper to walk; short ones: charCodeAt avoids the copy.
    const b = n >= 512 ? Buffer.from(text, 'latin1') : undefined;
    let c0 = -1;
    let h0 = -1;
    let t0 = -1;
    for (let i = 0; i <= n; i++) {
      const k = i < n ? RUN_CLASSES[b ? b[i]! : text.charCodeAt(i) & 0xff]! : 0;
      if (k & RUN_CAND) {
        if (c0 < 0) c0 = i;
      } else if (c0 >= 0) {
        if (i - c0 >= 11) cand.push([c0, i]);
        c0 = -1;
      }
      if (k & RUN_HEX) {
        if (h0 < 0) h0 = i;
      } else if (h0 >= 0) {
        if (i - h0 >= 23) hex.push([h0, i]);
        h0 = -1;
      }
      if (k & RUN_TOKEN) {
        if (t0 < 0) t0 = i;
      } else if (t0 >= 0) {
        if (i - t0 >= 11) token.push([t0, i]);
        t0 = -1;
      }
    }
  }
  lastRunsText = text;
  lastRuns = { cand, hex, token };
  return lastRuns;
}

/** The runs of `TOKEN_CLASS` of 11+ characters joined by LF (the text the token-shaped patterns need). */
export function tokenText(text: string): string {
  const runs = textRuns(text).token;
  if (runs.length === 1 && runs[0]![0] === 0 && runs[0]![1] === text.length) return text;
  return runs.map(([a, b]) => text.slice(a, b)).join('\n');
}
/** Delimited hex: `41:4b:…`, `41-4b-…`, `41 4b …`, `41,4b,…`, `\x41\x4b…`, `0x41 0x4b …`. */
const DELIMITED_HEX_RE = /(?:\\x[0-9a-fA-F]{2}){8,}|(?:0x[0-9a-fA-F]{2}(?:, ?| )?){8,}|[0-9a-fA-F]{2}(?:(?:, ?|[:\- ])[0-9a-fA-F]{2}){7,}/g;

function pushDecoded(out: string[], buf: Buffer | null, budget: DecodeBudget): void {
  if (!buf || buf.length < 5) return;
  const text = decodedText(buf);
  if (!text) return;
  if (budget.chars < text.length) return;
  budget.chars -= text.length;
  out.push(text);
  if (PCT_ANY.test(text)) {
    const p = percentDecodeIter(text).value;
    if (p !== text) out.push(p);
  }
}

const ESCAPE_HINT = /\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]{1,6}\}|%u[0-9a-fA-F]{4}|&#(?:x[0-9a-fA-F]{1,6}|\d{1,7});/;
const ESCAPES = /\\u([0-9a-fA-F]{4})|\\u\{([0-9a-fA-F]{1,6})\}|%u([0-9a-fA-F]{4})|&#x([0-9a-fA-F]{1,6});|&#(\d{1,7});/g;

/**
 * Character escapes a decoder of some layer would resolve: `\uXXXX`,
 * `\u{X…}`, `%uXXXX` and HTML numeric references (`&#65;`, `&#x41;`).
 * Returns the text unchanged when it has none. (`\xHH` runs are the
 * delimited-hex decoder's.)
 */
export function unescapeSequences(text: string): string {
  if (!ESCAPE_HINT.test(text)) return text;
  return text.replace(ESCAPES, (all, u4?: string, ub?: string, pu?: string, hx?: string, dec?: string) => {
    const cp = u4 ?? pu ? parseInt((u4 ?? pu)!, 16) : ub ?? hx ? parseInt((ub ?? hx)!, 16) : parseInt(dec!, 10);
    return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : all;
  });
}

/** Decodes every candidate token of `text` once (one layer). */
export function decodeCandidates(text: string, budget: DecodeBudget, minLen = 16): string[] {
  const out: string[] = [];
  if (text.length < minLen) return out;
  const unescaped = unescapeSequences(text);
  if (unescaped !== text && budget.chars >= unescaped.length) {
    budget.chars -= unescaped.length;
    out.push(cleanUnicode(unescaped));
  }
  const runs = textRuns(text);
  for (const [start, runEnd] of runs.cand) {
    if (runEnd - start < minLen) continue;
    let end = runEnd;
    while (end < text.length && end - runEnd < 6 && text.charCodeAt(end) === 61 /* = */) end++;
    const tok = text.slice(start, end);
    if (budget.tokens-- <= 0) return out;
    const bare = tok.replace(/=+$/, '');
    const isHex = /^(?:0x)?[0-9a-fA-F]+$/i.test(bare);
    if (isHex) {
      const h = bare.startsWith('0x') || bare.startsWith('0X') ? bare.slice(2) : bare;
      if (h.length % 2 === 0 && h.length >= minLen) pushDecoded(out, decodeHex(h), budget);
    }
    pushDecoded(out, decodeBase64(tok), budget);
    // base32: skip plain lower-case words (no digit, no padding) to save work.
    if (/^[A-Za-z2-7]+=*$/.test(tok) && (/[2-7=]/.test(tok) || tok === tok.toUpperCase())) pushDecoded(out, decodeBase32(tok), budget);
  }
  for (const [start, end] of runs.hex) {
    const run = text.slice(start, end);
    DELIMITED_HEX_RE.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = DELIMITED_HEX_RE.exec(run)) !== null) {
      if (budget.tokens-- <= 0) return out;
      pushDecoded(out, decodeHex(m[0]), budget);
    }
  }
  return out;
}

/**
 * Every decoded layer of `text`, recursively to `depth` (§5.1 `max_decode_depth`).
 * The input itself is not included. Results are unique.
 */
export function decodeLayers(text: string, depth: number, budget: DecodeBudget = newBudget(), minLen = 16): string[] {
  if (depth <= 0) return [];
  const seen = new Set<string>();
  let frontier = [text];
  for (let d = 0; d < depth && frontier.length; d++) {
    const next: string[] = [];
    for (const t of frontier) {
      for (const dec of decodeCandidates(t, budget, minLen)) {
        if (seen.has(dec) || dec === text) continue;
        seen.add(dec);
        next.push(dec);
      }
    }
    frontier = next;
  }
  return [...seen];
}
