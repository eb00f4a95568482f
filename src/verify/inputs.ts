/**
 * The file-system edge of verification: detects what a path holds
 * (receipts-v1 §9.3 "Input detection") and feeds the pure verifiers.
 * Failing to obtain bytes is `error` (exit 2); everything about content is
 * `invalid` (exit 1).
 */
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InputKind } from '../report/reasons.js';
import { errorReport, invalidReport, type Report, type SessionReport } from '../report/report.js';
import { verifyJsonl, type ChainFile } from './chain-input.js';
import { MAX_DOCUMENT_BYTES, verifyDocument } from './document.js';
import type { VerifyOptions } from './options.js';

/** Verifies an Audit Packet; supplied by the packet module (kept out of the core's imports). */
export type PacketVerifier = (input: PacketInput, opts: VerifyOptions) => Promise<Report>;
export type PacketInput = { kind: 'dir'; dir: string } | { kind: 'file'; path: string; bytes: Buffer } | { kind: 'zip'; path: string };

export interface InputOptions {
  packetVerifier?: PacketVerifier;
}

const IO_CODES = new Set(['ENOENT', 'EACCES', 'EPERM', 'EISDIR', 'ENOTDIR', 'EIO', 'ELOOP', 'ENAMETOOLONG', 'EMFILE', 'ENFILE', 'EBUSY', 'ENXIO', 'EEXIST', 'ENOSPC', 'EROFS', 'EXDEV']);

export function isIoError(e: unknown): e is NodeJS.ErrnoException {
  return typeof e === 'object' && e !== null && IO_CODES.has((e as NodeJS.ErrnoException).code ?? '');
}

/** One line naming the path and why its bytes could not be read. */
export function ioMessage(path: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return `${path}: no such file or directory`;
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied`;
    default:
      return `${path}: cannot read (${e.code}: ${e.message})`;
  }
}

export function fileSource(path: string, name = path): ChainFile {
  return { name, chunks: () => createReadStream(path, { highWaterMark: 256 * 1024 }) };
}

/** Reads at most `limit` + 1 bytes, so an oversized file is detected without reading it whole. */
export async function readCapped(path: string, limit: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(limit + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) break;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

export async function verifyPath(path: string, opts: VerifyOptions, io: InputOptions = {}): Promise<Report> {
  let kind: InputKind | null = null;
  try {
    const st = await stat(path);
    if (st.isDirectory()) {
      const names = await readdir(path);
      if (names.includes('packet.json')) {
        kind = 'audit_packet';
        return await packet(io, { kind: 'dir', dir: path }, opts);
      }
      const sessions = evidenceSessions(names);
      if (sessions.size > 0) {
        kind = 'recorder';
        return await verifyEvidenceDir(path, sessions, opts);
      }
      return invalidReport(null, { reason: 'malformed_json', message: `${path}: neither packet.json nor evidence-*.jsonl files found in this directory`, where: { file: path } }, opts.pinnedKeys.length === 0);
    }
    if (!st.isFile()) return errorReport(null, `${path}: not a regular file or directory`, { file: path });
    const lower = path.toLowerCase();
    if (lower.endsWith('.zip')) {
      kind = 'audit_packet';
      return await packet(io, { kind: 'zip', path }, opts);
    }
    if (lower.endsWith('.jsonl')) return await verifyJsonl([fileSource(path)], opts);
    const bytes = await readCapped(path, MAX_DOCUMENT_BYTES);
    // A file named packet.json is a packet whatever it holds: its bytes are
    // pinned (--expect-sha256) before they are parsed (audit-packet-v0 §3.3).
    if (basename(path) === 'packet.json') {
      kind = 'audit_packet';
      return await packet(io, { kind: 'file', path, bytes }, opts);
    }
    kind = 'receipt';
    const doc = await verifyDocument(bytes, path, opts);
    if ('report' in doc) return doc.report;
    kind = 'audit_packet';
    return await packet(io, { kind: 'file', path, bytes }, opts);
  } catch (e) {
    if (isIoError(e)) return errorReport(kind, ioMessage(path, e), { file: path });
    throw e;
  }
}

async function packet(io: InputOptions, input: PacketInput, opts: VerifyOptions): Promise<Report> {
  if (!io.packetVerifier) {
    const where = input.kind === 'dir' ? input.dir : input.path;
    return invalidReport('audit_packet', { reason: 'unsupported_version', message: 'Audit Packet verification is not available in this build', where: { file: where } }, opts.pinnedKeys.length === 0);
  }
  return io.packetVerifier(input, opts);
}

const EVIDENCE_FILE = /^evidence-(.+)-(\d+)\.jsonl$/;

/** Groups `evidence-<session>-<seq_start>.jsonl` names by session, each sorted numerically (§7.1). */
export function evidenceSessions(names: readonly string[]): Map<string, string[]> {
  const sessions = new Map<string, { name: string; start: bigint }[]>();
  for (const name of names) {
    const m = EVIDENCE_FILE.exec(name);
    if (!m) continue;
    const list = sessions.get(m[1]!) ?? [];
    list.push({ name, start: BigInt(m[2]!) });
    sessions.set(m[1]!, list);
  }
  const out = new Map<string, string[]>();
  for (const id of [...sessions.keys()].sort()) {
    out.set(
      id,
      sessions
        .get(id)!
        .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
        .map((f) => f.name),
    );
  }
  return out;
}

/** Verifies each recorder session of an evidence directory separately and aggregates (§9.9). */
async function verifyEvidenceDir(dir: string, sessions: Map<string, string[]>, opts: VerifyOptions): Promise<Report> {
  const reports: SessionReport[] = [];
  for (const [id, files] of sessions) {
    // Endorsements bind to one recorder session: --session-id when given,
    // else each session's own id. Other sessions must not see them.
    const bound = opts.recorderSessionId === null || opts.recorderSessionId === id;
    const sessionOpts: VerifyOptions = {
      ...opts,
      recorderSessionId: id,
      endorsements: bound ? opts.endorsements.filter((e) => e.sessionId === id) : [],
    };
    let r: Report;
    try {
      r = await verifyJsonl(files.map((f) => fileSource(join(dir, f))), sessionOpts, 'recorder');
    } catch (e) {
      if (!isIoError(e)) throw e;
      r = errorReport('recorder', ioMessage(join(dir, files[0]!), e), { file: join(dir, files[0]!) });
    }
    const { kind: _kind, unpinned: _unpinned, sessions: _s, audit_packet: _a, ...rest } = r;
    reports.push({ session_id: id, ...rest });
  }
  return aggregateSessions(reports, opts.pinnedKeys.length === 0);
}

export function aggregateSessions(sessions: SessionReport[], unpinned: boolean): Report {
  const bad = sessions.find((s) => s.verdict === 'error') ?? sessions.find((s) => s.verdict !== 'valid');
  const allValid = !bad;
  const one = sessions.length === 1 ? sessions[0]! : null;
  const keys: string[] = [];
  if (allValid) for (const s of sessions) for (const k of s.signer_keys) if (!keys.includes(k)) keys.push(k);
  const total = sessions.reduce((n, s) => n + (s.receipt_count ?? 0), 0);
  return {
    verdict: bad ? bad.verdict : 'valid',
    reason: bad ? bad.reason : null,
    message: bad ? `session ${bad.session_id}: ${bad.message}` : `${sessions.length} recorder session${sessions.length > 1 ? 's' : ''}, ${total} receipts verified`,
    where: bad ? bad.where : null,
    kind: 'recorder',
    receipt_count: allValid ? (one ? one.receipt_count : total) : one ? one.receipt_count : null,
    final_seq: one ? one.final_seq : null,
    root_hash: one ? one.root_hash : null,
    signer_keys: allValid ? keys : one ? one.signer_keys : [],
    trusted: allValid && sessions.every((s) => s.trusted),
    unpinned,
    sessions,
    ...(one?.verified_prefix ? { verified_prefix: one.verified_prefix } : {}),
    ...(one?.notes ? { notes: one.notes } : {}),
    ...(one ? { start_time: one.start_time ?? null, end_time: one.end_time ?? null, verdict_totals: one.verdict_totals ?? null } : {}),
  };
}
