/**
 * The conformance runner (receipts-v1 §9.10): a golden / malicious / edge
 * corpus, each fixture beside its `.expect.json`, run under the conformance
 * profile and compared on verdict, reject reason and (where meaningful)
 * root hash. Fixtures are read through the same input functions as
 * `verify`; the runner itself only orchestrates and compares.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseEndorsement, type Endorsement } from '../chain/endorsement.js';
import { JObj, parseJsonBytes, toPlain } from '../json/strict.js';
import type { Report } from '../report/report.js';
import { SignatureRegistry } from '../receipt/signature.js';
import { parseGoTime } from '../receipt/time.js';
import { verifyJsonl } from '../verify/chain-input.js';
import { verifyDocument } from '../verify/document.js';
import { fileSource } from '../verify/inputs.js';
import { conformanceOptions, type VerifyOptions } from '../verify/options.js';

export const CATEGORIES = ['golden', 'malicious', 'edge'] as const;
export type Category = (typeof CATEGORIES)[number];
export type InputFormat = 'receipt' | 'chain' | 'receipt_bundle' | 'recorder';

export interface Expectation {
  fixture_id: string;
  category: Category;
  input_format: InputFormat;
  verdict: 'accept' | 'reject';
  reject_reason?: string;
  expected_chain_length?: number;
  expected_signer_key?: string;
  expected_root_hash?: string;
  verifier_config?: {
    pinned_keys?: string[];
    rotation_endorsements?: string[];
    recorder_session_id?: string;
    now?: string;
    max_age?: number;
    max_future_skew?: number;
  };
}

export interface Fixture {
  expect: Expectation;
  expectPath: string;
  inputPath: string;
  /** The fixture's receipts carry `ext`, so its root hash is not compared (§12.2 item 9). */
  carriesExt: boolean;
}

export interface FixtureResult {
  fixture_id: string;
  category: Category;
  input_format: InputFormat;
  expected_verdict: 'accept' | 'reject';
  expected_reason: string | null;
  actual_verdict: 'accept' | 'reject' | 'error';
  actual_reason: string | null;
  pass: boolean;
  /** Why a fixture failed beyond verdict/reason (root hash, length, key), or the verifier's message. */
  detail?: string;
}

export interface ConformanceSummary {
  total: number;
  passed: number;
  failed: number;
  results: FixtureResult[];
}

export class CorpusError extends Error {}

/** Reads every fixture of a corpus directory, in category then name order. */
export async function loadCorpus(dir: string): Promise<Fixture[]> {
  const fixtures: Fixture[] = [];
  let sawCategory = false;
  for (const category of CATEGORIES) {
    let names: string[];
    try {
      names = await readdir(join(dir, category));
    } catch {
      continue;
    }
    sawCategory = true;
    for (const name of names.filter((n) => n.endsWith('.expect.json')).sort()) {
      const expectPath = join(dir, category, name);
      const parsed = parseJsonBytes(await readFile(expectPath));
      if (!parsed.ok) throw new CorpusError(`${expectPath}: ${parsed.error.message}`);
      const expect = toPlain(parsed.value) as Expectation;
      const base = name.slice(0, -'.expect.json'.length);
      const candidates = [`${base}.json`, `${base}.jsonl`].filter((f) => names.includes(f));
      if (candidates.length !== 1) throw new CorpusError(`${expectPath}: expected exactly one fixture file ${base}.json or ${base}.jsonl beside it`);
      const inputPath = join(dir, category, candidates[0]!);
      fixtures.push({ expect: { ...expect, category: expect.category ?? category }, expectPath, inputPath, carriesExt: await carriesExt(inputPath) });
    }
  }
  if (!sawCategory) throw new CorpusError(`${dir}: no golden/, malicious/ or edge/ folder found`);
  return fixtures;
}

/** True when any receipt in the fixture has a top-level `ext` (directly or as a recorder detail). */
async function carriesExt(path: string): Promise<boolean> {
  const text = await readFile(path);
  const docs = path.endsWith('.jsonl') ? text.toString('utf8').split('\n') : [text.toString('utf8')];
  for (const doc of docs) {
    if (!doc.trim()) continue;
    const p = parseJsonBytes(Buffer.from(doc, 'utf8'));
    if (!p.ok) continue;
    const stack = [p.value];
    while (stack.length) {
      const v = stack.pop();
      if (!(v instanceof JObj)) continue;
      if (v.has('action_record') && v.has('ext')) return true;
      for (const k of ['detail', 'body']) stack.push(v.get(k) ?? null);
      const rs = v.get('receipts');
      if (rs && typeof rs === 'object' && 'items' in rs) stack.push(...rs.items);
    }
  }
  return false;
}

export interface RunOptions {
  pinnedKeys: string[];
  /** Overrides of the conformance profile from the command line. */
  now?: string;
  maxAgeSeconds?: number | null;
  maxFutureSkewSeconds?: number | null;
  /** Run an external verifier instead of the built-in one. */
  external?: (fixture: Fixture) => Promise<{ verdict: 'accept' | 'reject' | 'error'; reason: string | null; detail?: string }>;
}

async function optionsFor(f: Fixture, run: RunOptions, registry: SignatureRegistry): Promise<VerifyOptions> {
  const vc = f.expect.verifier_config ?? {};
  const bad = (what: string) => new CorpusError(`${f.expectPath}: verifier_config.${what}`);
  const endorsements: Endorsement[] = [];
  for (const rel of vc.rotation_endorsements ?? []) {
    if (typeof rel !== 'string') throw bad('rotation_endorsements must be an array of paths');
    const p = resolve(dirname(f.expectPath), rel);
    let bytes: Buffer;
    try {
      bytes = await readFile(p);
    } catch (e) {
      throw bad(`rotation_endorsements: cannot read ${rel} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const e = parseEndorsement(bytes);
    if (!e.ok) throw bad(`rotation_endorsements: ${rel}: ${e.message}`);
    endorsements.push(e.endorsement);
  }
  const nowText = vc.now ?? run.now;
  const now = nowText === undefined ? undefined : parseGoTime(String(nowText));
  if (nowText !== undefined && !now) throw bad(`now ${JSON.stringify(nowText)} is not an RFC 3339 time`);
  const seconds = (name: 'max_age' | 'max_future_skew', v: unknown): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw bad(`${name} must be a non-negative number of seconds`);
    return v;
  };
  const maxAge = seconds('max_age', vc.max_age);
  const skew = seconds('max_future_skew', vc.max_future_skew);
  if (vc.pinned_keys !== undefined && (!Array.isArray(vc.pinned_keys) || vc.pinned_keys.some((k) => typeof k !== 'string' || !/^[0-9a-fA-F]{64}$/.test(k)))) {
    throw bad('pinned_keys must be an array of 64-hex keys');
  }
  return conformanceOptions({
    pinnedKeys: vc.pinned_keys ?? run.pinnedKeys,
    endorsements,
    recorderSessionId: vc.recorder_session_id ?? null,
    registry,
    ...(now ? { now } : {}),
    ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : run.maxAgeSeconds !== undefined ? { maxAgeSeconds: run.maxAgeSeconds } : {}),
    ...(skew !== undefined ? { maxFutureSkewSeconds: skew } : run.maxFutureSkewSeconds !== undefined ? { maxFutureSkewSeconds: run.maxFutureSkewSeconds } : {}),
  });
}

/** Verifies one fixture with the built-in verifier. */
export async function verifyFixture(f: Fixture, opts: VerifyOptions): Promise<Report> {
  switch (f.expect.input_format) {
    case 'chain':
      return verifyJsonl([fileSource(f.inputPath)], opts, 'chain');
    case 'recorder':
      return verifyJsonl([fileSource(f.inputPath)], opts, 'recorder');
    default: {
      const doc = await verifyDocument(await readFile(f.inputPath), f.inputPath, opts);
      if ('report' in doc) return doc.report;
      throw new CorpusError(`${f.inputPath}: an Audit Packet is not a receipt fixture`);
    }
  }
}

function compare(f: Fixture, actual: { verdict: 'accept' | 'reject' | 'error'; reason: string | null; detail?: string }, report: Report | null): FixtureResult {
  const e = f.expect;
  const problems: string[] = [];
  if (actual.verdict !== e.verdict) problems.push(`verdict ${actual.verdict}, expected ${e.verdict}`);
  if (e.verdict === 'reject' && actual.verdict === 'reject' && actual.reason !== (e.reject_reason ?? null)) problems.push(`reason ${actual.reason}, expected ${e.reject_reason}`);
  if (report && e.verdict === 'accept' && actual.verdict === 'accept') {
    if (e.expected_root_hash && !f.carriesExt && report.root_hash !== e.expected_root_hash) problems.push(`root hash ${report.root_hash}, expected ${e.expected_root_hash}`);
    if (e.expected_chain_length !== undefined && report.receipt_count !== e.expected_chain_length) problems.push(`chain length ${report.receipt_count}, expected ${e.expected_chain_length}`);
    if (e.expected_signer_key && !report.signer_keys.includes(e.expected_signer_key)) problems.push(`signer key ${report.signer_keys.join(',')}, expected ${e.expected_signer_key}`);
  }
  const detail = problems.length ? problems.join('; ') + (actual.detail ? ` (${actual.detail})` : '') : undefined;
  return {
    fixture_id: e.fixture_id,
    category: e.category,
    input_format: e.input_format,
    expected_verdict: e.verdict,
    expected_reason: e.reject_reason ?? null,
    actual_verdict: actual.verdict,
    actual_reason: actual.reason,
    pass: problems.length === 0,
    ...(detail ? { detail } : {}),
  };
}

function asVerdict(r: Report): 'accept' | 'reject' | 'error' {
  return r.verdict === 'valid' ? 'accept' : r.verdict === 'invalid' ? 'reject' : 'error';
}

/**
 * Runs the corpus. The built-in verifier runs twice over all fixtures with
 * one shared signature registry: the first pass only fills it with every
 * signature that verifies, so that the second can tell tampering from a
 * plain bad signature whatever the fixture order (§9.7).
 */
export async function runCorpus(fixtures: readonly Fixture[], run: RunOptions): Promise<ConformanceSummary> {
  const results: FixtureResult[] = [];
  if (run.external) {
    for (const f of fixtures) results.push(compare(f, await run.external(f), null));
  } else {
    const registry = new SignatureRegistry(1_000_000);
    for (const f of fixtures) await verifyFixture(f, await optionsFor(f, run, registry));
    for (const f of fixtures) {
      const report = await verifyFixture(f, await optionsFor(f, run, registry));
      results.push(compare(f, { verdict: asVerdict(report), reason: report.reason, detail: report.message }, report));
    }
  }
  const passed = results.filter((r) => r.pass).length;
  return { total: results.length, passed, failed: results.length - passed, results };
}
