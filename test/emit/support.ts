/**
 * Shared material for the emitter tests: the CLI through main() with a
 * capturing Io, temporary folders, an independent reading of zip headers
 * (central directory and local headers, written here from APPNOTE, not from
 * src/bundle), and an independent computation of the §7.3 entry hash.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Io } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { publicKeyObject } from '../../src/crypto/ed25519.js';
import { testSigner } from '../helpers/fixtures.js';
import { JObj, parseJsonText } from '../../src/json/strict.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `egress-verify …` in process, colour off, output captured. */
export async function cli(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), color: false };
  const code = await main(['node', 'egress-verify', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Receipts of the fixtures are dated 2026-04-15; verify them at a fixed clock. */
export const NOW = ['--now', '2026-04-15T12:30:00Z'];
export const START = '2026-04-15T12:00:00Z';

/** The test signer as signer.key (PKCS#8 PEM) and signer.pub (SPKI PEM) in `root`. */
export async function writeSignerFiles(root: string): Promise<{ key: string; pub: string }> {
  const key = join(root, 'signer.key');
  const pub = join(root, 'signer.pub');
  await writeFile(key, testSigner.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  await writeFile(pub, publicKeyObject(testSigner.publicKeyHex).export({ format: 'pem', type: 'spki' }).toString());
  return { key, pub };
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `egress-verify-emit-${prefix}-`));
}

/** Every file under `dir` (recursive) with its bytes, for "nothing changed" assertions. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string): Promise<void> {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[r + '/'] = 'dir';
        await walk(p, r);
      } else out[r] = (await readFile(p)).toString('base64') + ` mode=${((await stat(p)).mode & 0o777).toString(8)}`;
    }
  }
  await walk(dir, '');
  return out;
}

export function jsonLines(text: string): string[] {
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** The §7.2 member names of a line, in the order written. */
export function memberOrder(line: string): string[] {
  const p = parseJsonText(line);
  if (!p.ok || !(p.value instanceof JObj)) throw new Error(`not a JSON object: ${line.slice(0, 80)}`);
  return [...p.value.keys];
}

/** The exact source text of a line's `detail` value. */
export function detailText(line: string): string {
  const p = parseJsonText(line);
  if (!p.ok || !(p.value instanceof JObj)) throw new Error('not a JSON object');
  const [s, e] = p.value.span('detail')!;
  return line.slice(s, e);
}

/**
 * The §7.3 v2 entry hash computed from the spec's table, for lines whose
 * `ts` is already UTC-rendered (the emitter's contract): v, seq, ts,
 * session_id, trace_id, type, event_kind, transport, summary, detail bytes,
 * raw_ref, prev_hash, joined by NUL.
 */
export function specEntryHash(line: string): string {
  const o = JSON.parse(line) as Record<string, unknown>;
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : '');
  const seqText = /"seq":(\d+)/.exec(line)![1]!;
  const fields = [String(o.v), seqText, s('ts'), s('session_id'), s('trace_id'), s('type'), s('event_kind'), s('transport'), s('summary'), detailText(line), s('raw_ref'), s('prev_hash')];
  return createHash('sha256').update(fields.join('\u0000'), 'utf8').digest('hex');
}

export function sha256hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------
// Zip headers, read straight from the bytes (APPNOTE 4.3.7, 4.3.12, 4.3.16).

export interface CentralEntry {
  name: string;
  versionMadeBy: number;
  flags: number;
  method: number;
  dosTime: number;
  dosDate: number;
  crc: number;
  compressedSize: number;
  size: number;
  extraLength: number;
  commentLength: number;
  externalAttributes: number;
  localOffset: number;
  local: { dosTime: number; dosDate: number; flags: number; method: number; nameLength: number; extraLength: number; name: string };
}

export function readCentralDirectory(zip: Buffer): { entries: CentralEntry[]; comment: string } {
  let eocd = -1;
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  const commentLength = zip.readUInt16LE(eocd + 20);
  const entries: CentralEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central header at ${p}`);
    const nameLength = zip.readUInt16LE(p + 28);
    const extraLength = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLength).toString('utf8');
    if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const lNameLength = zip.readUInt16LE(localOffset + 26);
    entries.push({
      name,
      versionMadeBy: zip.readUInt16LE(p + 4),
      flags: zip.readUInt16LE(p + 8),
      method: zip.readUInt16LE(p + 10),
      dosTime: zip.readUInt16LE(p + 12),
      dosDate: zip.readUInt16LE(p + 14),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      extraLength,
      commentLength: commentLen,
      externalAttributes: zip.readUInt32LE(p + 38),
      localOffset,
      local: {
        flags: zip.readUInt16LE(localOffset + 6),
        method: zip.readUInt16LE(localOffset + 8),
        dosTime: zip.readUInt16LE(localOffset + 10),
        dosDate: zip.readUInt16LE(localOffset + 12),
        nameLength: lNameLength,
        extraLength: zip.readUInt16LE(localOffset + 28),
        name: zip.subarray(localOffset + 30, localOffset + 30 + lNameLength).toString('utf8'),
      },
    });
    p += 46 + nameLength + extraLength + commentLen;
  }
  return { entries, comment: zip.subarray(eocd + 22, eocd + 22 + commentLength).toString('utf8') };
}

/** MS-DOS date word for 1980-01-01: (0 << 9) | (1 << 5) | 1. */
export const DOS_DATE_1980_01_01 = 0x0021;
