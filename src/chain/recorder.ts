/**
 * Flight-recorder entries (receipts-v1 §7): reading rules (Go semantics),
 * the keyless entry hash, and the outer entry chain with its checkpoints
 * and transcript roots.
 */
import { sha256Hex, verifyEd25519 } from '../crypto/ed25519.js';
import { JNum, JObj, typeName, type JVal } from '../json/strict.js';
import type { RejectReason } from '../report/reasons.js';
import { parseGoTime, renderGoTimeUtc } from '../receipt/time.js';
import { isIntegerLiteral } from '../receipt/validate.js';
import type { ChainSummary } from './walker.js';

export interface RecorderEntry {
  v: 1 | 2 | 3;
  seq: bigint;
  /** `ts` as hashed: UTC, Go-rendered. */
  tsUtc: string;
  sessionId: string;
  chainKind: string;
  writerInstanceId: string;
  traceId: string;
  type: string;
  eventKind: string;
  transport: string;
  summary: string;
  /** Exact source text of `detail` (`null` when absent). */
  detailText: string;
  detail: JVal | undefined;
  detailOffset: number;
  rawRef: string;
  prevHash: string;
  hash: string;
}

export interface EntryProblem {
  reason: RejectReason;
  message: string;
  pointer: string;
}

const STRING_MEMBERS = ['session_id', 'chain_kind', 'writer_instance_id', 'trace_id', 'type', 'event_kind', 'transport', 'summary', 'raw_ref', 'prev_hash', 'hash'] as const;
const KNOWN = new Set<string>(['v', 'seq', 'ts', 'detail', ...STRING_MEMBERS]);
const ZERO_TS = '0001-01-01T00:00:00Z';

/**
 * The known member a name would reach through Go's case-insensitive match,
 * or null. Known names are lowercase ASCII, and under Unicode simple case
 * folding only the ASCII letters themselves, ſ (U+017F, folds with s) and
 * the Kelvin sign (U+212A, folds with k) reach ASCII letters.
 */
function foldAlias(name: string): string | null {
  for (const known of KNOWN) {
    if (known.length !== name.length || known === name) continue;
    let same = true;
    for (let i = 0; i < known.length && same; i++) {
      const c = name[i]!;
      const k = known[i]!;
      same = c === k || c.toLowerCase() === k && c.charCodeAt(0) < 0x80 || (c === '\u017f' && k === 's') || (c === '\u212a' && k === 'k');
    }
    if (same) return known;
  }
  return null;
}

/** Applies the §7.2 reading rules to one parsed line. */
export function readEntry(o: JVal, text: string): { ok: true; entry: RecorderEntry } | { ok: false; problem: EntryProblem } {
  const bad = (reason: RejectReason, pointer: string, message: string) => ({ ok: false as const, problem: { reason, pointer, message } });
  if (!(o instanceof JObj)) return bad('malformed_json', '', `a recorder entry must be a JSON object, found ${typeName(o)}`);
  for (const k of o.keys) {
    const alias = KNOWN.has(k) ? null : foldAlias(k);
    if (alias) return bad('unknown_field', `/${k}`, `member ${JSON.stringify(k)} is a case-folded alias of "${alias}", which Go would silently read`);
  }
  const vRaw = o.get('v');
  if (vRaw !== undefined && vRaw !== null && !isIntegerLiteral(vRaw)) return bad('malformed_json', '/v', `"v" must be an integer, found ${typeName(vRaw)}`);
  const vText = vRaw instanceof JNum ? vRaw.raw : '0';
  if (vText !== '1' && vText !== '2' && vText !== '3') return bad('unsupported_version', '/v', `recorder entry version v=${vText} is not supported (1, 2 or 3)`);
  const v = Number(vText) as 1 | 2 | 3;

  const strings: Record<string, string> = {};
  for (const name of STRING_MEMBERS) {
    const val = o.get(name);
    if (val === undefined || (val === null && v !== 3)) strings[name] = '';
    else if (typeof val === 'string') {
      if (val.includes('\u0000')) return bad('malformed_json', `/${name}`, `"${name}" contains U+0000`);
      strings[name] = val;
    } else return bad('malformed_json', `/${name}`, `"${name}" must be a string, found ${typeName(val)}`);
  }
  if (v !== 3 && (o.has('chain_kind') || o.has('writer_instance_id'))) {
    return bad('malformed_json', o.has('chain_kind') ? '/chain_kind' : '/writer_instance_id', `v${v} entries must not carry chain_kind or writer_instance_id (v3 members)`);
  }
  if (v === 3) {
    for (const name of ['chain_kind', 'writer_instance_id']) {
      if (strings[name] === '') return bad('missing_required_field', `/${name}`, `v3 entries require a non-empty "${name}"`);
    }
  }

  const seqRaw = o.get('seq');
  let seq = 0n;
  if (seqRaw !== undefined && seqRaw !== null) {
    if (!isIntegerLiteral(seqRaw) || seqRaw.raw.startsWith('-') || BigInt(seqRaw.raw) >= 2n ** 64n) {
      return bad('malformed_json', '/seq', `"seq" must be an unsigned 64-bit integer, found ${seqRaw instanceof JNum ? seqRaw.raw : typeName(seqRaw)}`);
    }
    seq = BigInt(seqRaw.raw);
  }

  const tsRaw = o.get('ts');
  let tsUtc = ZERO_TS;
  if (tsRaw === null && v === 3) return bad('malformed_json', '/ts', '"ts" must not be null in a v3 entry');
  if (tsRaw !== undefined && tsRaw !== null) {
    if (typeof tsRaw !== 'string') return bad('malformed_json', '/ts', `"ts" must be a string, found ${typeName(tsRaw)}`);
    const [s, e] = o.span('ts')!;
    const t = parseGoTime(tsRaw);
    if (!t || text.slice(s, e).includes('\\')) return bad('malformed_json', '/ts', `"ts" ${JSON.stringify(tsRaw)} is not an RFC 3339 time`);
    tsUtc = renderGoTimeUtc(t);
  }

  const span = o.span('detail');
  const entry: RecorderEntry = {
    v,
    seq,
    tsUtc,
    sessionId: strings.session_id!,
    chainKind: strings.chain_kind!,
    writerInstanceId: strings.writer_instance_id!,
    traceId: strings.trace_id!,
    type: strings.type!,
    eventKind: strings.event_kind!,
    transport: strings.transport!,
    summary: strings.summary!,
    detailText: span ? text.slice(span[0], span[1]) : 'null',
    detail: o.get('detail'),
    detailOffset: span ? span[0] : 0,
    rawRef: strings.raw_ref!,
    prevHash: strings.prev_hash!,
    hash: strings.hash!,
  };
  return { ok: true, entry };
}

/** The entry hash of §7.3: NUL-joined fields in the version's order. */
export function entryHash(e: RecorderEntry): string {
  const f: string[] = [String(e.v), e.seq.toString(), e.tsUtc, e.sessionId];
  if (e.v === 3) f.push(e.chainKind, e.writerInstanceId);
  f.push(e.traceId, e.type);
  if (e.v !== 1) f.push(e.eventKind);
  f.push(e.transport, e.summary, e.detailText, e.rawRef, e.prevHash);
  return sha256Hex(f.join('\u0000'));
}

/**
 * The outer entry chain (§7.4) plus checkpoint (§7.6) and transcript-root
 * (§7.7) checks. Records the first problem; the caller reports it only
 * after the receipt chain itself has verified (§9.3 step 16).
 */
export class EntryChain {
  private prevHash: string | null = null;
  private v3: { chainKind: string; writer: string } | null | undefined = undefined;
  first: (EntryProblem & { lineNo: number; file: string }) | null = null;
  entries = 0;
  checkpoints = 0;

  /**
   * `checkpointKeys` lists the keys a checkpoint may be signed by, or is null
   * when checkpoints are not checked (no single pinned key, §9.1).
   */
  constructor(private readonly checkpointKeys: (() => readonly string[]) | null) {}

  observe(e: RecorderEntry, file: string, lineNo: number, receiptsSoFar: () => ChainSummary | null): void {
    this.entries++;
    if (this.first) return;
    const fail = (reason: RejectReason, pointer: string, message: string) => {
      this.first = { reason, pointer, message, lineNo, file };
    };
    const expectedPrev = this.prevHash ?? 'genesis';
    if (e.prevHash !== expectedPrev) {
      return fail('chain_break', '/prev_hash', this.prevHash === null ? `the first entry's prev_hash must be "genesis", found ${JSON.stringify(e.prevHash)}` : `prev_hash does not match the previous entry's hash ${expectedPrev}`);
    }
    const computed = entryHash(e);
    if (computed !== e.hash) return fail('chain_break', '/hash', `entry hash mismatch: stored ${e.hash || '(empty)'}, computed ${computed} (the entry was edited)`);
    const thisV3 = e.v === 3 ? { chainKind: e.chainKind, writer: e.writerInstanceId } : null;
    if (this.v3 !== undefined) {
      if ((this.v3 === null) !== (thisV3 === null)) return fail('chain_break', '/v', 'v3 entries and v1/v2 entries must not be mixed in one chain');
      if (this.v3 && thisV3 && (this.v3.chainKind !== thisV3.chainKind || this.v3.writer !== thisV3.writer)) {
        return fail('chain_break', '/chain_kind', 'chain_kind and writer_instance_id must stay constant within a v3 chain');
      }
    }
    this.v3 = thisV3;
    this.prevHash = e.hash;

    if (e.type === 'checkpoint') {
      this.checkpoints++;
      const p = this.checkpointProblem(e);
      if (p) return fail(p.reason, p.pointer, p.message);
    } else if (e.type === 'transcript_root') {
      const p = transcriptProblem(e, receiptsSoFar());
      if (p) return fail(p.reason, p.pointer, p.message);
    }
  }

  private checkpointProblem(e: RecorderEntry): EntryProblem | null {
    if (!this.checkpointKeys) return null;
    const d = e.detail;
    const sig = d instanceof JObj ? d.get('signature') : undefined;
    if (typeof sig !== 'string' || sig === '') {
      return { reason: 'missing_required_field', pointer: '/detail/signature', message: 'checkpoint carries no signature, but a checkpoint key is configured' };
    }
    const bytes = /^[0-9a-fA-F]{128}$/.test(sig) ? Buffer.from(sig, 'hex') : null;
    const message = Buffer.from(e.prevHash, 'ascii');
    const ok = bytes !== null && this.checkpointKeys().some((k) => verifyEd25519(k, message, bytes));
    return ok ? null : { reason: 'signature_invalid', pointer: '/detail/signature', message: 'checkpoint signature does not verify over its prev_hash under the pinned key or a key the chain rotated to' };
  }
}

function transcriptProblem(e: RecorderEntry, s: ChainSummary | null): EntryProblem | null {
  const d = e.detail;
  const broken = (pointer: string, message: string): EntryProblem => ({ reason: 'chain_break', pointer: `/detail${pointer}`, message });
  if (!(d instanceof JObj)) return broken('', 'transcript_root detail must be an object');
  const num = (k: string) => {
    const v = d.get(k);
    return isIntegerLiteral(v) ? BigInt(v.raw) : null;
  };
  const count = num('receipt_count');
  const actual = s ? s.receiptCount : 0;
  if (count === null || count !== BigInt(actual)) {
    return { reason: 'receipt_count_mismatch', pointer: '/detail/receipt_count', message: `transcript_root declares receipt_count ${count ?? 'missing'} but ${actual} receipts precede it` };
  }
  if (!s) return null;
  if (d.get('root_hash') !== s.rootHash) return broken('/root_hash', `transcript_root root_hash does not match the hash of the last receipt (${s.rootHash})`);
  if (num('final_seq') !== s.finalSeq) return broken('/final_seq', `transcript_root final_seq differs from the last receipt's chain_seq ${s.finalSeq}`);
  for (const [k, want] of [
    ['start_time', s.startTime],
    ['end_time', s.endTime],
  ] as const) {
    const got = d.get(k);
    const a = typeof got === 'string' ? parseGoTime(got) : null;
    const b = parseGoTime(want);
    if (!a || !b || a.epochSeconds !== b.epochSeconds || a.nanos !== b.nanos) return broken(`/${k}`, `transcript_root ${k} differs from the receipts' (${want})`);
  }
  return null;
}
