/**
 * The chain walker: receipts-v1 §9.3 steps 11–15 for a single receipt or a
 * chain, fed one receipt at a time so that memory does not grow with the
 * chain (beyond the replay keys and the bounded tamper registry).
 *
 * Signature math (step 11d) runs on libuv's thread pool while the main
 * thread parses and links the next receipts. Precedence is preserved: the
 * walker stops at the first synchronous failure, and a signature failure is
 * reported instead whenever it belongs to an earlier receipt, or to the same
 * receipt (step 11 precedes steps 12–14).
 */
import { defaultSignatureVerifier, type SignatureVerifier } from '../crypto/signature-verifier.js';
import { verifyEd25519 } from '../crypto/ed25519.js';
import type { Failure, RejectReason, Where } from '../report/reasons.js';
import { stringMember, uint64Member, type Receipt } from '../receipt/receipt.js';
import { isKeyText, signatureBytes, signedFacts, type SignatureRegistry, type SignedFacts } from '../receipt/signature.js';
import { FingerprintSet } from './fingerprints.js';
import { diffNanos, type GoTime } from '../receipt/time.js';
import type { Endorsement } from './endorsement.js';
import { genesisHash } from './genesis.js';
import { SessionTracker } from './session.js';
import { VerdictContradictions } from './semantic.js';

export interface TrustConfig {
  /** Pinned keys, lowercase hex. Empty = trust on first use (never `trusted`). */
  readonly pinnedKeys: readonly string[];
  readonly endorsements: readonly Endorsement[];
  /** Recorder session the endorsements are bound to (§6.7); may be settled after the first recorder entry. */
  recorderSessionId: string;
}

export interface FreshnessPolicy {
  now: GoTime;
  maxAgeSeconds: number | null;
  maxFutureSkewSeconds: number | null;
  verdictWindowSeconds: number;
}

export interface ChainSummary {
  receiptCount: number;
  finalSeq: bigint;
  rootHash: string;
  signerKeys: string[];
  startTime: string;
  endTime: string;
}

export interface ChainOutcome {
  failure: Failure | null;
  /** Summary of every receipt pushed (all verified when failure is null). */
  summary: ChainSummary | null;
  /** Every signer key was pinned or reached through an authorised rotation. */
  trusted: boolean;
}

interface Pending {
  index: number;
  receipt: SignedFacts;
  where: Where;
  /** 0 while the thread pool works on it, then 1 (valid) or 2 (invalid). */
  result: 0 | 1 | 2;
}

const GENESIS = 'genesis';
const G1 = /^g1:[0-9a-f]{64}$/;

export class ChainWalker {
  private index = 0;
  private prev: Receipt | null = null;
  private first: Receipt | null = null;
  private segKey = '';
  private segCount = 0;
  /** Number of key segments accepted so far (1 = the root segment). */
  private segments = 1;
  private everyKeyTrusted = true;
  private readonly signerKeys: string[] = [];
  private readonly pinned: ReadonlySet<string>;
  private readonly usedEndorsements = new Set<number>();
  private readonly replayKeys = new FingerprintSet();
  private readonly sessions = new SessionTracker();
  private readonly contradictions: VerdictContradictions;
  /** Signature checks in flight, oldest first (a bounded window, so shift() is cheap). */
  private readonly pending: Pending[] = [];
  /** Resolves the drain loop's wait when any check completes. */
  private wake: (() => void) | null = null;
  private syncFailure: { index: number; failure: Failure } | null = null;
  private sigFailure: Failure | null = null;

  constructor(
    private readonly mode: 'single' | 'chain',
    private readonly trust: TrustConfig,
    private readonly freshness: FreshnessPolicy,
    private readonly registry: SignatureRegistry,
    /** Where signature math runs (off the main thread); one per walk. */
    private readonly verifier: SignatureVerifier = defaultSignatureVerifier(),
  ) {
    this.pinned = new Set(trust.pinnedKeys.map((k) => k.toLowerCase()));
    this.contradictions = new VerdictContradictions(freshness.verdictWindowSeconds);
  }

  /** True once a failure is known; later receipts are not examined. */
  get stopped(): boolean {
    return this.syncFailure !== null || this.sigFailure !== null;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Signature checks worth keeping in flight (the verifier's batching window). */
  get window(): number {
    return this.verifier.window;
  }

  get receiptCount(): number {
    return this.index;
  }

  /** Signer keys of the receipts accepted so far, in first-seen order (each pinned or reached by an authorised rotation). */
  get acceptedSignerKeys(): readonly string[] {
    return this.signerKeys;
  }

  /** Records a failure of the next receipt found before step 11 (steps 4–10). */
  reject(reason: RejectReason, message: string, where: Where): void {
    if (this.stopped) return;
    this.syncFailure = { index: this.index, failure: { reason, message, where: { ...where, index: this.index } } };
  }

  /** Steps 11–14 for the next receipt (11d is started, not awaited). */
  push(r: Receipt, where: Where): void {
    if (this.stopped) return;
    const at: Where = { ...where, index: this.index, chain_seq: r.chainSeq };
    const stop = (reason: RejectReason, message: string): void => {
      this.syncFailure = { index: this.index, failure: { reason, message, where: at } };
    };

    // 11a. Text forms of signature and key.
    const sig = signatureBytes(r.signature);
    if (!sig) return stop('signature_invalid', 'signature is not "ed25519:" followed by 128 hex digits');
    if (!isKeyText(r.signerKey)) return stop('signature_invalid', 'signer_key is not 64 hex digits');

    // 11b. Signer consistency and key-transition structure (chains only).
    const chain = this.mode === 'chain';
    const boundary = chain && this.index > 0 && r.keyTransition !== null;
    if (boundary) {
      const p = this.transitionProblem(r);
      if (p) return stop('chain_break', p);
    } else if (chain && this.index > 0 && r.signerKey !== this.segKey) {
      return stop('signer_key_mismatch', `signer_key ${short(r.signerKey)} differs from the key of this segment, ${short(this.segKey)}`);
    }

    // 11c. Trust.
    if (this.index === 0 || boundary) {
      const trustProblem = boundary ? this.successorTrust(r) : this.rootTrust(r);
      if (trustProblem) {
        const mathOk = verifyEd25519(r.signerKey, r.digest, sig);
        return mathOk ? stop('signer_key_untrusted', trustProblem) : stop('signature_invalid', `${trustProblem}, and the signature does not verify under it either`);
      }
    }

    // 11d. Signature under the (now trusted) key, off the main thread.
    const pending: Pending = { index: this.index, receipt: signedFacts(r, sig), where: at, result: 0 };
    this.pending.push(pending);
    this.verifier.submit(r.signerKey, r.digest, sig, (ok) => {
      pending.result = ok ? 1 : 2;
      const wake = this.wake;
      this.wake = null;
      wake?.();
    });

    // 12. Freshness.
    const f = this.freshnessProblem(r);
    if (f) return stop(f.reason, f.message);

    if (chain) {
      // 13. Replay within this input.
      if (!this.replayKeys.add(r.actionId + '\u0000' + r.decisionPhase)) {
        return stop('replay_detected', `action_id ${JSON.stringify(r.actionId)}${r.decisionPhase ? ` with decision_phase "${r.decisionPhase}"` : ''} already appeared earlier in this input`);
      }

      // 14. Linkage, genesis, session control.
      const link = this.linkageProblem(r, boundary);
      if (link) return stop(link.reason, link.message);
      this.contradictions.observe(r, at);
    }

    this.accept(r, boundary);
  }

  private accept(r: Receipt, boundary: boolean): void {
    if (this.index === 0) {
      this.first = r;
      this.segKey = r.signerKey;
    }
    if (boundary) {
      this.segKey = r.signerKey;
      this.segCount = 0;
      this.segments++;
    }
    if (!this.signerKeys.includes(r.signerKey)) this.signerKeys.push(r.signerKey);
    this.segCount++;
    this.prev = r;
    this.index++;
  }

  private rootTrust(r: Receipt): string | null {
    if (this.pinned.size === 0) {
      this.everyKeyTrusted = false; // trust on first use: structurally checked, never "trusted"
      return null;
    }
    return this.pinned.has(r.signerKey) ? null : `signer_key ${short(r.signerKey)} is not a pinned key`;
  }

  /** §6.7: a successor key is trusted through exactly one endorsement, or by being pinned. */
  private successorTrust(r: Receipt): string | null {
    const prev = this.prev!;
    const matches: number[] = [];
    this.trust.endorsements.forEach((e, i) => {
      if (
        !this.usedEndorsements.has(i) &&
        e.sessionId === this.trust.recorderSessionId &&
        e.priorSignerKey === this.segKey &&
        e.priorFinalSeq === prev.chainSeq &&
        e.priorTailHash === prev.hash &&
        e.newSignerKey === r.signerKey
      ) {
        matches.push(i);
      }
    });
    if (matches.length === 1) {
      this.usedEndorsements.add(matches[0]!);
      return null;
    }
    if (matches.length > 1) return `rotation to ${short(r.signerKey)} is matched by ${matches.length} endorsements; exactly one is required`;
    if (this.pinned.has(r.signerKey)) return null;
    return `rotation to signer_key ${short(r.signerKey)} is not authorised by a rotation endorsement or a pinned key`;
  }

  /** §6.7 structural checks of a key-transition receipt (step 11b). */
  private transitionProblem(r: Receipt): string | null {
    const kt = r.keyTransition!;
    const prev = this.prev!;
    if (r.chainSeq !== 0n) return `a key_transition receipt must restart chain_seq at 0, found ${r.chainSeq}`;
    if (kt.priorChainHash !== prev.hash) return 'key_transition.prior_chain_hash does not match the hash of the previous receipt';
    if (r.chainPrevHash !== kt.priorChainHash) return 'chain_prev_hash of a key_transition receipt differs from key_transition.prior_chain_hash';
    if (kt.priorSignerKey !== this.segKey) return `key_transition.prior_signer_key ${short(kt.priorSignerKey)} is not the current segment key ${short(this.segKey)}`;
    if (kt.priorChainSeq !== prev.chainSeq) return `key_transition.prior_chain_seq ${kt.priorChainSeq} differs from the previous receipt chain_seq ${prev.chainSeq}`;
    if (r.signerKey === kt.priorSignerKey) return 'key_transition does not change signer key';
    if (this.trust.endorsements.length > 0 && this.segments === 1 && this.sessions.recorderSessions.length === 0) {
      return 'rotation endorsements require the root key segment to contain a session_open';
    }
    return null;
  }

  private freshnessProblem(r: Receipt): { reason: RejectReason; message: string } | null {
    const { now, maxAgeSeconds, maxFutureSkewSeconds } = this.freshness;
    const age = diffNanos(now, r.time);
    if (maxAgeSeconds !== null && age > BigInt(Math.round(maxAgeSeconds * 1e9))) {
      return { reason: 'expired', message: `timestamp ${r.timestamp} is older than the maximum age of ${maxAgeSeconds} s` };
    }
    if (maxFutureSkewSeconds !== null && -age > BigInt(Math.round(maxFutureSkewSeconds * 1e9))) {
      return { reason: 'timestamp_in_future', message: `timestamp ${r.timestamp} is more than ${maxFutureSkewSeconds} s in the future` };
    }
    return null;
  }

  /** Step 14: §6.3 linkage, §6.4 genesis, §6.5 session control. */
  private linkageProblem(r: Receipt, boundary: boolean): { reason: RejectReason; message: string } | null {
    const broken = (message: string) => ({ reason: 'chain_break' as const, message });
    const prev = this.prev;
    if (this.index === 0) {
      if (r.keyTransition) return broken('the first receipt of a chain must not carry key_transition');
      if (r.chainSeq !== 0n) return broken(`the first receipt must have chain_seq 0, found ${r.chainSeq}`);
      const g = this.genesisProblem(r);
      if (g) return broken(g);
    } else if (!boundary) {
      if (r.chainPrevHash.startsWith('g1:')) return broken('a g1: genesis marker is only allowed on the first receipt');
      if (r.chainSeq === 0n) return broken('chain_seq 0 after the first receipt without key_transition: a second chain start');
      const expected = BigInt(this.segCount);
      if (r.chainSeq !== expected) return broken(`chain_seq ${r.chainSeq} where ${expected} was expected`);
      if (r.chainPrevHash !== prev!.hash) {
        return broken(`chain_prev_hash does not match the hash of the previous receipt (chain_seq ${prev!.chainSeq}): expected ${prev!.hash}, found ${r.chainPrevHash}`);
      }
    }
    if (this.trust.endorsements.length > 0 && r.sessionControl?.kind === 'session_open') {
      const rs = r.sessionControl.open.get('recorder_session');
      if (rs !== this.trust.recorderSessionId) {
        return broken(`session_open recorder_session ${JSON.stringify(rs)} is not the configured recorder session ${JSON.stringify(this.trust.recorderSessionId)}`);
      }
    }
    const segCount = boundary ? 0 : this.segCount;
    return this.sessions.check(r, this.index, prev ? { hash: prev.hash, chainSeq: prev.chainSeq } : null, segCount);
  }

  /** §6.4: `genesis` or a bound `g1:` value on the first receipt. */
  private genesisProblem(r: Receipt): string | null {
    const open = r.sessionControl?.kind === 'session_open' ? r.sessionControl.open : null;
    if (r.chainPrevHash === GENESIS) {
      if (open) return 'a session_open must not start from the legacy "genesis" marker';
      if (r.runNonce !== '') return 'a run-bound first receipt must be a session_open with a g1: genesis';
      return null;
    }
    if (!G1.test(r.chainPrevHash)) return `the first receipt's chain_prev_hash must be "genesis" or "g1:<64 hex>", found ${JSON.stringify(r.chainPrevHash)}`;
    if (!open) return 'a g1: genesis requires the first receipt to be a session_open';
    const g = genesisHash(open);
    if (r.chainPrevHash !== g) return `chain_prev_hash ${r.chainPrevHash} differs from the genesis computed from session_open (${g})`;
    if (open.get('genesis_hash') !== g) return 'session_open.genesis_hash differs from the computed genesis';
    if (uint64Member(open, 'chain_open_seq') !== 0n) return 'session_open.chain_open_seq must be 0 on the first receipt';
    if (stringMember(open, 'prior_chain_head') !== '') return 'the first session_open must not name a prior_chain_head';
    if (uint64Member(open, 'prior_chain_seq') !== 0n) return 'the first session_open must not name a prior_chain_seq';
    return null;
  }

  /** Settles the oldest signature checks until at most `limit` remain in flight. */
  async drainTo(limit: number): Promise<void> {
    while (this.pending.length > limit && !this.sigFailure) {
      if (this.pending[0]!.result === 0) {
        this.verifier.flush();
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      this.settle(this.pending.shift()!);
    }
  }

  private settle(p: Pending): void {
    if (p.result === 1) {
      this.registry.register(p.receipt);
      return;
    }
    if (this.sigFailure) return;
    const reason = this.registry.classify(p.receipt);
    const message =
      reason === 'signature_invalid'
        ? 'Ed25519 signature does not verify over the canonical action_record under signer_key'
        : reason === 'run_nonce_tampered'
          ? 'this signature was valid for a record that differs only in run_nonce: run_nonce was altered after signing'
          : 'this signature was valid for a different action_record: the body was altered after signing';
    this.sigFailure = { reason, message, where: p.where };
    this.pending.length = 0;
  }

  /** Point-in-time summary of the receipts accepted so far. */
  snapshot(): ChainSummary | null {
    if (!this.prev || !this.first) return null;
    return {
      receiptCount: this.index,
      finalSeq: this.prev.chainSeq,
      rootHash: this.prev.hash,
      signerKeys: [...this.signerKeys],
      startTime: this.first.timestamp,
      endTime: this.prev.timestamp,
    };
  }

  /** Settles every signature and applies the end-of-chain rules (§6.7, §9.6). */
  async finish(): Promise<ChainOutcome> {
    await this.drainTo(0);
    let failure = this.sigFailure ?? this.syncFailure?.failure ?? null;
    if (!failure && this.mode === 'chain' && this.index > 0) {
      const unused = this.trust.endorsements.findIndex((_, i) => !this.usedEndorsements.has(i));
      if (unused >= 0) {
        const e = this.trust.endorsements[unused]!;
        failure = {
          reason: 'chain_break',
          message: `rotation endorsement for ${short(e.priorSignerKey)} → ${short(e.newSignerKey)} after seq ${e.priorFinalSeq} was not used: the rotation it authorises is missing (truncated chain?)`,
          where: {},
        };
      }
    }
    if (!failure && this.mode === 'chain') failure = this.contradictions.first;
    const trusted = failure === null && this.pinned.size > 0 && this.everyKeyTrusted && this.index > 0;
    return { failure, summary: this.snapshot(), trusted };
  }
}

function short(key: string): string {
  return key.length > 16 ? `${key.slice(0, 8)}…${key.slice(-4)}` : key;
}
