/**
 * The closed vocabularies of a verification: reject reasons, verdicts,
 * input kinds and exit codes. Everything that reports a failure uses these
 * unions; nothing else invents a reason string.
 */

/** The 18 corpus reasons (receipts-v1 §9.2) in the spec's table order. */
export const CORPUS_REASONS = [
  'malformed_json',
  'duplicate_key',
  'padding_attack',
  'receipt_count_mismatch',
  'unsupported_version',
  'unknown_field',
  'missing_required_field',
  'invalid_action_type',
  'header_injection',
  'signature_invalid',
  'body_tampered',
  'run_nonce_tampered',
  'signer_key_untrusted',
  'signer_key_mismatch',
  'expired',
  'replay_detected',
  'chain_break',
  'verdict_chain_mismatch',
] as const;

/** Project extensions (§9.2), never produced under the conformance profile. */
export const EXTENSION_REASONS = ['timestamp_in_future', 'invalid_verdict', 'no_trust_anchor'] as const;

export type CorpusReason = (typeof CORPUS_REASONS)[number];
export type ExtensionReason = (typeof EXTENSION_REASONS)[number];
export type RejectReason = CorpusReason | ExtensionReason;

export const REJECT_REASONS: readonly RejectReason[] = [...CORPUS_REASONS, ...EXTENSION_REASONS];

/**
 * Audit Packet reasons (audit-packet-v0 §3.6): a separate closed list, used
 * only by reports of kind `audit_packet`, next to the chain reasons above.
 */
export const PACKET_REASONS = ['packet_sha256_mismatch', 'bundle_invalid', 'schema_invalid', 'packet_not_trusted', 'cross_check_failed'] as const;

export type PacketReason = (typeof PACKET_REASONS)[number];

/** Any reason a report can carry: a reject reason, or for an Audit Packet also a packet reason. */
export type ReportReason = RejectReason | PacketReason;

export function isPacketReason(s: unknown): s is PacketReason {
  return typeof s === 'string' && (PACKET_REASONS as readonly string[]).includes(s);
}

export function isRejectReason(s: unknown): s is RejectReason {
  return typeof s === 'string' && (REJECT_REASONS as readonly string[]).includes(s);
}

/** valid → exit 0, invalid → exit 1, error (bytes could not be obtained) → exit 2. */
export type Verdict = 'valid' | 'invalid' | 'error';

export type InputKind = 'receipt' | 'chain' | 'recorder' | 'audit_packet';

export const EXIT = {
  valid: 0,
  invalid: 1,
  error: 2,
  usage: 64,
} as const;

export function exitCodeFor(verdict: Verdict): number {
  return EXIT[verdict];
}

/** Where a finding was made; every member optional, filled with what is known. */
export interface Where {
  file?: string;
  line?: number;
  index?: number;
  chain_seq?: bigint;
  pointer?: string;
}

/** One coded failure: the reason, a sentence for a person, and the place. */
export interface Failure {
  reason: RejectReason;
  message: string;
  where: Where;
}

export function failure(reason: RejectReason, message: string, where: Where = {}): Failure {
  return { reason, message, where };
}
