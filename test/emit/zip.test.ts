/**
 * Reproducible bundle zips (audit-packet-v0 §1.3, writer): the same files
 * give the same bytes whatever their mtimes, modes, the directory or the
 * time zone; packet.json first, then UTF-8 byte order; the fixed
 * 1980-01-01 date on every entry, no extra fields; the zip reads back flat
 * through src/bundle/zip-reader.ts; and no failure leaves a file under the
 * final name.
 */
import { chmod, cp, mkdir, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openZipBundle } from '../../src/bundle/zip-reader.js';
import { defaultPosture, writeBundleDir, writePacket } from '../../src/cli/emit-command.js';
import { bundleOrder, FIXED_ZIP_DATE, writeBundleZip } from '../../src/emit/zip.js';
import { decisions, recorderChain, testSigner } from '../helpers/fixtures.js';
import { cli, DOS_DATE_1980_01_01, NOW, readCentralDirectory, tempDir } from './support.js';

const STANDARD = ['packet.json', 'evidence.jsonl', 'summary.md', 'verifier.txt'];

let root: string;
let packetA: string;
let packetB: string;

beforeAll(async () => {
  root = await tempDir('zip');
  const evidence = join(root, 'evidence.jsonl');
  await writeFile(evidence, recorderChain(decisions(5), { checkpointInterval: 4 }).join('\n') + '\n');
  packetA = join(root, 'a', 'packet');
  await writePacket({
    evidencePath: evidence,
    outDir: packetA,
    pinnedKeys: [testSigner.publicKeyHex],
    run: { provider: 'local', agent_identity: 'zip-test', started_at: '2026-04-15T12:00:00Z' },
    posture: defaultPosture('egress_verify_proxy'),
    redactDomains: false,
    force: false,
    generatedAt: new Date('2026-04-15T12:10:00Z'),
  });
  // The same files elsewhere, with other mtimes and modes.
  packetB = join(root, 'b', 'elsewhere', 'packet');
  await mkdir(join(root, 'b', 'elsewhere'), { recursive: true });
  await cp(packetA, packetB, { recursive: true });
  for (const [i, name] of STANDARD.entries()) {
    await utimes(join(packetA, name), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
    await utimes(join(packetB, name), new Date(Date.UTC(2030, 0, 1 + i)), new Date(Date.UTC(2030, 0, 1 + i)));
  }
  await chmod(join(packetB, 'summary.md'), 0o600);
  await chmod(join(packetB, 'verifier.txt'), 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('reproducible bytes', () => {
  it('the same directory zipped twice, a copy with other mtimes and modes, another time zone, and `emit bundle` all give identical bytes', async () => {
    const z1 = join(root, 'z1.zip');
    const z2 = join(root, 'z2.zip');
    const z3 = join(root, 'z3.zip');
    const z4 = join(root, 'z4.zip');
    const z5 = join(root, 'z5.zip');
    await writeBundleDir(packetA, z1);
    await writeBundleDir(packetA, z2);
    await writeBundleDir(packetB, z3);
    const tz = process.env.TZ;
    process.env.TZ = 'Asia/Tokyo'; // UTC+9 in 1980: a local-time DOS date would read 1980-01-01 09:00
    try {
      await writeBundleDir(packetA, z4);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    expect((await cli('emit', 'bundle', '--packet', packetB, '--out', z5)).code).toBe(0);
    const bytes = await Promise.all([z1, z2, z3, z4, z5].map((z) => readFile(z)));
    for (const b of bytes.slice(1)) expect(b.equals(bytes[0]!)).toBe(true);
    expect(bytes[0]!.length).toBeGreaterThan(1000);
  });

  it('every entry: packet.json first then byte order, 1980-01-01 00:00:00, deflate, a regular 0644 file, no extra field, no comments', async () => {
    const z = join(root, 'headers.zip');
    await writeBundleDir(packetB, z);
    const { entries, comment } = readCentralDirectory(await readFile(z));
    expect(entries.map((e) => e.name)).toEqual(STANDARD);
    expect(comment).toBe('');
    for (const e of entries) {
      expect([e.name, e.dosDate, e.dosTime, e.local.dosDate, e.local.dosTime]).toEqual([e.name, DOS_DATE_1980_01_01, 0, DOS_DATE_1980_01_01, 0]);
      expect([e.name, e.method, e.local.method]).toEqual([e.name, 8, 8]);
      expect([e.name, e.extraLength, e.local.extraLength, e.commentLength]).toEqual([e.name, 0, 0, 0]);
      expect([e.name, e.externalAttributes >>> 16]).toEqual([e.name, 0o100644]);
      expect(e.local.name).toBe(e.name);
    }
    expect(FIXED_ZIP_DATE.toISOString()).toBe('1980-01-01T00:00:00.000Z');
  });

  it('reads back flat through openZipBundle, each entry equal to its file; the bundle verifies', async () => {
    const z = join(root, 'readback.zip');
    await writeBundleDir(packetA, z);
    const bundle = await openZipBundle(z);
    try {
      expect(bundle.base).toBe('');
      expect(bundle.entryNames()).toEqual(STANDARD);
      for (const name of STANDARD) expect((await bundle.readEntry(name)).equals(await readFile(join(packetA, name)))).toBe(true);
    } finally {
      await bundle.close();
    }
    const v = await cli(z, '--pubkey', testSigner.publicKeyHex, ...NOW);
    expect(v.code).toBe(0);
  });
});

describe('entry order and what is included', () => {
  it('bundleOrder: packet.json first, the rest by UTF-8 bytes (not UTF-16 code units, not locale)', () => {
    expect(bundleOrder(['verifier.txt', 'summary.md', 'packet.json', 'evidence.jsonl'])).toEqual(STANDARD);
    expect(bundleOrder(['\u{1F600}.txt', '\uffff.txt', 'é.txt', 'packet.json', 'a.txt', 'Z.txt', 'Packet.json', '_x'])).toEqual(['packet.json', 'Packet.json', 'Z.txt', '_x', 'a.txt', 'é.txt', '\uffff.txt', '\u{1F600}.txt']);
    expect(bundleOrder(['b', 'a'])).toEqual(['a', 'b']);
  });

  it('writeBundleDir zips the top-level regular files only (no sub-directories), sorted, and keeps a 0-byte file', async () => {
    const dir = join(root, 'extra');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(join(dir, 'sub', 'inner.txt'), 'no');
    await writeFile(join(dir, 'packet.json'), '{}\n');
    await writeFile(join(dir, 'évidence.jsonl'), '');
    await writeFile(join(dir, 'a.txt'), 'a');
    await writeFile(join(dir, 'Z.txt'), 'Z');
    const z = join(root, 'extra.zip');
    await writeBundleDir(dir, z);
    const { entries } = readCentralDirectory(await readFile(z));
    expect(entries.map((e) => e.name)).toEqual(['packet.json', 'Z.txt', 'a.txt', 'évidence.jsonl']);
    expect(entries.every((e) => e.dosDate === DOS_DATE_1980_01_01 && e.dosTime === 0)).toBe(true);
    const bundle = await openZipBundle(z);
    try {
      expect(bundle.base).toBe('');
      expect((await bundle.readEntry('évidence.jsonl', 'evidence')).length).toBe(0);
      expect((await bundle.readEntry('a.txt', 'evidence')).toString()).toBe('a');
    } finally {
      await bundle.close();
    }
  });
});

describe('a failure never leaves a file under the final name', () => {
  const files = () => [{ name: 'packet.json', data: Buffer.from('{}\n') }];

  it('duplicate names: rejected before anything is written', async () => {
    const dir = await tempDirIn('dup');
    await expect(writeBundleZip(join(dir, 'b.zip'), [...files(), { name: 'packet.json', data: Buffer.from('x') }])).rejects.toThrow('duplicate file names in bundle');
    expect(await readdir(dir)).toEqual([]);
  });

  it('an error from the zip library mid-write: rejected, no bundle under the final name', async () => {
    const dir = await tempDirIn('midwrite');
    const bad = { name: 'z.txt', data: 42 as unknown as Buffer };
    await expect(writeBundleZip(join(dir, 'b.zip'), [...files(), bad])).rejects.toThrow('input source must be valid Stream or Buffer instance');
    await new Promise((r) => setTimeout(r, 50));
    // (The temporary file may be left behind: see zip-race.test.ts.)
    expect((await readdir(dir)).filter((n) => !n.startsWith('b.zip.partial-'))).toEqual([]);
  });

  it('a destination directory that does not exist (or has vanished): rejected, nothing created', async () => {
    const dir = await tempDirIn('vanished');
    const gone = join(dir, 'gone');
    await mkdir(gone);
    await rm(gone, { recursive: true });
    await expect(writeBundleZip(join(gone, 'b.zip'), files())).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a destination that is a directory: the rename fails, the directory is untouched, the temporary file removed', async () => {
    const dir = await tempDirIn('isdir');
    await mkdir(join(dir, 'b.zip'));
    await writeFile(join(dir, 'b.zip', 'keep'), 'k');
    await expect(writeBundleZip(join(dir, 'b.zip'), files())).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['b.zip']);
    expect(await readdir(join(dir, 'b.zip'))).toEqual(['keep']);
  });

  it('an existing destination file is replaced whole (renamed over), never appended to', async () => {
    const dir = await tempDirIn('replace');
    const out = join(dir, 'b.zip');
    await writeFile(out, Buffer.alloc(100_000, 0x41));
    await writeBundleZip(out, files());
    const fresh = join(dir, 'fresh.zip');
    await writeBundleZip(fresh, files());
    expect((await readFile(out)).equals(await readFile(fresh))).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['b.zip', 'fresh.zip']);
  });
});

async function tempDirIn(name: string): Promise<string> {
  const d = join(root, 'fail', name);
  await mkdir(d, { recursive: true });
  return d;
}
