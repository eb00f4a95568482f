/**
 * Audit Packet v0 rules the JSON Schema cannot express
 * (spec/audit-packet-v0.md §2.9). They belong to the schema stage: any error
 * here is a `schema_check: fail`, reported next to the schema's own errors.
 *
 * Run after validatePacketSchema has passed; every rule still tolerates an
 * unexpected shape (it then reports nothing) so the function never throws.
 *
 * Where each §2.9 item is enforced:
 *   1  schema_version constant ............. schema (const)
 *   2  run.provider enum ................... schema (enum)
 *      run.agent_identity non-empty ........ agentIdentityIsNonEmpty
 *      run.started_at non-empty ............ schema (date-time rejects "")
 *   3  policy.policy_hashes is an array .... schema (type, required)
 *   4  counts are non-negative integers .... schema (integer, minimum)
 *      totals sum to receipt_count ......... totalsSumToReceiptCount
 *   5  transports/layers values ............ schema (additionalProperties)
 *   6  domains_touched strictly ascending .. domainsTouchedStrictlyAscending
 *   7  verifier verdict/trusted/signer_key . schema (enum, if/then, minLength, minimum)
 *   8  posture.enforcement_mode non-empty .. enforcementModeIsNonEmpty
 *      posture.runner_os non-empty ......... runnerOsIsNonEmpty
 *      posture enums, unsupported_paths .... schema (enum, type)
 *   9  artifacts non-empty, path rules ..... schema (minLength, patterns)
 *  10  Go-only extras: not adopted; egress-verify follows the TypeScript and
 *      Rust validators (§2.9 "Proposal"), whose checks are the ones above.
 *
 * The "documented but not enforced" items of §2.9 (policy_hashes sorted,
 * verifier.receipt_count == summary.receipt_count, timestamp order) are not
 * errors in any reference and are left out on purpose.
 */
import type { SchemaError } from './schema.js';

type JsonObject = Record<string, unknown>;
type Rule = (packet: JsonObject) => SchemaError[];

/** The verdict buckets of summary.totals (§2.4). */
const TOTALS_BUCKETS = ['allow', 'block', 'warn', 'ask', 'strip', 'forward', 'redirect', 'other'] as const;

/** Rules in §2.9 order, so errors come out in the order a reader of the spec expects. */
const RULES: readonly Rule[] = [
  agentIdentityIsNonEmpty,
  totalsSumToReceiptCount,
  domainsTouchedStrictlyAscending,
  enforcementModeIsNonEmpty,
  runnerOsIsNonEmpty,
];

/** Checks the §2.9 semantic rules of a schema-valid packet; [] when all hold. */
export function checkPacketSemantics(packet: unknown): SchemaError[] {
  if (!isObject(packet)) return [];
  return RULES.flatMap((rule) => rule(packet));
}

/** §2.9 item 2: run.agent_identity is non-empty. */
function agentIdentityIsNonEmpty(packet: JsonObject): SchemaError[] {
  return nonEmptyString(packet, 'run', 'agent_identity');
}

/**
 * §2.9 item 4: the eight totals sum to summary.receipt_count, so that every
 * receipt is in exactly one bucket (§4 invariant). Summed as BigInt: eight
 * counts near 2^53 would round as doubles and could hide a mismatch.
 */
function totalsSumToReceiptCount(packet: JsonObject): SchemaError[] {
  const summary = member(packet, 'summary');
  const totals = member(summary, 'totals');
  const count = member(summary, 'receipt_count');
  if (!isObject(totals) || !isInteger(count)) return [];
  let sum = 0n;
  for (const bucket of TOTALS_BUCKETS) {
    const n = totals[bucket];
    if (!isInteger(n)) return [];
    sum += BigInt(n);
  }
  if (sum === BigInt(count)) return [];
  return [
    {
      pointer: '/summary/totals',
      keyword: 'totalsSum',
      message: `/summary/totals: the eight totals sum to ${sum}, but /summary/receipt_count is ${count}; every receipt must be counted in exactly one bucket`,
    },
  ];
}

/**
 * §2.9 item 6: summary.domains_touched, when present, is strictly ascending
 * (sorted, no repeats). Compared by Unicode code point, the spec's Proposal;
 * this equals the references' byte (Go, Rust) and UTF-16 (TS) orders for
 * ASCII and BMP text. Each out-of-place entry is reported at its own index.
 */
function domainsTouchedStrictlyAscending(packet: JsonObject): SchemaError[] {
  const domains = member(member(packet, 'summary'), 'domains_touched');
  if (!Array.isArray(domains)) return [];
  const errors: SchemaError[] = [];
  for (let i = 1; i < domains.length; i++) {
    const prev: unknown = domains[i - 1];
    const cur: unknown = domains[i];
    if (typeof prev !== 'string' || typeof cur !== 'string') continue;
    const order = compareCodePoints(prev, cur);
    if (order < 0) continue;
    const pointer = `/summary/domains_touched/${i}`;
    const problem =
      order === 0
        ? `${JSON.stringify(cur)} repeats the entry before it`
        : `${JSON.stringify(cur)} sorts before the entry before it, ${JSON.stringify(prev)}`;
    errors.push({
      pointer,
      keyword: 'sortedUnique',
      message: `${pointer}: ${problem}; domains_touched must be sorted by code point with no repeats`,
    });
  }
  return errors;
}

/** §2.9 item 8: posture.enforcement_mode is non-empty. */
function enforcementModeIsNonEmpty(packet: JsonObject): SchemaError[] {
  return nonEmptyString(packet, 'posture', 'enforcement_mode');
}

/** §2.9 item 8: posture.runner_os is non-empty. */
function runnerOsIsNonEmpty(packet: JsonObject): SchemaError[] {
  return nonEmptyString(packet, 'posture', 'runner_os');
}

/**
 * A string member that §2.9 requires to be non-empty but the schema types
 * only as "string". Only "" fails: the spec says "non-empty", not "not
 * blank", so whitespace-only text is left to the reader to judge.
 */
function nonEmptyString(packet: JsonObject, section: string, name: string): SchemaError[] {
  if (member(member(packet, section), name) !== '') return [];
  const pointer = `/${section}/${name}`;
  return [{ pointer, keyword: 'nonEmpty', message: `${pointer}: "${name}" must not be empty` }];
}

/** Orders strings by Unicode code point (UTF-16 order differs above U+FFFF). */
function compareCodePoints(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    // Equal code points have equal widths, so one index serves both strings.
    i += ca > 0xffff ? 2 : 1;
  }
  return Math.sign(a.length - b.length);
}

function member(value: unknown, name: string): unknown {
  return isObject(value) ? value[name] : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}
