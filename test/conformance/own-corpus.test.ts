/**
 * The project's own conformance corpus (conformance/, issue 4 item 4):
 * deterministic generation, the committed copy equal to a fresh generation,
 * every fixture passing through the conformance runner, reject-reason
 * coverage, and a runner that notices a wrong expectation.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusPublicKey, diffCorpus, generateCorpus, writeCorpus } from '../../src/conformance/generate.js';
import { loadCorpus, runCorpus } from '../../src/conformance/runner.js';
import { REJECT_REASONS } from '../../src/report/reasons.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const corpusDir = join(repoRoot, 'conformance');
const files = generateCorpus();
const temps: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'egress-verify-corpus-'));
  temps.push(d);
  return d;
}

afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

function expectations(): { id: string; category: string; verdict: string; reject_reason?: string }[] {
  return [...files]
    .filter(([p]) => p.endsWith('.expect.json'))
    .map(([, b]) => {
      const e = JSON.parse(b.toString('utf8')) as { fixture_id: string; category: string; verdict: string; reject_reason?: string };
      return { id: e.fixture_id, category: e.category, verdict: e.verdict, ...(e.reject_reason ? { reject_reason: e.reject_reason } : {}) };
    });
}

describe('own conformance corpus', () => {
  it('generates the same bytes every time', () => {
    const again = generateCorpus();
    expect([...again.keys()]).toEqual([...files.keys()]);
    for (const [path, data] of files) expect(again.get(path)!.equals(data), path).toBe(true);
  });

  it('is committed exactly as generated (regenerating changes nothing)', async () => {
    const diffs = await diffCorpus(corpusDir, files);
    expect(diffs, 'run `npm run conformance:generate` and commit conformance/').toEqual([]);
  });

  it('pins the corpus key in test-key.json', async () => {
    const key = JSON.parse(await readFile(join(corpusDir, 'test-key.json'), 'utf8')) as { public_key_hex: string; seed_phrase: string; note: string };
    expect(key.public_key_hex).toBe(corpusPublicKey());
    expect(Object.keys(key).sort()).toEqual(['note', 'public_key_hex', 'seed_phrase']);
  });

  it('passes every fixture through the conformance runner', async () => {
    const fixtures = await loadCorpus(corpusDir);
    expect(fixtures.length).toBe(expectations().length);
    const summary = await runCorpus(fixtures, { pinnedKeys: [corpusPublicKey()] });
    const failures = summary.results.filter((r) => !r.pass).map((r) => `${r.category}/${r.fixture_id}: ${r.detail ?? `${r.actual_verdict} ${r.actual_reason}`}`);
    expect(failures).toEqual([]);
    expect(summary.failed).toBe(0);
    expect(summary.passed).toBe(fixtures.length);
  });

  it('covers every reject reason except invalid_verdict', () => {
    const all = expectations();
    const reasons = new Set(all.filter((e) => e.verdict === 'reject').map((e) => e.reject_reason));
    // invalid_verdict needs the `verdicts` policy knob, which verifier_config (§9.10) cannot set.
    const wanted = REJECT_REASONS.filter((r) => r !== 'invalid_verdict');
    expect(wanted.filter((r) => !reasons.has(r))).toEqual([]);
    expect([...reasons].filter((r) => !(REJECT_REASONS as readonly (string | undefined)[]).includes(r))).toEqual([]);
    // Category discipline: golden and edge accept, malicious rejects with a reason.
    for (const e of all) {
      if (e.category === 'malicious') expect(e.verdict === 'reject' && !!e.reject_reason, e.id).toBe(true);
      else expect(e.verdict, e.id).toBe('accept');
    }
  });

  it('fails exactly one fixture when one expectation is flipped', async () => {
    const dir = await tempDir();
    await cp(corpusDir, dir, { recursive: true });
    const target = [...files.keys()].find((p) => p.startsWith('golden/') && p.endsWith('.expect.json'))!;
    const e = JSON.parse(await readFile(join(dir, target), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, target), JSON.stringify({ ...e, verdict: 'reject', reject_reason: 'signature_invalid' }, null, 2) + '\n');
    const summary = await runCorpus(await loadCorpus(dir), { pinnedKeys: [corpusPublicKey()] });
    expect(summary.failed).toBe(1);
    expect(summary.results.find((r) => !r.pass)!.fixture_id).toBe(e.fixture_id);
  });

  it('writeCorpus replaces stale fixtures and leaves other files alone', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'golden'), { recursive: true });
    await writeFile(join(dir, 'golden', 'g99-old.json'), '{}');
    await writeFile(join(dir, 'golden', 'g99-old.expect.json'), '{}');
    await writeFile(join(dir, 'NOTES.txt'), 'keep me');
    expect((await diffCorpus(dir, files)).filter((d) => d.status === 'stale').map((d) => d.path)).toEqual(['golden/g99-old.expect.json', 'golden/g99-old.json']);
    const { removed } = await writeCorpus(dir, files);
    expect(removed.sort()).toEqual(['golden/g99-old.expect.json', 'golden/g99-old.json']);
    expect(await diffCorpus(dir, files)).toEqual([]);
    expect(await readFile(join(dir, 'NOTES.txt'), 'utf8')).toBe('keep me');
    expect((await readdir(join(dir, 'golden'))).includes('g99-old.json')).toBe(false);
  });
});
