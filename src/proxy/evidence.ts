/**
 * The proxy's flight recorder (spec/proxy.md §6): every decision becomes a
 * signed ActionReceipt v1 wrapped in a flight-recorder entry, appended to
 * `evidence-<session>-<first seq>.jsonl` in the evidence directory.
 *
 * - Receipt and entry bytes, the g1 genesis, checkpoints and transcript
 *   roots come from the project's one chain writer (src/emit/chain.ts);
 *   this module maps proxy exchanges onto ActionRecords (§6.2), redacts
 *   before signing (§6.6), and owns the files: rotation, permissions,
 *   durability, resume and close (§6.4, §6.5, §6.7, §6.9).
 * - Appends are synchronous: stamping the time, signing, hashing, advancing
 *   the chain and the write(2) (plus fdatasync when `durable`) run in one
 *   uninterrupted stretch of the event loop, so the chain order is the
 *   emission order, timestamps never decrease, and a receipt is on disk
 *   before the caller lets the first byte leave (fail closed otherwise).
 * - A whole line is written with one write(2); a kill -9 can at worst leave
 *   the last line torn, which verifiers report as "truncated final line".
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsConstants, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { chmod, mkdir, open as openFile, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPipelockPublicKey, parsePipelockPublicKey } from '../crypto/key-text.js';
import { RecorderChainWriter, type ChainResumeState, type Decision } from '../emit/chain.js';
import type { Signer } from '../emit/receipt.js';
import { parseGoTime, renderGoTimeUtc } from '../receipt/time.js';
import { verifyChainFiles } from '../verify/chain-input.js';
import { evidenceSessions, fileSource } from '../verify/inputs.js';
import { verifyOptions } from '../verify/options.js';
import { classSeverity } from './destination.js';
import type { DestinationClass, Finding, RequestDecision, ResponseDecision, Severity, Transport } from './types.js';

// ---------------------------------------------------------------------------
// ActionRecord mapping (§6.2)

export type ReceiptProfile = 'session' | 'legacy';
export type CloseReason = 'graceful_shutdown' | 'signal' | 'duration_elapsed' | 'agent_exited';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT']);
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** GET, HEAD, OPTIONS, TRACE, CONNECT → read; POST, PUT, PATCH, DELETE → write; else unclassified. */
export function actionTypeOf(method: string): 'read' | 'write' | 'unclassified' {
  const m = method.toUpperCase();
  return READ_METHODS.has(m) ? 'read' : WRITE_METHODS.has(m) ? 'write' : 'unclassified';
}

export function sideEffectClassOf(method: string): 'external_read' | 'external_write' | 'none' {
  const t = actionTypeOf(method);
  return t === 'read' ? 'external_read' : t === 'write' ? 'external_write' : 'none';
}

export function reversibilityOf(method: string): 'full' | 'irreversible' | 'compensatable' | 'unknown' {
  const m = method.toUpperCase();
  if (READ_METHODS.has(m)) return 'full';
  if (m === 'DELETE') return 'irreversible';
  if (m === 'POST' || m === 'PUT' || m === 'PATCH') return 'compensatable';
  return 'unknown';
}

const POOL_BYTES = 16 * 256;
let pool = Buffer.alloc(0);
let poolAt = POOL_BYTES;

/** 16 fresh random bytes (node:crypto), drawn from a pool refilled 4 KiB at a time. */
function random16(): Buffer {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  const b = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  return b;
}

/** A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, 74 random bits; lower-case, hyphenated. */
export function uuidv7(ms: number = Date.now()): string {
  const b = random16();
  b.writeUIntBE(Math.max(0, Math.floor(ms)) % 2 ** 48, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** What the server knows about one mediated exchange when it records it. */
export interface Exchange {
  /** UUIDv7 given when the request arrived; the intent receipt's action_id. */
  actionId: string;
  /** `req-<n>`, monotonic per process. */
  requestId: string;
  transport: Transport;
  /** Upstream method, or CONNECT. */
  method: string;
  /** Agent identity (bound, X-Egress-Agent, `agent` query parameter, or `anonymous`). */
  agent: string;
  /** The sanitized target (§6.6): what every receipt and block response shows. */
  target: string;
}

export interface RecordContext {
  profile: ReceiptProfile;
  principal: string;
  policyHash: string;
}

/** Facts of a finished exchange for its outcome receipt's `pattern`. */
export type OutcomeFacts =
  | { kind: 'http'; status: number; bytes: number; reason: 'complete' | 'truncated' | 'upstream_error' | 'aborted' }
  | { kind: 'connect'; bytesUp: number; bytesDown: number; durationMs: number; reason: 'closed' | 'upstream_error' | 'aborted' };

function sortedUnique(ids: readonly string[]): string[] | undefined {
  const out = [...new Set(ids)].sort();
  return out.length ? out : undefined;
}

/** Lone UTF-16 surrogates become U+FFFD (§6.3: Go would replace them, so the signed bytes must already have). */
export function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function base(x: Exchange, ctx: RecordContext, cls: DestinationClass) {
  return {
    action_id: x.actionId,
    action_type: actionTypeOf(x.method),
    principal: wellFormed(ctx.principal),
    actor: wellFormed(x.agent),
    delegation_chain: null,
    target: wellFormed(x.target),
    intent: `egress:${cls}`,
    side_effect_class: sideEffectClassOf(x.method),
    reversibility: reversibilityOf(x.method),
    policy_hash: ctx.policyHash,
  };
}

/**
 * The pre-egress receipt: `intent` phase in the session profile. Blocks and
 * warns carry the deciding layer, its sanitized reason and the request-side
 * pattern ids; a clean allow carries neither layer nor pattern.
 */
export function intentRecord(x: Exchange, d: RequestDecision, ctx: RecordContext, sanitizeReason: (s: string) => string = sanitizePattern): Decision {
  const flagged = d.verdict !== 'allow' && d.deciding !== null;
  return {
    ...base(x, ctx, d.destinationClass),
    data_classes_in: d.verdict !== 'allow' ? sortedUnique(d.dataClassesIn) : undefined,
    verdict: d.verdict,
    decision_phase: ctx.profile === 'session' ? 'intent' : undefined,
    transport: x.transport,
    method: x.method,
    layer: flagged ? d.deciding!.layer : undefined,
    pattern: flagged ? wellFormed(sanitizeReason(d.deciding!.reason)) : undefined,
    severity: d.severity,
    request_id: x.requestId,
  };
}

/**
 * Severity of an outcome receipt (§3.1, §3.2, §5.11): the deciding
 * response finding's when a response layer fired, else the class severity,
 * raised for sensitive data in the payload or a waved-through observe-mode
 * request finding (the pipeline's own classSeverity rules).
 */
export function outcomeSeverity(pre: RequestDecision, resp: ResponseDecision | null): Severity {
  if (resp && resp.verdict !== 'allow' && resp.deciding) return resp.deciding.severity;
  return classSeverity(pre.destinationClass, { sensitiveData: (resp?.dataClassesOut.length ?? 0) > 0, observedFinding: pre.verdict === 'warn' });
}

export function outcomePattern(f: OutcomeFacts): string {
  return f.kind === 'http'
    ? `status=${f.status} bytes=${f.bytes} reason=${f.reason}`
    : `bytes_up=${f.bytesUp} bytes_down=${f.bytesDown} duration_ms=${f.durationMs} reason=${f.reason}`;
}

/**
 * The outcome receipt, after the response or at tunnel close. Same
 * action_id as the intent in the session profile; a fresh one (same
 * request_id) in the legacy profile, which has no decision_phase.
 */
export function outcomeRecord(
  x: Exchange,
  pre: RequestDecision,
  resp: ResponseDecision | null,
  facts: OutcomeFacts,
  ctx: RecordContext,
  outcomeActionId: string,
  sanitizeReason: (s: string) => string = sanitizePattern,
): Decision {
  const fired = resp !== null && resp.verdict !== 'allow' && resp.deciding !== null;
  return {
    ...base(x, ctx, pre.destinationClass),
    action_id: ctx.profile === 'session' ? x.actionId : outcomeActionId,
    data_classes_out: resp ? sortedUnique(resp.dataClassesOut) : undefined,
    verdict: fired ? resp.verdict : 'allow',
    decision_phase: ctx.profile === 'session' ? 'outcome' : undefined,
    transport: x.transport,
    method: x.method,
    layer: fired ? resp.deciding!.layer : 'outcome',
    pattern: fired ? `${wellFormed(sanitizeReason(resp.deciding!.reason))}; ${outcomePattern(facts)}` : outcomePattern(facts),
    severity: outcomeSeverity(pre, resp),
    request_id: x.requestId,
  };
}

// ---------------------------------------------------------------------------
// Redaction before signing (§6.6)

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** Long opaque runs (letters and digits mixed): never echoed into a reason. */
const OPAQUE_RUN = /[A-Za-z0-9+/=_-]{24,}/g;
const REDACTED = '[REDACTED]';

function looksOpaque(s: string): boolean {
  return /[0-9]/.test(s) && /[A-Za-z]/.test(s);
}

/**
 * A receipt `pattern` (and X-Egress-Reason): pattern ids, layers and counts
 * are kept; control characters go; opaque token-like runs are replaced, so
 * a scanner reason that quoted matched text by mistake still cannot carry a
 * secret into the evidence; capped at 512 characters.
 */
export function sanitizePattern(reason: string): string {
  let s = reason.replace(CONTROL, ' ').replace(OPAQUE_RUN, (m) => (looksOpaque(m) ? REDACTED : m));
  if (s.length > 512) s = s.slice(0, 509) + '...';
  return s;
}

const TWO_LEVEL_SLDS = new Set(['co', 'com', 'org', 'net', 'ac', 'gov', 'edu', 'ne', 'or', 'go']);

/** `a.b.evil.co.uk` → `[REDACTED].evil.co.uk`; IP literals and two-label names stay. */
export function redactSubdomain(host: string): string {
  if (/^[0-9.]+$/.test(host) || host.includes(':') || host.startsWith('[')) return host;
  const labels = host.split('.');
  const keep = labels.length >= 3 && labels[labels.length - 1]!.length === 2 && TWO_LEVEL_SLDS.has(labels[labels.length - 2]!) ? 3 : 2;
  return labels.length > keep ? `${REDACTED}.${labels.slice(-keep).join('.')}` : host;
}

function redactQuery(search: string): string {
  if (search === '' || search === '?') return search;
  const parts = search.slice(1).split('&').map((p) => {
    if (p === '') return p;
    const eq = p.indexOf('=');
    const key = eq < 0 ? p : p.slice(0, eq);
    const keepKey = key.length <= 32 && /^[A-Za-z0-9_.\-[\]%]+$/.test(key) && !(key.length >= 16 && looksOpaque(key));
    if (eq < 0) return keepKey && key.length < 16 ? `${key}=${REDACTED}` : REDACTED;
    return `${keepKey ? key : REDACTED}=${REDACTED}`;
  });
  return '?' + parts.join('&');
}

/**
 * A path segment that could carry a finding: long, digit-bearing, or
 * encoded. Short plain words (`api`, `v1`, `users`) stay readable.
 */
function suspiciousSegment(seg: string): boolean {
  if (seg === '') return false;
  return seg.length >= 16 || (seg.length >= 8 && /[0-9]/.test(seg)) || /[%=+@:~]/.test(seg);
}

/** Strips controls and anything after `?` or `#`, capped at 256 characters (unparsable targets). */
export function scrubRaw(raw: string): string {
  let s = raw.replace(CONTROL, '');
  const cut = s.search(/[?#]/);
  if (cut >= 0) s = s.slice(0, cut) + (s[cut] === '?' ? '?' + REDACTED : '#' + REDACTED);
  return s.length > 256 ? s.slice(0, 256) : s;
}

/** The receipt target of a CONNECT: `https://host/`, with `:port` when it is not 443. */
export function connectTarget(host: string, port: number | null): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `https://${h}${port !== null && port !== 443 ? `:${port}` : ''}/`;
}

/**
 * The sanitized receipt target (§6.2, §6.6) without access to the DLP
 * matchers: userinfo and fragments are always replaced; when a URL-side
 * finding exists every query value and path segment is replaced (the
 * offending ones cannot be told apart here, so all are); when the host
 * carries a finding the subdomain part is replaced and the registrable
 * domain kept. A DLP-aware sanitizer that replaces only the offending parts
 * and re-scans can be passed to the server instead (ServerOptions).
 */
export function sanitizeTarget(raw: string, transport: Transport, d: RequestDecision | null): string {
  const findings: readonly Finding[] = d?.findings ?? [];
  const hostFinding = findings.some((f) => f.where === 'hostname');
  const urlFinding = findings.some((f) => f.where === 'url');
  if (transport === 'connect') {
    const host = d?.host ?? parseAuthority(raw)?.host ?? null;
    const port = d?.port ?? parseAuthority(raw)?.port ?? null;
    if (!host) return 'unknown:' + scrubRaw(raw);
    return connectTarget(hostFinding ? redactSubdomain(host) : host, port);
  }
  let u: URL | null = d?.url ?? null;
  if (!u) {
    try {
      u = new URL(raw.replace(CONTROL, ''));
    } catch {
      u = null;
    }
  }
  if (!u || !u.host) return 'unknown:' + scrubRaw(raw);
  const host = hostFinding ? redactSubdomain(u.hostname) : u.hostname;
  const userinfo = u.username || u.password ? `${REDACTED}@` : '';
  const port = u.port ? `:${u.port}` : '';
  const path = urlFinding ? u.pathname.split('/').map((seg) => (suspiciousSegment(seg) ? REDACTED : seg)).join('/') : u.pathname;
  const query = urlFinding ? redactQuery(u.search) : u.search;
  const fragment = u.hash ? `#${REDACTED}` : '';
  return `${u.protocol}//${userinfo}${host}${port}${path}${query}${fragment}`;
}

/** `host:port` of a CONNECT request target (IPv6 in brackets). */
export function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(target) ?? /^([^:[\]]+):(\d{1,5})$/.exec(target);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1]!.toLowerCase(), port };
}

// ---------------------------------------------------------------------------
// Time

/** Go RFC3339Nano in UTC of an instant given in epoch nanoseconds. */
export function renderNanos(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const whole = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  const digits = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${whole}${digits}Z`;
}

function nanosOf(text: string): bigint | null {
  const t = parseGoTime(text);
  return t ? BigInt(t.epochSeconds) * 1_000_000_000n + BigInt(t.nanos) : null;
}

/**
 * Receipt time: the wall clock with nanosecond resolution from the
 * monotonic timer, re-anchored when the two drift apart by more than a
 * second, and never below the previous stamp (or the chain being resumed).
 */
export class ChainClock {
  private base: bigint;
  private hr0: bigint;
  private last: bigint;

  constructor(
    floorNanos = 0n,
    private readonly wall: () => bigint = () => BigInt(Date.now()) * 1_000_000n,
  ) {
    this.base = wall();
    this.hr0 = process.hrtime.bigint();
    this.last = floorNanos;
  }

  nowNanos(): bigint {
    const w = this.wall();
    let t = this.base + (process.hrtime.bigint() - this.hr0);
    const drift = t > w ? t - w : w - t;
    if (drift > 1_000_000_000n) {
      this.base = w;
      this.hr0 = process.hrtime.bigint();
      t = w;
    }
    if (t < this.last) t = this.last;
    this.last = t;
    return t;
  }

  now(): string {
    return renderNanos(this.nowNanos());
  }
}

// ---------------------------------------------------------------------------
// Files

/** Synchronous file operations, replaceable in tests to inject faults. */
export interface EvidenceIo {
  /** Creates a new file (never an existing one) for appending, mode 0600. */
  create(path: string): number;
  write(fd: number, data: Buffer): void;
  fdatasync(fd: number): void;
  truncate(fd: number, length: number): void;
  close(fd: number): void;
}

export const nodeEvidenceIo: EvidenceIo = {
  create: (path) => openSync(path, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600),
  write: (fd, data) => {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  },
  fdatasync: (fd) => fdatasyncSync(fd),
  truncate: (fd, length) => ftruncateSync(fd, length),
  close: (fd) => closeSync(fd),
};

/** The receipt could not be persisted: the caller must not let the request leave (503, layer receipt_unavailable). */
export class ReceiptUnavailableError extends Error {}

/** The evidence directory cannot be used (startup refuses). */
export class EvidenceDirError extends Error {}

export interface EvidenceOptions {
  dir: string;
  signer: Signer;
  /** SHA-256 hex of the raw policy bytes (§6.2). */
  policyHash: string;
  profile?: ReceiptProfile;
  /** receipts.principal (default `local`). */
  principal?: string;
  /** fdatasync every append (before egress), not only at checkpoints and close. */
  durable?: boolean;
  /** Heartbeat receipts every N seconds (session profile); 0 = none. */
  heartbeatSeconds?: number;
  checkpointInterval?: number;
  maxEntriesPerFile?: number;
  /** Continue the chain in a non-empty directory (§6.4). */
  resume?: boolean;
  /** Recorder session id of a new chain (`proxy`). */
  sessionId?: string;
  /** Wall clock in epoch nanoseconds (tests). */
  wallNanos?: () => bigint;
  io?: EvidenceIo;
  log?: (message: string) => void;
}

export const SIGNER_PUB = 'signer.pub';
export const SIGNER_PUB_HEX = 'signer.pub.hex';

export interface ResumeInfo {
  sessionId: string;
  files: string[];
  receiptCount: number;
  lastChainSeq: bigint;
  lastReceiptHash: string;
}

export interface CloseSummary {
  reason: CloseReason;
  /** Set when the closing entries could not be written (the evidence then ends without them). */
  error?: string;
  receiptCount: number;
  rootHash: string;
  files: string[];
}

/** The flight-recorder writer of one proxy run. */
export class EvidenceWriter {
  readonly profile: ReceiptProfile;
  readonly principal: string;
  readonly policyHash: string;
  readonly sessionId: string;
  readonly publicKeyHex: string;
  /** Set when the run continues an existing chain. */
  readonly resumed: ResumeInfo | null;

  private readonly writer: RecorderChainWriter;
  private readonly clock: ChainClock;
  private readonly io: EvidenceIo;
  private readonly durable: boolean;
  private readonly maxPerFile: number;
  private readonly fileNames: string[];
  private fd: number | null = null;
  private inFile = 0;
  /** Bytes in the current file (to cut a failed append back off). */
  private fileBytes = 0;
  private requestCounter = 0;
  private closedWith: CloseSummary | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private fsyncErrorsGated = 0;
  private durabilityBlocks = 0;
  private readonly log: (message: string) => void;

  private constructor(
    readonly dir: string,
    o: EvidenceOptions,
    resume: { state: ChainResumeState; info: ResumeInfo } | null,
    floorNanos: bigint,
  ) {
    this.profile = o.profile ?? 'session';
    this.principal = o.principal ?? 'local';
    this.policyHash = o.policyHash;
    this.sessionId = resume?.info.sessionId ?? o.sessionId ?? 'proxy';
    this.publicKeyHex = o.signer.publicKeyHex;
    this.resumed = resume?.info ?? null;
    this.io = o.io ?? nodeEvidenceIo;
    this.durable = Boolean(o.durable);
    this.maxPerFile = Math.max(1, o.maxEntriesPerFile ?? 10000);
    this.fileNames = resume ? [...resume.info.files] : [];
    this.log = o.log ?? (() => undefined);
    this.clock = new ChainClock(floorNanos, o.wallNanos);
    this.writer = new RecorderChainWriter(o.signer, {
      sessionId: this.sessionId,
      profile: this.profile,
      principal: this.principal,
      actor: 'egress-verify',
      policyHash: o.policyHash,
      clock: () => this.clock.now(),
      checkpointInterval: Math.max(1, o.checkpointInterval ?? 1000),
      heartbeatSeconds: Math.max(0, Math.floor(o.heartbeatSeconds ?? 0)),
      entryVersion: this.profile === 'session' ? 2 : 1,
      newActionId: () => uuidv7(),
      ...(resume ? { resume: resume.state } : {}),
    });
  }

  /**
   * Startup steps 4–7 of §6.9: probe (and with `resume` verify and take
   * over) the evidence directory, write the public key files, open the
   * first file and write session_open; start the heartbeat timer.
   */
  static async open(o: EvidenceOptions): Promise<EvidenceWriter> {
    const dir = o.dir;
    await prepareDir(dir);
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.probe-'));
    if (names.length > 0 && !o.resume) {
      throw new EvidenceDirError(`evidence directory ${dir} is not empty (${names.length} entr${names.length === 1 ? 'y' : 'ies'}); use a fresh directory per run, or pass --resume to continue the chain in it`);
    }
    await checkKeyFiles(dir, names, o.signer.publicKeyHex);
    const resume = o.resume ? await inspectForResume(dir, names, o.signer.publicKeyHex) : null;
    await probeWritable(dir);
    await writeKeyFiles(dir, names, o.signer.publicKeyHex);
    const floor = resume ? (nanosOf(resume.state.lastTimestamp) ?? 0n) : 0n;
    const w = new EvidenceWriter(dir, o, resume, floor);
    try {
      w.openFileIfNeeded(w.writer.nextEntrySeq);
      w.append(w.writer.open(), true);
    } catch (e) {
      w.closeFd();
      throw new EvidenceDirError(`cannot write the evidence directory ${dir}: ${(e as Error).message}`);
    }
    const hb = Math.floor(o.heartbeatSeconds ?? 0);
    if (hb > 0 && w.profile === 'session') {
      w.heartbeatTimer = setInterval(() => {
        try {
          w.heartbeat();
        } catch (e) {
          w.log(`heartbeat receipt not written: ${(e as Error).message}`);
        }
      }, hb * 1000);
      w.heartbeatTimer.unref();
    }
    return w;
  }

  get closed(): boolean {
    return this.closedWith !== null;
  }

  get receiptCount(): number {
    return this.writer.count;
  }

  get rootHash(): string {
    return this.writer.rootHash;
  }

  get runNonce(): string {
    return this.writer.runNonce;
  }

  /** The recorder session's files, oldest first (earlier runs' too after --resume). */
  get files(): string[] {
    return this.fileNames.map((f) => join(this.dir, f));
  }

  get counters(): { fsyncErrorsGated: number; durabilityBlocks: number } {
    return { fsyncErrorsGated: this.fsyncErrorsGated, durabilityBlocks: this.durabilityBlocks };
  }

  /** `req-<n>`, monotonic per process. */
  nextRequestId(): string {
    return `req-${++this.requestCounter}`;
  }

  newActionId(): string {
    return uuidv7();
  }

  get context(): RecordContext {
    return { profile: this.profile, principal: this.principal, policyHash: this.policyHash };
  }

  /**
   * Writes the pre-egress receipt of a decision. Throws
   * ReceiptUnavailableError when it could not be persisted; the request must
   * then not leave (the caller reports it with noteDurabilityBlock()).
   */
  recordIntent(x: Exchange, d: RequestDecision, sanitizeReason?: (s: string) => string): void {
    this.append(this.sign(() => this.writer.record(intentRecord(x, d, this.context, sanitizeReason))), this.durable);
  }

  /** Counts a request that was refused because its receipt could not be persisted (heartbeat and close carry the count). */
  noteDurabilityBlock(): void {
    this.durabilityBlocks++;
  }

  /** Writes the outcome receipt (after the response, or at tunnel close). Throws ReceiptUnavailableError. */
  recordOutcome(x: Exchange, pre: RequestDecision, resp: ResponseDecision | null, facts: OutcomeFacts, sanitizeReason?: (s: string) => string): void {
    const id = this.profile === 'session' ? x.actionId : uuidv7();
    this.append(this.sign(() => this.writer.record(outcomeRecord(x, pre, resp, facts, this.context, id, sanitizeReason))), this.durable);
  }

  /** Signing problems (a record the emitter refuses) fail closed like write problems. */
  private sign(make: () => string[]): string[] {
    if (this.closedWith) throw new ReceiptUnavailableError('the flight recorder is closed');
    try {
      return make();
    } catch (e) {
      throw new ReceiptUnavailableError(`receipt not signed: ${(e as Error).message}`);
    }
  }

  /** A heartbeat receipt (session profile). */
  heartbeat(): void {
    if (this.closed) return;
    this.append(this.writer.heartbeat(this.counters), true);
  }

  /**
   * Shutdown steps 3–6 of §6.9: session_close (session profile), the
   * transcript root, the final checkpoint, fdatasync and close. Idempotent.
   */
  close(reason: CloseReason = 'graceful_shutdown'): CloseSummary {
    if (this.closedWith) return this.closedWith;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    let error: string | undefined;
    try {
      this.append(this.writer.close(reason, this.counters), true);
    } catch (e) {
      error = (e as Error).message;
      this.log(`closing entries not written: ${error}`);
    }
    this.closedWith = { reason, receiptCount: this.writer.count, rootHash: this.writer.rootHash, files: this.files, ...(error ? { error } : {}) };
    this.closeFd();
    return this.closedWith;
  }

  /**
   * Appends the lines the chain writer produced (its state has already
   * advanced: a failed write leaves a detectable gap, never a fork).
   * Lines of one call that land in one file go out in one write(2).
   */
  private append(lines: string[], sync: boolean): void {
    if (this.closedWith) throw new ReceiptUnavailableError('the flight recorder is closed');
    if (lines.length === 0) return;
    let seq = this.writer.nextEntrySeq - BigInt(lines.length);
    const checkpoint = lines.some((l) => l.includes('"type":"checkpoint"'));
    let i = 0;
    try {
      while (i < lines.length) {
        this.openFileIfNeeded(seq);
        const room = this.maxPerFile - this.inFile;
        const batch = lines.slice(i, i + room);
        this.writeBatch(batch, sync || checkpoint);
        this.inFile += batch.length;
        i += batch.length;
        seq += BigInt(batch.length);
        if (this.inFile >= this.maxPerFile) this.rotate();
      }
    } catch (e) {
      if (e instanceof ReceiptUnavailableError) throw e;
      throw new ReceiptUnavailableError(`evidence not written: ${(e as Error).message}`);
    }
  }

  private writeBatch(batch: string[], sync: boolean): void {
    const fd = this.fd!;
    const data = Buffer.from(batch.join('\n') + '\n', 'utf8');
    try {
      this.io.write(fd, data);
      this.fileBytes += data.length;
    } catch (e) {
      // Best effort: never leave half a line in the middle of the file.
      try {
        this.io.truncate(fd, this.fileBytes);
      } catch {
        /* the gap is still detectable */
      }
      throw e;
    }
    if (sync) {
      try {
        this.io.fdatasync(fd);
      } catch (e) {
        this.fsyncErrorsGated++;
        throw e;
      }
    }
  }

  private openFileIfNeeded(seq: bigint): void {
    if (this.fd !== null) return;
    const name = `evidence-${this.sessionId}-${seq}.jsonl`;
    this.fd = this.io.create(join(this.dir, name));
    this.fileNames.push(name);
    this.inFile = 0;
    this.fileBytes = 0;
  }

  private rotate(): void {
    const fd = this.fd;
    this.fd = null;
    this.inFile = 0;
    if (fd === null) return;
    try {
      this.io.fdatasync(fd);
    } finally {
      this.io.close(fd);
    }
  }

  private closeFd(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      this.io.fdatasync(fd);
    } catch {
      this.fsyncErrorsGated++;
    }
    try {
      this.io.close(fd);
    } catch {
      /* already gone */
    }
  }
}

// ---------------------------------------------------------------------------
// Directory handling

async function prepareDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await stat(dir);
    if (!st.isDirectory()) throw new EvidenceDirError(`evidence directory ${dir} is not a directory`);
    // 0700 or 0750: nobody else may write, and only the group may read.
    if ((st.mode & 0o027) !== 0) await chmod(dir, st.mode & 0o750);
  } catch (e) {
    if (e instanceof EvidenceDirError) throw e;
    throw new EvidenceDirError(`cannot use evidence directory ${dir}: ${(e as Error).message}`);
  }
}

/** The writability probe (§6.5): create, write, fdatasync and remove a file. */
async function probeWritable(dir: string): Promise<void> {
  const path = join(dir, `.probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const fh = await openFile(path, 'wx', 0o600);
    try {
      await fh.writeFile('probe\n');
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await unlink(path);
  } catch (e) {
    await unlink(path).catch(() => undefined);
    throw new EvidenceDirError(`evidence directory ${dir} is not writable: ${(e as Error).message}`);
  }
}

async function checkKeyFiles(dir: string, names: string[], publicKeyHex: string): Promise<void> {
  if (names.includes(SIGNER_PUB_HEX)) {
    const text = (await readFile(join(dir, SIGNER_PUB_HEX), 'utf8')).trim().toLowerCase();
    if (text !== publicKeyHex) throw new EvidenceDirError(`${join(dir, SIGNER_PUB_HEX)} names key ${text.slice(0, 16)}…, but this proxy signs with ${publicKeyHex.slice(0, 16)}…; the proxy never rotates keys within a chain`);
  }
  if (names.includes(SIGNER_PUB)) {
    const key = parsePipelockPublicKey(await readFile(join(dir, SIGNER_PUB), 'utf8'));
    if (key !== null && key !== publicKeyHex) throw new EvidenceDirError(`${join(dir, SIGNER_PUB)} names a different key than this proxy's (${publicKeyHex.slice(0, 16)}…); the proxy never rotates keys within a chain`);
  }
}

async function writeKeyFiles(dir: string, names: string[], publicKeyHex: string): Promise<void> {
  if (!names.includes(SIGNER_PUB)) await writeFile(join(dir, SIGNER_PUB), formatPipelockPublicKey(publicKeyHex), { mode: 0o600, flag: 'wx' });
  if (!names.includes(SIGNER_PUB_HEX)) await writeFile(join(dir, SIGNER_PUB_HEX), publicKeyHex + '\n', { mode: 0o600, flag: 'wx' });
}

/** ts of the last parseable line of a file (RFC 3339 text), or ''. */
async function lastTs(path: string): Promise<string> {
  const text = await readFile(path, 'utf8');
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const o = JSON.parse(lines[i]!) as { ts?: unknown };
      if (typeof o.ts === 'string') return o.ts;
    } catch {
      /* a torn line; look further up */
    }
  }
  return '';
}

/**
 * --resume (§6.4): the newest recorder session in the directory is verified
 * with egress-verify's verifier under this proxy's key; any failure (a torn
 * tail included) refuses the start. Returns the state to continue from, or
 * null when the directory holds no evidence yet.
 */
async function inspectForResume(dir: string, names: string[], publicKeyHex: string): Promise<{ state: ChainResumeState; info: ResumeInfo } | null> {
  const sessions = evidenceSessions(names);
  if (sessions.size === 0) return null;
  let chosen = '';
  let chosenNs = -1n;
  for (const [id, files] of sessions) {
    const ns = nanosOf(await lastTs(join(dir, files[files.length - 1]!))) ?? 0n;
    if (chosen === '' || ns > chosenNs) {
      chosen = id;
      chosenNs = ns;
    }
  }
  const files = sessions.get(chosen)!;
  const { report } = await verifyChainFiles(
    files.map((f) => fileSource(join(dir, f))),
    verifyOptions({ pinnedKeys: [publicKeyHex], recorderSessionId: chosen }),
    'recorder',
  );
  if (report.verdict !== 'valid') {
    const where = report.where?.file ? ` (${report.where.file}${report.where.line ? ` line ${report.where.line}` : ''})` : '';
    if (report.reason === 'malformed_json' && report.message.startsWith('truncated final line')) {
      throw new EvidenceDirError(
        `cannot resume: ${report.where?.file ?? files[files.length - 1]} ends in a torn line (the previous run was killed mid-write). ` +
          `Move that file aside (or cut its unterminated last line) before resuming; ${report.message}`,
      );
    }
    throw new EvidenceDirError(`cannot resume: the evidence of recorder session ${chosen} in ${dir} does not verify under this proxy's key ${publicKeyHex.slice(0, 16)}…: ${report.reason ?? report.verdict}: ${report.message}${where}`);
  }

  // The outer entry chain: last entry, and the entries since the last checkpoint.
  let lastSeq = -1n;
  let lastHash = '';
  let since = 0;
  let sinceFirst = 0n;
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const o = JSON.parse(line) as { type?: string; hash?: string };
      const seqText = /"seq":(\d+)/.exec(line)?.[1] ?? '0';
      const seq = BigInt(seqText);
      if (o.type === 'checkpoint') {
        since = 0;
      } else {
        if (since === 0) sinceFirst = seq;
        since++;
      }
      lastSeq = seq;
      lastHash = o.hash ?? '';
    }
  }
  const utc = (t: string | null | undefined) => {
    const g = t ? parseGoTime(t) : null;
    return g ? renderGoTimeUtc(g) : '';
  };
  const state: ChainResumeState = {
    nextEntrySeq: lastSeq + 1n,
    lastEntryHash: lastHash,
    lastReceiptHash: report.root_hash ?? '',
    lastChainSeq: report.final_seq ?? 0n,
    receiptCount: report.receipt_count ?? 0,
    firstTimestamp: utc(report.start_time),
    lastTimestamp: utc(report.end_time),
    entriesSinceCheckpoint: since,
    checkpointFirstSeq: sinceFirst,
  };
  return {
    state,
    info: { sessionId: chosen, files, receiptCount: state.receiptCount, lastChainSeq: state.lastChainSeq, lastReceiptHash: state.lastReceiptHash },
  };
}
