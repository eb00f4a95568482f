/**
 * Go encoding/json compatible output (receipts-v1 §4.3, §4.8).
 *
 * JSON.stringify already writes Go's escapes for quotes, backslashes and
 * control characters (short forms for \b \f \n \r \t, lowercase \u00xx for
 * the rest) and raw non-ASCII; Go additionally HTML-escapes < > & and the
 * two JavaScript line separators.
 */

const HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_UNSAFE_G = /[<>&\u2028\u2029]/g;

function htmlEscape(ch: string): string {
  switch (ch) {
    case '<':
      return '\\u003c';
    case '>':
      return '\\u003e';
    case '&':
      return '\\u0026';
    case '\u2028':
      return '\\u2028';
    default:
      return '\\u2029';
  }
}

/** Characters that make Go write anything but the raw character. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f<>&\u2028\u2029]/;

/** A string as Go's marshaller writes it, quotes included. */
export function goQuote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  const q = JSON.stringify(s);
  return HTML_UNSAFE.test(q) ? q.replace(HTML_UNSAFE_G, htmlEscape) : q;
}

/**
 * The canonical bytes of a raw JSON value (`ext`, §4.8): whitespace outside
 * string literals removed, and inside literals the raw characters < > & U+2028
 * U+2029 replaced by their \u escapes. Everything else is kept verbatim.
 */
export function compactRawGo(src: string): string {
  return compactRaw(src, true);
}

/**
 * Whitespace outside string literals removed, nothing else changed; used to
 * measure a padded wrapper's body (§9.4).
 */
export function compactRawPlain(src: string): string {
  return compactRaw(src, false);
}

function compactRaw(src: string, escapeHtml: boolean): string {
  let out = '';
  let runStart = 0;
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const c = src.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) {
        i++; // skip the escaped character, whatever it is
      } else if (c === 0x22) {
        inString = false;
      } else if (escapeHtml && (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029)) {
        out += src.slice(runStart, i) + htmlEscape(src[i]!);
        runStart = i + 1;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) {
      out += src.slice(runStart, i);
      runStart = i + 1;
    }
  }
  return out + src.slice(runStart);
}

/** Sort keys by code point (Go sorts map keys by UTF-8 bytes), not UTF-16 units. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral code points) sort after every BMP code point.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}
