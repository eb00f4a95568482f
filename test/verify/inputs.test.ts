/**
 * Input detection and the file-system edge (receipts-v1 §9.3 "Input
 * detection", §9.4 wrappers, §9.9 per-session reports, §10 v2 refusal),
 * on real temporary directories.
 */
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/report.js';
import { verifyDocument, MAX_DOCUMENT_BYTES } from '../../src/verify/document.js';
import { verifyJsonl } from '../../src/verify/chain-input.js';
import { evidenceSessions, fileSource, verifyPath, type PacketInput } from '../../src/verify/inputs.js';
import { jsonl, rechain, receiptHash, receiptsOfRecorder } from '../helpers/chains.js';
import { bareChain, decisions, haveShared, otherSigner, recorderChain, shared, signed, testOptions, testSigner } from '../helpers/fixtures.js';

let root: string;
let n = 0;
async function dir(): Promise<string> {
  const d = join(root, `d${n++}`);
  await mkdir(d);
  return d;
}
async function put(d: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(d, name), text);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'egress-verify-inputs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function expectInvalid(r: Report, reason: string, message?: string | RegExp): void {
  expect({ verdict: r.verdict, reason: r.reason }).toEqual({ verdict: 'invalid', reason });
  if (typeof message === 'string') expect(r.message).toContain(message);
  else if (message) expect(r.message).toMatch(message);
}

const alpha = recorderChain(decisions(2), { sessionId: 'alpha' }); // 4 receipts
const beta = recorderChain(decisions(3), { sessionId: 'beta' }); // 5 receipts
const gamma = recorderChain(decisions(1), { sessionId: 'gamma' }, otherSigner); // 3 receipts, another key
const rootOf = (lines: string[]) => {
  const rs = receiptsOfRecorder(lines);
  return receiptHash(rs[rs.length - 1]!);
};

describe('§9.3 rule 2: recorder evidence directories', () => {
  it('verifies each session separately, orders sessions by id and reports the first bad one', async () => {
    const d = await dir();
    const brokenBeta = [...beta];
    brokenBeta[2] = brokenBeta[2]!.replace('"summary":"receipt: allow read forward"', '"summary":"receipt: allow read forwarD"');
    await put(d, {
      'evidence-beta-0.jsonl': jsonl(brokenBeta),
      'evidence-alpha-0.jsonl': jsonl(alpha),
      'README.md': 'not evidence',
      'signer.pub': testSigner.publicKeyHex,
      'evidence-alpha-3.raw.enc': Buffer.from([1, 2, 3]),
      'evidence-alpha.jsonl': 'ignored: no numeric seq_start',
      'evidence-alpha-4.json': 'ignored: not .jsonl',
    });
    const r = await verifyPath(d, testOptions());
    expect(r.kind).toBe('recorder');
    expectInvalid(r, 'chain_break', 'session beta: entry hash mismatch');
    expect(r.where).toEqual({ file: join(d, 'evidence-beta-0.jsonl'), line: 3, pointer: '/hash' });
    expect(r.sessions?.map((s) => [s.session_id, s.verdict, s.reason, s.receipt_count])).toEqual([
      ['alpha', 'valid', null, 4],
      ['beta', 'invalid', 'chain_break', null],
    ]);
    expect(r.sessions?.[0]?.root_hash).toBe(rootOf(alpha));
    expect(Object.keys(r.sessions![0]!)).not.toContain('kind');
    // Several sessions, one not verified: no totals.
    expect({ receipt_count: r.receipt_count, final_seq: r.final_seq, root_hash: r.root_hash, signer_keys: r.signer_keys, trusted: r.trusted }).toEqual({
      receipt_count: null,
      final_seq: null,
      root_hash: null,
      signer_keys: [],
      trusted: false,
    });
  });

  it('aggregates several valid sessions: summed count, no final_seq/root_hash, signer keys in first-seen order', async () => {
    const d = await dir();
    await put(d, { 'evidence-gamma-0.jsonl': jsonl(gamma), 'evidence-alpha-0.jsonl': jsonl(alpha), 'evidence-beta-0.jsonl': jsonl(beta) });
    const r = await verifyPath(d, testOptions({ pinnedKeys: [testSigner.publicKeyHex, otherSigner.publicKeyHex] }));
    expect({ verdict: r.verdict, reason: r.reason, where: r.where, kind: r.kind }).toEqual({ verdict: 'valid', reason: null, where: null, kind: 'recorder' });
    expect(r.sessions?.map((s) => s.session_id)).toEqual(['alpha', 'beta', 'gamma']);
    expect(r.receipt_count).toBe(4 + 5 + 3);
    expect(r.final_seq).toBeNull();
    expect(r.root_hash).toBeNull();
    expect(r.signer_keys).toEqual([testSigner.publicKeyHex, otherSigner.publicKeyHex]);
    expect(r.trusted).toBe(true);
    expect(r.sessions?.map((s) => s.root_hash)).toEqual([rootOf(alpha), rootOf(beta), rootOf(gamma)]);
  });

  it('with one session, carries its count, final_seq, root hash and keys at the top level', async () => {
    const d = await dir();
    await put(d, { 'evidence-alpha-0.jsonl': jsonl(alpha), 'notes.txt': 'x' });
    const r = await verifyPath(d, testOptions());
    expect({ verdict: r.verdict, receipt_count: r.receipt_count, final_seq: r.final_seq, root_hash: r.root_hash, signer_keys: r.signer_keys, trusted: r.trusted }).toEqual({
      verdict: 'valid',
      receipt_count: 4,
      final_seq: 3n,
      root_hash: rootOf(alpha),
      signer_keys: [testSigner.publicKeyHex],
      trusted: true,
    });
    expect(r.sessions).toHaveLength(1);
    // An unpinned run of a valid directory is no_trust_anchor.
    const u = await verifyPath(d, testOptions({ pinnedKeys: [] }));
    expectInvalid(u, 'no_trust_anchor');
  });

  it('reads a session\'s files in numeric, not lexical, order of <seq_start>', async () => {
    const lines = recorderChain(decisions(12), { sessionId: 's' });
    expect(lines.length).toBeGreaterThan(11);
    const d = await dir();
    await put(d, {
      'evidence-s-0.jsonl': jsonl(lines.slice(0, 9)),
      'evidence-s-9.jsonl': jsonl(lines.slice(9, 10)),
      'evidence-s-10.jsonl': jsonl(lines.slice(10)),
    });
    const r = await verifyPath(d, testOptions());
    expect({ verdict: r.verdict, reason: r.reason, receipt_count: r.receipt_count }).toEqual({ verdict: 'valid', reason: null, receipt_count: 14 });
    expect(evidenceSessions(['evidence-s-10.jsonl', 'evidence-s-9.jsonl', 'evidence-s-0.jsonl'])).toEqual(new Map([['s', ['evidence-s-0.jsonl', 'evidence-s-9.jsonl', 'evidence-s-10.jsonl']]]));
    // Read lexically (0, 10, 9) the same files do not verify.
    const lexical = await verifyJsonl(['evidence-s-0.jsonl', 'evidence-s-10.jsonl', 'evidence-s-9.jsonl'].map((f) => fileSource(join(d, f), f)), testOptions(), 'recorder');
    expect(lexical.verdict).toBe('invalid');
  });

  it('orders seq_start as unsigned 64-bit numbers beyond 2^53', () => {
    const names = ['evidence-s-18446744073709551615.jsonl', 'evidence-s-9007199254740993.jsonl', 'evidence-s-9007199254740992.jsonl'];
    expect(evidenceSessions(names).get('s')).toEqual(['evidence-s-9007199254740992.jsonl', 'evidence-s-9007199254740993.jsonl', 'evidence-s-18446744073709551615.jsonl']);
  });

  it('groups by the text between "evidence-" and the last "-": session ids may contain "-" and end in digits', async () => {
    expect(
      evidenceSessions(['evidence-proxy-run-7-5.jsonl', 'evidence-proxy-run-7-0.jsonl', 'evidence-a-1-0.jsonl', 'evidence-a-0.jsonl', 'evidence-b-x.jsonl', 'evidence--3.jsonl', 'evidence-c-3.jsonl.bak']),
    ).toEqual(
      new Map([
        ['a', ['evidence-a-0.jsonl']],
        ['a-1', ['evidence-a-1-0.jsonl']],
        ['proxy-run-7', ['evidence-proxy-run-7-0.jsonl', 'evidence-proxy-run-7-5.jsonl']],
      ]),
    );
    const lines = recorderChain(decisions(2), { sessionId: 'proxy-run-7' });
    const d = await dir();
    await put(d, { 'evidence-proxy-run-7-0.jsonl': jsonl(lines.slice(0, 3)), 'evidence-proxy-run-7-3.jsonl': jsonl(lines.slice(3)) });
    const r = await verifyPath(d, testOptions());
    expect(r.sessions?.map((s) => [s.session_id, s.verdict])).toEqual([['proxy-run-7', 'valid']]);
    expect(r.receipt_count).toBe(4);
  });

  it('rejects a directory with neither packet.json nor evidence files as malformed_json', async () => {
    const d = await dir();
    await put(d, { 'notes.txt': 'hello', 'signer.pub': testSigner.publicKeyHex, 'evidence.jsonl': jsonl(alpha) });
    const r = await verifyPath(d, testOptions());
    expectInvalid(r, 'malformed_json', 'neither packet.json nor evidence-*.jsonl files found');
    expect(r.kind).toBeNull();
    const empty = await dir();
    expectInvalid(await verifyPath(empty, testOptions()), 'malformed_json', 'neither packet.json nor evidence-*.jsonl');
  });

  it('routes a directory with packet.json to the packet verifier (rule 1 before rule 2)', async () => {
    const d = await dir();
    await put(d, { 'packet.json': '{}', 'evidence-alpha-0.jsonl': jsonl(alpha) });
    const seen: PacketInput[] = [];
    const r = await verifyPath(d, testOptions(), {
      packetVerifier: async (input) => {
        seen.push(input);
        return { verdict: 'valid', reason: null, message: 'stub', where: null, kind: 'audit_packet', receipt_count: null, final_seq: null, root_hash: null, signer_keys: [], trusted: false, unpinned: false };
      },
    });
    expect(seen).toEqual([{ kind: 'dir', dir: d }]);
    expect(r.message).toBe('stub');
    // Without a packet verifier the core says so, still as an audit_packet.
    const bare = await verifyPath(d, testOptions());
    expect({ kind: bare.kind, reason: bare.reason }).toEqual({ kind: 'audit_packet', reason: 'unsupported_version' });
  });
});

describe('§9.3 rules 4–6: files', () => {
  it('reports a missing path as verdict error (exit 2), not invalid', async () => {
    const p = join(root, 'no-such-file.json');
    const r = await verifyPath(p, testOptions());
    expect({ verdict: r.verdict, reason: r.reason, kind: r.kind, where: r.where }).toEqual({ verdict: 'error', reason: null, kind: null, where: { file: p } });
    expect(r.message).toContain('no such file or directory');
  });

  it('detects .jsonl as bare receipts (kind chain) or recorder entries (kind recorder) by the first non-blank line', async () => {
    const d = await dir();
    await put(d, { 'a.jsonl': '\n\n' + jsonl(bareChain(2)), 'b.JSONL': jsonl(alpha) });
    const a = await verifyPath(join(d, 'a.jsonl'), testOptions());
    expect({ verdict: a.verdict, kind: a.kind, receipt_count: a.receipt_count }).toEqual({ verdict: 'valid', kind: 'chain', receipt_count: 2 });
    const b = await verifyPath(join(d, 'b.JSONL'), testOptions());
    expect({ verdict: b.verdict, kind: b.kind, receipt_count: b.receipt_count }).toEqual({ verdict: 'valid', kind: 'recorder', receipt_count: 4 });
  });

  it('rejects a single document over 8 MiB before parsing, and accepts one of exactly 8 MiB', async () => {
    const d = await dir();
    const r = signed();
    const exact = r + ' '.repeat(MAX_DOCUMENT_BYTES - Buffer.byteLength(r));
    expect(Buffer.byteLength(exact)).toBe(8 * 1024 * 1024);
    await put(d, { 'exact.json': exact, 'over.json': exact + ' ' });
    const ok = await verifyPath(join(d, 'exact.json'), testOptions());
    expect({ verdict: ok.verdict, kind: ok.kind }).toEqual({ verdict: 'valid', kind: 'receipt' });
    const over = await verifyPath(join(d, 'over.json'), testOptions());
    expectInvalid(over, 'malformed_json', '8 MiB');
    expect(over.kind).toBe('receipt');
    expect(over.message).toContain(`${8 * 1024 * 1024} bytes`);
  });

  it('routes .zip files and packet.json documents to the packet verifier', async () => {
    const d = await dir();
    await put(d, { 'p.zip': 'PK', 'packet.json': '{"schema_version":"pipelock.audit_packet.v0"}', 'other.json': '{"schema_version":1}' });
    const seen: string[] = [];
    const packetVerifier = async (input: PacketInput): Promise<Report> => {
      seen.push(input.kind);
      return { verdict: 'invalid', reason: 'malformed_json', message: 'stub', where: null, kind: 'audit_packet', receipt_count: null, final_seq: null, root_hash: null, signer_keys: [], trusted: false, unpinned: false };
    };
    await verifyPath(join(d, 'p.zip'), testOptions(), { packetVerifier });
    await verifyPath(join(d, 'packet.json'), testOptions(), { packetVerifier });
    await verifyPath(join(d, 'other.json'), testOptions(), { packetVerifier });
    expect(seen).toEqual(['zip', 'file', 'file']);
  });
});

describe('§9.4 wrappers and §10 v2 documents', () => {
  const receipt = signed();
  const doc = async (text: string): Promise<Report> => {
    const r = await verifyDocument(Buffer.from(text, 'utf8'), 'doc.json', testOptions());
    if (!('report' in r)) throw new Error('packet');
    return r.report;
  };

  it('accepts a padded receipt whose declared length is the body measured without whitespace', async () => {
    const len = Buffer.byteLength(receipt);
    const r = await doc(`{"declared_length":${len},"body":${receipt}}`);
    expect({ verdict: r.verdict, kind: r.kind, root_hash: r.root_hash }).toEqual({ verdict: 'valid', kind: 'receipt', root_hash: receiptHash(receipt) });
    // Whitespace inside the body does not count; whitespace inside strings does.
    const pretty = JSON.stringify(JSON.parse(receipt), null, 2);
    expect((await doc(`{"body":${pretty},"declared_length":${len}}`)).verdict).toBe('valid');
  });

  it('measures the padded body in UTF-8 bytes, not UTF-16 units', async () => {
    const wide = signed({ intent: 'h\u00e9llo \u2713 \u{1F600}' });
    const bytes = Buffer.byteLength(wide, 'utf8');
    expect(bytes).toBeGreaterThan(wide.length);
    expect((await doc(`{"declared_length":${bytes},"body":${wide}}`)).verdict).toBe('valid');
    const r = await doc(`{"declared_length":${wide.length},"body":${wide}}`);
    expectInvalid(r, 'padding_attack', `declares a body of ${wide.length} bytes but the body measures ${bytes} bytes`);
  });

  it('rejects a padded receipt with the wrong declared length as padding_attack', async () => {
    const len = Buffer.byteLength(receipt);
    for (const declared of [len + 1, len - 1, 9999, 0]) {
      const r = await doc(`{"body":${receipt},"declared_length":${declared}}`);
      expectInvalid(r, 'padding_attack', `declares a body of ${declared} bytes but the body measures ${len} bytes`);
      expect(r.where).toEqual({ file: 'doc.json', pointer: '/declared_length' });
      expect(r.kind).toBe('receipt');
    }
  });

  it('treats a wrapper-shaped object with an extra member as a receipt (unknown_field)', async () => {
    const len = Buffer.byteLength(receipt);
    const r = await doc(`{"body":${receipt},"declared_length":${len},"note":"x"}`);
    expectInvalid(r, 'unknown_field');
    expect(r.kind).toBe('receipt');
    const chain = bareChain(2);
    const b = await doc(`{"declared_receipt_count":2,"receipts":[${chain.join(',')}],"x":1}`);
    expectInvalid(b, 'unknown_field');
    expect(b.kind).toBe('receipt');
  });

  it('verifies a receipt bundle as a chain and rejects a count mismatch as receipt_count_mismatch', async () => {
    const chain = bareChain(4);
    const ok = await doc(`{"declared_receipt_count":4,"receipts":[${chain.join(',')}]}`);
    expect({ verdict: ok.verdict, kind: ok.kind, receipt_count: ok.receipt_count, final_seq: ok.final_seq, root_hash: ok.root_hash }).toEqual({
      verdict: 'valid',
      kind: 'chain',
      receipt_count: 4,
      final_seq: 3n,
      root_hash: receiptHash(chain[3]!),
    });
    const bad = await doc(`{"receipts":[${chain.join(',')}],"declared_receipt_count":5}`);
    expectInvalid(bad, 'receipt_count_mismatch', 'bundle declares 5 receipts but carries 4');
    expect(bad.kind).toBe('chain');
    expect(bad.where).toEqual({ file: 'doc.json', pointer: '/declared_receipt_count' });
    // A broken chain inside a bundle is located by array pointer and index.
    const broken = await doc(`{"declared_receipt_count":3,"receipts":[${[chain[0], chain[1], chain[3]].join(',')}]}`);
    expectInvalid(broken, 'chain_break');
    expect(broken.where?.index).toBe(2);
    const inner = await doc(`{"declared_receipt_count":2,"receipts":[${chain[0]},{"version":1}]}`);
    expectInvalid(inner, 'missing_required_field');
    expect(inner.where).toEqual({ file: 'doc.json', pointer: '/receipts/1/action_record', index: 1 });
    expect((await doc('{"declared_receipt_count":0,"receipts":[]}')).reason).toBe('malformed_json');
  });

  it('rejects an EvidenceReceipt v2 given as a single document as unsupported_version', async () => {
    const r = await doc('{"record_type":"evidence_receipt_v2","receipt_version":2,"payload_kind":"proxy_decision"}');
    expectInvalid(r, 'unsupported_version', 'EvidenceReceipt v2');
    expect(r.kind).toBe('receipt');
  });

  it.skipIf(!haveShared)('rejects the three shared EvidenceReceipt v2 samples as unsupported_version', async () => {
    const d = shared('reference', 'pipelock-evidence-v2');
    const names = (await readdir(d)).filter((f) => f.startsWith('valid-evidence-')).sort();
    expect(names).toEqual(['valid-evidence-promote-committed.json', 'valid-evidence-proxy-decision.json', 'valid-evidence-shadow-delta.json']);
    for (const f of names) {
      const r = await verifyPath(join(d, f), testOptions({ pinnedKeys: ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'] }));
      expect({ f, verdict: r.verdict, reason: r.reason, kind: r.kind }).toEqual({ f, verdict: 'invalid', reason: 'unsupported_version', kind: 'receipt' });
      expect(JSON.parse(await readFile(join(d, f), 'utf8')).record_type).toBe('evidence_receipt_v2');
    }
  });

  it('rejects a recorder entry given as a single document (it is not a receipt)', async () => {
    const r = await doc(alpha[0]!);
    expect(r.verdict).toBe('invalid');
    expect(r.kind).toBe('receipt');
    expect(r.reason).toBe('unknown_field');
  });

  it('keeps the re-sealed helper faithful (sanity)', () => {
    expect(rechain(alpha)).toEqual(alpha);
  });
});
