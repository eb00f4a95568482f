import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

import archiver from 'archiver';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  BUNDLE_LIMITS,
  formatBytes,
  renderLimitsMarkdown,
  resolveLimits,
  type BundleLimits,
} from '../../src/bundle/limits.js';
import { BundleError, openZipBundle, type BundleRule, type ZipBundle } from '../../src/bundle/zip-reader.js';
import {
  FLAG_ENCRYPTED,
  FLAG_UTF8,
  MODE,
  buildZip,
  deflatedZeros,
  extraField,
  localHeader,
  unicodePathExtra,
  unixAttributes,
  type EntrySpec,
  type ZipOptions,
} from '../helpers/zip-builder.js';

const MiB = 1024 * 1024;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const workedExample = resolve(repoRoot, '../shared/reference/audit-packet-v0/worked-example-3-receipts');
const haveWorkedExample = existsSync(join(workedExample, 'packet.json'));
if (!haveWorkedExample) console.warn(`zip-reader tests: worked example not found at ${workedExample}; its tests are skipped`);

// --- fixtures ---------------------------------------------------------------

const PACKET = '{"schema_version":"pipelock.audit_packet.v0"}\n';
const EVIDENCE = '{"v":1,"type":"action_receipt"}\n';

function standardEntries(prefix = ''): EntrySpec[] {
  return [
    { name: `${prefix}packet.json`, data: PACKET },
    { name: `${prefix}evidence.jsonl`, data: EVIDENCE },
    { name: `${prefix}summary.md`, data: '# Audit Packet\n' },
    { name: `${prefix}verifier.txt`, data: 'CHAIN VALID\n' },
  ];
}

/** The standard flat bundle with extra entries appended. */
function flat(extra: EntrySpec[] = [], options?: ZipOptions): Buffer {
  return buildZip([...standardEntries(), ...extra], options);
}

/** The standard flat bundle with its evidence entry replaced. */
function withEvidence(evidence: Omit<EntrySpec, 'name'>): Buffer {
  return buildZip([...standardEntries().filter((e) => e.name !== 'evidence.jsonl'), { name: 'evidence.jsonl', ...evidence }]);
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'egress-verify-zip-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeZip(bytes: Buffer, name = 'bundle.zip'): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** Opens, reads every visible entry to the end, closes. */
async function openAndReadAll(path: string, limits?: Partial<BundleLimits>): Promise<Map<string, Buffer>> {
  const bundle = await openZipBundle(path, limits);
  try {
    const out = new Map<string, Buffer>();
    for (const name of bundle.entryNames()) out.set(name, await bundle.readEntry(name));
    return out;
  } finally {
    await bundle.close();
  }
}

interface Expected {
  kind?: 'invalid' | 'io';
  rule: BundleRule;
  entry?: string;
  message?: RegExp;
}

async function expectBundleError(work: Promise<unknown>, expected: Expected): Promise<BundleError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected a BundleError').toBeInstanceOf(BundleError);
  const e = error as BundleError;
  expect({ kind: e.kind, rule: e.rule }).toEqual({ kind: expected.kind ?? 'invalid', rule: expected.rule });
  if (expected.entry !== undefined) {
    expect(e.entry).toBe(expected.entry);
    expect(e.message).toContain(`zip entry ${JSON.stringify(expected.entry)}`);
  }
  if (expected.message) expect(e.message).toMatch(expected.message);
  return e;
}

/** The reader never writes: the temp dir holds the zip and nothing else. */
function expectOnlyTheZip(): void {
  expect(readdirSync(dir)).toEqual(['bundle.zip']);
}

async function drain(stream: Readable, onChunk: (chunk: Buffer) => void = () => undefined): Promise<void> {
  for await (const chunk of stream as AsyncIterable<Buffer>) onChunk(chunk);
}

/** Zips with archiver, the way the project's writer and GitHub artifacts do. */
async function archiverZip(path: string, fill: (archive: archiver.Archiver) => void): Promise<void> {
  const out = createWriteStream(path);
  const archive = archiver('zip', { zlib: { level: 9 } });
  const closed = new Promise<void>((ok, fail) => {
    out.on('close', ok);
    archive.on('error', fail);
  });
  archive.pipe(out);
  fill(archive);
  await archive.finalize();
  await closed;
}

// --- hostile archives -----------------------------------------------------------

interface HostileCase extends Expected {
  title: string;
  zip: () => Buffer;
}

const hostileCases: HostileCase[] = [
  // names
  { title: 'path traversal ../x', zip: () => flat([{ name: '../x', data: 'x' }]), rule: 'name-traversal', entry: '../x', message: /"\.\." segment/ },
  { title: 'traversal inside a name', zip: () => flat([{ name: 'a/../../x', data: 'x' }]), rule: 'name-traversal', entry: 'a/../../x' },
  { title: 'absolute /etc/x', zip: () => flat([{ name: '/etc/x', data: 'x' }]), rule: 'name-absolute', entry: '/etc/x', message: /absolute path/ },
  { title: 'absolute C:\\x', zip: () => flat([{ name: 'C:\\x', data: 'x' }]), rule: 'name-absolute', entry: 'C:\\x', message: /absolute path/ },
  { title: 'absolute \\x', zip: () => flat([{ name: '\\x', data: 'x' }]), rule: 'name-absolute', entry: '\\x' },
  { title: 'backslash', zip: () => flat([{ name: 'a\\b.txt', data: 'x' }]), rule: 'name-backslash', entry: 'a\\b.txt', message: /backslash/ },
  { title: 'colon', zip: () => flat([{ name: 'evidence.jsonl:stream', data: 'x' }]), rule: 'name-colon', entry: 'evidence.jsonl:stream' },
  { title: 'NUL in a name', zip: () => flat([{ name: 'a\u0000b', data: 'x' }]), rule: 'name-control-character', entry: 'a\u0000b', message: /control character/ },
  { title: 'escape sequence in a name', zip: () => flat([{ name: 'a\u001b[2Jb', data: 'x' }]), rule: 'name-control-character', entry: 'a\u001b[2Jb' },
  { title: 'empty segment', zip: () => flat([{ name: 'a//b', data: 'x' }]), rule: 'name-empty-segment', entry: 'a//b' },
  { title: 'dot segment', zip: () => flat([{ name: 'x/./y', data: 'x' }]), rule: 'name-dot-segment', entry: 'x/./y' },
  { title: 'name over 255 bytes', zip: () => flat([{ name: 'n'.repeat(256), data: 'x' }]), rule: 'name-too-long', entry: 'n'.repeat(256), message: /256 bytes, more than the 255-byte limit/ },
  {
    title: 'invalid UTF-8 under the UTF-8 flag',
    zip: () => flat([{ name: Buffer.from([0x61, 0xff, 0x62]), flags: FLAG_UTF8, data: 'x' }]),
    rule: 'name-encoding',
    entry: 'a\ufffdb',
    message: /not valid UTF-8/,
  },
  {
    title: 'Unicode path field naming another file',
    zip: () => flat([{ name: 'notes.txt', data: 'x', centralExtra: unicodePathExtra('notes.txt', 'packet.json') }]),
    rule: 'name-unicode-path-mismatch',
    entry: 'notes.txt',
  },
  // kinds
  {
    title: 'symlink entry',
    zip: () => flat([{ name: 'link', data: '/etc/passwd', method: 0, externalAttributes: unixAttributes(MODE.symlink) }]),
    rule: 'symlink',
    entry: 'link',
    message: /symbolic link/,
  },
  {
    title: 'symlink in the Info-ZIP ASi field',
    zip: () => flat([{ name: 'link2', data: 'x', centralExtra: extraField(0x756e, Buffer.from([0, 0, 0, 0, 0xff, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0])) }]),
    rule: 'symlink',
    entry: 'link2',
  },
  { title: 'FIFO entry', zip: () => flat([{ name: 'pipe', externalAttributes: unixAttributes(MODE.fifo) }]), rule: 'special-file', entry: 'pipe', message: /a FIFO/ },
  { title: 'device entry', zip: () => flat([{ name: 'tty', externalAttributes: unixAttributes(MODE.charDevice) }]), rule: 'special-file', entry: 'tty', message: /character device/ },
  { title: 'socket entry', zip: () => flat([{ name: 'sock', externalAttributes: unixAttributes(MODE.socket) }]), rule: 'special-file', entry: 'sock', message: /socket/ },
  { title: 'directory mode without a slash', zip: () => flat([{ name: 'd', externalAttributes: unixAttributes(MODE.dir) }]), rule: 'entry-kind-mismatch', entry: 'd' },
  { title: 'directory entry with data', zip: () => flat([{ name: 'd/', data: 'x', method: 0 }]), rule: 'directory-with-data', entry: 'd/' },
  { title: 'encrypted flag', zip: () => flat([{ name: 'secret.txt', data: 'x', flags: FLAG_ENCRYPTED }]), rule: 'encrypted', entry: 'secret.txt', message: /encrypted/ },
  { title: 'AES (method 99)', zip: () => flat([{ name: 'aes.txt', data: 'x', method: 99, compressed: Buffer.from('xyz') }]), rule: 'encrypted', entry: 'aes.txt' },
  {
    title: 'bzip2 (method 12)',
    zip: () => flat([{ name: 'b.bz2', data: 'x', method: 12, compressed: Buffer.from('BZh') }]),
    rule: 'compression-method',
    entry: 'b.bz2',
    message: /compression method 12 is not supported/,
  },
  { title: 'LZMA (method 14)', zip: () => flat([{ name: 'l.txt', data: 'x', method: 14, compressed: Buffer.from('xx') }]), rule: 'compression-method', entry: 'l.txt' },
  // collisions
  { title: 'duplicate names', zip: () => flat([{ name: 'evidence.jsonl', data: '{}\n' }]), rule: 'duplicate-name', entry: 'evidence.jsonl', message: /appears twice/ },
  {
    title: 'case-fold collision',
    zip: () => flat([{ name: 'Evidence.JSONL', data: '{}\n' }]),
    rule: 'name-collision',
    entry: 'Evidence.JSONL',
    message: /collides with "evidence.jsonl" after Unicode normalisation and case folding/,
  },
  {
    title: 'Unicode normalisation collision',
    zip: () => flat([{ name: 'caf\u00e9.txt', data: '1' }, { name: 'cafe\u0301.txt', data: '2' }]),
    rule: 'name-collision',
    entry: 'cafe\u0301.txt',
  },
  {
    title: 'file that is also a directory',
    zip: () => flat([{ name: 'notes', data: '1' }, { name: 'notes/a.txt', data: '2' }]),
    rule: 'file-directory-conflict',
    entry: 'notes',
    message: /also the directory of "notes\/a.txt"/,
  },
  { title: 'file and directory entry of one name', zip: () => flat([{ name: 'notes', data: '1' }, { name: 'notes/' }]), rule: 'file-directory-conflict', entry: 'notes/' },
  { title: 'file vs directory differing in case', zip: () => flat([{ name: 'Notes', data: '1' }, { name: 'notes/a.txt', data: '2' }]), rule: 'file-directory-conflict', entry: 'Notes' },
  // local headers and placement
  {
    title: 'local header names another file',
    zip: () => flat([{ name: 'notes.txt', data: 'x', local: { name: 'evil.sh' } }]),
    rule: 'local-header-mismatch',
    entry: 'notes.txt',
    message: /local header names "evil.sh"/,
  },
  { title: 'local header size disagrees', zip: () => flat([{ name: 'notes.txt', data: 'xyz', local: { size: 1 } }]), rule: 'local-header-mismatch', entry: 'notes.txt', message: /uncompressed size 1/ },
  { title: 'local header method disagrees', zip: () => flat([{ name: 'notes.txt', data: 'xyz', local: { method: 0 } }]), rule: 'local-header-mismatch', entry: 'notes.txt' },
  { title: 'local header marks encryption', zip: () => flat([{ name: 'notes.txt', data: 'xyz', local: { flags: FLAG_ENCRYPTED } }]), rule: 'encrypted', entry: 'notes.txt' },
  {
    title: 'data descriptor disagrees',
    zip: () => flat([{ name: 'notes.txt', data: 'xyz', descriptor: 'signed', descriptorValues: { crc: 1 } }]),
    rule: 'data-descriptor-mismatch',
    entry: 'notes.txt',
  },
  { title: 'data before the first local header', zip: () => flat([], { prefix: Buffer.from('#!/bin/sh\nexit 0\n') }), rule: 'data-before-first-entry', entry: 'packet.json', message: /17 bytes/ },
  {
    title: 'bytes hidden between entries',
    zip: () => flat([{ name: 'notes.txt', data: 'x', gapBefore: localHeader({ name: 'hidden.txt', method: 0 }) }]),
    rule: 'unaccounted-bytes',
    entry: 'notes.txt',
  },
  { title: 'bytes before the central directory', zip: () => flat([], { beforeCentral: Buffer.alloc(10) }), rule: 'unaccounted-bytes', message: /10 unaccounted bytes precede the central directory/ },
  { title: 'overlapping entries', zip: overlappingEntries, rule: 'overlapping-entries', entry: 'b.txt', message: /overlaps "a.txt"/ },
  { title: 'local header offset past the data area', zip: () => flat([{ name: 'notes.txt', data: 'x', offset: 0x7fff0000 }]), rule: 'entry-out-of-bounds', entry: 'notes.txt' },
  { title: 'stored entry whose sizes disagree', zip: () => flat([{ name: 'notes.txt', data: 'xy', method: 0, size: 5 }]), rule: 'size-mismatch', entry: 'notes.txt' },
  // archive structure
  { title: 'multi-disk archive', zip: () => flat([], { end: { disk: 1 } }), rule: 'multi-disk', message: /multi-disk/ },
  { title: 'zip64 end record disagreeing with the classic one', zip: () => flat([], { zip64End: true, end: { entryCount: 3 } }), rule: 'zip64-invalid' },
  { title: 'entry count that understates the central directory', zip: () => flat([], { end: { entryCount: 3, entriesOnDisk: 3 } }), rule: 'central-directory-invalid' },
  { title: 'second end record hidden in the comment', zip: () => flat([], { comment: fakeEndRecord() }), rule: 'ambiguous-end-record' },
  { title: 'bytes after the end record', zip: () => flat([], { trailing: Buffer.from('junk') }), rule: 'trailing-data', message: /4 unexpected bytes/ },
  { title: 'truncated zip (cut in half)', zip: () => halve(flat()), rule: 'not-a-zip', message: /not a zip file, or a truncated one/ },
  { title: 'non-zip file', zip: () => Buffer.from('{"this":"is json, not a zip"}\n'), rule: 'not-a-zip' },
  { title: 'empty file', zip: () => Buffer.alloc(0), rule: 'not-a-zip' },
  { title: '20,000 entries', zip: manyEntries, rule: 'too-many-entries', message: /20000 entries, more than the limit of 64/ },
  // layout
  {
    title: 'two packets: root and folder',
    zip: () => flat([{ name: 'F/packet.json', data: PACKET }]),
    rule: 'layout-ambiguous',
    entry: 'F/packet.json',
    message: /two packets/,
  },
  {
    title: 'two packets in two folders',
    zip: () => buildZip([...standardEntries('A/'), ...standardEntries('B/')]),
    rule: 'layout-ambiguous',
    entry: 'B/packet.json',
    message: /several packets \(A\/packet.json, B\/packet.json\)/,
  },
];

function overlappingEntries(): Buffer {
  // a.txt's stored data is a complete local entry for b.txt, and the central
  // directory points b.txt into the middle of a.txt.
  const hidden: EntrySpec = { name: 'b.txt', data: 'hidden', method: 0 };
  const inner = Buffer.concat([localHeader(hidden), Buffer.from('hidden')]);
  return buildZip([{ name: 'a.txt', data: inner, method: 0 }, { ...hidden, omitLocal: true, offset: 30 + 'a.txt'.length }, ...standardEntries()]);
}

function fakeEndRecord(): Buffer {
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  return record;
}

function halve(zip: Buffer): Buffer {
  return zip.subarray(0, Math.floor(zip.length / 2));
}

function manyEntries(): Buffer {
  const entries: EntrySpec[] = standardEntries();
  while (entries.length < 20_000) entries.push({ name: `f/${entries.length}`, method: 0 });
  return buildZip(entries);
}

describe('hostile zips are rejected as invalid, naming the entry and the rule', () => {
  it.each(hostileCases)('$title', async (c) => {
    const path = writeZip(c.zip());
    const started = Date.now();
    await expectBundleError(openAndReadAll(path), c);
    expect(Date.now() - started).toBeLessThan(3000);
    expectOnlyTheZip();
  }, 10_000);
});

describe('content is checked while it is read', () => {
  it('a bad CRC-32 fails at the end of the read', async () => {
    const path = writeZip(withEvidence({ data: EVIDENCE, crc: 0x12345678 }));
    const bundle = await openZipBundle(path);
    try {
      await expectBundleError(bundle.readEntry('evidence.jsonl'), { rule: 'crc-mismatch', entry: 'evidence.jsonl', message: /CRC-32 mismatch.*0x12345678/ });
      expect(await bundle.readEntry('packet.json')).toEqual(Buffer.from(PACKET));
    } finally {
      await bundle.close();
    }
    expectOnlyTheZip();
  });

  it('a bad CRC-32 on a stored entry fails too', async () => {
    const path = writeZip(withEvidence({ data: EVIDENCE, method: 0, crc: 1 }));
    await expectBundleError(openAndReadAll(path), { rule: 'crc-mismatch', entry: 'evidence.jsonl' });
  });

  it('content shorter than declared fails', async () => {
    const path = writeZip(withEvidence({ data: EVIDENCE, size: EVIDENCE.length + 5 }));
    await expectBundleError(openAndReadAll(path), { rule: 'size-mismatch', entry: 'evidence.jsonl', message: /inflates to \d+ bytes but the central directory declares/ });
  });

  it('content longer than declared fails at the first byte past it', async () => {
    const path = writeZip(withEvidence({ data: 'x'.repeat(1000), size: 10 }));
    await expectBundleError(openAndReadAll(path), { rule: 'size-mismatch', entry: 'evidence.jsonl', message: /more than the 10 bytes/ });
  });

  it('a large tail of bytes after the end of the deflate stream fails cleanly', async () => {
    const compressed = Buffer.concat([zlib.deflateRawSync(EVIDENCE), Buffer.alloc(512 * 1024, 0x41)]);
    const path = writeZip(withEvidence({ data: EVIDENCE, compressed }));
    await expectBundleError(openAndReadAll(path), { rule: 'corrupt-data', entry: 'evidence.jsonl', message: /ends after/ });
  });

  it('corrupt deflate data fails', async () => {
    const path = writeZip(withEvidence({ data: EVIDENCE, compressed: Buffer.from([0xff, 0xff, 0xff, 0xff]) }));
    await expectBundleError(openAndReadAll(path), { rule: 'corrupt-data', entry: 'evidence.jsonl', message: /deflate data is corrupt/ });
  });

  it('truncated deflate data fails', async () => {
    const path = writeZip(withEvidence({ data: EVIDENCE, compressed: zlib.deflateRawSync(EVIDENCE).subarray(0, 5) }));
    await expectBundleError(openAndReadAll(path), { rule: 'corrupt-data', entry: 'evidence.jsonl' });
  });

  it('bytes after the end of the deflate stream fail', async () => {
    const compressed = Buffer.concat([zlib.deflateRawSync(EVIDENCE), Buffer.from('smuggled')]);
    const path = writeZip(withEvidence({ data: EVIDENCE, compressed }));
    await expectBundleError(openAndReadAll(path), { rule: 'corrupt-data', entry: 'evidence.jsonl', message: /ends after \d+ of its \d+ compressed bytes/ });
  });
});

describe('bombs and limits', () => {
  it('refuses a 2 GiB deflate bomb from its declared size, before inflating anything', async () => {
    const bomb = deflatedZeros(2048);
    const zip = withEvidence({ compressed: bomb, size: 2048 * MiB, crc: 0 });
    expect(zip.length).toBeLessThan(3 * MiB);
    const path = writeZip(zip);
    const started = Date.now();
    await expectBundleError(openZipBundle(path), {
      rule: 'entry-size-limit',
      entry: 'evidence.jsonl',
      message: /declared uncompressed size 2 GiB exceeds the 256 MiB limit for evidence/,
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expectOnlyTheZip();
  });

  it('stops a 2 GiB bomb that understates itself at the evidence limit, in bounded memory', async () => {
    // The header claims exactly the 256 MiB cap (ratio 128:1, so nothing is
    // refused up front); the stream holds 2 GiB. Only counting stops it.
    const path = writeZip(withEvidence({ compressed: deflatedZeros(2048), size: 256 * MiB, crc: 0 }));
    const bundle = await openZipBundle(path);
    let produced = 0;
    let peakRss = process.memoryUsage().rss;
    const started = Date.now();
    try {
      const stream = await bundle.openEntryStream('evidence.jsonl');
      await expectBundleError(
        drain(stream, (chunk) => {
          produced += chunk.length;
          if (produced % (16 * MiB) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        }),
        { rule: 'entry-size-limit', entry: 'evidence.jsonl', message: /^zip entry "evidence.jsonl": uncompressed size exceeds the 256 MiB limit for evidence$/ },
      );
    } finally {
      await bundle.close();
    }
    expect(produced).toBeLessThanOrEqual(256 * MiB);
    expect(produced).toBeGreaterThan(255 * MiB);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(peakRss).toBeLessThan(300 * MiB);
    expectOnlyTheZip();
  }, 20_000);

  it('refuses a declared compression ratio over 200:1', async () => {
    const path = writeZip(flat([{ name: 'zeros.bin', data: Buffer.alloc(4 * MiB) }]));
    await expectBundleError(openZipBundle(path), { rule: 'compression-ratio', entry: 'zeros.bin', message: /200:1 compression ratio limit/ });
  });

  it('stops a stream whose real ratio exceeds 200:1 once it passes 1 MiB', async () => {
    // Declares 1 MiB (so the ratio rule cannot refuse it up front) but holds
    // 4 MiB of zeros in about 4 KiB: past 1 MiB the ratio is already over
    // 200:1 against the whole compressed size, so the stream stops there.
    const path = writeZip(flat([{ name: 'zeros.bin', compressed: deflatedZeros(4), size: MiB, crc: 0 }]));
    const bundle = await openZipBundle(path);
    try {
      let produced = 0;
      const stream = await bundle.openEntryStream('zeros.bin');
      await expectBundleError(drain(stream, (c) => (produced += c.length)), {
        rule: 'compression-ratio',
        entry: 'zeros.bin',
        message: /beyond the 200:1 compression ratio limit/,
      });
      expect(produced).toBeLessThanOrEqual(MiB);
    } finally {
      await bundle.close();
    }
  });

  it('streams a single 40 MiB line without holding it (the line cap is enforced later)', async () => {
    const line = Buffer.from(`{"pad":"${'a'.repeat(40 * MiB)}"}\n`);
    const digest = createHash('sha256').update(line).digest('hex');
    // Level 0: deflate framing without compression, so the ratio stays ~1:1.
    const path = writeZip(withEvidence({ data: line, compressed: zlib.deflateRawSync(line, { level: 0 }) }));
    const bundle = await openZipBundle(path);
    try {
      const stream = await bundle.openEntryStream('evidence.jsonl');
      const hash = createHash('sha256');
      let chunks = 0;
      let largest = 0;
      await drain(stream, (chunk) => {
        chunks++;
        largest = Math.max(largest, chunk.length);
        hash.update(chunk);
      });
      expect(hash.digest('hex')).toBe(digest);
      expect(chunks).toBeGreaterThan(100);
      expect(largest).toBeLessThanOrEqual(64 * 1024);
    } finally {
      await bundle.close();
    }
  }, 20_000);

  it('applies the role limit before reading, from the declared size', async () => {
    const path = writeZip(flat());
    const bundle = await openZipBundle(path, { maxEvidenceBytes: 16 });
    try {
      await expectBundleError(bundle.readEntry('evidence.jsonl'), {
        rule: 'entry-size-limit',
        entry: 'evidence.jsonl',
        message: /declared uncompressed size \d+ bytes exceeds the 16 bytes limit for evidence/,
      });
    } finally {
      await bundle.close();
    }
  });

  it('refuses a packet.json that declares more than its cap at open, under its own rule', async () => {
    const path = writeZip(flat());
    await expectBundleError(openZipBundle(path, { maxPacketBytes: 16 }), {
      rule: 'packet-size-limit',
      entry: 'packet.json',
      message: /declared uncompressed size \d+ bytes exceeds the 16 bytes limit for packet.json/,
    });
  });

  it('applies the role limit to the bytes produced when the header understates them', async () => {
    const big = `{"pad":"${'p'.repeat(200)}"}\n`;
    const path = writeZip(buildZip([{ name: 'packet.json', data: big, size: 10 }, ...standardEntries().slice(1)]));
    const bundle = await openZipBundle(path, { maxPacketBytes: 64 });
    try {
      await expectBundleError(bundle.readEntry('packet.json'), { rule: 'packet-size-limit', entry: 'packet.json', message: /uncompressed size exceeds the 64 bytes limit for packet.json/ });
    } finally {
      await bundle.close();
    }
  });

  it('selects the evidence limit by role for an evidence artifact with another name', async () => {
    const path = writeZip(flat([{ name: 'data/chain.jsonl', data: 'e'.repeat(100) }]));
    const bundle = await openZipBundle(path, { maxOtherEntryBytes: 50, maxEvidenceBytes: 200 });
    try {
      await expectBundleError(bundle.readEntry('data/chain.jsonl'), { rule: 'entry-size-limit', entry: 'data/chain.jsonl', message: /50 bytes limit for other entries/ });
      expect((await bundle.readEntry('data/chain.jsonl', 'evidence')).length).toBe(100);
    } finally {
      await bundle.close();
    }
  });

  it('refuses declared sizes that add up past the total limit', async () => {
    const path = writeZip(flat([{ name: 'a.txt', data: 'a'.repeat(600) }, { name: 'b.txt', data: 'b'.repeat(600) }]));
    await expectBundleError(openZipBundle(path, { maxTotalUncompressedBytes: 1000 }), { rule: 'total-size-limit', entry: 'b.txt', message: /1000 bytes total limit/ });
  });

  it('counts the running total over what is actually inflated, without double-counting re-reads', async () => {
    // a.txt declares 100 bytes but holds 600; b.txt honestly holds 600.
    const path = writeZip(flat([{ name: 'a.txt', data: 'a'.repeat(600), size: 100 }, { name: 'b.txt', data: 'b'.repeat(600) }]));
    const bundle = await openZipBundle(path, { maxTotalUncompressedBytes: 1000 });
    try {
      await bundle.readEntry('b.txt');
      await bundle.readEntry('b.txt');
      await expectBundleError(bundle.readEntry('a.txt'), { rule: 'total-size-limit', entry: 'a.txt', message: /more than the 1000 bytes total limit/ });
    } finally {
      await bundle.close();
    }
  });

  it('refuses more entries than the limit', async () => {
    await expectBundleError(openZipBundle(writeZip(flat()), { maxEntries: 3 }), { rule: 'too-many-entries', message: /4 entries, more than the limit of 3/ });
  });

  it('refuses an archive file over the size cap before parsing', async () => {
    await expectBundleError(openZipBundle(writeZip(flat()), { maxArchiveBytes: 100 }), { rule: 'archive-too-large', message: /more than the 100 bytes limit/ });
  });

  it('applies an overridden name length limit', async () => {
    await expectBundleError(openZipBundle(writeZip(flat()), { maxNameBytes: 11 }), { rule: 'name-too-long', entry: 'evidence.jsonl' });
  });
});

// --- accepted archives -----------------------------------------------------------

describe('accepted layouts', () => {
  it('reads a flat bundle made by archiver', async () => {
    const path = join(dir, 'bundle.zip');
    await archiverZip(path, (a) => {
      for (const e of standardEntries()) a.append(Buffer.from(e.data as string), { name: e.name as string });
    });
    const bundle = await openZipBundle(path);
    try {
      expect(bundle.base).toBe('');
      expect(bundle.path).toBe(path);
      expect(bundle.entryNames()).toEqual(['packet.json', 'evidence.jsonl', 'summary.md', 'verifier.txt']);
      expect((await bundle.readEntry('packet.json')).toString()).toBe(PACKET);
      expect((await bundle.readEntry('evidence.jsonl')).toString()).toBe(EVIDENCE);
      expect(bundle.has('summary.md')).toBe(true);
      expect(bundle.has('missing.md')).toBe(false);
      expect(bundle.has('../packet.json')).toBe(false);
    } finally {
      await bundle.close();
    }
    expectOnlyTheZip();
  });

  it('reads a one-folder bundle made by archiver', async () => {
    const path = join(dir, 'bundle.zip');
    await archiverZip(path, (a) => {
      for (const e of standardEntries('pipelock-audit-packet/')) a.append(Buffer.from(e.data as string), { name: e.name as string });
    });
    const bundle = await openZipBundle(path);
    try {
      expect(bundle.base).toBe('pipelock-audit-packet/');
      expect(bundle.entryNames()).toEqual(['packet.json', 'evidence.jsonl', 'summary.md', 'verifier.txt']);
      expect((await bundle.readEntry('packet.json')).toString()).toBe(PACKET);
    } finally {
      await bundle.close();
    }
  });

  it('ignores __MACOSX/ and .DS_Store entries for the layout and the entry list', async () => {
    const zip = buildZip([
      { name: 'F/' },
      ...standardEntries('F/'),
      { name: 'F/.DS_Store', data: 'finder' },
      { name: '.DS_Store', data: 'finder' },
      { name: '__MACOSX/' },
      { name: '__MACOSX/F/._packet.json', data: 'fork' },
    ]);
    const bundle = await openZipBundle(writeZip(zip));
    try {
      expect(bundle.base).toBe('F/');
      expect(bundle.entryNames()).toEqual(['packet.json', 'evidence.jsonl', 'summary.md', 'verifier.txt']);
      expect(bundle.has('.DS_Store')).toBe(false);
    } finally {
      await bundle.close();
    }
  });

  it('keeps deeper packet.json files as ordinary entries of a flat bundle', async () => {
    const bundle = await openZipBundle(writeZip(flat([{ name: 'history/old/packet.json', data: '{}' }])));
    try {
      expect(bundle.base).toBe('');
      expect(bundle.has('history/old/packet.json')).toBe(true);
    } finally {
      await bundle.close();
    }
  });

  it('treats a nested zip as an ordinary entry and never opens it', async () => {
    const inner = buildZip([{ name: '../evil', data: 'x' }, { name: 'packet.json', data: '{}' }]);
    const bundle = await openZipBundle(writeZip(flat([{ name: 'inner.zip', data: inner, method: 0 }])));
    try {
      expect(bundle.entryNames()).toContain('inner.zip');
      expect(bundle.entryNames()).not.toContain('../evil');
      expect(await bundle.readEntry('inner.zip')).toEqual(inner);
    } finally {
      await bundle.close();
    }
    expectOnlyTheZip();
  });

  it('reads zip64 records and extra fields', async () => {
    const entries = standardEntries().map((e) => ({ ...e, zip64: true, descriptor: 'signed' as const }));
    const bundle = await openZipBundle(writeZip(buildZip(entries, { zip64End: true })));
    try {
      expect((await bundle.readEntry('evidence.jsonl')).toString()).toBe(EVIDENCE);
    } finally {
      await bundle.close();
    }
  });

  it('reads unsigned data descriptors and local headers that repeat the sizes', async () => {
    const zip = buildZip([
      { ...standardEntries()[0]!, descriptor: 'unsigned' },
      { ...standardEntries()[1]!, descriptor: 'signed', local: { crc: zlib.crc32(EVIDENCE), size: EVIDENCE.length, compressedSize: zlib.deflateRawSync(EVIDENCE).length } },
    ]);
    expect((await openAndReadAll(writeZip(zip))).get('evidence.jsonl')?.toString()).toBe(EVIDENCE);
  });

  it('decodes names as CP437 without the UTF-8 flag and as UTF-8 with it', async () => {
    const zip = flat([{ name: Buffer.from([0x62, 0x81, 0x2e, 0x74, 0x78, 0x74]), data: 'cp437' }, { name: 'café.txt', data: 'utf8' }]);
    const read = await openAndReadAll(writeZip(zip));
    expect(read.get('bü.txt')?.toString()).toBe('cp437');
    expect(read.get('café.txt')?.toString()).toBe('utf8');
  });

  it('accepts a matching Unicode path field', async () => {
    const zip = flat([{ name: 'caf\u00e9.txt', data: 'x', centralExtra: unicodePathExtra('caf\u00e9.txt', 'caf\u00e9.txt') }]);
    expect((await openAndReadAll(writeZip(zip))).has('caf\u00e9.txt')).toBe(true);
  });
});

describe('layouts that are refused', () => {
  it('no packet.json', async () => {
    const e = await expectBundleError(openZipBundle(writeZip(buildZip(standardEntries().slice(1)))), { rule: 'layout-no-packet', message: /no packet.json at the root or in a single top-level folder/ });
    expect(e.entry).toBeUndefined();
  });

  it('packet.json only deeper', async () => {
    await expectBundleError(openZipBundle(writeZip(buildZip(standardEntries('a/b/')))), { rule: 'layout-packet-too-deep', entry: 'a/b/packet.json' });
  });

  it('several top folders', async () => {
    await expectBundleError(openZipBundle(writeZip(buildZip([...standardEntries('A/'), { name: 'B/notes.txt', data: 'x' }]))), {
      rule: 'layout-not-single-folder',
      entry: 'B/notes.txt',
      message: /outside A\//,
    });
  });

  it('a folder packet with stray root files', async () => {
    await expectBundleError(openZipBundle(writeZip(buildZip([...standardEntries('A/'), { name: 'README', data: 'x' }]))), { rule: 'layout-not-single-folder', entry: 'README' });
  });

  it('an empty archive', async () => {
    await expectBundleError(openZipBundle(writeZip(buildZip([]))), { rule: 'layout-no-packet' });
  });

  it('a packet only under __MACOSX/', async () => {
    await expectBundleError(openZipBundle(writeZip(buildZip(standardEntries('__MACOSX/')))), { rule: 'layout-no-packet' });
  });
});

describe('names are resolved inside the base', () => {
  async function folderBundle(): Promise<ZipBundle> {
    return openZipBundle(writeZip(buildZip([...standardEntries('F/'), { name: 'F/data/chain.jsonl', data: EVIDENCE }])));
  }

  it('normalises "." and inner ".." lexically', async () => {
    const bundle = await folderBundle();
    try {
      expect((await bundle.readEntry('./evidence.jsonl')).toString()).toBe(EVIDENCE);
      expect((await bundle.readEntry('data/../evidence.jsonl')).toString()).toBe(EVIDENCE);
      expect(bundle.has('data/chain.jsonl')).toBe(true);
    } finally {
      await bundle.close();
    }
  });

  it('refuses a name that leaves the base even though the entry exists', async () => {
    const bundle = await folderBundle();
    try {
      expect(bundle.has('../F/evidence.jsonl')).toBe(false);
      await expectBundleError(bundle.readEntry('../F/evidence.jsonl'), { rule: 'path-escapes-base', entry: '../F/evidence.jsonl', message: /leaves the bundle base/ });
      await expectBundleError(bundle.openEntryStream('data/../../F/packet.json'), { rule: 'path-escapes-base' });
    } finally {
      await bundle.close();
    }
  });

  it.each([
    ['', /empty/],
    ['/F/evidence.jsonl', /absolute/],
    ['C:evidence.jsonl', /absolute/],
    ['data\\chain.jsonl', /backslash/],
    ['evidence.jsonl\u0000', /control character/],
    ['.', /base itself/],
    ['data/', /directory/],
  ])('refuses the path %j', async (relName, message) => {
    const bundle = await folderBundle();
    try {
      expect(bundle.has(relName)).toBe(false);
      await expectBundleError(bundle.readEntry(relName), { rule: 'path-invalid', message });
    } finally {
      await bundle.close();
    }
  });

  it('reports a missing entry as invalid', async () => {
    const bundle = await folderBundle();
    try {
      await expectBundleError(bundle.readEntry('missing.jsonl'), { rule: 'entry-not-found', entry: 'F/missing.jsonl', message: /no such file/ });
    } finally {
      await bundle.close();
    }
  });

  it('close() ends open streams and is idempotent', async () => {
    const bundle = await openZipBundle(writeZip(withEvidence({ data: 'x'.repeat(2 * MiB), method: 0 })));
    const stream = await bundle.openEntryStream('evidence.jsonl');
    const failed = drain(stream).then(
      () => 'ended',
      () => 'failed',
    );
    await bundle.close();
    await bundle.close();
    expect(await failed).toBe('failed');
    await expect(bundle.readEntry('packet.json')).rejects.toThrow(/closed/);
  });
});

describe('the worked example, zipped both ways', () => {
  const files = haveWorkedExample ? readdirSync(workedExample).sort() : [];

  async function check(path: string, base: string): Promise<void> {
    const bundle = await openZipBundle(path);
    try {
      expect(bundle.base).toBe(base);
      expect([...bundle.entryNames()].sort()).toEqual(files);
      for (const name of files) expect(await bundle.readEntry(name)).toEqual(readFileSync(join(workedExample, name)));
      const packetHash = createHash('sha256').update(await bundle.readEntry('packet.json')).digest('hex');
      expect(packetHash).toBe('78ad91f3a37bc287bc7b0ebd3e7c9a2c24841f54ee290ff84acb1e55c9689e08');
    } finally {
      await bundle.close();
    }
  }

  it.skipIf(!haveWorkedExample)('flat (GitHub artifact shape)', async () => {
    const path = join(dir, 'bundle.zip');
    await archiverZip(path, (a) => a.directory(workedExample, false));
    await check(path, '');
  });

  it.skipIf(!haveWorkedExample)('one top folder (zip -r shape)', async () => {
    const path = join(dir, 'bundle.zip');
    await archiverZip(path, (a) => a.directory(workedExample, 'pipelock-audit-packet'));
    await check(path, 'pipelock-audit-packet/');
  });
});

describe('I/O failures are kind io', () => {
  it('a missing path', async () => {
    const missing = join(dir, 'missing.zip');
    const e = await expectBundleError(openZipBundle(missing), { kind: 'io', rule: 'io-error', message: /ENOENT/ });
    expect(e.message).toContain(JSON.stringify(missing));
  });

  it('a directory', async () => {
    mkdirSync(join(dir, 'packet.zip'));
    await expectBundleError(openZipBundle(join(dir, 'packet.zip')), { kind: 'io', rule: 'not-a-regular-file', message: /is a directory/ });
  });

  it('a FIFO, without blocking on it', async () => {
    const fifo = join(dir, 'fifo.zip');
    if (spawnSync('mkfifo', [fifo]).status !== 0) {
      console.warn('zip-reader tests: mkfifo unavailable; FIFO case not exercised');
      return;
    }
    await expectBundleError(openZipBundle(fifo), { kind: 'io', rule: 'not-a-regular-file', message: /not a regular file/ });
  });

  it.skipIf(process.getuid?.() === 0)('a file without read permission', async () => {
    const path = writeZip(flat());
    chmodSync(path, 0o000);
    await expectBundleError(openZipBundle(path), { kind: 'io', rule: 'io-error', message: /EACCES/ });
  });
});

describe('limits', () => {
  it('renders every default into the Markdown table', () => {
    const table = renderLimitsMarkdown();
    expect(table.startsWith('| limit | default |\n| --- | --- |\n')).toBe(true);
    for (const row of [
      '| size of the .zip file | 1 GiB |',
      '| entries in the archive (directories and ignored `__MACOSX/`, `.DS_Store` entries included) | 64 |',
      '| length of one entry name, in bytes as stored | 255 bytes |',
      '| `packet.json`, uncompressed | 8 MiB |',
      '| `summary.md`, uncompressed | 8 MiB |',
      '| `verifier.txt`, uncompressed | 8 MiB |',
      '| the evidence artifact, uncompressed | 256 MiB |',
      '| any other entry, uncompressed | 8 MiB |',
      '| all entries together, uncompressed | 512 MiB |',
      '| compression ratio of one entry, once it exceeds the threshold below | 200:1 |',
      '| size from which the ratio limit applies | 1 MiB |',
    ]) {
      expect(table).toContain(`${row}\n`);
    }
    expect(table.trim().split('\n')).toHaveLength(2 + Object.keys(BUNDLE_LIMITS).length);
  });

  it('renders overridden values', () => {
    expect(renderLimitsMarkdown(resolveLimits({ maxEntries: 10, maxEvidenceBytes: 3 * MiB }))).toMatch(/\| 10 \|[\s\S]*\| 3 MiB \|/);
  });

  it('are frozen, and overrides are validated', () => {
    expect(Object.isFrozen(BUNDLE_LIMITS)).toBe(true);
    expect(resolveLimits({ maxEntries: 5 }).maxEntries).toBe(5);
    expect(resolveLimits({ maxCompressionRatio: 12.5 }).maxCompressionRatio).toBe(12.5);
    expect(() => resolveLimits({ maxEntries: 0 })).toThrow(TypeError);
    expect(() => resolveLimits({ maxEntries: 1.5 })).toThrow(TypeError);
    expect(() => resolveLimits({ maxEvidenceBytes: -1 })).toThrow(TypeError);
    expect(() => resolveLimits({ bogus: 1 } as Partial<BundleLimits>)).toThrow(/unknown bundle limit/);
  });

  it('formats sizes exactly', () => {
    expect([8 * MiB, 2048 * MiB, 3072, 1536, 1000, 1].map(formatBytes)).toEqual(['8 MiB', '2 GiB', '3 KiB', '1536 bytes', '1000 bytes', '1 byte']);
  });
});
