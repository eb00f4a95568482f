/**
 * Verdict buckets (audit-packet-v0 §4): the eight totals a packet claims and
 * the verifier recomputes from the chain.
 */
import type { Receipt } from '../receipt/receipt.js';

export const VERDICT_BUCKETS = ['allow', 'block', 'warn', 'ask', 'strip', 'forward', 'redirect', 'other'] as const;
export type VerdictBucket = (typeof VERDICT_BUCKETS)[number];

export type VerdictTotals = Record<VerdictBucket, number>;

export function emptyTotals(): VerdictTotals {
  return { allow: 0, block: 0, warn: 0, ask: 0, strip: 0, forward: 0, redirect: 0, other: 0 };
}

/** Trimmed, lowercased verdict if it names a bucket, else `other`. */
export function bucketOf(verdict: string): VerdictBucket {
  const v = verdict.trim().toLowerCase();
  return (VERDICT_BUCKETS as readonly string[]).includes(v) ? (v as VerdictBucket) : 'other';
}

/**
 * Both counting interpretations of audit-packet-v0 §4: A counts every
 * receipt, B leaves out session-control receipts.
 */
export class VerdictTally {
  readonly all = emptyTotals();
  readonly withoutSessionControl = emptyTotals();
  countAll = 0;
  countWithoutSessionControl = 0;

  add(r: Receipt): void {
    const b = bucketOf(r.verdict);
    this.all[b]++;
    this.countAll++;
    if (!r.sessionControl) {
      this.withoutSessionControl[b]++;
      this.countWithoutSessionControl++;
    }
  }
}
