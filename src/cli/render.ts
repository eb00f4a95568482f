/**
 * Human rendering of a verification report: a verdict line, a summary
 * table, then what failed, where, and what to do. Colour only when the
 * caller says the stream is a TTY and NO_COLOR is unset.
 */
import { Chalk } from 'chalk';
import Table from 'cli-table3';
import { VERDICT_BUCKETS } from '../report/buckets.js';
import type { Where } from '../report/reasons.js';
import type { Report, SessionReport } from '../report/report.js';

export interface RenderOptions {
  color: boolean;
}

export function formatWhere(w: Where | null | undefined): string {
  if (!w) return '';
  const parts: string[] = [];
  if (w.file) parts.push(w.line ? `${w.file} line ${w.line}` : w.file);
  else if (w.line) parts.push(`line ${w.line}`);
  const inner: string[] = [];
  if (w.index !== undefined) inner.push(`receipt ${w.index}`);
  if (w.chain_seq !== undefined) inner.push(`chain_seq ${w.chain_seq}`);
  if (inner.length) parts.push(`(${inner.join(', ')})`);
  if (w.pointer) parts.push(`at ${w.pointer}`);
  return parts.join(' ');
}

const HINTS: Partial<Record<string, string>> = {
  no_trust_anchor: 'pin the signer with --pubkey KEY (hex, PEM or a key file); --allow-unpinned accepts a structural check only',
  signer_key_untrusted: 'the signature is mathematically valid but the key is not pinned: check that --pubkey names the key the proxy signs with',
  signature_invalid: 'the signed bytes or the signature were altered, or a different key signed them',
  body_tampered: 'a signature that was valid for another record was reused: the record was edited after signing',
  run_nonce_tampered: 'the run_nonce was changed after signing',
  chain_break: 'a receipt was inserted, removed, reordered or edited between signing and verification',
  malformed_json: 'the file is not the strict JSON the format requires (truncated, edited by hand, or not a receipt file)',
  replay_detected: 'the same action was presented twice',
  expired: 'the receipt is older than --max-age allows',
  timestamp_in_future: 'the receipt is dated later than --max-future-skew allows: check clocks, or --now',
};

export function renderReport(r: Report, opts: RenderOptions): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  const lines: string[] = [];
  const label =
    r.verdict === 'valid'
      ? c.green.bold(r.unpinned ? 'VALID (UNPINNED)' : 'VALID')
      : r.verdict === 'invalid'
        ? c.red.bold('INVALID')
        : c.yellow.bold('ERROR');
  lines.push(`${label}  ${r.reason ? c.bold(r.reason) + ' — ' : ''}${r.message}`);
  if (r.unpinned && r.verdict === 'valid') {
    lines.push(c.yellow.bold('!! UNPINNED: no public key was pinned. Anyone could have signed this; it is NOT trusted evidence. !!'));
  }
  if (r.verdict !== 'error') lines.push(summaryTable(r, c));
  if (r.sessions && r.sessions.length > 1) lines.push(sessionsTable(r.sessions, c));
  if (r.verdict !== 'valid') {
    const where = formatWhere(r.where);
    if (where) lines.push(`  where: ${where}`);
    const hint = r.reason ? HINTS[r.reason] : undefined;
    if (hint) lines.push(`  hint:  ${hint}`);
  }
  if (r.verified_prefix) {
    const p = r.verified_prefix;
    lines.push(`  verified prefix: ${p.receipt_count} receipts, final chain_seq ${p.final_seq}, root ${p.root_hash}`);
  }
  for (const n of r.notes ?? []) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}

function summaryTable(r: Report, c: InstanceType<typeof Chalk>): string {
  const t = new Table({ style: { head: [], border: [] } });
  const row = (k: string, v: string) => t.push({ [c.bold(k)]: v });
  row('kind', r.kind ?? 'unknown');
  row('receipts', r.receipt_count === null ? '—' : String(r.receipt_count));
  if (r.final_seq !== null && r.receipt_count !== null) row('final chain_seq', String(r.final_seq));
  if (r.start_time) row('time range', r.start_time === r.end_time ? r.start_time : `${r.start_time} → ${r.end_time}`);
  row('signer keys', r.signer_keys.length ? r.signer_keys.join('\n') : '—');
  row('root hash', r.root_hash ?? '—');
  row('trusted', r.trusted ? 'yes (every signer key pinned or endorsed)' : 'no');
  if (r.verdict_totals) {
    const parts = VERDICT_BUCKETS.filter((b) => r.verdict_totals![b] > 0).map((b) => `${b} ${r.verdict_totals![b]}`);
    row('verdicts', parts.length ? parts.join(', ') : '—');
  }
  return t.toString();
}

function sessionsTable(sessions: SessionReport[], c: InstanceType<typeof Chalk>): string {
  const t = new Table({ head: ['session', 'verdict', 'receipts', 'root hash / reason'].map((h) => c.bold(h)), style: { head: [], border: [] } });
  for (const s of sessions) {
    t.push([s.session_id, s.verdict, s.receipt_count === null ? '—' : String(s.receipt_count), s.verdict === 'valid' ? (s.root_hash ?? '') : `${s.reason ?? ''}: ${s.message}`]);
  }
  return t.toString();
}
