/**
 * One JSON document (receipts-v1 §9.3 rule 6, §9.4): a v1 receipt, a padded
 * receipt, a receipt bundle, or something recognised and refused (an
 * EvidenceReceipt v2). Audit Packet documents are handed back to the caller.
 */
import { compactRawPlain } from '../json/go-encode.js';
import { JArr, JNum, JObj, lineCol, parseJsonBytes, type JVal } from '../json/strict.js';
import type { Failure } from '../report/reasons.js';
import { chainReport, invalidReport, type Report } from '../report/report.js';
import { isIntegerLiteral } from '../receipt/validate.js';
import { ChainVerification, verifyReceiptArray } from './chain-input.js';
import type { VerifyOptions } from './options.js';

export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

export type DocumentResult = { packet: true } | { report: Report };

function hasExactly(o: JObj, names: readonly string[]): boolean {
  return o.size === names.length && names.every((n) => o.has(n));
}

/**
 * Verifies a single document's bytes. Returns `{packet: true}` when the
 * document is an Audit Packet (`schema_version` member), for the packet verifier.
 */
export async function verifyDocument(bytes: Uint8Array, file: string, opts: VerifyOptions): Promise<DocumentResult> {
  const unpinned = opts.pinnedKeys.length === 0;
  const reject = (f: Failure, kind: 'receipt' | 'chain' = 'receipt'): DocumentResult => ({ report: invalidReport(kind, f, unpinned) });
  if (bytes.length > MAX_DOCUMENT_BYTES) {
    return reject({ reason: 'malformed_json', message: `file is larger than the 8 MiB (${MAX_DOCUMENT_BYTES} bytes) limit for a single JSON document`, where: { file } });
  }
  const parsed = parseJsonBytes(bytes);
  if (!parsed.ok) {
    const e = parsed.error;
    return reject({ reason: e.reason, message: e.message, where: { file, line: e.line, pointer: e.pointer } });
  }
  const { value, text } = parsed;
  if (value instanceof JObj && value.has('schema_version')) return { packet: true };

  // Step 3: wrappers.
  // Step 3: wrappers — exactly these members with these types; anything else is verified as a receipt.
  if (value instanceof JObj && isPadded(value)) return { report: await verifyPadded(value, text, file, opts) };
  if (value instanceof JObj && isBundle(value)) {
    const arr = value.get('receipts') as JArr;
    const declared = value.get('declared_receipt_count') as JNum;
    if (BigInt(declared.raw) !== BigInt(arr.items.length)) {
      return reject(
        { reason: 'receipt_count_mismatch', message: `bundle declares ${declared.raw} receipts but carries ${arr.items.length}`, where: { file, pointer: '/declared_receipt_count' } },
        'chain',
      );
    }
    return { report: await verifyReceiptArray(arr, text, file, opts) };
  }
  return { report: await verifySingle(value, text, { file, line: value instanceof JObj ? lineCol(text, value.start).line : 1 }, '', opts) };
}

function isPadded(o: JObj): boolean {
  const declared = o.get('declared_length');
  return hasExactly(o, ['body', 'declared_length']) && o.get('body') instanceof JObj && isIntegerLiteral(declared) && !declared.raw.startsWith('-');
}

function isBundle(o: JObj): boolean {
  return hasExactly(o, ['declared_receipt_count', 'receipts']) && o.get('receipts') instanceof JArr && isIntegerLiteral(o.get('declared_receipt_count'));
}

async function verifyPadded(w: JObj, text: string, file: string, opts: VerifyOptions): Promise<Report> {
  const body = w.get('body') as JObj;
  const declared = w.get('declared_length') as JNum;
  const unpinned = opts.pinnedKeys.length === 0;
  const [s, e] = w.span('body')!;
  const measured = Buffer.byteLength(compactRawPlain(text.slice(s, e)), 'utf8');
  if (BigInt(declared.raw) !== BigInt(measured)) {
    return invalidReport(
      'receipt',
      { reason: 'padding_attack', message: `padded receipt declares a body of ${declared.raw} bytes but the body measures ${measured} bytes`, where: { file, pointer: '/declared_length' } },
      unpinned,
    );
  }
  return verifySingle(body, text, { file }, '/body', opts);
}

/** A single receipt: steps 4–12 with no chain rules (§6.6). */
export async function verifySingle(value: JVal, text: string, where: { file: string; line?: number }, pointerPrefix: string, opts: VerifyOptions): Promise<Report> {
  const cv = new ChainVerification('single', opts);
  cv.add(value, text, where, pointerPrefix);
  const outcome = await cv.finish();
  const unpinned = opts.pinnedKeys.length === 0;
  if (outcome.failure) return invalidReport('receipt', outcome.failure, unpinned);
  return chainReport('receipt', { ...outcome, summary: outcome.summary! }, { pinned: !unpinned, allowUnpinned: opts.allowUnpinned }, { totals: cv.tally.all, notes: [] });
}
