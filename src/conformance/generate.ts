/**
 * The project's own conformance corpus (receipts-v1 §9.10; issue 4 item 4):
 * golden / malicious / edge fixtures in the public corpus layout, plus the
 * `recorder` input format and `verifier_config` extensions, generated from
 * seed phrases of this project's own.
 *
 * Everything is deterministic: keys come from seed phrases, timestamps and
 * nonces are fixed, Ed25519 signatures are deterministic, and nothing reads
 * the clock or a random source. Running the generator twice gives the same
 * bytes, and the committed `conformance/` folder is checked against a fresh
 * generation by the tests.
 *
 * Independence. Expected hashes are computed here, from the generator's own
 * chain state, never by running the verifier. Most fixtures are built with
 * this file's own small Go-style encoder (§4), its own g1 genesis (§6.4),
 * entry hash (§7.3) and `ext` compaction (§4.8), so that a canonicalisation
 * mistake in the verifier shows up as a failing fixture instead of being
 * mirrored into the corpus. Two golden fixtures are deliberately written by
 * the project's emitter (RecorderChainWriter), so its output is re-verified
 * too. Endorsement digests use src/chain/endorsement.ts, which has its own
 * test vector (§11.6).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { endorsementDigest, type Endorsement } from '../chain/endorsement.js';
import { privateKeyFromSeed, seedFromPhrase, sha256, sha256Hex, signEd25519 } from '../crypto/ed25519.js';
import { RecorderChainWriter, type Decision } from '../emit/chain.js';
import { signerFrom, type Signer } from '../emit/receipt.js';
import type { Category, Expectation, InputFormat } from './runner.js';

// ---------------------------------------------------------------------------
// Keys

export const CORPUS_KEY_PHRASES = {
  A: 'egress-verify conformance corpus v1 key A',
  B: 'egress-verify conformance corpus v1 key B',
  C: 'egress-verify conformance corpus v1 key C',
} as const;

function keyFrom(phrase: string): Signer {
  return signerFrom(privateKeyFromSeed(seedFromPhrase(phrase)));
}

/** The corpus key: pinned by test-key.json; signs every fixture unless a fixture says otherwise. */
export function corpusPublicKey(): string {
  return keyFrom(CORPUS_KEY_PHRASES.A).publicKeyHex;
}

/** Folders the generator owns completely (stale files in them are deleted). */
export const MANAGED_DIRS = ['golden', 'malicious', 'edge', 'keys'] as const;
/** Files in the corpus root the generator owns. */
export const ROOT_FILES = ['README.md', 'test-key.json'] as const;

// ---------------------------------------------------------------------------
// A Go encoding/json emulation of our own (receipts-v1 §4)

/** Raw JSON text, written verbatim. */
class Raw {
  constructor(readonly text: string) {}
}
const raw = (text: string): Raw => new Raw(text);

type V = string | number | bigint | boolean | null | Raw | V[] | Rec;
interface Rec {
  [k: string]: V | undefined;
}

const HTML = /[<>&\u2028\u2029]/g;
const hex4 = (c: string): string => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');

/** §4.3: JSON.stringify's escapes plus < > & U+2028 U+2029 as lowercase \u escapes. */
function goStr(s: string): string {
  return JSON.stringify(s).replace(HTML, hex4);
}

/** Compact JSON; `go` selects Go's HTML escaping (canonical) or plain JSON.stringify strings (input spellings). */
function enc(v: V, go = true): string {
  if (v instanceof Raw) return v.text;
  if (typeof v === 'string') return go ? goStr(v) : JSON.stringify(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`generator: ${v} is not a safe integer`);
    return String(v);
  }
  if (typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return '[' + v.map((x) => enc(x, go)).join(',') + ']';
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push((go ? goStr(k) : JSON.stringify(k)) + ':' + enc(x, go));
  return '{' + parts.join(',') + '}';
}

/** Indented plain JSON (input spellings with whitespace). */
function pretty(v: V, indent = ''): string {
  const inner = indent + '  ';
  if (Array.isArray(v)) return v.length ? '[\n' + v.map((x) => inner + pretty(x, inner)).join(',\n') + '\n' + indent + ']' : '[]';
  if (v !== null && typeof v === 'object' && !(v instanceof Raw)) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return entries.length ? '{\n' + entries.map(([k, x]) => inner + JSON.stringify(k) + ': ' + pretty(x!, inner)).join(',\n') + '\n' + indent + '}' : '{}';
  }
  return enc(v, false);
}

/** Code-point order (Go sorts map keys by UTF-8 bytes), §4.7. */
function cpCompare(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * §4.8 (`escapeHtml`) and §9.4 (plain): whitespace outside string literals
 * removed; with `escapeHtml`, raw < > & U+2028 U+2029 inside literals escaped.
 */
function compactJson(src: string, escapeHtml: boolean): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (inString) {
      if (ch === '\\') {
        out += ch + src[i + 1]!;
        i++;
        continue;
      }
      if (ch === '"') inString = false;
      out += escapeHtml && '<>&\u2028\u2029'.includes(ch) ? hex4(ch) : ch;
    } else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      continue;
    } else {
      if (ch === '"') inString = true;
      out += ch;
    }
  }
  return out;
}

/** Whitespace added after `,` and `:` outside strings: a readable spelling that compacts back to `src`. */
function spaceOut(src: string, afterComma = '\n  '): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    out += ch;
    if (inString) {
      if (ch === '\\') out += src[++i]!;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === ',') out += afterComma;
    else if (ch === ':') out += ' ';
  }
  return out;
}

// The signed schema in canonical order (§2, §3).
const AR_ORDER = [
  'version', 'action_id', 'parent_action_id', 'action_type', 'timestamp', 'principal', 'actor', 'delegation_chain', 'target', 'intent',
  'data_classes_in', 'data_classes_out', 'side_effect_class', 'reversibility', 'policy_hash', 'verdict', 'decision_phase', 'defer_id',
  'resolution_policy', 'resolution_source', 'session_id', 'session_id_original', 'session_taint_level', 'session_contaminated',
  'recent_taint_sources', 'session_task_id', 'session_task_label', 'authority_kind', 'taint_decision', 'taint_decision_reason',
  'task_override_applied', 'contract_winning_source', 'contract_live_verdict', 'contract_policy_sources', 'contract_rule_id',
  'active_manifest_hash', 'contract_hash', 'contract_selector_id', 'contract_generation', 'transport', 'method', 'layer', 'pattern',
  'severity', 'redaction', 'shield', 'request_id', 'chain_prev_hash', 'chain_seq', 'run_nonce', 'key_transition', 'session_control',
  'venue', 'jurisdiction', 'rulebook_id', 'remedy_class', 'contestation_window', 'precedent_refs',
] as const;
const TAINT_ORDER = ['url', 'kind', 'level', 'timestamp', 'receipt_id', 'match_reason'];
const NESTED: Record<string, readonly string[]> = {
  redaction: ['profile', 'provider', 'parser', 'total_redactions', 'by_class', 'cache_boundary_kept'],
  shield: [
    'pipeline', 'total_rewrites', 'extension_probes', 'tracking_beacons', 'agent_traps', 'fingerprint_shim_injected', 'svg_foreign_objects',
    'svg_event_handlers', 'svg_external_references', 'svg_hidden_text', 'svg_animation_injections', 'body_bytes', 'scanned_bytes', 'partial',
    'adaptive_signals_recorded', 'adaptive_signal_max_per_body',
  ],
  key_transition: ['prior_signer_key', 'prior_chain_seq', 'prior_chain_hash'],
  session_control: ['kind', 'open', 'heartbeat', 'close'],
  open: [
    'run_nonce', 'open_nonce', 'recorder_session', 'policy_hash', 'signer_key_epoch', 'heartbeat_seconds', 'chain_open_seq', 'prior_chain_head',
    'prior_chain_seq', 'genesis_hash', 'genesis_anchor_head', 'genesis_anchor_log', 'posture_capsule_sha256', 'posture_signer_key_id',
    'containment_nonce', 'contained_uid',
  ],
  heartbeat: ['run_nonce', 'open_nonce', 'beat', 'chain_head', 'chain_seq_head', 'heartbeat_time', 'fsync_errors_gated', 'durability_blocks'],
  close: ['run_nonce', 'open_nonce', 'final_seq', 'root_hash', 'receipt_count', 'close_reason', 'fsync_errors_gated', 'durability_blocks'],
};

function isPlainObject(v: V | undefined): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Raw);
}

/**
 * Puts a record into canonical member order, recursively, with `by_class`
 * sorted by code point. It never drops members: canonical records are
 * written without zero-valued omitempty members in the first place.
 */
function ordered(o: Rec, order: readonly string[], where: string): Rec {
  for (const k of Object.keys(o)) if (!order.includes(k) && o[k] !== undefined) throw new Error(`generator: unknown member ${k} in ${where}`);
  const out: Rec = {};
  for (const k of order) {
    let v = o[k];
    if (v === undefined) continue;
    if (k === 'by_class' && isPlainObject(v)) {
      const m = v;
      v = raw('{' + Object.keys(m).sort(cpCompare).map((key) => goStr(key) + ':' + enc(m[key]!)).join(',') + '}');
    } else if (k === 'recent_taint_sources' && Array.isArray(v)) {
      v = v.map((x) => (isPlainObject(x) ? ordered(x, TAINT_ORDER, k) : x));
    } else if (NESTED[k] && isPlainObject(v)) {
      v = ordered(v, NESTED[k]!, k);
    }
    out[k] = v;
  }
  return out;
}

function canonAR(r: Rec): string {
  return enc(ordered(r, AR_ORDER, 'action_record'));
}

// ---------------------------------------------------------------------------
// Receipts

interface Made {
  /** The receipt text written into the fixture. */
  json: string;
  /** Receipt hash (§5.3) over the canonical envelope. */
  hash: string;
  canonical: string;
  signature: string;
  key: string;
}

interface SealOptions {
  /** Input spelling of the action_record (default: the canonical bytes). */
  inputAr?: string;
  /** `ext` source text, written verbatim and hashed compacted (§4.8). */
  ext?: string;
  signature?: string;
  signerKey?: string;
}

function signatureOver(signer: Signer, canonicalAr: string): string {
  return 'ed25519:' + signEd25519(signer.privateKey, sha256(Buffer.from(canonicalAr, 'utf8'))).toString('hex');
}

/** Signs the canonical action_record (§5.1) and builds the envelope and its hash (§5.3). */
function seal(canonicalAr: string, signer: Signer, o: SealOptions = {}): Made {
  const signature = o.signature ?? signatureOver(signer, canonicalAr);
  const key = o.signerKey ?? signer.publicKeyHex;
  const extCanonical = o.ext === undefined ? '' : ',"ext":' + compactJson(o.ext, true);
  const canonical = `{"version":1,"action_record":${canonicalAr},"signature":${goStr(signature)},"signer_key":${goStr(key)}${extCanonical}}`;
  const json = `{"version":1,"action_record":${o.inputAr ?? canonicalAr},"signature":${goStr(signature)},"signer_key":${goStr(key)}${o.ext === undefined ? '' : ',"ext":' + o.ext}}`;
  return { json, hash: sha256Hex(canonical), canonical, signature, key };
}

const POLICY = 'sha256:' + sha256Hex('egress-verify conformance corpus policy v1');
const POLICY_2 = 'sha256:' + sha256Hex('egress-verify conformance corpus policy v2');
const NOW_SECONDS = 12 * 3600; // the conformance clock, 2026-04-15T12:00:00Z

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** 2026-04-15 at `sec` seconds after midnight UTC, Go-rendered. */
function tsAt(sec: number): string {
  return `2026-04-15T${pad2(Math.floor(sec / 3600))}:${pad2(Math.floor((sec % 3600) / 60))}:${pad2(sec % 60)}Z`;
}
const hms = (h: number, m: number, s = 0): number => h * 3600 + m * 60 + s;

/** A complete, valid ActionRecord; `over` replaces members (undefined removes one). */
function rec(over: Rec = {}): Rec {
  return {
    version: 1,
    action_id: 'corpus-0000',
    action_type: 'read',
    timestamp: tsAt(hms(11, 0)),
    principal: 'org:egress-verify-corpus',
    actor: 'agent:corpus-runner',
    delegation_chain: ['operator:corpus', 'grant:web-read'],
    target: 'https://docs.example.org/guide/install',
    side_effect_class: 'external_read',
    reversibility: 'full',
    policy_hash: POLICY,
    verdict: 'allow',
    transport: 'https',
    method: 'GET',
    chain_prev_hash: 'genesis',
    chain_seq: 0,
    ...over,
  };
}

function nonce(label: string): string {
  return sha256Hex(`egress-verify corpus nonce ${label}`).slice(0, 32);
}

/** The bound genesis marker of §6.4, computed here independently. */
function g1Of(open: Rec): string {
  const items: Buffer[] = [Buffer.from('pipelock.receipt.session_open.v1', 'ascii')];
  const text = (k: string): Buffer => Buffer.from(typeof open[k] === 'string' ? (open[k] as string) : '', 'utf8');
  for (const k of ['run_nonce', 'open_nonce', 'recorder_session', 'policy_hash', 'signer_key_epoch']) items.push(text(k));
  const hb = Buffer.alloc(8);
  const seconds = BigInt(open.heartbeat_seconds as number | bigint);
  hb.writeBigUInt64BE(seconds < 0n ? 0n : seconds);
  items.push(hb);
  for (const k of ['genesis_anchor_head', 'genesis_anchor_log', 'posture_capsule_sha256', 'containment_nonce', 'contained_uid']) items.push(text(k));
  const framed = items.flatMap((b) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64BE(BigInt(b.length));
    return [len, b];
  });
  return 'g1:' + sha256Hex(Buffer.concat(framed));
}

interface Item {
  made: Made;
  rec: Rec;
}

interface AddOptions {
  signer?: Signer;
  /** Last word on the record before signing: the place for deliberate mistakes. */
  mut?: (r: Rec) => void;
  /** Seal options computed from the canonical action_record. */
  seal?: (canonicalAr: string) => SealOptions;
  /** Seconds the clock advances after this receipt (default 1). */
  advance?: number;
}

function lifecycle(what: 'open' | 'heartbeat' | 'close', over: Rec): Rec {
  return {
    action_type: 'unclassified',
    target: `pipelock://session/${what}`,
    verdict: 'allow',
    transport: 'receipt_session',
    side_effect_class: 'none',
    reversibility: 'unknown',
    delegation_chain: null,
    method: undefined,
    ...over,
  };
}

/** Builds a receipt chain one receipt at a time, with this generator's own chain state. */
class Chain {
  readonly items: Item[] = [];
  signer: Signer;
  run = '';
  openNonce = '';
  /** chain_seq of the next receipt. */
  seq = 0n;
  private n = 0;

  constructor(
    signer: Signer,
    readonly prefix: string,
    public clock: number,
    readonly session = 'proxy',
  ) {
    this.signer = signer;
  }

  get last(): Item {
    return this.items[this.items.length - 1]!;
  }
  get prevHash(): string {
    return this.last.made.hash;
  }
  get prevSeq(): bigint {
    return BigInt(this.last.rec.chain_seq as number | bigint);
  }
  get receipts(): string[] {
    return this.items.map((i) => i.made.json);
  }
  get rootHash(): string {
    return this.prevHash;
  }
  nextId(): string {
    return `${this.prefix}-${String(++this.n).padStart(4, '0')}`;
  }

  add(over: Rec = {}, o: AddOptions = {}): Item {
    const i = this.items.length;
    const r = rec({
      action_id: this.nextId(),
      timestamp: tsAt(this.clock),
      chain_prev_hash: i === 0 ? 'genesis' : this.prevHash,
      chain_seq: this.seq,
      run_nonce: this.run || undefined,
      ...over,
    });
    o.mut?.(r);
    const ar = canonAR(r);
    const item = { made: seal(ar, o.signer ?? this.signer, o.seal?.(ar) ?? {}), rec: r };
    this.items.push(item);
    this.seq = BigInt(r.chain_seq as number | bigint) + 1n;
    this.clock += o.advance ?? 1;
    return item;
  }

  private basePayload(run: string, open: string): Rec {
    return {
      run_nonce: run,
      open_nonce: open,
      recorder_session: this.session,
      policy_hash: POLICY,
      signer_key_epoch: this.signer.publicKeyHex,
      heartbeat_seconds: 30,
      chain_open_seq: this.seq,
    };
  }

  /** Receipt 0: a session_open on a bound g1 genesis (§6.4). */
  openG1(run: string, open: string, o: { payload?: Rec; tamper?: (payload: Rec) => void } & AddOptions = {}): Item {
    this.run = run;
    this.openNonce = open;
    const payload = { ...this.basePayload(run, open), ...o.payload };
    const g = g1Of(payload);
    const full: Rec = { ...payload, genesis_hash: g };
    o.tamper?.(full);
    return this.add(lifecycle('open', { chain_prev_hash: g, session_control: { kind: 'session_open', open: full } }), o);
  }

  private restartPayload(run: string, open: string): Rec {
    const prevSeq = this.prevSeq;
    return { ...this.basePayload(run, open), prior_chain_head: this.prevHash, prior_chain_seq: prevSeq === 0n ? undefined : prevSeq };
  }

  /** A restart session_open at i > 0 in the same key segment (§6.5 rule 2). */
  restartOpen(run: string, open: string, o: { payload?: Rec } & AddOptions = {}): Item {
    this.run = run;
    this.openNonce = open;
    const payload = { ...this.restartPayload(run, open), ...o.payload };
    return this.add(lifecycle('open', { session_control: { kind: 'session_open', open: payload } }), o);
  }

  heartbeat(beat: number, o: { payload?: Rec } & AddOptions = {}): Item {
    const hb: Rec = {
      run_nonce: this.run,
      open_nonce: this.openNonce,
      beat,
      chain_head: this.prevHash,
      chain_seq_head: this.seq - 1n,
      heartbeat_time: tsAt(this.clock),
      fsync_errors_gated: 0,
      durability_blocks: 0,
      ...o.payload,
    };
    return this.add(lifecycle('heartbeat', { session_control: { kind: 'heartbeat', heartbeat: hb } }), o);
  }

  close(o: { payload?: Rec } & AddOptions = {}): Item {
    const close: Rec = {
      run_nonce: this.run,
      open_nonce: this.openNonce,
      final_seq: this.seq,
      root_hash: this.prevHash,
      receipt_count: this.seq + 1n,
      close_reason: 'graceful_shutdown',
      fsync_errors_gated: 0,
      durability_blocks: 0,
      ...o.payload,
    };
    return this.add(lifecycle('close', { session_control: { kind: 'session_close', close } }), o);
  }

  /**
   * A key_transition receipt signed by `next` (§6.7), chain_seq 0. With a
   * run it is also the restart session_open of that run, as Pipelock writes it.
   */
  rotate(next: Signer, o: { run?: string; open?: string; kt?: Rec; over?: Rec } & AddOptions = {}): Item {
    const kt: Rec = { prior_signer_key: this.signer.publicKeyHex, prior_chain_seq: this.prevSeq, prior_chain_hash: this.prevHash, ...o.kt };
    let over: Rec = { key_transition: kt, ...o.over };
    if (o.run) {
      const payload = this.restartPayload(o.run, o.open ?? nonce(`${o.run} open`));
      this.run = o.run;
      this.openNonce = payload.open_nonce as string;
      over = lifecycle('open', { session_control: { kind: 'session_open', open: { ...payload, signer_key_epoch: next.publicKeyHex, chain_open_seq: 0 } }, ...over });
    }
    this.seq = 0n;
    this.signer = next;
    return this.add(over, o);
  }
}

/** JSONL text: one line per element, LF-terminated unless told otherwise. */
function jsonl(lines: readonly string[], eol = '\n', finalEol = true): string {
  return lines.join(eol) + (finalEol && lines.length ? eol : '');
}

// ---------------------------------------------------------------------------
// Flight-recorder entries (§7), with our own entry hash

interface EntryOptions {
  v?: number;
  ts?: string;
  /** `ts` as hashed (UTC rendering, §7.3); defaults to `ts`. */
  tsHash?: string;
  type: string;
  eventKind?: string;
  transport?: string;
  summary: string;
  /** Detail JSON text, written and hashed verbatim; undefined omits the member (hashed as `null`). */
  detail: string | undefined;
  traceId?: string;
  rawRef?: string;
  chainKind?: string;
  writer?: string;
  /** Extra raw members (`,"name":value`), written before prev_hash and never hashed. */
  extra?: string;
}

class Recorder {
  readonly lines: string[] = [];
  prev = 'genesis';
  seq = 0n;
  private sinceCheckpoint = 0;
  private checkpointFirst = 0n;
  /** Defaults applied to every entry (e.g. v3 members). */
  defaults: Partial<EntryOptions> = {};

  constructor(
    readonly session: string,
    public ts: string,
  ) {}

  entry(opts: EntryOptions): string {
    const e = { ...this.defaults, ...opts };
    const v = e.v ?? 2;
    const ts = e.ts ?? this.ts;
    const fields = [String(v), this.seq.toString(), e.tsHash ?? ts, this.session];
    if (v === 3) fields.push(e.chainKind ?? '', e.writer ?? '');
    fields.push(e.traceId ?? '', e.type);
    if (v !== 1) fields.push(e.eventKind ?? '');
    fields.push(e.transport ?? '', e.summary, e.detail ?? 'null', e.rawRef ?? '', this.prev);
    const hash = sha256Hex(Buffer.from(fields.join('\u0000'), 'utf8'));
    let line = `{"v":${v},"seq":${this.seq},"ts":${goStr(ts)},"session_id":${goStr(this.session)}`;
    if (v === 3) line += `,"chain_kind":${goStr(e.chainKind ?? '')},"writer_instance_id":${goStr(e.writer ?? '')}`;
    if (e.traceId) line += `,"trace_id":${goStr(e.traceId)}`;
    line += `,"type":${goStr(e.type)}`;
    if (e.eventKind) line += `,"event_kind":${goStr(e.eventKind)}`;
    line += `,"transport":${goStr(e.transport ?? '')},"summary":${goStr(e.summary)}`;
    if (e.detail !== undefined) line += `,"detail":${e.detail}`;
    if (e.rawRef) line += `,"raw_ref":${goStr(e.rawRef)}`;
    line += (e.extra ?? '') + `,"prev_hash":${goStr(this.prev)},"hash":${goStr(hash)}}`;
    if (e.type !== 'checkpoint') {
      if (this.sinceCheckpoint === 0) this.checkpointFirst = this.seq;
      this.sinceCheckpoint++;
    }
    this.lines.push(line);
    this.prev = hash;
    this.seq++;
    return line;
  }

  /** An action_receipt entry (§7.5) for a chain item; `detail` overrides the receipt text. */
  receipt(item: Item, o: Partial<EntryOptions> = {}): string {
    const r = item.rec;
    const ts = typeof r.timestamp === 'string' && r.timestamp.endsWith('Z') ? r.timestamp : this.ts;
    this.ts = ts;
    return this.entry({
      type: 'action_receipt',
      eventKind: String(r.action_type),
      transport: String(r.transport),
      summary: `receipt: ${r.verdict} ${r.action_type} ${r.transport}`,
      detail: item.made.json,
      ts,
      ...o,
    });
  }

  evidence(ev: { json: string; kind: string }): string {
    return this.entry({ type: 'evidence_receipt', eventKind: ev.kind, transport: '', summary: `evidence: ${ev.kind}`, detail: ev.json });
  }

  decision(summary: string, detail: string | undefined, o: Partial<EntryOptions> = {}): string {
    return this.entry({ type: 'decision', eventKind: 'read', transport: 'https', summary, detail, ...o });
  }

  /** A checkpoint (§7.6) signed over its own prev_hash. */
  checkpoint(signer: Signer, o: { signature?: string } = {}): string {
    const n = this.sinceCheckpoint;
    const first = this.checkpointFirst;
    const last = this.seq - 1n;
    const signature = o.signature ?? signEd25519(signer.privateKey, Buffer.from(this.prev, 'ascii')).toString('hex');
    const line = this.entry({
      type: 'checkpoint',
      eventKind: 'checkpoint',
      transport: '',
      summary: `checkpoint: ${n} entries [seq ${first}-${last}]`,
      detail: `{"entry_count":${n},"first_seq":${first},"last_seq":${last},"signature":${goStr(signature)}}`,
    });
    this.sinceCheckpoint = 0;
    return line;
  }

  /** A transcript root (§7.7) summarising the chain so far; `over` replaces detail members. */
  transcriptRoot(c: Chain, over: { receipt_count?: number; root_hash?: string } = {}): string {
    const first = c.items[0]!.rec;
    const last = c.last.rec;
    const count = over.receipt_count ?? c.items.length;
    const root = over.root_hash ?? c.rootHash;
    const detail = enc({
      session_id: this.session,
      final_seq: last.chain_seq as number | bigint,
      root_hash: root,
      receipt_count: count,
      start_time: first.timestamp as string,
      end_time: last.timestamp as string,
    });
    return this.entry({ type: 'transcript_root', eventKind: 'transcript_root', transport: '', summary: `transcript_root: ${count} receipts, root=${root.slice(0, 16)}`, detail });
  }

  text(eol = '\n', finalEol = true): string {
    return jsonl(this.lines, eol, finalEol);
  }
}

// ---------------------------------------------------------------------------
// EvidenceReceipt v2 (§10): shaped and signed, never verified by egress-verify

/** RFC 8785 for the ASCII-only, integer-only objects written here: sorted keys, plain escapes. */
function jcs(v: V): string {
  if (Array.isArray(v)) return '[' + v.map(jcs).join(',') + ']';
  if (isPlainObject(v)) {
    return '{' + Object.keys(v).filter((k) => v[k] !== undefined).sort(cpCompare).map((k) => JSON.stringify(k) + ':' + jcs(v[k]!)).join(',') + '}';
  }
  return enc(v, false);
}

function evidenceV2(signer: Signer, f: { eventId: string; timestamp: string; kind: string; payload: Rec; seq: number; prev: string }): { json: string; hash: string; kind: string } {
  const body: Rec = {
    record_type: 'evidence_receipt_v2',
    receipt_version: 2,
    payload_kind: f.kind,
    event_id: f.eventId,
    timestamp: f.timestamp,
    principal: 'org:egress-verify-corpus',
    actor: 'agent:corpus-runner',
    delegation_chain: ['operator:corpus'],
    signature: { signer_key_id: '', key_purpose: '', algorithm: '', signature: '' },
    chain_seq: f.seq,
    chain_prev_hash: f.prev,
    active_manifest_hash: 'sha256:' + sha256Hex('corpus manifest'),
    contract_hash: 'sha256:' + sha256Hex('corpus contract'),
    selector_id: 'selector-corpus-1',
    contract_generation: 1,
    payload: f.payload,
  };
  const sig = 'ed25519:' + signEd25519(signer.privateKey, Buffer.from(jcs(body), 'utf8')).toString('hex');
  body.signature = { signer_key_id: signer.publicKeyHex, key_purpose: 'receipt-signing', algorithm: 'ed25519', signature: sig };
  const json = jcs(body);
  return { json, hash: sha256Hex(json), kind: f.kind };
}

function evidenceSeries(signer: Signer, prefix: string, timestamps: readonly string[]): { json: string; hash: string; kind: string }[] {
  const out: { json: string; hash: string; kind: string }[] = [];
  let prev = 'genesis';
  timestamps.forEach((timestamp, i) => {
    const ev = evidenceV2(signer, {
      eventId: `${prefix}-ev-${i + 1}`,
      timestamp,
      kind: 'proxy_decision',
      payload: { decision: i % 2 ? 'block' : 'allow', target: `https://api.example.com/v1/items/${i + 1}`, transport: 'https' },
      seq: i,
      prev,
    });
    out.push(ev);
    prev = ev.hash;
  });
  return out;
}

// ---------------------------------------------------------------------------
// Rotation endorsements (§6.7)

function endorsementFile(prior: Signer, f: { sessionId: string; priorFinalSeq: bigint; priorTailHash: string; newSignerKey: string; rotatedAt: string }): string {
  const e: Endorsement = { sessionId: f.sessionId, priorSignerKey: prior.publicKeyHex, priorFinalSeq: f.priorFinalSeq, priorTailHash: f.priorTailHash, newSignerKey: f.newSignerKey, rotatedAt: f.rotatedAt };
  const signature = 'ed25519:' + signEd25519(prior.privateKey, endorsementDigest(e)).toString('hex');
  return (
    pretty({
      version: 1,
      session_id: e.sessionId,
      prior_signer_key: e.priorSignerKey,
      prior_final_seq: e.priorFinalSeq,
      prior_tail_hash: e.priorTailHash,
      new_signer_key: e.newSignerKey,
      rotated_at: e.rotatedAt,
      endorsement: signature,
    }) + '\n'
  );
}

// ---------------------------------------------------------------------------
// The corpus

type VerifierConfig = NonNullable<Expectation['verifier_config']>;

interface Accept {
  format: InputFormat;
  description: string;
  chainLength: number;
  /** Receipt hash of the last receipt; omitted for fixtures whose receipts carry `ext` (§12.2 item 9). */
  rootHash?: string;
  signerKey?: string;
  config?: VerifierConfig;
  notes?: string;
}

interface Reject {
  format: InputFormat;
  reason: string;
  description: string;
  config?: VerifierConfig;
  notes?: string;
}

const PREFIX: Record<Category, string> = { golden: 'g', malicious: 'm', edge: 'e' };

class CorpusBuilder {
  readonly files = new Map<string, Buffer>();
  private readonly counters: Record<Category, number> = { golden: 0, malicious: 0, edge: 0 };

  constructor(readonly keyA: string) {}

  private put(path: string, data: string | Buffer): void {
    if (this.files.has(path)) throw new Error(`generator: ${path} written twice`);
    this.files.set(path, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  private fixture(category: Category, slug: string, input: string | Buffer, format: InputFormat, expect: Record<string, unknown>): string {
    const id = `${PREFIX[category]}${pad2(++this.counters[category])}-${slug}`;
    const ext = format === 'chain' || format === 'recorder' ? 'jsonl' : 'json';
    this.put(`${category}/${id}.${ext}`, input);
    const { notes, ...rest } = expect;
    const doc = { fixture_id: id, category, input_format: format, ...rest, ...(notes ? { notes } : {}) };
    this.put(`${category}/${id}.expect.json`, JSON.stringify(doc, null, 2) + '\n');
    return id;
  }

  accept(category: 'golden' | 'edge', slug: string, input: string | Buffer, a: Accept): string {
    return this.fixture(category, slug, input, a.format, {
      verdict: 'accept',
      description: a.description,
      expected_chain_length: a.chainLength,
      expected_signer_key: a.signerKey ?? this.keyA,
      ...(a.rootHash ? { expected_root_hash: a.rootHash } : {}),
      ...(a.config ? { verifier_config: a.config } : {}),
      notes: a.notes,
    });
  }

  reject(slug: string, input: string | Buffer, r: Reject): string {
    return this.fixture('malicious', slug, input, r.format, {
      verdict: 'reject',
      reject_reason: r.reason,
      description: r.description,
      ...(r.config ? { verifier_config: r.config } : {}),
      notes: r.notes,
    });
  }

  /** A key-material file outside the category folders; returns its path relative to a category folder. */
  key(name: string, text: string): string {
    this.put(`keys/${name}`, text);
    return `../keys/${name}`;
  }

  root(name: string, text: string): void {
    this.put(name, text);
  }
}

/** Generates the whole corpus: relative path → bytes. Pure: same output on every call. */
export function generateCorpus(): Map<string, Buffer> {
  const A = keyFrom(CORPUS_KEY_PHRASES.A);
  const B = keyFrom(CORPUS_KEY_PHRASES.B);
  const C = keyFrom(CORPUS_KEY_PHRASES.C);
  const K = new CorpusBuilder(A.publicKeyHex);
  const single = (over: Rec, signer: Signer = A, o: SealOptions = {}): Made => seal(canonAR(rec(over)), signer, o);

  // ===================== golden =====================

  const verdictSingles: [string, string, Rec][] = [
    ['allow-read', 'A clean HTTPS GET of public documentation, verdict allow.', { action_id: 'g-allow-0001', timestamp: tsAt(hms(10, 0)) }],
    [
      'block-dlp-write',
      'A POST to a paste site blocked by the DLP layer (pattern aws_access_key_id, severity critical), verdict block.',
      {
        action_id: 'g-block-0001',
        action_type: 'write',
        timestamp: tsAt(hms(10, 1)),
        target: 'https://paste.example.net/api/new',
        data_classes_out: ['credential'],
        side_effect_class: 'external_write',
        reversibility: 'irreversible',
        verdict: 'block',
        method: 'POST',
        layer: 'dlp',
        pattern: 'aws_access_key_id',
        severity: 'critical',
        request_id: 'req-g-block-0001',
      },
    ],
    [
      'warn-response-scan',
      'A GET whose response matched a prompt-injection phrase in observe mode, verdict warn.',
      { action_id: 'g-warn-0001', timestamp: tsAt(hms(10, 2)), target: 'https://blog.example.com/posts/42', verdict: 'warn', layer: 'response_scan', pattern: 'ignore_previous_instructions', severity: 'medium' },
    ],
    [
      'ask-hitl-intent',
      'A payment request deferred to a human (defer_id, layer hitl, decision_phase intent), verdict ask.',
      {
        action_id: 'g-ask-0001',
        action_type: 'spend',
        timestamp: tsAt(hms(10, 3)),
        target: 'https://billing.example.com/v2/charges',
        side_effect_class: 'financial',
        reversibility: 'compensatable',
        verdict: 'ask',
        decision_phase: 'intent',
        defer_id: 'defer-g-ask-0001',
        method: 'POST',
        layer: 'hitl',
      },
    ],
    [
      'strip-redaction',
      'A model call whose request body was redacted before forwarding (redaction summary with by_class counts), verdict strip.',
      {
        action_id: 'g-strip-0001',
        action_type: 'derive',
        timestamp: tsAt(hms(10, 4)),
        target: 'https://llm.example.ai/v1/chat/completions',
        data_classes_in: ['pii'],
        side_effect_class: 'external_write',
        reversibility: 'unknown',
        verdict: 'strip',
        method: 'POST',
        layer: 'redaction',
        redaction: { profile: 'default', provider: 'llm.example.ai', parser: 'openai_chat', total_redactions: 3, by_class: { email: 2, phone: 1 }, cache_boundary_kept: true },
      },
    ],
    [
      'forward-mcp-delegate',
      'An MCP tool call over stdio passed through to the tool server, verdict forward.',
      {
        action_id: 'g-forward-0001',
        action_type: 'delegate',
        timestamp: tsAt(hms(10, 5)),
        target: 'mcp://filesystem/read_file',
        side_effect_class: 'none',
        reversibility: 'full',
        verdict: 'forward',
        transport: 'mcp_stdio',
        method: 'tools/call',
      },
    ],
    [
      'redirect-plaintext-upgrade',
      'A plaintext HTTP login redirected to an audited handler, verdict redirect (a verdict outside the Pipelock-normalised six that passes through unchanged).',
      { action_id: 'g-redirect-0001', timestamp: tsAt(hms(10, 6)), target: 'http://legacy.example.org/login', intent: 'upgrade plaintext login', verdict: 'redirect', transport: 'http', layer: 'redirect_policy' },
    ],
  ];
  const goldenIds: Record<string, { id: string; made: Made; rec: Rec }> = {};
  for (const [slug, what, over] of verdictSingles) {
    const made = single(over);
    const id = K.accept('golden', slug, made.json, { format: 'receipt', description: `Single receipt: ${what}`, chainLength: 1, rootHash: made.hash });
    goldenIds[slug] = { id, made, rec: rec(over) };
  }

  const runBoundOver: Rec = { action_id: 'g-run-0001', timestamp: tsAt(hms(10, 7)), target: 'https://api.example.com/v1/status', run_nonce: nonce('g-run-bound') };
  const runBound = single(runBoundOver);
  const runBoundId = K.accept('golden', 'run-bound-single', runBound.json, {
    format: 'receipt',
    description: 'Single receipt carrying a run_nonce on the legacy genesis marker. As a lone receipt no run rules apply (receipts-v1 §6.6), so it is accepted; the same receipt as receipt 0 of a chain is a chain_break.',
    chainLength: 1,
    rootHash: runBound.hash,
  });

  const fullOver: Rec = {
    action_id: 'g-full-0001',
    parent_action_id: 'g-full-parent-0001',
    action_type: 'write',
    timestamp: tsAt(hms(10, 8)),
    target: 'https://api.example.com/v1/agents/spawn',
    intent: 'spawn a research subagent',
    data_classes_in: ['prompt', 'secret'],
    data_classes_out: ['summary'],
    side_effect_class: 'external_write',
    reversibility: 'compensatable',
    verdict: 'allow',
    decision_phase: 'outcome',
    defer_id: 'defer-g-full-0001',
    resolution_policy: 'operator_approval',
    resolution_source: 'hitl_console',
    session_id: 'agent-session-7',
    session_id_original: 'agent-session-6',
    session_taint_level: 'suspected',
    session_contaminated: true,
    recent_taint_sources: [
      { url: 'https://compromised.example.net/post/9', kind: 'response_injection', level: 4, timestamp: tsAt(hms(10, 7, 30)), receipt_id: 'g-full-taint-0001', match_reason: 'hidden_instruction' },
    ],
    session_task_id: 'task-7f00',
    session_task_label: 'research-and-summarise',
    authority_kind: 'delegated',
    taint_decision: 'allow_with_constraints',
    taint_decision_reason: 'task_scope_permits_write',
    task_override_applied: true,
    contract_winning_source: 'operator_policy',
    contract_live_verdict: 'allow',
    contract_policy_sources: ['operator_policy', 'org_default'],
    contract_rule_id: 'rule-write-allow-3',
    active_manifest_hash: 'sha256:' + sha256Hex('corpus manifest'),
    contract_hash: 'sha256:' + sha256Hex('corpus contract'),
    contract_selector_id: 'selector-corpus-1',
    contract_generation: 7,
    method: 'POST',
    layer: 'tool_policy',
    pattern: 'spawn_subagent',
    severity: 'low',
    redaction: { profile: 'strict', provider: 'api.example.com', parser: 'json', total_redactions: 2, by_class: { api_key: 1, email: 1 }, cache_boundary_kept: true },
    shield: {
      pipeline: 'browser_shield_v1',
      total_rewrites: 9,
      extension_probes: 1,
      tracking_beacons: 2,
      agent_traps: 1,
      fingerprint_shim_injected: true,
      svg_foreign_objects: 1,
      svg_event_handlers: 2,
      svg_external_references: 3,
      svg_hidden_text: 4,
      svg_animation_injections: 5,
      body_bytes: 65536,
      scanned_bytes: 65536,
      partial: true,
      adaptive_signals_recorded: 6,
      adaptive_signal_max_per_body: 16,
    },
    request_id: 'req-g-full-0001',
    run_nonce: nonce('g-full'),
    venue: 'eu-west',
    jurisdiction: 'operator-default',
    rulebook_id: 'rulebook-corpus-1',
    remedy_class: 'compensate',
    contestation_window: '72h',
    precedent_refs: ['precedent-1', 'precedent-2'],
  };
  const full = single(fullOver);
  K.accept('golden', 'full-field-single', full.json, {
    format: 'receipt',
    description: 'Single receipt with every ActionRecord member of receipts-v1 §3.1 populated with a non-zero value, nested objects included (key_transition and session_control excepted; they are covered by the chain fixtures).',
    chainLength: 1,
    rootHash: full.hash,
  });

  // Emitter-written chains (RecorderChainWriter): the project's own emitter output must verify.
  {
    let t = hms(10, 10);
    const w = new RecorderChainWriter(A, { profile: 'legacy', format: 'bare', clock: () => tsAt(t++), actionIdPrefix: 'g-legacy', principal: 'org:egress-verify-corpus', actor: 'agent:corpus-runner', policyHash: POLICY });
    const ds: Decision[] = [
      { action_type: 'read', target: 'https://docs.example.org/a', verdict: 'allow', transport: 'https', method: 'GET' },
      { action_type: 'read', target: 'https://docs.example.org/b', verdict: 'allow', transport: 'https', method: 'GET' },
      { action_type: 'write', target: 'https://paste.example.net/api/new', verdict: 'block', transport: 'https', method: 'POST', side_effect_class: 'external_write', reversibility: 'irreversible', layer: 'dlp', pattern: 'private_key_pem' },
      { action_type: 'read', target: 'https://blog.example.com/posts/7', verdict: 'warn', transport: 'https', method: 'GET', layer: 'response_scan' },
      { action_type: 'read', target: 'https://docs.example.org/c', verdict: 'allow', transport: 'https', method: 'GET' },
      { action_type: 'delegate', target: 'mcp://search/query', verdict: 'forward', transport: 'mcp_http', method: 'tools/call', side_effect_class: 'none' },
    ];
    const lines = [...w.open(), ...ds.flatMap((d) => w.record(d)), ...w.close()];
    K.accept('golden', 'legacy-bare-chain', jsonl(lines), {
      format: 'chain',
      description: 'Six bare receipts, one per line, in the legacy profile (chain_prev_hash "genesis" on receipt 0, no run_nonce, no session control), written by the project\'s own emitter (RecorderChainWriter, legacy profile, bare format).',
      chainLength: w.count,
      rootHash: w.rootHash,
    });
  }
  {
    let t = hms(10, 12);
    const w = new RecorderChainWriter(A, {
      profile: 'session',
      format: 'recorder',
      sessionId: 'proxy',
      clock: () => tsAt(t++),
      runNonce: nonce('g-emitter run'),
      openNonce: nonce('g-emitter open'),
      checkpointInterval: 3,
      actionIdPrefix: 'g-emit',
      principal: 'org:egress-verify-corpus',
      actor: 'agent:corpus-runner',
      policyHash: POLICY,
    });
    const ds: Decision[] = [0, 1, 2, 3, 4].map((i) => ({ action_type: 'read', target: `https://api.example.com/v1/items/${i}`, verdict: i === 3 ? 'warn' : 'allow', transport: 'https', method: 'GET' }));
    const lines = [...w.open(), ...ds.flatMap((d) => w.record(d)), ...w.close()];
    K.accept('golden', 'emitter-session-recorder', jsonl(lines), {
      format: 'recorder',
      description: 'Flight-recorder file in the session profile written by the project\'s own emitter (RecorderChainWriter): g1 session_open, five decisions, session_close, transcript_root, and a signed checkpoint every three entries plus a final one.',
      chainLength: w.count,
      rootHash: w.rootHash,
    });
  }

  // The full session-profile recorder file, built by this generator.
  const RUN_G = nonce('g-session run');
  const OPEN_G = nonce('g-session open');
  const buildSession = (o: { tamperIndex?: number; transcript?: { receipt_count?: number; root_hash?: string } } = {}): { rec: Recorder; chain: Chain } => {
    const c = new Chain(A, 'g-sess', hms(10, 20));
    const r = new Recorder('proxy', tsAt(hms(10, 20)));
    const ev = evidenceSeries(A, 'g-sess', [tsAt(hms(10, 20, 2)), tsAt(hms(10, 20, 6)), tsAt(hms(10, 20, 9))]);
    const put = (item: Item): void => {
      if (o.tamperIndex === c.items.length - 1) {
        const detail = item.made.json.replace('"verdict":"block"', '"verdict":"allow"');
        if (detail === item.made.json) throw new Error('generator: the tampered receipt is not a block');
        r.receipt(item, { detail });
      } else r.receipt(item);
    };
    put(c.openG1(RUN_G, OPEN_G));
    put(c.add({ action_id: 'g-sess-act-1', decision_phase: 'intent', target: 'https://api.example.com/v1/search?q=receipts' }));
    r.evidence(ev[0]!);
    put(c.add({ action_id: 'g-sess-act-1', decision_phase: 'outcome', target: 'https://api.example.com/v1/search?q=receipts', layer: 'response_scan' }));
    r.checkpoint(A);
    put(
      c.add({
        action_id: 'g-sess-act-2',
        action_type: 'write',
        target: 'https://paste.example.net/api/new',
        side_effect_class: 'external_write',
        reversibility: 'irreversible',
        verdict: 'block',
        method: 'POST',
        layer: 'dlp',
        pattern: 'github_token',
        severity: 'high',
      }),
    );
    r.evidence(ev[1]!);
    put(c.heartbeat(1));
    put(c.add({ action_id: 'g-sess-act-3', action_type: 'spend', target: 'https://billing.example.com/v2/charges', side_effect_class: 'financial', reversibility: 'compensatable', verdict: 'ask', decision_phase: 'intent', defer_id: 'defer-g-sess-1', method: 'POST', layer: 'hitl' }));
    put(
      c.add({
        action_id: 'g-sess-act-3',
        action_type: 'spend',
        target: 'https://billing.example.com/v2/charges',
        side_effect_class: 'financial',
        reversibility: 'compensatable',
        verdict: 'allow',
        decision_phase: 'outcome',
        defer_id: 'defer-g-sess-1',
        resolution_policy: 'operator_approval',
        resolution_source: 'hitl_console',
        method: 'POST',
        layer: 'hitl',
      }),
    );
    r.evidence(ev[2]!);
    put(c.add({ action_id: 'g-sess-act-4', target: 'https://blog.example.com/posts/99', verdict: 'warn', layer: 'response_scan', pattern: 'hidden_text' }));
    r.checkpoint(A);
    put(c.close());
    r.transcriptRoot(c, o.transcript);
    r.checkpoint(A);
    return { rec: r, chain: c };
  };
  const session = buildSession();
  const sessionId = K.accept('golden', 'session-recorder-full', session.rec.text(), {
    format: 'recorder',
    description:
      'Session-profile flight-recorder file (v2 entries, recorder session "proxy"): g1 session_open, an intent/outcome pair sharing one action_id, a DLP block, a heartbeat, an ask resolved by a human (intent/outcome pair with defer_id), a warn and a session_close; three interleaved evidence_receipt entries (EvidenceReceipt v2 objects, hashed in the entry chain but not verified), three signed checkpoints and a transcript_root.',
    chainLength: session.chain.items.length,
    rootHash: session.chain.rootHash,
    notes: 'The report carries the note that 3 evidence_receipt entries are present and not verified (receipts-v1 §10).',
  });

  {
    const c = new Chain(A, 'g-pair', hms(10, 25));
    const X = 'https://docs.example.org/pairs/x';
    const Y = 'https://api.example.com/v1/export';
    c.add({ action_id: 'g-pair-act-1', decision_phase: 'intent', target: X });
    c.add({ action_id: 'g-pair-act-1', decision_phase: 'outcome', target: X, layer: 'response_scan' });
    c.add({ action_id: 'g-pair-act-2', decision_phase: 'intent', target: Y });
    c.add({ action_id: 'g-pair-act-2', decision_phase: 'outcome', target: Y, verdict: 'block', layer: 'response_dlp', pattern: 'credit_card_number', severity: 'high' });
    c.add({ action_id: 'g-pair-act-3', decision_phase: 'intent', target: Y });
    c.add({ action_id: 'g-pair-act-3', decision_phase: 'outcome', target: Y });
    K.accept('golden', 'intent-outcome-pairs-chain', jsonl(c.receipts), {
      format: 'chain',
      description:
        'Legacy bare chain of three intent/outcome pairs, each pair sharing one action_id (the replay key is action_id plus decision_phase, receipts-v1 §6.9). The second pair\'s outcome is a response-side block (layer response_dlp, phase outcome) and the same request is allowed one second later; that is not a verdict_chain_mismatch because an outcome block is never the blocked half (§9.6).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }

  // Key rotation authorised by an endorsement file (§6.7).
  const ROT_SESSION = 'corpus-rotation';
  const buildRotation = (o: { successor?: Signer; oldKeyAfter?: boolean; session?: string; openSession?: string } = {}) => {
    const next = o.successor ?? B;
    const c = new Chain(A, 'g-rot', hms(10, 30), o.openSession ?? ROT_SESSION);
    const r = new Recorder(o.session ?? ROT_SESSION, tsAt(hms(10, 30)));
    r.receipt(c.openG1(nonce('rot run 1'), nonce('rot open 1')));
    r.receipt(c.add({ target: 'https://api.example.com/v1/rot/a' }));
    r.receipt(c.add({ target: 'https://api.example.com/v1/rot/b' }));
    r.checkpoint(A);
    const close1 = c.close();
    r.receipt(close1);
    const rotatedAt = tsAt(c.clock);
    r.receipt(c.rotate(next, { run: nonce('rot run 2'), open: nonce('rot open 2') }));
    r.receipt(c.add({ target: 'https://api.example.com/v1/rot/c' }));
    if (o.oldKeyAfter) r.receipt(c.add({ target: 'https://api.example.com/v1/rot/d' }, { signer: A }));
    else {
      r.receipt(c.heartbeat(1));
      r.receipt(c.add({ target: 'https://api.example.com/v1/rot/d' }));
      r.receipt(c.close());
      r.transcriptRoot(c);
    }
    return {
      chain: c,
      rec: r,
      endorsement: (successor: Signer = next, sessionName = ROT_SESSION) =>
        endorsementFile(A, { sessionId: sessionName, priorFinalSeq: BigInt(close1.rec.chain_seq as bigint), priorTailHash: close1.made.hash, newSignerKey: successor.publicKeyHex, rotatedAt }),
    };
  };
  const rotation = buildRotation();
  const rotAB = K.key('rotation-a-to-b.endorsement.json', rotation.endorsement());
  K.accept('golden', 'rotation-endorsed-recorder', rotation.rec.text(), {
    format: 'recorder',
    description:
      'Recorder file (session "corpus-rotation") whose chain rotates from key A to key B: run 1 (g1 session_open, two decisions, session_close) signed by A, then a receipt carrying key_transition that is also the restart session_open of run 2, signed by B, then a decision, a heartbeat, another decision and the run 2 session_close (receipt_count counts key segment B only). The successor is authorised by keys/rotation-a-to-b.endorsement.json, signed by A; only A is pinned.',
    chainLength: rotation.chain.items.length,
    rootHash: rotation.chain.rootHash,
    config: { pinned_keys: [A.publicKeyHex], rotation_endorsements: [rotAB], recorder_session_id: ROT_SESSION },
    notes: 'The only checkpoint precedes the rotation and is signed by A, the single pinned key (receipts-v1 §7.6).',
  });

  {
    const c = new Chain(A, 'g-pin', hms(10, 35));
    c.openG1(nonce('pin run 1'), nonce('pin open 1'));
    c.add({ target: 'https://api.example.com/v1/pin/a' });
    c.close();
    c.rotate(B, { run: nonce('pin run 2'), open: nonce('pin open 2') });
    c.add({ target: 'https://api.example.com/v1/pin/b' });
    c.close();
    K.accept('golden', 'rotation-pinned-chain', jsonl(c.receipts), {
      format: 'chain',
      description: 'Bare session-profile chain rotating from key A to key B (key_transition on the restart session_open of run 2), authorised because both keys are pinned (the pinned-set trust model of receipts-v1 §6.7); no endorsement is supplied.',
      chainLength: c.items.length,
      rootHash: c.rootHash,
      config: { pinned_keys: [A.publicKeyHex, B.publicKeyHex] },
    });
  }

  {
    const c = new Chain(A, 'g-multi', hms(10, 40));
    const r = new Recorder('proxy', tsAt(hms(10, 40)));
    r.receipt(c.openG1(nonce('multi run 1'), nonce('multi open 1')));
    r.receipt(c.add({ target: 'https://api.example.com/v1/multi/a' }));
    r.receipt(c.add({ target: 'https://api.example.com/v1/multi/b' }));
    r.receipt(c.close());
    r.checkpoint(A);
    r.receipt(c.restartOpen(nonce('multi run 2'), nonce('multi open 2')));
    r.receipt(c.add({ target: 'https://api.example.com/v1/multi/c' }));
    r.receipt(c.heartbeat(1));
    r.receipt(c.add({ target: 'https://api.example.com/v1/multi/d' }));
    r.receipt(c.close());
    r.transcriptRoot(c);
    r.checkpoint(A);
    const restartSeq = c.items[4]!.rec.chain_seq as bigint;
    const closeCount = ((c.last.rec.session_control as Rec).close as Rec).receipt_count as bigint;
    K.accept('golden', 'multi-run-restart-recorder', r.text(), {
      format: 'recorder',
      description: `Recorder file with two runs in one key segment: run 1 (g1 session_open, two decisions, session_close), then a restart session_open of run 2 at chain_seq ${restartSeq} (prior_chain_head and prior_chain_seq naming the run 1 close, no genesis_hash), a decision, a heartbeat, a decision and a session_close whose receipt_count (${closeCount}) counts the whole key segment, both runs included (receipts-v1 §6.5).`,
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }

  // ===================== edge =====================

  {
    const over: Rec = {
      action_id: 'e-html-0001',
      timestamp: tsAt(hms(11, 0)),
      principal: "org:o'brien/ops",
      target: 'https://shop.example.com/search?q=<script>&lang=en',
      intent: 'compare <b>prices</b> & totals \u2028 line \u2029 paragraph',
    };
    const m = single(over, A, { inputAr: enc(ordered(rec(over), AR_ORDER, 'ar'), false) });
    K.accept('edge', 'html-escapes-raw-input', m.json, {
      format: 'receipt',
      description: 'Strings holding raw <, >, &, U+2028 and U+2029 (and an unescaped apostrophe and slash) in the input. The canonical bytes escape the first five as \\u003c \\u003e \\u0026 \\u2028 \\u2029 and keep \' and / raw (receipts-v1 §4.3).',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = { action_id: 'e-spell-0001', timestamp: tsAt(hms(11, 1)), intent: 'A/B "quoted" back\\slash \u00e9 <x>' };
    const input = enc(ordered({ ...rec(over), intent: raw('"\\u0041\\/B \\"quoted\\" back\\\\slash \\u00E9 \\u003Cx\\u003E"') }, AR_ORDER, 'ar'), false);
    const m = single(over, A, { inputAr: input });
    K.accept('edge', 'escape-spellings', m.json, {
      format: 'receipt',
      description: 'An intent written with escape spellings that decode to plain characters: \\u0041, an escaped solidus \\/, \\" and \\\\, uppercase-hex \\u00E9 and \\u003C / \\u003E. Signed over the decoded value: canonical bytes write A, / and é raw and < > as lowercase \\u003c \\u003e (receipts-v1 §4.3).',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = { action_id: 'e-ctl-0001', timestamp: tsAt(hms(11, 2)), intent: 'line1\tcol2\nline2\r\nend', pattern: 'tab\there' };
    const input = enc(ordered({ ...rec(over), intent: raw('"line1\\u0009col2\\u000Aline2\\u000d\\nend"'), pattern: raw('"tab\\there"') }, AR_ORDER, 'ar'), false);
    const m = single(over, A, { inputAr: input });
    K.accept('edge', 'tab-lf-cr-allowed', m.json, {
      format: 'receipt',
      description: 'TAB, LF and CR inside signed strings, given as \\u0009, \\u000A, \\u000d and \\n / \\t in the input. They are the only C0 controls that are not header_injection (receipts-v1 §9.2); canonical bytes use the short escapes \\t \\n \\r.',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = {
      action_id: 'e-utf8-0001',
      timestamp: tsAt(hms(11, 3)),
      actor: 'agent:\u00fcn\u00efc\u00f8d\u00e9-\u{1F916}',
      target: 'https://例え.jp/パス?q=\u00e9',
      intent: 'del \u007f, replacement \ufffd, private use \ue000, astral \u{1D11E}',
    };
    const input = enc(ordered({ ...rec(over), actor: raw('"agent:\\u00fcn\\u00efc\\u00f8d\\u00e9-\\ud83e\\udd16"'), intent: raw('"del \\u007f, replacement \\ufffd, private use \\ue000, astral \\ud834\\udd1e"') }, AR_ORDER, 'ar'), false);
    const m = single(over, A, { inputAr: input });
    K.accept('edge', 'non-ascii-raw-in-canonical', m.json, {
      format: 'receipt',
      description: 'Non-ASCII text (Latin-1, CJK, U+007F, U+FFFD, U+E000, and the astral U+1F916 and U+1D11E given as surrogate-pair escapes) in the input. Canonical bytes write every one of them as raw UTF-8, never as \\u escapes; U+007F is not a header_injection control (receipts-v1 §4.3, §9.2).',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const byClass = { '\u{1F511}': 1, '\ue000': 2, api_key: 1, Zeta: 1, 'a&b': 1, zero: 0 };
    const over: Rec = { action_id: 'e-map-0001', timestamp: tsAt(hms(11, 4)), verdict: 'strip', redaction: { total_redactions: 6, by_class: byClass } };
    const input = enc(
      ordered({ ...rec(over), redaction: raw('{"by_class":{"\\ud83d\\udd11":1,"\\ue000":2,"api_key":1,"Zeta":1,"a&b":1,"zero":0},"total_redactions":6}') }, AR_ORDER, 'ar'),
      false,
    );
    const m = single(over, A, { inputAr: input });
    K.accept('edge', 'by-class-code-point-order', m.json, {
      format: 'receipt',
      description:
        'redaction.by_class with keys U+1F511 (astral, given as a surrogate-pair escape), U+E000 (escaped), "api_key", "Zeta", "a&b" and "zero" (value 0, kept: omitempty applies to the map, not its entries). Canonical order is by code point: Zeta, a\\u0026b, api_key, zero, U+E000, U+1F511 - JavaScript\'s default UTF-16 sort would put U+1F511 before U+E000 (receipts-v1 §4.7). The redaction members are also given out of struct order.',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = {
      action_id: 'e-frac-0001',
      timestamp: '2026-04-15T11:05:00.25Z',
      session_taint_level: 'suspected',
      recent_taint_sources: [
        { url: 'https://a.example/1', kind: 'response_injection', level: 2, timestamp: '2026-04-15T11:04:59.123456789Z' },
        { url: 'https://a.example/2', kind: 'operator_mark', level: 0, timestamp: '0001-01-01T00:00:00Z' },
      ],
    };
    const m = single(over);
    K.accept('edge', 'fractional-timestamps', m.json, {
      format: 'receipt',
      description: 'A timestamp with a two-digit fraction (.25) and a taint-source timestamp with nine fraction digits, both already in Go\'s rendered form; a second taint source carries the zero time, which is legal there (receipts-v1 §3.2, §4.6). level 0 is written because level is not omitempty.',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = {
      action_id: 'e-offset-0001',
      timestamp: '2026-04-15T04:06:00-07:00',
      recent_taint_sources: [{ url: 'https://b.example/1', kind: 'response_injection', level: 1, timestamp: '2026-04-15T16:36:00.5+05:30' }],
    };
    const m = single(over);
    K.accept('edge', 'offset-timestamps', m.json, {
      format: 'receipt',
      description: 'Timestamps with non-zero UTC offsets (-07:00 on the receipt, +05:30 with a .5 fraction on a taint source). The offset is kept in the canonical bytes, not converted to UTC (receipts-v1 §4.6); freshness uses the instant (11:06 UTC).',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = { action_id: 'e-omit-0001', timestamp: tsAt(hms(11, 7)) };
    const zeros: Rec = {
      precedent_refs: [],
      session_control: null,
      key_transition: null,
      run_nonce: '',
      request_id: '',
      shield: null,
      redaction: null,
      layer: '',
      contract_generation: 0,
      contract_policy_sources: null,
      task_override_applied: false,
      recent_taint_sources: [],
      session_contaminated: false,
      decision_phase: '',
      data_classes_out: null,
      data_classes_in: [],
      intent: '',
      parent_action_id: '',
    };
    const base = ordered(rec(over), AR_ORDER, 'ar');
    const shuffled: Rec = {};
    for (const k of [...Object.keys(base)].reverse()) shuffled[k] = base[k];
    const input = pretty({ ...zeros, ...shuffled });
    const m = single(over, A, { inputAr: input });
    K.accept('edge', 'omitempty-zero-values-present', m.json, {
      format: 'receipt',
      description:
        'The action_record is pretty-printed, in reverse member order, and carries omitempty members with their zero values ("", 0, false, [], null for arrays and nested objects). All of them are dropped from the canonical bytes, which are the same as for the record without them (receipts-v1 §4.4); whitespace and member order of the input do not matter.',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const over: Rec = { action_id: 'e-empty-0001', timestamp: tsAt(hms(11, 8)), redaction: {}, shield: {} };
    const input = enc(ordered({ ...rec(over), redaction: raw('{"by_class":{},"total_redactions":0,"cache_boundary_kept":false}'), shield: raw('{}') }, AR_ORDER, 'ar'), false);
    const m = single(over, A, { inputAr: input });
    K.accept('edge', 'present-empty-objects-kept', m.json, {
      format: 'receipt',
      description: 'redaction present with only zero-valued members (by_class {}, 0, false) and shield as {}. A present nested object is never omitted: both canonicalise to {} ("redaction":{},"shield":{}) while their zero members are dropped (receipts-v1 §3.9, §4.4).',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  const delegationCases: [string, V, string][] = [
    ['delegation-chain-empty-array', [], '[] (kept as [] in the canonical bytes, not turned into null or dropped)'],
    ['delegation-chain-null', null, 'null (kept as null in the canonical bytes, not turned into [] or dropped)'],
  ];
  for (const [slug, value, what] of delegationCases) {
    const m = single({ action_id: `e-${slug}`, timestamp: tsAt(hms(11, 9)), delegation_chain: value });
    K.accept('edge', slug, m.json, { format: 'receipt', description: `delegation_chain is ${what}; it is not omitempty and the two values stay distinct (receipts-v1 §3.1, §4.4).`, chainLength: 1, rootHash: m.hash });
  }
  {
    const m = single({ action_id: 'e-ext-null-0001', timestamp: tsAt(hms(11, 10)) }, A, { ext: 'null' });
    K.accept('edge', 'ext-null-single', m.json, {
      format: 'receipt',
      description: 'A single receipt whose unsigned ext is null: ext is the one tolerated extra top-level member, present even when null (receipts-v1 §2).',
      chainLength: 1,
    });
  }
  {
    const c = new Chain(A, 'e-extk', hms(11, 11));
    for (const ext of ['null', '0', '""', '{}', '[]', 'false']) c.add({}, { seal: () => ({ ext }) });
    c.add();
    K.accept('edge', 'ext-kinds-chain', jsonl(c.receipts), {
      format: 'chain',
      description: 'Legacy chain of seven receipts; the first six carry ext values null, 0, "", {}, [] and false. Each is present and therefore part of the receipt hash (receipts-v1 §2, §5.3): every following chain_prev_hash was computed over the envelope including ext, so the chain links only if ext is hashed.',
      chainLength: c.items.length,
    });
  }
  {
    const nested =
      '{\r\n\t"vendor": "corpus <tag> & co\u2028end",\n  "escapes": "\\/path \\u0041\\u00E9 \\"q\\" \\u003c",\n  "numbers": [1.50, 1e+06, -0, 1E-7, 123456789012345678901234567890, -12.0e-3],\n  "flags": {"z": true, "a": false, "m": null},\n  "empty": {"obj": {}, "arr": [ ]}\n}';
    const c = new Chain(A, 'e-extn', hms(11, 12));
    c.add({}, { seal: () => ({ ext: nested }) });
    c.add({}, { seal: () => ({ ext: '{ "k" : "v & w" }' }) });
    c.add();
    K.accept('edge', 'ext-nested-hashed-in-bundle', `{"declared_receipt_count": 3, "receipts": [\n${c.receipts.join(',\n')}\n]}\n`, {
      format: 'receipt_bundle',
      description:
        'A receipt bundle (a single document, so the ext may span lines) of a 3-receipt chain. Receipt 0 carries a nested ext laid out with CR, LF, TAB and spaces, holding raw <, >, & and U+2028 inside strings, escapes (\\/ \\u0041 uppercase \\u00E9 \\u003c) and number spellings (1.50, 1e+06, -0, 1E-7, a 30-digit integer, -12.0e-3); receipt 1 a small ext with spaces. The next receipts link to hashes over ext compacted per receipts-v1 §4.8: whitespace outside strings removed, raw < > & U+2028 escaped inside strings, everything else verbatim.',
      chainLength: c.items.length,
    });
  }
  {
    const m = single({ action_id: 'e-depth-0001', timestamp: tsAt(hms(11, 13)) }, A, { ext: '['.repeat(127) + ']'.repeat(127) });
    K.accept('edge', 'ext-depth-128', m.json, {
      format: 'receipt',
      description: 'ext holds 127 nested arrays, so the deepest container is at depth 128 counting the receipt object as depth 1: the maximum allowed nesting (receipts-v1 §8 rule 5).',
      chainLength: 1,
    });
  }
  {
    const c = new Chain(A, 'e-extr', hms(11, 14));
    const r = new Recorder('proxy', tsAt(hms(11, 14)));
    const ext = '{"trace": {"span": "0af7651916cd43dd", "sampled": true}, "note": "a < b"}';
    r.receipt(c.add({}, { seal: () => ({ ext }) }));
    r.receipt(c.add());
    r.receipt(c.add());
    K.accept('edge', 'ext-in-recorder-detail', r.text(), {
      format: 'recorder',
      description: 'Recorder file whose first action_receipt detail carries an ext with spaces and a raw "<". The entry hash covers the detail bytes verbatim (receipts-v1 §7.3), while the next receipt links to the receipt hash over the compacted, escaped ext (§4.8).',
      chainLength: c.items.length,
    });
  }
  {
    const max = 18446744073709551615n;
    const m = single({ action_id: 'e-u64-0001', timestamp: tsAt(hms(11, 15)), chain_prev_hash: sha256Hex('e-u64 previous'), chain_seq: max, contract_generation: max });
    K.accept('edge', 'chain-seq-max-uint64-single', m.json, {
      format: 'receipt',
      description: 'A lone receipt with chain_seq and contract_generation 18446744073709551615 (2^64-1), beyond 2^53: integers must be read losslessly (receipts-v1 §3.7). Single-receipt verification applies no chain rules, so the non-zero chain_seq and hex chain_prev_hash are fine.',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const m = single({
      action_id: 'e-ints-0001',
      timestamp: tsAt(hms(11, 16)),
      recent_taint_sources: [{ url: 'https://c.example/1', kind: 'k', level: 255, timestamp: tsAt(hms(11, 15)) }],
      redaction: { total_redactions: -9223372036854775808n, by_class: { negative: -1, max: 9223372036854775807n } },
      shield: { total_rewrites: 9223372036854775807n, body_bytes: -1 },
    });
    K.accept('edge', 'integer-extremes-single', m.json, {
      format: 'receipt',
      description: 'Integer range edges in signed fields: level 255 (uint8 maximum), total_redactions -2^63 and total_rewrites 2^63-1 (int range), negative ints and by_class values (receipts-v1 §3.7, §4.5).',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const c = new Chain(A, 'e-crlf', hms(11, 17));
    const r = new Recorder('proxy', tsAt(hms(11, 17)));
    r.receipt(c.openG1(nonce('crlf run'), nonce('crlf open')));
    r.receipt(c.add());
    r.receipt(c.add({ target: 'https://docs.example.org/other' }));
    r.receipt(c.close());
    r.transcriptRoot(c);
    r.checkpoint(A);
    K.accept('edge', 'recorder-crlf-lines', r.text('\r\n'), {
      format: 'recorder',
      description: 'A session-profile recorder file whose lines end in CR LF. The CR before each LF is stripped before parsing and is not part of any hash (receipts-v1 §7.2).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-nolf', hms(11, 18));
    c.add();
    c.add({ target: 'https://docs.example.org/second' });
    c.add({ target: 'https://docs.example.org/third' });
    K.accept('edge', 'chain-no-final-lf', jsonl(c.receipts, '\n', false), {
      format: 'chain',
      description: 'Bare chain whose last line has no terminating LF but is complete: it is read like any other line, not treated as a torn tail (receipts-v1 §7.2, §9.3).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-nolfr', hms(11, 19));
    const r = new Recorder('proxy', tsAt(hms(11, 19)));
    r.receipt(c.add());
    r.receipt(c.add({ target: 'https://docs.example.org/second' }));
    r.checkpoint(A);
    K.accept('edge', 'recorder-no-final-lf', r.text('\n', false), {
      format: 'recorder',
      description: 'Recorder file (legacy receipts and a checkpoint) whose final line, the checkpoint, has no LF but parses: it is verified normally (receipts-v1 §7.2).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const m = single({ action_id: 'e-pad-0001', timestamp: tsAt(hms(11, 20)) });
    const body = spaceOut(m.canonical);
    const declared = Buffer.byteLength(m.canonical, 'utf8');
    K.accept('edge', 'padded-wrapper-exact-length', `{\n  "body": ${body},\n  "declared_length": ${declared}\n}\n`, {
      format: 'receipt',
      description: `A padded receipt wrapper {body, declared_length} whose body is written with whitespace; declared_length ${declared} equals the body\'s length with whitespace outside strings removed, so the body is verified as a single receipt (receipts-v1 §9.4).`,
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const c = new Chain(A, 'e-bundle', hms(11, 21));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c' });
    K.accept('edge', 'receipt-bundle-exact-count', `{"declared_receipt_count": 3, "receipts": [\n${c.receipts.join(',\n')}\n]}\n`, {
      format: 'receipt_bundle',
      description: 'A receipt bundle {declared_receipt_count, receipts} whose count 3 matches its array; the array is verified as a chain in array order (receipts-v1 §9.4).',
      chainLength: 3,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-fresh', hms(11, 22));
    c.add({ timestamp: '2025-04-15T12:00:00Z' });
    c.add({ timestamp: tsAt(NOW_SECONDS + 900), target: 'https://docs.example.org/future' });
    K.accept('edge', 'freshness-boundaries-chain', jsonl(c.receipts), {
      format: 'chain',
      description: 'Two receipts exactly on the conformance profile\'s freshness limits: one exactly 8760 h before the frozen clock 2026-04-15T12:00:00Z and one exactly 900 s after it. Both boundaries are inclusive (receipts-v1 §9.1).',
      chainLength: 2,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-forms', hms(11, 23));
    const r = new Recorder('proxy', tsAt(hms(11, 23)));
    r.decision('decision: allow read https', '{ "note" : "free-form detail, hashed verbatim" }', { v: 1, ts: '2026-04-15T16:53:00.250+05:30', tsHash: '2026-04-15T11:23:00.25Z' });
    r.receipt(c.add(), { traceId: 'trace-e-forms-1', rawRef: 'evidence-proxy-1.raw.enc' });
    r.receipt(c.add({ target: 'https://docs.example.org/v1-entry' }), { v: 1 });
    r.decision('decision: note', undefined, { extra: ',"writer_note":"unknown members are ignored and not hashed"' });
    r.receipt(c.add({ target: 'https://docs.example.org/last' }));
    r.checkpoint(A);
    K.accept('edge', 'recorder-entry-forms', r.text(), {
      format: 'recorder',
      description:
        'Recorder entries of mixed versions and shapes: a v1 decision entry with an event_kind (not hashed in v1) and a ts with offset +05:30 and fraction .250 (hashed as 2026-04-15T11:23:00.25Z), a v2 receipt entry with trace_id and raw_ref, a v1 receipt entry, a v2 entry with no detail (hashed as null) and an unknown member writer_note (ignored, not hashed), then a receipt and a checkpoint (receipts-v1 §7.2-§7.4).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-v3', hms(11, 24));
    const r = new Recorder('proxy', tsAt(hms(11, 24)));
    r.defaults = { v: 3, chainKind: 'recorder', writer: 'corpus-writer-1' };
    r.receipt(c.openG1(nonce('v3 run'), nonce('v3 open')));
    r.receipt(c.add());
    r.decision('decision: allow read https', '{}');
    r.receipt(c.close());
    r.checkpoint(A);
    K.accept('edge', 'recorder-v3-entries', r.text(), {
      format: 'recorder',
      description: 'A recorder file of v3 entries only: chain_kind "recorder" and writer_instance_id "corpus-writer-1" on every entry, both part of the v3 entry hash between session_id and trace_id (receipts-v1 §7.2, §7.3).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-detail', hms(11, 25));
    const r = new Recorder('proxy', tsAt(hms(11, 25)));
    const first = c.add();
    const reordered = `{ "signer_key": ${JSON.stringify(first.made.key)},\t"signature": ${JSON.stringify(first.made.signature)}, "action_record": ${spaceOut(first.made.canonical.slice('{"version":1,"action_record":'.length, first.made.canonical.indexOf(',"signature":')), ' ')}, "version": 1 }`;
    r.receipt(first, { detail: reordered });
    r.receipt(c.add({ target: 'https://docs.example.org/after' }));
    K.accept('edge', 'recorder-detail-not-canonical', r.text(), {
      format: 'recorder',
      description: 'The first action_receipt detail is the receipt with its envelope members in reverse order and spaces and a TAB between tokens. The entry hash covers those bytes verbatim, but the receipt hash - which the next chain_prev_hash names - is recomputed over the canonical envelope, never taken from the detail bytes (receipts-v1 §5.3, §7.3).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const c = new Chain(A, 'e-after', hms(11, 26));
    c.openG1(nonce('after run'), nonce('after open'));
    c.add();
    c.close();
    c.run = '';
    c.add({ target: 'https://docs.example.org/no-run-1' });
    c.add({ target: 'https://docs.example.org/no-run-2' });
    K.accept('edge', 'legacy-receipts-after-close', jsonl(c.receipts), {
      format: 'chain',
      description: 'A run (g1 session_open, one decision, session_close) followed by two receipts without run_nonce: receipts that belong to no run are allowed anywhere, even after a close (receipts-v1 §6.5 rule 1).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }
  {
    const over: Rec = { action_id: 'e-upper-0001', timestamp: tsAt(hms(11, 27)) };
    const ar = canonAR(rec(over));
    const sig = signatureOver(A, ar);
    const m = seal(ar, A, { signature: 'ed25519:' + sig.slice(8).toUpperCase() });
    K.accept('edge', 'signature-uppercase-hex', m.json, {
      format: 'receipt',
      description: 'The signature hex digits are uppercase. Hex decoding is case-insensitive, so the signature verifies (receipts-v1 §1, §5.2); the receipt hash covers the signature string exactly as written.',
      chainLength: 1,
      rootHash: m.hash,
    });
  }
  {
    const c = new Chain(A, 'e-legrot', hms(11, 28));
    c.add();
    c.add({ target: 'https://docs.example.org/legrot/b' });
    c.rotate(B, { over: { target: 'https://docs.example.org/legrot/c' } });
    c.add({ target: 'https://docs.example.org/legrot/d' });
    K.accept('edge', 'legacy-rotation-pinned', jsonl(c.receipts), {
      format: 'chain',
      description: 'Legacy-profile chain (no runs, no session control) rotating from key A to key B at receipt 2 (key_transition, chain_seq restarting at 0, chain_prev_hash continuing across the boundary); both keys pinned (receipts-v1 §6.3, §6.7).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
      config: { pinned_keys: [A.publicKeyHex, B.publicKeyHex] },
    });
  }
  {
    const c = new Chain(A, 'e-heur', hms(11, 29));
    const X = 'https://api.example.com/v1/limited';
    const Y = 'https://api.example.com/v1/upload';
    const Z = 'https://api.example.com/v1/slow';
    c.add({ target: X, verdict: 'block', layer: 'ratelimit' });
    c.add({ target: X });
    c.add({ target: Y, action_type: 'write', method: 'POST', side_effect_class: 'external_write', verdict: 'block', layer: 'dlp' });
    c.add({ target: Y, action_type: 'write', method: 'POST', side_effect_class: 'external_write', verdict: 'allow', layer: 'hitl', resolution_source: 'hitl_console' });
    c.add({ target: Z, verdict: 'block', layer: 'dlp' }, { advance: 6 });
    c.add({ target: Z });
    c.add({ target: X, verdict: 'block', layer: 'dlp', policy_hash: POLICY_2 });
    c.add({ target: X });
    K.accept('edge', 'verdict-heuristic-exemptions', jsonl(c.receipts), {
      format: 'chain',
      description:
        'Block-then-allow pairs of the same request that are NOT verdict_chain_mismatch (receipts-v1 §9.6): a ratelimit block followed by an allow; a DLP block followed by a human resolution (layer hitl, resolution_source); a block followed by an allow 6 s later (outside the 5 s window); and a block under one policy_hash followed by an allow under the previous policy_hash (different policy).',
      chainLength: c.items.length,
      rootHash: c.rootHash,
    });
  }

  // ===================== malicious =====================

  const mal = (over: Rec, signer: Signer = A, o: SealOptions = {}): Made => seal(canonAR(rec({ timestamp: tsAt(hms(11, 30)), ...over })), signer, o);
  const plainInput = (over: Rec, patch: Rec): string => enc(ordered({ ...rec({ timestamp: tsAt(hms(11, 30)), ...over }), ...patch }, AR_ORDER, 'ar'), false);
  const withAr = (m: Made, inputAr: string): string => m.json.replace(m.canonical.slice('{"version":1,"action_record":'.length, m.canonical.indexOf(',"signature":')), () => inputAr);

  // malformed_json
  {
    const m = mal({ action_id: 'm-bom-0001' });
    K.reject('mj-bom-prefix', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(m.json, 'utf8')]), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'A valid receipt preceded by a UTF-8 byte-order mark (EF BB BF). A BOM is rejected, not skipped (receipts-v1 §8 rule 2).',
    });
  }
  {
    const m = mal({ action_id: 'm-junk-0001' });
    K.reject('mj-trailing-junk', m.json + ' {"second":"value"}\n', {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'A valid receipt followed by a second JSON value on the same document. Exactly one JSON value is allowed (receipts-v1 §8 rule 3).',
    });
  }
  {
    const m = mal({ action_id: 'm-utf8-0001', intent: 'bad byte here: X' });
    const at = m.json.indexOf('here: X') + 'here: '.length;
    const bytes = Buffer.from(m.json, 'utf8');
    const bad = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xc3, 0x28]), bytes.subarray(at + 1)]);
    K.reject('mj-invalid-utf8', bad, {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'The intent string contains the byte pair C3 28, an invalid UTF-8 sequence. Input must be valid UTF-8; a decoder that substitutes U+FFFD would accept it (receipts-v1 §8 rule 1).',
    });
  }
  {
    const over: Rec = { action_id: 'm-surr-0001', intent: 'lone \ufffd surrogate' };
    const m = mal(over);
    K.reject('mj-lone-surrogate-escape', withAr(m, plainInput(over, { intent: raw('"lone \\ud800 surrogate"') })), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'The intent holds the escape \\ud800 with no low surrogate after it. Go would turn it into U+FFFD; the project rejects it (receipts-v1 §8 rule 6). The signature is over the U+FFFD reading, so only the syntax rule can reject.',
    });
  }
  {
    const m = mal({ action_id: 'm-depth-0001' }, A, { ext: '['.repeat(128) + ']'.repeat(128) });
    K.reject('mj-depth-129-in-ext', m.json, {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'ext holds 128 nested arrays, so the deepest container is at depth 129 counting the receipt object as depth 1; the limit is 128 and applies inside ext too (receipts-v1 §8 rule 5).',
    });
  }
  {
    const over: Rec = { action_id: 'm-time-0001', timestamp: '2026-04-15T11:30:00.5Z' };
    const m = mal(over);
    K.reject('mj-timestamp-not-rendered', withAr(m, plainInput(over, { timestamp: '2026-04-15T11:30:00.500Z' })), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'timestamp "2026-04-15T11:30:00.500Z" is valid RFC 3339 but not in Go\'s rendered form (.5Z); the project requires the rendered form (receipts-v1 §4.6). Signed over the rendered value, as Go would.',
    });
  }
  {
    const m = mal({ action_id: 'm-date-0001', timestamp: '2026-02-28T11:30:00Z' });
    K.reject('mj-timestamp-invalid-date', m.json.replace('2026-02-28T11:30:00Z', '2026-02-29T11:30:00Z'), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'timestamp "2026-02-29T11:30:00Z": 2026 is not a leap year, so the date does not exist (receipts-v1 §4.6 grammar).',
    });
  }
  {
    const over: Rec = { action_id: 'm-negz-0001', redaction: {} };
    const m = mal(over);
    K.reject('mj-negative-zero', withAr(m, plainInput(over, { redaction: raw('{"total_redactions":-0}') })), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'redaction.total_redactions is -0. Integer fields must match -?(0|[1-9][0-9]*) and -0 is rejected by project rule (receipts-v1 §4.5).',
    });
  }
  {
    const over: Rec = { action_id: 'm-float-0001' };
    const m = mal(over);
    K.reject('mj-float-in-int-field', withAr(m, plainInput(over, { chain_seq: raw('0.0') })), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'chain_seq is written 0.0. Signed integer fields allow no fraction or exponent (receipts-v1 §4.5).',
    });
  }
  {
    const over: Rec = { action_id: 'm-null-0001', principal: '' };
    const m = mal(over);
    K.reject('mj-forbidden-null', withAr(m, plainInput(over, { principal: null })), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'principal is null. null is accepted only where Go has a nil-able type; a string field given null is rejected (receipts-v1 §3.9). Signed over principal "" (Go\'s zero value).',
    });
  }
  {
    const m = mal({ action_id: 'm-uint8-0001', recent_taint_sources: [{ url: 'https://d.example/1', kind: 'k', level: 255, timestamp: tsAt(hms(11, 29)) }] });
    K.reject('mj-uint8-out-of-range', m.json.replace('"level":255', '"level":256'), {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'recent_taint_sources[0].level is 256, outside the uint8 range 0-255 (receipts-v1 §3.7).',
    });
  }
  {
    const c = new Chain(A, 'm-scs', hms(11, 31));
    const item = c.openG1(nonce('m-scs run'), nonce('m-scs open'), {
      mut: (r) => {
        (r.session_control as Rec).kind = 'heartbeat';
      },
    });
    K.reject('mj-session-control-structure', item.made.json, {
      format: 'receipt',
      reason: 'malformed_json',
      description: 'session_control has kind "heartbeat" but carries an open payload (and no heartbeat payload). The payload must be the one matching kind (receipts-v1 §6.5 structural rules), checked in single-receipt mode too.',
    });
  }
  K.reject('mj-empty-chain', '\n\n', {
    format: 'chain',
    reason: 'malformed_json',
    description: 'A chain file holding only blank lines: zero receipts is not a verifiable chain (receipts-v1 §6.1, "empty chain: no receipts found").',
  });
  {
    const r = new Recorder('proxy', tsAt(hms(11, 32)));
    r.decision('decision: allow read https', '{"n":1}');
    r.decision('decision: allow read https', '{"n":2}');
    r.checkpoint(A);
    K.reject('mj-recorder-no-receipts', r.text(), {
      format: 'recorder',
      reason: 'malformed_json',
      description: 'A well-linked recorder file with two decision entries and a checkpoint but no action_receipt entry (and no evidence_receipt): an empty chain (receipts-v1 §6.1).',
    });
  }
  {
    const c = new Chain(A, 'm-torn', hms(11, 33));
    const r = new Recorder('proxy', tsAt(hms(11, 33)));
    r.receipt(c.add());
    r.receipt(c.add({ target: 'https://docs.example.org/second' }));
    r.checkpoint(A);
    const next = new Recorder('proxy', r.ts);
    next.prev = r.prev;
    next.seq = r.seq;
    const partial = next.receipt(c.add({ target: 'https://docs.example.org/third' })).slice(0, 120);
    K.reject('mj-recorder-torn-final-line', r.text() + partial, {
      format: 'recorder',
      reason: 'malformed_json',
      description: 'A recorder file whose verified prefix (two receipts and a checkpoint) is followed by the first 120 bytes of a third entry with no terminating LF: a torn final line, reported as "truncated final line" with the verified prefix (receipts-v1 §9.3).',
    });
  }
  {
    const c = new Chain(A, 'm-dstr', hms(11, 34));
    const r = new Recorder('proxy', tsAt(hms(11, 34)));
    r.receipt(c.add(), { detail: goStr(c.items[0]!.made.json) });
    K.reject('mj-recorder-detail-is-string', r.text(), {
      format: 'recorder',
      reason: 'malformed_json',
      description: 'An action_receipt entry whose detail is a JSON string containing the receipt JSON instead of the receipt object (receipts-v1 §7.5).',
    });
  }

  // duplicate_key
  {
    const m = mal({ action_id: 'm-dup-0001' });
    K.reject('dup-top-level-member', m.json.slice(0, -1) + `,"signer_key":${JSON.stringify(m.key)}}`, {
      format: 'receipt',
      reason: 'duplicate_key',
      description: 'The envelope member signer_key appears twice with the same value. Duplicates are rejected at any depth, never resolved last-wins (receipts-v1 §8 rule 7).',
    });
  }
  {
    const over: Rec = { action_id: 'm-dup-0002', verdict: 'strip', redaction: { total_redactions: 3, by_class: { email: 1, phone: 1 } } };
    const m = mal(over);
    K.reject('dup-nested-by-class-key', withAr(m, plainInput(over, { redaction: raw('{"total_redactions":3,"by_class":{"email":1,"phone":1,"email":2}}') })), {
      format: 'receipt',
      reason: 'duplicate_key',
      description: 'redaction.by_class contains the key "email" twice (values 1 and 2), nested two levels inside action_record (receipts-v1 §8 rule 7).',
    });
  }
  {
    const over: Rec = { action_id: 'm-dup-0003' };
    const m = mal(over);
    const input = plainInput(over, {}).replace('"verdict":"allow"', '"verdict":"allow","\\u0076erdict":"block"');
    K.reject('dup-escaped-equivalent-key', withAr(m, input), {
      format: 'receipt',
      reason: 'duplicate_key',
      description: 'action_record holds "verdict" and "\\u0076erdict", which are the same key after unescaping. Keys are compared after unescaping (receipts-v1 §8 rule 7).',
    });
  }
  {
    const m = mal({ action_id: 'm-dup-0004' }, A, { ext: '{"\u{1F511}":1,"\\ud83d\\udd11":2}' });
    K.reject('dup-astral-key-in-ext', m.json, {
      format: 'receipt',
      reason: 'duplicate_key',
      description: 'ext holds the key U+1F511 once as the raw character and once as its surrogate-pair escape \\ud83d\\udd11: duplicates after unescaping, detected inside ext too (receipts-v1 §2, §8 rule 7).',
    });
  }

  // padding_attack
  {
    const m = mal({ action_id: 'm-pad-0001' });
    const declared = Buffer.byteLength(m.canonical, 'utf8') + 1;
    K.reject('pad-declared-one-too-many', `{"body": ${spaceOut(m.canonical)}, "declared_length": ${declared}}`, {
      format: 'receipt',
      reason: 'padding_attack',
      description: `A padded wrapper whose declared_length ${declared} is one more than the body's length with whitespace outside strings removed (receipts-v1 §9.4).`,
    });
  }
  {
    const m = mal({ action_id: 'm-pad-0002' });
    const body = spaceOut(m.canonical);
    const declared = Buffer.byteLength(body, 'utf8');
    K.reject('pad-declared-counts-whitespace', `{"body": ${body}, "declared_length": ${declared}}`, {
      format: 'receipt',
      reason: 'padding_attack',
      description: `A padded wrapper whose declared_length ${declared} counts the whitespace of the body as written; the measured length excludes whitespace outside strings (receipts-v1 §9.4).`,
    });
  }

  // receipt_count_mismatch
  {
    const c = new Chain(A, 'm-bundle', hms(11, 35));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c' });
    K.reject('rcm-bundle-declares-four', `{"declared_receipt_count": 4, "receipts": [\n${c.receipts.join(',\n')}\n]}\n`, {
      format: 'receipt_bundle',
      reason: 'receipt_count_mismatch',
      description: 'A receipt bundle declaring 4 receipts that carries a valid 3-receipt chain (receipts-v1 §9.4).',
    });
  }
  {
    const c = new Chain(A, 'm-closecnt', hms(11, 36));
    c.openG1(nonce('m-closecnt run'), nonce('m-closecnt open'));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.close({ payload: { receipt_count: 5 } });
    K.reject('rcm-session-close-count', jsonl(c.receipts), {
      format: 'chain',
      reason: 'receipt_count_mismatch',
      description: 'A correctly signed session_close declaring receipt_count 5 in a key segment of 4 receipts (close included); every other close member is right (receipts-v1 §6.5 rule 5, §9.5).',
    });
  }
  {
    const s = buildSession({ transcript: { receipt_count: session.chain.items.length + 1 } });
    K.reject('rcm-transcript-root-count', s.rec.text(), {
      format: 'recorder',
      reason: 'receipt_count_mismatch',
      description: `The golden ${sessionId} file with its transcript_root declaring receipt_count ${session.chain.items.length + 1} where ${session.chain.items.length} receipts precede it; entry hashes and checkpoints are consistent (receipts-v1 §7.7).`,
    });
  }

  // unsupported_version
  {
    const m = mal({ action_id: 'm-ver-0001' });
    K.reject('uv-envelope-version-2', m.json.replace('{"version":1,', '{"version":2,'), {
      format: 'receipt',
      reason: 'unsupported_version',
      description: 'Envelope version 2 on an otherwise valid receipt (the signature does not cover the envelope version) (receipts-v1 §2, §9.3 step 5).',
    });
  }
  {
    const m = mal({ action_id: 'm-ver-0002', version: 2 });
    K.reject('uv-action-record-version-2', m.json, {
      format: 'receipt',
      reason: 'unsupported_version',
      description: 'action_record.version 2, correctly signed over that record (receipts-v1 §3.1, §9.3 step 5).',
    });
  }
  {
    const ev = evidenceV2(A, { eventId: 'm-ev2-0001', timestamp: tsAt(hms(11, 37)), kind: 'proxy_decision', payload: { decision: 'allow', target: 'https://api.example.com/v1/x', transport: 'https' }, seq: 0, prev: 'genesis' });
    K.reject('uv-evidence-receipt-v2-document', ev.json + '\n', {
      format: 'receipt',
      reason: 'unsupported_version',
      description: 'A bare EvidenceReceipt v2 (record_type evidence_receipt_v2, receipt_version 2, JCS-signed) given as a single document: recognised and rejected, v2 verification is not supported yet (receipts-v1 §10).',
    });
  }
  {
    const m = mal({ action_id: 'm-ver-0003' });
    K.reject('uv-record-type-unknown', '{"record_type":"action_receipt_v2",' + m.json.slice(1), {
      format: 'receipt',
      reason: 'unsupported_version',
      description: 'A valid v1 receipt carrying record_type "action_receipt_v2": any record_type other than evidence_receipt_v2 and action_receipt_v1 is unsupported_version (receipts-v1 §2, §9.3 step 4).',
    });
  }
  {
    const c = new Chain(A, 'm-v4', hms(11, 38));
    const r = new Recorder('proxy', tsAt(hms(11, 38)));
    r.receipt(c.add());
    r.decision('decision: allow read https', '{}', { v: 4 });
    r.receipt(c.add({ target: 'https://docs.example.org/b' }));
    K.reject('uv-recorder-entry-v4', r.text(), {
      format: 'recorder',
      reason: 'unsupported_version',
      description: 'A recorder file whose second entry has "v": 4; entry versions 1, 2 and 3 are accepted (receipts-v1 §7.2).',
    });
  }
  {
    const r = new Recorder('proxy', tsAt(hms(11, 39)));
    for (const ev of evidenceSeries(A, 'm-only-ev', [tsAt(hms(11, 39)), tsAt(hms(11, 39, 1)), tsAt(hms(11, 39, 2))])) r.evidence(ev);
    r.checkpoint(A);
    K.reject('uv-recorder-only-evidence-receipts', r.text(), {
      format: 'recorder',
      reason: 'unsupported_version',
      description: 'A well-linked recorder file whose only receipts are three evidence_receipt (EvidenceReceipt v2) entries: not an empty chain but unsupported_version (receipts-v1 §10).',
    });
  }

  // unknown_field
  {
    const m = mal({ action_id: 'm-unk-0001' });
    K.reject('uf-top-level-member', m.json.slice(0, -1) + ',"verified_by":"corpus"}', {
      format: 'receipt',
      reason: 'unknown_field',
      description: 'An extra top-level member "verified_by" beside a valid signature; only ext is tolerated (receipts-v1 §2).',
    });
  }
  {
    const over: Rec = { action_id: 'm-unk-0002' };
    const m = mal(over);
    K.reject('uf-action-record-member', withAr(m, plainInput(over, {}).slice(0, -1) + ',"approved_by":"ops-oncall"}'), {
      format: 'receipt',
      reason: 'unknown_field',
      description: 'An extra member "approved_by" inside action_record. Go would drop it from the canonical bytes, so the signature still verifies; the member must be rejected (receipts-v1 §3.1, §4.1).',
    });
  }
  {
    const c = new Chain(A, 'm-unk3', hms(11, 40));
    const item = c.openG1(nonce('m-unk3 run'), nonce('m-unk3 open'));
    K.reject('uf-session-open-member', item.made.json.replace('"heartbeat_seconds":30', '"heartbeat_seconds":30,"operator_note":"night shift"'), {
      format: 'receipt',
      reason: 'unknown_field',
      description: 'A session_open receipt whose session_control.open payload carries an extra member "operator_note", three levels deep (receipts-v1 §3.6).',
    });
  }
  {
    const m = mal({ action_id: 'm-unk-0004' });
    K.reject('uf-record-type-action-receipt-v1', '{"record_type":"action_receipt_v1",' + m.json.slice(1), {
      format: 'receipt',
      reason: 'unknown_field',
      description: 'A valid v1 receipt carrying record_type "action_receipt_v1": routed to v1, where record_type is not a member (receipts-v1 §2).',
    });
  }
  {
    const c = new Chain(A, 'm-fold', hms(11, 41));
    const r = new Recorder('proxy', tsAt(hms(11, 41)));
    r.receipt(c.add());
    r.receipt(c.add({ target: 'https://docs.example.org/b' }), { extra: ',"Summary":"receipt: allow read https"' });
    K.reject('uf-recorder-case-fold-alias', r.text(), {
      format: 'recorder',
      reason: 'unknown_field',
      description: 'A recorder entry carrying "Summary" beside "summary". Go matches member names case-insensitively and would read it, so a case-folded alias of a known member is rejected (receipts-v1 §7.2).',
    });
  }
  {
    const c = new Chain(A, 'm-bund2', hms(11, 42));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    K.reject('uf-bundle-extra-member', `{"declared_receipt_count": 2, "receipts": [\n${c.receipts.join(',\n')}\n], "generated_by": "corpus"}\n`, {
      format: 'receipt_bundle',
      reason: 'unknown_field',
      description: 'A receipt bundle with an extra member "generated_by": not a wrapper (the member set must be exactly {declared_receipt_count, receipts}), so it is read as a receipt and fails on its unknown members (receipts-v1 §9.4).',
    });
  }

  // missing_required_field
  {
    const over: Rec = { action_id: 'm-miss-0001', verdict: '' };
    const m = mal(over);
    K.reject('mrf-verdict-absent', withAr(m, plainInput(over, { verdict: undefined })), {
      format: 'receipt',
      reason: 'missing_required_field',
      description: 'action_record has no verdict member. Signed over verdict "" (Go\'s zero-fill), so only the presence rule can reject (receipts-v1 §3.9).',
    });
  }
  {
    const over: Rec = { action_id: 'm-miss-0002', action_type: '' };
    const m = mal(over);
    K.reject('mrf-action-type-absent', withAr(m, plainInput(over, { action_type: undefined })), {
      format: 'receipt',
      reason: 'missing_required_field',
      description: 'action_record has no action_type member: absent is missing_required_field, present but not in the set would be invalid_action_type (receipts-v1 §3.8).',
    });
  }
  {
    const m = mal({ action_id: '' });
    K.reject('mrf-empty-action-id', m.json, {
      format: 'receipt',
      reason: 'missing_required_field',
      description: 'action_id is present but empty, correctly signed; it must be non-empty (receipts-v1 §3.1, §9.3 step 9).',
    });
  }
  {
    const m = mal({ action_id: 'm-miss-0004', timestamp: '0001-01-01T00:00:00Z' });
    K.reject('mrf-zero-timestamp', m.json, {
      format: 'receipt',
      reason: 'missing_required_field',
      description: 'timestamp is Go\'s zero time 0001-01-01T00:00:00Z, which means "missing" for action_record.timestamp (receipts-v1 §4.6).',
    });
  }
  {
    const c = new Chain(A, 'm-miss5', hms(11, 43));
    c.openG1(nonce('m-miss5 run'), nonce('m-miss5 open'));
    const close = c.close({ payload: { root_hash: undefined } });
    K.reject('mrf-close-root-hash-absent', close.made.json, {
      format: 'receipt',
      reason: 'missing_required_field',
      description: 'A session_close receipt whose close payload lacks root_hash, a non-omitempty member (receipts-v1 §3.6), correctly signed over that payload.',
    });
  }
  {
    const c = new Chain(A, 'm-cpsig', hms(11, 44));
    const r = new Recorder('proxy', tsAt(hms(11, 44)));
    r.receipt(c.add());
    r.receipt(c.add({ target: 'https://docs.example.org/b' }));
    r.checkpoint(A, { signature: '' });
    K.reject('mrf-checkpoint-signature-empty', r.text(), {
      format: 'recorder',
      reason: 'missing_required_field',
      description: 'A recorder file whose checkpoint has an empty signature while a single key is pinned, so checkpoint signatures are required (receipts-v1 §7.6).',
    });
  }

  // invalid_action_type
  const actionTypeCases: [string, string, string][] = [
    ['iat-unknown-type', 'execute', '"execute", not one of the nine action types'],
    ['iat-empty-string', '', '"" (present but empty; absent would be missing_required_field)'],
    ['iat-wrong-case', 'Read', '"Read": the set is case-sensitive'],
  ];
  for (const [slug, value, what] of actionTypeCases) {
    const m = mal({ action_id: `m-${slug}`, action_type: value });
    K.reject(slug, m.json, { format: 'receipt', reason: 'invalid_action_type', description: `action_type is ${what}; correctly signed (receipts-v1 §3.8).` });
  }

  // header_injection
  const injectionCases: [string, Rec, string][] = [
    ['hi-nul-in-action-id', { action_id: 'm-hi-0001\u0000admin' }, 'action_id contains U+0000 (written \\u0000)'],
    ['hi-escape-in-target', { action_id: 'm-hi-0002', target: 'https://docs.example.org/\u001b[31mred' }, 'target contains U+001B ESC (written \\u001b)'],
    ['hi-backspace-short-escape', { action_id: 'm-hi-0003', intent: 'hide\bme' }, 'intent contains U+0008 written with the short escape \\b'],
    ['hi-vertical-tab-in-by-class-key', { action_id: 'm-hi-0004', verdict: 'strip', redaction: { by_class: { 'email\u000bx': 1 } } }, 'a redaction.by_class key contains U+000B'],
  ];
  for (const [slug, over, what] of injectionCases) {
    const m = mal(over);
    K.reject(slug, m.json, {
      format: 'receipt',
      reason: 'header_injection',
      description: `${what}. The receipt is correctly signed; C0 controls other than TAB, LF and CR anywhere in the signed strings (by_class keys included) are header_injection, checked before the signature (receipts-v1 §9.2, §9.5).`,
    });
  }

  // signature_invalid
  {
    const over: Rec = { action_id: 'm-sig-0001' };
    const m = mal(over, A, { signature: signatureOver(C, canonAR(rec({ timestamp: tsAt(hms(11, 30)), ...over }))) });
    K.reject('si-signed-by-other-key', m.json, {
      format: 'receipt',
      reason: 'signature_invalid',
      description: 'signer_key is the pinned corpus key, but the signature was made by another key over the same record. No registry entry exists for this signature, so it is plain signature_invalid (receipts-v1 §9.7).',
    });
  }
  {
    const m = mal({ action_id: 'm-sig-0002' });
    const flipped = m.signature.slice(0, 20) + (m.signature[20] === '0' ? '1' : '0') + m.signature.slice(21);
    K.reject('si-flipped-signature-digit', m.json.replace(m.signature, flipped), {
      format: 'receipt',
      reason: 'signature_invalid',
      description: 'One hex digit of an otherwise valid signature changed (receipts-v1 §5.2).',
    });
  }
  {
    const m = mal({ action_id: 'm-sig-0003' });
    K.reject('si-signature-without-prefix', m.json.replace(m.signature, m.signature.slice('ed25519:'.length)), {
      format: 'receipt',
      reason: 'signature_invalid',
      description: 'A valid signature written without its "ed25519:" prefix: the text form is wrong (receipts-v1 §5.2).',
    });
  }
  {
    const c = new Chain(A, 'm-sigc', hms(11, 45));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c' }, { seal: (ar) => ({ signature: signatureOver(C, ar) }) });
    c.add({ target: 'https://docs.example.org/d' });
    K.reject('si-chain-receipt-foreign-signature', jsonl(c.receipts), {
      format: 'chain',
      reason: 'signature_invalid',
      description: 'A 4-receipt chain, all claiming the pinned key, whose receipt 2 carries a signature made by another key; the links are intact (receipts-v1 §6.2).',
    });
  }
  {
    const c = new Chain(A, 'm-cpbad', hms(11, 46));
    const r = new Recorder('proxy', tsAt(hms(11, 46)));
    r.receipt(c.add());
    r.receipt(c.add({ target: 'https://docs.example.org/b' }));
    r.checkpoint(C);
    K.reject('si-checkpoint-signed-by-other-key', r.text(), {
      format: 'recorder',
      reason: 'signature_invalid',
      description: 'A recorder file whose checkpoint signature (over its prev_hash) was made by a key other than the single pinned key (receipts-v1 §7.6).',
    });
  }

  // body_tampered / run_nonce_tampered (signatures reused from golden fixtures; §9.7 registry)
  {
    const g = goldenIds['block-dlp-write']!;
    K.reject('bt-verdict-flipped', g.made.json.replace('"verdict":"block"', '"verdict":"allow"'), {
      format: 'receipt',
      reason: 'body_tampered',
      description: `The receipt of golden ${g.id} with verdict changed from block to allow, signature kept. The signature is known valid for the original record, which differs in verdict (receipts-v1 §9.7).`,
    });
  }
  {
    const s = buildSession({ tamperIndex: 3 });
    K.reject('bt-recorder-receipt-rewritten', s.rec.text(), {
      format: 'recorder',
      reason: 'body_tampered',
      description: `The golden ${sessionId} file with the DLP block receipt's verdict rewritten to allow and every entry hash recomputed (the entry chain links). The receipt's signature is the golden one, for a different record (receipts-v1 §9.7).`,
    });
  }
  {
    K.reject('rnt-run-nonce-swapped', runBound.json.replace(runBoundOver.run_nonce as string, nonce('m-rnt other run')), {
      format: 'receipt',
      reason: 'run_nonce_tampered',
      description: `The receipt of golden ${runBoundId} with its run_nonce replaced by another 32-hex value, signature kept: the only member that differs from the record the signature is known for is run_nonce (receipts-v1 §9.7).`,
    });
  }

  // signer_key_untrusted
  {
    const m = mal({ action_id: 'm-sku-0001' }, C);
    K.reject('sku-unpinned-key', m.json, {
      format: 'receipt',
      reason: 'signer_key_untrusted',
      description: 'A receipt correctly signed by a key that is not pinned (receipts-v1 §9.2: math valid, key unknown).',
    });
  }
  {
    const rot = buildRotation();
    K.reject('sku-unendorsed-rotation', rot.rec.text(), {
      format: 'recorder',
      reason: 'signer_key_untrusted',
      description: 'The rotated recorder file of the golden endorsed-rotation fixture with only key A pinned and no endorsement: the successor key B is not authorised (receipts-v1 §6.7).',
      config: { pinned_keys: [A.publicKeyHex], recorder_session_id: ROT_SESSION },
    });
  }
  {
    const rot = buildRotation();
    const path = K.key('rotation-a-to-c.endorsement.json', rot.endorsement(C));
    K.reject('sku-endorsement-names-other-key', rot.rec.text(), {
      format: 'recorder',
      reason: 'signer_key_untrusted',
      description: 'The chain rotates from A to B, but the only endorsement (valid, signed by A, right session and tail) authorises A to C: no endorsement matches and B is not pinned (receipts-v1 §6.7).',
      config: { pinned_keys: [A.publicKeyHex], rotation_endorsements: [path], recorder_session_id: ROT_SESSION },
    });
  }
  {
    const m = mal({ action_id: 'm-sku-0004' }, A, { signerKey: A.publicKeyHex.toUpperCase() });
    K.reject('sku-uppercase-key-spelling', m.json, {
      format: 'receipt',
      reason: 'signer_key_untrusted',
      description: 'signer_key is the pinned key written in uppercase hex. The signature verifies (hex decoding is case-insensitive), but key comparison is exact on the text as written after lowercasing the pins, so the key is not pinned (receipts-v1 §1).',
    });
  }

  // signer_key_mismatch
  {
    const c = new Chain(A, 'm-skm', hms(11, 47));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c' }, { signer: B });
    K.reject('skm-key-switch-without-transition', jsonl(c.receipts), {
      format: 'chain',
      reason: 'signer_key_mismatch',
      description: 'Receipt 2 is correctly signed by key B without a key_transition; both keys are pinned, so the failure is consistency, not trust (receipts-v1 §6.8).',
      config: { pinned_keys: [A.publicKeyHex, B.publicKeyHex] },
    });
  }
  {
    const rot = buildRotation({ oldKeyAfter: true });
    const path = K.key('rotation-a-to-b-old-key-after.endorsement.json', rot.endorsement());
    K.reject('skm-old-key-after-rotation', rot.rec.text(), {
      format: 'recorder',
      reason: 'signer_key_mismatch',
      description: 'After an endorsed rotation from A to B, a receipt is signed again by A (the old root key, still pinned) without a key_transition (receipts-v1 §6.8).',
      config: { pinned_keys: [A.publicKeyHex], rotation_endorsements: [path], recorder_session_id: ROT_SESSION },
    });
  }

  // expired / timestamp_in_future
  {
    const m = mal({ action_id: 'm-exp-0001', timestamp: '2025-03-01T09:00:00Z' });
    K.reject('exp-older-than-max-age', m.json, {
      format: 'receipt',
      reason: 'expired',
      description: 'timestamp 2025-03-01T09:00:00Z is more than 8760 h before the conformance clock 2026-04-15T12:00:00Z (receipts-v1 §9.1).',
    });
  }
  {
    const c = new Chain(A, 'm-exp2', hms(10, 0));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    K.reject('exp-verifier-config-max-age', jsonl(c.receipts), {
      format: 'chain',
      reason: 'expired',
      description: 'A chain stamped 10:00:00-10:00:01, verified with verifier_config max_age 3600 s at the frozen clock 12:00:00: receipt 0 is two hours old (receipts-v1 §9.1, §9.10).',
      config: { max_age: 3600 },
    });
  }
  {
    const m = mal({ action_id: 'm-fut-0001', timestamp: tsAt(NOW_SECONDS + 901) });
    K.reject('fut-beyond-profile-skew', m.json, {
      format: 'receipt',
      reason: 'timestamp_in_future',
      description: 'timestamp 2026-04-15T12:15:01Z is 901 s after the conformance clock, one second beyond the profile\'s 900 s future skew (receipts-v1 §9.1).',
    });
  }
  {
    const m = mal({ action_id: 'm-fut-0002', timestamp: tsAt(NOW_SECONDS + 120) });
    K.reject('fut-verifier-config-skew', m.json, {
      format: 'receipt',
      reason: 'timestamp_in_future',
      description: 'timestamp 2026-04-15T12:02:00Z, 120 s in the future, verified with verifier_config max_future_skew 60 s (receipts-v1 §9.1, §9.10).',
      config: { max_future_skew: 60 },
    });
  }

  // replay_detected
  {
    const c = new Chain(A, 'm-rep', hms(11, 48));
    c.add({ action_id: 'm-rep-act-a' });
    c.add({ action_id: 'm-rep-act-b', target: 'https://docs.example.org/b' });
    c.add({ action_id: 'm-rep-act-a', target: 'https://docs.example.org/c' });
    K.reject('replay-action-id-no-phase', jsonl(c.receipts), {
      format: 'chain',
      reason: 'replay_detected',
      description: 'Receipts 0 and 2 share action_id "m-rep-act-a", neither with a decision_phase; the chain links are intact (receipts-v1 §6.9).',
    });
  }
  {
    const c = new Chain(A, 'm-rep2', hms(11, 49));
    c.add({ action_id: 'm-rep2-act', decision_phase: 'intent' });
    c.add({ action_id: 'm-rep2-act', decision_phase: 'outcome' });
    c.add({ action_id: 'm-rep2-act', decision_phase: 'intent' });
    K.reject('replay-same-action-id-and-phase', jsonl(c.receipts), {
      format: 'chain',
      reason: 'replay_detected',
      description: 'An intent/outcome pair (legal) followed by a second intent receipt with the same action_id: the pair (action_id, decision_phase) repeats (receipts-v1 §6.9).',
    });
  }

  // chain_break
  {
    const c = new Chain(A, 'm-link', hms(11, 50));
    c.add();
    const first = c.last.made.hash;
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c', chain_prev_hash: first });
    K.reject('cb-prev-hash-skips-receipt', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'Receipt 2\'s chain_prev_hash names receipt 0 instead of receipt 1 (correctly signed) (receipts-v1 §6.3).',
    });
  }
  {
    const c = new Chain(A, 'm-gap', hms(11, 50, 10));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c', chain_seq: 3 });
    K.reject('cb-seq-gap', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'chain_seq runs 0, 1, 3 with correct links: a sequence gap (receipts-v1 §6.3).',
    });
  }
  {
    const c = new Chain(A, 'm-restart0', hms(11, 50, 20));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c', chain_seq: 0 });
    K.reject('cb-second-chain-start', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'Receipt 2 has chain_seq 0 without a key_transition: a second chain start (receipts-v1 §6.3).',
    });
  }
  {
    const c = new Chain(A, 'm-g1', hms(11, 50, 30));
    c.openG1(nonce('m-g1 run'), nonce('m-g1 open'), {
      tamper: (p) => {
        p.policy_hash = POLICY_2;
      },
    });
    c.add();
    K.reject('cb-g1-genesis-mismatch', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'Receipt 0 is a session_open whose chain_prev_hash and genesis_hash hold the g1 value computed before its policy_hash was changed; the g1 recomputed from the signed payload differs (receipts-v1 §6.4).',
    });
  }
  {
    const c = new Chain(A, 'm-g1late', hms(11, 50, 40));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.add({ target: 'https://docs.example.org/c', chain_prev_hash: 'g1:' + c.prevHash });
    K.reject('cb-g1-marker-on-later-receipt', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'Receipt 2 carries a g1: marker (g1: plus the right previous hash) as chain_prev_hash; g1 is allowed only on receipt 0 (receipts-v1 §6.4).',
    });
  }
  {
    const c = new Chain(A, 'm-hb', hms(11, 51));
    c.openG1(nonce('m-hb run'), nonce('m-hb open'));
    const first = c.last.made.hash;
    c.add();
    c.heartbeat(1, { payload: { chain_head: first } });
    K.reject('cb-heartbeat-wrong-chain-head', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'A heartbeat whose chain_head names receipt 0 instead of the receipt just before it (receipts-v1 §6.5 rule 4).',
    });
  }
  {
    const c = new Chain(A, 'm-postclose', hms(11, 51, 10));
    c.openG1(nonce('m-postclose run'), nonce('m-postclose open'));
    c.add();
    c.close();
    c.add({ target: 'https://docs.example.org/after-close' });
    K.reject('cb-record-after-close', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'A receipt with the run_nonce of a run that was already closed (receipts-v1 §6.5 rule 3, "record observed after session_close").',
    });
  }
  {
    const c = new Chain(A, 'm-openleg', hms(11, 51, 20));
    c.openG1(nonce('m-openleg run'), nonce('m-openleg open'), {
      mut: (r) => {
        r.chain_prev_hash = 'genesis';
        ((r.session_control as Rec).open as Rec).genesis_hash = undefined;
      },
    });
    c.add();
    K.reject('cb-session-open-on-legacy-genesis', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'Receipt 0 is a session_open on the legacy "genesis" marker; a session_open must start from a bound g1: value (receipts-v1 §6.4).',
    });
  }
  {
    const c = new Chain(A, 'm-runleg', hms(11, 51, 30));
    c.run = nonce('m-runleg run');
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    K.reject('cb-run-bound-first-receipt-legacy-genesis', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'Receipt 0 carries a run_nonce on the legacy genesis marker without being a session_open: accepted as a lone receipt (see the golden run-bound fixture) but a chain_break as receipt 0 of a chain (receipts-v1 §6.4, §6.6).',
    });
  }
  {
    const c = new Chain(A, 'm-dupopen', hms(11, 51, 40));
    const run = nonce('m-dupopen run');
    c.openG1(run, nonce('m-dupopen open'));
    c.add();
    c.restartOpen(run, nonce('m-dupopen open 2'));
    K.reject('cb-duplicate-session-open', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'A correct restart session_open that reuses the run_nonce of the run already open (receipts-v1 §6.5 rule 2, "duplicate session_open").',
    });
  }
  {
    const c = new Chain(A, 'm-prior', hms(11, 51, 50));
    c.openG1(nonce('m-prior run'), nonce('m-prior open'));
    const first = c.last.made.hash;
    c.add();
    c.close();
    c.restartOpen(nonce('m-prior run 2'), nonce('m-prior open 2'), { payload: { prior_chain_head: first } });
    K.reject('cb-restart-open-wrong-prior-head', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'A restart session_open whose prior_chain_head names receipt 0 instead of the receipt just before it (receipts-v1 §6.5 rule 2).',
    });
  }
  {
    const c = new Chain(A, 'm-kt', hms(11, 52));
    c.add();
    c.add({ target: 'https://docs.example.org/b' });
    c.rotate(B, { kt: { prior_chain_hash: c.items[0]!.made.hash }, over: { chain_prev_hash: c.items[0]!.made.hash } });
    K.reject('cb-key-transition-prior-hash', jsonl(c.receipts), {
      format: 'chain',
      reason: 'chain_break',
      description: 'A key_transition receipt (signed by B, both keys pinned) whose prior_chain_hash and chain_prev_hash name receipt 0 instead of receipt 1 (receipts-v1 §6.7 check 2).',
      config: { pinned_keys: [A.publicKeyHex, B.publicKeyHex] },
    });
  }
  {
    const lines = [...session.rec.lines];
    const i = lines.findIndex((l) => l.includes('"summary":"receipt: block write https"'));
    lines[i] = lines[i]!.replace('"summary":"receipt: block write https"', '"summary":"receipt: allow write https"');
    K.reject('cb-recorder-entry-edited', jsonl(lines), {
      format: 'recorder',
      reason: 'chain_break',
      description: `The golden ${sessionId} file with one entry's summary edited from "receipt: block write https" to "receipt: allow write https" and its hash left as it was; every receipt still verifies (receipts-v1 §7.3, §7.4).`,
    });
  }
  {
    const lines = [...session.rec.lines];
    const i = lines.findIndex((l) => l.includes('"type":"evidence_receipt"'));
    lines.splice(i, 1);
    K.reject('cb-recorder-entry-removed', jsonl(lines), {
      format: 'recorder',
      reason: 'chain_break',
      description: `The golden ${sessionId} file with its first evidence_receipt entry deleted: the next entry's prev_hash names the deleted entry; every receipt still verifies (receipts-v1 §7.4).`,
    });
  }
  {
    const s = buildSession({ transcript: { root_hash: session.chain.items[session.chain.items.length - 2]!.made.hash } });
    K.reject('cb-transcript-root-hash', s.rec.text(), {
      format: 'recorder',
      reason: 'chain_break',
      description: `The golden ${sessionId} file with its transcript_root naming the hash of the receipt before the session_close (as session_close.root_hash does) instead of the close itself; entry hashes are consistent (receipts-v1 §6.10, §7.7).`,
    });
  }
  {
    const c = new Chain(A, 'm-unused', hms(11, 53), ROT_SESSION);
    const r = new Recorder(ROT_SESSION, tsAt(hms(11, 53)));
    r.receipt(c.openG1(nonce('m-unused run'), nonce('m-unused open')));
    r.receipt(c.add());
    const close = c.close();
    r.receipt(close);
    const path = K.key('unused-rotation.endorsement.json', endorsementFile(A, { sessionId: ROT_SESSION, priorFinalSeq: BigInt(close.rec.chain_seq as bigint), priorTailHash: close.made.hash, newSignerKey: B.publicKeyHex, rotatedAt: tsAt(c.clock) }));
    K.reject('cb-unused-endorsement', r.text(), {
      format: 'recorder',
      reason: 'chain_break',
      description: 'A valid endorsement authorises a rotation from A to B right after the run\'s session_close, but the file ends there: an endorsement left unused signals a truncated chain (receipts-v1 §6.7).',
      config: { pinned_keys: [A.publicKeyHex], rotation_endorsements: [path], recorder_session_id: ROT_SESSION },
    });
  }
  {
    const rot = buildRotation({ openSession: 'proxy' });
    const path = K.key('rotation-binding.endorsement.json', rot.endorsement());
    K.reject('cb-recorder-session-binding', rot.rec.text(), {
      format: 'recorder',
      reason: 'chain_break',
      description: 'Endorsements are supplied for recorder session "corpus-rotation" (the recorder entries\' session), but the chain\'s session_open receipts name recorder_session "proxy": every session_open must match the configured session (receipts-v1 §6.7).',
      config: { pinned_keys: [A.publicKeyHex], rotation_endorsements: [path], recorder_session_id: ROT_SESSION },
    });
  }

  // verdict_chain_mismatch
  {
    const c = new Chain(A, 'm-vcm', hms(11, 54));
    const T = 'https://paste.example.net/api/new';
    c.add({ action_type: 'write', target: T, method: 'POST', side_effect_class: 'external_write', verdict: 'block', layer: 'dlp', pattern: 'aws_access_key_id' });
    c.add({ action_type: 'write', target: T, method: 'POST', side_effect_class: 'external_write', verdict: 'allow' });
    K.reject('vcm-block-then-allow', jsonl(c.receipts), {
      format: 'chain',
      reason: 'verdict_chain_mismatch',
      description: 'A valid chain where a POST is blocked by DLP and the identical request (same target, method, action_type, policy_hash; different action_id, no resolution) is allowed one second later (receipts-v1 §9.6).',
    });
  }

  // no_trust_anchor
  {
    const m = mal({ action_id: 'm-nta-0001' });
    K.reject('nta-no-pinned-keys', m.json, {
      format: 'receipt',
      reason: 'no_trust_anchor',
      description: 'A structurally valid receipt verified with verifier_config pinned_keys [] and no --allow-unpinned: trust-on-first-use passes but the verdict is invalid for lack of a trust anchor (receipts-v1 §9.1, §9.2).',
      config: { pinned_keys: [] },
    });
  }

  // ===================== root files =====================

  K.root(
    'test-key.json',
    JSON.stringify(
      {
        note: 'TEST KEY ONLY: the egress-verify conformance corpus key, seed = SHA-256 of seed_phrase (UTF-8). Never use it for anything but this corpus.',
        public_key_hex: A.publicKeyHex,
        seed_phrase: CORPUS_KEY_PHRASES.A,
      },
      null,
      2,
    ) + '\n',
  );
  K.root('README.md', readme(A.publicKeyHex, B.publicKeyHex, C.publicKeyHex));
  return K.files;
}

function readme(a: string, b: string, c: string): string {
  return `# egress-verify conformance corpus

Generated by \`src/conformance/generate.ts\`. Do not edit by hand: change the
generator and regenerate.

    npm run conformance:generate          # rewrite this folder
    node scripts/generate-conformance.js --check   # exit 1 if it differs from a fresh generation
    egress-verify conformance conformance/         # run it (ends with "N passed, 0 failed")

Regenerating gives identical bytes: keys come from seed phrases, every
timestamp and nonce is fixed, and Ed25519 signatures are deterministic.

## Layout

* \`golden/\`    inputs every conforming verifier accepts;
* \`edge/\`      tricky but valid inputs (canonical encoding, times, ext, wrappers, recorder line forms), also accepted;
* \`malicious/\` inputs that must be rejected, each with the exact reject reason;
* \`keys/\`      rotation endorsement files named by fixtures (not fixtures themselves);
* \`test-key.json\` the pinned corpus key.

Each fixture is \`<id>.json\` (one document: a receipt, a padded wrapper or a
receipt bundle) or \`<id>.jsonl\` (a bare chain or a flight-recorder file),
beside \`<id>.expect.json\` in the public corpus format: \`fixture_id\`,
\`category\`, \`input_format\`, \`verdict\`, \`reject_reason\` (rejects),
\`description\`, and for accepts \`expected_chain_length\`,
\`expected_signer_key\` and \`expected_root_hash\` (the hash of the last
receipt, computed by the generator from its own chain state; omitted when
the fixture's receipts carry \`ext\`, receipts-v1 §12.2 item 9).

Two project extensions (receipts-v1 §9.10):

* \`input_format: "recorder"\` — the \`.jsonl\` is flight-recorder JSONL (§7),
  verified with its entry chain, checkpoints and transcript roots;
* \`verifier_config\` — per-fixture replacements of the conformance profile:
  \`pinned_keys\`, \`rotation_endorsements\` (paths relative to the expect
  file, e.g. \`../keys/rotation-a-to-b.endorsement.json\`),
  \`recorder_session_id\`, \`now\`, \`max_age\`, \`max_future_skew\`.

## Keys and profile

All keys are Ed25519 with seed = SHA-256 of a UTF-8 phrase:

| key | phrase | public key |
|---|---|---|
| A (pinned corpus key) | \`${CORPUS_KEY_PHRASES.A}\` | \`${a}\` |
| B (rotation successor) | \`${CORPUS_KEY_PHRASES.B}\` | \`${b}\` |
| C (a stranger) | \`${CORPUS_KEY_PHRASES.C}\` | \`${c}\` |

Fixtures run under the conformance profile of receipts-v1 §9.1: key A
pinned, clock frozen at 2026-04-15T12:00:00Z, maximum age 8760 h, future
skew 900 s, per-input replay only, and the tamper registry of §9.7 (the
\`body_tampered\` and \`run_nonce_tampered\` fixtures reuse signatures of
golden fixtures, so a runner must see the golden fixtures first or run two
passes).

Recorder fixtures use v2 entries unless their description says otherwise;
checkpoints are signed by key A, which is verified whenever exactly one key
is pinned (§7.6).

## Coverage

Every reject reason of receipts-v1 §9.2 appears in \`malicious/\` except
\`invalid_verdict\`: it needs the \`verdicts\` policy knob, which the
\`verifier_config\` of §9.10 cannot set.
`;
}

// ---------------------------------------------------------------------------
// Writing and checking

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch {
    return [];
  }
}

export interface CorpusDifference {
  path: string;
  status: 'changed' | 'missing' | 'stale';
}

/** Compares a corpus folder with generated files: changed or missing generated files, stale files in the managed folders. */
export async function diffCorpus(dir: string, files: Map<string, Buffer> = generateCorpus()): Promise<CorpusDifference[]> {
  const out: CorpusDifference[] = [];
  for (const [path, data] of [...files].sort(([x], [y]) => (x < y ? -1 : 1))) {
    let onDisk: Buffer | null = null;
    try {
      onDisk = await readFile(join(dir, path));
    } catch {
      onDisk = null;
    }
    if (onDisk === null) out.push({ path, status: 'missing' });
    else if (!onDisk.equals(data)) out.push({ path, status: 'changed' });
  }
  for (const sub of MANAGED_DIRS) {
    for (const name of (await listFiles(join(dir, sub))).sort()) {
      if (!files.has(`${sub}/${name}`)) out.push({ path: `${sub}/${name}`, status: 'stale' });
    }
  }
  return out;
}

/**
 * Writes the corpus into `dir`: every generated file, and deletes files in
 * the managed folders that the generator no longer produces. Other files in
 * `dir` are left alone.
 */
export async function writeCorpus(dir: string, files: Map<string, Buffer> = generateCorpus()): Promise<{ written: number; removed: string[] }> {
  const removed: string[] = [];
  for (const sub of MANAGED_DIRS) {
    for (const name of await listFiles(join(dir, sub))) {
      if (!files.has(`${sub}/${name}`)) {
        await rm(join(dir, sub, name));
        removed.push(`${sub}/${name}`);
      }
    }
  }
  for (const [path, data] of files) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
  }
  return { written: files.size, removed };
}
