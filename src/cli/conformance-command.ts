/**
 * `egress-verify conformance <corpus-dir>`: run a golden / malicious / edge
 * corpus through the built-in verifier (or another verifier command) and
 * score it. Ends with the line `N passed, M failed`; exit 1 on any mismatch.
 */
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Chalk } from 'chalk';
import Table from 'cli-table3';
import type { Command } from 'commander';
import { CorpusError, loadCorpus, runCorpus, type Fixture, type RunOptions } from '../conformance/runner.js';
import { parseJsonBytes, toPlain } from '../json/strict.js';
import { toJson } from '../report/json-out.js';
import { EXIT } from '../report/reasons.js';
import { collect, durationOption, pinnedKeysFrom, timeOption, UsageError, type Io } from './common.js';

export interface ConformanceFlags {
  pubkey?: string[];
  key?: string[];
  now?: string;
  maxAge?: string;
  maxFutureSkew?: string;
  verifier?: string;
  json?: boolean;
}

export function addConformanceOptions(cmd: Command): Command {
  return cmd
    .option('--pubkey <KEY>', 'trusted key(s); default: public_key_hex of test-key.json in the corpus root', collect, [])
    .option('--key <KEY>', 'alias of --pubkey', collect, [])
    .option('--now <TIME>', 'override the profile clock (default 2026-04-15T12:00:00Z)')
    .option('--max-age <DURATION>', 'override the profile maximum age (default 8760h)')
    .option('--max-future-skew <DURATION>', 'override the profile future skew (default 900s)')
    .option('--verifier <COMMAND>', 'score another verifier: a shell command run per fixture with {} replaced by the fixture path; exit 0 = accept, else reject; a JSON report on stdout with "reason" or "reject_reason" is compared too')
    .option('--json', 'print {total, passed, failed, results} as JSON');
}

async function corpusKey(dir: string): Promise<string | null> {
  try {
    const p = parseJsonBytes(await readFile(join(dir, 'test-key.json')));
    if (!p.ok) return null;
    const v = toPlain(p.value) as { public_key_hex?: unknown };
    return typeof v.public_key_hex === 'string' ? v.public_key_hex : null;
  } catch {
    return null;
  }
}

export async function runConformance(dir: string, flags: ConformanceFlags, io: Io): Promise<number> {
  const given = [...(flags.pubkey ?? []), ...(flags.key ?? [])];
  let pinnedKeys = given.length ? await pinnedKeysFrom(given, io) : [];
  if (!pinnedKeys.length) {
    const k = await corpusKey(dir);
    if (!k) throw new UsageError(`no trusted key: pass --pubkey KEY, or put a test-key.json with public_key_hex in ${dir}`);
    pinnedKeys = await pinnedKeysFrom([k], io);
  }
  try {
    await access(dir);
  } catch {
    io.stderr(`egress-verify conformance: ${dir}: no such directory or not readable\n`);
    return EXIT.error;
  }
  let fixtures: Fixture[];
  try {
    fixtures = await loadCorpus(dir);
  } catch (e) {
    if (e instanceof CorpusError) {
      io.stderr(`egress-verify conformance: ${e.message}\n`);
      return EXIT.invalid;
    }
    throw e;
  }
  const maxAge = durationOption('--max-age', flags.maxAge);
  const skew = durationOption('--max-future-skew', flags.maxFutureSkew);
  timeOption('--now', flags.now);
  const run: RunOptions = {
    pinnedKeys,
    ...(flags.now ? { now: flags.now } : {}),
    ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
    ...(skew !== undefined ? { maxFutureSkewSeconds: skew } : {}),
    ...(flags.verifier ? { external: externalVerifier(flags.verifier) } : {}),
  };
  let summary;
  try {
    summary = await runCorpus(fixtures, run);
  } catch (e) {
    if (e instanceof CorpusError) {
      io.stderr(`egress-verify conformance: ${e.message}\n`);
      return EXIT.invalid;
    }
    throw e;
  }
  if (flags.json) {
    io.stdout(toJson(summary) + '\n');
  } else {
    const c = new Chalk({ level: io.color ? 1 : 0 });
    const t = new Table({ head: ['fixture', 'expected', 'actual', 'pass'].map((h) => c.bold(h)), style: { head: [], border: [] } });
    for (const r of summary.results) {
      const expected = r.expected_verdict === 'accept' ? 'accept' : `reject ${r.expected_reason ?? ''}`;
      const actual = r.actual_verdict === 'reject' ? `reject ${r.actual_reason ?? ''}` : r.actual_verdict;
      t.push([`${r.category}/${r.fixture_id}`, expected, actual + (r.detail ? `\n${r.detail}` : ''), r.pass ? c.green('yes') : c.red('NO')]);
    }
    io.stdout(t.toString() + '\n');
    io.stdout(`${summary.passed} passed, ${summary.failed} failed\n`);
  }
  return summary.failed === 0 ? EXIT.valid : EXIT.invalid;
}

/** Runs a foreign verifier per fixture; its exit code is its verdict. */
function externalVerifier(template: string): NonNullable<RunOptions['external']> {
  return (f) =>
    new Promise((resolve) => {
      const quoted = `'${f.inputPath.replace(/'/g, `'\\''`)}'`;
      const cmd = template.includes('{}') ? template.split('{}').join(quoted) : `${template} ${quoted}`;
      const child = spawn('sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
      child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
      child.on('error', (e) => resolve({ verdict: 'error', reason: null, detail: e.message }));
      child.on('close', (code) => {
        let reason: string | null = null;
        try {
          const j = JSON.parse(out) as { reason?: unknown; reject_reason?: unknown };
          const r = j.reject_reason ?? j.reason;
          reason = typeof r === 'string' ? r : null;
        } catch {
          reason = null;
        }
        const verdict = code === 0 ? 'accept' : code === 1 || code === 2 ? 'reject' : 'error';
        resolve({ verdict, reason: verdict === 'reject' ? reason : null, detail: (err || out).trim().split('\n')[0] ?? '' });
      });
    });
}
