/**
 * The Pipelock public-key text form (receipts-v1 §1):
 *
 *   pipelock-ed25519-public-v1 LF
 *   <standard base64 of the 32 key bytes: 44 characters, the last one '='> LF
 *
 * Read strictly: only the outer whitespace and the CRLF/LF choice may vary,
 * so that one key has exactly one accepted spelling per line ending.
 */

export const PIPELOCK_PUBLIC_KEY_LABEL = 'pipelock-ed25519-public-v1';

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

// The 43 data characters carry 258 bits for 256 key bits; the re-encode check
// in parse rejects the spellings whose 2 spare bits are not zero.
const TEXT_FORM = /^pipelock-ed25519-public-v1\r?\n([A-Za-z0-9+/]{43}=)$/;

/**
 * Strips ASCII whitespace from both ends. Only ASCII: a byte-order mark or a
 * non-breaking space is "other text", not whitespace, in a key. A loop rather
 * than /\s+$/, whose backtracking is quadratic on long inner whitespace runs.
 */
export function trimAsciiWhitespace(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isAsciiSpace(s.charCodeAt(start))) start++;
  while (end > start && isAsciiSpace(s.charCodeAt(end - 1))) end--;
  return s.slice(start, end);
}

function isAsciiSpace(c: number): boolean {
  // space, \t, \n, \v, \f, \r
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Exactly 64 hex characters, either case: the raw form of an Ed25519 public key. */
export function isHexKey(s: string): boolean {
  return HEX_KEY.test(s);
}

/** The text form of a 64-hex public key, as emitters write it (LF line ends, final LF). */
export function formatPipelockPublicKey(hex: string): string {
  if (!isHexKey(hex)) {
    throw new Error('Ed25519 public key must be 64 hex characters (32 bytes)');
  }
  const b64 = Buffer.from(hex, 'hex').toString('base64');
  return `${PIPELOCK_PUBLIC_KEY_LABEL}\n${b64}\n`;
}

/** The key as 64 lowercase hex, or null when `text` is not exactly the text form. */
export function parsePipelockPublicKey(text: string): string | null {
  const core = trimAsciiWhitespace(text);
  const m = TEXT_FORM.exec(core);
  if (!m) return null;
  const b64 = m[1] as string;
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 32 || bytes.toString('base64') !== b64) return null;
  return bytes.toString('hex');
}
