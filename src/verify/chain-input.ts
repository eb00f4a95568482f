/**
 * Verifying a chain from a stream of lines: bare-receipt JSONL, or one
 * recorder session's flight-recorder JSONL across one or more files
 * (receipts-v1 §6, §7, §9.3). Also receipt arrays (bundle wrappers).
 *
 * Read problems (syntax, duplicates, recorder reading rules) anywhere in the
 * input outrank every receipt problem, so the whole input is read even after
 * a receipt failed; a torn final line is the single exception.
 */
import { EntryChain, readEntry } from '../chain/recorder.js';
import { ChainWalker, type ChainOutcome, type TrustConfig } from '../chain/walker.js';
import { isBlank, readLines } from '../io/lines.js';
import { decodeUtf8, JArr, JObj, parseJsonText, type JVal } from '../json/strict.js';
import { VerdictTally } from '../report/buckets.js';
import type { Failure, InputKind, Where } from '../report/reasons.js';
import { chainReport, invalidReport, prefixOf, type Report } from '../report/report.js';
import { checkReceipt, type Receipt } from '../receipt/receipt.js';
import type { VerifyOptions } from './options.js';

/** One file of a chain input; `chunks` yields its bytes. */
export interface ChainFile {
  name: string;
  chunks(): AsyncIterable<Buffer | Uint8Array | string>;
}

/** Receipt-level verification shared by every chain-shaped input. */
export class ChainVerification {
  readonly walker: ChainWalker;
  readonly tally = new VerdictTally();
  readonly lifecycle: LifecycleFacts = { opens: 0, heartbeats: 0, closes: 0, last: '' };
  readonly trust: TrustConfig;

  constructor(
    mode: 'single' | 'chain',
    readonly opts: VerifyOptions,
    /** Called for every receipt accepted so far (e.g. to aggregate packet claims). */
    private readonly onReceipt?: (r: Receipt) => void,
  ) {
    this.trust = { pinnedKeys: opts.pinnedKeys, endorsements: opts.endorsements, recorderSessionId: opts.recorderSessionId ?? 'proxy' };
    this.walker = new ChainWalker(mode, this.trust, opts, opts.registry);
  }

  /** Steps 4–14 for one receipt value found at `where` (pointer prefix for nested receipts). */
  add(value: JVal, text: string, where: Where, pointerPrefix = ''): void {
    if (this.walker.stopped) return;
    const checked = checkReceipt(value, text, this.opts.structure);
    if (!checked.ok) {
      const p = checked.problem;
      this.walker.reject(p.reason, p.message, { ...where, pointer: pointerPrefix + p.pointer });
      return;
    }
    const r = checked.receipt;
    this.walker.push(r, { ...where, chain_seq: r.chainSeq });
    if (this.walker.stopped) return;
    this.tally.add(r);
    this.onReceipt?.(r);
    const sc = r.sessionControl;
    if (sc) {
      if (sc.kind === 'session_open') this.lifecycle.opens++;
      else if (sc.kind === 'heartbeat') this.lifecycle.heartbeats++;
      else this.lifecycle.closes++;
      this.lifecycle.last = sc.kind;
    }
  }

  async backpressure(): Promise<void> {
    // Bounded: memory stays flat however long the chain is.
    const window = this.walker.window;
    if (this.walker.pendingCount > window) await this.walker.drainTo(window / 2);
  }

  finish(): Promise<ChainOutcome> {
    return this.walker.finish();
  }
}

export function evidenceNote(n: number): string {
  return `${n} evidence_receipt entries present, not verified (EvidenceReceipt v2 verification not supported yet)`;
}

interface TornLine {
  file: string;
  line: number;
}

/**
 * Verifies one chain input given as JSONL files in order (one file for a
 * `.jsonl`, the sorted files of a recorder session for a directory).
 * `kindHint` fixes the format (e.g. `recorder` for Audit Packet evidence);
 * otherwise the first non-blank line decides (§9.3 rule 5).
 */
export async function verifyJsonl(files: readonly ChainFile[], opts: VerifyOptions, kindHint?: 'chain' | 'recorder'): Promise<Report> {
  return (await verifyChainFiles(files, opts, kindHint)).report;
}

/** Session-control receipts seen in a verified chain (for lifecycle assessments). */
export interface LifecycleFacts {
  opens: number;
  heartbeats: number;
  closes: number;
  /** Last session_control kind seen, or '' when none. */
  last: string;
}

export interface ChainFilesResult {
  report: Report;
  /** Verdict totals of the receipts accepted (both counting rules of audit-packet-v0 §4). */
  tally: VerdictTally;
  lifecycle: LifecycleFacts;
}

/** As verifyJsonl, also returning the verdict tally and lifecycle facts (for Audit Packets). */
export async function verifyChainFiles(
  files: readonly ChainFile[],
  opts: VerifyOptions,
  kindHint?: 'chain' | 'recorder',
  onReceipt?: (r: Receipt) => void,
): Promise<ChainFilesResult> {
  const cv = new ChainVerification('chain', opts, onReceipt);
  const report = await walkFiles(cv, files, opts, kindHint);
  return { report, tally: cv.tally, lifecycle: cv.lifecycle };
}

async function walkFiles(cv: ChainVerification, files: readonly ChainFile[], opts: VerifyOptions, kindHint?: 'chain' | 'recorder'): Promise<Report> {
  // Checkpoints are signed by the recorder's key: the single pinned key, or a
  // key the receipt chain has rotated to through an authorised transition.
  const pinnedKey = opts.pinnedKeys.length === 1 ? opts.pinnedKeys[0]! : null;
  const entries = new EntryChain(pinnedKey ? () => [pinnedKey, ...cv.walker.acceptedSignerKeys] : null);
  let kind: 'chain' | 'recorder' | null = kindHint ?? null;
  let readFailure: Failure | null = null;
  let torn: TornLine | null = null;
  let evidenceCount = 0;
  let sawEntry = false;
  const unpinned = opts.pinnedKeys.length === 0;

  outer: for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi]!;
    const lastFile = fi === files.length - 1;
    for await (const line of readLines(file.chunks())) {
      const where: Where = { file: file.name, line: line.lineNo };
      const readFail = (message: string, pointer?: string, reason: Failure['reason'] = 'malformed_json') => {
        readFailure = { reason, message, where: pointer === undefined ? where : { ...where, pointer } };
      };
      if (line.bytes === null) {
        readFail(`line ${line.lineNo} is ${line.length} bytes long, over the 1 MiB line limit`);
        break outer;
      }
      if (isBlank(line.bytes)) continue;
      const text = decodeUtf8(line.bytes);
      const parsed = text === null ? null : parseJsonText(text);
      if (text === null || !parsed!.ok) {
        const syntax = parsed === null || parsed.ok || parsed.error.reason === 'malformed_json';
        if (!line.terminated && lastFile && syntax) {
          torn = { file: file.name, line: line.lineNo };
          break outer;
        }
        if (text === null) readFail(`line ${line.lineNo} is not valid UTF-8`);
        else if (!parsed!.ok) readFailure = { reason: parsed!.error.reason, message: parsed!.error.message, where: { ...where, pointer: parsed!.error.pointer } };
        break outer;
      }
      const value = parsed!.value;
      const shape = lineShape(value);
      if (kind === null) {
        if (shape === 'other') {
          readFail('the first line is neither a receipt (no "action_record") nor a recorder entry (no "v" and "type")');
          break outer;
        }
        kind = shape;
      } else if (shape !== 'other' && shape !== kind) {
        readFail(kind === 'chain' ? 'a recorder entry in a file of bare receipts' : 'a bare receipt in a file of recorder entries');
        break outer;
      }

      if (kind === 'chain') {
        cv.add(value, text!, where);
      } else {
        const read = readEntry(value, text!);
        if (!read.ok) {
          readFail(read.problem.message, read.problem.pointer, read.problem.reason);
          break outer;
        }
        const e = read.entry;
        if (!sawEntry) {
          sawEntry = true;
          if (opts.recorderSessionId === null && e.sessionId !== '') cv.trust.recorderSessionId = e.sessionId;
        }
        if (e.type === 'action_receipt') {
          if (!(e.detail instanceof JObj)) {
            readFail('an action_receipt entry\'s "detail" must be a receipt object', '/detail');
            break outer;
          }
          cv.add(e.detail, text!, where, '/detail');
        } else if (e.type === 'evidence_receipt') {
          evidenceCount++;
        }
        entries.observe(e, file.name, line.lineNo, () => cv.walker.snapshot());
      }
      await cv.backpressure();
    }
  }

  const outcome = await cv.finish();
  const resolvedKind: InputKind | null = kind;
  if (readFailure) return invalidReport(resolvedKind, readFailure, unpinned);
  const notes = evidenceCount > 0 ? [evidenceNote(evidenceCount)] : [];
  const reportKind: InputKind | null = resolvedKind ?? kindHint ?? null;
  if (outcome.failure) return invalidReport(reportKind, outcome.failure, unpinned, notes.length ? { notes } : {});
  if (entries.first) {
    const f = entries.first;
    return invalidReport(reportKind, { reason: f.reason, message: f.message, where: { file: f.file, line: f.lineNo, pointer: f.pointer } }, unpinned);
  }
  const tornFile = torn as TornLine | null;
  if (tornFile) {
    const prefix = prefixOf(outcome.summary);
    return invalidReport(
      reportKind,
      {
        reason: 'malformed_json',
        message: `truncated final line${prefix ? `: the ${prefix.receipt_count} receipts before it verify (root ${prefix.root_hash})` : ''}`,
        where: { file: tornFile.file, line: tornFile.line },
      },
      unpinned,
      { ...(prefix ? { verified_prefix: prefix } : {}), ...(notes.length ? { notes } : {}) },
    );
  }
  if (!outcome.summary) {
    if (evidenceCount > 0) {
      return invalidReport(reportKind, { reason: 'unsupported_version', message: `only EvidenceReceipt v2 entries (${evidenceCount}) and no ActionReceipt v1: v2 verification is not supported yet`, where: { file: files[0]?.name ?? '' } }, unpinned, { notes });
    }
    return invalidReport(reportKind, { reason: 'malformed_json', message: 'empty chain: no receipts found', where: files[0] ? { file: files[0].name } : {} }, unpinned);
  }
  return chainReport(reportKind ?? 'chain', { ...outcome, summary: outcome.summary }, { pinned: !unpinned, allowUnpinned: opts.allowUnpinned }, { totals: cv.tally.all, notes });
}

function lineShape(v: JVal): 'chain' | 'recorder' | 'other' {
  if (!(v instanceof JObj)) return 'other';
  if (v.has('action_record')) return 'chain';
  if (v.has('v') && v.has('type')) return 'recorder';
  return 'other';
}

/** Verifies the `receipts` array of a receipt bundle as a chain in array order (§9.4). */
export async function verifyReceiptArray(arr: JArr, text: string, file: string, opts: VerifyOptions): Promise<Report> {
  const cv = new ChainVerification('chain', opts);
  for (let i = 0; i < arr.items.length; i++) {
    cv.add(arr.items[i]!, text, { file }, `/receipts/${i}`);
    await cv.backpressure();
  }
  const outcome = await cv.finish();
  const unpinned = opts.pinnedKeys.length === 0;
  if (outcome.failure) return invalidReport('chain', outcome.failure, unpinned);
  if (!outcome.summary) return invalidReport('chain', { reason: 'malformed_json', message: 'empty chain: no receipts found', where: { file, pointer: '/receipts' } }, unpinned);
  return chainReport('chain', { ...outcome, summary: outcome.summary }, { pinned: !unpinned, allowUnpinned: opts.allowUnpinned }, { totals: cv.tally.all, notes: [] });
}
