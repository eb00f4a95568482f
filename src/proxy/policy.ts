/**
 * The proxy's policy file (spec/proxy.md §4): its typed shape, the built-in
 * default policy and its canonical bytes, and the loader.
 *
 * Loading is strict and happens once, at start-up:
 *
 * 1. the bytes are parsed by the project's strict JSON reader (duplicate
 *    keys, lone surrogates, a BOM, trailing data are errors);
 * 2. the value is validated against schemas/proxy-policy.schema.json (every
 *    member required, unknown members rejected at every level);
 * 3. the rules a schema cannot state are checked: CIDRs (no catch-all, no host
 *    bits), IP and host patterns, pattern ids (known, unique, not built-in),
 *    operator regexes (syntax, no empty match, no nested quantifiers), and the
 *    `testing` block (only with --allow-testing-overrides on loopback).
 *
 * Every failure is a {@link PolicyError} naming the file, the JSON Pointer of
 * the bad member and the rule; the CLI maps it to exit 64. `policyHash` is the
 * lower-case hex SHA-256 of the exact bytes, as read (§4, §6.2).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { escapePointer, parseJsonBytes, toPlain } from '../json/strict.js';
import { checkCidr, hostPatternProblem, parseIp } from './destination.js';
import type { Severity } from './types.js';
import { describeValue, typeNoun, uniqueBy } from '../json/schema-text.js';

// ---------------------------------------------------------------------------
// The shape (mirrors §4 member for member; snake_case as in the file).

export type PolicyMode = 'enforce' | 'observe';
export type PolicyDefault = 'allow' | 'deny';

export interface ExtraPattern {
  /** `[a-z0-9_]+`, unique, not a built-in id; what receipts carry in `data_classes_*`. */
  readonly id: string;
  readonly name: string;
  /** JavaScript RegExp source; see {@link compileExtraRegex}. */
  readonly regex: string;
  readonly severity: Severity;
}

export interface Policy {
  readonly version: 1;
  readonly mode: PolicyMode;
  readonly default: PolicyDefault;
  readonly destinations: {
    readonly allow: readonly string[];
    readonly block: readonly string[];
    readonly trusted: readonly string[];
    readonly internal: {
      readonly hosts: readonly string[];
      readonly cidrs: readonly string[];
    };
  };
  readonly ssrf: {
    readonly enabled: boolean;
    readonly block_unresolvable: boolean;
  };
  readonly dlp: {
    readonly enabled: boolean;
    readonly scan: { readonly url: boolean; readonly headers: boolean; readonly body: boolean };
    readonly hostname_exfil: boolean;
    readonly entropy: {
      readonly url_segment_bits: number;
      readonly url_min_len: number;
      readonly subdomain_label_bits: number;
      readonly subdomain_min_len: number;
    };
    readonly generic_entropy: 'off' | 'decoded_only' | 'all';
    readonly max_decode_depth: number;
    readonly disable: readonly string[];
    readonly extra: readonly ExtraPattern[];
    /** Pattern id → issuer host patterns the secret type may flow to. */
    readonly bindings: { readonly [patternId: string]: readonly string[] };
    readonly literal_secrets_file: string | null;
  };
  readonly response: {
    readonly scan: boolean;
    readonly injection: 'block' | 'warn' | 'off';
    readonly sensitive_data: 'record' | 'block';
    readonly exempt: readonly string[];
  };
  readonly limits: {
    readonly max_url_length: number;
    readonly max_body_bytes: number;
    readonly oversize_body: 'block' | 'allow_unscanned';
    readonly max_response_bytes: number;
    /** Per registrable domain; 0 = off. */
    readonly requests_per_minute: number;
    /** Empty = any port. */
    readonly connect_ports: readonly number[];
  };
  readonly receipts: {
    readonly profile: 'session' | 'legacy';
    readonly principal: string;
    readonly require: boolean;
    readonly durable: boolean;
    readonly heartbeat_seconds: number;
    readonly checkpoint_interval: number;
    readonly max_entries_per_file: number;
  };
  readonly testing: {
    /** Every hostname "resolves" to this address (IPv4 dotted quad or IPv6). */
    readonly resolve_all_to: string | null;
    /** `127.0.0.1:PORT`: where plaintext upstream connections are dialled. */
    readonly dial_override: string | null;
    /** `127.0.0.1:PORT`: where CONNECT tunnels are spliced to. */
    readonly tls_dial_override: string | null;
  };
}

// ---------------------------------------------------------------------------
// Built-in pattern ids (§5.5, §5.6, §5.11). The scanners own the patterns;
// this list is the default registry the loader checks ids against.

/** Every pattern id the spec names (§5.5, §5.6, and `email` of §5.11). */
export const SPEC_PATTERN_IDS: readonly string[] = Object.freeze([
  'aws_access_key_id',
  'aws_secret_access_key',
  'gcp_service_account',
  'google_api_key',
  'github_token',
  'github_fine_grained_pat',
  'gitlab_pat',
  'slack_token',
  'slack_webhook',
  'stripe_key',
  'sendgrid_key',
  'openai_api_key',
  'anthropic_api_key',
  'huggingface_token',
  'npm_token',
  'pypi_token',
  'twilio_key',
  'mailgun_key',
  'private_key_block',
  'jwt',
  'credential_assignment',
  'env_secret',
  'literal_secret',
  'high_entropy_token',
  'btc_address_base58',
  'btc_address_bech32',
  'btc_wif_key',
  'eth_address',
  'eth_private_key',
  'bip39_seed',
  'credit_card',
  'iban',
  'us_ssn',
  'email',
]);

// ---------------------------------------------------------------------------
// The built-in default policy (§4). Member order is the spec's: the canonical
// bytes depend on it.

const DEFAULT_POLICY_VALUE: Policy = {
  version: 1,
  mode: 'enforce',
  default: 'allow',
  destinations: {
    allow: [],
    block: ['*.pastebin.com', '*.hastebin.com', '*.paste.ee', '*.transfer.sh', 'file.io', '*.requestbin.com', 'requestbin.net'],
    trusted: [],
    internal: { hosts: [], cidrs: [] },
  },
  ssrf: { enabled: true, block_unresolvable: true },
  dlp: {
    enabled: true,
    scan: { url: true, headers: true, body: true },
    hostname_exfil: true,
    entropy: { url_segment_bits: 4.5, url_min_len: 20, subdomain_label_bits: 4, subdomain_min_len: 8 },
    generic_entropy: 'decoded_only',
    max_decode_depth: 3,
    disable: [],
    extra: [],
    bindings: {},
    literal_secrets_file: null,
  },
  response: { scan: true, injection: 'block', sensitive_data: 'record', exempt: [] },
  limits: {
    max_url_length: 4096,
    max_body_bytes: 1048576,
    oversize_body: 'block',
    max_response_bytes: 5242880,
    requests_per_minute: 0,
    connect_ports: [],
  },
  receipts: {
    profile: 'session',
    principal: 'local',
    require: true,
    durable: false,
    heartbeat_seconds: 0,
    checkpoint_interval: 1000,
    max_entries_per_file: 10000,
  },
  testing: { resolve_all_to: null, dial_override: null, tls_dial_override: null },
};

/** The default policy's canonical file text: `JSON.stringify(policy, null, 2)` + LF (§4). */
export const DEFAULT_POLICY_TEXT: string = JSON.stringify(DEFAULT_POLICY_VALUE, null, 2) + '\n';

/** The default policy's canonical file bytes (UTF-8; 75 lines, 1,503 bytes). Shared: do not mutate; see {@link defaultPolicyBytes}. */
export const DEFAULT_POLICY_BYTES: Buffer = Buffer.from(DEFAULT_POLICY_TEXT, 'utf8');

/** A fresh copy of the default policy's canonical bytes (what `--print-default-policy` writes). */
export function defaultPolicyBytes(): Buffer {
  return Buffer.from(DEFAULT_POLICY_BYTES);
}

/** The default policy's `policy_hash`: 7803e1d7…46f2 (§4). */
export const DEFAULT_POLICY_HASH: string = sha256Hex(DEFAULT_POLICY_BYTES);

/** The built-in default policy as a frozen value (equal to parsing {@link DEFAULT_POLICY_BYTES}). */
export const DEFAULT_POLICY: Policy = deepFreeze(structuredClone(DEFAULT_POLICY_VALUE));

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------
// Errors.

/** One problem with a policy, located by a JSON Pointer into the file's value. */
export interface PolicyProblem {
  /** RFC 6901 JSON Pointer of the offending member ("" = the whole document). */
  readonly pointer: string;
  /**
   * The rule: `io`, `json`, `duplicate_key`, a JSON Schema keyword (`required`,
   * `additionalProperties`, `type`, `enum`, `const`, `pattern`, `minimum`, …) or
   * a load-time rule (`cidr`, `host_bits`, `catch_all_cidr`, `host_pattern`,
   * `ip_address`, `unknown_pattern_id`, `duplicate_pattern_id`,
   * `builtin_pattern_id`, `regex_syntax`, `regex_empty_match`,
   * `regex_pathological`, `testing_not_allowed`, `testing_not_loopback`).
   */
  readonly rule: string;
  /** What is wrong, in words (without the pointer). */
  readonly message: string;
}

/** A policy that cannot be used. The CLI maps it to exit 64. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    /** The file name, or `(built-in default policy)`. */
    readonly source: string,
    readonly problems: readonly PolicyProblem[],
  ) {
    super(formatProblems(source, problems));
  }

  /** Pointer of the first problem. */
  get pointer(): string {
    return this.problems[0]?.pointer ?? '';
  }

  /** Rule of the first problem. */
  get rule(): string {
    return this.problems[0]?.rule ?? '';
  }
}

function formatProblem(p: PolicyProblem): string {
  return `${p.pointer === '' ? '(root)' : p.pointer}: ${p.message} [${p.rule}]`;
}

function formatProblems(source: string, problems: readonly PolicyProblem[]): string {
  const head = `policy ${source}: ${problems.length > 0 ? formatProblem(problems[0]!) : 'invalid'}`;
  if (problems.length <= 1) return head;
  return [head, ...problems.slice(1).map((p) => `  also ${formatProblem(p)}`)].join('\n');
}

// ---------------------------------------------------------------------------
// Loading.

export interface PolicyLoadOptions {
  /**
   * The built-in pattern ids (the scanners' registry). `dlp.disable` and
   * `dlp.bindings` may name these or an `extra` id; `extra` ids may not reuse
   * them. Default: {@link SPEC_PATTERN_IDS}.
   */
  knownPatternIds?: readonly string[];
  /** `--allow-testing-overrides` was given. Default false. */
  allowTestingOverrides?: boolean;
  /** The listener is on a loopback address. Default false. */
  listenIsLoopback?: boolean;
}

export interface ParsedPolicy {
  readonly policy: Policy;
  /** Lower-case hex SHA-256 of the exact bytes. */
  readonly policyHash: string;
}

export interface LoadedPolicy extends ParsedPolicy {
  /** The bytes the hash covers (the file as read, or the default's canonical bytes). */
  readonly bytes: Buffer;
  /** The file name, or `(built-in default policy)`. */
  readonly source: string;
}

export const DEFAULT_POLICY_SOURCE = '(built-in default policy)';

/**
 * Parses and validates policy bytes; throws {@link PolicyError}. The result
 * is deeply frozen.
 */
export function parsePolicy(bytes: Uint8Array, source: string, opts: PolicyLoadOptions = {}): ParsedPolicy {
  const policyHash = sha256Hex(bytes);
  const parsed = parseJsonBytes(bytes);
  if (!parsed.ok) {
    const e = parsed.error;
    const rule = e.rule === 'duplicate' ? 'duplicate_key' : 'json';
    throw new PolicyError(source, [{ pointer: e.pointer, rule, message: e.message }]);
  }
  const value = toPlain(parsed.value);
  const validate = policyValidator();
  if (!validate(value)) {
    throw new PolicyError(source, schemaProblems(validate.errors ?? [], value));
  }
  const policy = value as Policy;
  const problems = semanticProblems(policy, opts);
  if (problems.length > 0) throw new PolicyError(source, problems);
  return { policy: deepFreeze(policy), policyHash };
}

/**
 * Reads and parses the policy file, or the built-in default when `path` is
 * undefined. A file that cannot be read is a PolicyError with rule `io`.
 */
export function loadPolicy(path: string | undefined, opts: PolicyLoadOptions = {}): LoadedPolicy {
  if (path === undefined) {
    const bytes = defaultPolicyBytes();
    return { ...parsePolicy(bytes, DEFAULT_POLICY_SOURCE, opts), bytes, source: DEFAULT_POLICY_SOURCE };
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new PolicyError(path, [{ pointer: '', rule: 'io', message: `cannot read the policy file: ${why}` }]);
  }
  return { ...parsePolicy(bytes, path, opts), bytes, source: path };
}

// ---------------------------------------------------------------------------
// Schema validation (Ajv 2020, compiled once on first use).

const SCHEMA_URL = new URL('../../schemas/proxy-policy.schema.json', import.meta.url);
let validator: ValidateFunction | undefined;

function policyValidator(): ValidateFunction {
  if (validator) return validator;
  // Loaded on first use so that commands which never read a policy never load Ajv.
  const require = createRequire(import.meta.url);
  const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object;
  validator = ajv.compile(schema);
  return validator;
}

/** The policy JSON Schema, as shipped (for tests and documentation). */
export function policySchema(): Record<string, unknown> {
  return JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as Record<string, unknown>;
}

/** Every `pattern` of schemas/proxy-policy.schema.json, in words. A test keeps the two in step. */
const PATTERN_TEXT: Readonly<Record<string, string>> = {
  '^(?:(?:\\*\\.)?(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\\.?|\\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\\]?)$':
    'must be a host pattern: a host name (ASCII letters, digits, "-", "_"; punycode for IDN), "*." followed by a host name, or an IP address',
  '^(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/[0-9]{1,3})$': 'must be a CIDR such as 10.20.0.0/16 or fd00::/8',
  '^[a-z0-9_]+$': 'must be a pattern id: lower-case letters, digits and "_"',
  '^[^\\u0000-\\u001f\\u007f]+$': 'must not contain control characters',
  '^(?:[0-9]{1,3}(?:\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$': 'must be an IP address (IPv4 dotted quad or IPv6) or null',
  '^127\\.0\\.0\\.1:(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$': 'must be "127.0.0.1:PORT" (PORT 1–65535) or null',
};

/** Whether a schema pattern has a plain-language explanation (tests). */
export function isExplainedPattern(pattern: string): boolean {
  return Object.hasOwn(PATTERN_TEXT, pattern);
}


function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(token)] : Object.hasOwn(node, token) ? (node as Record<string, unknown>)[token] : undefined;
  }
  return node;
}

function schemaProblems(errors: readonly ErrorObject[], instance: unknown): PolicyProblem[] {
  return uniqueBy(
    errors.map((e) => schemaProblem(e, instance)).filter((p): p is PolicyProblem => p !== null),
    (p) => `${p.pointer}\u0000${p.rule}\u0000${p.message}`,
  );
}

function schemaProblem(e: ErrorObject, instance: unknown): PolicyProblem | null {
  const params = e.params as Record<string, unknown>;
  let pointer = e.instancePath;
  // propertyNames: the inner error carries the offending member name.
  if (e.keyword === 'propertyNames') return null;
  const memberName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (memberName !== undefined) {
    pointer = `${pointer}/${escapePointer(memberName)}`;
    const text = e.keyword === 'pattern' ? (PATTERN_TEXT[String(params.pattern)] ?? `must match ${String(params.pattern)}`) : (e.message ?? e.keyword);
    return { pointer, rule: 'propertyNames', message: `member name ${JSON.stringify(memberName)}: ${text}` };
  }
  const found = valueAt(instance, pointer);
  const rule = e.keyword;
  switch (e.keyword) {
    case 'required': {
      const m = String(params.missingProperty);
      return { pointer: `${pointer}/${escapePointer(m)}`, rule, message: `required member "${m}" is missing` };
    }
    case 'additionalProperties': {
      const m = String(params.additionalProperty);
      const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
      const allowed = props ? ` (allowed: ${Object.keys(props).join(', ')})` : '';
      return { pointer: `${pointer}/${escapePointer(m)}`, rule, message: `unknown member "${m}"${allowed}` };
    }
    case 'type':
      return { pointer, rule, message: `must be ${typeNoun(String(params.type))}, found ${describeValue(found)}` };
    case 'enum':
      return { pointer, rule, message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(found)}` };
    case 'const':
      return { pointer, rule, message: `must be ${JSON.stringify(params.allowedValue)}, found ${describeValue(found)}` };
    case 'pattern': {
      const pat = String(params.pattern);
      return { pointer, rule, message: `${PATTERN_TEXT[pat] ?? `must match the pattern ${pat}`}, found ${describeValue(found)}` };
    }
    case 'minimum':
      return { pointer, rule, message: `must be at least ${String(params.limit)}, found ${describeValue(found)}` };
    case 'maximum':
      return { pointer, rule, message: `must be at most ${String(params.limit)}, found ${describeValue(found)}` };
    case 'exclusiveMinimum':
      return { pointer, rule, message: `must be greater than ${String(params.limit)}, found ${describeValue(found)}` };
    case 'minLength':
      return { pointer, rule, message: Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long` };
    case 'maxLength':
      return { pointer, rule, message: `must be at most ${String(params.limit)} characters long` };
    case 'minItems':
      return { pointer, rule, message: `must have at least ${String(params.limit)} item${Number(params.limit) === 1 ? '' : 's'}` };
    case 'maxItems':
      return { pointer, rule, message: `must have at most ${String(params.limit)} items` };
    case 'uniqueItems': {
      const i = Number(params.i);
      const j = Number(params.j);
      const later = Math.max(i, j);
      return { pointer: `${pointer}/${later}`, rule, message: `duplicate of item ${Math.min(i, j)}: ${describeValue(valueAt(instance, `${pointer}/${later}`))}` };
    }
    default:
      return { pointer, rule, message: e.message ?? `fails the "${e.keyword}" rule` };
  }
}

// ---------------------------------------------------------------------------
// Load-time rules a schema cannot state.

const HOST_LISTS: readonly (readonly [string, (p: Policy) => readonly string[]])[] = [
  ['/destinations/allow', (p) => p.destinations.allow],
  ['/destinations/block', (p) => p.destinations.block],
  ['/destinations/trusted', (p) => p.destinations.trusted],
  ['/destinations/internal/hosts', (p) => p.destinations.internal.hosts],
  ['/response/exempt', (p) => p.response.exempt],
];

function semanticProblems(policy: Policy, opts: PolicyLoadOptions): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const add = (pointer: string, rule: string, message: string): void => {
    problems.push({ pointer, rule, message });
  };

  // Host patterns.
  const checkHosts = (base: string, list: readonly string[]): void => {
    list.forEach((pat, i) => {
      const why = hostPatternProblem(pat);
      if (why) add(`${base}/${i}`, 'host_pattern', `${JSON.stringify(pat)}: ${why}`);
    });
  };
  for (const [base, get] of HOST_LISTS) checkHosts(base, get(policy));
  for (const [id, hosts] of Object.entries(policy.dlp.bindings)) checkHosts(`/dlp/bindings/${escapePointer(id)}`, hosts);

  // CIDRs.
  policy.destinations.internal.cidrs.forEach((c, i) => {
    const r = checkCidr(c);
    if (!r.ok) add(`/destinations/internal/cidrs/${i}`, r.rule, `${JSON.stringify(c)}: ${r.message}`);
  });

  // Pattern ids.
  const builtin = new Set(opts.knownPatternIds ?? SPEC_PATTERN_IDS);
  const extraIds = new Map<string, number>();
  policy.dlp.extra.forEach((x, i) => {
    if (builtin.has(x.id)) {
      add(`/dlp/extra/${i}/id`, 'builtin_pattern_id', `"${x.id}" is a built-in pattern id; an extra pattern needs its own id`);
    } else if (extraIds.has(x.id)) {
      add(`/dlp/extra/${i}/id`, 'duplicate_pattern_id', `"${x.id}" is already the id of /dlp/extra/${extraIds.get(x.id)!}`);
    } else {
      extraIds.set(x.id, i);
    }
    const why = regexProblem(x.regex);
    if (why) add(`/dlp/extra/${i}/regex`, why.rule, why.message);
  });
  const known = (id: string): boolean => builtin.has(id) || extraIds.has(id);
  policy.dlp.disable.forEach((id, i) => {
    if (!known(id)) add(`/dlp/disable/${i}`, 'unknown_pattern_id', `"${id}" is not a built-in or extra pattern id`);
  });
  for (const id of Object.keys(policy.dlp.bindings)) {
    if (!known(id)) add(`/dlp/bindings/${escapePointer(id)}`, 'unknown_pattern_id', `"${id}" is not a built-in or extra pattern id`);
  }

  // Test overrides.
  const t = policy.testing;
  if (t.resolve_all_to !== null && !parseIp(t.resolve_all_to)) {
    add('/testing/resolve_all_to', 'ip_address', `${JSON.stringify(t.resolve_all_to)} is not a valid IP address (IPv4 dotted quad or IPv6)`);
  }
  for (const member of ['resolve_all_to', 'dial_override', 'tls_dial_override'] as const) {
    if (t[member] === null) continue;
    if (!opts.allowTestingOverrides) {
      add(`/testing/${member}`, 'testing_not_allowed', 'a test override is set, but the proxy was not started with --allow-testing-overrides');
    } else if (!opts.listenIsLoopback) {
      add(`/testing/${member}`, 'testing_not_loopback', 'test overrides are honoured only when the listener is on loopback');
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------
// Operator regexes (`dlp.extra[].regex`).

/** Flags every extra pattern is compiled with (plus `i` for a leading `(?i)`). */
export const EXTRA_REGEX_FLAGS = 'u';

function splitInlineFlags(source: string): { body: string; ignoreCase: boolean } {
  return source.startsWith('(?i)') ? { body: source.slice(4), ignoreCase: true } : { body: source, ignoreCase: false };
}

/**
 * Compiles an extra pattern's regex the way the loader validated it: with
 * the `u` flag, a leading Go/PCRE-style `(?i)` turned into the `i` flag,
 * plus `flags` (e.g. `g`). Throws on a regex the loader would reject.
 */
export function compileExtraRegex(source: string, flags = ''): RegExp {
  const { body, ignoreCase } = splitInlineFlags(source);
  const all = new Set((EXTRA_REGEX_FLAGS + (ignoreCase ? 'i' : '') + flags).split(''));
  return new RegExp(body, [...all].join(''));
}

/**
 * Why an operator regex is rejected, or null: invalid syntax (JavaScript,
 * `u` flag); a match on the empty string (it would fire on every request);
 * or a nested quantifier, the shape of catastrophic backtracking (§4
 * pathological-regex guard).
 *
 * The nesting rule: a group repeated at most once (`?`, `{0,1}`) is never a
 * problem; a group repeated two or more times must not contain an unbounded
 * quantifier (`(a+)+`, `(.*)*`, `(\w+\s?){2,}`, `(?:[a-z]+\.){3}`); and a group
 * repeated without bound must not contain any variable quantifier
 * (`(a?)+`, `(a{1,3})*`). Exact counts (`{24}`) are fine anywhere. Overlapping
 * alternations (`(a|a)+`) are not detected: the scanners also cap the length
 * of scanned text.
 */
export function regexProblem(source: string): { rule: 'regex_syntax' | 'regex_empty_match' | 'regex_pathological'; message: string } | null {
  let re: RegExp;
  try {
    re = compileExtraRegex(source);
  } catch (e) {
    return { rule: 'regex_syntax', message: `is not a valid regular expression: ${(e as Error).message}` };
  }
  if (re.test('')) return { rule: 'regex_empty_match', message: 'matches the empty string, so it would match every request' };
  const nested = nestedQuantifier(splitInlineFlags(source).body);
  if (nested) {
    return {
      rule: 'regex_pathological',
      message: `nested quantifier in ${JSON.stringify(nested)}: a repeated group containing a repeated part can backtrack catastrophically (e.g. (a+)+, (.*)*); rewrite it without the nesting`,
    };
  }
  return null;
}

interface Quant {
  min: number;
  max: number;
  end: number;
}

function readQuantifier(s: string, i: number): Quant | null {
  const c = s[i];
  let q: Quant | null = null;
  if (c === '*') q = { min: 0, max: Infinity, end: i + 1 };
  else if (c === '+') q = { min: 1, max: Infinity, end: i + 1 };
  else if (c === '?') q = { min: 0, max: 1, end: i + 1 };
  else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(s.slice(i));
    if (m) {
      const min = Number(m[1]);
      const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      q = { min, max, end: i + m[0].length };
    }
  }
  if (q && s[q.end] === '?') q.end++; // lazy
  return q;
}

function escapeEnd(s: string, i: number): number {
  // s[i] === '\\'
  const c = s[i + 1];
  if ((c === 'p' || c === 'P' || c === 'u') && s[i + 2] === '{') {
    const close = s.indexOf('}', i + 3);
    return close < 0 ? s.length : close + 1;
  }
  if (c === 'k' && s[i + 2] === '<') {
    const close = s.indexOf('>', i + 3);
    return close < 0 ? s.length : close + 1;
  }
  return Math.min(s.length, i + 2);
}

/** Returns the offending group text, or null. Assumes `s` is valid regex syntax. */
function nestedQuantifier(s: string): string | null {
  interface Frame {
    start: number;
    unbounded: boolean;
    variable: boolean;
  }
  const stack: Frame[] = [{ start: 0, unbounded: false, variable: false }];
  const noteAtom = (q: Quant | null): void => {
    if (!q) return;
    const top = stack[stack.length - 1]!;
    if (q.max === Infinity) top.unbounded = true;
    if (q.max > q.min) top.variable = true;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === '\\') {
      i = escapeEnd(s, i);
    } else if (c === '[') {
      i++;
      if (s[i] === '^') i++;
      while (i < s.length && s[i] !== ']') i = s[i] === '\\' ? escapeEnd(s, i) : i + 1;
      i++;
    } else if (c === '(') {
      stack.push({ start: i, unbounded: false, variable: false });
      i++;
      if (s[i] === '?') {
        i++;
        if (s[i] === '<' && s[i + 1] !== '=' && s[i + 1] !== '!') {
          const close = s.indexOf('>', i);
          i = close < 0 ? s.length : close + 1;
        } else {
          i += s[i] === '<' ? 2 : 1;
        }
      }
      continue;
    } else if (c === ')') {
      const f = stack.length > 1 ? stack.pop()! : stack[0]!;
      const q = readQuantifier(s, i + 1);
      const end = q ? q.end : i + 1;
      if (q && ((q.max >= 2 && f.unbounded) || (q.max === Infinity && f.variable))) return s.slice(f.start, end);
      const parent = stack[stack.length - 1]!;
      parent.unbounded ||= f.unbounded || (q !== null && q.max === Infinity);
      parent.variable ||= f.variable || (q !== null && q.max > q.min);
      i = end;
      continue;
    } else if (c === '|' || c === '^' || c === '$') {
      i++;
      continue;
    } else {
      i++;
    }
    const q = readQuantifier(s, i);
    noteAtom(q);
    if (q) i = q.end;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Small helpers for the other parts of the proxy.

/** Splits a validated `127.0.0.1:PORT` test override. */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const colon = endpoint.lastIndexOf(':');
  return { host: endpoint.slice(0, colon), port: Number(endpoint.slice(colon + 1)) };
}

/**
 * `dlp.literal_secrets_file` as a path: a relative name is taken relative to
 * the policy file's directory (not the working directory), so a policy and
 * its secrets file can move together. Null when unset.
 */
export function literalSecretsPath(loaded: Pick<LoadedPolicy, 'policy' | 'source'>): string | null {
  const file = loaded.policy.dlp.literal_secrets_file;
  if (file === null) return null;
  return loaded.source === DEFAULT_POLICY_SOURCE ? resolve(file) : resolve(dirname(loaded.source), file);
}

/** Whether any `testing` member is set (the run uses test overrides). */
export function usesTestingOverrides(policy: Policy): boolean {
  const t = policy.testing;
  return t.resolve_all_to !== null || t.dial_override !== null || t.tls_dial_override !== null;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
