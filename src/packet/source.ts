/**
 * The I/O edge of Audit Packet verification: where packet.json and the
 * evidence artifact come from (spec/audit-packet-v0.md §1.1–§1.3, §3.3 steps
 * 1–2 and 8–9). A directory (given as the directory or as its packet file)
 * and a zip bundle look the same to the steps in ./verify.ts: read the packet
 * bytes once, resolve an artifact path to a streamable file, close.
 *
 * Every outcome is coded, never thrown:
 *   - `io`      the bytes could not be obtained (missing, permission, I/O,
 *               packet.json not a regular file) → verdict `error`, exit 2;
 *   - `finding` the content broke a rule (reason `bundle_invalid`, or
 *               `malformed_json` for packet.json's own 8 MiB cap) → exit 1.
 * Errors that only surface while the evidence is streamed (a zip entry's
 * CRC, a limit crossed mid-entry, an I/O error) are thrown by the stream and
 * classified by `classifyStreamError`.
 */
import { constants as fsConstants } from 'node:fs';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import { isBundleError, openZipBundle, type BundleError, type ZipBundle } from '../bundle/zip-reader.js';
import type { ReportReason, Where } from '../report/reasons.js';
import { ioMessage, isIoError, type PacketInput } from '../verify/inputs.js';
import type { ChainFile } from '../verify/chain-input.js';

/** packet.json's cap (§3.3 step 2): 8 MiB, checked before and after reading. */
export const MAX_PACKET_BYTES = 8 * 1024 * 1024;

/** A content problem found while obtaining bytes. */
export interface SourceFinding {
  reason: ReportReason;
  message: string;
  where: Where;
}

export type Obtained<T> = { ok: true; value: T } | { ok: false; io: string; where: Where } | { ok: false; finding: SourceFinding };

export interface PacketSource {
  readonly kind: 'dir' | 'zip';
  /** `audit_packet.path`: the packet file as resolved (dir + /packet.json, or zip!entry). */
  readonly packetPath: string;
  /** `where.file` for findings about packet.json (the zip entry name for zips). */
  readonly packetFile: string;
  /** The packet file's own name, for the `artifacts.packet` warning. */
  readonly packetBaseName: string;
  /** Step 2: the raw packet.json bytes (at most 8 MiB). */
  readPacket(): Promise<Obtained<Buffer>>;
  /** Step 8: `artifacts.evidence` resolved inside the base, as a stream of bytes. */
  evidenceFile(rel: string): Promise<Obtained<ChainFile>>;
  /** Whether an artifact path names a file inside the base (for warnings only; never reads it). */
  artifactExists(rel: string): Promise<boolean>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// §1.2 lexical rules, shared by directories and zips

export type ArtifactPath = { ok: true; normalized: string } | { ok: false; problem: string };

/**
 * The resolution rules 1–4 of §1.2 for a path from `artifacts.*`: not empty,
 * not absolute, no backslash or colon, no control character, and lexically
 * normalised it must stay below the base and name a file.
 */
export function checkArtifactPath(rel: string): ArtifactPath {
  if (rel === '') return { ok: false, problem: 'the artifact path is empty' };
  if (/[\u0000-\u001f\u007f]/.test(rel)) return { ok: false, problem: 'the artifact path contains a control character' };
  if (rel.startsWith('/') || rel.startsWith('\\') || /^[A-Za-z]:/.test(rel) || isAbsolute(rel)) return { ok: false, problem: 'the artifact path is absolute; it must be relative to the directory that holds packet.json' };
  if (rel.includes('\\') || rel.includes(':')) return { ok: false, problem: 'the artifact path contains a backslash or ":"' };
  const normalized = posix.normalize(rel);
  if (normalized === '.' || normalized === './') return { ok: false, problem: 'the artifact path names the packet directory itself, not a file' };
  if (normalized === '..' || normalized.startsWith('../')) return { ok: false, problem: 'the artifact path leaves the packet directory' };
  if (normalized.endsWith('/')) return { ok: false, problem: 'the artifact path names a directory, not a file' };
  return { ok: true, normalized };
}

function bundleInvalid(message: string, where: Where): { ok: false; finding: SourceFinding } {
  return { ok: false, finding: { reason: 'bundle_invalid', message, where } };
}


/** A zip reader error as an outcome: io → exit 2; packet.json's cap → malformed_json; anything else → bundle_invalid. */
export function bundleOutcome(e: BundleError, zipPath: string): { ok: false; io: string; where: Where } | { ok: false; finding: SourceFinding } {
  const where: Where = { file: e.entry ?? zipPath };
  if (e.kind === 'io') return { ok: false, io: e.message, where };
  return { ok: false, finding: { reason: e.rule === 'packet-size-limit' ? 'malformed_json' : 'bundle_invalid', message: e.message, where } };
}

/**
 * Errors thrown while an evidence stream is read: a zip rule (CRC, limits)
 * or an I/O error. Anything else is a bug and is rethrown by the caller.
 */
export function classifyStreamError(e: unknown, file: string): { ok: false; io: string; where: Where } | { ok: false; finding: SourceFinding } | null {
  if (isBundleError(e)) return bundleOutcome(e, file);
  if (isIoError(e)) return { ok: false, io: ioMessage(file, e), where: { file } };
  return null;
}

// ---------------------------------------------------------------------------
// Opening

/** Step 1: resolve PATH to a source. Never throws for I/O or content problems. */
export async function openPacketSource(input: PacketInput): Promise<Obtained<PacketSource>> {
  if (input.kind === 'zip') return openZipSource(input.path);
  if (input.kind === 'dir') return openDirSource(input.dir, join(input.dir, 'packet.json'), null);
  return openDirSource(dirname(input.path), input.path, input.bytes);
}

async function openDirSource(dir: string, packetPath: string, preRead: Buffer | null): Promise<Obtained<PacketSource>> {
  let base: string;
  try {
    // R-new resolves PATH first, so a symlinked directory on the way is not a false escape (§1.2 item 6).
    base = await realpath(dir);
  } catch (e) {
    if (isIoError(e)) return { ok: false, io: ioMessage(dir, e), where: { file: dir } };
    throw e;
  }
  return { ok: true, value: new DirSource(dir, base, packetPath, preRead) };
}

async function openZipSource(path: string): Promise<Obtained<PacketSource>> {
  try {
    const bundle = await openZipBundle(path);
    return { ok: true, value: new ZipSource(path, bundle) };
  } catch (e) {
    if (isBundleError(e)) return bundleOutcome(e, path);
    if (isIoError(e)) return { ok: false, io: ioMessage(path, e), where: { file: path } };
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Directories

class DirSource implements PacketSource {
  readonly kind = 'dir' as const;
  readonly packetFile: string;
  readonly packetBaseName: string;
  private readonly handles = new Set<FileHandle>();

  constructor(
    /** The directory as the user named it (for messages). */
    private readonly dir: string,
    /** Its real path: containment is judged against this. */
    private readonly base: string,
    readonly packetPath: string,
    /** The packet bytes when the caller already read them (a packet.json path). */
    private readonly preRead: Buffer | null,
  ) {
    this.packetFile = packetPath;
    this.packetBaseName = basename(packetPath);
  }

  async readPacket(): Promise<Obtained<Buffer>> {
    if (this.preRead) {
      if (this.preRead.length > MAX_PACKET_BYTES) return tooLarge(this.packetFile, this.preRead.length);
      return { ok: true, value: this.preRead };
    }
    const where: Where = { file: this.packetFile };
    let fh: FileHandle;
    try {
      // Symlinks in the given path are followed (§3.3 step 2); O_NONBLOCK keeps a FIFO from hanging the open.
      fh = await open(this.packetPath, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
    } catch (e) {
      if (isIoError(e)) return { ok: false, io: ioMessage(this.packetPath, e), where };
      throw e;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { ok: false, io: `${this.packetPath}: not a regular file`, where };
      if (st.size > MAX_PACKET_BYTES) return tooLarge(this.packetFile, st.size);
      const bytes = await readBounded(fh, MAX_PACKET_BYTES);
      if (bytes.length > MAX_PACKET_BYTES) return tooLarge(this.packetFile, bytes.length, true);
      return { ok: true, value: bytes };
    } catch (e) {
      if (isIoError(e)) return { ok: false, io: ioMessage(this.packetPath, e), where };
      throw e;
    } finally {
      await fh.close().catch(() => undefined);
    }
  }

  async evidenceFile(rel: string): Promise<Obtained<ChainFile>> {
    const resolved = await this.resolve(rel);
    if (!resolved.ok) return resolved;
    const { real, shown } = resolved.value;
    const where: Where = { file: shown };
    let fh: FileHandle;
    try {
      fh = await open(real, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
    } catch (e) {
      if (isIoError(e)) return { ok: false, io: ioMessage(shown, e), where };
      throw e;
    }
    try {
      // The identity check is on the open descriptor: what is streamed is what was checked.
      if (!(await fh.stat()).isFile()) {
        await fh.close().catch(() => undefined);
        return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)} names ${shown}, which is not a regular file`, where);
      }
    } catch (e) {
      await fh.close().catch(() => undefined);
      if (isIoError(e)) return { ok: false, io: ioMessage(shown, e), where };
      throw e;
    }
    this.handles.add(fh);
    const handles = this.handles;
    return {
      ok: true,
      value: {
        name: shown,
        chunks: () => {
          const stream = fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: true });
          stream.once('close', () => handles.delete(fh));
          return stream;
        },
      },
    };
  }

  async artifactExists(rel: string): Promise<boolean> {
    const resolved = await this.resolve(rel);
    if (!resolved.ok) return false;
    try {
      return (await stat(resolved.value.real)).isFile();
    } catch {
      return false;
    }
  }

  /** §1.2 resolution steps 1–6: lexical rules, containment after joining, containment after symlinks. */
  private async resolve(rel: string): Promise<Obtained<{ real: string; shown: string }>> {
    const pointerWhere: Where = { file: this.packetFile, pointer: '/artifacts/evidence' };
    const lexical = checkArtifactPath(rel);
    if (!lexical.ok) return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)}: ${lexical.problem}`, pointerWhere);
    const target = join(this.base, lexical.normalized);
    const shown = join(this.dir, lexical.normalized);
    if (!inside(this.base, target)) return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)} escapes the packet directory after resolution`, pointerWhere);
    let real: string;
    try {
      real = await realpath(target);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)} names no file: ${shown} does not exist`, { file: shown, pointer: '/artifacts/evidence' });
      if (isIoError(e)) return { ok: false, io: ioMessage(shown, e), where: { file: shown } };
      throw e;
    }
    if (!inside(this.base, real)) {
      return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)} escapes the packet directory via a symlink (it resolves to ${real})`, { file: shown, pointer: '/artifacts/evidence' });
    }
    return { ok: true, value: { real, shown } };
  }

  async close(): Promise<void> {
    for (const fh of this.handles) await fh.close().catch(() => undefined);
    this.handles.clear();
  }
}

/** Whether `target` lies strictly below `base` (both absolute, already normalised). */
function inside(base: string, target: string): boolean {
  const rel = relative(base, target);
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel);
}

function tooLarge(file: string, size: number, measured = false): { ok: false; finding: SourceFinding } {
  return {
    ok: false,
    finding: {
      reason: 'malformed_json',
      message: `packet.json is ${measured ? 'more than ' : ''}${size} bytes, over the 8 MiB (${MAX_PACKET_BYTES} bytes) limit for packet.json`,
      where: { file },
    },
  };
}

/** Reads up to `limit` + 1 bytes, so growth after the size check is still caught. */
async function readBounded(fh: FileHandle, limit: number): Promise<Buffer> {
  const buf = Buffer.alloc(Math.min(limit + 1, 64 * 1024));
  const parts: Buffer[] = [];
  let n = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, limit + 1 - n), null);
    if (bytesRead === 0) break;
    parts.push(Buffer.from(buf.subarray(0, bytesRead)));
    n += bytesRead;
    if (n > limit) break;
  }
  return Buffer.concat(parts, n);
}

// ---------------------------------------------------------------------------
// Zip bundles

class ZipSource implements PacketSource {
  readonly kind = 'zip' as const;
  readonly packetPath: string;
  readonly packetFile: string;
  readonly packetBaseName = 'packet.json';

  constructor(
    private readonly zipPath: string,
    private readonly bundle: ZipBundle,
  ) {
    this.packetFile = `${bundle.base}packet.json`;
    this.packetPath = `${zipPath}!/${this.packetFile}`;
  }

  async readPacket(): Promise<Obtained<Buffer>> {
    try {
      return { ok: true, value: await this.bundle.readEntry('packet.json', 'packet') };
    } catch (e) {
      if (isBundleError(e)) return bundleOutcome(e, this.zipPath);
      if (isIoError(e)) return { ok: false, io: ioMessage(this.zipPath, e), where: { file: this.zipPath } };
      throw e;
    }
  }

  async evidenceFile(rel: string): Promise<Obtained<ChainFile>> {
    const lexical = checkArtifactPath(rel);
    if (!lexical.ok) return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)}: ${lexical.problem}`, { file: this.packetFile, pointer: '/artifacts/evidence' });
    const name = this.bundle.base + lexical.normalized;
    try {
      // Opened now, so a name that escapes the base or names no entry is a finding of step 8;
      // the bytes are inflated only as the chain walker pulls them.
      const stream = await this.bundle.openEntryStream(lexical.normalized, 'evidence');
      return { ok: true, value: { name, chunks: () => stream } };
    } catch (e) {
      if (isBundleError(e)) {
        if (e.kind === 'invalid' && e.rule === 'entry-not-found') {
          return bundleInvalid(`artifacts.evidence ${JSON.stringify(rel)} names no file: the bundle has no entry ${JSON.stringify(name)}`, { file: name, pointer: '/artifacts/evidence' });
        }
        return bundleOutcome(e, this.zipPath);
      }
      if (isIoError(e)) return { ok: false, io: ioMessage(this.zipPath, e), where: { file: this.zipPath } };
      throw e;
    }
  }

  async artifactExists(rel: string): Promise<boolean> {
    const lexical = checkArtifactPath(rel);
    return lexical.ok && this.bundle.has(lexical.normalized);
  }

  close(): Promise<void> {
    return this.bundle.close();
  }
}
