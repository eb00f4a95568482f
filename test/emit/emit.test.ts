/**
 * `egress-verify emit …` end to end through main(): every artifact the
 * emitter writes is verified again by egress-verify (receipt, recorder
 * chains in both profiles, rotated evidence directories, bare chains,
 * packet directories and bundle zips), and the packet's claims are checked
 * member by member against the decisions that went in.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pythonJson, summaryMarkdown } from '../../src/emit/packet.js';
import { JObj, parseJsonText } from '../../src/json/strict.js';
import { checkReceipt } from '../../src/receipt/receipt.js';
import { testSigner } from '../helpers/fixtures.js';
import { cli, detailText, jsonLines, memberOrder, NOW, sha256hex, specEntryHash, START, tempDir, writeSignerFiles } from './support.js';

const K1 = testSigner.publicKeyHex;

/** Seven decisions: allow, DLP block, SSRF block, warn, ask, a websocket read, a URL with userinfo and port. */
const DECISIONS = [
  { action_type: 'read', target: 'https://api.example.com/a', verdict: 'allow', transport: 'forward', method: 'GET' },
  { action_type: 'write', target: 'https://paste.example.net/x', verdict: 'block', transport: 'forward', method: 'POST', layer: 'dlp', side_effect_class: 'external_write', reversibility: 'irreversible' },
  { action_type: 'read', target: 'http://169.254.169.254/latest', verdict: 'block', transport: 'fetch', layer: 'ssrf' },
  { action_type: 'read', target: 'https://cdn.example.org/lib.js', verdict: 'warn', transport: 'forward', layer: 'reputation' },
  { action_type: 'write', target: 'https://api.stripe.com/v1/refunds', verdict: 'ask', transport: 'forward', side_effect_class: 'financial', reversibility: 'compensatable' },
  { action_type: 'read', target: 'wss://stream.example.com:8443/feed', verdict: 'allow', transport: 'ws' },
  { action_type: 'read', target: 'https://user:pw@API.Example.com:8443/b', verdict: 'allow', transport: 'forward', policy_hash: 'sha256:' + 'b'.repeat(64) },
];

let root: string;
let key: string;
let pub: string;
let decisionsFile: string;
/** A session-profile recorder chain of DECISIONS (no rotation), made once. */
let evidence: string;

function parse(line: string): Record<string, any> {
  return JSON.parse(line) as Record<string, any>;
}

beforeAll(async () => {
  root = await tempDir('cli');
  ({ key, pub } = await writeSignerFiles(root));
  decisionsFile = join(root, 'decisions.jsonl');
  await writeFile(decisionsFile, DECISIONS.map((d) => JSON.stringify(d)).join('\n') + '\n');
  evidence = join(root, 'evidence.jsonl');
  const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', evidence, '--start', START, '--checkpoint-every', '3');
  expect(r.code).toBe(0);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('emit receipt', () => {
  const record = {
    version: 1,
    action_id: 'r-1',
    action_type: 'read',
    timestamp: '2026-04-15T12:00:00Z',
    principal: 'org:acme',
    actor: 'agent:x',
    delegation_chain: null,
    target: 'https://api.example.com/v1',
    side_effect_class: 'external_read',
    reversibility: 'full',
    policy_hash: '',
    verdict: 'allow',
    transport: 'https',
    chain_prev_hash: 'genesis',
    chain_seq: 0,
  };

  it('prints the receipt on stdout and its hash on stderr; --out writes the same bytes; the .pub verifies it and another key does not', async () => {
    const inFile = join(root, 'record.json');
    await writeFile(inFile, JSON.stringify(record));
    const r = await cli('emit', 'receipt', '--key', key, '--in', inFile);
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('}\n')).toBe(true);
    const json = r.stdout.slice(0, -1);
    expect(r.stderr).toBe(`receipt hash ${sha256hex(json)}\n`);
    expect(json.startsWith('{"version":1,"action_record":{"version":1,"action_id":"r-1",')).toBe(true);
    expect(json.endsWith(`,"signer_key":"${K1}"}`)).toBe(true);

    const out = join(root, 'receipt.json');
    const w = await cli('emit', 'receipt', '--key', key, '--in', inFile, '--out', out);
    expect(w.code).toBe(0);
    expect(w.stdout).toBe('');
    expect(await readFile(out, 'utf8')).toBe(r.stdout); // Ed25519 is deterministic

    const v = await cli(out, '--pubkey', pub, ...NOW);
    expect(v.code).toBe(0);
    expect(v.stdout.split('\n')[0]).toBe('VALID  1 receipt verified against the pinned key');
    const wrong = await cli(out, '--pubkey', 'a'.repeat(64), ...NOW);
    expect(wrong.code).toBe(1);
  });

  it('rejects a record that fails validation (exit 64, reason and pointer named), writing nothing', async () => {
    const inFile = join(root, 'record-bad.json');
    const { target: _t, ...noTarget } = record;
    await writeFile(inFile, JSON.stringify(noTarget));
    const out = join(root, 'never.json');
    const r = await cli('emit', 'receipt', '--key', key, '--in', inFile, '--out', out);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('egress-verify: action record rejected (missing_required_field) at /action_record/target: required member "target" is missing from action_record\n');
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------------------

describe('emit chain: recorder format', () => {
  it('session profile: g1 session_open … session_close, checkpoints every 3, transcript root, every entry hash per §7.3; verifies with the .pub', async () => {
    const lines = jsonLines(await readFile(evidence, 'utf8'));
    const entries = lines.map(parse);
    // open, 7 decisions, close = 9 receipts; checkpoints after every 3 non-checkpoint entries; root; final checkpoint.
    expect(entries.map((e) => e.type)).toEqual([
      'action_receipt', 'action_receipt', 'action_receipt', 'checkpoint',
      'action_receipt', 'action_receipt', 'action_receipt', 'checkpoint',
      'action_receipt', 'action_receipt', 'action_receipt', 'checkpoint',
      'transcript_root', 'checkpoint',
    ]);
    expect(entries.map((e) => e.seq)).toEqual([...Array(14).keys()]);
    let prev = 'genesis';
    for (const [i, line] of lines.entries()) {
      const e = entries[i]!;
      expect(e.prev_hash).toBe(prev);
      expect(e.hash).toBe(specEntryHash(line));
      expect(e.v).toBe(2);
      expect(e.session_id).toBe('proxy');
      prev = e.hash;
    }
    expect(entries.filter((e) => e.type === 'checkpoint').map((e) => [e.summary, e.detail.entry_count, e.detail.first_seq, e.detail.last_seq])).toEqual([
      ['checkpoint: 3 entries [seq 0-2]', 3, 0, 2],
      ['checkpoint: 3 entries [seq 4-6]', 3, 4, 6],
      ['checkpoint: 3 entries [seq 8-10]', 3, 8, 10],
      ['checkpoint: 1 entries [seq 12-12]', 1, 12, 12],
    ]);
    const receipts = entries.filter((e) => e.type === 'action_receipt').map((e) => e.detail.action_record);
    expect(receipts[0].session_control.kind).toBe('session_open');
    expect(receipts[0].chain_prev_hash).toMatch(/^g1:[0-9a-f]{64}$/);
    expect(receipts[0].chain_prev_hash).toBe(receipts[0].session_control.open.genesis_hash);
    expect(receipts[8].session_control.kind).toBe('session_close');
    expect(new Set(receipts.map((r) => r.run_nonce)).size).toBe(1);
    expect(receipts[0].run_nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(receipts.map((r) => r.chain_seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(receipts.map((r) => r.timestamp)).toEqual([0, 1, 2, 4, 5, 6, 8, 9, 10].map((s) => `2026-04-15T12:00:${String(s).padStart(2, '0')}Z`));
    const root = entries[12]!;
    const lastReceiptDetail = detailText(lines[10]!);
    expect(root.detail).toEqual({ session_id: 'proxy', final_seq: 8, root_hash: sha256hex(lastReceiptDetail), receipt_count: 9, start_time: '2026-04-15T12:00:00Z', end_time: '2026-04-15T12:00:10Z' });
    expect(root.summary).toBe(`transcript_root: 9 receipts, root=${sha256hex(lastReceiptDetail).slice(0, 16)}`);

    const v = await cli(evidence, '--pubkey', pub, ...NOW);
    expect(v.code).toBe(0);
    expect(v.stdout.split('\n')[0]).toBe('VALID  9 receipts verified against the pinned key');
  });

  it('legacy profile: "genesis", no run_nonce, no session control; verifies', async () => {
    const out = join(root, 'legacy.jsonl');
    const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', out, '--profile', 'legacy', '--start', START, '--checkpoint-every', '0');
    expect(r.code).toBe(0);
    const entries = jsonLines(await readFile(out, 'utf8')).map(parse);
    expect(entries.map((e) => e.type)).toEqual([...Array(7).fill('action_receipt'), 'transcript_root']);
    const ars = entries.slice(0, 7).map((e) => e.detail.action_record);
    expect(ars[0].chain_prev_hash).toBe('genesis');
    expect(ars.every((a) => !('run_nonce' in a) && !('session_control' in a))).toBe(true);
    expect(ars.map((a) => a.action_id)).toEqual(['action-000000', 'action-000001', 'action-000002', 'action-000003', 'action-000004', 'action-000005', 'action-000006']);
    expect(r.stderr).toBe(`7 receipts, root hash ${entries[7]!.detail.root_hash}, signer ${K1}\n`);
    const v = await cli(out, '--pubkey', pub, ...NOW);
    expect(v.code).toBe(0);
    expect(v.stdout.split('\n')[0]).toBe('VALID  7 receipts verified against the pinned key');
  });

  it('--max-entries-per-file rotates into evidence-<session>-<seq>.jsonl named by each file\'s first seq; the directory verifies', async () => {
    const dir = join(root, 'rotated');
    const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', dir, '--start', START, '--checkpoint-every', '3', '--max-entries-per-file', '4', '--session-id', 'ci-run-7');
    expect(r.code).toBe(0);
    const names = (await readdir(dir)).sort((a, b) => Number(/-(\d+)\.jsonl$/.exec(a)![1]) - Number(/-(\d+)\.jsonl$/.exec(b)![1]));
    expect(names).toEqual(['evidence-ci-run-7-0.jsonl', 'evidence-ci-run-7-4.jsonl', 'evidence-ci-run-7-8.jsonl', 'evidence-ci-run-7-12.jsonl']);
    let prev = 'genesis';
    let seq = 0;
    for (const name of names) {
      const lines = jsonLines(await readFile(join(dir, name), 'utf8'));
      expect(lines.length).toBe(name.endsWith('-12.jsonl') ? 2 : 4);
      expect(parse(lines[0]!).seq).toBe(Number(/-(\d+)\.jsonl$/.exec(name)![1]));
      for (const line of lines) {
        const e = parse(line);
        expect(e.seq).toBe(seq++);
        expect(e.session_id).toBe('ci-run-7');
        expect(e.prev_hash).toBe(prev); // links across files
        expect(e.hash).toBe(specEntryHash(line));
        prev = e.hash;
      }
    }
    const first = parse(jsonLines(await readFile(join(dir, names[0]!), 'utf8'))[0]!);
    expect(first.detail.action_record.session_control.open.recorder_session).toBe('ci-run-7');
    const v = await cli(dir, '--pubkey', pub, ...NOW);
    expect(v.code).toBe(0);
    expect(v.stdout.split('\n')[0]).toBe('VALID  1 recorder session, 9 receipts verified');
  });
});

describe('emit chain: bare format', () => {
  for (const profile of ['session', 'legacy'] as const) {
    it(`${profile} profile: one canonical receipt per line, no entries, checkpoints or roots; verifies`, async () => {
      const out = join(root, `bare-${profile}.jsonl`);
      const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', out, '--format', 'bare', '--profile', profile, '--start', START);
      expect(r.code).toBe(0);
      const lines = jsonLines(await readFile(out, 'utf8'));
      const n = profile === 'session' ? 9 : 7;
      expect(lines.length).toBe(n);
      let prev: string | null = null;
      for (const line of lines) {
        expect(memberOrder(line)).toEqual(['version', 'action_record', 'signature', 'signer_key']);
        const ar = parse(line).action_record;
        if (prev !== null) expect(ar.chain_prev_hash).toBe(prev);
        prev = sha256hex(line);
      }
      expect(parse(lines[0]!).action_record.chain_prev_hash).toMatch(profile === 'session' ? /^g1:[0-9a-f]{64}$/ : /^genesis$/);
      expect(r.stderr).toBe(`${n} receipts, root hash ${prev}, signer ${K1}\n`);
      const v = await cli(out, '--pubkey', pub, ...NOW);
      expect(v.code).toBe(0);
      expect(v.stdout.split('\n')[0]).toBe(`VALID  ${n} receipts verified against the pinned key`);
    });
  }

  it('refuses rotation for the bare format and bad flag values (exit 64)', async () => {
    const out = join(root, 'never');
    const cases: [string[], string][] = [
      [['--format', 'bare', '--max-entries-per-file', '4'], 'egress-verify: --max-entries-per-file applies to the recorder format only\n'],
      [['--format', 'csv'], 'egress-verify: --format csv: expected recorder or bare\n'],
      [['--profile', 'v2'], 'egress-verify: --profile v2: expected session or legacy\n'],
      [['--checkpoint-every', '-1'], 'egress-verify: --checkpoint-every -1: expected a whole number\n'],
      [['--session-id', 'a/b'], 'egress-verify: --session-id must be non-empty and contain no / or \\\n'],
      [['--start', 'yesterday'], 'egress-verify: --start "yesterday": expected an RFC 3339 time\n'],
    ];
    for (const [flags, message] of cases) {
      const r = await cli('emit', 'chain', '--key', key, '--in', decisionsFile, '--out', out, ...flags);
      expect([flags, r.code, r.stderr]).toEqual([flags, 64, message]);
    }
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  });
});

// ---------------------------------------------------------------------------

describe('emit packet and emit bundle', () => {
  let packetDir: string;
  let bundle: string;

  beforeAll(async () => {
    packetDir = join(root, 'packet');
    bundle = join(root, 'bundle.zip');
    const p = await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--agent', 'ci-agent', '--started-at', '2026-04-15T11:59:00Z', '--completed-at', '2026-04-15T12:01:00Z', '--exit-code', '0', '--out', packetDir);
    expect(p.code).toBe(0);
    expect(p.stdout).toBe(`wrote ${packetDir}/packet.json, summary.md, evidence.jsonl, verifier.txt (verifier verdict: valid)\n`);
    const b = await cli('emit', 'bundle', '--packet', packetDir, '--out', bundle);
    expect(b.code).toBe(0);
    expect(b.stdout).toBe(`wrote ${bundle}\n`);
  });

  it('writes exactly the four files; evidence.jsonl is a byte copy', async () => {
    expect((await readdir(packetDir)).sort()).toEqual(['evidence.jsonl', 'packet.json', 'summary.md', 'verifier.txt']);
    expect((await readFile(join(packetDir, 'evidence.jsonl'))).equals(await readFile(evidence))).toBe(true);
  });

  it('claims exactly what the decisions say: counts, totals, transports, layers, domains, policy hashes, root hash', async () => {
    const text = await readFile(join(packetDir, 'packet.json'), 'utf8');
    const packet = JSON.parse(text) as Record<string, any>;
    const lines = jsonLines(await readFile(evidence, 'utf8'));
    const lastReceipt = lines.filter((l) => parse(l).type === 'action_receipt').pop()!;
    expect(packet.schema_version).toBe('pipelock.audit_packet.v0');
    expect(packet.generated_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(packet.run).toEqual({ provider: 'local', agent_identity: 'ci-agent', started_at: '2026-04-15T11:59:00Z', completed_at: '2026-04-15T12:01:00Z', agent_exit_code: 0 });
    expect(packet.policy).toEqual({ policy_hashes: ['sha256:' + 'b'.repeat(64)] });
    expect(packet.summary).toEqual({
      receipt_count: 9,
      totals: { allow: 5, ask: 1, block: 2, forward: 0, other: 0, redirect: 0, strip: 0, warn: 1 },
      transports: { fetch: 1, forward: 5, receipt_session: 2, ws: 1 },
      layers: { dlp: 1, ssrf: 1 },
      domains_touched: ['169.254.169.254', 'api.example.com', 'api.stripe.com', 'cdn.example.org', 'paste.example.net', 'stream.example.com'],
    });
    expect(packet.verifier).toEqual({ verdict: 'valid', trusted: true, receipt_count: 9, root_hash: sha256hex(detailText(lastReceipt)), final_seq: 8, signer_key: K1, output_file: 'verifier.txt' });
    expect(packet.artifacts).toEqual({ packet: 'packet.json', summary: 'summary.md', evidence: 'evidence.jsonl', verifier: 'verifier.txt' });
    // Serialised as §5.3 says, and summary.md rendered from the same object.
    expect(text).toBe(pythonJson(packet) + '\n');
    expect(await readFile(join(packetDir, 'summary.md'), 'utf8')).toBe(summaryMarkdown(packet));
    expect((await readFile(join(packetDir, 'verifier.txt'), 'utf8')).split('\n')[0]).toBe('VALID  9 receipts verified against the pinned key');
  });

  it('--redact-domains leaves domains_touched out', async () => {
    const dir = join(root, 'packet-redacted');
    expect((await cli('emit', 'packet', '--evidence', evidence, '--pubkey', pub, '--redact-domains', '--out', dir)).code).toBe(0);
    const packet = JSON.parse(await readFile(join(dir, 'packet.json'), 'utf8'));
    expect(Object.keys(packet.summary).sort()).toEqual(['layers', 'receipt_count', 'totals', 'transports']);
  });

  it('the bundle verifies with --pubkey KEY.pub (exit 0), and so does the packet directory', async () => {
    const z = await cli(bundle, '--pubkey', pub, ...NOW);
    expect(z.code).toBe(0);
    expect(z.stdout.split('\n')[0]).toBe('VALID  Audit Packet verified: schema pass, chain pass (9 receipts, final chain_seq 8), cross-check pass; packet verdict valid');
    const d = await cli(packetDir, '--pubkey', pub, ...NOW);
    expect(d.code).toBe(0);
    expect(d.stdout.split('\n')[0]).toBe(z.stdout.split('\n')[0]);
    // …and not with a key that did not sign it.
    expect((await cli(bundle, '--pubkey', 'a'.repeat(64), ...NOW)).code).toBe(1);
  });

  it('without --pubkey the packet says self_consistent_only and verifies only with --allow-self-consistent-only', async () => {
    const dir = join(root, 'packet-unpinned');
    const zip = join(root, 'unpinned.zip');
    expect((await cli('emit', 'packet', '--evidence', evidence, '--out', dir)).code).toBe(0);
    expect((await cli('emit', 'bundle', '--packet', dir, '--out', zip)).code).toBe(0);
    const packet = JSON.parse(await readFile(join(dir, 'packet.json'), 'utf8'));
    expect(packet.verifier.verdict).toBe('self_consistent_only');
    expect(packet.verifier.trusted).toBe(false);
    expect('signer_key' in packet.verifier).toBe(false);
    expect(packet.summary.receipt_count).toBe(9);
    const summary = await readFile(join(dir, 'summary.md'), 'utf8');
    expect(summary.endsWith('## Warning\n\nTrusted evidence needs signer-key pinning: this packet proves only the internal consistency of its receipt chain.\n')).toBe(true);

    const plain = await cli(zip, ...NOW);
    expect(plain.code).toBe(1);
    expect(plain.stdout.startsWith('INVALID  packet_not_trusted — ')).toBe(true);
    const allowed = await cli(zip, '--allow-self-consistent-only', ...NOW);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout.startsWith('VALID (NOT TRUSTED)  Audit Packet verified: ')).toBe(true);
    const pinned = await cli(zip, '--pubkey', pub, ...NOW);
    expect(pinned.code).toBe(1);
    expect(pinned.stdout.startsWith('INVALID  packet_not_trusted — packet not trusted: its producer verified the chain only against the chain\'s own key')).toBe(true);
  });

  it('broken evidence gives a packet with verdict invalid, zero counts and the error; it does not verify', async () => {
    const lines = jsonLines(await readFile(evidence, 'utf8'));
    const broken = join(root, 'broken.jsonl');
    await writeFile(broken, [...lines.slice(0, 1), ...lines.slice(2)].join('\n') + '\n'); // drop the first decision
    const dir = join(root, 'packet-broken');
    expect((await cli('emit', 'packet', '--evidence', broken, '--pubkey', pub, '--out', dir)).code).toBe(1); // the packet is written and says invalid; the run fails
    const packet = JSON.parse(await readFile(join(dir, 'packet.json'), 'utf8'));
    expect(packet.verifier).toEqual({ verdict: 'invalid', trusted: false, receipt_count: 0, signer_key: K1, output_file: 'verifier.txt', error: 'chain_seq 2 where 1 was expected' });
    expect(packet.summary).toEqual({ receipt_count: 0, totals: { allow: 0, ask: 0, block: 0, forward: 0, other: 0, redirect: 0, strip: 0, warn: 0 } });
    expect(packet.policy).toEqual({ policy_hashes: [] });
    expect((await readFile(join(dir, 'verifier.txt'), 'utf8')).startsWith('INVALID  chain_break — chain_seq 2 where 1 was expected\n')).toBe(true);
    const v = await cli(dir, '--pubkey', pub, ...NOW);
    expect(v.code).toBe(1);
    expect(v.stdout.startsWith('INVALID  chain_break — ')).toBe(true);
  });

  it('emit bundle refuses a directory without packet.json (exit 64) and writes nothing', async () => {
    const empty = join(root, 'no-packet');
    await mkdir(empty);
    const out = join(root, 'none.zip');
    const r = await cli('emit', 'bundle', '--packet', empty, '--out', out);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe(`egress-verify: ${empty} has no packet.json\n`);
    await expect(readFile(out)).rejects.toThrow(/ENOENT/);
    expect((await readdir(root)).filter((n) => n.includes('.partial-'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------

describe('the receipts inside emitted lines are canonical envelopes', () => {
  it('each action_receipt detail re-reads through the strict reader to the same bytes (hash = SHA-256 of the detail bytes)', async () => {
    const receiptLines = jsonLines(await readFile(evidence, 'utf8')).filter((l) => parse(l).type === 'action_receipt');
    expect(receiptLines.length).toBe(9);
    for (const line of receiptLines) {
      const d = detailText(line);
      const p = parseJsonText(d);
      expect(p.ok).toBe(true);
      if (!p.ok || !(p.value instanceof JObj)) continue;
      const c = checkReceipt(p.value, d);
      expect(c.ok).toBe(true);
      if (!c.ok) continue;
      expect(c.receipt.hash).toBe(sha256hex(d));
      expect(d).toBe(`{"version":1,"action_record":${c.receipt.canonicalAR},"signature":"${c.receipt.signature}","signer_key":"${K1}"}`);
    }
  });
});
