/**
 * Audit Packet v0 verification (spec/audit-packet-v0.md §3.3, R-new
 * semantics, with the egress-verify differences of §3.3–§3.6 and §4).
 *
 * `verifyPacket` is the spec's ordered list of steps, top to bottom; each
 * step is a small named function that returns a coded result. The first
 * failing step decides the report's top-level `reason` (§3.6). Where the
 * references keep going after a failure (the chain failed: lifecycle and
 * cross-check still run, §3.3 steps 11–12), so does this.
 *
 * I/O lives in ./source.ts (directory or zip); everything here works on bytes
 * and on the chain walker's stream.
 */
import { parsePipelockPublicKey, isHexKey } from '../crypto/key-text.js';
import { sha256Hex } from '../crypto/ed25519.js';
import { escapePointer, JArr, JNum, JObj, lineCol, parseJsonBytes, toPlain, type JVal } from '../json/strict.js';
import { emptyTotals, VERDICT_BUCKETS, type VerdictTotals } from '../report/buckets.js';
import type { ReportReason, Where } from '../report/reasons.js';
import { errorReport, type Report } from '../report/report.js';
import { verifyChainFiles, type ChainFile, type ChainFilesResult, type LifecycleFacts } from '../verify/chain-input.js';
import type { PacketInput } from '../verify/inputs.js';
import type { VerifyOptions } from '../verify/options.js';
import type { AuditPacketReport, CheckStatus, CountingInterpretation, LifecycleReason, LifecycleStatus, UnverifiedClaim } from './report-shape.js';
import { validatePacketSchema, type SchemaError } from './schema.js';
import { checkPacketSemantics } from './semantics.js';
import { classifyStreamError, openPacketSource, type Obtained, type PacketSource } from './source.js';

export type { AuditPacketReport } from './report-shape.js';

/** The packet-only flags of `egress-verify verify` (§3). */
export interface PacketFlags {
  /** SHA-256 of the packet.json bytes, hex (a `sha256:` prefix and surrounding space are tolerated). */
  expectSha256?: string;
  /** Stop after the schema: never reads the evidence, never valid (§3.3 step 6). */
  offline?: boolean;
  /** Accept a packet whose producer claims `self_consistent_only` (§3.3 steps 7 and 13). */
  allowSelfConsistentOnly?: boolean;
  /** Skip the trust policy on the packet's claimed verdict; the chain must still verify (§3.3 step 13). */
  noTrustRequired?: boolean;
}

/** A coded failure of one step. `errors` are the `audit_packet.errors` lines it adds. */
interface Finding {
  reason: ReportReason;
  message: string;
  where: Where;
  errors: string[];
}

type Step<T> = { ok: true; value: T } | { ok: false; finding: Finding };

const SCHEMA_VERSION = 'pipelock.audit_packet.v0';

// ---------------------------------------------------------------------------
// The steps, in the spec's order

export async function verifyPacket(input: PacketInput, opts: VerifyOptions, flags: PacketFlags = {}): Promise<Report> {
  // Step 1: resolve PATH — a directory, a packet file, or a zip bundle (read and checked first, §3.6).
  const opened = await openPacketSource(input);
  if (!opened.ok) return 'io' in opened ? couldNotRead(opened) : new PacketRun(pathOf(input)).stop(sourceFinding(opened.finding, 'packet'));
  const source = opened.value;
  const run = new PacketRun(source.packetPath);
  try {
    // Step 2: read packet.json — a regular file of at most 8 MiB.
    const bytes = await source.readPacket();
    if (!bytes.ok) return 'io' in bytes ? couldNotRead(bytes) : run.stop(sourceFinding(bytes.finding, 'packet'));

    // Step 3: --expect-sha256, on the raw bytes, before anything is parsed.
    const pinned = checkPacketSha256(bytes.value, flags.expectSha256, source.packetFile);
    if (!pinned.ok) return run.stop(pinned.finding);

    // Step 4: parse (strict JSON, then the number hygiene of §2.9).
    const parsed = parsePacket(bytes.value, source.packetFile);
    if (!parsed.ok) return run.stop(parsed.finding);
    const packet = parsed.value;
    run.adopt(packet, flags);

    // Step 5: JSON Schema and the semantic rules it cannot express.
    const schema = checkSchema(packet, source.packetFile);
    if (!schema.ok) return run.fail('schema_check', schema.finding).stop();
    run.pass('schema_check');
    run.claims = unverifiedClaims(packet.plain);

    // Step 6: --offline stops here; never valid.
    if (flags.offline) return run.offline(source.packetFile);

    // Step 7: choose the trust anchor.
    const anchor = chooseTrustAnchor(packet, opts, flags, source.packetFile);
    if (!anchor.ok) return run.fail('chain_check', anchor.finding).stop();
    run.anchor = anchor.value;

    // Step 8: resolve artifacts.evidence inside the base.
    const evidence = await source.evidenceFile(packet.plain.artifacts.evidence);
    if (!evidence.ok) return 'io' in evidence ? couldNotRead(evidence) : run.fail('chain_check', sourceFinding(evidence.finding, 'chain')).stop();
    run.warnings.push(...(await artifactWarnings(source, packet)));

    // Steps 9–10: read the evidence as a stream and verify the chain under the anchor.
    const chain = await verifyEvidenceChain(evidence.value, opts, anchor.value);
    if (!chain.ok) return 'io' in chain ? couldNotRead(chain) : run.fail('chain_check', sourceFinding(chain.finding, 'chain')).stop();
    if (chain.value.failure) run.fail('chain_check', chain.value.failure);
    else run.pass('chain_check');
    run.chain = chain.value;
    run.claims = unverifiedClaims(packet.plain, anchor.value, chain.value);

    // Step 11: lifecycle assessment from the session-control receipts.
    const lifecycle = assessLifecycle(chain.value);
    run.lifecycle = lifecycle;
    if (lifecycle.status === 'BROKEN') run.errors.push(`lifecycle: ${lifecycle.reason} (a chain that does not verify says nothing about the session's lifecycle)`);

    // Step 12: cross-check the packet's claims against the chain.
    const cross = crossCheck(packet, chain.value, source.packetFile);
    run.counting = cross.counting;
    run.chainCounts = cross.chainCounts;
    if (cross.finding) run.fail('cross_check', cross.finding);
    else run.pass('cross_check');

    // Step 13: the overall outcome, including the trust policy on the packet's claimed verdict.
    const trust = trustPolicy(packet, flags, source.packetFile);
    const valid = decideValidity(run, lifecycle, trust);

    // Step 14: the report rewrite.
    return run.finish(valid, trustedResult(valid, packet, anchor.value, chain.value), trust);
  } finally {
    await source.close();
  }
}

// ---------------------------------------------------------------------------
// Step 3

/** `--expect-sha256`: lowercase hex SHA-256 of the raw bytes against the trimmed, lowercased pin. */
export function checkPacketSha256(bytes: Uint8Array, expected: string | undefined, file: string): Step<void> {
  if (expected === undefined) return { ok: true, value: undefined };
  const want = normalizeSha256(expected);
  const got = sha256Hex(bytes);
  if (got === want) return { ok: true, value: undefined };
  return fail(
    'packet_sha256_mismatch',
    `packet.json's SHA-256 is ${got}, but --expect-sha256 pins ${want}: this is not the packet you pinned (edited, or a different run's)`,
    { file },
    `packet sha256 mismatch: got ${got}, want ${want}`,
  );
}

export function normalizeSha256(s: string): string {
  const t = s.trim().toLowerCase();
  return t.startsWith('sha256:') ? t.slice('sha256:'.length) : t;
}

// ---------------------------------------------------------------------------
// Step 4

interface ParsedPacket {
  root: JVal;
  text: string;
  /** The plain form, for the schema; after step 5 its shape is the schema's. */
  plain: any;
}

/** Strict JSON (UTF-8, duplicate keys, depth ≤ 128), then numbers within ±(2^53−1) (§2.9). */
export function parsePacket(bytes: Uint8Array, file: string): Step<ParsedPacket> {
  const parsed = parseJsonBytes(bytes);
  if (!parsed.ok) {
    const e = parsed.error;
    const at = e.pointer ? ` at ${e.pointer}` : '';
    return fail(e.reason, `packet.json: ${e.message}`, { file, line: e.line, ...(e.pointer ? { pointer: e.pointer } : {}) }, `packet json: ${e.message} (line ${e.line}${at})`);
  }
  const { value, text } = parsed;
  const big = findUnsafeNumber(value);
  if (big) {
    const msg = `the number ${clip(big.raw)} at ${big.pointer || '/'} is beyond ±(2^53−1) (9007199254740991), which JSON consumers cannot represent exactly`;
    return fail('malformed_json', `packet.json: ${msg}`, { file, line: lineCol(text, big.offset).line, pointer: big.pointer }, `packet json: ${msg}`);
  }
  // A root that is not an object is the schema's finding (step 5), not a parse error.
  return { ok: true, value: { root: value, text, plain: toPlain(value) } };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The first number literal whose magnitude exceeds 2^53−1 (or overflows, e.g. 1e999), depth first. */
function findUnsafeNumber(root: JVal): { raw: string; pointer: string; offset: number } | null {
  const visit = (v: JVal, pointer: string, offset: number): { raw: string; pointer: string; offset: number } | null => {
    if (v instanceof JNum) return exceedsSafeMagnitude(v.raw) ? { raw: v.raw, pointer, offset } : null;
    if (v instanceof JArr) {
      for (let i = 0; i < v.items.length; i++) {
        const r = visit(v.items[i]!, `${pointer}/${i}`, v.starts[i]!);
        if (r) return r;
      }
    } else if (v instanceof JObj) {
      for (let i = 0; i < v.keys.length; i++) {
        const r = visit(v.vals[i]!, `${pointer}/${escapePointer(v.keys[i]!)}`, v.starts[i]!);
        if (r) return r;
      }
    }
    return null;
  };
  return visit(root, '', 0);
}

/** Exact: |literal| > 2^53−1, decided on the decimal digits, not on a rounded double. */
export function exceedsSafeMagnitude(raw: string): boolean {
  const n = Math.abs(Number(raw));
  if (!Number.isFinite(n)) return true;
  if (n < Number.MAX_SAFE_INTEGER - 1) return false;
  if (n > Number.MAX_SAFE_INTEGER + 2) return true;
  // Near the boundary a double cannot decide; compare digits × 10^exp with 2^53−1 exactly.
  const m = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!m) return true;
  const frac = m[2] ?? '';
  const digits = BigInt(m[1]! + frac);
  const exp = Number(m[3] ?? '0') - frac.length;
  return exp >= 0 ? digits * 10n ** BigInt(exp) > MAX_SAFE : digits > MAX_SAFE * 10n ** BigInt(-exp);
}

// ---------------------------------------------------------------------------
// Step 5

/** Schema and §2.9 semantic rules; all errors are collected (TS/Rust behaviour, §2.9). */
export function checkSchema(packet: ParsedPacket, file: string): Step<void> {
  const schema = validatePacketSchema(packet.plain);
  const errors: SchemaError[] = [...(schema.ok ? [] : schema.errors), ...checkPacketSemantics(packet.plain)];
  if (errors.length === 0) return { ok: true, value: undefined };
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more schema error${errors.length > 2 ? 's' : ''})` : '';
  return fail(
    'schema_invalid',
    `packet.json is not a valid Audit Packet v0: ${first.message}${more}${legacyHint(packet.plain)}`,
    { file, line: lineOfPointer(packet.root, packet.text, first.pointer), pointer: first.pointer },
    ...errors.map((e) => `schema: ${e.message}`),
  );
}

/** §5.3: action v0.1.0 wrote a pre-schema packet with the same schema_version. */
function legacyHint(p: Record<string, unknown>): string {
  const legacy = p.schema_version === SCHEMA_VERSION && !('run' in p) && ('receipt_count' in p || 'totals' in p);
  return legacy ? '; this looks like the pre-schema packet of the producer action v0.1.0, which the v0 schema does not accept' : '';
}

// ---------------------------------------------------------------------------
// Step 7

type AnchorSource = 'pubkey' | 'packet-sha256' | 'packet-claim' | 'trust-on-first-use';

interface TrustAnchor {
  source: AnchorSource;
  /** Keys the chain is verified under; empty for trust on first use. */
  keys: string[];
  /** Trust on first use is allowed to pass (structural check) only with --allow-self-consistent-only. */
  allowUnpinned: boolean;
}

/**
 * R-new: `--pubkey` keys; else the packet's own `verifier.signer_key`, but only
 * when the packet bytes are pinned (--expect-sha256), or trust is waived
 * (--no-trust-required), or a self_consistent_only claim is accepted
 * (--allow-self-consistent-only). A packet without a signer_key is then
 * checked trust-on-first-use, which can pass only with
 * --allow-self-consistent-only (otherwise the chain fails as unpinned).
 */
export function chooseTrustAnchor(packet: ParsedPacket, opts: VerifyOptions, flags: PacketFlags, file: string): Step<TrustAnchor> {
  if (opts.pinnedKeys.length > 0) return { ok: true, value: { source: 'pubkey', keys: opts.pinnedKeys.map((k) => k.toLowerCase()), allowUnpinned: false } };
  const verdict: string = packet.plain.verifier.verdict;
  const mayUsePacketKey = flags.expectSha256 !== undefined || Boolean(flags.noTrustRequired) || (verdict === 'self_consistent_only' && Boolean(flags.allowSelfConsistentOnly));
  if (!mayUsePacketKey) {
    const notes: string[] = [];
    if (flags.allowSelfConsistentOnly) notes.push(`--allow-self-consistent-only applies only to a packet claiming self_consistent_only; this one claims ${JSON.stringify(verdict)}`);
    if (opts.allowUnpinned) notes.push('--allow-unpinned does not apply to Audit Packets; see --allow-self-consistent-only and --no-trust-required');
    return fail(
      'packet_not_trusted',
      `trusted Audit Packet verification requires --pubkey or --expect-sha256: pin the signer with --pubkey KEY, or pin packet.json with --expect-sha256 HEX so that its verifier.signer_key can be used (packet.json is not signed; its own key proves nothing by itself)${notes.map((n) => `; ${n}`).join('')}`,
      { file },
      'chain: trusted Audit Packet verification requires --pubkey or --expect-sha256',
    );
  }
  const source: AnchorSource = flags.expectSha256 !== undefined ? 'packet-sha256' : 'packet-claim';
  const claimed: unknown = packet.plain.verifier.signer_key;
  if (claimed === undefined) return { ok: true, value: { source: 'trust-on-first-use', keys: [], allowUnpinned: Boolean(flags.allowSelfConsistentOnly) } };
  // Only the two literal forms: a path in an unsigned packet is never opened.
  const key = typeof claimed !== 'string' ? null : isHexKey(claimed) ? claimed.toLowerCase() : parsePipelockPublicKey(claimed);
  if (key === null) {
    return fail(
      'packet_not_trusted',
      'verifier.signer_key cannot serve as the trust anchor: it is neither 64 hex characters nor the Pipelock public-key text form; pin the signer with --pubkey KEY instead',
      { file, line: lineOfPointer(packet.root, packet.text, '/verifier/signer_key'), pointer: '/verifier/signer_key' },
      'chain: verifier.signer_key is not a usable public key (expected 64 hex characters or the pipelock-ed25519-public-v1 text form)',
    );
  }
  return { ok: true, value: { source, keys: [key], allowUnpinned: false } };
}

// ---------------------------------------------------------------------------
// Step 8 (warnings only; resolution itself is the source's)

/** §1.2 Proposal: warn when artifacts.packet is not the file read, or the summary/verifier files are missing. */
async function artifactWarnings(source: PacketSource, packet: ParsedPacket): Promise<string[]> {
  const a = packet.plain.artifacts as Record<string, string>;
  const out: string[] = [];
  if (a.packet !== source.packetBaseName) out.push(`artifacts.packet is ${JSON.stringify(a.packet)}, but the packet read is ${JSON.stringify(source.packetBaseName)}`);
  if (!(await source.artifactExists(a.verifier!))) out.push(`artifacts.verifier ${JSON.stringify(a.verifier)} is missing (it is never read; the packet names it)`);
  if (a.summary !== undefined && !(await source.artifactExists(a.summary))) out.push(`artifacts.summary ${JSON.stringify(a.summary)} is missing (it is never read; the packet names it)`);
  const v = packet.plain.verifier;
  if (typeof v.receipt_count === 'number' && v.receipt_count !== packet.plain.summary.receipt_count) {
    out.push(`verifier.receipt_count ${v.receipt_count} differs from summary.receipt_count ${packet.plain.summary.receipt_count}${typeof v.error === 'string' ? '' : ' and verifier.error does not explain why'}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Steps 9–10

/** What the chain check established; when it failed, the counts are 0, the root empty (§3.3 step 10). */
interface ChainFacts {
  failure: Finding | null;
  /** Chain failed without pointing at a line and without a single v1 receipt: empty, or v2 only. */
  noReceipts: boolean;
  /** The structure verified but no anchor made it trusted (trust on first use refused). */
  unanchored: boolean;
  receiptCount: number;
  finalSeq: bigint;
  rootHash: string;
  all: { count: number; totals: VerdictTotals };
  withoutSessionControl: { count: number; totals: VerdictTotals };
  lifecycle: LifecycleFacts;
  report: Report;
}

export async function verifyEvidenceChain(file: ChainFile, opts: VerifyOptions, anchor: TrustAnchor): Promise<Obtained<ChainFacts>> {
  const chainOpts: VerifyOptions = { ...opts, pinnedKeys: anchor.keys, allowUnpinned: anchor.allowUnpinned };
  let result: ChainFilesResult;
  try {
    result = await verifyChainFiles([file], chainOpts, 'recorder');
  } catch (e) {
    const classified = classifyStreamError(e, file.name);
    if (classified) return classified;
    throw e;
  }
  const { report, tally, lifecycle } = result;
  if (report.verdict === 'valid') {
    return {
      ok: true,
      value: {
        failure: null,
        noReceipts: false,
        unanchored: false,
        receiptCount: report.receipt_count ?? 0,
        finalSeq: report.final_seq ?? 0n,
        rootHash: report.root_hash ?? '',
        all: { count: tally.countAll, totals: { ...tally.all } },
        withoutSessionControl: { count: tally.countWithoutSessionControl, totals: { ...tally.withoutSessionControl } },
        lifecycle,
        report,
      },
    };
  }
  const reason = report.reason ?? 'malformed_json';
  const where = report.where ?? { file: file.name };
  const noReceipts = tally.countAll === 0 && where.line === undefined && (reason === 'malformed_json' || reason === 'unsupported_version');
  const message =
    reason === 'unsupported_version' && noReceipts
      ? `the packet's evidence holds only EvidenceReceipt v2 receipts, which egress-verify cannot verify yet (${report.message})`
      : report.message;
  const trustNote = reason === 'signer_key_untrusted' || reason === 'signature_invalid' ? anchorNote(anchor) : '';
  const at = describeWhere(where);
  return {
    ok: true,
    value: {
      failure: {
        reason,
        message: `evidence chain: ${at ? `${at}: ` : ''}${reason} — ${message}${trustNote}`,
        where,
        errors: [`chain: ${at ? `${at}: ` : ''}${reason} — ${message}${trustNote}`],
      },
      noReceipts,
      unanchored: reason === 'no_trust_anchor',
      receiptCount: 0,
      finalSeq: 0n,
      rootHash: '',
      all: { count: 0, totals: emptyTotals() },
      withoutSessionControl: { count: 0, totals: emptyTotals() },
      lifecycle,
      report,
    },
  };
}

function anchorNote(anchor: TrustAnchor): string {
  if (anchor.keys.length === 0) return '';
  const from = anchor.source === 'pubkey' ? '--pubkey' : 'the packet\'s verifier.signer_key';
  return ` (expected key${anchor.keys.length > 1 ? 's' : ''} ${anchor.keys.map(shortKey).join(', ')}, from ${from})`;
}

// ---------------------------------------------------------------------------
// Step 11

export interface Lifecycle {
  status: LifecycleStatus;
  reason: LifecycleReason;
}

/** R-new statuses from the session-control receipts; only BROKEN affects validity. */
export function assessLifecycle(chain: Pick<ChainFacts, 'failure' | 'noReceipts' | 'unanchored' | 'lifecycle'>): Lifecycle {
  if (chain.noReceipts) return { status: 'UNVERIFIED', reason: 'no_receipts' };
  if (chain.failure && !chain.unanchored) return { status: 'BROKEN', reason: 'chain_broken' };
  const lc = chain.lifecycle;
  if (lc.opens + lc.heartbeats + lc.closes === 0) return { status: 'UNVERIFIED', reason: 'no_lifecycle' };
  if (lc.opens === 0) return { status: 'UNVERIFIED', reason: 'no_open' };
  if (lc.last === 'session_close') return { status: 'LIMITED', reason: 'bounded_closed' };
  return { status: 'LIMITED', reason: 'abnormal_end' };
}

// ---------------------------------------------------------------------------
// Step 12

interface CrossCheck {
  finding: Finding | null;
  counting: CountingInterpretation | null;
  chainCounts: { receipt_count: number; totals: VerdictTotals };
}

/** Sorted key order, as the references list totals mismatches (§3.3 step 12). */
const SORTED_BUCKETS = [...VERDICT_BUCKETS].sort();

/**
 * Exactly the comparisons of §3.3 step 12, with the egress-verify counting
 * decision of §4: the count and the eight totals pass when they all equal
 * interpretation A (every receipt) or all equal B (without session-control
 * receipts); otherwise the mismatches are reported against A.
 */
export function crossCheck(packet: ParsedPacket, chain: ChainFacts, file: string): CrossCheck {
  const p = packet.plain;
  const claimed = { count: p.summary.receipt_count as number, totals: p.summary.totals as VerdictTotals };
  const same = (c: { count: number; totals: VerdictTotals }) => c.count === claimed.count && VERDICT_BUCKETS.every((b) => c.totals[b] === claimed.totals[b]);
  const counting: CountingInterpretation | null = same(chain.all) ? 'all receipts' : same(chain.withoutSessionControl) ? 'without session-control receipts' : null;
  const compared = counting === 'without session-control receipts' ? chain.withoutSessionControl : chain.all;
  const mismatches: { pointer: string; text: string }[] = [];

  if (counting === null) {
    if (chain.all.count !== claimed.count) mismatches.push({ pointer: '/summary/receipt_count', text: `chain receipt_count ${chain.all.count} != packet.summary.receipt_count ${claimed.count}` });
    for (const b of SORTED_BUCKETS) {
      if (chain.all.totals[b] !== claimed.totals[b]) mismatches.push({ pointer: `/summary/totals/${b}`, text: `totals[${b}]: chain=${chain.all.totals[b]} packet=${claimed.totals[b]}` });
    }
    if (!chain.failure && chain.all.count !== chain.withoutSessionControl.count) {
      mismatches.push({
        pointer: '/summary/receipt_count',
        text: `neither counting rule matches: every receipt gives ${chain.all.count}, without the ${chain.all.count - chain.withoutSessionControl.count} session-control receipts ${chain.withoutSessionControl.count}`,
      });
    }
  }
  const root: unknown = p.verifier.root_hash;
  if (typeof root === 'string' && root !== '' && root !== chain.rootHash) {
    mismatches.push({ pointer: '/verifier/root_hash', text: `root_hash mismatch: chain=${chain.rootHash} packet=${root}${rootHashHint(root, chain.rootHash)}` });
  }
  const finalSeq: unknown = p.verifier.final_seq;
  if (typeof finalSeq === 'number' && BigInt(finalSeq) !== chain.finalSeq) {
    mismatches.push({ pointer: '/verifier/final_seq', text: `final_seq mismatch: chain=${chain.finalSeq} packet=${finalSeq}` });
  }
  const claim: string = p.verifier.verdict;
  if ((claim === 'valid' || claim === 'self_consistent_only') && chain.failure) {
    mismatches.push({ pointer: '/verifier/verdict', text: `verdict=${claim} but chain rejected: ${chain.failure.reason}` });
  } else if (claim === 'invalid' && !chain.failure) {
    mismatches.push({ pointer: '/verifier/verdict', text: 'verdict=invalid but chain re-verified successfully' });
  }

  const chainCounts = { receipt_count: compared.count, totals: { ...compared.totals } };
  if (mismatches.length === 0) return { finding: null, counting, chainCounts };
  const cascade = chain.failure ? ['cross-check: the evidence chain did not verify, so it counts as 0 receipts with final_seq 0 and no root hash; the mismatches below follow from that failure'] : [];
  const first = mismatches[0]!;
  const more = mismatches.length > 1 ? ` (and ${mismatches.length - 1} more)` : '';
  return {
    finding: {
      reason: 'cross_check_failed',
      message: `the packet's claims contradict the evidence chain: ${first.text}${more}`,
      where: { file, line: lineOfPointer(packet.root, packet.text, first.pointer), pointer: first.pointer },
      errors: [...cascade, ...mismatches.map((m) => `cross-check: ${m.text}`)],
    },
    counting,
    chainCounts,
  };
}

function rootHashHint(packetRoot: string, chainRoot: string): string {
  if (chainRoot === '') return '';
  if (packetRoot.toLowerCase() === `sha256:${chainRoot}`) {
    return ' (only the "sha256:" prefix differs: the root hash is compared as bare lowercase hex, exactly; write verifier.root_hash without the prefix)';
  }
  if (packetRoot.toLowerCase() === chainRoot) return ' (only the letter case differs: the root hash is compared as bare lowercase hex, exactly)';
  return '';
}

// ---------------------------------------------------------------------------
// Step 13

type TrustPolicy = { ok: true } | { ok: false; finding: Finding };

/** `--no-trust-required` → accepted; `valid` → the packet's `trusted`; `self_consistent_only` → the flag; anything else refused. */
export function trustPolicy(packet: ParsedPacket, flags: PacketFlags, file: string): TrustPolicy {
  if (flags.noTrustRequired) return { ok: true };
  const claim: string = packet.plain.verifier.verdict;
  const where: Where = { file, line: lineOfPointer(packet.root, packet.text, '/verifier/verdict'), pointer: '/verifier/verdict' };
  const refuse = (why: string, error: string): TrustPolicy => ({ ok: false, finding: { reason: 'packet_not_trusted', message: `packet not trusted: ${why}`, where, errors: [`packet not trusted: ${error}`] } });
  if (claim === 'valid') return packet.plain.verifier.trusted === true ? { ok: true } : refuse('the packet claims verdict valid without trusted: true', 'verdict valid without trusted: true');
  if (claim === 'self_consistent_only') {
    return flags.allowSelfConsistentOnly
      ? { ok: true }
      : refuse(
          'its producer verified the chain only against the chain\'s own key (verdict self_consistent_only), so the packet proves internal consistency, not who signed; accept that explicitly with --allow-self-consistent-only',
          'verdict self_consistent_only needs --allow-self-consistent-only',
        );
  }
  if (claim === 'invalid') return refuse('its producer reported the chain invalid (verdict invalid)', 'verdict invalid');
  return refuse(`its producer did not verify the chain (verdict ${claim}); such a packet passes only with --no-trust-required`, `verdict ${claim} needs --no-trust-required`);
}

/** valid = every check passed AND lifecycle ≠ BROKEN AND the trust policy accepts the claim. */
function decideValidity(run: PacketRun, lifecycle: Lifecycle, trust: TrustPolicy): boolean {
  return run.schema_check === 'pass' && run.chain_check === 'pass' && run.cross_check === 'pass' && lifecycle.status !== 'BROKEN' && trust.ok;
}

/**
 * `trusted`: valid, the packet claims trusted, and the key the chain verified
 * under was pinned by the user (--pubkey, or the packet's own key with the
 * packet's bytes pinned by --expect-sha256). The packet's own key used under
 * --no-trust-required is a claim, not a pin.
 */
function trustedResult(valid: boolean, packet: ParsedPacket, anchor: TrustAnchor, chain: ChainFacts): boolean {
  const userPinned = anchor.source === 'pubkey' || anchor.source === 'packet-sha256';
  return valid && userPinned && packet.plain.verifier.trusted === true && chain.report.trusted;
}

// ---------------------------------------------------------------------------
// Unverified claims

/** Members of packet.json no check confirms (§1.1, §3.3 step 12 "not cross-checked"): claims, never facts. */
function unverifiedClaims(p: Record<string, any>, anchor?: TrustAnchor, chain?: ChainFacts): UnverifiedClaim[] {
  const out: UnverifiedClaim[] = [];
  const add = (field: string, value: unknown) => {
    if (value !== undefined) out.push({ field, value });
  };
  const each = (prefix: string, obj: unknown) => {
    if (typeof obj === 'object' && obj !== null) for (const [k, v] of Object.entries(obj)) add(`${prefix}.${k}`, v);
  };
  const crossChecked = chain !== undefined;
  add('generated_at', p.generated_at);
  add('packet_id', p.packet_id);
  each('run', p.run);
  each('policy', p.policy);
  if (!crossChecked) {
    add('summary.receipt_count', p.summary?.receipt_count);
    add('summary.totals', p.summary?.totals);
  }
  add('summary.transports', p.summary?.transports);
  add('summary.layers', p.summary?.layers);
  add('summary.domains_touched', p.summary?.domains_touched);
  const v = p.verifier ?? {};
  if (!crossChecked) {
    add('verifier.verdict', v.verdict);
    add('verifier.root_hash', v.root_hash);
    add('verifier.final_seq', v.final_seq);
  }
  add('verifier.receipt_count', v.receipt_count);
  const keyConfirmed = anchor !== undefined && anchor.source !== 'pubkey' && anchor.keys.length > 0 && chain !== undefined && !chain.failure;
  if (!keyConfirmed) add('verifier.signer_key', v.signer_key);
  add('verifier.output_file', v.output_file);
  add('verifier.error', v.error);
  each('scanner_config_snapshot', p.scanner_config_snapshot);
  if (Array.isArray(p.receipts)) add('receipts', `${p.receipts.length} inline receipt cop${p.receipts.length === 1 ? 'y' : 'ies'}, not compared with the evidence`);
  each('posture', p.posture);
  return out;
}

// ---------------------------------------------------------------------------
// The report being built

class PacketRun {
  verdict = '';
  schema_check: CheckStatus = 'skipped';
  chain_check: CheckStatus = 'skipped';
  cross_check: CheckStatus = 'skipped';
  errors: string[] = [];
  warnings: string[] = [];
  claims: UnverifiedClaim[] = [];
  summary = { receipt_count: 0, totals: emptyTotals() };
  posture: AuditPacketReport['posture'] = { enforcement_mode: '', unsupported_paths: [] };
  runInfo: AuditPacketReport['run'] = { provider: '', agent_identity: '' };
  lifecycle: Lifecycle | null = null;
  lifecycleSkipped = 'chain re-verification did not complete';
  counting: CountingInterpretation | null | undefined = undefined;
  chainCounts: AuditPacketReport['chain_counts'] = undefined;
  chain: ChainFacts | null = null;
  anchor: TrustAnchor | null = null;
  /** The first failing step's finding: the top-level reason, message and where. */
  first: Finding | null = null;

  constructor(readonly path: string) {}

  /** Step 4 done: the report carries the packet's digest from here on. */
  adopt(packet: ParsedPacket, flags: PacketFlags): void {
    const p = packet.plain;
    const obj = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
    const int = (v: unknown): number => (Number.isSafeInteger(v) ? (v as number) : 0);
    const str = (v: unknown): string => (typeof v === 'string' ? v : '');
    const summary = obj(p.summary);
    const totals = obj(summary.totals);
    this.summary = { receipt_count: int(summary.receipt_count), totals: emptyTotals() };
    for (const b of VERDICT_BUCKETS) this.summary.totals[b] = int(totals[b]);
    const posture = obj(p.posture);
    this.posture = { enforcement_mode: str(posture.enforcement_mode), unsupported_paths: Array.isArray(posture.unsupported_paths) ? posture.unsupported_paths.filter((x): x is string => typeof x === 'string') : [] };
    const run = obj(p.run);
    this.runInfo = { provider: str(run.provider), agent_identity: str(run.agent_identity) };
    if (typeof run.repository === 'string') this.runInfo.repository = run.repository;
    if (typeof run.sha === 'string') this.runInfo.sha = run.sha;
    const verifier = obj(p.verifier);
    // With --offline the claimed verdict is blanked at this point (§3.3 step 4).
    this.verdict = flags.offline ? '' : str(verifier.verdict);
  }

  pass(check: 'schema_check' | 'chain_check' | 'cross_check'): void {
    this[check] = 'pass';
  }

  fail(check: 'schema_check' | 'chain_check' | 'cross_check', finding: Finding): this {
    this[check] = 'fail';
    this.record(finding);
    return this;
  }

  record(finding: Finding): void {
    this.first ??= finding;
    this.errors.push(...finding.errors);
  }

  /** An early stop: not valid, rewritten (step 14). */
  stop(finding?: Finding): Report {
    if (finding) this.record(finding);
    return this.finish(false, false, null);
  }

  /** Step 6. */
  offline(file: string): Report {
    this.verdict = 'schema_checked_trust_unverified';
    this.lifecycleSkipped = 'offline mode skips chain re-verification';
    this.record({
      reason: 'packet_not_trusted',
      message: '--offline: the schema was checked, but the evidence chain and its signer were not verified, so the packet cannot be valid; run without --offline and pin the signer with --pubkey KEY',
      where: { file },
      errors: ['schema checked, trust unverified: chain and signer were not verified'],
    });
    return this.report(false, false);
  }

  /** Steps 13–14: record the trust policy outcome, rewrite, build the report. */
  finish(valid: boolean, trusted: boolean, trust: TrustPolicy | null): Report {
    if (trust && !trust.ok) this.record(trust.finding);
    else if (trust && !valid) this.errors.push('packet not trusted');
    // Step 14: a failed packet is never trusted, and a claimed success is reported as invalid.
    if (!valid && (this.verdict === 'valid' || this.verdict === 'self_consistent_only')) this.verdict = 'invalid';
    return this.report(valid, valid && trusted);
  }

  private report(valid: boolean, trusted: boolean): Report {
    const ap: AuditPacketReport = {
      path: this.path,
      verdict: this.verdict,
      trusted,
      valid,
      summary: this.summary,
      posture: this.posture,
      run: this.runInfo,
      ...(this.errors.length ? { errors: this.errors } : {}),
      ...(this.warnings.length ? { warnings: this.warnings } : {}),
      schema_check: this.schema_check,
      chain_check: this.chain_check,
      cross_check: this.cross_check,
      ...(this.lifecycle
        ? { lifecycle_status: this.lifecycle.status, lifecycle_reason: this.lifecycle.reason, lifecycle_assessment: 'assessed' as const }
        : { lifecycle_assessment: 'not_assessed' as const, lifecycle_assessment_reason: this.lifecycleSkipped }),
      ...(this.counting !== undefined ? { counting: this.counting, chain_counts: this.chainCounts ?? null } : {}),
      unverified_claims: this.claims,
    };
    const chainPassed = this.chain_check === 'pass' && this.chain !== null;
    const c = chainPassed ? this.chain!.report : null;
    const first = this.first;
    return {
      verdict: valid ? 'valid' : 'invalid',
      reason: valid ? null : (first?.reason ?? 'packet_not_trusted'),
      message: valid ? this.validMessage() : (first?.message ?? 'the Audit Packet is not valid'),
      where: valid ? null : (first?.where ?? { file: this.path }),
      kind: 'audit_packet',
      receipt_count: c ? c.receipt_count : null,
      final_seq: c ? c.final_seq : null,
      root_hash: c ? c.root_hash : null,
      signer_keys: c ? c.signer_keys : [],
      trusted,
      // Render-only: the chain's key was not pinned by the user (trust on first use, or the packet's own key as a claim).
      unpinned: c ? this.anchor?.source !== 'pubkey' && this.anchor?.source !== 'packet-sha256' : false,
      ...(c ? { start_time: c.start_time ?? null, end_time: c.end_time ?? null, verdict_totals: c.verdict_totals ?? null } : {}),
      ...(this.chain?.report.notes ? { notes: this.chain.report.notes } : {}),
      audit_packet: ap,
    };
  }

  private validMessage(): string {
    const c = this.chain!;
    const counting = this.counting === 'without session-control receipts' ? ', counted without session-control receipts' : '';
    return `Audit Packet verified: schema pass, chain pass (${c.receiptCount} receipt${c.receiptCount === 1 ? '' : 's'}, final chain_seq ${c.finalSeq}), cross-check pass${counting}; packet verdict ${this.verdict}`;
  }
}

// ---------------------------------------------------------------------------
// Small helpers

function fail(reason: ReportReason, message: string, where: Where, ...errors: string[]): { ok: false; finding: Finding } {
  return { ok: false, finding: { reason, message, where, errors } };
}

/** A source finding as a step finding, with the error prefix of its step. */
function sourceFinding(f: { reason: ReportReason; message: string; where: Where }, step: 'packet' | 'chain'): Finding {
  const prefix = step === 'chain' ? 'chain: ' : f.reason === 'malformed_json' ? 'packet json: ' : 'bundle: ';
  return { reason: f.reason, message: f.message, where: f.where, errors: [prefix + f.message] };
}

/** The bytes could not be obtained: verdict error, exit 2, `audit_packet` null (§3.5). */
function couldNotRead(o: { io: string; where: Where }): Report {
  return { ...errorReport('audit_packet', o.io, o.where), audit_packet: null };
}

function pathOf(input: PacketInput): string {
  return input.kind === 'dir' ? input.dir : input.path;
}


/** 1-based line of the value a JSON Pointer names (or of its deepest existing ancestor). */
export function lineOfPointer(root: JVal, text: string, pointer: string): number {
  let node: JVal = root;
  let offset = root instanceof JObj || root instanceof JArr ? root.start : 0;
  if (pointer !== '') {
    for (const raw of pointer.slice(1).split('/')) {
      const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (node instanceof JObj) {
        const i = node.keys.indexOf(token);
        if (i < 0) break;
        offset = node.starts[i]!;
        node = node.vals[i]!;
      } else if (node instanceof JArr) {
        const i = /^\d+$/.test(token) ? Number(token) : -1;
        if (i < 0 || i >= node.items.length) break;
        offset = node.starts[i]!;
        node = node.items[i]!;
      } else break;
    }
  }
  return lineCol(text, offset).line;
}

function describeWhere(w: Where): string {
  const parts: string[] = [];
  if (w.file) parts.push(w.line ? `${w.file} line ${w.line}` : w.file);
  else if (w.line) parts.push(`line ${w.line}`);
  if (w.chain_seq !== undefined) parts.push(`(chain_seq ${w.chain_seq})`);
  if (w.pointer) parts.push(`at ${w.pointer}`);
  return parts.join(' ');
}

function shortKey(hex: string): string {
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
