/**
 * The offline agent-egress-bench harness (scripts/bench-proxy.js, spec
 * proxy.md §8) run end to end on the shared cases: summary.json in the
 * shapes of §8.4/§8.5, no false positive on benign cases, blocked requests
 * never reaching the fixture, a receipt for every case, and evidence that
 * verifies with the pinned proxy key. Needs the build (dist/) and the openssl
 * binary; skipped with a note when dist/ or ../shared is missing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPath } from '../../src/verify/inputs.js';
import { verifyOptions } from '../../src/verify/options.js';
import { repoRoot, sharedDir } from '../helpers/fixtures.js';

const CASES = join(sharedDir, 'reference', 'agent-egress-bench-cases');
const SCRIPT = join(repoRoot, 'scripts', 'bench-proxy.js');
const hasDist = existsSync(join(repoRoot, 'dist', 'cli', 'proxy-command.js'));
const hasCases = existsSync(CASES);
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const available = hasDist && hasCases && hasOpenssl;
if (!available) {
  const missing = [!hasDist && 'dist/ (run npm run build)', !hasCases && CASES, !hasOpenssl && 'the openssl binary'].filter(Boolean).join(', ');
  console.warn(`note: ${missing} missing; the bench-proxy harness test is skipped`);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const SIX = ['attacks', 'blocked', 'benign', 'false_positives', 'containment', 'false_positive_rate'];
const RUNNER_MEMBERS = ['case_id', 'tool', 'tool_version', 'expected_verdict', 'actual_verdict', 'score', 'evidence', 'notes'];

describe.skipIf(!available)('scripts/bench-proxy.js on the shared agent-egress-bench cases (§8)', () => {
  let out: string;
  let run: { code: number | null; stdout: string; stderr: string };
  let summary: Json;
  let results: Json[];

  beforeAll(async () => {
    out = mkdtempSync(join(tmpdir(), 'ev-bench-proxy-'));
    run = await new Promise((resolve) => {
      const child = spawn(process.execPath, [SCRIPT, '--cases', CASES, '--out', out], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    if (run.code === 0) {
      summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Json;
      results = readFileSync(join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
    }
  }, 120_000);
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('exits 0 by itself, prints the table and the two headline lines', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^category +attacks +blocked/m);
    expect(run.stdout).toMatch(/^applicable view: containment \d+\/\d+ = [\d.]+%, false positives 0\/\d+/m);
    expect(run.stdout).toMatch(/^full-corpus view: containment \d+\/\d+/m);
    expect(run.stderr).toMatch(/^results: \d+ passed, \d+ failed, \d+ not_applicable, 0 errors \(\d+ total\)$/m);
    expect(run.stderr).not.toContain('property checks FAILED');
  });

  it('writes summary.json in the shapes of §8.4/§8.5', () => {
    expect(summary).toMatchObject({ gauntlet_version: '1.0', scoring_version: '2.0', runner_version: expect.any(String), sufficient: expect.any(Boolean) });
    expect(summary.corpus_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.tool_profile_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(summary.case_count).toMatchObject({ total: results.length, not_applicable_reasons: expect.any(Object) });
    expect(summary.tool_support).toMatchObject({ fetch_proxy: true, http_proxy: true, tls_interception: false });
    for (const view of ['applicable', 'full']) expect(Object.keys(summary.scores[view]).sort()).toEqual([...SIX].sort());
    const cats = Object.keys(summary.scores.per_category).sort();
    expect(cats).toEqual(['false_positive', 'headers', 'request_body', 'response_fetch', 'response_mitm', 'url']);
    for (const c of cats) expect(Object.keys(summary.scores.per_category[c]).sort()).toEqual([...SIX].sort());
    const a = summary.scores.applicable;
    expect(a.containment).toBeCloseTo(a.blocked / a.attacks, 3);
    expect(summary.detection).toBe(1);
    expect(summary.evidence).toBe(1);
  });

  it('writes results.jsonl with exactly the runner members, one line per case', () => {
    const caseCount = summary.case_count.total;
    expect(results).toHaveLength(caseCount);
    for (const r of results) {
      expect(Object.keys(r)).toEqual(RUNNER_MEMBERS);
      if (r.actual_verdict !== 'not_applicable') expect(Object.keys(r.evidence).sort()).toEqual(['action_id', 'block_reason', 'decision', 'http_status', 'layer']);
    }
    expect(results.filter((r) => r.actual_verdict === 'error')).toEqual([]);
  });

  it('blocks no benign case (zero false positives) and scores the CONNECT-hidden cases honestly', () => {
    expect(summary.scores.applicable.false_positives).toBe(0);
    expect(results.filter((r) => r.expected_verdict === 'allow' && r.actual_verdict === 'block')).toEqual([]);
    const misses = results.filter((r) => r.score === 'fail').map((r) => r.case_id).sort();
    expect(misses).toEqual(['body-dlp-hex-encoded-007', 'header-dlp-aws-headers-005']);
    expect(summary.variants.plaintext_forward.applicable.blocked).toBe(summary.variants.plaintext_forward.applicable.attacks);
  });

  it('proves mediation: no request-side block reached the fixture; response-side blocks fetched once and withheld', () => {
    const proof = summary.proof as Json;
    expect(proof.failures).toEqual([]);
    expect(proof.blocked_cases_reaching_fixture).toEqual([]);
    for (const [id, p] of Object.entries(proof.per_case as Record<string, Json>)) {
      if (p.blocked_at === 'request') expect(p.fixture_requests, id).toBe(0);
      if (p.blocked_at === 'response') expect(p.fixture_requests, id).toBe(1);
    }
    const blocked = results.filter((r) => r.actual_verdict === 'block');
    expect(blocked.length).toBeGreaterThan(0);
    for (const r of blocked) expect(proof.per_case[r.case_id].blocked_at, r.case_id).not.toBeNull();
  });

  it('has a receipt for every decided case, and the evidence verifies with the pinned key', async () => {
    const proof = summary.proof as Json;
    expect(proof.cases_without_receipt).toEqual([]);
    for (const r of results.filter((x) => x.actual_verdict === 'block' || x.actual_verdict === 'allow')) {
      expect(r.evidence.action_id, r.case_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(proof.per_case[r.case_id], r.case_id).toMatchObject({ intent_receipts: 1, receipt_verdict: r.actual_verdict, receipt_verified: true });
    }
    expect(proof.session_close_receipt_count).toBe(proof.receipts);
    const report = await verifyPath(join(out, 'evidence'), verifyOptions({ pinnedKeys: [proof.signer_key as string] }));
    expect(report.verdict).toBe('valid');
    expect(report.receipt_count).toBe(proof.receipts);
  });
});
