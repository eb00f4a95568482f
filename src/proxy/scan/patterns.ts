/**
 * The DLP pattern set: the built-in secret patterns of spec/proxy.md §5.5 and
 * the validated financial/crypto patterns of §5.6, operator `extra` patterns,
 * `disable`, `bindings` and literal secrets. Regexes are compiled once per
 * policy (`compileDlp`, cached on the `dlp` object's identity).
 *
 * Shapes are our own formulation of the spec's words. Where a shape depends
 * on case (AWS key ids, `AIza`, `SG.`, `SK`+hex, `eyJ`, upper-snake env names,
 * IBAN) the regex is case-sensitive; elsewhere it is case-insensitive.
 */
import type { Severity } from '../types.js';
import {
  bech32AddressValid,
  btcBase58AddressValid,
  bip39PhraseIn,
  btcWifValid,
  creditCardValid,
  ibanValid,
  ssnValid,
} from './checksums.js';
import { hostMatchesAny } from './host-match.js';
import { shannonEntropy, tokenText } from './normalize.js';
import type { DlpOptions, ExtraPatternConfig } from './options.js';

/**
 * Precedence class (§5.4): provider-specific secret > validated financial or
 * crypto > generic credential assignment > generic high-entropy.
 */
export type PatternCategory = 'provider' | 'financial' | 'credential' | 'entropy';
const CATEGORY_RANK: Record<PatternCategory, number> = { provider: 0, financial: 1, credential: 2, entropy: 3 };
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

export type Validator = (m: RegExpExecArray, text: string) => boolean;

export interface PatternDef {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly category: PatternCategory;
  /** Regex source (JavaScript). Absent for `literal_secret` (exact matching) and `email` (counted). */
  readonly source?: string;
  readonly flags?: string;
  readonly validate?: Validator;
  /** The checksum or guard applied after the regex, in words (documentation and the report). */
  readonly validator?: string;
  /** A cheap necessary condition tried first on long texts (a prefilter; no `g` flag). */
  readonly hint?: RegExp;
  /** `response` patterns run only in the response sensitive-data scan (§5.11). */
  readonly scope?: 'all' | 'response';
}

// ---------------------------------------------------------------- guards

/** Placeholders and references that look like a credential value but are not one. */
function plausibleValue(v: string): boolean {
  if (new Set(v).size < 4) return false;
  if (/^(?:[/~]|https?:|\.{1,2}\/)/i.test(v)) return false;
  if (/^(?:x{3,}|\*{3,}|your[_-]|example|placeholder|changeme|redacted|<|null$|none$|undefined$|true$|false$)/i.test(v)) return false;
  return true;
}

const hasDigitOrUpper = (s: string): boolean => /[0-9A-Z]/.test(s);

// ---------------------------------------------------------------- the table

const B58 = '[1-9A-HJ-NP-Za-km-z]';

/** §5.5 and §5.6, in table order (ties in precedence keep this order). */
export const BUILTIN_PATTERNS: readonly PatternDef[] = [
  {
    id: 'aws_access_key_id', name: 'AWS access key ID', severity: 'critical', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])`,
  },
  {
    id: 'aws_secret_access_key', name: 'AWS secret access key', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?:(?:aws[ _-]?)?secret[ _-]?access[ _-]?key|aws[ _-]?secret[ _-]?key)["']?\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])`,
  },
  {
    id: 'gcp_service_account', name: 'GCP service-account JSON', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`"type"\s*:\s*"service_account"`,
    validator: 'a "private_key" member within 4 KiB',
    validate: (m, text) => text.slice(Math.max(0, m.index - 4096), m.index + 4096).includes('"private_key"'),
  },
  {
    id: 'google_api_key', name: 'Google API key', severity: 'high', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])`,
  },
  {
    id: 'github_token', name: 'GitHub token', severity: 'critical', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9_]{30,}`,
    validator: 'the tail has a digit or an upper-case letter',
    validate: (m) => hasDigitOrUpper(m[0].slice(4)),
  },
  {
    id: 'github_fine_grained_pat', name: 'GitHub fine-grained PAT', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{36,}`,
  },
  {
    id: 'gitlab_pat', name: 'GitLab PAT', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_-])glpat-[A-Za-z0-9_-]{20,}`,
  },
  {
    id: 'slack_token', name: 'Slack token', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_-])(?:xox[abprs]-[A-Za-z0-9-]{15,}|xapp-\d+-[A-Za-z0-9-]{10,})`,
  },
  {
    id: 'slack_webhook', name: 'Slack webhook URL', severity: 'high', category: 'provider', flags: 'i',
    source: String.raw`hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+`,
  },
  {
    id: 'stripe_key', name: 'Stripe secret or restricted key', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_])[sr]k_(?:live|test)_[A-Za-z0-9_]{16,}`,
  },
  {
    id: 'sendgrid_key', name: 'SendGrid API key', severity: 'critical', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`,
  },
  {
    id: 'openai_api_key', name: 'OpenAI API key', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{48}(?![A-Za-z0-9]))`,
  },
  {
    id: 'anthropic_api_key', name: 'Anthropic API key', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{10,}`,
  },
  {
    id: 'huggingface_token', name: 'Hugging Face token', severity: 'critical', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{20,}(?![A-Za-z0-9])`,
    validator: 'the tail has a digit or an upper-case letter',
    validate: (m) => hasDigitOrUpper(m[0].slice(3)),
  },
  {
    id: 'npm_token', name: 'npm token', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36,}(?![A-Za-z0-9])`,
  },
  {
    id: 'pypi_token', name: 'PyPI token', severity: 'critical', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9_-])pypi-[A-Za-z0-9_-]{16,}`,
    validator: 'the tail has an upper-case letter (real tokens are base64 macaroons; host names and slugs are lower-case)',
    validate: (m) => /[A-Z]/.test(m[0].slice(5)),
  },
  {
    id: 'twilio_key', name: 'Twilio API key', severity: 'high', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])`,
  },
  {
    id: 'mailgun_key', name: 'Mailgun API key', severity: 'high', category: 'provider', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9_-])key-[A-Za-z0-9]{32}(?![A-Za-z0-9])`,
    validator: 'the tail has a digit',
    validate: (m) => /\d/.test(m[0].slice(4)),
  },
  {
    id: 'private_key_block', name: 'Private key block', severity: 'critical', category: 'provider', flags: 'i',
    source: String.raw`-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED) )?PRIVATE KEY-----|-----BEGIN PGP PRIVATE KEY BLOCK-----`,
  },
  {
    id: 'jwt', name: 'JSON Web Token', severity: 'high', category: 'provider',
    source: String.raw`(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{16,}`,
  },
  {
    id: 'credential_assignment', name: 'Credential assignment', severity: 'high', category: 'credential', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9])(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret|private[_-]?key)(?:[_-](?:key|value|str|string))?["']?\s*[=:]\s*["']?([^\s\x00-\x1f"'&;,<>(){}\[\]$\x60\\|]{8,})(?=$|[\s"'&;,<>|])`,
    validator: 'the value is not a placeholder, a reference, a path or a URL, and has at least 4 distinct characters',
    validate: (m) => plausibleValue(m[1] ?? ''),
  },
  {
    id: 'env_secret', name: 'Environment secret', severity: 'high', category: 'credential',
    // The key word first and the UPPER_SNAKE name as a look-behind: ~50x faster on long texts than name-first.
    source: String.raw`(?:SECRET|SECRET_KEY|TOKEN|PASSWORD|API_KEY|ACCESS_KEY)(?<=(?:^|[^A-Za-z0-9_])(?:[A-Z0-9]+_)*(?:SECRET|SECRET_KEY|TOKEN|PASSWORD|API_KEY|ACCESS_KEY))=([^\s\x00-\x1f"'$]{8,})`,
    validator: 'the value is not a placeholder, a reference, a path or a URL',
    validate: (m) => plausibleValue(m[1] ?? ''),
  },
  { id: 'literal_secret', name: 'Operator-supplied secret', severity: 'critical', category: 'provider', validator: 'exact match, raw, base64, hex or base32' },
  {
    id: 'high_entropy_token', name: 'High-entropy token', severity: 'high', category: 'entropy',
    source: String.raw`(?<![A-Za-z0-9/+=_-])[A-Za-z0-9/+=_-]{32,}`,
    validator: 'Shannon entropy >= 4.5 bits/char; lower-case, upper-case, and a digit or / +',
    validate: (m) => {
      const s = m[0];
      return /[a-z]/.test(s) && /[A-Z]/.test(s) && /[0-9/+]/.test(s) && shannonEntropy(s) >= 4.5;
    },
  },
  // §5.6 financial and crypto (validated)
  {
    id: 'btc_address_base58', name: 'Bitcoin address (base58)', severity: 'high', category: 'financial',
    source: String.raw`(?<![A-Za-z0-9])[13]${B58}{25,34}(?![A-Za-z0-9])`,
    validator: 'Base58Check, version 0x00 or 0x05, 21-byte payload',
    validate: (m) => btcBase58AddressValid(m[0]),
  },
  {
    id: 'btc_address_bech32', name: 'Bitcoin address (bech32)', severity: 'high', category: 'financial', flags: 'i',
    source: String.raw`(?<![A-Za-z0-9])(?:bc1|tb1)[ac-hj-np-z02-9]{11,71}(?![A-Za-z0-9])`,
    validator: 'bech32 or bech32m checksum',
    validate: (m) => bech32AddressValid(m[0]),
  },
  {
    id: 'btc_wif_key', name: 'Bitcoin WIF private key', severity: 'critical', category: 'financial',
    source: String.raw`(?<![A-Za-z0-9])(?:5${B58}{50}|[KL]${B58}{51})(?![A-Za-z0-9])`,
    validator: 'Base58Check, version 0x80, 32-byte key (33 with the compression flag)',
    validate: (m) => btcWifValid(m[0]),
  },
  {
    id: 'eth_address', name: 'Ethereum address', severity: 'high', category: 'financial',
    source: String.raw`(?<![A-Za-z0-9])0x[0-9a-fA-F]{40}(?![A-Za-z0-9])`,
  },
  {
    id: 'eth_private_key', name: 'Ethereum private key', severity: 'critical', category: 'financial',
    source: String.raw`(?<![A-Za-z0-9])0x[0-9a-fA-F]{64}(?![A-Za-z0-9])`,
  },
  // Deferred (§11 item 7): the id is reserved (disable/bindings may name it, extras may not reuse it); nothing matches it yet.
  {
    // Runs of 12+ words of 3–8 letters joined by the §5.6 separators; the
    // validator finds a window of BIP-39 words whose checksum holds.
    id: 'bip39_seed', name: 'BIP-39 seed phrase', severity: 'critical', category: 'financial', flags: 'i',
    source: String.raw`(?<![A-Za-z])[a-z]{3,8}(?:[ ,|\n\r\t-]+[a-z]{3,8}){11,}(?![A-Za-z])`,
    validator: '12, 15, 18, 21 or 24 consecutive English BIP-39 words (list from @scure/bip39) whose SHA-256 checksum holds',
    validate: (m) => bip39PhraseIn(m[0]),
  },
  {
    id: 'credit_card', name: 'Payment card number', severity: 'high', category: 'financial',
    source: String.raw`(?<![0-9A-Za-z.-])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])`,
    hint: /\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d[ -]?\d/,
    validator: 'Luhn, a known issuer prefix and an issuer length',
    validate: (m) => creditCardValid(m[0]),
  },
  {
    id: 'iban', name: 'IBAN', severity: 'high', category: 'financial',
    source: String.raw`(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])`,
    validator: 'ISO 13616 country with its length, mod-97 == 1',
    validate: (m) => ibanValid(m[0]),
  },
  {
    id: 'us_ssn', name: 'US Social Security number', severity: 'medium', category: 'financial',
    source: String.raw`(?<![0-9-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![0-9-])`,
    validate: (m) => ssnValid(m[0]),
  },
  // §5.11: bulk e-mail, response side only
  { id: 'email', name: 'E-mail addresses in bulk', severity: 'medium', category: 'credential', scope: 'response', validator: '5 or more distinct addresses' },
];

/** Every built-in id (for validating `dlp.disable` and `dlp.bindings`). */
export const BUILTIN_PATTERN_IDS: readonly string[] = BUILTIN_PATTERNS.map((p) => p.id);
const BUILTIN_BY_ID = new Map(BUILTIN_PATTERNS.map((p) => [p.id, p]));

export function builtinPattern(id: string): PatternDef | undefined {
  return BUILTIN_BY_ID.get(id);
}

// ---------------------------------------------------------------- compilation

export interface CompiledPattern {
  readonly def: PatternDef;
  readonly re: RegExp;
  /** Table position; extras follow the built-ins. */
  readonly order: number;
  readonly rank: number;
  /** Scan long texts in windows (operator regexes: the pathological-regex length cap). */
  readonly windowed: boolean;
}

interface LiteralSecret {
  /** Exact forms: raw, base64 std/url padded and not, hex lower/upper, base32 padded and not. */
  readonly forms: readonly string[];
  /** Lower-cased forms that survive lower-casing (raw, hex, base32), for host names. */
  readonly lowerForms: readonly string[];
}

export interface CompiledDlp {
  readonly patterns: readonly CompiledPattern[];
  readonly entropy: CompiledPattern | null;
  /** Case-insensitive AWS key id for host names (DNS lower-cases; a digit is then required). */
  readonly hostAws: CompiledPattern | null;
  readonly literals: readonly LiteralSecret[];
  readonly literalOrder: number;
  readonly emailEnabled: boolean;
  readonly bindings: ReadonlyMap<string, readonly string[]>;
  readonly maxDepth: number;
  readonly genericEntropy: DlpOptions['generic_entropy'];
}

const WINDOW = 16_384;
const WINDOW_OVERLAP = 1_024;

/**
 * Turns an operator regex into a RegExp the way the policy loader validates
 * it (src/proxy/policy.ts `compileExtraRegex`/`regexProblem`): the `u` flag, a
 * leading Go/PCRE-style `(?i)` as the `i` flag, plus `g`. Throws on invalid
 * syntax or a regex that matches the empty string. The pathological-regex
 * guard is the loader's (nested quantifiers); the scanners add the other
 * half of §4's guard, a length cap: operator regexes run over windows of at
 * most 16 KiB.
 */
export function compileExtraRegex(source: string): RegExp {
  const ignoreCase = source.startsWith('(?i)');
  const re = new RegExp(ignoreCase ? source.slice(4) : source, ignoreCase ? 'giu' : 'gu');
  if (re.test('')) throw new Error(`regex matches the empty string: ${source}`);
  re.lastIndex = 0;
  return re;
}

/** Validates an operator pattern's id and regex syntax (the loader applies the full rules). Returns an error message or null. */
export function validateExtraPattern(p: ExtraPatternConfig): string | null {
  if (!/^[a-z0-9_]+$/.test(p.id)) return `dlp.extra id ${JSON.stringify(p.id)} must match [a-z0-9_]+`;
  if (BUILTIN_BY_ID.has(p.id)) return `dlp.extra id ${JSON.stringify(p.id)} is a built-in pattern id`;
  try {
    compileExtraRegex(p.regex);
  } catch (e) {
    return `dlp.extra ${p.id}: ${(e as Error).message}`;
  }
  return null;
}

function literalForms(secret: string): LiteralSecret {
  const b = Buffer.from(secret, 'utf8');
  const b64 = b.toString('base64');
  const b64u = b.toString('base64url');
  const hex = b.toString('hex');
  const b32 = base32Encode(b);
  const forms = new Set([secret, b64, b64.replace(/=+$/, ''), b64u, b64u + '='.repeat((4 - (b64u.length % 4)) % 4), hex, hex.toUpperCase(), b32, b32.replace(/=+$/, '')]);
  const lower = new Set([secret.toLowerCase(), hex, b32.toLowerCase().replace(/=+$/, '')]);
  return { forms: [...forms], lowerForms: [...lower] };
}

export function base32Encode(b: Buffer): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of b) {
    acc = ((acc << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += A[(acc >> bits) & 31];
    }
  }
  if (bits > 0) out += A[(acc << (5 - bits)) & 31];
  while (out.length % 8) out += '=';
  return out;
}

const compiledCache = new WeakMap<DlpOptions, { plain?: CompiledDlp; byLiterals: WeakMap<readonly string[], CompiledDlp> }>();

/**
 * Compiles the pattern set for one policy: built-ins minus `disable`, plus
 * `extra`, plus literal secrets. Cached on the identity of `dlp` (and of
 * `literalSecrets`), so the per-request cost is a WeakMap lookup.
 */
export function compileDlp(dlp: DlpOptions, literalSecrets?: readonly string[]): CompiledDlp {
  let slot = compiledCache.get(dlp);
  if (!slot) {
    slot = { byLiterals: new WeakMap() };
    compiledCache.set(dlp, slot);
  }
  if (!literalSecrets) return (slot.plain ??= build(dlp, undefined));
  let c = slot.byLiterals.get(literalSecrets);
  if (!c) {
    c = build(dlp, literalSecrets);
    slot.byLiterals.set(literalSecrets, c);
  }
  return c;
}

function build(dlp: DlpOptions, literalSecrets: readonly string[] | undefined): CompiledDlp {
  const disabled = new Set(dlp.disable);
  const patterns: CompiledPattern[] = [];
  let entropy: CompiledPattern | null = null;
  let literalOrder = 0;
  BUILTIN_PATTERNS.forEach((def, order) => {
    if (def.id === 'literal_secret') literalOrder = order;
    if (disabled.has(def.id) || !def.source || def.scope === 'response') return;
    const cp: CompiledPattern = { def, re: new RegExp(def.source, 'g' + (def.flags ?? '')), order, rank: CATEGORY_RANK[def.category], windowed: false };
    if (def.id === 'high_entropy_token') entropy = cp;
    else patterns.push(cp);
  });
  dlp.extra.forEach((x, i) => {
    if (disabled.has(x.id)) return;
    const def: PatternDef = { id: x.id, name: x.name, severity: x.severity, category: 'provider', source: x.regex };
    patterns.push({ def, re: compileExtraRegex(x.regex), order: BUILTIN_PATTERNS.length + i, rank: CATEGORY_RANK.provider, windowed: true });
  });
  const awsDef = BUILTIN_BY_ID.get('aws_access_key_id')!;
  const hostAws: CompiledPattern | null = disabled.has('aws_access_key_id')
    ? null
    : {
        def: { ...awsDef, validate: (m) => /\d/.test(m[0].slice(4)) },
        re: new RegExp(awsDef.source!, 'gi'),
        order: 0,
        rank: 0,
        windowed: false,
      };
  const literals = disabled.has('literal_secret') ? [] : (literalSecrets ?? []).filter((s) => s.length >= 16).map(literalForms);
  const bindings = new Map<string, readonly string[]>(Object.entries(dlp.bindings));
  return {
    patterns,
    entropy,
    hostAws,
    literals,
    literalOrder,
    emailEnabled: !disabled.has('email'),
    bindings,
    maxDepth: Math.max(0, Math.min(8, Math.floor(dlp.max_decode_depth))),
    genericEntropy: dlp.generic_entropy,
  };
}

// ---------------------------------------------------------------- matching

export interface PatternHit {
  readonly id: string;
  readonly name: string;
  readonly severity: Severity;
  readonly rank: number;
  readonly order: number;
}

export type HitMap = Map<string, PatternHit>;

function hitOf(cp: CompiledPattern): PatternHit {
  return { id: cp.def.id, name: cp.def.name, severity: cp.def.severity, rank: cp.rank, order: cp.order };
}

function firstValid(cp: CompiledPattern, text: string): boolean {
  const re = cp.re;
  const validate = cp.def.validate;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (!validate || validate(m, text)) {
      re.lastIndex = 0;
      return true;
    }
  }
  return false;
}

/** Characters of the `high_entropy_token` run class `[A-Za-z0-9/+=_-]`. */
const ENTROPY_CLASS = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=_-') ENTROPY_CLASS[ch.charCodeAt(0)] = 1;

/**
 * `high_entropy_token` without a regex: maximal runs of the class, 32+ long,
 * through the validator. Linear; a class-run regex backtracks at every
 * position of long texts.
 */
function highEntropyRun(cp: CompiledPattern, text: string): boolean {
  const validate = cp.def.validate!;
  let start = -1;
  const n = text.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0;
    if (c < 128 && ENTROPY_CLASS[c] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 32) {
        const m = [text.slice(start, i)] as unknown as RegExpExecArray;
        m.index = start;
        if (validate(m, text)) return true;
      }
      start = -1;
    }
  }
  return false;
}

function patternMatches(cp: CompiledPattern, text: string): boolean {
  if (cp.def.id === 'high_entropy_token' && !cp.windowed) return highEntropyRun(cp, text);
  if (cp.def.hint && text.length > 256 && !cp.def.hint.test(text)) return false;
  if (!cp.windowed || text.length <= WINDOW) return firstValid(cp, text);
  for (let i = 0; i < text.length; i += WINDOW - WINDOW_OVERLAP) {
    if (firstValid(cp, text.slice(i, i + WINDOW))) return true;
  }
  return false;
}

export interface MatchFlags {
  /** Run `high_entropy_token` on this text. */
  entropy?: boolean;
  /** Host-name text: add the case-insensitive AWS key id and lower-cased literal forms. */
  hostname?: boolean;
}

/** Below this length the token-run extraction costs more than it saves. */
const TOKEN_TEXT_MIN = 512;

/**
 * Token-shaped built-ins: every character of a match and every class their
 * look-arounds test lies in `[A-Za-z0-9_+/=.-]`, so they give the same
 * results on the text's runs of that class (see `tokenText`) as on the text.
 */
const TOKEN_SHAPED = new Set([
  'aws_access_key_id', 'google_api_key', 'github_token', 'github_fine_grained_pat', 'gitlab_pat', 'slack_token', 'slack_webhook',
  'stripe_key', 'sendgrid_key', 'openai_api_key', 'anthropic_api_key', 'huggingface_token', 'npm_token', 'pypi_token',
  'twilio_key', 'mailgun_key', 'jwt', 'high_entropy_token', 'btc_address_base58', 'btc_address_bech32', 'btc_wif_key',
  'eth_address', 'eth_private_key', 'us_ssn',
]);

/** Runs the compiled set over `text`, adding hits (one per id) to `hits`. */
export function matchText(text: string, c: CompiledDlp, flags: MatchFlags, hits: HitMap): void {
  if (text.length === 0) return;
  const tokens = text.length >= TOKEN_TEXT_MIN ? tokenText(text) : text;
  for (const cp of c.patterns) {
    if (hits.has(cp.def.id)) continue;
    const target = !cp.windowed && TOKEN_SHAPED.has(cp.def.id) ? tokens : text;
    if (target.length > 0 && patternMatches(cp, target)) hits.set(cp.def.id, hitOf(cp));
  }
  if (flags.entropy && c.entropy && !hits.has('high_entropy_token') && tokens.length >= 32) {
    if (patternMatches(c.entropy, tokens)) hits.set('high_entropy_token', hitOf(c.entropy));
  }
  if (flags.hostname && c.hostAws && !hits.has('aws_access_key_id') && patternMatches(c.hostAws, text)) {
    hits.set('aws_access_key_id', hitOf(c.hostAws));
  }
  if (c.literals.length && !hits.has('literal_secret') && literalMatches(text, c, flags.hostname === true)) {
    const def = BUILTIN_BY_ID.get('literal_secret')!;
    hits.set('literal_secret', { id: def.id, name: def.name, severity: def.severity, rank: 0, order: c.literalOrder });
  }
}

function literalMatches(text: string, c: CompiledDlp, hostname: boolean): boolean {
  const lower = hostname ? text.toLowerCase() : '';
  for (const l of c.literals) {
    for (const f of l.forms) if (text.includes(f)) return true;
    if (hostname) for (const f of l.lowerForms) if (lower.includes(f)) return true;
  }
  return false;
}

/** Hits ordered deciding-first: precedence class, then severity, then table order. */
export function orderHits(hits: Iterable<PatternHit>): PatternHit[] {
  return [...hits].sort((a, b) => a.rank - b.rank || SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.order - b.order);
}

/** Removes hits whose pattern is bound (`dlp.bindings`) to a host list that contains `host`. */
export function applyBindings(hits: HitMap, c: CompiledDlp, host: string | undefined): void {
  if (!host || c.bindings.size === 0) return;
  for (const id of [...hits.keys()]) {
    const hosts = c.bindings.get(id);
    if (hosts && hostMatchesAny(host, hosts)) hits.delete(id);
  }
}

/** Counts distinct e-mail addresses (the bulk-PII signal of §5.11). */
export function countEmails(text: string, cap = 5): number {
  if (!text.includes('@')) return 0;
  // Anchored on '@' (a literal V8 finds fast); the local part is a look-behind.
  const re = /(?<=(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]{1,64}))@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24})(?![A-Za-z0-9-])/g;
  const seen = new Set<string>();
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    seen.add(`${m[1]}@${m[2]}`.toLowerCase());
    if (seen.size >= cap) break;
  }
  return seen.size;
}
