/**
 * verdict_chain_mismatch (receipts-v1 §9.6): the same request blocked and
 * then allowed under the same policy within seconds, which no policy change
 * can explain. Blocks that depend on more than the request (rate limits,
 * unwritable receipt store, response-side verdicts, outcome receipts) are
 * never the blocked half, and human resolutions are never the allowed half.
 */
import type { Failure, Where } from '../report/reasons.js';
import type { Receipt } from '../receipt/receipt.js';
import { diffNanos, type GoTime } from '../receipt/time.js';
import { detach } from '../receipt/signature.js';

/**
 * Blocks that depend on more than (target, method, policy): rate limits, an
 * unwritable receipt store and response-side verdicts (receipts-v1 §9.6), and
 * also request headers and bodies (`dlp_header`, `body_dlp`), which the
 * comparison key does not contain: a POST blocked for a secret in its body
 * and a clean POST to the same URL a second later is honest proxy output.
 * (The last two are a project addition to the spec's list.)
 */
const STATEFUL_BLOCK_LAYERS = new Set(['ratelimit', 'receipt_unavailable', 'response_scan', 'response_size', 'response_dlp', 'outcome', 'dlp_header', 'body_dlp']);

/** Blocks remembered per request shape; a cap keeps memory flat on hostile input. */
const MAX_CANDIDATES_PER_REQUEST = 256;

interface Candidate {
  time: GoTime;
  actionId: string;
  where: Where;
}

export class VerdictContradictions {
  private readonly blocks = new Map<string, Candidate[]>();
  private readonly windowNanos: bigint;
  first: Failure | null = null;

  constructor(windowSeconds: number) {
    this.windowNanos = BigInt(Math.round(windowSeconds * 1e9));
  }

  observe(r: Receipt, where: Where): void {
    if (this.first) return;
    if (r.verdict !== 'block' && r.verdict !== 'allow') return;
    const key = `${r.target}\u0000${r.policyHash}\u0000${r.actionType}\u0000${r.method}`;
    if (r.verdict === 'allow') {
      if (isResolution(r)) return;
      const a = this.blocks.get(key)?.find((c) => {
        if (c.actionId === r.actionId) return false;
        const d = diffNanos(r.time, c.time);
        return d >= 0n && d <= this.windowNanos;
      });
      if (a) {
        this.first = {
          reason: 'verdict_chain_mismatch',
          message: `receipt ${where.index} allows the same request (${r.method || '-'} ${r.target}, same policy_hash) that receipt ${a.where.index} blocked ${nanosText(diffNanos(r.time, a.time))} earlier`,
          where,
        };
      }
      return;
    }
    if (r.decisionPhase === 'outcome' || STATEFUL_BLOCK_LAYERS.has(r.layer)) return;
    let list = this.blocks.get(key);
    if (!list) this.blocks.set(detach(key), (list = []));
    if (list.length >= MAX_CANDIDATES_PER_REQUEST) list.shift();
    list.push({ time: r.time, actionId: detach(r.actionId), where });
  }
}

function isResolution(r: Receipt): boolean {
  return r.layer === 'hitl' || r.deferId !== '' || r.resolutionPolicy !== '' || r.resolutionSource !== '';
}

function nanosText(n: bigint): string {
  return `${Number(n) / 1e9} s`;
}
