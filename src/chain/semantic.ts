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
/** Blocks remembered in all (a safety net for timestamps that run backwards). */
const MAX_CANDIDATES = 65_536;

interface Candidate {
  key: string;
  time: GoTime;
  actionId: string;
  where: Where;
}

/**
 * Memory stays flat however long the chain: a block can only pair with an
 * allow at most `verdictWindow` later, so once the newest timestamp seen is
 * more than the window past a block, that block is forgotten (oldest first).
 * Exact for chains whose timestamps do not run backwards by more than the
 * window; beyond that the total cap bounds memory.
 */
export class VerdictContradictions {
  private readonly blocks = new Map<string, Candidate[]>();
  /** Remembered blocks in arrival order, for forgetting the oldest. */
  private readonly order: Candidate[] = [];
  private orderHead = 0;
  private newest: GoTime | null = null;
  private readonly windowNanos: bigint;
  first: Failure | null = null;

  constructor(windowSeconds: number) {
    this.windowNanos = BigInt(Math.round(windowSeconds * 1e9));
  }

  /** Blocks remembered now (for tests). */
  get remembered(): number {
    return this.order.length - this.orderHead;
  }

  observe(r: Receipt, where: Where): void {
    if (this.first) return;
    if (!this.newest || diffNanos(r.time, this.newest) > 0n) {
      this.newest = r.time;
      this.forgetOlderThanWindow();
    }
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
    const c: Candidate = { key: list ? list[0]!.key : detach(key), time: r.time, actionId: detach(r.actionId), where };
    if (!list) this.blocks.set(c.key, (list = []));
    if (list.length >= MAX_CANDIDATES_PER_REQUEST) list.shift(); // still queued in `order`; forget() then finds nothing
    list.push(c);
    this.order.push(c);
    if (this.remembered > MAX_CANDIDATES) this.forget(this.order[this.orderHead]!);
  }

  private forgetOlderThanWindow(): void {
    const newest = this.newest!;
    while (this.orderHead < this.order.length) {
      const c = this.order[this.orderHead]!;
      if (diffNanos(newest, c.time) <= this.windowNanos) break;
      this.forget(c);
    }
  }

  /** Removes the oldest remembered block (the head of `order`) from its request's list. */
  private forget(c: Candidate): void {
    this.orderHead++;
    const list = this.blocks.get(c.key);
    const i = list ? list.indexOf(c) : -1;
    if (list && i >= 0) {
      list.splice(i, 1);
      if (list.length === 0) this.blocks.delete(c.key);
    }
    // Compact the queue now and then so the forgotten head does not pile up.
    if (this.orderHead > 4096 && this.orderHead * 2 > this.order.length) {
      this.order.splice(0, this.orderHead);
      this.orderHead = 0;
    }
  }
}

function isResolution(r: Receipt): boolean {
  return r.layer === 'hitl' || r.deferId !== '' || r.resolutionPolicy !== '' || r.resolutionSource !== '';
}

function nanosText(n: bigint): string {
  return `${Number(n) / 1e9} s`;
}
