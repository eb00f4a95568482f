/**
 * Reading Audit Packet zip bundles (spec/audit-packet-v0.md §1.3 and §6).
 *
 * Nothing is ever extracted: entries are inflated into memory or streamed to
 * the caller, and every byte is counted against the limits in `limits.ts`.
 *
 * This is a small central-directory parser of its own rather than yauzl. The
 * hazards of §6 are mostly parser differentials: bytes that one zip tool
 * reads differently from another (a local header naming another file than
 * the central directory, hidden bytes between entries, overlapping entries,
 * an Info-ZIP Unicode path field overriding the name). yauzl reads only what
 * it needs and quietly prefers the Unicode path field, so those rules need a
 * parser that looks at every structure anyway; keeping one parser keeps one
 * authority.
 *
 * The order of work in `openZipBundle`, all of it before any entry content
 * is read:
 *   1. the end record (classic and zip64), disks, entry count;
 *   2. every central-directory record: name, kind, encryption, method;
 *   3. name collisions across the whole archive;
 *   4. every local header against its central record, and the placement of
 *      every entry (no prefix bytes, no gaps, no overlaps);
 *   5. layout detection (flat or one top folder);
 *   6. declared sizes against the limits.
 * Reading an entry then re-checks every limit against the bytes actually
 * produced, and the CRC-32 and size at the end.
 *
 * zip64 is handled, not rejected: some writers emit zip64 records for small
 * archives, and every value read from them is still bound by the same limits
 * and file-size checks as the classic fields. Values beyond 2^53 are refused.
 */

import { constants as fsConstants } from 'node:fs';
import { open as openFile, stat as statPath, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';

import {
  formatBytes,
  largestEntryLimit,
  limitForRole,
  resolveLimits,
  type BundleLimits,
  type EntryRole,
} from './limits.js';

export type { BundleLimits, EntryRole } from './limits.js';

// ---------------------------------------------------------------------------
// Errors

/** Every rule the reader can report, as a closed list. */
export const BUNDLE_RULES = [
  // kind 'io': the bytes could not be obtained (exit 2)
  'io-error',
  'not-a-regular-file',
  // archive structure
  'archive-too-large',
  'not-a-zip',
  'trailing-data',
  'ambiguous-end-record',
  'multi-disk',
  'zip64-invalid',
  'central-directory-invalid',
  'too-many-entries',
  'truncated',
  // entry names
  'name-empty',
  'name-too-long',
  'name-encoding',
  'name-control-character',
  'name-absolute',
  'name-backslash',
  'name-colon',
  'name-empty-segment',
  'name-dot-segment',
  'name-traversal',
  'name-unicode-path-mismatch',
  // entry kinds
  'symlink',
  'special-file',
  'entry-kind-mismatch',
  'encrypted',
  'compression-method',
  'directory-with-data',
  'extra-field-invalid',
  // collisions
  'duplicate-name',
  'name-collision',
  'file-directory-conflict',
  // local headers and placement
  'local-header-mismatch',
  'data-descriptor-mismatch',
  'data-before-first-entry',
  'overlapping-entries',
  'unaccounted-bytes',
  'entry-out-of-bounds',
  // sizes
  'packet-size-limit',
  'entry-size-limit',
  'total-size-limit',
  'compression-ratio',
  // content
  'size-mismatch',
  'crc-mismatch',
  'corrupt-data',
  // layout and name resolution
  'layout-no-packet',
  'layout-ambiguous',
  'layout-not-single-folder',
  'layout-packet-too-deep',
  'path-invalid',
  'path-escapes-base',
  'entry-not-found',
] as const;

export type BundleRule = (typeof BUNDLE_RULES)[number];

/** `io` → the bytes could not be obtained (exit 2); `invalid` → the content broke a rule (exit 1). */
export type BundleErrorKind = 'invalid' | 'io';

export class BundleError extends Error {
  override readonly name = 'BundleError';
  readonly kind: BundleErrorKind;
  readonly rule: BundleRule;
  /** The entry's full name in the archive, when the failure is about one entry. */
  readonly entry?: string;

  constructor(kind: BundleErrorKind, rule: BundleRule, message: string, options: { entry?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.rule = rule;
    if (options.entry !== undefined) this.entry = options.entry;
  }
}

export function isBundleError(e: unknown): e is BundleError {
  return e instanceof BundleError;
}

function entryFault(rule: BundleRule, entry: string, detail: string): BundleError {
  return new BundleError('invalid', rule, `zip entry ${JSON.stringify(entry)}: ${detail}`, { entry });
}

function archiveFault(rule: BundleRule, detail: string): BundleError {
  return new BundleError('invalid', rule, `zip archive: ${detail}`);
}

function ioFault(path: string, cause: unknown): BundleError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const rule: BundleRule = code === 'EISDIR' ? 'not-a-regular-file' : 'io-error';
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BundleError('io', rule, `cannot read ${JSON.stringify(path)}: ${reason}`, { cause });
}

// ---------------------------------------------------------------------------
// Zip constants (APPNOTE.TXT 6.3)

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_DESCRIPTOR = 0x08074b50;

const END_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_END_MIN_SIZE = 56;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_DESCRIPTOR = 0x0008;
const FLAG_PATCHED = 0x0020;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;
const FLAG_MASKED_HEADERS = 0x2000;
const ENCRYPTION_FLAGS = FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION | FLAG_MASKED_HEADERS;

const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
const METHOD_AES = 99;

const EXTRA_ZIP64 = 0x0001;
const EXTRA_UNICODE_PATH = 0x7075;
const EXTRA_ASI_UNIX = 0x756e;

const U16_MARK = 0xffff;
const U32_MARK = 0xffffffff;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const FILE_TYPE_NAMES: Readonly<Record<number, string>> = {
  [0o010000]: 'a FIFO',
  [0o020000]: 'a character device',
  [0o060000]: 'a block device',
  [0o140000]: 'a socket',
};
const DOS_DIRECTORY = 0x10;

/** Read size for entry data; small enough to keep memory flat, big enough to be quick. */
const READ_CHUNK = 64 * 1024;

// ---------------------------------------------------------------------------
// CRC-32 (zlib.crc32 where Node has it, ≥ 20.15; a table otherwise)

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function tableCrc32(data: Uint8Array, value = 0): number {
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const crc32: (data: Uint8Array, value?: number) => number =
  typeof zlib.crc32 === 'function' ? (data, value) => zlib.crc32(data, value) : tableCrc32;

// ---------------------------------------------------------------------------
// The archive file: one read-only handle, positioned reads only

class ArchiveFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /**
   * Opens the given path read-only. The path itself may be a symlink (it was
   * given by the user); what it names must be a regular file. O_NONBLOCK keeps
   * a FIFO swapped in between stat and open from hanging the open.
   */
  static async open(path: string): Promise<ArchiveFile> {
    let before;
    try {
      before = await statPath(path);
    } catch (e) {
      throw ioFault(path, e);
    }
    if (!before.isFile()) throw notRegular(path, before.isDirectory());
    let handle: FileHandle;
    try {
      handle = await openFile(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
    } catch (e) {
      throw ioFault(path, e);
    }
    try {
      const after = await handle.stat();
      if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
        throw new BundleError('io', 'not-a-regular-file', `cannot read ${JSON.stringify(path)}: the file changed while it was being opened`);
      }
      return new ArchiveFile(path, handle, after.size);
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e instanceof BundleError ? e : ioFault(path, e);
    }
  }

  /** Exactly `length` bytes at `position`; callers check the range lies inside the file first. */
  async readAt(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(buffer, done, length - done, position + done));
      } catch (e) {
        throw ioFault(this.path, e);
      }
      if (bytesRead === 0) {
        throw archiveFault('truncated', `the file ended at byte ${position + done}, inside data the archive declares (was it changed while being read?)`);
      }
      done += bytesRead;
    }
    return buffer;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function notRegular(path: string, isDirectory: boolean): BundleError {
  const what = isDirectory ? 'is a directory' : 'is not a regular file';
  return new BundleError('io', 'not-a-regular-file', `cannot read ${JSON.stringify(path)}: ${what}, not a .zip file`);
}

/** A 64-bit field as a safe integer; anything larger cannot be a real offset or size here. */
function readU64(buffer: Buffer, offset: number, what: string): number {
  const value = buffer.readBigUInt64LE(offset);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw archiveFault('zip64-invalid', `${what} ${value} is beyond any supported size`);
  return Number(value);
}

// ---------------------------------------------------------------------------
// Step 1: the end record

interface EndRecord {
  entryCount: number;
  cdOffset: number;
  cdSize: number;
}

/**
 * Finds the end-of-central-directory record: the only record whose comment
 * length reaches exactly to the end of the file. Two such candidates (an end
 * record hidden in the comment) make the archive ambiguous.
 */
async function readEndRecord(file: ArchiveFile, limits: BundleLimits): Promise<EndRecord> {
  if (file.size > limits.maxArchiveBytes) {
    throw archiveFault('archive-too-large', `the file is ${formatBytes(file.size)}, more than the ${formatBytes(limits.maxArchiveBytes)} limit for a bundle`);
  }
  if (file.size < END_SIZE) throw notAZip();
  const tailLength = Math.min(file.size, END_SIZE + MAX_COMMENT);
  const tailStart = file.size - tailLength;
  const tail = await file.readAt(tailStart, tailLength);
  const candidates: number[] = [];
  for (let i = tailLength - END_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) === SIG_END && tail.readUInt16LE(i + 20) === tailLength - i - END_SIZE) candidates.push(i);
  }
  if (candidates.length === 0) throw missingEndRecord(tail);
  if (candidates.length > 1) throw archiveFault('ambiguous-end-record', 'the archive comment contains a second end-of-central-directory record');
  const at = candidates[0]!;
  const end = tail.subarray(at, at + END_SIZE);
  const classic = {
    disk: end.readUInt16LE(4),
    cdDisk: end.readUInt16LE(6),
    entriesOnDisk: end.readUInt16LE(8),
    entryCount: end.readUInt16LE(10),
    cdSize: end.readUInt32LE(12),
    cdOffset: end.readUInt32LE(16),
  };
  const endPosition = tailStart + at;
  const zip64 = await readZip64End(file, endPosition, classic);
  const record = zip64 ?? { ...classic, cdEnd: endPosition };
  if (record.disk !== 0 || record.cdDisk !== 0 || record.entriesOnDisk !== record.entryCount) {
    throw archiveFault('multi-disk', 'multi-disk (split or spanned) archives are not supported');
  }
  if (record.entryCount > limits.maxEntries) {
    throw archiveFault('too-many-entries', `the archive has ${record.entryCount} entries, more than the limit of ${limits.maxEntries}`);
  }
  checkCentralDirectoryBounds(record.cdOffset, record.cdSize, record.cdEnd, record.entryCount);
  return { entryCount: record.entryCount, cdOffset: record.cdOffset, cdSize: record.cdSize };
}

function notAZip(): BundleError {
  return archiveFault('not-a-zip', 'no end-of-central-directory record found: not a zip file, or a truncated one');
}

/** No usable end record: say so, or, when one is there but bytes follow it, say that instead. */
function missingEndRecord(tail: Buffer): BundleError {
  for (let i = tail.length - END_SIZE; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== SIG_END) continue;
    const extra = tail.length - i - END_SIZE - tail.readUInt16LE(i + 20);
    if (extra > 0) return archiveFault('trailing-data', `${extra} unexpected bytes follow the end-of-central-directory record`);
  }
  return notAZip();
}

/** The central directory must end exactly where the end record(s) begin: no hidden bytes between. */
function checkCentralDirectoryBounds(cdOffset: number, cdSize: number, cdEnd: number, entryCount: number): void {
  if (cdOffset + cdSize !== cdEnd) {
    const detail =
      cdOffset + cdSize > cdEnd
        ? 'the central directory runs past the end record (truncated or corrupt archive)'
        : `${cdEnd - cdOffset - cdSize} unaccounted bytes lie between the central directory and the end record`;
    throw archiveFault('central-directory-invalid', detail);
  }
  // A record is at most 46 bytes plus three 16-bit-length fields; this also
  // bounds the buffer the central directory is read into.
  if (cdSize > entryCount * (CENTRAL_SIZE + 3 * 0xffff)) {
    throw archiveFault('central-directory-invalid', `the central directory is ${cdSize} bytes, more than ${entryCount} records can occupy`);
  }
}

interface ClassicEnd {
  disk: number;
  cdDisk: number;
  entriesOnDisk: number;
  entryCount: number;
  cdSize: number;
  cdOffset: number;
}

/**
 * The zip64 end record, when a zip64 locator sits right before the classic
 * end record. Each classic field must then be either its "see zip64" marker
 * or equal to the zip64 value, so no reader can see two different archives.
 */
async function readZip64End(file: ArchiveFile, endPosition: number, classic: ClassicEnd): Promise<(ClassicEnd & { cdEnd: number }) | undefined> {
  if (endPosition < ZIP64_LOCATOR_SIZE) return undefined;
  const locatorPosition = endPosition - ZIP64_LOCATOR_SIZE;
  const locator = await file.readAt(locatorPosition, ZIP64_LOCATOR_SIZE);
  if (locator.readUInt32LE(0) !== SIG_ZIP64_LOCATOR) return undefined;
  const locatorDisk = locator.readUInt32LE(4);
  const recordOffset = readU64(locator, 8, 'zip64 end record offset');
  const totalDisks = locator.readUInt32LE(16);
  if (locatorDisk !== 0 || totalDisks > 1) throw archiveFault('multi-disk', 'multi-disk (split or spanned) archives are not supported');
  if (recordOffset + ZIP64_END_MIN_SIZE > locatorPosition) throw archiveFault('zip64-invalid', 'the zip64 end record lies outside the archive');
  const record = await file.readAt(recordOffset, ZIP64_END_MIN_SIZE);
  if (record.readUInt32LE(0) !== SIG_ZIP64_END) throw archiveFault('zip64-invalid', 'the zip64 locator does not point at a zip64 end record');
  const recordSize = readU64(record, 4, 'zip64 end record size');
  if (recordSize < ZIP64_END_MIN_SIZE - 12 || recordOffset + 12 + recordSize !== locatorPosition) {
    throw archiveFault('zip64-invalid', 'the zip64 end record does not end where its locator begins');
  }
  const zip64: ClassicEnd & { cdEnd: number } = {
    disk: record.readUInt32LE(16),
    cdDisk: record.readUInt32LE(20),
    entriesOnDisk: readU64(record, 24, 'zip64 entry count'),
    entryCount: readU64(record, 32, 'zip64 entry count'),
    cdSize: readU64(record, 40, 'zip64 central directory size'),
    cdOffset: readU64(record, 48, 'zip64 central directory offset'),
    cdEnd: recordOffset,
  };
  const agree = (field: keyof ClassicEnd, mark: number): void => {
    if (classic[field] !== mark && classic[field] !== zip64[field]) {
      throw archiveFault('zip64-invalid', `the zip64 end record and the classic end record disagree on ${field} (${zip64[field]} vs ${classic[field]})`);
    }
  };
  agree('disk', U16_MARK);
  agree('cdDisk', U16_MARK);
  agree('entriesOnDisk', U16_MARK);
  agree('entryCount', U16_MARK);
  agree('cdSize', U32_MARK);
  agree('cdOffset', U32_MARK);
  return zip64;
}

// ---------------------------------------------------------------------------
// Step 2: central-directory records

interface Entry {
  /** The decoded name, exactly as stored (directories end in '/'). */
  readonly name: string;
  readonly rawName: Buffer;
  readonly isDirectory: boolean;
  readonly flags: number;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localOffset: number;
  /** Set by the local-header step: where the entry's data starts ... */
  dataStart: number;
  /** ... and where the entry (data descriptor included) ends. */
  extentEnd: number;
}

async function readCentralDirectory(file: ArchiveFile, end: EndRecord, limits: BundleLimits): Promise<Entry[]> {
  const cd = await file.readAt(end.cdOffset, end.cdSize);
  const entries: Entry[] = [];
  let pos = 0;
  for (let index = 0; index < end.entryCount; index++) {
    const { entry, next } = parseCentralRecord(cd, pos, index, limits);
    entries.push(entry);
    pos = next;
  }
  if (pos !== cd.length) {
    throw archiveFault('central-directory-invalid', `${cd.length - pos} bytes follow the ${end.entryCount} records the end record declares`);
  }
  return entries;
}

function parseCentralRecord(cd: Buffer, pos: number, index: number, limits: BundleLimits): { entry: Entry; next: number } {
  if (pos + CENTRAL_SIZE > cd.length || cd.readUInt32LE(pos) !== SIG_CENTRAL) {
    throw archiveFault('central-directory-invalid', `central directory record ${index + 1} is missing or damaged`);
  }
  const nameLength = cd.readUInt16LE(pos + 28);
  const extraLength = cd.readUInt16LE(pos + 30);
  const commentLength = cd.readUInt16LE(pos + 32);
  const next = pos + CENTRAL_SIZE + nameLength + extraLength + commentLength;
  if (next > cd.length) throw archiveFault('central-directory-invalid', `central directory record ${index + 1} runs past the central directory`);

  const flags = cd.readUInt16LE(pos + 8);
  const rawName = Buffer.from(cd.subarray(pos + CENTRAL_SIZE, pos + CENTRAL_SIZE + nameLength));
  const name = decodeEntryName(rawName, flags, limits);
  const extras = parseExtraFields(cd.subarray(pos + CENTRAL_SIZE + nameLength, pos + CENTRAL_SIZE + nameLength + extraLength), name);

  const sizes = applyZip64Extra(
    {
      compressedSize: cd.readUInt32LE(pos + 20),
      uncompressedSize: cd.readUInt32LE(pos + 24),
      localOffset: cd.readUInt32LE(pos + 42),
      diskStart: cd.readUInt16LE(pos + 34),
    },
    extras.get(EXTRA_ZIP64),
    name,
  );
  const entry: Entry = {
    name,
    rawName,
    isDirectory: name.endsWith('/'),
    flags,
    method: cd.readUInt16LE(pos + 10),
    crc: cd.readUInt32LE(pos + 16),
    compressedSize: sizes.compressedSize,
    uncompressedSize: sizes.uncompressedSize,
    localOffset: sizes.localOffset,
    dataStart: -1,
    extentEnd: -1,
  };
  if (sizes.diskStart !== 0) throw entryFault('multi-disk', name, 'starts on another disk (multi-disk archives are not supported)');
  checkUnicodePathField(extras, rawName, name);
  checkEncryptionAndMethod(entry);
  checkEntryKind(entry, cd.readUInt32LE(pos + 38), extras.get(EXTRA_ASI_UNIX));
  checkDeclaredShape(entry);
  return { entry, next };
}

interface Zip64Fields {
  compressedSize: number;
  uncompressedSize: number;
  localOffset: number;
  diskStart: number;
}

/**
 * The zip64 extra field carries, in this order, exactly those values whose
 * classic field holds the marker (APPNOTE 4.5.3).
 */
function applyZip64Extra(fields: Zip64Fields, extra: Buffer | undefined, name: string): Zip64Fields {
  const marked = fields.uncompressedSize === U32_MARK || fields.compressedSize === U32_MARK || fields.localOffset === U32_MARK || fields.diskStart === U16_MARK;
  if (!marked) return fields;
  if (extra === undefined) throw entryFault('zip64-invalid', name, 'a size or offset says "see zip64" but there is no zip64 extra field');
  const out = { ...fields };
  let at = 0;
  const take64 = (what: string): number => {
    if (at + 8 > extra.length) throw entryFault('zip64-invalid', name, `the zip64 extra field lacks the ${what}`);
    const value = readU64(extra, at, `zip64 ${what}`);
    at += 8;
    return value;
  };
  if (fields.uncompressedSize === U32_MARK) out.uncompressedSize = take64('uncompressed size');
  if (fields.compressedSize === U32_MARK) out.compressedSize = take64('compressed size');
  if (fields.localOffset === U32_MARK) out.localOffset = take64('local header offset');
  if (fields.diskStart === U16_MARK) {
    if (at + 4 > extra.length) throw entryFault('zip64-invalid', name, 'the zip64 extra field lacks the disk number');
    out.diskStart = extra.readUInt32LE(at);
  }
  return out;
}

/**
 * Extra fields by id. A field running past the end is corrupt; fewer than
 * four trailing bytes are padding (some aligners write it). A repeated zip64
 * or Unicode-path field would let readers pick different copies, so it is
 * refused.
 */
function parseExtraFields(data: Buffer, name: string): Map<number, Buffer> {
  const fields = new Map<number, Buffer>();
  let at = 0;
  while (at + 4 <= data.length) {
    const id = data.readUInt16LE(at);
    const size = data.readUInt16LE(at + 2);
    if (at + 4 + size > data.length) throw entryFault('extra-field-invalid', name, `extra field 0x${hex4(id)} runs past the end of the extra data`);
    if (fields.has(id) && (id === EXTRA_ZIP64 || id === EXTRA_UNICODE_PATH)) {
      throw entryFault('extra-field-invalid', name, `extra field 0x${hex4(id)} appears twice`);
    }
    if (!fields.has(id)) fields.set(id, data.subarray(at + 4, at + 4 + size));
    at += 4 + size;
  }
  return fields;
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

// --- names ------------------------------------------------------------------

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Code page 437, bytes 0x80–0xFF (the lower half is ASCII; its controls are refused anyway). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeCp437(raw: Buffer): string {
  let out = '';
  for (const byte of raw) out += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return out;
}

/**
 * Decodes a stored name by its declared encoding (flag bit 11: UTF-8, else
 * CP437) and applies every name rule. A name that fails is shown with
 * replacement characters so the message stays printable.
 */
function decodeEntryName(raw: Buffer, flags: number, limits: BundleLimits): string {
  const shown = raw.toString('utf8');
  if (raw.length > limits.maxNameBytes) {
    throw entryFault('name-too-long', shown, `the name is ${raw.length} bytes, more than the ${limits.maxNameBytes}-byte limit`);
  }
  let name: string;
  if (flags & FLAG_UTF8) {
    try {
      name = UTF8.decode(raw);
    } catch {
      throw entryFault('name-encoding', shown, 'the name is flagged as UTF-8 but its bytes are not valid UTF-8');
    }
  } else {
    // Every byte is a valid CP437 character; the control bytes are refused below.
    name = decodeCp437(raw);
  }
  const fault = nameFault(name);
  if (fault) throw entryFault(fault.rule, name, fault.detail);
  return name;
}

/** The name rules of §6 item 1, for a name as stored in the archive. */
function nameFault(name: string): { rule: BundleRule; detail: string } | undefined {
  if (name === '') return { rule: 'name-empty', detail: 'the name is empty' };
  // C0 controls, DEL and C1 controls: NUL truncates names in C APIs, the rest
  // can rewrite a terminal line in an error message.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return { rule: 'name-control-character', detail: 'the name contains a NUL or other control character' };
  if (/^[/\\]/.test(name) || /^[A-Za-z]:/.test(name)) return { rule: 'name-absolute', detail: 'the name is an absolute path' };
  if (name.includes('\\')) return { rule: 'name-backslash', detail: 'the name contains a backslash (a path separator on Windows)' };
  if (name.includes(':')) return { rule: 'name-colon', detail: 'the name contains ":" (drive letters, alternate data streams)' };
  const segments = (name.endsWith('/') ? name.slice(0, -1) : name).split('/');
  if (segments.includes('')) return { rule: 'name-empty-segment', detail: 'the name contains an empty path segment ("//")' };
  if (segments.includes('..')) return { rule: 'name-traversal', detail: 'the name contains a ".." segment (path traversal)' };
  // "." is not in the spec's list, but "./packet.json" would be a second
  // spelling of "packet.json"; refusing it keeps one name per file.
  if (segments.includes('.')) return { rule: 'name-dot-segment', detail: 'the name contains a "." segment' };
  return undefined;
}

/**
 * The Info-ZIP Unicode path field (0x7075) replaces the stored name in tools
 * that honour it, when its CRC matches the stored name bytes. A different
 * name there would make those tools see another file; refuse it.
 */
function checkUnicodePathField(extras: Map<number, Buffer>, rawName: Buffer, name: string): void {
  const field = extras.get(EXTRA_UNICODE_PATH);
  if (field === undefined || field.length < 5 || field[0] !== 1) return;
  if (field.readUInt32LE(1) !== crc32(rawName)) return; // ignored by every reader
  let unicode: string | undefined;
  try {
    unicode = UTF8.decode(field.subarray(5));
  } catch {
    unicode = undefined;
  }
  if (unicode !== name) {
    throw entryFault('name-unicode-path-mismatch', name, 'the Info-ZIP Unicode path extra field names a different file than the stored name');
  }
}

// --- kinds ------------------------------------------------------------------

function checkEncryptionAndMethod(entry: Entry): void {
  if (entry.flags & ENCRYPTION_FLAGS || entry.method === METHOD_AES) {
    throw entryFault('encrypted', entry.name, 'the entry is encrypted; encrypted entries are not supported');
  }
  if (entry.flags & FLAG_PATCHED) throw entryFault('compression-method', entry.name, 'compressed patched data (flag bit 5) is not supported');
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATE) {
    throw entryFault('compression-method', entry.name, `compression method ${entry.method} is not supported (only stored and deflate)`);
  }
}

/**
 * Only regular files and directories. The Unix mode sits in the high 16 bits
 * of the external attributes (and, for Info-ZIP's "ASi" extra field, in that
 * field); any file type other than regular file or directory is refused —
 * there is no hard-link type in a zip mode, so writer-specific codes fall
 * under "special file" too. The DOS directory bit must agree with the name.
 */
function checkEntryKind(entry: Entry, externalAttributes: number, asiField: Buffer | undefined): void {
  const modes = [(externalAttributes >>> 16) & 0xffff];
  if (asiField !== undefined && asiField.length >= 6) modes.push(asiField.readUInt16LE(4));
  for (const mode of modes) {
    const type = mode & S_IFMT;
    if (type === S_IFLNK) throw entryFault('symlink', entry.name, 'the entry is a symbolic link; only regular files and directories are allowed');
    if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
      const what = FILE_TYPE_NAMES[type] ?? `an unknown file type (mode 0o${mode.toString(8)})`;
      throw entryFault('special-file', entry.name, `the entry is ${what}; only regular files and directories are allowed`);
    }
    if (type === S_IFDIR && !entry.isDirectory) throw entryFault('entry-kind-mismatch', entry.name, 'the entry has a directory mode but its name does not end in "/"');
    if (type === S_IFREG && entry.isDirectory) throw entryFault('entry-kind-mismatch', entry.name, 'the name ends in "/" but the entry has a regular-file mode');
  }
  if (externalAttributes & DOS_DIRECTORY && !entry.isDirectory) {
    throw entryFault('entry-kind-mismatch', entry.name, 'the entry has the DOS directory attribute but its name does not end in "/"');
  }
}

function checkDeclaredShape(entry: Entry): void {
  if (entry.isDirectory && entry.uncompressedSize !== 0) {
    throw entryFault('directory-with-data', entry.name, `a directory entry declares ${entry.uncompressedSize} bytes of content`);
  }
  if (entry.method === METHOD_STORED && entry.compressedSize !== entry.uncompressedSize) {
    throw entryFault('size-mismatch', entry.name, `a stored entry declares ${entry.compressedSize} compressed but ${entry.uncompressedSize} uncompressed bytes`);
  }
}

// ---------------------------------------------------------------------------
// Step 3: collisions

/** What a case-insensitive, normalising file system (Windows, macOS) would treat as one name. */
function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}

function withoutSlash(name: string): string {
  return name.endsWith('/') ? name.slice(0, -1) : name;
}

/**
 * Same name twice, names that only differ by case or Unicode normalisation,
 * and a file whose name is also a directory of another entry. All entries
 * take part, ignored ones included: a collision is unsafe wherever it is.
 */
function checkCollisions(entries: readonly Entry[]): void {
  const exact = new Map<string, Entry>();
  const folded = new Map<string, Entry>();
  for (const entry of entries) {
    const path = withoutSlash(entry.name);
    const same = exact.get(path);
    if (same !== undefined) {
      if (same.name === entry.name) throw entryFault('duplicate-name', entry.name, 'the name appears twice in the archive');
      throw entryFault('file-directory-conflict', entry.name, `the name is used both as a file and as a directory (${JSON.stringify(same.name)})`);
    }
    const key = foldName(path);
    const similar = folded.get(key);
    if (similar !== undefined) {
      throw entryFault('name-collision', entry.name, `collides with ${JSON.stringify(similar.name)} after Unicode normalisation and case folding`);
    }
    exact.set(path, entry);
    folded.set(key, entry);
  }
  const directories = new Map<string, Entry>();
  for (const entry of entries) {
    const segments = withoutSlash(entry.name).split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const key = foldName(segments.slice(0, depth).join('/'));
      if (!directories.has(key)) directories.set(key, entry);
    }
  }
  for (const entry of entries) {
    if (entry.isDirectory) continue;
    const child = directories.get(foldName(entry.name));
    if (child !== undefined) {
      throw entryFault('file-directory-conflict', entry.name, `the name is a file but also the directory of ${JSON.stringify(child.name)}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Step 4: local headers and placement

/**
 * The central directory is the authority; a local header that names another
 * file, another method or other sizes would make a streaming reader see a
 * different archive, so it is refused.
 */
async function checkLocalHeader(file: ArchiveFile, entry: Entry, cdOffset: number): Promise<void> {
  const at = entry.localOffset;
  if (at + LOCAL_SIZE > cdOffset) throw entryFault('entry-out-of-bounds', entry.name, `the local header offset ${at} lies outside the entry data area`);
  const fixed = await file.readAt(at, LOCAL_SIZE);
  if (fixed.readUInt32LE(0) !== SIG_LOCAL) throw entryFault('local-header-mismatch', entry.name, `there is no local header at offset ${at}`);
  const nameLength = fixed.readUInt16LE(26);
  const extraLength = fixed.readUInt16LE(28);
  const dataStart = at + LOCAL_SIZE + nameLength + extraLength;
  if (dataStart > cdOffset) throw entryFault('entry-out-of-bounds', entry.name, 'the local header runs into the central directory');
  const variable = await file.readAt(at + LOCAL_SIZE, nameLength + extraLength);
  const localName = variable.subarray(0, nameLength);
  if (!localName.equals(entry.rawName)) {
    throw entryFault('local-header-mismatch', entry.name, `the local header names ${JSON.stringify(localName.toString('utf8'))} instead`);
  }
  const flags = fixed.readUInt16LE(6);
  if (flags & ENCRYPTION_FLAGS) throw entryFault('encrypted', entry.name, 'the local header marks the entry as encrypted');
  const asciiName = !entry.rawName.some((b) => b >= 0x80);
  const mustAgree = FLAG_DESCRIPTOR | (asciiName ? 0 : FLAG_UTF8);
  if ((flags & mustAgree) !== (entry.flags & mustAgree)) {
    throw entryFault('local-header-mismatch', entry.name, `the local header flags (0x${hex4(flags)}) disagree with the central directory (0x${hex4(entry.flags)})`);
  }
  const method = fixed.readUInt16LE(8);
  if (method !== entry.method) throw entryFault('local-header-mismatch', entry.name, `the local header says compression method ${method}, the central directory ${entry.method}`);

  const extras = parseExtraFields(variable.subarray(nameLength), entry.name);
  checkUnicodePathField(extras, entry.rawName, entry.name);
  const local = localSizes(fixed, extras.get(EXTRA_ZIP64), entry.name);
  checkLocalSizes(entry, local);

  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > cdOffset) throw entryFault('entry-out-of-bounds', entry.name, `the compressed data (${entry.compressedSize} bytes) runs into the central directory`);
  const descriptorLength = entry.flags & FLAG_DESCRIPTOR ? await dataDescriptorLength(file, entry, dataEnd, cdOffset, extras.has(EXTRA_ZIP64)) : 0;
  entry.dataStart = dataStart;
  entry.extentEnd = dataEnd + descriptorLength;
}

interface LocalSizes {
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** Local sizes; the local zip64 field holds both sizes whenever either is marked (APPNOTE 4.5.3). */
function localSizes(fixed: Buffer, zip64: Buffer | undefined, name: string): LocalSizes {
  const sizes = { crc: fixed.readUInt32LE(14), compressedSize: fixed.readUInt32LE(18), uncompressedSize: fixed.readUInt32LE(22) };
  if (sizes.compressedSize !== U32_MARK && sizes.uncompressedSize !== U32_MARK) return sizes;
  if (zip64 === undefined || zip64.length < 16) throw entryFault('zip64-invalid', name, 'the local header says "see zip64" but has no complete zip64 extra field');
  return { crc: sizes.crc, uncompressedSize: readU64(zip64, 0, 'zip64 size'), compressedSize: readU64(zip64, 8, 'zip64 size') };
}

/**
 * Without a data descriptor the local CRC and sizes must equal the central
 * ones. With one (flag bit 3) they are usually zero, but some writers fill
 * them in; either form is accepted, a third value is not.
 */
function checkLocalSizes(entry: Entry, local: LocalSizes): void {
  const equal = local.crc === entry.crc && local.compressedSize === entry.compressedSize && local.uncompressedSize === entry.uncompressedSize;
  const zero = local.crc === 0 && local.compressedSize === 0 && local.uncompressedSize === 0;
  if (equal || (entry.flags & FLAG_DESCRIPTOR && zero)) return;
  const field =
    local.crc !== entry.crc ? `CRC-32 0x${hex8(local.crc)} (central: 0x${hex8(entry.crc)})`
    : local.compressedSize !== entry.compressedSize ? `compressed size ${local.compressedSize} (central: ${entry.compressedSize})`
    : `uncompressed size ${local.uncompressedSize} (central: ${entry.uncompressedSize})`;
  throw entryFault('local-header-mismatch', entry.name, `the local header declares ${field}`);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/**
 * A data descriptor follows the data when flag bit 3 is set: an optional
 * signature, the CRC and both sizes (8 bytes each when the local header has a
 * zip64 field). Its values must equal the central directory's; its length
 * counts towards the entry's extent, so the placement check sees it.
 */
async function dataDescriptorLength(file: ArchiveFile, entry: Entry, dataEnd: number, cdOffset: number, zip64: boolean): Promise<number> {
  const width = zip64 ? 8 : 4;
  const forms = [4 + 4 + 2 * width, 4 + 2 * width]; // with signature, without
  const available = Math.min(forms[0]!, cdOffset - dataEnd);
  const bytes = available > 0 ? await file.readAt(dataEnd, available) : Buffer.alloc(0);
  for (const length of forms) {
    if (bytes.length < length) continue;
    const signed = length === forms[0];
    if (signed && bytes.readUInt32LE(0) !== SIG_DESCRIPTOR) continue;
    const at = signed ? 4 : 0;
    const readSize = (offset: number): number => (zip64 ? readU64(bytes, offset, 'data descriptor size') : bytes.readUInt32LE(offset));
    const crc = bytes.readUInt32LE(at);
    if (crc === entry.crc && readSize(at + 4) === entry.compressedSize && readSize(at + 4 + width) === entry.uncompressedSize) return length;
  }
  throw entryFault('data-descriptor-mismatch', entry.name, 'the data descriptor after the entry is missing or disagrees with the central directory');
}

/**
 * Entries must tile the area before the central directory exactly: the first
 * starts at byte 0, each next one where the previous ended. Bytes before the
 * first entry, between entries or overlapping entries are where smuggled
 * content hides from one reader and shows in another.
 */
function checkPlacement(entries: readonly Entry[], cdOffset: number): void {
  const ordered = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  let cursor = 0;
  let previous: Entry | undefined;
  for (const entry of ordered) {
    if (entry.localOffset < cursor) {
      throw entryFault('overlapping-entries', entry.name, `the entry overlaps ${JSON.stringify(previous!.name)} (starts at byte ${entry.localOffset}, before ${cursor})`);
    }
    if (entry.localOffset > cursor) {
      if (previous === undefined) {
        throw entryFault('data-before-first-entry', entry.name, `${entry.localOffset} bytes of unknown data precede the first entry`);
      }
      throw entryFault('unaccounted-bytes', entry.name, `${entry.localOffset - cursor} unaccounted bytes precede the entry (after ${JSON.stringify(previous.name)})`);
    }
    cursor = entry.extentEnd;
    previous = entry;
  }
  if (cursor !== cdOffset) {
    throw archiveFault(
      previous === undefined ? 'data-before-first-entry' : 'unaccounted-bytes',
      `${cdOffset - cursor} unaccounted bytes precede the central directory`,
    );
  }
}

// ---------------------------------------------------------------------------
// Step 5: layout (§1.3 steps 2–5)

/** `__MACOSX/` resource forks and Finder's `.DS_Store` never count for the layout and are never read. */
export function isIgnoredEntryName(name: string): boolean {
  const segments = withoutSlash(name).split('/');
  return segments[0] === '__MACOSX' || (!name.endsWith('/') && segments[segments.length - 1] === '.DS_Store');
}

const PACKET = 'packet.json';

function topSegment(name: string): string {
  return name.split('/')[0]!;
}

/** The base ('' for flat, 'F/' for one top folder); never a recursive search. */
function detectLayout(entries: readonly Entry[]): string {
  const visible = entries.filter((e) => !isIgnoredEntryName(e.name));
  const files = visible.filter((e) => !e.isDirectory).map((e) => e.name);
  const folderPackets = files.filter((n) => n.split('/').length === 2 && n.endsWith(`/${PACKET}`));

  if (files.includes(PACKET)) {
    if (folderPackets.length > 0) {
      throw entryFault('layout-ambiguous', folderPackets[0]!, `the archive holds two packets (${PACKET} at the root and ${folderPackets[0]}); refusing to choose`);
    }
    return '';
  }
  if (folderPackets.length > 1) {
    throw entryFault('layout-ambiguous', folderPackets[1]!, `the archive holds several packets (${folderPackets.join(', ')}); refusing to choose`);
  }
  if (folderPackets.length === 1) {
    const base = `${topSegment(folderPackets[0]!)}/`;
    const stray = visible.find((e) => !e.name.startsWith(base));
    if (stray !== undefined) {
      throw entryFault(
        'layout-not-single-folder',
        stray.name,
        `the entry lies outside ${base}; with ${folderPackets[0]} the packet, every entry must be under that one top-level folder`,
      );
    }
    return base;
  }
  const deeper = files.find((n) => n.endsWith(`/${PACKET}`));
  if (deeper !== undefined) {
    throw entryFault('layout-packet-too-deep', deeper, `${PACKET} must be at the root or directly inside one top-level folder; it is not searched for deeper`);
  }
  throw archiveFault('layout-no-packet', `no ${PACKET} at the root or in a single top-level folder`);
}

// ---------------------------------------------------------------------------
// Step 6: declared sizes

/**
 * Header sizes are never trusted to allow anything, but they can refuse
 * early: the packet declaring more than its cap, any other entry declaring
 * more than any role may read (which entry is the evidence is only known once
 * packet.json is parsed), a declared ratio over the limit, or declared sizes
 * adding up past the total.
 */
function checkDeclaredSizes(entries: readonly Entry[], packetName: string, limits: BundleLimits): void {
  const largest = largestEntryLimit(limits);
  let total = 0;
  for (const entry of entries) {
    const size = entry.uncompressedSize;
    if (entry.name === packetName) checkDeclaredAgainstRole(entry, 'packet', limits);
    if (size > largest.bytes) {
      throw entryFault('entry-size-limit', entry.name, `declared uncompressed size ${formatBytes(size)} exceeds the ${formatBytes(largest.bytes)} limit for ${largest.label}`);
    }
    if (exceedsRatio(size, entry.compressedSize, limits)) {
      throw entryFault('compression-ratio', entry.name, `declares ${size} bytes from ${entry.compressedSize} compressed, more than the ${limits.maxCompressionRatio}:1 compression ratio limit`);
    }
    total += size;
    if (total > limits.maxTotalUncompressedBytes) {
      throw entryFault('total-size-limit', entry.name, `the declared uncompressed sizes add up to more than the ${formatBytes(limits.maxTotalUncompressedBytes)} total limit`);
    }
  }
}

/** The role's cap against the declared size, before any byte is read. */
function checkDeclaredAgainstRole(entry: Entry, role: EntryRole, limits: BundleLimits): void {
  const cap = limitForRole(limits, role);
  if (entry.uncompressedSize > cap.bytes) {
    throw entryFault(sizeLimitRule(role), entry.name, `declared uncompressed size ${formatBytes(entry.uncompressedSize)} exceeds the ${formatBytes(cap.bytes)} limit for ${cap.label}`);
  }
}

/** packet.json's own cap has its own rule: the verifier reports it as malformed_json, not bundle_invalid (§3.6). */
function sizeLimitRule(role: EntryRole): BundleRule {
  return role === 'packet' ? 'packet-size-limit' : 'entry-size-limit';
}

function exceedsRatio(uncompressed: number, compressed: number, limits: BundleLimits): boolean {
  return uncompressed > limits.ratioThresholdBytes && uncompressed > limits.maxCompressionRatio * compressed;
}

// ---------------------------------------------------------------------------
// Name resolution inside the base (§1.2 resolution, §1.3 step 6)

/** The role an entry is read under when the caller does not say: by its standard name. */
export function roleForName(relName: string): EntryRole {
  switch (relName) {
    case 'packet.json':
      return 'packet';
    case 'summary.md':
      return 'summary';
    case 'verifier.txt':
      return 'verifier';
    case 'evidence.jsonl':
      return 'evidence';
    default:
      return 'other';
  }
}

type Resolution = { ok: true; relative: string } | { ok: false; error: BundleError };

/**
 * A base-relative name, resolved like an artifact path in a directory:
 * refuse empty, absolute, backslash, colon and control characters; normalise
 * "." and ".." lexically; refuse anything that would leave the base, even
 * when an entry of that name exists elsewhere in the archive.
 */
function resolveRelative(relName: string): Resolution {
  const invalid = (detail: string): Resolution => ({ ok: false, error: entryFault('path-invalid', relName, detail) });
  if (relName === '') return invalid('the path is empty');
  if (/[\u0000-\u001f\u007f-\u009f]/.test(relName)) return invalid('the path contains a control character');
  if (/^[/\\]/.test(relName) || /^[A-Za-z]:/.test(relName)) return invalid('the path is absolute');
  if (relName.includes('\\') || relName.includes(':')) return invalid('the path contains a backslash or ":"');
  const stack: string[] = [];
  for (const segment of relName.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (stack.length === 0) return { ok: false, error: entryFault('path-escapes-base', relName, 'the path leaves the bundle base') };
      stack.pop();
      continue;
    }
    stack.push(segment);
  }
  if (stack.length === 0) return invalid('the path names the bundle base itself, not a file');
  if (relName.endsWith('/')) return invalid('the path names a directory, not a file');
  return { ok: true, relative: stack.join('/') };
}

// ---------------------------------------------------------------------------
// Reading entry content

/**
 * Counts the bytes of one read as they are produced and stops at the first
 * limit crossed: the role's cap, the bundle's running total, the ratio, and
 * finally the declared size. Checked in that order so the message names the
 * limit rather than the header lie when both trip on the same chunk.
 */
class EntryMeter {
  private produced = 0;
  private crc = 0;

  constructor(
    private readonly entry: Entry,
    private readonly role: EntryRole,
    private readonly limits: BundleLimits,
    private readonly account: (entry: Entry, produced: number) => boolean,
  ) {}

  take(chunk: Buffer): void {
    const { entry, limits } = this;
    this.produced += chunk.length;
    const cap = limitForRole(limits, this.role);
    if (this.produced > cap.bytes) {
      throw entryFault(sizeLimitRule(this.role), entry.name, `uncompressed size exceeds the ${formatBytes(cap.bytes)} limit for ${cap.label}`);
    }
    if (!this.account(entry, this.produced)) {
      throw entryFault('total-size-limit', entry.name, `the entries read so far inflate to more than the ${formatBytes(limits.maxTotalUncompressedBytes)} total limit`);
    }
    if (exceedsRatio(this.produced, entry.compressedSize, limits)) {
      throw entryFault('compression-ratio', entry.name, `inflates ${entry.compressedSize} compressed bytes to more than ${this.produced}, beyond the ${limits.maxCompressionRatio}:1 compression ratio limit`);
    }
    if (this.produced > entry.uncompressedSize) {
      throw entryFault('size-mismatch', entry.name, `inflates to more than the ${entry.uncompressedSize} bytes the central directory declares`);
    }
    this.crc = crc32(chunk, this.crc);
  }

  finish(): void {
    const { entry } = this;
    if (this.produced !== entry.uncompressedSize) {
      throw entryFault('size-mismatch', entry.name, `inflates to ${this.produced} bytes but the central directory declares ${entry.uncompressedSize}`);
    }
    if (this.crc !== entry.crc) {
      throw entryFault('crc-mismatch', entry.name, `CRC-32 mismatch: the content hashes to 0x${hex8(this.crc)}, the central directory declares 0x${hex8(entry.crc)}`);
    }
  }
}

async function* readRange(file: ArchiveFile, start: number, length: number): AsyncGenerator<Buffer> {
  const end = start + length;
  for (let at = start; at < end; at += READ_CHUNK) yield await file.readAt(at, Math.min(READ_CHUNK, end - at));
}

function corruptData(entry: Entry, cause: unknown): BundleError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BundleError('invalid', 'corrupt-data', `zip entry ${JSON.stringify(entry.name)}: the deflate data is corrupt (${reason})`, { entry: entry.name, cause });
}

/** Stored data passes straight through the meter. */
async function* storedChunks(file: ArchiveFile, entry: Entry, meter: EntryMeter): AsyncGenerator<Buffer> {
  for await (const chunk of readRange(file, entry.dataStart, entry.compressedSize)) {
    meter.take(chunk);
    yield chunk;
  }
  meter.finish();
}

/**
 * Deflated data is inflated chunk by chunk as the consumer pulls, so a bomb
 * costs no more memory than a chunk before the meter stops it. The inflater
 * must consume exactly the declared compressed bytes: a deflate stream that
 * ends early leaves bytes that some other reader might interpret.
 */
async function* deflatedChunks(file: ArchiveFile, entry: Entry, meter: EntryMeter): AsyncGenerator<Buffer> {
  const source = Readable.from(readRange(file, entry.dataStart, entry.compressedSize), { objectMode: false });
  const inflater = zlib.createInflateRaw({ chunkSize: READ_CHUNK });
  source.once('error', (e) => inflater.destroy(e));
  source.pipe(inflater);
  try {
    try {
      for await (const chunk of inflater as AsyncIterable<Buffer>) {
        meter.take(chunk);
        yield chunk;
      }
    } catch (e) {
      throw e instanceof BundleError ? e : corruptData(entry, e);
    }
    if (inflater.bytesWritten !== entry.compressedSize) {
      throw entryFault('corrupt-data', entry.name, `the deflate stream ends after ${inflater.bytesWritten} of its ${entry.compressedSize} compressed bytes`);
    }
    meter.finish();
  } finally {
    source.unpipe(inflater);
    source.destroy();
    inflater.destroy();
  }
}

// ---------------------------------------------------------------------------
// The bundle

export interface ZipBundle {
  /** The .zip path as given. */
  readonly path: string;
  /** '' for a flat bundle, 'F/' when everything lives in one top-level folder. */
  readonly base: string;
  /** Regular files under the base, relative to it, in archive order; ignored entries left out. */
  entryNames(): string[];
  /** Whether `relName` resolves inside the base to a regular file. Never throws. */
  has(relName: string): boolean;
  /**
   * The entry's content, inflated as it is read. Fails with a BundleError
   * (kind `invalid`) before any byte when the name escapes the base, names no
   * file or declares more than the role's limit; and, as a stream error, the
   * moment a limit is crossed, and at the end on a size or CRC-32 mismatch.
   * The role selects the size cap; by default it follows the standard names
   * (`packet.json`, `summary.md`, `verifier.txt`, `evidence.jsonl`), so the
   * caller passes 'evidence' for an evidence artifact with another name.
   */
  openEntryStream(relName: string, role?: EntryRole): Promise<Readable>;
  /** The same, collected into one buffer (bounded by the role's cap). */
  readEntry(relName: string, role?: EntryRole): Promise<Buffer>;
  /** Closes the archive; streams still open fail. Idempotent. */
  close(): Promise<void>;
}

class OpenZipBundle implements ZipBundle {
  private readonly files = new Map<string, Entry>();
  private readonly streams = new Set<Readable>();
  /** The most bytes each entry has produced in any read, so re-reading does not double-count. */
  private readonly produced = new Map<Entry, number>();
  private total = 0;
  private closed = false;

  constructor(
    readonly path: string,
    readonly base: string,
    private readonly file: ArchiveFile,
    entries: readonly Entry[],
    private readonly limits: BundleLimits,
  ) {
    for (const entry of entries) {
      if (!entry.isDirectory && !isIgnoredEntryName(entry.name) && entry.name.startsWith(base)) this.files.set(entry.name, entry);
    }
  }

  entryNames(): string[] {
    return [...this.files.keys()].map((name) => name.slice(this.base.length));
  }

  has(relName: string): boolean {
    const resolved = resolveRelative(relName);
    return resolved.ok && this.files.has(this.base + resolved.relative);
  }

  async openEntryStream(relName: string, role?: EntryRole): Promise<Readable> {
    if (this.closed) throw new Error('the zip bundle is closed');
    const resolved = resolveRelative(relName);
    if (!resolved.ok) throw resolved.error;
    const entry = this.files.get(this.base + resolved.relative);
    if (entry === undefined) throw entryFault('entry-not-found', this.base + resolved.relative, 'no such file in the bundle');
    const effectiveRole = role ?? roleForName(resolved.relative);
    checkDeclaredAgainstRole(entry, effectiveRole, this.limits);
    const meter = new EntryMeter(entry, effectiveRole, this.limits, (e, n) => this.account(e, n));
    const chunks = entry.method === METHOD_STORED ? storedChunks(this.file, entry, meter) : deflatedChunks(this.file, entry, meter);
    const stream = Readable.from(chunks, { objectMode: false });
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  async readEntry(relName: string, role?: EntryRole): Promise<Buffer> {
    const stream = await this.openEntryStream(relName, role);
    const chunks: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Destroyed without an error object: a stream nobody listens to must not
    // turn into an uncaught 'error'; a consumer still reading sees a premature close.
    for (const stream of this.streams) stream.destroy();
    await this.file.close();
  }

  /** Adds an entry's new high-water mark to the running total; false once the total is exceeded. */
  private account(entry: Entry, produced: number): boolean {
    const before = this.produced.get(entry) ?? 0;
    if (produced > before) {
      this.total += produced - before;
      this.produced.set(entry, produced);
    }
    return this.total <= this.limits.maxTotalUncompressedBytes;
  }
}

/**
 * Opens a zip bundle and checks its whole structure before any entry content
 * is read. Throws BundleError: kind `io` when the file cannot be read at all,
 * kind `invalid` for anything about its content.
 */
export async function openZipBundle(path: string, limits?: Partial<BundleLimits>): Promise<ZipBundle> {
  const effective = resolveLimits(limits);
  const file = await ArchiveFile.open(path);
  try {
    const end = await readEndRecord(file, effective);
    const entries = await readCentralDirectory(file, end, effective);
    checkCollisions(entries);
    for (const entry of entries) await checkLocalHeader(file, entry, end.cdOffset);
    checkPlacement(entries, end.cdOffset);
    const base = detectLayout(entries);
    checkDeclaredSizes(entries, base + PACKET, effective);
    return new OpenZipBundle(path, base, file, entries, effective);
  } catch (e) {
    await file.close().catch(() => undefined);
    throw e;
  }
}
