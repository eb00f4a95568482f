/**
 * Human rendering of a verification report: a verdict line, a summary
 * table, then what failed, where, and what to do. Colour only when the
 * caller says the stream is a TTY and NO_COLOR is unset.
 */
import { Chalk } from 'chalk';
import Table from 'cli-table3';
import { isAuditPacketReport, type AuditPacketReport, type CheckStatus } from '../packet/report-shape.js';
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
  packet_sha256_mismatch: 'packet.json is not the file whose SHA-256 you pinned: it was edited, or it comes from another run',
  bundle_invalid: 'the bundle itself is unsafe or incomplete (zip entry, layout, limit, or artifacts.evidence); rebuild it from the producer\'s directory',
  schema_invalid: 'packet.json does not follow the Audit Packet v0 schema; the errors below name each member',
  packet_not_trusted: 'pin the signer with --pubkey KEY, or the packet bytes with --expect-sha256 HEX; see --help for --allow-self-consistent-only and --no-trust-required',
  cross_check_failed: 'packet.json claims something the signed evidence does not show: the packet was edited, or describes another chain',
};

export function renderReport(r: Report, opts: RenderOptions): string {
  const c = new Chalk({ level: opts.color ? 1 : 0 });
  if (r.kind === 'audit_packet' && isAuditPacketReport(r.audit_packet)) return renderPacketReport(r, r.audit_packet, c);
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

// ---------------------------------------------------------------------------
// Audit Packets

type Painter = InstanceType<typeof Chalk>;

function renderPacketReport(r: Report, ap: AuditPacketReport, c: Painter): string {
  const lines: string[] = [];
  const label = r.verdict === 'valid' ? c.green.bold(r.trusted ? 'VALID' : 'VALID (NOT TRUSTED)') : c.red.bold('INVALID');
  lines.push(`${label}  ${r.reason ? c.bold(r.reason) + ' — ' : ''}${clean(r.message)}`);
  if (r.verdict === 'valid' && !r.trusted) {
    lines.push(c.yellow.bold('!! The evidence verified, but not under a key you pinned (or the packet does not claim trust). It is NOT trusted evidence. !!'));
  }
  lines.push(`Audit Packet: ${clean(ap.path)}`);

  const checks = new Table({ head: ['check', 'result', 'detail'].map((h) => c.bold(h)), style: { head: [], border: [] }, wordWrap: true, wrapOnWordBoundary: false, colWidths: [13, 12, 80] });
  const stop = skipCause(r, ap);
  checks.push(['schema', status(ap.schema_check, c), checkDetail(ap, 'schema: ', ap.schema_check, stop)]);
  checks.push(['chain', status(ap.chain_check, c), ap.chain_check === 'pass' ? chainLine(r) : checkDetail(ap, 'chain: ', ap.chain_check, stop)]);
  checks.push(['cross-check', status(ap.cross_check, c), ap.cross_check === 'pass' ? `every cross-checked claim matches the chain${ap.counting ? ` (counting ${ap.counting})` : ''}` : ap.chain_check === 'fail' && ap.cross_check === 'fail' ? 'every count differs because the chain did not verify' : checkDetail(ap, 'cross-check: ', ap.cross_check, stop)]);
  checks.push(['lifecycle', ap.lifecycle_assessment === 'assessed' ? `${ap.lifecycle_status}` : 'skipped', ap.lifecycle_assessment === 'assessed' ? `${ap.lifecycle_reason}${ap.lifecycle_status === 'BROKEN' ? ' (makes the packet invalid)' : ' (informational)'}` : (ap.lifecycle_assessment_reason ?? '')]);
  lines.push(checks.toString());
  lines.push(`verdict: ${ap.verdict === '' ? '(unset)' : clean(ap.verdict)}   trusted: ${ap.trusted ? 'yes' : 'no'}   valid: ${ap.valid ? 'yes' : 'no'}${ap.counting ? `   counting: ${ap.counting}` : ''}`);

  if (ap.schema_check === 'pass') lines.push(totalsTable(ap, c));
  if (r.receipt_count !== null) lines.push(...chainSummary(r));

  if (ap.unverified_claims.length > 0) {
    lines.push(c.bold('Unverified claims') + ' (stated by packet.json, NOT confirmed by the signed evidence):');
    for (const [group, claims] of groupClaims(ap.unverified_claims)) lines.push(`  ${group}: ${claims.join(', ')}`);
  }
  if (ap.errors?.length) {
    lines.push(c.bold('Errors:'));
    for (const e of groupedErrors(ap)) lines.push(`  ${c.red('✗')} ${clean(e)}`);
  }
  for (const w of ap.warnings ?? []) lines.push(`  ${c.yellow('warning:')} ${clean(w)}`);
  if (r.verdict !== 'valid') {
    const where = clean(formatWhere(r.where));
    if (where) lines.push(`  where: ${where}`);
    const hint = r.reason ? HINTS[r.reason] : undefined;
    if (hint) lines.push(`  hint:  ${hint}`);
  }
  for (const n of r.notes ?? []) lines.push(`  note: ${n}`);
  return lines.join('\n') + '\n';
}

function status(s: CheckStatus, c: Painter): string {
  return s === 'pass' ? c.green('pass') : s === 'fail' ? c.red('fail') : c.dim('skipped');
}

/** Why the later checks were skipped: the step that stopped the run. */
function skipCause(r: Report, ap: AuditPacketReport): string {
  if (ap.verdict === 'schema_checked_trust_unverified') return 'not run: --offline';
  switch (r.reason) {
    case 'packet_sha256_mismatch':
      return 'not run: packet.json does not match --expect-sha256';
    case 'malformed_json':
    case 'duplicate_key':
      if (ap.schema_check === 'skipped') return 'not run: packet.json could not be parsed';
      break;
    case 'bundle_invalid':
      if (ap.schema_check === 'skipped') return 'not run: the bundle could not be read';
      break;
    default:
      break;
  }
  if (ap.schema_check === 'fail') return 'not run: the schema check failed';
  if (ap.chain_check === 'fail') return 'not run: the chain check did not complete';
  return 'not run';
}

/** The errors of one check (by prefix), or why it was skipped. */
function checkDetail(ap: AuditPacketReport, prefix: string, s: CheckStatus, stop: string): string {
  if (s === 'skipped') return stop;
  const mine = (ap.errors ?? []).filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
  return mine.length ? clean(mine.join('\n')) : '';
}

function chainLine(r: Report): string {
  const keys = r.signer_keys.map((k) => `${k.slice(0, 8)}…${k.slice(-4)}`).join(', ');
  return `${r.receipt_count} receipt${r.receipt_count === 1 ? '' : 's'}, final chain_seq ${r.final_seq}, signed by ${keys}${r.unpinned ? ' (NOT a key you pinned)' : ''}`;
}

/** Packet claims against the chain, one column per bucket; mismatches in red. */
function totalsTable(ap: AuditPacketReport, c: Painter): string {
  const chain = ap.chain_counts ?? null;
  const t = new Table({ head: ['', 'receipts', ...VERDICT_BUCKETS].map((h) => c.bold(h)), style: { head: [], border: [] } });
  const packetRow = [ap.summary.receipt_count, ...VERDICT_BUCKETS.map((b) => ap.summary.totals[b])];
  const chainRow = chain ? [chain.receipt_count, ...VERDICT_BUCKETS.map((b) => chain.totals[b])] : null;
  const paint = (n: number, i: number) => (chainRow && chainRow[i] !== packetRow[i] ? c.red(String(n)) : String(n));
  t.push(['packet', ...packetRow.map(paint)]);
  t.push([chain ? `chain (${ap.counting ?? 'all receipts'})` : 'chain', ...(chainRow ? chainRow.map(paint) : VERDICT_BUCKETS.map(() => '—').concat('—'))]);
  return t.toString();
}

function chainSummary(r: Report): string[] {
  const out = [`root hash: ${r.root_hash ?? '—'}`];
  if (r.start_time) out.push(`time range: ${r.start_time === r.end_time ? r.start_time : `${r.start_time} → ${r.end_time}`}`);
  return out;
}

/** Claims by top-level member: `run: provider=local, agent_identity=…`. */
function groupClaims(claims: AuditPacketReport['unverified_claims']): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const claim of claims) {
    const field = clean(claim.field);
    const dot = field.indexOf('.');
    const group = dot < 0 ? field : field.slice(0, dot);
    const name = dot < 0 ? '' : field.slice(dot + 1);
    const value = clean(claimValue(claim.value));
    const list = groups.get(group) ?? [];
    list.push(name ? `${name}=${value}` : value);
    groups.set(group, list);
  }
  return groups;
}

/**
 * A chain that failed makes every count compare against 0: one line says so
 * instead of a cascade (--json keeps every line).
 */
function groupedErrors(ap: AuditPacketReport): string[] {
  const errors = ap.errors ?? [];
  if (ap.chain_check !== 'fail') return errors;
  const cascade = errors.filter((e) => e.startsWith('cross-check: '));
  const rest = errors.filter((e) => !e.startsWith('cross-check: ') && !e.startsWith('lifecycle: '));
  if (cascade.length > 1) rest.splice(1, 0, `cross-check: ${cascade.length - 1} mismatches follow from the chain failure (the chain counts as 0 receipts); --json lists them`);
  return rest;
}

function claimValue(v: unknown): string {
  const text = typeof v === 'string' && !CONTROL.test(v) ? v : JSON.stringify(v);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** Packet text is untrusted: control characters (terminal escapes) are shown escaped, never sent raw. */
function clean(s: string): string {
  return s.replace(CONTROLS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
