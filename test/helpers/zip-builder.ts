/**
 * Writes zip bytes by hand — local headers, central directory, end records —
 * so tests can make the hostile archives that real zip writers refuse to
 * make: lying sizes, mismatched local names, symlink modes, encryption flags,
 * hidden bytes, zip64 records, raw name bytes.
 *
 * Every field has an honest default; a test overrides only the one it is
 * about. Offsets are always computed from what is actually written, unless a
 * test overrides them too.
 */

import zlib from 'node:zlib';

export const FLAG_ENCRYPTED = 0x0001;
export const FLAG_DESCRIPTOR = 0x0008;
export const FLAG_UTF8 = 0x0800;

/** Unix file modes as they sit in the high 16 bits of the external attributes. */
export const MODE = {
  file: 0o100644,
  dir: 0o040755,
  symlink: 0o120777,
  fifo: 0o010644,
  charDevice: 0o020644,
  socket: 0o140755,
} as const;

export function unixAttributes(mode: number): number {
  return (mode << 16) >>> 0;
}

export interface EntrySpec {
  /** A string is written as UTF-8 (flag bit 11 set when non-ASCII); a Buffer as is (no flag). */
  name: string | Buffer;
  /** Uncompressed content (default empty). */
  data?: Buffer | string;
  /** 0 stored, 8 deflate (the default for files; directories default to stored). */
  method?: number;
  /** Bytes written as the entry's data instead of compressing `data`. */
  compressed?: Buffer;
  /** Declared CRC-32 (default: the CRC of `data`). */
  crc?: number;
  /** Declared uncompressed size (default: `data.length`). */
  size?: number;
  /** Declared compressed size (default: the bytes actually written). */
  compressedSize?: number;
  /** General-purpose flags, used exactly (default: bit 11 for non-ASCII string names). */
  flags?: number;
  /** External attributes (default: a Unix regular file or directory mode). */
  externalAttributes?: number;
  /** Version made by (default 0x031e: Unix, 3.0). */
  versionMadeBy?: number;
  centralExtra?: Buffer;
  localExtra?: Buffer;
  /** Local-header fields that differ from the central record. */
  local?: { name?: string | Buffer; flags?: number; method?: number; crc?: number; compressedSize?: number; size?: number };
  /** Sets flag bit 3, zeroes the local CRC and sizes and writes a data descriptor. */
  descriptor?: 'signed' | 'unsigned';
  /** Descriptor values that differ from the central record. */
  descriptorValues?: { crc?: number; compressedSize?: number; size?: number };
  /** Writes sizes (and the offset) through zip64 extra fields. */
  zip64?: boolean;
  /** Central record's local-header offset (default: where the local header was written). */
  offset?: number;
  /** Write only the central record (the local header is supplied some other way). */
  omitLocal?: boolean;
  /** Bytes written just before this entry's local header. */
  gapBefore?: Buffer;
}

export interface ZipOptions {
  /** Bytes before the first local header. */
  prefix?: Buffer;
  /** Bytes between the last entry and the central directory. */
  beforeCentral?: Buffer;
  comment?: Buffer;
  /** Write a zip64 end record and locator, with markers in the classic end record. */
  zip64End?: boolean;
  /** Override classic end-record fields. */
  end?: Partial<{ disk: number; cdDisk: number; entriesOnDisk: number; entryCount: number; cdSize: number; cdOffset: number }>;
  /** Bytes after the end record. */
  trailing?: Buffer;
}

const DOS_TIME = 0;
const DOS_DATE = (46 << 9) | (1 << 5) | 1; // 2026-01-01, fixed so output is reproducible

export function crc32(data: Buffer): number {
  return zlib.crc32(data) >>> 0;
}

function nameBytes(name: string | Buffer): Buffer {
  return typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
}

function isAscii(bytes: Buffer): boolean {
  return bytes.every((b) => b < 0x80);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

export function extraField(id: number, data: Buffer): Buffer {
  return Buffer.concat([u16(id), u16(data.length), data]);
}

/** An Info-ZIP Unicode path field (0x7075) for `storedName` claiming `unicodeName`. */
export function unicodePathExtra(storedName: string | Buffer, unicodeName: string): Buffer {
  const stored = nameBytes(storedName);
  return extraField(0x7075, Buffer.concat([Buffer.from([1]), u32(crc32(stored)), Buffer.from(unicodeName, 'utf8')]));
}

interface Resolved {
  spec: EntrySpec;
  name: Buffer;
  data: Buffer;
  payload: Buffer;
  method: number;
  flags: number;
  crc: number;
  size: number;
  compressedSize: number;
}

function resolve(spec: EntrySpec): Resolved {
  const name = nameBytes(spec.name);
  const data = typeof spec.data === 'string' ? Buffer.from(spec.data, 'utf8') : (spec.data ?? Buffer.alloc(0));
  const isDir = name.length > 0 && name[name.length - 1] === 0x2f;
  const method = spec.method ?? (isDir ? 0 : 8);
  const payload = spec.compressed ?? (method === 8 ? zlib.deflateRawSync(data) : data);
  let flags = spec.flags ?? (typeof spec.name === 'string' && !isAscii(name) ? FLAG_UTF8 : 0);
  if (spec.descriptor) flags |= FLAG_DESCRIPTOR;
  return {
    spec,
    name,
    data,
    payload,
    method,
    flags,
    crc: spec.crc ?? crc32(data),
    size: spec.size ?? data.length,
    compressedSize: spec.compressedSize ?? payload.length,
  };
}

/** The local header (and nothing else) for an entry. */
export function localHeader(spec: EntrySpec): Buffer {
  return localHeaderOf(resolve(spec));
}

function localHeaderOf(r: Resolved): Buffer {
  const local = r.spec.local ?? {};
  const name = local.name === undefined ? r.name : nameBytes(local.name);
  const described = r.spec.descriptor !== undefined;
  let crc = local.crc ?? (described ? 0 : r.crc);
  let compressedSize = local.compressedSize ?? (described ? 0 : r.compressedSize);
  let size = local.size ?? (described ? 0 : r.size);
  let extra = r.spec.localExtra ?? Buffer.alloc(0);
  if (r.spec.zip64) {
    extra = Buffer.concat([extraField(0x0001, Buffer.concat([u64(size), u64(compressedSize)])), extra]);
    compressedSize = 0xffffffff;
    size = 0xffffffff;
  }
  crc = crc >>> 0;
  return Buffer.concat([
    u32(0x04034b50),
    u16(r.spec.zip64 ? 45 : 20),
    u16(local.flags ?? r.flags),
    u16(local.method ?? r.method),
    u16(DOS_TIME),
    u16(DOS_DATE),
    u32(crc),
    u32(compressedSize),
    u32(size),
    u16(name.length),
    u16(extra.length),
    name,
    extra,
  ]);
}

function descriptorOf(r: Resolved): Buffer {
  const v = r.spec.descriptorValues ?? {};
  const crc = v.crc ?? r.crc;
  const cs = v.compressedSize ?? r.compressedSize;
  const us = v.size ?? r.size;
  const sizes = r.spec.zip64 ? Buffer.concat([u64(cs), u64(us)]) : Buffer.concat([u32(cs), u32(us)]);
  const body = Buffer.concat([u32(crc), sizes]);
  return r.spec.descriptor === 'signed' ? Buffer.concat([u32(0x08074b50), body]) : body;
}

function centralRecordOf(r: Resolved, offset: number): Buffer {
  const isDir = r.name.length > 0 && r.name[r.name.length - 1] === 0x2f;
  const attributes = r.spec.externalAttributes ?? (isDir ? unixAttributes(MODE.dir) | 0x10 : unixAttributes(MODE.file));
  let extra = r.spec.centralExtra ?? Buffer.alloc(0);
  let compressedSize = r.compressedSize;
  let size = r.size;
  let localOffset = r.spec.offset ?? offset;
  if (r.spec.zip64) {
    extra = Buffer.concat([extraField(0x0001, Buffer.concat([u64(size), u64(compressedSize), u64(localOffset)])), extra]);
    compressedSize = 0xffffffff;
    size = 0xffffffff;
    localOffset = 0xffffffff;
  }
  return Buffer.concat([
    u32(0x02014b50),
    u16(r.spec.versionMadeBy ?? 0x031e),
    u16(r.spec.zip64 ? 45 : 20),
    u16(r.flags),
    u16(r.method),
    u16(DOS_TIME),
    u16(DOS_DATE),
    u32(r.crc),
    u32(compressedSize),
    u32(size),
    u16(r.name.length),
    u16(extra.length),
    u16(0), // comment length
    u16(0), // disk number start
    u16(0), // internal attributes
    u32(attributes),
    u32(localOffset),
    r.name,
    extra,
  ]);
}

/** A whole archive from entry specs. */
export function buildZip(specs: readonly EntrySpec[], options: ZipOptions = {}): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer): void => {
    parts.push(b);
    offset += b.length;
  };
  if (options.prefix) push(options.prefix);
  const central: Buffer[] = [];
  for (const spec of specs) {
    const r = resolve(spec);
    if (spec.gapBefore) push(spec.gapBefore);
    const at = offset;
    if (!spec.omitLocal) {
      push(localHeaderOf(r));
      push(r.payload);
      if (spec.descriptor) push(descriptorOf(r));
    }
    central.push(centralRecordOf(r, at));
  }
  if (options.beforeCentral) push(options.beforeCentral);
  const cdOffset = offset;
  const cd = Buffer.concat(central);
  push(cd);
  const count = specs.length;
  if (options.zip64End) {
    const zip64EndOffset = offset;
    push(
      Buffer.concat([
        u32(0x06064b50),
        u64(44),
        u16(45),
        u16(45),
        u32(0),
        u32(0),
        u64(count),
        u64(count),
        u64(cd.length),
        u64(cdOffset),
      ]),
    );
    push(Buffer.concat([u32(0x07064b50), u32(0), u64(zip64EndOffset), u32(1)]));
  }
  const e = options.end ?? {};
  const mark16 = options.zip64End ? 0xffff : undefined;
  const mark32 = options.zip64End ? 0xffffffff : undefined;
  const comment = options.comment ?? Buffer.alloc(0);
  push(
    Buffer.concat([
      u32(0x06054b50),
      u16(e.disk ?? 0),
      u16(e.cdDisk ?? 0),
      u16(e.entriesOnDisk ?? mark16 ?? count),
      u16(e.entryCount ?? mark16 ?? count),
      u32(e.cdSize ?? mark32 ?? cd.length),
      u32(e.cdOffset ?? mark32 ?? cdOffset),
      u16(comment.length),
      comment,
    ]),
  );
  if (options.trailing) push(options.trailing);
  return Buffer.concat(parts);
}

/**
 * Raw deflate data for `mebibytes` MiB of zeros, built without allocating
 * them: one full-flushed MiB (about 1 KiB compressed, and independent of what
 * came before it, since a full flush resets the window) repeated, then an
 * empty final block. 2048 MiB come out at about 2 MiB.
 */
export function deflatedZeros(mebibytes: number): Buffer {
  const oneMiB = zlib.deflateRawSync(Buffer.alloc(1024 * 1024), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const finalEmptyBlock = Buffer.from([0x03, 0x00]);
  return Buffer.concat([...Array<Buffer>(mebibytes).fill(oneMiB), finalEmptyBlock]);
}
