/**
 * Verifier policy (receipts-v1 §9.1): the production defaults and the
 * conformance profile, as plain data the verify functions take.
 */
import type { Endorsement } from '../chain/endorsement.js';
import type { StructurePolicy } from '../receipt/validate.js';
import { DEFAULT_STRUCTURE_POLICY } from '../receipt/receipt.js';
import { SignatureRegistry } from '../receipt/signature.js';
import { fromDate, parseGoTime, type GoTime } from '../receipt/time.js';

export interface VerifyOptions {
  /** Trusted keys, lowercase hex; empty = nothing is `valid` unless allowUnpinned. */
  pinnedKeys: string[];
  allowUnpinned: boolean;
  endorsements: Endorsement[];
  /** --session-id; null = the first recorder entry's session_id, else "proxy". */
  recorderSessionId: string | null;
  now: GoTime;
  maxAgeSeconds: number | null;
  maxFutureSkewSeconds: number | null;
  verdictWindowSeconds: number;
  structure: StructurePolicy;
  /** Tamper-classification memory (§9.7), shared across inputs of one run. */
  registry: SignatureRegistry;
}

export const PRODUCTION_DEFAULTS = {
  maxAgeSeconds: null,
  maxFutureSkewSeconds: 300,
  verdictWindowSeconds: 5,
} as const;

/** The conformance profile of §9.1: frozen clock, one year max age, 900 s skew. */
export const CONFORMANCE_PROFILE = {
  now: '2026-04-15T12:00:00Z',
  maxAgeSeconds: 8760 * 3600,
  maxFutureSkewSeconds: 900,
  verdictWindowSeconds: 5,
} as const;

export function verifyOptions(partial: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    allowUnpinned: false,
    endorsements: [],
    recorderSessionId: null,
    now: fromDate(new Date()),
    maxAgeSeconds: PRODUCTION_DEFAULTS.maxAgeSeconds,
    maxFutureSkewSeconds: PRODUCTION_DEFAULTS.maxFutureSkewSeconds,
    verdictWindowSeconds: PRODUCTION_DEFAULTS.verdictWindowSeconds,
    structure: DEFAULT_STRUCTURE_POLICY,
    registry: new SignatureRegistry(),
    ...partial,
    pinnedKeys: (partial.pinnedKeys ?? []).map((k) => k.toLowerCase()),
  };
}

export function conformanceOptions(partial: Partial<VerifyOptions> = {}): VerifyOptions {
  return verifyOptions({
    now: parseGoTime(CONFORMANCE_PROFILE.now)!,
    maxAgeSeconds: CONFORMANCE_PROFILE.maxAgeSeconds,
    maxFutureSkewSeconds: CONFORMANCE_PROFILE.maxFutureSkewSeconds,
    verdictWindowSeconds: CONFORMANCE_PROFILE.verdictWindowSeconds,
    ...partial,
  });
}
