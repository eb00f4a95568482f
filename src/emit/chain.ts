/**
 * A signed flight-recorder chain writer (receipts-v1 §6, §7): legacy profile
 * (`genesis`, no run) or session profile (g1 genesis session_open, run-bound
 * receipts, heartbeats, session_close), checkpoints and a transcript root on
 * close. It can also continue a chain that already exists (a restart open,
 * receipts-v1 §6.5). It returns lines; writing them anywhere is the caller's
 * business. This is the one implementation of receipt/entry bytes, genesis,
 * checkpoints and transcript roots: `emit chain`, the demo, the conformance
 * generator and the proxy's flight recorder all write through it.
 */
import { signEd25519 } from '../crypto/ed25519.js';
import { genesisHash } from '../chain/genesis.js';
import { JObj, parseJsonText } from '../json/strict.js';
import { signActionRecord, toJsonText, type ActionRecordInput, type Signer } from './receipt.js';
import { recorderLine } from './recorder.js';
import { parseGoTime, renderGoTimeUtc } from '../receipt/time.js';

/** The members every session-control receipt shares (receipts-v1 §6.5); `session_control` is added by the caller. */
function sessionControlRecord(what: 'open' | 'heartbeat' | 'close') {
  return {
    action_type: 'unclassified',
    target: `pipelock://session/${what}`,
    verdict: 'allow',
    transport: 'receipt_session',
    side_effect_class: 'none',
    reversibility: 'unknown',
  } as const;
}

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
  /** Action ids of the receipts the writer makes itself (session control) and of records without one; default `<prefix>-NNNNNN`. */
  newActionId?: () => string;
  /** `recorder` (flight-recorder entries, default) or `bare` (one receipt per line, no checkpoints or roots). */
  format?: 'recorder' | 'bare';
  /** session_open `heartbeat_seconds` (bound into the g1 genesis); default 30. */
  heartbeatSeconds?: number;
  /** Outer entry version: 2 (default) or 1 (for readers older than Pipelock v3; legacy profile). */
  entryVersion?: 1 | 2;
  /** Continue an existing chain instead of starting one (see ChainResumeState). */
  resume?: ChainResumeState;
}

/**
 * Where an existing, verified chain ended: the writer continues its outer
 * entry chain and its receipt chain. In the session profile open() then
 * writes a restart session_open (prior_chain_head / prior_chain_seq, no g1
 * genesis); in the legacy profile the next receipt links to the last one.
 */
export interface ChainResumeState {
  /** Outer seq of the next entry (last entry's seq + 1). */
  nextEntrySeq: bigint;
  /** Hash of the last entry. */
  lastEntryHash: string;
  /** Receipt hash of the last receipt. */
  lastReceiptHash: string;
  /** chain_seq of the last receipt. */
  lastChainSeq: bigint;
  /** Receipts in the chain so far (transcript roots count the whole chain). */
  receiptCount: number;
  /** First and last receipt timestamps, UTC-rendered. */
  firstTimestamp: string;
  lastTimestamp: string;
  /** Entries since the last checkpoint, and the seq of the first of them. */
  entriesSinceCheckpoint: number;
  checkpointFirstSeq: bigint;
}

/** Durability counters carried by heartbeats and session_close (0 when unused). */
export interface DurabilityCounters {
  fsyncErrorsGated?: number;
  durabilityBlocks?: number;
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
  private beat = 0;
  private readonly resumed: boolean;
  private readonly o: Required<Omit<ChainWriterOptions, 'runNonce' | 'openNonce' | 'resume' | 'newActionId'>> & { runNonce: string; openNonce: string };
  private readonly newActionId: (() => string) | undefined;

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
      heartbeatSeconds: opts.heartbeatSeconds ?? 30,
      entryVersion: opts.entryVersion ?? 2,
    };
    this.newActionId = opts.newActionId;
    const r = opts.resume;
    this.resumed = r !== undefined && r.receiptCount > 0;
    if (r) {
      this.seq = r.nextEntrySeq;
      this.entryPrev = r.lastEntryHash;
      this.sinceCheckpoint = r.entriesSinceCheckpoint;
      this.checkpointFirst = r.checkpointFirstSeq;
      if (r.receiptCount > 0) {
        this.receiptPrev = r.lastReceiptHash;
        this.chainSeq = r.lastChainSeq + 1n;
        this.receiptCount = r.receiptCount;
        this.firstTs = r.firstTimestamp;
        this.lastTs = r.lastTimestamp;
      }
    }
  }

  /** Outer seq the next entry will carry. */
  get nextEntrySeq(): bigint {
    return this.seq;
  }

  /** chain_seq the next receipt will carry. */
  get nextChainSeq(): bigint {
    return this.chainSeq;
  }

  /** The run nonce (session profile; '' in legacy). */
  get runNonce(): string {
    return this.o.runNonce;
  }

  /** UTC timestamp of the last receipt written ('' before the first). */
  get lastTimestamp(): string {
    return this.lastTs;
  }

  get rootHash(): string {
    return this.receiptPrev;
  }

  get count(): number {
    return this.receiptCount;
  }

  /**
   * The session_open receipt (session profile only): the g1-bound first
   * receipt of a chain, or, when continuing a chain, a restart open naming
   * the previous receipt (receipts-v1 §6.5).
   */
  open(): string[] {
    if (this.o.profile !== 'session') return [];
    const base = {
      run_nonce: this.o.runNonce,
      open_nonce: this.o.openNonce,
      recorder_session: this.o.sessionId,
      policy_hash: this.o.policyHash,
      signer_key_epoch: this.signer.publicKeyHex,
      heartbeat_seconds: this.o.heartbeatSeconds,
    };
    if (this.resumed) {
      return this.receipt({
        ...sessionControlRecord('open'),
        session_control: {
          kind: 'session_open',
          open: { ...base, chain_open_seq: this.chainSeq, prior_chain_head: this.receiptPrev, prior_chain_seq: this.chainSeq - 1n },
        },
      });
    }
    const openPayload = { ...base, chain_open_seq: 0 };
    const parsed = parseJsonText(toJsonText(openPayload));
    const g = genesisHash(parsed.ok ? (parsed.value as JObj) : new JObj());
    return this.receipt(
      {
        ...sessionControlRecord('open'),
        session_control: { kind: 'session_open', open: { ...openPayload, genesis_hash: g } },
      },
      g,
    );
  }

  /** One decision receipt (plus a checkpoint when one is due). */
  record(d: Decision): string[] {
    return this.receipt(d);
  }

  /** A heartbeat receipt (session profile; nothing in legacy). */
  heartbeat(counters: DurabilityCounters = {}): string[] {
    if (this.o.profile !== 'session') return [];
    const ts = this.o.clock();
    return this.receipt(
      {
        ...sessionControlRecord('heartbeat'),
        session_control: {
          kind: 'heartbeat',
          heartbeat: {
            run_nonce: this.o.runNonce,
            open_nonce: this.o.openNonce,
            beat: ++this.beat,
            chain_head: this.receiptPrev,
            chain_seq_head: this.chainSeq - 1n,
            heartbeat_time: ts,
            fsync_errors_gated: counters.fsyncErrorsGated ?? 0,
            durability_blocks: counters.durabilityBlocks ?? 0,
          },
        },
      },
      undefined,
      ts,
    );
  }

  /** session_close (session profile), the transcript root and a final checkpoint. */
  close(reason = 'graceful_shutdown', counters: DurabilityCounters = {}): string[] {
    const out: string[] = [];
    if (this.o.profile === 'session') {
      out.push(
        ...this.receipt({
          ...sessionControlRecord('close'),
          session_control: {
            kind: 'session_close',
            close: {
              run_nonce: this.o.runNonce,
              open_nonce: this.o.openNonce,
              final_seq: this.chainSeq,
              root_hash: this.receiptPrev,
              receipt_count: this.chainSeq + 1n,
              close_reason: reason,
              fsync_errors_gated: counters.fsyncErrorsGated ?? 0,
              durability_blocks: counters.durabilityBlocks ?? 0,
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

  private receipt(d: ActionRecordInput, prevOverride?: string, ts = this.o.clock()): string[] {
    const record: ActionRecordInput = {
      version: 1,
      action_id: this.newActionId ? this.newActionId() : `${this.o.actionIdPrefix}-${String(this.nextId++).padStart(6, '0')}`,
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
    const { line, hash } = recorderLine({ v: this.o.entryVersion, seq: this.seq, ts, sessionId: this.o.sessionId, type, eventKind, transport, summary, detail }, this.entryPrev);
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
      { v: this.o.entryVersion, seq: this.seq, ts: this.o.clock(), sessionId: this.o.sessionId, type: 'checkpoint', eventKind: 'checkpoint', transport: '', summary: `checkpoint: ${n} entries [seq ${first}-${last}]`, detail },
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
