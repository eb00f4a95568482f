/**
 * Session control within a chain (receipts-v1 §6.5): run_nonce binding,
 * session_open / heartbeat / session_close payloads.
 */
import type { JObj } from '../json/strict.js';
import type { RejectReason } from '../report/reasons.js';
import { stringMember, uint64Member, type Receipt } from '../receipt/receipt.js';

export interface SessionProblem {
  reason: RejectReason;
  message: string;
}

/** The receipt before the one being checked, as far as session rules need it. */
export interface PriorLink {
  hash: string;
  chainSeq: bigint;
}

const s = stringMember;
const u = uint64Member;

const broken = (message: string): SessionProblem => ({ reason: 'chain_break', message });

export class SessionTracker {
  /** run_nonce → open_nonce of every run opened so far. */
  private readonly opened = new Map<string, string>();
  private readonly closed = new Set<string>();
  private activeRun = '';
  private activeOpen = '';
  /** Every recorder_session named by a session_open, for endorsement binding. */
  readonly recorderSessions: string[] = [];

  /**
   * Checks receipt `r` at chain index `index` (> 0 has `prior`); `segCount`
   * is the number of receipts already accepted in the current key segment.
   * The g1 genesis rules for index 0 are checked by the caller.
   */
  check(r: Receipt, index: number, prior: PriorLink | null, segCount: number): SessionProblem | null {
    const run = r.runNonce;
    const sc = r.sessionControl;
    if (run === '') return sc ? broken('session_control receipt missing run_nonce') : null;

    if (sc?.kind === 'session_open') {
      const open = sc.open;
      if (s(open, 'run_nonce') !== run) return broken('session_open payload run_nonce differs from the receipt run_nonce');
      if (s(open, 'open_nonce') === '') return broken('session_open payload has an empty open_nonce');
      if (this.opened.has(run)) return broken(`duplicate session_open for run_nonce ${run}`);
      if (index > 0 && prior) {
        if (r.chainPrevHash.startsWith('g1:')) return broken('a restart session_open must not use a g1: genesis marker');
        if (s(open, 'genesis_hash') !== '') return broken('a restart session_open must not carry genesis_hash');
        if (u(open, 'chain_open_seq') !== r.chainSeq) return broken(`session_open chain_open_seq ${u(open, 'chain_open_seq')} differs from the receipt chain_seq ${r.chainSeq}`);
        if (s(open, 'prior_chain_head') !== prior.hash) return broken('session_open prior_chain_head does not match the hash of the previous receipt');
        if (u(open, 'prior_chain_seq') !== prior.chainSeq) return broken(`session_open prior_chain_seq ${u(open, 'prior_chain_seq')} differs from the previous receipt chain_seq ${prior.chainSeq}`);
      }
      this.opened.set(run, s(open, 'open_nonce'));
      this.recorderSessions.push(s(open, 'recorder_session'));
      this.activeRun = run;
      this.activeOpen = s(open, 'open_nonce');
      return null;
    }

    if (!this.opened.has(run)) return broken(`run_nonce ${run}: first receipt is not a matching session_open`);
    if (this.closed.has(run)) return broken(`record observed after session_close of run_nonce ${run}`);

    if (sc?.kind === 'heartbeat') {
      const hb = sc.heartbeat;
      const p = this.activePayload(hb, run, 'heartbeat');
      if (p) return p;
      if (!prior || s(hb, 'chain_head') !== r.chainPrevHash || s(hb, 'chain_head') !== prior.hash) return broken('heartbeat chain_head does not match the hash of the previous receipt');
      if (u(hb, 'chain_seq_head') !== r.chainSeq - 1n) return broken(`heartbeat chain_seq_head ${u(hb, 'chain_seq_head')} is not chain_seq − 1 (${r.chainSeq - 1n})`);
      return null;
    }

    if (sc?.kind === 'session_close') {
      const close = sc.close;
      const p = this.activePayload(close, run, 'session_close');
      if (p) return p;
      if (!prior || s(close, 'root_hash') !== prior.hash) return broken('session_close root_hash does not match the hash of the previous receipt');
      if (u(close, 'final_seq') !== r.chainSeq) return broken(`session_close final_seq ${u(close, 'final_seq')} differs from its own chain_seq ${r.chainSeq}`);
      const expected = BigInt(segCount + 1);
      if (u(close, 'receipt_count') !== expected) {
        return {
          reason: 'receipt_count_mismatch',
          message: `session_close declares receipt_count ${u(close, 'receipt_count')} but the key segment holds ${expected} receipts including the close`,
        };
      }
      this.closed.add(run);
      this.activeRun = '';
      this.activeOpen = '';
    }
    return null;
  }

  private activePayload(payload: JObj, run: string, what: string): SessionProblem | null {
    if (s(payload, 'run_nonce') !== run) return broken(`${what} payload run_nonce differs from the receipt run_nonce`);
    if (this.activeRun === '') return broken(`${what} without an active run`);
    if (s(payload, 'run_nonce') !== this.activeRun) return broken(`${what} run_nonce is not the active run`);
    if (s(payload, 'open_nonce') !== this.opened.get(run) || s(payload, 'open_nonce') !== this.activeOpen) return broken(`${what} open_nonce does not match the run's session_open`);
    return null;
  }
}
