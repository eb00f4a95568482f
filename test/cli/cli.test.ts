/**
 * The command line through main(argv, io): exit codes, the --json report,
 * key and policy flags, keygen, the conformance runner on generated and on
 * the shared corpus, and the §11 reference files.
 */
import { copyFile, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endorsementDigest, endorsementJson, parseEndorsement } from '../../src/chain/endorsement.js';
import type { Io } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { loadPrivateKey, loadPublicKey } from '../../src/crypto/keys.js';
import { signActionRecord, signerFrom } from '../../src/emit/receipt.js';
import { toJson } from '../../src/report/json-out.js';
import { ChainBuilder, endorsementText, jsonl, receiptHash, receiptsOfRecorder, RUN_B, OPEN_B } from '../helpers/chains.js';
import { bareChain, baseRecord, decisions, haveShared, otherSigner, recorderChain, shared, signed, testSigner } from '../helpers/fixtures.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), color: false };
  const code = await main(['node', 'egress-verify', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/** Parses stdout as exactly one JSON value (JSON.parse fails on a second one). */
function json(r: Run): Record<string, unknown> {
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const K1 = testSigner.publicKeyHex;
const K2 = otherSigner.publicKeyHex;
const NOW = ['--now', '2026-04-15T12:00:00Z'];

let root: string;
let chainFile: string;
let badChainFile: string;
let receiptFile: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'egress-verify-cli-'));
  chainFile = join(root, 'chain.jsonl');
  badChainFile = join(root, 'bad.jsonl');
  receiptFile = join(root, 'receipt.json');
  const c = bareChain(3);
  await writeFile(chainFile, jsonl(c));
  await writeFile(badChainFile, jsonl([c[0]!, c[2]!]));
  await writeFile(receiptFile, signed());
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('verify: exit codes and the report', () => {
  it('exits 0 for a valid chain and prints a text report without colour codes', async () => {
    const r = await cli('verify', chainFile, '--pubkey', K1, ...NOW);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('VALID  3 receipts verified against the pinned key')).toBe(true);
    expect(r.stdout).not.toContain('\u001b[');
    expect(r.stderr).toBe('');
  });

  it('exits 1 for an invalid chain and says what, where and what to do', async () => {
    const r = await cli('verify', badChainFile, '--pubkey', K1, ...NOW);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(/^INVALID {2}chain_break — /);
    expect(r.stdout).toContain('where: ' + badChainFile + ' line 2 (receipt 1, chain_seq 2)');
    expect(r.stdout).toContain('hint:');
  });

  it('exits 2 for a missing path, with an error report', async () => {
    const p = join(root, 'missing.jsonl');
    const r = await cli('verify', p, '--pubkey', K1, '--json');
    expect(r.code).toBe(2);
    const j = json(r);
    expect({ verdict: j.verdict, reason: j.reason, kind: j.kind, where: j.where }).toEqual({ verdict: 'error', reason: null, kind: null, where: { file: p } });
  });

  it('exits 64 on a usage error: unknown flag, missing argument, unknown command option', async () => {
    expect((await cli('verify', chainFile, '--no-such-flag')).code).toBe(64);
    expect((await cli('verify')).code).toBe(64);
    expect((await cli('keygen')).code).toBe(64);
  });

  it('prints help and version with exit 0, and needs a path (exit 64)', async () => {
    const h = await cli('--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Exit codes:');
    expect(h.stdout).toContain('64  usage error');
    const v = await cli('--version');
    expect({ code: v.code, stdout: v.stdout }).toEqual({ code: 0, stdout: '0.1.0\n' });
    const none = await cli();
    expect(none.code).toBe(64);
    expect(none.stderr).toContain("missing required argument 'path'");
    expect(none.stdout).toBe('');
  });

  it('treats `egress-verify <path>` as `egress-verify verify <path>`', async () => {
    for (const f of [chainFile, badChainFile, receiptFile]) {
      const a = await cli(f, '--pubkey', K1, ...NOW, '--json');
      const b = await cli('verify', f, '--pubkey', K1, ...NOW, '--json');
      expect(a).toEqual(b);
    }
    const t = await cli(badChainFile, '--pubkey', K1, ...NOW);
    expect(t.code).toBe(1);
    expect(t.stdout).toBe((await cli('verify', badChainFile, '--pubkey', K1, ...NOW)).stdout);
  });

  it('--json prints exactly one JSON object with the §9.9 members', async () => {
    const r = await cli('verify', chainFile, '--pubkey', K1, ...NOW, '--json');
    expect(r.code).toBe(0);
    const j = json(r);
    for (const k of ['verdict', 'reason', 'message', 'where', 'kind', 'receipt_count', 'final_seq', 'root_hash', 'signer_keys', 'trusted']) expect(j, k).toHaveProperty(k);
    expect(j).not.toHaveProperty('unpinned');
    const c = bareChain(3);
    expect({ verdict: j.verdict, reason: j.reason, where: j.where, kind: j.kind, receipt_count: j.receipt_count, final_seq: j.final_seq, root_hash: j.root_hash, signer_keys: j.signer_keys, trusted: j.trusted }).toEqual({
      verdict: 'valid',
      reason: null,
      where: null,
      kind: 'chain',
      receipt_count: 3,
      final_seq: 2,
      root_hash: receiptHash(c[2]!),
      signer_keys: [K1],
      trusted: true,
    });
    expect(r.stdout.trim().startsWith('{')).toBe(true);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    const bad = json(await cli('verify', badChainFile, '--pubkey', K1, ...NOW, '--json'));
    expect({ verdict: bad.verdict, reason: bad.reason, receipt_count: bad.receipt_count, final_seq: bad.final_seq, root_hash: bad.root_hash, signer_keys: bad.signer_keys, trusted: bad.trusted }).toEqual({
      verdict: 'invalid',
      reason: 'chain_break',
      receipt_count: null,
      final_seq: null,
      root_hash: null,
      signer_keys: [],
      trusted: false,
    });
    expect(bad.where).toEqual({ file: badChainFile, line: 2, index: 1, chain_seq: 2 });
  });

  it('writes final_seq and chain_seq as exact JSON integers beyond 2^53', async () => {
    // A lone receipt has no chain rules (§6.6), so its chain_seq may be 2^64 − 1.
    const f = join(root, 'max-seq.json');
    await writeFile(f, signed({ chain_seq: 18446744073709551615n }));
    const r = await cli('verify', f, '--pubkey', K1, ...NOW, '--json');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/"final_seq": 18446744073709551615,/);
    expect(toJson({ a: 2n ** 64n - 1n, b: [9007199254740993n], c: -5n, d: 'x' }, 0)).toBe('{"a":18446744073709551615,"b":[9007199254740993],"c":-5,"d":"x"}');
    // The same in `where` of a rejection.
    const g = join(root, 'max-seq-future.json');
    await writeFile(g, signed({ chain_seq: 9007199254740993n, timestamp: '2030-01-01T00:00:00Z' }));
    const bad = await cli('verify', g, '--pubkey', K1, ...NOW, '--json');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/"chain_seq": 9007199254740993\b/);
    expect(json(bad).reason).toBe('timestamp_in_future');
  });
});

// ---------------------------------------------------------------------------

describe('verify: keys and policy flags', () => {
  it('rejects a bad --pubkey with exit 64 and a message, before reading the input', async () => {
    const r = await cli('verify', join(root, 'missing.jsonl'), '--pubkey', 'abc123');
    expect(r.code).toBe(64);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('egress-verify: --pubkey "abc123"');
    expect(r.stderr).toContain('as hex it has 6 characters, a key has 64');
  });

  it('accepts --key as an alias of --pubkey (and names it in errors)', async () => {
    const a = await cli('verify', chainFile, '--key', K1, ...NOW, '--json');
    const b = await cli('verify', chainFile, '--pubkey', K1, ...NOW, '--json');
    expect(a).toEqual(b);
    expect(a.code).toBe(0);
    const bad = await cli('verify', chainFile, '--key', 'zz');
    expect(bad.code).toBe(64);
  });

  it('accepts repeated --pubkey (and mixed --pubkey/--key) for a rotated chain', async () => {
    const b = new ChainBuilder().openG1().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add();
    const f = join(root, 'rotated.jsonl');
    await writeFile(f, b.jsonl());
    expect((await cli('verify', f, '--pubkey', K1, ...NOW)).code).toBe(1);
    const two = await cli('verify', f, '--pubkey', K1, '--pubkey', K2, ...NOW, '--json');
    expect(two.code).toBe(0);
    expect(json(two).signer_keys).toEqual([K1, K2]);
    expect((await cli('verify', f, '--pubkey', K1, '--key', K2, ...NOW)).code).toBe(0);
    // The Pipelock text form and a key file are other spellings of the same key.
    const pub = join(root, 'k2.pub');
    await writeFile(pub, `pipelock-ed25519-public-v1\n${Buffer.from(K2, 'hex').toString('base64')}\n`);
    expect((await cli('verify', f, '--pubkey', K1.toUpperCase(), '--pubkey', pub, ...NOW)).code).toBe(0);
  });

  it('verifies an endorsed rotation with --rotation-endorsement and --session-id', async () => {
    const b = new ChainBuilder().openG1().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add();
    const f = join(root, 'endorsed.jsonl');
    await writeFile(f, b.jsonl());
    const e = join(root, 'endorsement.json');
    await writeFile(e, endorsementText(testSigner, { sessionId: 'proxy', priorFinalSeq: 1n, priorTailHash: b.hashes[1]!, newSignerKey: K2 }));
    const ok = await cli('verify', f, '--pubkey', K1, '--rotation-endorsement', e, ...NOW, '--json');
    expect({ code: ok.code, trusted: json(ok).trusted }).toEqual({ code: 0, trusted: true });
    // With endorsements, every session_open must name the configured session (§6.7): a binding failure is chain_break.
    const other = await cli('verify', f, '--pubkey', K1, '--rotation-endorsement', e, '--session-id', 'elsewhere', ...NOW, '--json');
    expect({ code: other.code, reason: json(other).reason, index: (json(other).where as { index: number }).index }).toEqual({ code: 1, reason: 'chain_break', index: 0 });
    expect(json(other).message).toContain('is not the configured recorder session "elsewhere"');
    // A malformed endorsement file is a verification failure with the input reason.
    const broken = join(root, 'broken-endorsement.json');
    await writeFile(broken, '{"version":1,"version":1}');
    const bad = await cli('verify', f, '--pubkey', K1, '--rotation-endorsement', broken, ...NOW, '--json');
    expect({ code: bad.code, reason: json(bad).reason }).toEqual({ code: 1, reason: 'duplicate_key' });
  });

  it('refuses --rotation-endorsement without --pubkey (exit 64)', async () => {
    const r = await cli('verify', chainFile, '--rotation-endorsement', join(root, 'endorsement.json'));
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--rotation-endorsement needs a pinned root key');
    expect(r.stdout).toBe('');
  });

  it.each([['--max-age', 'forever'], ['--max-age', '10x'], ['--max-future-skew', '-5s'], ['--now', 'yesterday'], ['--now', '2026-04-15 12:00:00Z']])('rejects %s %j with exit 64', async (flag, value) => {
    const r = await cli('verify', chainFile, '--pubkey', K1, flag, value);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(flag);
    expect(r.stdout).toBe('');
  });

  it('applies --max-age and --max-future-skew at their inclusive boundaries', async () => {
    const f = join(root, 'old.json');
    await writeFile(f, signed({ timestamp: '2025-04-15T12:00:00Z' }));
    expect((await cli('verify', f, '--pubkey', K1, ...NOW, '--max-age', '8760h')).code).toBe(0);
    const r = await cli('verify', f, '--pubkey', K1, ...NOW, '--max-age', '8759h', '--json');
    expect({ code: r.code, reason: json(r).reason }).toEqual({ code: 1, reason: 'expired' });
    const g = join(root, 'ahead.json');
    await writeFile(g, signed({ timestamp: '2026-04-15T12:05:00Z' }));
    expect((await cli('verify', g, '--pubkey', K1, ...NOW)).code).toBe(0); // default skew 300 s
    const s = await cli('verify', g, '--pubkey', K1, ...NOW, '--max-future-skew', '299s', '--json');
    expect({ code: s.code, reason: json(s).reason }).toEqual({ code: 1, reason: 'timestamp_in_future' });
  });

  it('without --pubkey reports no_trust_anchor (exit 1); --allow-unpinned accepts as UNPINNED, trusted false', async () => {
    const r = await cli('verify', chainFile, ...NOW, '--json');
    expect({ code: r.code, verdict: json(r).verdict, reason: json(r).reason, trusted: json(r).trusted }).toEqual({ code: 1, verdict: 'invalid', reason: 'no_trust_anchor', trusted: false });
    const u = await cli('verify', chainFile, ...NOW, '--allow-unpinned', '--json');
    expect({ code: u.code, verdict: json(u).verdict, reason: json(u).reason, trusted: json(u).trusted }).toEqual({ code: 0, verdict: 'valid', reason: null, trusted: false });
    const t = await cli('verify', chainFile, ...NOW, '--allow-unpinned');
    expect(t.stdout.startsWith('VALID (UNPINNED)')).toBe(true);
    expect(t.stdout).toContain('UNPINNED: no public key was pinned');
  });
});

// ---------------------------------------------------------------------------

describe('keygen', () => {
  it('writes NAME.key (mode 0600) and NAME.pub, prints hex and the text form, and the pair works', async () => {
    const d = await mkdtemp(join(root, 'keys-'));
    const out = join(d, 'signer');
    const r = await cli('keygen', '--out', out);
    expect(r.code).toBe(0);
    expect((await stat(`${out}.key`)).mode & 0o777).toBe(0o600);
    const pub = await loadPublicKey(`${out}.pub`);
    expect(pub.source).toBe('pem-spki');
    expect(r.stdout).toContain(`public key (hex): ${pub.hex}\n`);
    expect(r.stdout).toContain(`pipelock-ed25519-public-v1\n${Buffer.from(pub.hex, 'hex').toString('base64')}\n`);
    expect(r.stdout).toMatch(/^wrote .*signer\.key \(private, mode 0600\) and .*signer\.pub\n/);
    // Sign with the new key, verify with its .pub.
    const signer = signerFrom(await loadPrivateKey(`${out}.key`));
    expect(signer.publicKeyHex).toBe(pub.hex);
    const f = join(d, 'r.json');
    await writeFile(f, signActionRecord(baseRecord(), signer).json);
    expect((await cli('verify', f, '--pubkey', `${out}.pub`, ...NOW)).code).toBe(0);
    expect((await cli('verify', f, '--pubkey', K1, ...NOW)).code).toBe(1);
  });

  it('refuses to overwrite: exit 2, nothing written or changed', async () => {
    const d = await mkdtemp(join(root, 'keys-'));
    const out = join(d, 'k');
    expect((await cli('keygen', '--out', out)).code).toBe(0);
    const before = [await readFile(`${out}.key`), await readFile(`${out}.pub`)];
    const again = await cli('keygen', '--out', out);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists; nothing was written');
    expect(again.stdout).toBe('');
    expect([await readFile(`${out}.key`), await readFile(`${out}.pub`)]).toEqual(before);
    // Only the .pub exists: the .key must not be left behind.
    const half = join(d, 'half');
    await writeFile(`${half}.pub`, 'existing');
    const r = await cli('keygen', '--out', half);
    expect(r.code).toBe(2);
    expect((await readdir(d)).sort()).toEqual(['half.pub', 'k.key', 'k.pub']);
    expect(await readFile(`${half}.pub`, 'utf8')).toBe('existing');
  });
});

// ---------------------------------------------------------------------------

describe('conformance on a generated corpus', () => {
  let corpus: string;

  beforeAll(async () => {
    corpus = await mkdtemp(join(root, 'corpus-'));
    for (const c of ['golden', 'malicious', 'edge']) await mkdir(join(corpus, c));
    await writeFile(join(corpus, 'test-key.json'), JSON.stringify({ public_key_hex: K1 }));
    const put = (cat: string, name: string, ext: string, body: string, expect: Record<string, unknown>) =>
      Promise.all([writeFile(join(corpus, cat, `${name}.${ext}`), body), writeFile(join(corpus, cat, `${name}.expect.json`), JSON.stringify({ fixture_id: name, category: cat, ...expect }, null, 2))]);
    const one = signed();
    await put('golden', 'g01-receipt', 'json', one, { input_format: 'receipt', verdict: 'accept', expected_root_hash: receiptHash(one), expected_signer_key: K1 });
    const chain = bareChain(3);
    await put('golden', 'g02-chain', 'jsonl', jsonl(chain), { input_format: 'chain', verdict: 'accept', expected_chain_length: 3, expected_root_hash: receiptHash(chain[2]!) });
    const rec = recorderChain(decisions(2));
    await put('golden', 'g03-recorder', 'jsonl', jsonl(rec), { input_format: 'recorder', verdict: 'accept', expected_chain_length: 4, expected_root_hash: receiptHash(receiptsOfRecorder(rec)[3]!) });
    // verifier_config: another pinned key, another clock.
    const late = signed({ timestamp: '2030-01-01T00:00:00Z' }, otherSigner);
    await put('golden', 'g04-config', 'json', late, { input_format: 'receipt', verdict: 'accept', verifier_config: { pinned_keys: [K2], now: '2030-01-01T00:00:00Z' } });
    // verifier_config: an endorsed rotation in a recorder fixture, bound to its session.
    const rot = new ChainBuilder().openG1().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add();
    await writeFile(join(corpus, 'golden', 'rot-endorsement.json'), endorsementText(testSigner, { sessionId: 'proxy', priorFinalSeq: 1n, priorTailHash: rot.hashes[1]!, newSignerKey: K2 }));
    await put('golden', 'g05-rotation', 'jsonl', jsonl(rot.receipts), { input_format: 'chain', verdict: 'accept', expected_chain_length: 4, verifier_config: { rotation_endorsements: ['rot-endorsement.json'], recorder_session_id: 'proxy' } });
    await put('malicious', 'm01-chain-break', 'jsonl', jsonl([chain[0]!, chain[2]!]), { input_format: 'chain', verdict: 'reject', reject_reason: 'chain_break' });
    const tampered = one.replace('"verdict":"allow"', '"verdict":"block"');
    await put('malicious', 'm02-tampered', 'json', tampered, { input_format: 'receipt', verdict: 'reject', reject_reason: 'body_tampered' });
    const recBroken = [...rec];
    recBroken[1] = recBroken[1]!.replace('"summary":"receipt: allow read forward"', '"summary":"x"');
    await put('malicious', 'm03-recorder', 'jsonl', jsonl(recBroken), { input_format: 'recorder', verdict: 'reject', reject_reason: 'chain_break' });
    await put('malicious', 'm04-bundle', 'json', `{"declared_receipt_count":2,"receipts":[${chain[0]}]}`, { input_format: 'receipt_bundle', verdict: 'reject', reject_reason: 'receipt_count_mismatch' });
    await put('edge', 'e01-old', 'json', signed({ timestamp: '2025-04-15T12:00:00Z' }), { input_format: 'receipt', verdict: 'accept' });
    await put('edge', 'e02-config-age', 'json', signed({ timestamp: '2025-04-15T12:00:00Z' }), { input_format: 'receipt', verdict: 'reject', reject_reason: 'expired', verifier_config: { max_age: 3600 } });
  });

  it('passes every fixture: a table, then "N passed, M failed", exit 0', async () => {
    const r = await cli('conformance', corpus);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toBe('11 passed, 0 failed');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('golden/g04-config');
    expect(r.stdout).toContain('reject body_tampered');
  });

  it('--json gives {total, passed, failed, results} with one entry per fixture', async () => {
    const r = await cli('conformance', corpus, '--json');
    expect(r.code).toBe(0);
    const j = json(r) as { total: number; passed: number; failed: number; results: Record<string, unknown>[] };
    expect({ total: j.total, passed: j.passed, failed: j.failed }).toEqual({ total: 11, passed: 11, failed: 0 });
    expect(j.results.map((x) => `${x.category}/${x.fixture_id}`)).toEqual([
      'golden/g01-receipt',
      'golden/g02-chain',
      'golden/g03-recorder',
      'golden/g04-config',
      'golden/g05-rotation',
      'malicious/m01-chain-break',
      'malicious/m02-tampered',
      'malicious/m03-recorder',
      'malicious/m04-bundle',
      'edge/e01-old',
      'edge/e02-config-age',
    ]);
    expect(j.results[6]).toEqual({
      fixture_id: 'm02-tampered',
      category: 'malicious',
      input_format: 'receipt',
      expected_verdict: 'reject',
      expected_reason: 'body_tampered',
      actual_verdict: 'reject',
      actual_reason: 'body_tampered',
      pass: true,
    });
  });

  it('exits 1 and counts the failure when an expectation is wrong', async () => {
    const copy = await mkdtemp(join(root, 'corpus-bad-'));
    await cp(corpus, copy, { recursive: true });
    const p = join(copy, 'malicious', 'm01-chain-break.expect.json');
    const e = JSON.parse(await readFile(p, 'utf8'));
    e.reject_reason = 'replay_detected';
    await writeFile(p, JSON.stringify(e));
    const q = join(copy, 'golden', 'g02-chain.expect.json');
    const g = JSON.parse(await readFile(q, 'utf8'));
    g.expected_chain_length = 4;
    await writeFile(q, JSON.stringify(g));
    const r = await cli('conformance', copy);
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('9 passed, 2 failed');
    expect(r.stdout).toContain('reason chain_break, expected replay_detected');
    expect(r.stdout).toContain('chain length 3, expected 4');
    const j = json(await cli('conformance', copy, '--json')) as { failed: number; results: { fixture_id: string; pass: boolean }[] };
    expect(j.failed).toBe(2);
    expect(j.results.filter((x) => !x.pass).map((x) => x.fixture_id)).toEqual(['g02-chain', 'm01-chain-break']);
  });

  it('exits 1 with a message for a directory that holds no corpus', async () => {
    const empty = await mkdtemp(join(root, 'corpus-empty-'));
    const r = await cli('conformance', empty, '--pubkey', K1);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no golden/, malicious/ or edge/ folder found');
  });

  it('needs a key: exit 64 without test-key.json or --pubkey; --pubkey overrides test-key.json', async () => {
    const copy = await mkdtemp(join(root, 'corpus-nokey-'));
    await cp(corpus, copy, { recursive: true });
    await rm(join(copy, 'test-key.json'));
    const r = await cli('conformance', copy);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('no trusted key');
    expect((await cli('conformance', copy, '--pubkey', K1)).code).toBe(0);
    const wrong = await cli('conformance', corpus, '--pubkey', K2);
    expect(wrong.code).toBe(1);
  });
});

// ---------------------------------------------------------------------------

const CORPUS = haveShared ? shared('reference', 'receipt-conformance-v0') : '';
const CORPUS_KEY = '890726e93f89e773fb3b4298271245a69c1884fd1003846c3358b8b65a2288fa';

describe.skipIf(!haveShared)('the shared public corpus (../shared present)', () => {
  it('scores 40 passed, 0 failed', async () => {
    const r = await cli('conformance', CORPUS);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('40 passed, 0 failed');
    expect(r.code).toBe(0);
  });

  it('plain verify under the conformance flags gives every fixture its expected accept/reject (and reason, except m11/m15)', async () => {
    const fixtures: { cat: string; name: string; input: string; expect: { verdict: string; reject_reason?: string } }[] = [];
    for (const cat of ['golden', 'edge', 'malicious']) {
      const names = await readdir(join(CORPUS, cat));
      for (const e of names.filter((n) => n.endsWith('.expect.json')).sort()) {
        const base = e.slice(0, -'.expect.json'.length);
        const input = names.find((n) => n === `${base}.json` || n === `${base}.jsonl`)!;
        fixtures.push({ cat, name: base, input: join(CORPUS, cat, input), expect: JSON.parse(await readFile(join(CORPUS, cat, e), 'utf8')) });
      }
    }
    expect(fixtures).toHaveLength(40);
    for (const f of fixtures) {
      const r = await cli('verify', f.input, '--pubkey', CORPUS_KEY, '--now', '2026-04-15T12:00:00Z', '--max-age', '8760h', '--max-future-skew', '900s', '--json');
      const j = json(r);
      const verdict = j.verdict === 'valid' ? 'accept' : 'reject';
      expect({ f: f.name, verdict, code: r.code }).toEqual({ f: f.name, verdict: f.expect.verdict, code: verdict === 'accept' ? 0 : 1 });
      if (f.expect.verdict === 'reject') {
        // m11/m15 need the registry of other fixtures (§9.7); alone they are plain signature failures.
        const want = /^m1[15]-/.test(f.name) ? 'signature_invalid' : f.expect.reject_reason;
        expect({ f: f.name, reason: j.reason }).toEqual({ f: f.name, reason: want });
      }
    }
  });
});

// ---------------------------------------------------------------------------

describe.skipIf(!haveShared)('§11 reference files (../shared present)', () => {
  const basic = (f: string) => shared('reference', 'pipelock-sdk-basic', f);
  const rot = (f: string) => shared('reference', 'pipelock-rotation', f);
  const ROOT_KEY = '4655a7e605c12ebb00a46037881c33c5bca5eb74b45a02e8e7261a7ff5a21678';

  it('valid-single.json verifies with root 9994a67b…', async () => {
    const r = await cli('verify', basic('valid-single.json'), '--pubkey', ROOT_KEY, ...NOW, '--json');
    const j = json(r);
    expect({ code: r.code, kind: j.kind, receipt_count: j.receipt_count, final_seq: j.final_seq, root_hash: j.root_hash, signer_keys: j.signer_keys, trusted: j.trusted }).toEqual({
      code: 0,
      kind: 'receipt',
      receipt_count: 1,
      final_seq: 0,
      root_hash: '9994a67b9cb324bae8d648b5baccd5d5403600b2bc5047a40d0355a610f2dc44',
      signer_keys: [ROOT_KEY],
      trusted: true,
    });
  });

  it('valid-chain.jsonl verifies: root be904bd5…, 5 receipts, final_seq 4 (key given as its test-key.json file)', async () => {
    const r = await cli('verify', basic('valid-chain.jsonl'), '--pubkey', basic('test-key.json'), ...NOW, '--json');
    const j = json(r);
    expect({ code: r.code, kind: j.kind, receipt_count: j.receipt_count, final_seq: j.final_seq, root_hash: j.root_hash }).toEqual({
      code: 0,
      kind: 'recorder',
      receipt_count: 5,
      final_seq: 4,
      root_hash: 'be904bd5ca82adc26c2969872c23925f22ff24e33faf44a1185b9ffc0e2c2b5a',
    });
  });

  it('invalid-signature.json → signature_invalid; broken-chain.jsonl → chain_break at chain_seq 3', async () => {
    const a = await cli('verify', basic('invalid-signature.json'), '--pubkey', ROOT_KEY, ...NOW, '--json');
    expect({ code: a.code, reason: json(a).reason }).toEqual({ code: 1, reason: 'signature_invalid' });
    const b = await cli('verify', basic('broken-chain.jsonl'), '--pubkey', ROOT_KEY, ...NOW, '--json');
    const j = json(b);
    expect({ code: b.code, reason: j.reason }).toEqual({ code: 1, reason: 'chain_break' });
    expect((j.where as { chain_seq: number; index: number }).chain_seq).toBe(3);
    expect((j.where as { chain_seq: number; index: number }).index).toBe(3);
  });

  it('both rotated chains verify with the root key, session conformance-session and their endorsements', async () => {
    const twice = await cli(
      'verify',
      rot('g1-rotated-twice-valid.jsonl'),
      '--pubkey',
      rot('test-key.json'),
      '--rotation-endorsement',
      rot('g1-rotation-endorsement.json'),
      '--rotation-endorsement',
      rot('g1-rotation-endorsement-2.json'),
      '--session-id',
      'conformance-session',
      ...NOW,
      '--json',
    );
    const t = json(twice);
    expect({ code: twice.code, receipt_count: t.receipt_count, root_hash: t.root_hash, trusted: t.trusted, keys: (t.signer_keys as string[]).map((k) => k.slice(0, 8)) }).toEqual({
      code: 0,
      receipt_count: 9,
      root_hash: 'eac0a75a58ab7e7a6a324aedb7cb6e0802999060f573088b60ca8fdff6d6d8b6',
      trusted: true,
      keys: ['4655a7e6', '97095569', '54a17337'],
    });
    const cc = await cli('verify', rot('g1-rotated-close-count-valid.jsonl'), '--pubkey', ROOT_KEY, '--rotation-endorsement', rot('g1-rotation-endorsement.json'), '--session-id', 'conformance-session', ...NOW, '--json');
    const c = json(cc);
    expect({ code: cc.code, receipt_count: c.receipt_count, root_hash: c.root_hash }).toEqual({ code: 0, receipt_count: 6, root_hash: 'f41965657ef61c3f7fb79cd850fd8d80b4ab3d6752ccaf26675ab1c05a6ac066' });
    // The session id defaults to the first entry's session_id.
    const dflt = await cli('verify', rot('g1-rotated-close-count-valid.jsonl'), '--pubkey', ROOT_KEY, '--rotation-endorsement', rot('g1-rotation-endorsement.json'), ...NOW);
    expect(dflt.code).toBe(0);
    // A second endorsement that the shorter chain never uses is a truncation signal.
    const extra = await cli('verify', rot('g1-rotated-close-count-valid.jsonl'), '--pubkey', ROOT_KEY, '--rotation-endorsement', rot('g1-rotation-endorsement.json'), '--rotation-endorsement', rot('g1-rotation-endorsement-2.json'), ...NOW, '--json');
    expect({ code: extra.code, reason: json(extra).reason }).toEqual({ code: 1, reason: 'chain_break' });
    // Bound to another session, the endorsements do not apply.
    const wrong = await cli('verify', rot('g1-rotated-close-count-valid.jsonl'), '--pubkey', ROOT_KEY, '--rotation-endorsement', rot('g1-rotation-endorsement.json'), '--session-id', 'proxy', ...NOW, '--json');
    expect(wrong.code).toBe(1);
  });

  it('the twice-rotated chain without endorsements fails at the first boundary as signer_key_untrusted', async () => {
    const r = await cli('verify', rot('g1-rotated-twice-valid.jsonl'), '--pubkey', ROOT_KEY, ...NOW, '--json');
    const j = json(r);
    expect({ code: r.code, reason: j.reason, index: (j.where as { index: number }).index, chain_seq: (j.where as { chain_seq: number }).chain_seq }).toEqual({
      code: 1,
      reason: 'signer_key_untrusted',
      index: 3,
      chain_seq: 0,
    });
  });

  it('the worked example evidence.jsonl verifies with root 17d51943… under key 4655a7e6…', async () => {
    const f = shared('reference', 'audit-packet-v0', 'worked-example-3-receipts', 'evidence.jsonl');
    const r = await cli('verify', f, '--pubkey', ROOT_KEY, '--now', '2026-05-10T12:00:00Z', '--json');
    const j = json(r);
    expect({ code: r.code, receipt_count: j.receipt_count, final_seq: j.final_seq, root_hash: j.root_hash, signer_keys: j.signer_keys }).toEqual({
      code: 0,
      receipt_count: 3,
      final_seq: 2,
      root_hash: '17d51943178c2720cdc9d437274350758efb9b5853440ea2f42f6b687778580c',
      signer_keys: [ROOT_KEY],
    });
  });

  it('reproduces the §11.6 endorsement digests 9abe6f39… and 4057d00b…', async () => {
    const one = parseEndorsement(await readFile(rot('g1-rotation-endorsement.json')));
    const two = parseEndorsement(await readFile(rot('g1-rotation-endorsement-2.json')));
    if (!one.ok || !two.ok) throw new Error('endorsement did not parse');
    expect(endorsementJson(one.endorsement)).toBe(
      '{"version":1,"session_id":"conformance-session","prior_signer_key":"4655a7e605c12ebb00a46037881c33c5bca5eb74b45a02e8e7261a7ff5a21678","prior_final_seq":2,"prior_tail_hash":"4f2e18befefd0e43f1522e5d5d095adaed5459c80329145d7bc0d6dfd60a11eb","new_signer_key":"970955695494cf0fb3109671e673ecaeb0a161e834861a325b97b0656e3c9cd1","rotated_at":"2026-04-15T12:00:10Z"}',
    );
    expect(endorsementDigest(one.endorsement).toString('hex')).toBe('9abe6f39e626fa97255efb538d693069d7ee19f2a71410f0e59a2db59cd7106c');
    expect(endorsementDigest(two.endorsement).toString('hex')).toBe('4057d00b502691a975ab8a0518ebeb25a5512394a86d31dc55aa730d986e987b');
    // A copy with one signed field changed no longer authenticates.
    const text = (await readFile(rot('g1-rotation-endorsement.json'), 'utf8')).replace('"prior_final_seq": 2', '"prior_final_seq": 3');
    const tampered = parseEndorsement(Buffer.from(text));
    expect(tampered.ok ? 'ok' : tampered.reason).toBe('signature_invalid');
  });

  it('copies of the reference files behave the same from another directory (detection is by name and content)', async () => {
    const d = await mkdtemp(join(root, 'ref-'));
    await copyFile(basic('valid-chain.jsonl'), join(d, 'evidence-conformance-session-0.jsonl'));
    const r = await cli('verify', d, '--pubkey', ROOT_KEY, ...NOW, '--json');
    const j = json(r);
    expect({ code: r.code, kind: j.kind, root_hash: j.root_hash, sessions: (j.sessions as { session_id: string }[]).map((s) => s.session_id) }).toEqual({
      code: 0,
      kind: 'recorder',
      root_hash: 'be904bd5ca82adc26c2969872c23925f22ff24e33faf44a1185b9ffc0e2c2b5a',
      sessions: ['conformance-session'],
    });
  });
});
