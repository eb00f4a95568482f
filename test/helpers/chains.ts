/**
 * Chain construction for the chain / recorder / input / CLI tests: a builder
 * that signs and links receipts one at a time (session control, key
 * transitions, deliberate mistakes), recorder-entry wrapping, endorsement
 * files, and small verify shortcuts. Everything is deterministic.
 */
import { genesisHash } from '../../src/chain/genesis.js';
import { entryHash, readEntry } from '../../src/chain/recorder.js';
import { endorsementDigest, parseEndorsement, type Endorsement } from '../../src/chain/endorsement.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { signActionRecord, toJsonText, type ActionRecordInput, type RecordValue, type Signer } from '../../src/emit/receipt.js';
import { recorderLine } from '../../src/emit/recorder.js';
import { JObj, parseJsonText } from '../../src/json/strict.js';
import { checkReceipt } from '../../src/receipt/receipt.js';
import type { Report } from '../../src/report/report.js';
import { verifyJsonl } from '../../src/verify/chain-input.js';
import type { VerifyOptions } from '../../src/verify/options.js';
import { baseRecord, memFile, testOptions, testSigner } from './fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Rec = Record<string, any>;

export const RUN_A = '0123456789abcdef0123456789abcdef';
export const OPEN_A = 'fedcba9876543210fedcba9876543210';
export const RUN_B = '11223344556677889900aabbccddeeff';
export const OPEN_B = 'ffeeddccbbaa00998877665544332211';
export const RUN_C = 'c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0';
export const OPEN_C = 'd1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1';

/** 2026-04-15T12:00:<s>Z for s < 60, later minutes after that. */
export function tsAt(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `2026-04-15T12:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}Z`;
}

/** Hash of a receipt text as the verifier computes it (§5.3). */
export function receiptHash(text: string): string {
  const p = parseJsonText(text);
  if (!p.ok) throw new Error(p.error.message);
  const c = checkReceipt(p.value, text);
  if (!c.ok) throw new Error(`${c.problem.reason}: ${c.problem.message}`);
  return c.receipt.hash;
}

/** The g1 value of §6.4 for an open payload (plain object). */
export function g1Of(open: Rec): string {
  const p = parseJsonText(toJsonText(open as RecordValue));
  if (!p.ok || !(p.value instanceof JObj)) throw new Error('bad open payload');
  return genesisHash(p.value);
}

export interface AddOptions {
  signer?: Signer;
  /** Runs last on the full record, before signing: the place for deliberate mistakes. */
  mut?: (r: Rec) => void;
  /** Rewrites the signed JSON text (e.g. swaps the signature); the hash is recomputed from the result. */
  text?: (json: string) => string;
}

/**
 * Builds a chain receipt by receipt. Each receipt gets a fresh action_id, a
 * timestamp one second after the previous one, the right chain_seq and
 * chain_prev_hash, and the active run_nonce; `over` and `mut` may break any
 * of that on purpose.
 */
export class ChainBuilder {
  readonly receipts: string[] = [];
  readonly hashes: string[] = [];
  readonly records: Rec[] = [];
  signer: Signer;
  /** run_nonce written into every following receipt ('' = none). */
  run = '';
  open = '';
  private nextSeq = 0n;
  private clock = 0;

  constructor(signer: Signer = testSigner) {
    this.signer = signer;
  }

  get length(): number {
    return this.receipts.length;
  }
  get prevHash(): string {
    return this.hashes[this.hashes.length - 1]!;
  }
  get prevSeq(): bigint {
    return BigInt(this.records[this.records.length - 1]!.chain_seq);
  }
  /** chain_seq the next receipt gets. */
  get seq(): bigint {
    return this.nextSeq;
  }

  add(over: ActionRecordInput = {}, o: AddOptions = {}): this {
    const i = this.receipts.length;
    const rec: Rec = baseRecord({
      action_id: `act-${String(i).padStart(4, '0')}`,
      timestamp: tsAt(this.clock),
      chain_prev_hash: i === 0 ? 'genesis' : this.prevHash,
      chain_seq: this.nextSeq,
      ...(this.run ? { run_nonce: this.run } : {}),
      ...over,
    });
    o.mut?.(rec);
    const signer = o.signer ?? this.signer;
    let json = signActionRecord(rec as ActionRecordInput, signer).json;
    if (o.text) json = o.text(json);
    this.receipts.push(json);
    this.hashes.push(receiptHash(json));
    this.records.push(rec);
    this.nextSeq = BigInt(rec.chain_seq as number | bigint) + 1n;
    this.clock++;
    return this;
  }

  /** A run's open payload (without genesis_hash / prior_*). */
  openPayload(run: string, open: string, extra: Rec = {}): Rec {
    return {
      run_nonce: run,
      open_nonce: open,
      recorder_session: 'proxy',
      policy_hash: 'sha256:' + 'a'.repeat(64),
      signer_key_epoch: this.signer.publicKeyHex,
      heartbeat_seconds: 30,
      chain_open_seq: this.nextSeq,
      ...extra,
    };
  }

  /** Receipt 0: a session_open on a bound g1 genesis. */
  openG1(run = RUN_A, open = OPEN_A, payloadExtra: Rec = {}, o: AddOptions = {}): this {
    if (this.receipts.length !== 0) throw new Error('openG1 is for receipt 0');
    this.run = run;
    this.open = open;
    const payload = this.openPayload(run, open, payloadExtra);
    const g = g1Of(payload);
    return this.add(lifecycle('open', { chain_prev_hash: g, session_control: { kind: 'session_open', open: { ...payload, genesis_hash: g } } }), o);
  }

  /** A restart session_open at i > 0 (a new run, same key segment). */
  restartOpen(run: string, open: string, payloadExtra: Rec = {}, o: AddOptions = {}): this {
    this.run = run;
    this.open = open;
    const payload = { ...this.openPayload(run, open), prior_chain_head: this.prevHash, prior_chain_seq: this.prevSeq, ...payloadExtra };
    return this.add(lifecycle('open', { session_control: { kind: 'session_open', open: payload } }), o);
  }

  heartbeat(beat = 1, o: AddOptions = {}): this {
    const hb = {
      run_nonce: this.run,
      open_nonce: this.open,
      beat,
      chain_head: this.prevHash,
      chain_seq_head: this.nextSeq - 1n,
      heartbeat_time: tsAt(this.clock),
      fsync_errors_gated: 0,
      durability_blocks: 0,
    };
    return this.add(lifecycle('heartbeat', { session_control: { kind: 'heartbeat', heartbeat: hb } }), o);
  }

  close(o: AddOptions = {}): this {
    const close = {
      run_nonce: this.run,
      open_nonce: this.open,
      final_seq: this.nextSeq,
      root_hash: this.prevHash,
      receipt_count: this.nextSeq + 1n,
      close_reason: 'graceful_shutdown',
      fsync_errors_gated: 0,
      durability_blocks: 0,
    };
    return this.add(lifecycle('close', { session_control: { kind: 'session_close', close } }), o);
  }

  /**
   * A key_transition receipt signed by `next` (chain_seq 0). With `run`, it
   * is also a restart session_open of a new run, as Pipelock writes it.
   */
  rotate(next: Signer, opts: { run?: string; open?: string; over?: ActionRecordInput } & AddOptions = {}): this {
    const kt = { prior_signer_key: this.signer.publicKeyHex, prior_chain_seq: this.prevSeq, prior_chain_hash: this.prevHash };
    const prevHash = this.prevHash;
    const prevSeq = this.prevSeq;
    this.nextSeq = 0n;
    let over: ActionRecordInput = { key_transition: kt, ...(opts.over ?? {}) };
    this.signer = next;
    if (opts.run) {
      this.run = opts.run;
      this.open = opts.open ?? OPEN_B;
      const payload = {
        ...this.openPayload(this.run, this.open),
        signer_key_epoch: next.publicKeyHex,
        chain_open_seq: 0,
        prior_chain_head: prevHash,
        prior_chain_seq: prevSeq,
      };
      over = lifecycle('open', { session_control: { kind: 'session_open', open: payload }, ...over });
    }
    return this.add(over, { ...opts, signer: opts.signer ?? next });
  }

  jsonl(trailingLf = true): string {
    return jsonl(this.receipts, trailingLf);
  }
}

function lifecycle(what: 'open' | 'heartbeat' | 'close', over: ActionRecordInput): ActionRecordInput {
  return {
    action_type: 'unclassified',
    target: `pipelock://session/${what}`,
    verdict: 'allow',
    transport: 'receipt_session',
    side_effect_class: 'none',
    reversibility: 'unknown',
    method: undefined,
    ...over,
  };
}

export function jsonl(lines: readonly string[], trailingLf = true): string {
  return lines.join('\n') + (trailingLf && lines.length ? '\n' : '');
}

/** Re-signs a receipt text after `mut` edits its parsed action_record (numbers must stay below 2^53). */
export function remake(receiptJson: string, mut: (ar: Rec) => void, signer: Signer = testSigner): { json: string; hash: string } {
  const env = JSON.parse(receiptJson) as Rec;
  const ar = env.action_record as Rec;
  mut(ar);
  return signActionRecord(ar as ActionRecordInput, signer);
}

export interface EntrySpec {
  type: string;
  detail: string;
  eventKind?: string;
  transport?: string;
  summary?: string;
  ts?: string;
}

/** Wraps entries as v2 recorder lines (hashed and linked from `genesis`, or from `prev`). */
export function recorderLines(items: readonly EntrySpec[], sessionId = 'proxy', startSeq = 0n, prev = 'genesis'): { lines: string[]; lastHash: string } {
  const lines: string[] = [];
  let seq = startSeq;
  for (const it of items) {
    const { line, hash } = recorderLine(
      {
        seq,
        ts: it.ts ?? tsAt(Number(seq % 3000n)),
        sessionId,
        type: it.type,
        eventKind: it.eventKind ?? '',
        transport: it.transport ?? '',
        summary: it.summary ?? it.type,
        detail: it.detail,
      },
      prev,
    );
    lines.push(line);
    prev = hash;
    seq++;
  }
  return { lines, lastHash: prev };
}

/** Receipts as action_receipt recorder entries. */
export function receiptEntries(receipts: readonly string[]): EntrySpec[] {
  return receipts.map((detail) => ({ type: 'action_receipt', eventKind: 'read', transport: 'https', summary: 'receipt', detail }));
}

/** The receipt JSON texts (detail values) of recorder lines, in order. */
export function receiptsOfRecorder(lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const p = parseJsonText(l);
    if (!p.ok || !(p.value instanceof JObj)) throw new Error('bad recorder line');
    if (p.value.get('type') !== 'action_receipt') continue;
    const [s, e] = p.value.span('detail')!;
    out.push(l.slice(s, e));
  }
  return out;
}

export function verifyText(text: string | Buffer, opts: VerifyOptions = testOptions(), name = 'chain.jsonl'): Promise<Report> {
  return verifyJsonl([memFile(name, text)], opts);
}

export function verifyLines(lines: readonly string[], opts: VerifyOptions = testOptions()): Promise<Report> {
  return verifyText(jsonl(lines), opts);
}

/** The JSON text of a rotation endorsement signed by `prior` (§6.7). */
export function endorsementText(
  prior: Signer,
  fields: { sessionId: string; priorFinalSeq: bigint; priorTailHash: string; newSignerKey: string; rotatedAt?: string; priorSignerKey?: string },
): string {
  const e: Endorsement = {
    sessionId: fields.sessionId,
    priorSignerKey: fields.priorSignerKey ?? prior.publicKeyHex,
    priorFinalSeq: fields.priorFinalSeq,
    priorTailHash: fields.priorTailHash,
    newSignerKey: fields.newSignerKey,
    rotatedAt: fields.rotatedAt ?? '2026-04-15T12:00:10Z',
  };
  const sig = 'ed25519:' + signEd25519(prior.privateKey, endorsementDigest(e)).toString('hex');
  return JSON.stringify(
    {
      version: 1,
      session_id: e.sessionId,
      prior_signer_key: e.priorSignerKey,
      prior_final_seq: Number(e.priorFinalSeq),
      prior_tail_hash: e.priorTailHash,
      new_signer_key: e.newSignerKey,
      rotated_at: e.rotatedAt,
      endorsement: sig,
    },
    null,
    2,
  );
}

export function endorsementOf(text: string): Endorsement {
  const r = parseEndorsement(Buffer.from(text, 'utf8'));
  if (!r.ok) throw new Error(`${r.reason}: ${r.message}`);
  return r.endorsement;
}

/**
 * Seals an entry given as a plain object (members in the order given, any
 * `v`): writes it with an empty `hash`, reads it back with the verifier's
 * reader and fills in the entry hash. `detail` may be given as raw JSON text
 * through `detailText`, kept byte for byte.
 */
export function sealEntry(fields: Rec, detailText?: string): { line: string; hash: string } {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'hash') continue;
    if (k === 'detail' && detailText !== undefined) parts.push(`"detail":${detailText}`);
    else parts.push(`${JSON.stringify(k)}:${typeof v === 'bigint' ? v.toString() : JSON.stringify(v)}`);
  }
  if (detailText !== undefined && !('detail' in fields)) parts.push(`"detail":${detailText}`);
  const unsealed = `{${parts.join(',')},"hash":""}`;
  const p = parseJsonText(unsealed);
  if (!p.ok) throw new Error(p.error.message);
  const read = readEntry(p.value, unsealed);
  if (!read.ok) throw new Error(`${read.problem.reason}: ${read.problem.message}`);
  const hash = entryHash(read.entry);
  return { line: unsealed.slice(0, -'"hash":""}'.length) + `"hash":"${hash}"}`, hash };
}

/**
 * Re-seals recorder lines after `edit` changed their parsed form, relinking
 * prev_hash from `genesis`. `edit` returns false to drop a line.
 */
export function rechain(lines: readonly string[], edit: (entry: Rec, index: number) => void | false = () => undefined, checkpointSigner?: Signer): string[] {
  const out: string[] = [];
  let prev = 'genesis';
  lines.forEach((l, i) => {
    const p = parseJsonText(l);
    if (!p.ok || !(p.value instanceof JObj)) throw new Error('bad line');
    const [s, e] = p.value.span('detail') ?? [0, 0];
    const entry = JSON.parse(l) as Rec;
    const detailBefore = JSON.stringify(entry.detail);
    if (edit(entry, i) === false) return;
    entry.prev_hash = prev;
    // Checkpoint signatures cover prev_hash (§7.6): re-sign them when asked.
    if (checkpointSigner && entry.type === 'checkpoint') entry.detail.signature = signEd25519(checkpointSigner.privateKey, Buffer.from(prev, 'ascii')).toString('hex');
    // Keep the detail bytes verbatim unless the edit changed the detail.
    const keep = JSON.stringify(entry.detail) === detailBefore && s < e;
    const sealed = sealEntry(entry, keep ? l.slice(s, e) : undefined);
    out.push(sealed.line);
    prev = sealed.hash;
  });
  return out;
}
