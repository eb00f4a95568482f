/**
 * Audit Packet v0 verification end to end (spec/audit-packet-v0.md §3, §4,
 * §6, §7): the worked example as a directory, a packet.json path and two zip
 * layouts, every case of its cases.json, the parse/number/duplicate hygiene,
 * artifact resolution, hostile zips through the CLI, and evidence streamed
 * from a zip entry. Everything runs through `main()` unless a test is about
 * one step.
 */
import { createPublicKey } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ED25519_SPKI_PREFIX, sha256Hex } from '../../src/crypto/ed25519.js';
import { RecorderChainWriter } from '../../src/emit/chain.js';
import { recorderLine } from '../../src/emit/recorder.js';
import { exceedsSafeMagnitude } from '../../src/packet/verify.js';
import { openPacketSource } from '../../src/packet/source.js';
import { goTimestamp } from '../../src/receipt/time.js';
import { verifyJsonl } from '../../src/verify/chain-input.js';
import { verifyOptions } from '../../src/verify/options.js';
import { decisions, haveShared, memFile, shared, T0, testSigner } from '../helpers/fixtures.js';
import { buildZip, deflatedZeros, type EntrySpec } from '../helpers/zip-builder.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const WORKED = shared('reference', 'audit-packet-v0', 'worked-example-3-receipts');
const WORKED_FILES = ['packet.json', 'evidence.jsonl', 'summary.md', 'verifier.txt'];
const KEY = '4655a7e605c12ebb00a46037881c33c5bca5eb74b45a02e8e7261a7ff5a21678';
const ROOT = '17d51943178c2720cdc9d437274350758efb9b5853440ea2f42f6b687778580c';
/** A fixed clock just after the worked example, so no run depends on the machine's date. */
const NOW = '2026-05-11T00:00:00Z';

interface CliResult {
  code: number;
  out: string;
  err: string;
  report: Json;
}

async function cli(...args: string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await main(['node', 'egress-verify', ...args, '--now', NOW], { stdout: (s) => (out += s), stderr: (s) => (err += s), color: false });
  return { code, out, err, report: args.includes('--json') && out ? JSON.parse(out) : undefined };
}

let tmp: string;
let pem: string;
let counter = 0;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'ev-packet-'));
  // The worked example's key as an SPKI PEM file: the form `--pubkey key.pem` takes in CI.
  const der = Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(KEY, 'hex')]);
  pem = join(tmp, 'signer.pem');
  writeFileSync(pem, createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fresh(name: string): string {
  const dir = join(tmp, `${name}-${++counter}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------------------
// Mutations as cases.json describes them

function tokens(pointer: string): string[] {
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function setPointer(doc: Json, pointer: string, value: unknown): void {
  const path = tokens(pointer);
  let node = doc;
  for (const t of path.slice(0, -1)) node = node[t];
  node[path[path.length - 1]!] = value;
}

function removePointer(doc: Json, pointer: string): void {
  const path = tokens(pointer);
  let node = doc;
  for (const t of path.slice(0, -1)) node = node[t];
  delete node[path[path.length - 1]!];
}

interface Mutation {
  set?: Record<string, unknown>;
  remove?: string[];
  evidence_replace?: [string, string];
  evidence_truncate?: boolean;
}

/** A fresh copy of the worked example with a cases.json mutation applied. */
function workedCopy(m: Mutation = {}, name = 'worked'): string {
  const dir = fresh(name);
  for (const f of WORKED_FILES) copyFileSync(join(WORKED, f), join(dir, f));
  if (m.set || m.remove) {
    const packet = JSON.parse(readFileSync(join(dir, 'packet.json'), 'utf8'));
    for (const [p, v] of Object.entries(m.set ?? {})) setPointer(packet, p, v);
    for (const p of m.remove ?? []) removePointer(packet, p);
    writeFileSync(join(dir, 'packet.json'), JSON.stringify(packet, null, 2) + '\n');
  }
  if (m.evidence_replace) {
    const ev = readFileSync(join(dir, 'evidence.jsonl'), 'utf8');
    const [from, to] = m.evidence_replace;
    expect(ev.includes(from)).toBe(true);
    writeFileSync(join(dir, 'evidence.jsonl'), ev.replace(from, to));
  }
  if (m.evidence_truncate) writeFileSync(join(dir, 'evidence.jsonl'), '');
  return dir;
}

/** The files of a bundle directory as a zip: flat, or under one top-level folder. */
function zipOf(dir: string, layout: 'flat' | 'folder', extra: EntrySpec[] = []): string {
  const prefix = layout === 'folder' ? 'pipelock-audit-packet/' : '';
  const entries: EntrySpec[] = layout === 'folder' ? [{ name: prefix }] : [];
  for (const f of WORKED_FILES) entries.push({ name: prefix + f, data: readFileSync(join(dir, f)) });
  const path = join(tmp, `bundle-${++counter}.zip`);
  writeFileSync(path, buildZip([...entries, ...extra]));
  return path;
}

// ---------------------------------------------------------------------------
// The worked example, every input form

describe.skipIf(!haveShared)('the worked example (skipped with a note when ../shared is missing)', () => {
  it('verifies as a directory with a PEM public key (exit 0, all checks pass)', async () => {
    const r = await cli(WORKED, '--pubkey', pem, '--json');
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ verdict: 'valid', reason: null, where: null, kind: 'audit_packet', receipt_count: 3, final_seq: 2, root_hash: ROOT, signer_keys: [KEY], trusted: true });
    const ap = r.report.audit_packet;
    expect(ap).toMatchObject({
      path: join(WORKED, 'packet.json'),
      verdict: 'valid',
      trusted: true,
      valid: true,
      schema_check: 'pass',
      chain_check: 'pass',
      cross_check: 'pass',
      lifecycle_assessment: 'assessed',
      lifecycle_status: 'UNVERIFIED',
      lifecycle_reason: 'no_lifecycle',
      counting: 'all receipts',
      summary: { receipt_count: 3, totals: { allow: 1, block: 1, warn: 1, ask: 0, strip: 0, forward: 0, redirect: 0, other: 0 } },
      posture: { enforcement_mode: 'linux_netns_iptables_setpriv' },
      run: { provider: 'local', agent_identity: 'worked-example-agent' },
    });
    expect(ap.errors).toBeUndefined();
    expect(ap.lifecycle_assessment_reason).toBeUndefined();
    // Producer claims are listed as claims, never folded into the verified facts.
    const fields = ap.unverified_claims.map((c: Json) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['run.provider', 'run.agent_identity', 'posture.enforcement_mode', 'posture.runner_os', 'policy.policy_hashes', 'summary.transports', 'verifier.signer_key']));
    expect(fields).not.toContain('summary.totals');
  });

  it('verifies given the packet.json path', async () => {
    const r = await cli(join(WORKED, 'packet.json'), '--pubkey', pem, '--json');
    expect(r.code).toBe(0);
    expect(r.report.audit_packet).toMatchObject({ valid: true, schema_check: 'pass', chain_check: 'pass', cross_check: 'pass', path: join(WORKED, 'packet.json') });
  });

  it('verifies as a flat zip and as a one-folder zip', async () => {
    for (const layout of ['flat', 'folder'] as const) {
      const zip = zipOf(WORKED, layout);
      const r = await cli(zip, '--pubkey', pem, '--json');
      expect(r.code, layout).toBe(0);
      expect(r.report).toMatchObject({ verdict: 'valid', kind: 'audit_packet', receipt_count: 3, root_hash: ROOT, trusted: true });
      expect(r.report.audit_packet.path).toBe(`${zip}!/${layout === 'folder' ? 'pipelock-audit-packet/' : ''}packet.json`);
    }
  });

  it('renders the checks, the totals table, the chain summary and the unverified claims in text mode', async () => {
    const ok = await cli(WORKED, '--pubkey', pem);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^VALID/);
    expect(ok.out).toMatch(/schema\s*│\s*pass/);
    expect(ok.out).toMatch(/packet\s*│\s*3\s*│\s*1\s*│\s*1\s*│\s*1\s*│\s*0/);
    expect(ok.out).toMatch(/chain \(all receipts\)\s*│\s*3\s*│\s*1\s*│\s*1\s*│\s*1\s*│\s*0/);
    expect(ok.out).toContain(`root hash: ${ROOT}`);
    expect(ok.out).toContain('Unverified claims');
    expect(ok.out).toMatch(/run: .*agent_identity=worked-example-agent/);

    const bad = await cli(workedCopy({ set: { '/summary/totals/allow': 2, '/summary/totals/warn': 0 } }), '--pubkey', pem);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/^INVALID\s+cross_check_failed/);
    expect(bad.out).toMatch(/cross-check\s*│\s*fail\s*│\s*totals\[allow\]: chain=1 packet=2/);
    expect(bad.out).toContain('✗ cross-check: totals[warn]: chain=1 packet=0');

    const off = await cli(WORKED, '--offline');
    expect(off.out).toMatch(/chain\s*│\s*skipped\s*│\s*not run: --offline/);
  });

  it('rejects the wrong key, contradicting totals and an edited receipt (exit 1, check and reason named), in every input form', async () => {
    const variants: { name: string; dir: string; args: string[]; reason: string; failed: 'chain_check' | 'cross_check' }[] = [
      { name: 'wrong key', dir: WORKED, args: ['--pubkey', '0'.repeat(63) + '1'], reason: 'signer_key_untrusted', failed: 'chain_check' },
      { name: 'totals', dir: workedCopy({ set: { '/summary/totals/block': 0, '/summary/totals/other': 1 } }), args: ['--pubkey', pem], reason: 'cross_check_failed', failed: 'cross_check' },
      { name: 'edited receipt', dir: workedCopy({ evidence_replace: ['"target":"https://api.example.com/v1/items"', '"target":"https://api.example.com/v1/itemz"'] }), args: ['--pubkey', pem], reason: 'signature_invalid', failed: 'chain_check' },
    ];
    for (const v of variants) {
      const forms = [v.dir, zipOf(v.dir, 'flat'), zipOf(v.dir, 'folder')];
      for (const form of forms) {
        const r = await cli(form, ...v.args, '--json');
        expect(r.code, `${v.name}: ${form}`).toBe(1);
        expect(r.report.verdict).toBe('invalid');
        expect(r.report.reason, v.name).toBe(v.reason);
        expect(r.report.audit_packet[v.failed], v.name).toBe('fail');
        expect(r.report.audit_packet).toMatchObject({ valid: false, trusted: false, verdict: 'invalid' });
        expect(r.report.receipt_count).toBe(v.failed === 'chain_check' ? null : 3);
        expect(r.err).toContain(`verification failed: audit packet ${form}: ${v.reason}`);
      }
    }
  });

  it('names the zip entry in `where` for findings inside a zip', async () => {
    const dir = workedCopy({ set: { '/verifier/final_seq': 7 } });
    const r = await cli(zipOf(dir, 'folder'), '--pubkey', pem, '--json');
    expect(r.report.where).toMatchObject({ file: 'pipelock-audit-packet/packet.json', pointer: '/verifier/final_seq' });
    const edited = workedCopy({ evidence_replace: ['"verdict":"warn"', '"verdict":"allow"'] });
    const e = await cli(zipOf(edited, 'flat'), '--pubkey', pem, '--json');
    expect(e.report.where).toMatchObject({ file: 'evidence.jsonl', line: 3, chain_seq: 2 });
  });

  it('says when only a "sha256:" prefix separates the root hashes', async () => {
    const r = await cli(workedCopy({ set: { '/verifier/root_hash': `sha256:${ROOT}` } }), '--pubkey', pem, '--json');
    expect(r.report.reason).toBe('cross_check_failed');
    expect(r.report.message).toContain('prefix');
    expect(r.report.audit_packet.errors).toEqual([
      `cross-check: root_hash mismatch: chain=${ROOT} packet=sha256:${ROOT} (only the "sha256:" prefix differs: the root hash is compared as bare lowercase hex, exactly; write verifier.root_hash without the prefix)`,
      'packet not trusted',
    ]);
  });
});

// ---------------------------------------------------------------------------
// cases.json

/**
 * The references' `error_contains` wording mapped to egress-verify's own: the
 * top-level reason, and the facts (numbers, fields, flags) its message and
 * its `audit_packet.errors` must carry. Every case has a row.
 */
const CASE_MAP: Record<string, { reason: string | null; message?: string[]; errors?: string[] }> = {
  'ok-pinned-key': { reason: null },
  'ok-hash-anchored': { reason: null },
  // "requires --key or --expect-sha256"
  'no-trust-anchor': { reason: 'packet_not_trusted', message: ['--pubkey', '--expect-sha256'], errors: ['chain: trusted Audit Packet verification requires --pubkey or --expect-sha256'] },
  // "packet sha256 mismatch"
  'wrong-packet-hash': { reason: 'packet_sha256_mismatch', message: ['a'.repeat(64), '78ad91f3a37bc287bc7b0ebd3e7c9a2c24841f54ee290ff84acb1e55c9689e08'], errors: [`packet sha256 mismatch: got 78ad91f3a37bc287bc7b0ebd3e7c9a2c24841f54ee290ff84acb1e55c9689e08, want ${'a'.repeat(64)}`] },
  // "totals[allow]: chain=1 packet=2", "totals[warn]: chain=1 packet=0"
  'totals-shifted': { reason: 'cross_check_failed', message: ['totals[allow]', 'chain=1', 'packet=2'], errors: ['cross-check: totals[allow]: chain=1 packet=2', 'cross-check: totals[warn]: chain=1 packet=0'] },
  // "chain receipt_count 3 != packet.summary.receipt_count 4", "totals[other]: chain=0 packet=1"
  'receipt-count-inflated': { reason: 'cross_check_failed', message: ['receipt_count 3', 'receipt_count 4'], errors: ['cross-check: chain receipt_count 3 != packet.summary.receipt_count 4', 'cross-check: totals[other]: chain=0 packet=1'] },
  // "root_hash mismatch"
  'root-hash-with-sha256-prefix': { reason: 'cross_check_failed', message: ['root_hash', `sha256:${ROOT}`, 'prefix'], errors: [`cross-check: root_hash mismatch: chain=${ROOT} packet=sha256:${ROOT}`] },
  // "final_seq mismatch: chain=2 packet=3"
  'final-seq-wrong': { reason: 'cross_check_failed', message: ['final_seq', 'chain=2', 'packet=3'], errors: ['cross-check: final_seq mismatch: chain=2 packet=3'] },
  // "final_seq mismatch"
  'final-seq-present-zero': { reason: 'cross_check_failed', message: ['final_seq', 'chain=2', 'packet=0'], errors: ['cross-check: final_seq mismatch: chain=2 packet=0'] },
  // "verdict=invalid but chain re-verified successfully"
  'claims-invalid-but-chain-good': { reason: 'cross_check_failed', message: ['verdict=invalid'], errors: ['cross-check: verdict=invalid but chain re-verified successfully'] },
  // "packet not trusted"
  'claims-self-consistent-only': { reason: 'packet_not_trusted', message: ['self_consistent_only', '--allow-self-consistent-only'], errors: ['packet not trusted'] },
  'claims-self-consistent-only-accepted': { reason: null },
  // "seq 1: signature", "verdict=valid but chain rejected"
  'evidence-verdict-rewritten': { reason: 'signature_invalid', message: ['line 2', 'chain_seq 1', 'signature'], errors: ['chain: ', 'chain_seq 1', 'signature_invalid', 'cross-check: verdict=valid but chain rejected: signature_invalid', 'lifecycle: chain_broken'] },
  // "does not match expected key"
  'wrong-pinned-key': { reason: 'signer_key_untrusted', message: ['4655a7e6…1678', '00000000…0001', '--pubkey'], errors: ['chain: ', 'signer_key_untrusted'] },
  // "totals sum 7 does not match receipt_count 3"
  'totals-sum-mismatch': { reason: 'schema_invalid', message: ['sum to 7', 'receipt_count is 3'], errors: ['schema: /summary/totals'] },
  'evidence-path-traversal': { reason: 'schema_invalid', message: ['/artifacts/evidence', '".."'], errors: ['schema: /artifacts/evidence'] },
  // "additional properties"
  'unknown-field': { reason: 'schema_invalid', message: ['"domains"', 'not allowed'], errors: ['schema: /summary/domains'] },
  // "domains_touched"
  'domains-unsorted': { reason: 'schema_invalid', message: ['domains_touched'], errors: ['schema: /summary/domains_touched'] },
  // "verdict=valid requires trusted=true"
  'valid-but-not-trusted': { reason: 'schema_invalid', message: ['/verifier/trusted', 'must be true when verdict is "valid"'], errors: ['schema: /verifier/trusted'] },
  // "schema checked, trust unverified"
  offline: { reason: 'packet_not_trusted', message: ['--offline'], errors: ['schema checked, trust unverified: chain and signer were not verified'] },
  // "empty chain"
  'empty-evidence': { reason: 'malformed_json', message: ['empty chain'], errors: ['chain: ', 'empty chain'] },
};

const casesFile: Json = haveShared ? JSON.parse(readFileSync(join(WORKED, 'cases.json'), 'utf8')) : { cases: [] };

describe.skipIf(!haveShared)('cases.json, every case as the file describes it', () => {
  it('has a row in the error mapping for every case', () => {
    expect(Object.keys(CASE_MAP).sort()).toEqual(casesFile.cases.map((c: Json) => c.id).sort());
  });

  for (const c of casesFile.cases as Json[]) {
    it(c.id, async () => {
      const dir = workedCopy(c, c.id);
      const flags = (c.flags as string[]).map((f) => f.replace('$key', casesFile.key).replace('$packet_sha256', casesFile.packet_sha256));
      const r = await cli(dir, ...flags, '--json');
      expect(r.code, JSON.stringify(r.report, null, 1)).toBe(c.expect.exit);
      const ap = r.report.audit_packet;
      for (const [member, value] of Object.entries(c.expect)) {
        if (member === 'exit' || member === 'error_contains') continue;
        expect(ap[member], member).toEqual(value);
      }
      expect(r.report.verdict).toBe(c.expect.exit === 0 ? 'valid' : 'invalid');
      const row = CASE_MAP[c.id]!;
      expect(r.report.reason).toBe(row.reason);
      for (const fact of row.message ?? []) expect(r.report.message, `message of ${c.id}`).toContain(fact);
      const errors: string[] = ap.errors ?? [];
      for (const fact of row.errors ?? []) expect(errors.some((e) => e.includes(fact)), `errors of ${c.id} carry ${fact}: ${JSON.stringify(errors)}`).toBe(true);
      if (row.reason === null) expect(errors).toEqual([]);
    });
  }
});

// ---------------------------------------------------------------------------
// More of the steps

describe.skipIf(!haveShared)('steps 2–4: reading and parsing packet.json', () => {
  it('rejects a packet.json over 8 MiB as malformed_json (exit 1), in a directory and in a zip', async () => {
    const dir = workedCopy();
    const text = readFileSync(join(dir, 'packet.json'), 'utf8');
    writeFileSync(join(dir, 'packet.json'), text.replace(/\n$/, ' '.repeat(8 * 1024 * 1024) + '\n'));
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ verdict: 'invalid', reason: 'malformed_json', kind: 'audit_packet' });
    expect(r.report.message).toContain('8 MiB');
    expect(r.report.audit_packet).toMatchObject({ verdict: '', schema_check: 'skipped', chain_check: 'skipped', cross_check: 'skipped', valid: false });

    const zip = join(tmp, `big-${++counter}.zip`);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: readFileSync(join(dir, 'packet.json')), method: 0 }, { name: 'evidence.jsonl', data: readFileSync(join(WORKED, 'evidence.jsonl')) }]));
    const z = await cli(zip, '--pubkey', pem, '--json');
    expect(z.code).toBe(1);
    expect(z.report).toMatchObject({ reason: 'malformed_json', where: { file: 'packet.json' } });
    expect(z.report.message).toContain('8 MiB');
  });

  it('rejects a number beyond 2^53−1 (or one that overflows) as malformed_json', async () => {
    for (const big of ['9007199254740993', '-9007199254740992', '1e999', '9007199254740991.5']) {
      const dir = workedCopy();
      const text = readFileSync(join(dir, 'packet.json'), 'utf8');
      writeFileSync(join(dir, 'packet.json'), text.replace('"agent_exit_code": 0', `"agent_exit_code": ${big}`));
      const r = await cli(dir, '--pubkey', pem, '--json');
      expect(r.code, big).toBe(1);
      expect(r.report.reason, big).toBe('malformed_json');
      expect(r.report.where).toMatchObject({ pointer: "/run/agent_exit_code", line: 32 });
      expect(r.report.audit_packet.errors[0]).toMatch(/^packet json: /);
      expect(r.report.audit_packet.schema_check).toBe('skipped');
    }
  });

  it('decides the 2^53−1 boundary exactly', () => {
    expect(exceedsSafeMagnitude('9007199254740991')).toBe(false);
    expect(exceedsSafeMagnitude('-9007199254740991')).toBe(false);
    expect(exceedsSafeMagnitude('9007199254740991.0')).toBe(false);
    expect(exceedsSafeMagnitude('9.007199254740991e15')).toBe(false);
    expect(exceedsSafeMagnitude('90071992547409910e-1')).toBe(false);
    expect(exceedsSafeMagnitude('9007199254740991.4')).toBe(true);
    expect(exceedsSafeMagnitude('9007199254740992')).toBe(true);
    expect(exceedsSafeMagnitude('9.0071992547409911e15')).toBe(true);
    expect(exceedsSafeMagnitude('1e999')).toBe(true);
    expect(exceedsSafeMagnitude('1e-999')).toBe(false);
    expect(exceedsSafeMagnitude('0.5')).toBe(false);
  });

  it('rejects a duplicate member name as duplicate_key', async () => {
    const dir = workedCopy();
    const text = readFileSync(join(dir, 'packet.json'), 'utf8');
    writeFileSync(join(dir, 'packet.json'), text.replace('"runner_os": "Linux",', '"runner_os": "Linux",\n    "runner_os": "Windows",'));
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'duplicate_key', where: { pointer: '/posture/runner_os' } });
    expect(r.report.audit_packet.errors[0]).toMatch(/^packet json: /);
  });

  it('leaves a packet that is not a JSON object, or has the pre-schema legacy shape, to the schema check', async () => {
    const dir = workedCopy();
    writeFileSync(join(dir, 'packet.json'), '[]\n');
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'schema_invalid', where: { pointer: '', line: 1 } });
    expect(r.report.audit_packet).toMatchObject({ verdict: '', schema_check: 'fail', chain_check: 'skipped' });

    const legacy = workedCopy();
    const legacyPacket = { schema_version: 'pipelock.audit_packet.v0', receipt_count: 3, totals: { allow: 1, block: 1, warn: 1 }, policy_hashes: [], verifier: { verdict: 'valid', trusted: true, output_file: 'verifier.txt' }, posture: {} };
    writeFileSync(join(legacy, 'packet.json'), JSON.stringify(legacyPacket));
    const l = await cli(legacy, '--pubkey', pem, '--json');
    expect(l.report.reason).toBe('schema_invalid');
    expect(l.report.message).toContain('v0.1.0');
    expect(l.report.audit_packet.errors.length).toBeGreaterThan(3);
    expect(l.report.audit_packet.errors.every((e: string) => e.startsWith('schema: '))).toBe(true);
  });

  it('checks --expect-sha256 before parsing: a pinned but malformed packet reports the hash first', async () => {
    const dir = workedCopy();
    writeFileSync(join(dir, 'packet.json'), '{"broken":');
    const r = await cli(dir, '--expect-sha256', 'b'.repeat(64), '--json');
    expect(r.report.reason).toBe('packet_sha256_mismatch');
    const ok = await cli(dir, '--expect-sha256', `sha256:${sha256Hex(Buffer.from('{"broken":'))}`, '--json');
    expect(ok.report.reason).toBe('malformed_json');
  });

  it('treats a malformed --expect-sha256 as a usage error (exit 64)', async () => {
    const r = await cli(WORKED, '--expect-sha256', 'xyz');
    expect(r.code).toBe(64);
    expect(r.err).toContain('--expect-sha256');
  });
});

describe.skipIf(!haveShared)('steps 7–9: trust anchor and evidence resolution', () => {
  it('uses the packet key only with --no-trust-required, and then does not call the result trusted', async () => {
    const r = await cli(WORKED, '--no-trust-required', '--json');
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ verdict: 'valid', trusted: false });
    expect(r.report.audit_packet).toMatchObject({ valid: true, trusted: false, verdict: 'valid' });
  });

  it('refuses an unparsable packet signer_key chosen as the anchor (chain_check fail)', async () => {
    const dir = workedCopy({ set: { '/verifier/signer_key': './keys/signer.pub' } });
    const r = await cli(dir, '--no-trust-required', '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'packet_not_trusted', where: { pointer: '/verifier/signer_key' } });
    expect(r.report.audit_packet).toMatchObject({ chain_check: 'fail', cross_check: 'skipped', lifecycle_assessment: 'not_assessed' });
  });

  it('accepts the packet key in the Pipelock text form (with its embedded newline)', async () => {
    const text = `pipelock-ed25519-public-v1\n${Buffer.from(KEY, 'hex').toString('base64')}`;
    const dir = workedCopy({ set: { '/verifier/signer_key': text } });
    const sha = sha256Hex(readFileSync(join(dir, 'packet.json')));
    const r = await cli(dir, '--expect-sha256', sha, '--json');
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ verdict: 'valid', trusted: true });
  });

  it('rejects an evidence path that escapes the directory through a symlink (bundle_invalid) and accepts one that stays inside', async () => {
    const outside = fresh('outside');
    copyFileSync(join(WORKED, 'evidence.jsonl'), join(outside, 'evidence.jsonl'));
    const dir = workedCopy();
    unlinkSync(join(dir, 'evidence.jsonl'));
    symlinkSync(join(outside, 'evidence.jsonl'), join(dir, 'evidence.jsonl'));
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'bundle_invalid', where: { file: join(dir, 'evidence.jsonl'), pointer: '/artifacts/evidence' } });
    expect(r.report.message).toContain('symlink');
    expect(r.report.audit_packet).toMatchObject({ schema_check: 'pass', chain_check: 'fail', cross_check: 'skipped' });
    expect(r.report.audit_packet.errors[0]).toMatch(/^chain: /);

    const inside = workedCopy({ set: { '/artifacts/evidence': 'data/evidence.jsonl' } });
    mkdirSync(join(inside, 'data'));
    symlinkSync(join(inside, 'evidence.jsonl'), join(inside, 'data', 'evidence.jsonl'));
    expect((await cli(inside, '--pubkey', pem)).code).toBe(0);
  });

  it('does not mistake a symlinked packet directory for an escape', async () => {
    const link = join(tmp, `link-${++counter}`);
    symlinkSync(WORKED, link);
    const r = await cli(link, '--pubkey', pem, '--json');
    expect(r.code).toBe(0);
  });

  it('rejects a missing evidence file (bundle_invalid), in a directory and in a zip', async () => {
    const dir = workedCopy();
    unlinkSync(join(dir, 'evidence.jsonl'));
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report.reason).toBe('bundle_invalid');
    expect(r.report.message).toContain('names no file');

    const zip = join(tmp, `noev-${++counter}.zip`);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: readFileSync(join(WORKED, 'packet.json')) }]));
    const z = await cli(zip, '--pubkey', pem, '--json');
    expect(z.code).toBe(1);
    expect(z.report).toMatchObject({ reason: 'bundle_invalid', where: { file: 'evidence.jsonl' } });
  });

  it('warns (never fails) when the verifier and summary files named by artifacts are missing', async () => {
    const dir = workedCopy();
    unlinkSync(join(dir, 'summary.md'));
    unlinkSync(join(dir, 'verifier.txt'));
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(0);
    expect(r.report.audit_packet.warnings).toEqual([expect.stringContaining('artifacts.verifier'), expect.stringContaining('artifacts.summary')]);
  });

  it('rejects v2-only evidence as unsupported_version', async () => {
    const dir = workedCopy();
    const line = recorderLine({ seq: 0n, ts: '2026-05-10T12:00:00Z', sessionId: 's', type: 'evidence_receipt', transport: 'https', summary: 'evidence', detail: '{"version":2,"kind":"x"}' }, 'genesis').line;
    writeFileSync(join(dir, 'evidence.jsonl'), line + '\n');
    const r = await cli(dir, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report.reason).toBe('unsupported_version');
    expect(r.report.message).toContain('only EvidenceReceipt v2');
    expect(r.report.audit_packet).toMatchObject({ chain_check: 'fail', lifecycle_status: 'UNVERIFIED', lifecycle_reason: 'no_receipts' });
  });

  it('rejects empty evidence as malformed_json (empty chain)', async () => {
    const r = await cli(workedCopy({ evidence_truncate: true }), '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'malformed_json', receipt_count: null });
    expect(r.report.message).toContain('empty chain');
    // The cascade is grouped behind the chain failure, as the references list it.
    expect(r.report.audit_packet.errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^cross-check: the evidence chain did not verify/), 'cross-check: chain receipt_count 0 != packet.summary.receipt_count 3', 'packet not trusted']),
    );
  });
});

describe('exit 2: the bytes cannot be obtained', () => {
  it('reports a missing path as verdict error (exit 2)', async () => {
    const r = await cli(join(tmp, 'does-not-exist.zip'), '--pubkey', '0'.repeat(64), '--json');
    expect(r.code).toBe(2);
    expect(r.report).toMatchObject({ verdict: 'error', reason: null });
  });

  it('reports a packet.json that is not a regular file as verdict error with audit_packet null', async () => {
    const dir = fresh('notfile');
    mkdirSync(join(dir, 'packet.json'));
    const r = await cli(dir, '--pubkey', '0'.repeat(64), '--json');
    expect(r.code).toBe(2);
    expect(r.report).toMatchObject({ verdict: 'error', kind: 'audit_packet', audit_packet: null });
  });
});

// ---------------------------------------------------------------------------
// Hostile zips through the CLI

describe.skipIf(!haveShared)('hostile zips through the CLI', () => {
  const packet = () => readFileSync(join(WORKED, 'packet.json'));
  const evidence = () => readFileSync(join(WORKED, 'evidence.jsonl'));

  it('rejects a traversal entry: exit 1, bundle_invalid, the entry named', async () => {
    const zip = join(tmp, `traversal-${++counter}.zip`);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: packet() }, { name: 'evidence.jsonl', data: evidence() }, { name: '../../etc/cron.d/evil', data: 'x' }]));
    const r = await cli(zip, '--pubkey', pem, '--json');
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ verdict: 'invalid', reason: 'bundle_invalid', kind: 'audit_packet', where: { file: '../../etc/cron.d/evil' } });
    expect(r.report.message).toContain('../../etc/cron.d/evil');
    expect(r.report.audit_packet).toMatchObject({ verdict: '', schema_check: 'skipped', chain_check: 'skipped', cross_check: 'skipped', valid: false });
  });

  it('rejects a 2 GiB-declared bomb within seconds', async () => {
    const zip = join(tmp, `bomb-${++counter}.zip`);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: packet() }, { name: 'evidence.jsonl', method: 8, compressed: deflatedZeros(2048), size: 2 * 1024 * 1024 * 1024, crc: 0 }]));
    const t0 = performance.now();
    const r = await cli(zip, '--pubkey', pem, '--json');
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'bundle_invalid', where: { file: 'evidence.jsonl' } });
    expect(r.report.message).toMatch(/limit/);
  });

  it('stops a bomb that lies about its size as soon as the evidence stream passes the declared size', async () => {
    const zip = join(tmp, `liar-${++counter}.zip`);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: packet() }, { name: 'evidence.jsonl', method: 8, compressed: deflatedZeros(1024), size: 3000, crc: 0 }]));
    const t0 = performance.now();
    const r = await cli(zip, '--pubkey', pem, '--json');
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(r.code).toBe(1);
    expect(r.report).toMatchObject({ reason: 'bundle_invalid', where: { file: 'evidence.jsonl' } });
    expect(r.report.audit_packet).toMatchObject({ schema_check: 'pass', chain_check: 'fail' });
  });

  it('rejects a bad CRC in the evidence entry and an evidence path that leaves the bundle base', async () => {
    const zip = join(tmp, `crc-${++counter}.zip`);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: packet() }, { name: 'evidence.jsonl', data: evidence(), crc: 0x12345678 }]));
    const r = await cli(zip, '--pubkey', pem, '--json');
    expect(r.report).toMatchObject({ reason: 'bundle_invalid', where: { file: 'evidence.jsonl' } });
    expect(r.report.message).toContain('CRC');

    // Inside a one-folder zip, a sibling entry outside the base is never reachable.
    const p = JSON.parse(packet().toString('utf8'));
    p.artifacts.evidence = 'sub/../../evidence.jsonl';
    const esc = join(tmp, `escape-${++counter}.zip`);
    writeFileSync(esc, buildZip([{ name: 'b/packet.json', data: JSON.stringify(p) }, { name: 'b/evidence.jsonl', data: evidence() }]));
    const e = await cli(esc, '--pubkey', pem, '--json');
    expect(e.code).toBe(1);
    expect(e.report.reason).toBe('schema_invalid'); // the schema already forbids ".." segments
  });
});

// ---------------------------------------------------------------------------
// Generated chains: counting rules, lifecycle, streaming from a zip entry

interface Generated {
  evidence: string;
  packet: Json;
  all: number;
  control: number;
}

/** A session-profile recorder chain of `n` decisions and a packet describing it (counting rule A or B). */
async function generated(n: number, counting: 'A' | 'B', closed = true): Promise<Generated> {
  let t = Date.parse(T0);
  const w = new RecorderChainWriter(testSigner, { clock: () => goTimestamp(new Date((t += 1000))), runNonce: '0123456789abcdef0123456789abcdef', openNonce: 'fedcba9876543210fedcba9876543210' });
  const lines = [...w.open(), ...decisions(n).flatMap((d, i) => w.record({ ...d, verdict: i % 3 === 0 ? 'block' : 'allow' }))];
  if (closed) lines.push(...w.close());
  const evidence = lines.join('\n') + '\n';
  const chain = await verifyJsonl([memFile('evidence.jsonl', evidence)], verifyOptions({ pinnedKeys: [testSigner.publicKeyHex] }), 'recorder');
  expect(chain.verdict).toBe('valid');
  const all = chain.receipt_count!;
  const control = all - n;
  const block = Math.ceil(n / 3);
  // Session-control receipts carry verdict "allow": under rule A they are allow receipts too.
  const totals = { allow: n - block + (counting === 'A' ? control : 0), block, warn: 0, ask: 0, strip: 0, forward: 0, redirect: 0, other: 0 };
  const packet = {
    schema_version: 'pipelock.audit_packet.v0',
    generated_at: '2026-04-15T13:00:00Z',
    run: { provider: 'local', agent_identity: 'generated-agent', started_at: '2026-04-15T12:00:00Z' },
    policy: { policy_hashes: [] },
    summary: { receipt_count: counting === 'A' ? all : n, totals },
    verifier: { verdict: 'valid', trusted: true, signer_key: testSigner.publicKeyHex, root_hash: chain.root_hash, final_seq: Number(chain.final_seq) },
    posture: {
      enforcement_mode: 'test',
      runner_os: 'Linux',
      raw_socket_status: 'unknown',
      docker_socket_status: 'unknown',
      dns_udp_status: 'unknown',
      browser_proxy_status: 'unknown',
      websocket_frame_scanning: 'off',
      unsupported_paths: [],
    },
    artifacts: { packet: 'packet.json', evidence: 'evidence.jsonl', verifier: 'verifier.txt' },
  };
  return { evidence, packet, all, control };
}

function writeGenerated(g: Generated): string {
  const dir = fresh('gen');
  writeFileSync(join(dir, 'packet.json'), JSON.stringify(g.packet, null, 2) + '\n');
  writeFileSync(join(dir, 'evidence.jsonl'), g.evidence);
  writeFileSync(join(dir, 'verifier.txt'), 'generated\n');
  return dir;
}

describe('generated chains', () => {
  it('passes the count and totals under either counting rule and says which matched', async () => {
    const key = testSigner.publicKeyHex;
    const a = await generated(5, 'A');
    const ra = await cli(writeGenerated(a), '--pubkey', key, '--json');
    expect(ra.code).toBe(0);
    expect(ra.report.audit_packet).toMatchObject({ counting: 'all receipts', chain_counts: { receipt_count: a.all }, lifecycle_status: 'LIMITED', lifecycle_reason: 'bounded_closed' });

    const b = await generated(5, 'B');
    const rb = await cli(writeGenerated(b), '--pubkey', key, '--json');
    expect(rb.code).toBe(0);
    expect(rb.report.audit_packet).toMatchObject({ counting: 'without session-control receipts', chain_counts: { receipt_count: 5 } });
    expect(rb.report.receipt_count).toBe(b.all);

    // Mixed: the count of B with the totals of A matches neither; reported against A.
    const mixed = await generated(5, 'B');
    mixed.packet.summary.totals.allow += mixed.control;
    mixed.packet.summary.receipt_count = 5 + mixed.control - 1;
    mixed.packet.summary.totals.block -= 1;
    const rm = await cli(writeGenerated(mixed), '--pubkey', key, '--json');
    expect(rm.code).toBe(1);
    expect(rm.report.reason).toBe('cross_check_failed');
    expect(rm.report.audit_packet.counting).toBeNull();
    expect(rm.report.audit_packet.errors).toContain(`cross-check: chain receipt_count ${mixed.all} != packet.summary.receipt_count ${mixed.all - 1}`);
    expect(rm.report.audit_packet.errors).toContain(`cross-check: neither counting rule matches: every receipt gives ${mixed.all}, without the ${mixed.control} session-control receipts 5`);
  });

  it('assesses a session that never closed as LIMITED abnormal_end (still valid)', async () => {
    const g = await generated(3, 'A', false);
    const r = await cli(writeGenerated(g), '--pubkey', testSigner.publicKeyHex, '--json');
    expect(r.code).toBe(0);
    expect(r.report.audit_packet).toMatchObject({ lifecycle_status: 'LIMITED', lifecycle_reason: 'abnormal_end' });
  });

  it('streams the evidence from the zip entry instead of inflating it whole', async () => {
    const g = await generated(1500, 'A');
    const zip = join(tmp, `stream-${++counter}.zip`);
    const evidenceBytes = Buffer.from(g.evidence);
    writeFileSync(zip, buildZip([{ name: 'packet.json', data: JSON.stringify(g.packet) }, { name: 'evidence.jsonl', data: evidenceBytes }, { name: 'verifier.txt', data: 'x\n' }]));
    expect(evidenceBytes.length).toBeGreaterThan(1024 * 1024);

    const opened = await openPacketSource({ kind: 'zip', path: zip });
    if (!opened.ok) throw new Error('zip did not open');
    try {
      const ev = await opened.value.evidenceFile('evidence.jsonl');
      if (!ev.ok) throw new Error('evidence did not resolve');
      expect(ev.value.name).toBe('evidence.jsonl');
      let first = 0;
      let total = 0;
      let chunks = 0;
      for await (const chunk of ev.value.chunks()) {
        if (chunks === 0) first = chunk.length;
        total += chunk.length;
        chunks++;
      }
      expect(total).toBe(evidenceBytes.length);
      expect(first).toBeLessThanOrEqual(64 * 1024);
      expect(chunks).toBeGreaterThan(10);
    } finally {
      await opened.value.close();
    }

    const t0 = performance.now();
    const r = await cli(zip, '--pubkey', testSigner.publicKeyHex, '--json');
    expect(r.code).toBe(0);
    expect(r.report).toMatchObject({ verdict: 'valid', receipt_count: g.all, trusted: true });
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
