/**
 * `egress-verify demo`: with --out it leaves the key, the packet, the
 * bundle and the edited bundle for inspection, names the rejection reason,
 * and its bundle verifies again; without --out it leaves nothing behind.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPublicKey } from '../../src/crypto/keys.js';
import { summaryMarkdown } from '../../src/emit/packet.js';
import { cli, type Run, tempDir } from './support.js';

let root: string;
let dir: string;
let demo: Run;

beforeAll(async () => {
  root = await tempDir('demo');
  dir = join(root, 'out');
  demo = await cli('demo', '--out', dir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('demo --out DIR', () => {
  it('exits 0 and leaves demo.pub, packet/ (four files), bundle.zip and tampered.zip', async () => {
    expect(demo.stderr).toBe('');
    expect(demo.code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(['bundle.zip', 'demo.pub', 'evidence.jsonl', 'packet', 'tampered', 'tampered.zip']);
    expect((await readdir(join(dir, 'packet'))).sort()).toEqual(['evidence.jsonl', 'packet.json', 'summary.md', 'verifier.txt']);
    expect((await loadPublicKey(join(dir, 'demo.pub'))).source).toBe('pem-spki');
  });

  it('tells the story: a dozen decisions, the valid bundle, the edited one rejected as signature_invalid, the exit codes', () => {
    const out = demo.stdout;
    expect(out.startsWith('1. An agent session: 12 decisions (reads, a DLP block, an SSRF block, a warning, an approval), 14 signed receipts.\n')).toBe(true);
    expect(out).toContain(`   $ egress-verify ${join(dir, 'bundle.zip')} --pubkey ${join(dir, 'demo.pub')}\n`);
    expect(out).toContain('\nVALID  Audit Packet verified: schema pass, chain pass (14 receipts, final chain_seq 13), cross-check pass; packet verdict valid\n');
    expect(out).toContain(`   $ egress-verify ${join(dir, 'tampered.zip')} --pubkey ${join(dir, 'demo.pub')}\n`);
    expect(out).toContain('\nINVALID  signature_invalid — evidence chain: evidence.jsonl line 4 (chain_seq 3): signature_invalid — ');
    expect(out.endsWith(`\nExit codes: 0 for the honest bundle, 1 for the edited one. Everything is kept in ${dir}.\n`)).toBe(true);
    expect(out).not.toContain('\u001b[');
  });

  it('the bundle in DIR verifies again with the .pub (exit 0); the edited one fails with signature_invalid (exit 1)', async () => {
    const pub = join(dir, 'demo.pub');
    const ok = await cli(join(dir, 'bundle.zip'), '--pubkey', pub);
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n')[0]).toBe('VALID  Audit Packet verified: schema pass, chain pass (14 receipts, final chain_seq 13), cross-check pass; packet verdict valid');
    expect((await cli(join(dir, 'packet'), '--pubkey', pub)).code).toBe(0);
    const ev = await cli(join(dir, 'packet', 'evidence.jsonl'), '--pubkey', pub);
    expect([ev.code, ev.stdout.split('\n')[0]]).toEqual([0, 'VALID  14 receipts verified against the pinned key']);
    const bad = await cli(join(dir, 'tampered.zip'), '--pubkey', pub, '--json');
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as { reason: string }).reason).toBe('signature_invalid');
  });

  it('the packet counts the demo session: 10 allow, 2 block, 1 warn, 1 ask; summary.md renders packet.json', async () => {
    const packet = JSON.parse(await readFile(join(dir, 'packet', 'packet.json'), 'utf8'));
    expect(packet.summary.receipt_count).toBe(14);
    expect(packet.summary.totals).toEqual({ allow: 10, ask: 1, block: 2, forward: 0, other: 0, redirect: 0, strip: 0, warn: 1 });
    expect(packet.summary.layers).toEqual({ dlp: 1, ssrf: 1 });
    expect(packet.verifier.verdict).toBe('valid');
    expect(packet.verifier.signer_key).toBe((await loadPublicKey(join(dir, 'demo.pub'))).hex);
    expect(await readFile(join(dir, 'packet', 'summary.md'), 'utf8')).toBe(summaryMarkdown(packet));
  });
});

describe('demo without --out', () => {
  it('exits 0 and leaves no egress-verify-demo-* folder in the temporary directory', async () => {
    const list = async () => (await readdir(tmpdir())).filter((n) => n.startsWith('egress-verify-demo-')).sort();
    const before = await list();
    const r = await cli('demo');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\nExit codes: 0 for the honest bundle, 1 for the edited one. Run with --out DIR to keep the files.\n')).toBe(true);
    expect(r.stdout).toMatch(/Audit Packet: \S*egress-verify-demo-\S+\/packet\//); // it did use a temporary folder…
    expect(await list()).toEqual(before); // …and removed it
  });
});
