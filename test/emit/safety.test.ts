/**
 * Safety of the emitter's outputs through main(): nothing is overwritten
 * without --force (exit 64, bytes unchanged), keygen never overwrites and
 * keeps the private key 0600, key and input problems are usage errors that
 * name the key file or the decision line, and nothing half-written is left.
 *
 * The last block holds the emitter bugs found while writing these tests:
 * each test asserts the correct behaviour and is marked `it.fails`, so the
 * suite stays green while the bug exists and turns red once it is fixed
 * (then drop the `.fails`).
 */
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPrivateKey, loadPublicKey } from '../../src/crypto/keys.js';
import { signerFrom } from '../../src/emit/receipt.js';
import { decisions } from '../helpers/fixtures.js';
import { cli, jsonLines, NOW, snapshot, START, tempDir, writeSignerFiles } from './support.js';

let root: string;
let key: string;
let pub: string;
let decisionsFile: string;
let recordFile: string;
let evidence: string;
let packetDir: string;

const RECORD = {
  version: 1,
  action_id: 'r-1',
  action_type: 'read',
  timestamp: '2026-04-15T12:00:00Z',
  principal: 'p',
  actor: 'a',
  delegation_chain: null,
  target: 'https://example.com/',
  side_effect_class: 'external_read',
  reversibility: 'full',
  policy_hash: '',
  verdict: 'allow',
  transport: 'https',
  chain_prev_hash: 'genesis',
  chain_seq: 0,
};

function decisionLine(i: number): string {
  return JSON.stringify(decisions(i + 1)[i]);
}

beforeAll(async () => {
  root = await tempDir('safety');
  ({ key, pub } = await writeSignerFiles(root));
  decisionsFile = join(root, 'decisions.jsonl');
  await writeFile(decisionsFile, [0, 1, 2].map(decisionLine).join('\n') + '\n');
  recordFile = join(root, 'record.json');
  await writeFile(recordFile, JSON.stringify(RECORD));
  evidence = join(root, 'evidence.jsonl');
  expect((await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', evidence, '--start', START)).code).toBe(0);
  packetDir = join(root, 'packet');
  expect((await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', packetDir)).code).toBe(0);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function noPartials(dir: string): Promise<void> {
  expect((await readdir(dir)).filter((n) => n.includes('.partial-'))).toEqual([]);
}

// ---------------------------------------------------------------------------

describe('no overwriting without --force', () => {
  it('emit receipt --out: exit 64 and the file unchanged; --force replaces it with a verifiable receipt', async () => {
    const out = join(root, 'r.json');
    await writeFile(out, 'precious');
    const r = await cli('emit', 'receipt', '--key', key, '--in', recordFile, '--out', out);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`egress-verify: ${out} already exists (use --force to replace it)\n`);
    expect(await readFile(out, 'utf8')).toBe('precious');
    expect((await cli('emit', 'receipt', '--key', key, '--in', recordFile, '--out', out, '--force')).code).toBe(0);
    expect((await cli(out, '--pubkey', pub, ...NOW)).code).toBe(0);
    await noPartials(root);
  });

  it('emit chain --out: exit 64 and the file unchanged; --force replaces it', async () => {
    const out = join(root, 'c.jsonl');
    await writeFile(out, 'precious');
    const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', out, '--start', START);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`egress-verify: ${out} already exists (use --force to replace it)\n`);
    expect(await readFile(out, 'utf8')).toBe('precious');
    expect((await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', out, '--start', START, '--force')).code).toBe(0);
    expect((await cli(out, '--pubkey', pub, ...NOW)).code).toBe(0);
    await noPartials(root);
  });

  it('emit chain rotation: an existing evidence-<session>-0.jsonl in the directory is not replaced', async () => {
    const dir = join(root, 'rot');
    await mkdir(dir);
    await writeFile(join(dir, 'evidence-proxy-0.jsonl'), 'precious');
    const before = await snapshot(dir);
    const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', dir, '--max-entries-per-file', '2');
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`egress-verify: ${dir} already holds evidence files of session proxy (evidence-proxy-0.jsonl…); use --force to replace them\n`);
    expect(await snapshot(dir)).toEqual(before);
  });

  it('emit bundle --out: exit 64 and the zip unchanged; --force replaces it with one that verifies', async () => {
    const out = join(root, 'b.zip');
    await writeFile(out, 'precious');
    const r = await cli('emit', 'bundle', '--packet', packetDir, '--out', out);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`egress-verify: ${out} already exists (use --force to replace it)\n`);
    expect(await readFile(out, 'utf8')).toBe('precious');
    expect((await cli('emit', 'bundle', '--packet', packetDir, '--out', out, '--force')).code).toBe(0);
    expect((await cli(out, '--pubkey', pub, ...NOW)).code).toBe(0);
    await noPartials(root);
  });

  it('emit packet --out: a non-empty directory is refused (exit 64, unchanged); an empty one is used; --force rewrites the four files and leaves others alone', async () => {
    const dir = join(root, 'pk');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'mine');
    const before = await snapshot(dir);
    const r = await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', dir);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`egress-verify: ${dir} exists and is not empty (use --force)\n`);
    expect(await snapshot(dir)).toEqual(before);

    const forced = await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', dir, '--force');
    expect(forced.code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['evidence.jsonl', 'notes.txt', 'packet.json', 'summary.md', 'verifier.txt']);
    expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect((await cli(dir, '--pubkey', pub, ...NOW)).code).toBe(0);

    const emptyDir = join(root, 'pk-empty');
    await mkdir(emptyDir);
    expect((await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', emptyDir)).code).toBe(0);
    expect((await readdir(emptyDir)).sort()).toEqual(['evidence.jsonl', 'packet.json', 'summary.md', 'verifier.txt']);
  });

  it('emit packet refuses a bad --provider or --exit-code (exit 64) before writing', async () => {
    const dir = join(root, 'pk-bad-flags');
    const a = await cli('emit', 'packet', '--evidence', evidence, '--out', dir, '--provider', 'jenkins');
    expect([a.code, a.stderr]).toEqual([64, 'egress-verify: --provider jenkins: expected local, github_actions or self_hosted\n']);
    const b = await cli('emit', 'packet', '--evidence', evidence, '--out', dir, '--exit-code', '1.5');
    expect([b.code, b.stderr]).toEqual([64, 'egress-verify: --exit-code 1.5: expected an integer\n']);
    await expect(readdir(dir)).rejects.toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------------------

describe('keygen', () => {
  it('writes NAME.key (0600, PKCS#8) and NAME.pub (SPKI); the pair signs and verifies through emit and verify', async () => {
    const name = join(root, 'fresh');
    const r = await cli('keygen', '--out', name);
    expect(r.code).toBe(0);
    expect((await stat(`${name}.key`)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${name}.key`, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    expect(await readFile(`${name}.pub`, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const hex = (await loadPublicKey(`${name}.pub`)).hex;
    expect(signerFrom(await loadPrivateKey(`${name}.key`)).publicKeyHex).toBe(hex);
    expect(r.stdout).toBe(`wrote ${name}.key (private, mode 0600) and ${name}.pub\npublic key (hex): ${hex}\npublic key (Pipelock text form):\npipelock-ed25519-public-v1\n${Buffer.from(hex, 'hex').toString('base64')}\n`);
    const out = join(root, 'fresh-receipt.json');
    expect((await cli('emit', 'receipt', '--key', `${name}.key`, '--in', recordFile, '--out', out)).code).toBe(0);
    expect((await cli(out, '--pubkey', `${name}.pub`, ...NOW)).code).toBe(0);
    expect((await cli(out, '--pubkey', pub, ...NOW)).code).toBe(1);
  });

  it('never overwrites: exit 2, both files unchanged, and no .key left behind when only the .pub existed', async () => {
    const name = join(root, 'twice');
    expect((await cli('keygen', '--out', name)).code).toBe(0);
    const before = [await readFile(`${name}.key`, 'utf8'), await readFile(`${name}.pub`, 'utf8')];
    const again = await cli('keygen', '--out', name);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`egress-verify keygen: ${name}.key already exists; nothing was written (choose another --out)\n`);
    expect([await readFile(`${name}.key`, 'utf8'), await readFile(`${name}.pub`, 'utf8')]).toEqual(before);
    const half = join(root, 'halfpair');
    await writeFile(`${half}.pub`, 'existing');
    const h = await cli('keygen', '--out', half);
    expect(h.code).toBe(2);
    expect(h.stderr).toBe(`egress-verify keygen: ${half}.pub already exists; nothing was written (choose another --out)\n`);
    await expect(stat(`${half}.key`)).rejects.toThrow(/ENOENT/);
    expect(await readFile(`${half}.pub`, 'utf8')).toBe('existing');
  });
});

// ---------------------------------------------------------------------------

describe('key problems are usage errors (exit 64) with a message', () => {
  it('missing --key, a missing file, a public key, and a file that is no key', async () => {
    await writeFile(join(root, 'garbage.key'), 'not a key\n');
    const cases: [string[], string][] = [
      [[], "error: required option '--key <NAME.key>' not specified\n"],
      [['--key', join(root, 'absent.key')], `egress-verify: --key "${join(root, 'absent.key')}": cannot read the private key file (no such file)\n`],
      [['--key', pub], `egress-verify: --key "${pub}": file holds a PEM block of type "PUBLIC KEY", expected a PRIVATE KEY (PKCS#8) Ed25519 key (this is a public key; signing needs the .key file)\n`],
      [['--key', join(root, 'garbage.key')], `egress-verify: --key "${join(root, 'garbage.key')}": file is not a PEM private key; expected a PKCS#8 "PRIVATE KEY" block as written by egress-verify keygen\n`],
    ];
    for (const [flags, message] of cases) {
      const out = join(root, 'never-written.json');
      const r = await cli('emit', 'receipt', ...flags, '--in', recordFile, '--out', out);
      expect([flags, r.code, r.stderr.startsWith(message)]).toEqual([flags, 64, true]);
      await expect(stat(out)).rejects.toThrow(/ENOENT/);
      const c = await cli('emit', 'chain', ...flags, '--in', decisionsFile, '--out', out);
      expect([flags, c.code, c.stderr.startsWith(message)]).toEqual([flags, 64, true]);
      await expect(stat(out)).rejects.toThrow(/ENOENT/);
    }
  });
});

describe('bad decision lines are usage errors naming the line', () => {
  const cases: [string, string[], string][] = [
    ['not JSON (line 3, after a blank line 2)', [decisionLine(0), '', '{"action_type":"read",}'], 'line 3: expected a string key (line 1, column 23)'],
    ['a missing required member (line 2)', [decisionLine(0), JSON.stringify({ action_type: 'read', verdict: 'allow', transport: 'forward' })], 'line 2: action record rejected (missing_required_field) at /action_record/target: required member "target" is missing from action_record'],
    ['a missing verdict (line 1)', [JSON.stringify({ action_type: 'read', target: 'https://x/', transport: 'forward' })], 'line 1: action record rejected (missing_required_field) at /action_record/verdict: required member "verdict" is missing from action_record'],
    ['an unknown member (line 2)', [decisionLine(0), JSON.stringify({ ...decisions(1)[0], colour: 'red' })], 'line 2: action record rejected (unknown_field) at /action_record/colour: unknown member "colour" in action_record; only the signed schema\'s members (and "ext" at the top level) are allowed'],
    ['not an object (line 1)', ['[1,2]'], 'line 1: expected a JSON object'],
    ['a duplicate member (line 1)', ['{"action_type":"read","action_type":"write","target":"https://x/","verdict":"allow","transport":"f"}'], 'line 1: duplicate key "action_type" (line 1, column 23)'],
  ];
  for (const [what, lines, message] of cases) {
    it(`${what}: exit 64, nothing written`, async () => {
      const inFile = join(root, `bad-${what.replace(/\W+/g, '-')}.jsonl`);
      await writeFile(inFile, lines.join('\n') + '\n');
      const out = join(root, 'never.jsonl');
      const r = await cli('emit', 'chain', '--key', key, '--in', inFile, '--out', out);
      expect(r.code).toBe(64);
      expect(r.stderr).toBe(`egress-verify: ${inFile} ${message}\n`);
      await expect(stat(out)).rejects.toThrow(/ENOENT/);
    });
  }
});

// ---------------------------------------------------------------------------

describe('emitter input and output safety', () => {
  // BUG 1: integers above 2^53 in an input record are rounded through Number
  // (asRecord → toPlain) before signing; receipts-v1 §3.7 says uint64 members
  // such as chain_seq may legally exceed 2^53 and must be kept exactly.
  it('emit receipt keeps chain_seq 9007199254740993 exactly (signed as …992 today)', async () => {
    const inFile = join(root, 'big.json');
    await writeFile(inFile, JSON.stringify({ ...RECORD, chain_prev_hash: 'a'.repeat(64) }).replace('"chain_seq":0', '"chain_seq":9007199254740993'));
    const r = await cli('emit', 'receipt', '--key', key, '--in', inFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"chain_seq":9007199254740993}');
  });

  it('emit receipt accepts chain_seq 18446744073709551615 (2^64−1; "out of range" today)', async () => {
    const inFile = join(root, 'max.json');
    await writeFile(inFile, JSON.stringify({ ...RECORD, chain_prev_hash: 'a'.repeat(64) }).replace('"chain_seq":0', '"chain_seq":18446744073709551615'));
    const r = await cli('emit', 'receipt', '--key', key, '--in', inFile);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"chain_seq":18446744073709551615}');
  });

  // BUG 2: `emit bundle --force` removes the existing zip before it knows the
  // new one can be written (rm, then writeBundleDir); writeBundleZip already
  // renames over the target, so the rm is not needed.
  it('emit bundle --force keeps the old zip when the new bundle cannot be made', async () => {
    const out = join(root, 'keep.zip');
    await writeFile(out, 'old bundle');
    const empty = join(root, 'empty-packet');
    await mkdir(empty);
    const r = await cli('emit', 'bundle', '--packet', empty, '--out', out, '--force');
    expect(r.code).toBe(64);
    expect(await readFile(out, 'utf8')).toBe('old bundle');
  });

  // BUG 3: the packet flags are copied into packet.json unchecked, so the
  // emitter writes (exit 0) a packet that fails the v0 schema.
  it('emit packet refuses --started-at that is not RFC 3339 (or writes a packet that verifies)', async () => {
    const dir = join(root, 'pk-started');
    const r = await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', dir, '--started-at', 'yesterday');
    if (r.code === 0) expect((await cli(dir, '--pubkey', pub, ...NOW)).code).toBe(0);
    else expect(r.code).toBe(64);
  });

  it('emit packet refuses an empty --agent (or writes a packet that verifies)', async () => {
    const dir = join(root, 'pk-agent');
    const r = await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', dir, '--agent', '');
    if (r.code === 0) expect((await cli(dir, '--pubkey', pub, ...NOW)).code).toBe(0);
    else expect(r.code).toBe(64);
  });

  // BUG 4: file-system errors on inputs and outputs escape main() as raw
  // exceptions (the bin shim prints "internal error" with a stack) instead of
  // a one-line message and exit 2 / 64.
  it('emit packet --out naming an existing regular file: a message and exit 64 (ENOTDIR thrown today)', async () => {
    const f = join(root, 'a-file');
    await writeFile(f, 'x');
    const r = await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--out', f);
    expect(r.code).toBe(64);
    expect(await readFile(f, 'utf8')).toBe('x');
  });

  it('emit packet --evidence naming a missing file: a message and exit 2 or 64 (ENOENT thrown today)', async () => {
    const missing = join(root, 'missing.jsonl');
    const r = await cli('emit', 'packet', '--evidence', missing, '--out', join(root, 'pk-missing'));
    expect([2, 64]).toContain(r.code);
    expect(r.stderr).toContain(missing);
  });

  it('emit receipt --in naming a missing file: a message and exit 2 or 64 (ENOENT thrown today)', async () => {
    const missing = join(root, 'missing.json');
    const r = await cli('emit', 'receipt', '--key', key, '--in', missing);
    expect([2, 64]).toContain(r.code);
    expect(r.stderr).toContain(missing);
  });

  it('emit chain --in naming a missing file: a message and exit 2 or 64 (ENOENT thrown today)', async () => {
    const missing = join(root, 'missing-decisions.jsonl');
    const r = await cli('emit', 'chain', '--key', key, '--in', missing, '--out', join(root, 'never-chain.jsonl'));
    expect([2, 64]).toContain(r.code);
    expect(r.stderr).toContain(missing);
  });

  it('emit bundle --packet naming a missing directory: a message and exit 2 or 64 (ENOENT thrown today)', async () => {
    const missing = join(root, 'no-such-packet');
    const r = await cli('emit', 'bundle', '--packet', missing, '--out', join(root, 'never.zip'));
    expect([2, 64]).toContain(r.code);
    expect(r.stderr).toContain(missing);
  });

  // BUG 5: rotation with --force overwrites only the names of this run; files
  // of an earlier run with another --max-entries-per-file stay, and the
  // directory then mixes two runs (verification: replay_detected).
  it('emit chain rotation with --force leaves a directory that verifies', async () => {
    const dir = join(root, 'rot-force');
    expect((await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', dir, '--max-entries-per-file', '2', '--start', START)).code).toBe(0);
    expect((await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', dir, '--max-entries-per-file', '3', '--start', START, '--force')).code).toBe(0);
    expect((await cli(dir, '--pubkey', pub, ...NOW)).code).toBe(0);
  });

  // BUG 6: rotation without --force checks each name only when it gets to
  // it: a clash on a later file leaves the earlier files of the run behind.
  it('emit chain rotation refused because of a later file leaves no new file behind', async () => {
    const dir = join(root, 'rot-clash');
    await mkdir(dir);
    await writeFile(join(dir, 'evidence-proxy-2.jsonl'), 'precious');
    const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', dir, '--max-entries-per-file', '2');
    expect(r.code).toBe(64);
    expect(await readdir(dir)).toEqual(['evidence-proxy-2.jsonl']);
  });

  // BUG 7: an empty decisions file with --profile legacy writes a file holding
  // a single LF (no receipts) and exits 0; that file does not verify.
  it('emit chain --profile legacy with no decisions refuses, or writes something that verifies', async () => {
    const empty = join(root, 'no-decisions.jsonl');
    await writeFile(empty, '');
    const out = join(root, 'empty-chain.jsonl');
    const r = await cli('emit', 'chain', '--key', key, '--in', empty, '--out', out, '--profile', 'legacy');
    if (r.code === 0) expect((await cli(out, '--pubkey', pub, ...NOW)).code).toBe(0);
    else expect(r.code).toBe(64);
  });

  // BUG 8: --start keeps milliseconds only: the first record is not dated
  // --start when it has more fractional digits.
  it('emit chain --start with nanoseconds dates the first record exactly --start', async () => {
    const out = join(root, 'nanos.jsonl');
    expect((await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', out, '--profile', 'legacy', '--start', '2026-04-15T12:00:00.123456789Z')).code).toBe(0);
    const first = JSON.parse(jsonLines(await readFile(out, 'utf8'))[0]!);
    expect(first.detail.action_record.timestamp).toBe('2026-04-15T12:00:00.123456789Z');
  });
});
