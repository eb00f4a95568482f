/**
 * The nested `audit_packet` object of a report of kind `audit_packet`
 * (spec/audit-packet-v0.md §3.6; receipts-v1 §9.9). Plain data: the verifier
 * fills it, the renderer reads it.
 */
import type { VerdictTotals } from '../report/buckets.js';

export type CheckStatus = 'pass' | 'fail' | 'skipped';

export type LifecycleStatus = 'LIMITED' | 'UNVERIFIED' | 'BROKEN';

export type LifecycleReason =
  | 'bounded_closed'
  | 'abnormal_end'
  | 'heartbeat_gap'
  | 'open_action'
  | 'no_receipts'
  | 'no_lifecycle'
  | 'no_open'
  | 'recorder_disabled'
  | 'chain_broken';

/** Which counting rule of §4 the packet's receipt_count and totals matched. */
export type CountingInterpretation = 'all receipts' | 'without session-control receipts';

/** A packet member the evidence cannot confirm: shown as the producer's claim, never as a fact. */
export interface UnverifiedClaim {
  /** Dotted path into packet.json, e.g. `run.repository`. */
  field: string;
  value: unknown;
}

export interface AuditPacketReport {
  /** The packet file as resolved: `<dir>/packet.json`, the given file, or `<zip>!/<entry>`. */
  path: string;
  /** The packet's own trust verdict after steps 4, 6 and 14 (§3.5): the claim, `invalid`, `schema_checked_trust_unverified` or `""`. */
  verdict: string;
  trusted: boolean;
  valid: boolean;
  /** Copied from the packet (zeros before it parsed). */
  summary: { receipt_count: number; totals: VerdictTotals };
  posture: { enforcement_mode: string; unsupported_paths: string[] };
  run: { provider: string; agent_identity: string; repository?: string; sha?: string };
  errors?: string[];
  warnings?: string[];
  schema_check: CheckStatus;
  chain_check: CheckStatus;
  cross_check: CheckStatus;
  lifecycle_status?: LifecycleStatus;
  lifecycle_reason?: LifecycleReason;
  lifecycle_assessment: 'assessed' | 'not_assessed';
  lifecycle_assessment_reason?: string;
  /** egress-verify extra: the counting rule that matched (null when none did; absent when the cross-check did not run). */
  counting?: CountingInterpretation | null;
  /** egress-verify extra: the chain's count and totals the packet was compared with (the matching rule's, else all receipts). */
  chain_counts?: { receipt_count: number; totals: VerdictTotals } | null;
  /** egress-verify extra: packet members the evidence cannot confirm. */
  unverified_claims: UnverifiedClaim[];
}

export function isAuditPacketReport(v: unknown): v is AuditPacketReport {
  return typeof v === 'object' && v !== null && 'schema_check' in v && 'chain_check' in v && 'cross_check' in v;
}
