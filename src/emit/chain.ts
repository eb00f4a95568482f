/**
 * A signed flight-recorder chain writer (receipts-v1 §6, §7): legacy profile
 * (`genesis`, no run) or session profile (g1 genesis session_open, run-bound
 * receipts, session_close), checkpoints and a transcript root on close.
 * It returns lines; writing them anywhere is the caller's business.
 */
import { signEd25519 } from '../crypto/ed25519.js';
import { genesisHash } from '../chain/genesis.js';
import { JObj, parseJsonText } from '../json/strict.js';
import { signActionRecord, toJsonText, type ActionRecordInput, type Signer } from './receipt.js';
import { recorderLine } from './recorder.js';
import { parseGoTime, renderGoTimeUtc } from '../receipt/time.js';

export interface Decision extends ActionRecordInput {
  action_type: string;
  target: string;
  verdict: string;
  transport: string;
}

export interface ChainWriterOptions {
  sessionId?: string;
  profile?: 'session' | 'legacy';
  principal?: string;
  actor?: string;
  policyHash?: string;
  /** Go-rendered UTC timestamp for the next record. */
  clock: () => string;
  /** Fixed nonces make output reproducible (tests, corpora). */
  runNonce?: string;
  openNonce?: string;
  /** Write a checkpoint after this many non-checkpoint entries (0 = never). */
  checkpointInterval?: number;
  actionIdPrefix?: string;
  /** `recorder` (flight-recorder entries, default) or `bare` (one receipt per line, no checkpoints or roots). */
  format?: 'recorder' | 'bare';
}

export class RecorderChainWriter {
  private seq = 0n; // recorder entry seq
  private entryPrev = 'genesis';
  private receiptPrev = '';
  private chainSeq = 0n;
  private sinceCheckpoint = 0;
  private checkpointFirst = 0n;
  private receiptCount = 0;
  private firstTs = '';
  private lastTs = '';
  private nextId = 0;
  private readonly o: Required<Omit<ChainWriterOptions, 'runNonce' | 'openNonce'>> & { runNonce: string; openNonce: string };

  constructor(
    private readonly signer: Signer,
    opts: ChainWriterOptions,
  ) {
    const session = (opts.profile ?? 'session') === 'session';
    this.o = {
      sessionId: opts.sessionId ?? 'proxy',
      profile: opts.profile ?? 'session',
      principal: opts.principal ?? 'egress-verify',
      actor: opts.actor ?? 'agent',
      policyHash: opts.policyHash ?? '',
      clock: opts.clock,
      runNonce: session ? (opts.runNonce ?? randomHex(16)) : '',
      openNonce: session ? (opts.openNonce ?? randomHex(16)) : '',
      checkpointInterval: opts.checkpointInterval ?? 1000,
      actionIdPrefix: opts.actionIdPrefix ?? 'action',
      format: opts.format ?? 'recorder',
    };
  }

  get rootHash(): string {
    return this.receiptPrev;
  }

  get count(): number {
    return this.receiptCount;
  }

  /** The session_open receipt (session profile only). */
  open(): string[] {
    if (this.o.profile !== 'session') return [];
    const openPayload = {
      run_nonce: this.o.runNonce,
      open_nonce: this.o.openNonce,
      recorder_session: this.o.sessionId,
      policy_hash: this.o.policyHash,
      signer_key_epoch: this.signer.publicKeyHex,
      heartbeat_seconds: 30,
      chain_open_seq: 0,
    };
    const parsed = parseJsonText(toJsonText(openPayload));
    const g = genesisHash(parsed.ok ? (parsed.value as JObj) : new JObj());
    return this.receipt(
      {
        action_type: 'unclassified',
        target: 'pipelock://session/open',
        verdict: 'allow',
        transport: 'receipt_session',
        side_effect_class: 'none',
        reversibility: 'unknown',
        session_control: { kind: 'session_open', open: { ...openPayload, genesis_hash: g } },
      },
      g,
    );
  }

  /** One decision receipt (plus a checkpoint when one is due). */
  record(d: Decision): string[] {
    return this.receipt(d);
  }

  /** session_close (session profile), the transcript root and a final checkpoint. */
  close(reason = 'graceful_shutdown'): string[] {
    const out: string[] = [];
    if (this.o.profile === 'session') {
      out.push(
        ...this.receipt({
          action_type: 'unclassified',
          target: 'pipelock://session/close',
          verdict: 'allow',
          transport: 'receipt_session',
          side_effect_class: 'none',
          reversibility: 'unknown',
          session_control: {
            kind: 'session_close',
            close: {
              run_nonce: this.o.runNonce,
              open_nonce: this.o.openNonce,
              final_seq: this.chainSeq,
              root_hash: this.receiptPrev,
              receipt_count: this.chainSeq + 1n,
              close_reason: reason,
              fsync_errors_gated: 0,
              durability_blocks: 0,
            },
          },
        }),
      );
    }
    if (this.o.format === 'bare') return out;
    if (this.receiptCount > 0) {
      const detail = toJsonText({
        session_id: this.o.sessionId,
        final_seq: this.chainSeq - 1n,
        root_hash: this.receiptPrev,
        receipt_count: this.receiptCount,
        start_time: this.firstTs,
        end_time: this.lastTs,
      });
      out.push(this.entry('transcript_root', 'transcript_root', '', `transcript_root: ${this.receiptCount} receipts, root=${this.receiptPrev.slice(0, 16)}`, detail));
    }
    if (this.o.checkpointInterval > 0 && this.sinceCheckpoint > 0) out.push(this.checkpoint());
    return out;
  }

  private receipt(d: ActionRecordInput, prevOverride?: string): string[] {
    const ts = this.o.clock();
    const record: ActionRecordInput = {
      version: 1,
      action_id: `${this.o.actionIdPrefix}-${String(this.nextId++).padStart(6, '0')}`,
      timestamp: ts,
      principal: this.o.principal,
      actor: this.o.actor,
      delegation_chain: null,
      side_effect_class: 'external_read',
      reversibility: 'full',
      policy_hash: this.o.policyHash,
      ...d,
      chain_prev_hash: prevOverride ?? (this.receiptCount === 0 ? 'genesis' : this.receiptPrev),
      chain_seq: this.chainSeq,
      run_nonce: this.o.runNonce || undefined,
    };
    const signed = signActionRecord(record, this.signer);
    const parsed = parseGoTime(String(record.timestamp));
    const stamped = parsed ? renderGoTimeUtc(parsed) : String(record.timestamp);
    if (!this.firstTs) this.firstTs = stamped;
    this.lastTs = stamped;
    this.receiptPrev = signed.hash;
    this.chainSeq++;
    this.receiptCount++;
    if (this.o.format === 'bare') return [signed.json];
    const out = [this.entry('action_receipt', String(d.action_type), String(d.transport), `receipt: ${d.verdict} ${d.action_type} ${d.transport}`, signed.json, ts)];
    if (this.o.checkpointInterval > 0 && this.sinceCheckpoint >= this.o.checkpointInterval) out.push(this.checkpoint());
    return out;
  }

  private entry(type: string, eventKind: string, transport: string, summary: string, detail: string, ts = this.o.clock()): string {
    if (this.sinceCheckpoint === 0) this.checkpointFirst = this.seq;
    const { line, hash } = recorderLine({ seq: this.seq, ts, sessionId: this.o.sessionId, type, eventKind, transport, summary, detail }, this.entryPrev);
    this.entryPrev = hash;
    this.seq++;
    this.sinceCheckpoint++;
    return line;
  }

  private checkpoint(): string {
    const signature = signEd25519(this.signer.privateKey, Buffer.from(this.entryPrev, 'ascii')).toString('hex');
    const n = this.sinceCheckpoint;
    const first = this.checkpointFirst;
    const last = this.seq - 1n;
    const detail = toJsonText({ entry_count: n, first_seq: first, last_seq: last, signature });
    const { line, hash } = recorderLine(
      { seq: this.seq, ts: this.o.clock(), sessionId: this.o.sessionId, type: 'checkpoint', eventKind: 'checkpoint', transport: '', summary: `checkpoint: ${n} entries [seq ${first}-${last}]`, detail },
      this.entryPrev,
    );
    this.entryPrev = hash;
    this.seq++;
    this.sinceCheckpoint = 0;
    return line;
  }
}

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Buffer.from(b).toString('hex');
}
