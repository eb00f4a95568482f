/**
 * The verification report (receipts-v1 §9.9): plain data, produced by the
 * verify functions and rendered by the CLI. Nothing here does I/O.
 */
import type { ChainOutcome, ChainSummary } from '../chain/walker.js';
import type { VerdictTotals } from './buckets.js';
import type { Failure, InputKind, ReportReason, Verdict, Where } from './reasons.js';

export interface VerifiedPrefix {
  receipt_count: number;
  final_seq: bigint;
  root_hash: string;
}

export interface SessionReport {
  session_id: string;
  verdict: Verdict;
  /** A reject reason; packet reasons (audit-packet-v0 §3.6) only in reports of kind `audit_packet`. */
  reason: ReportReason | null;
  message: string;
  where: Where | null;
  receipt_count: number | null;
  final_seq: bigint | null;
  root_hash: string | null;
  signer_keys: string[];
  trusted: boolean;
  verified_prefix?: VerifiedPrefix;
  notes?: string[];
  start_time?: string | null;
  end_time?: string | null;
  verdict_totals?: VerdictTotals | null;
}

export interface Report extends Omit<SessionReport, 'session_id'> {
  kind: InputKind | null;
  /** True when no key was pinned (structural check only). */
  unpinned: boolean;
  sessions?: SessionReport[];
  audit_packet?: unknown;
}

/** Extra facts of a verified chain that the human report shows. */
export interface ChainFacts {
  totals: VerdictTotals | null;
  notes: string[];
}

export function errorReport(kind: InputKind | null, message: string, where: Where | null): Report {
  return {
    verdict: 'error',
    reason: null,
    message,
    where,
    kind,
    receipt_count: null,
    final_seq: null,
    root_hash: null,
    signer_keys: [],
    trusted: false,
    unpinned: false,
  };
}

export function invalidReport(kind: InputKind | null, failure: Failure, unpinned: boolean, extra: Partial<Report> = {}): Report {
  return {
    verdict: 'invalid',
    reason: failure.reason,
    message: failure.message,
    where: failure.where,
    kind,
    receipt_count: null,
    final_seq: null,
    root_hash: null,
    signer_keys: [],
    trusted: false,
    unpinned,
    ...extra,
  };
}

/**
 * The report for a chain whose receipts all verified: `valid`, or
 * `no_trust_anchor` when nothing was pinned and unpinned runs were not
 * allowed (decided last, §9.2).
 */
export function chainReport(kind: InputKind, outcome: ChainOutcome & { summary: ChainSummary }, opts: { pinned: boolean; allowUnpinned: boolean }, facts: ChainFacts): Report {
  const s = outcome.summary;
  const verified = {
    receipt_count: s.receiptCount,
    final_seq: s.finalSeq,
    root_hash: s.rootHash,
    signer_keys: s.signerKeys,
    start_time: s.startTime,
    end_time: s.endTime,
    verdict_totals: facts.totals,
    ...(facts.notes.length ? { notes: facts.notes } : {}),
  };
  const what = s.receiptCount === 1 ? '1 receipt' : `${s.receiptCount} receipts`;
  if (!opts.pinned && !opts.allowUnpinned) {
    return {
      verdict: 'invalid',
      reason: 'no_trust_anchor',
      message: `${what} structurally sound, but no public key was pinned: pass --pubkey KEY (or --allow-unpinned for a structural check only)`,
      where: null,
      kind,
      ...verified,
      trusted: false,
      unpinned: true,
    };
  }
  return {
    verdict: 'valid',
    reason: null,
    message: opts.pinned ? `${what} verified against the pinned key${s.signerKeys.length > 1 ? 's' : ''}` : `${what} structurally sound (UNPINNED: no key was pinned, signatures checked against the embedded key only)`,
    where: null,
    kind,
    ...verified,
    trusted: outcome.trusted,
    unpinned: !opts.pinned,
  };
}

export function prefixOf(s: ChainSummary | null): VerifiedPrefix | undefined {
  return s ? { receipt_count: s.receiptCount, final_seq: s.finalSeq, root_hash: s.rootHash } : undefined;
}
