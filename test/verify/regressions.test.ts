/**
 * Rules found wanting by review, each fed the input that broke it.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEntry } from '../../src/chain/recorder.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { main } from '../../src/cli/main.js';
import { parseJsonText } from '../../src/json/strict.js';
import { toJson } from '../../src/report/json-out.js';
import { verifyDocument } from '../../src/verify/document.js';
import { verifyPath } from '../../src/verify/inputs.js';
import { ChainBuilder, endorsementOf, endorsementText, jsonl, receiptEntries, recorderLines, RUN_A, OPEN_A, RUN_B, OPEN_B, verifyText } from '../helpers/chains.js';
import { otherSigner, signed, testOptions, testSigner } from '../helpers/fixtures.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), color: false }, out, err };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ev-regress-'));
}

function tinyCorpus(expect: Record<string, unknown>): string {
  const d = tmp();
  mkdirSync(join(d, 'golden'));
  writeFileSync(join(d, 'golden', 'a.json'), signed());
  writeFileSync(join(d, 'golden', 'a.expect.json'), JSON.stringify({ fixture_id: 'a', category: 'golden', input_format: 'receipt', verdict: 'accept', ...expect }));
  return d;
}

describe('conformance options are checked, not trusted', () => {
  it('a bad --now is a usage error (64)', async () => {
    const c = capture();
    expect(await main(['node', 'egress-verify', 'conformance', tinyCorpus({}), '--pubkey', testSigner.publicKeyHex, '--now', 'garbage'], c.io)).toBe(64);
    expect(c.err.join('')).toContain('--now "garbage"');
  });

  for (const [name, vc, msg] of [
    ['now', { now: 'yesterday' }, 'verifier_config.now'],
    ['max_age', { max_age: '1h' }, 'verifier_config.max_age'],
    ['endorsement file', { rotation_endorsements: ['nope.json'] }, 'cannot read nope.json'],
    ['pinned_keys', { pinned_keys: ['xyz'] }, 'verifier_config.pinned_keys'],
  ] as const) {
    it(`a bad verifier_config.${name} stops the run with exit 1 and names it`, async () => {
      const c = capture();
      expect(await main(['node', 'egress-verify', 'conformance', tinyCorpus({ verifier_config: vc }), '--pubkey', testSigner.publicKeyHex], c.io)).toBe(1);
      expect(c.err.join('')).toContain(msg);
    });
  }

  it('a corpus directory that does not exist is exit 2', async () => {
    const c = capture();
    expect(await main(['node', 'egress-verify', 'conformance', join(tmp(), 'missing'), '--pubkey', testSigner.publicKeyHex], c.io)).toBe(2);
  });
});

describe('evidence directories bind endorsements to one session only', () => {
  it('--session-id alpha does not leak alpha\'s endorsement into session beta', async () => {
    const b = new ChainBuilder()
      .openG1(RUN_A, OPEN_A, { recorder_session: 'alpha' })
      .add()
      .add()
      .rotate(otherSigner, { run: RUN_B, open: OPEN_B, mut: (r) => (r.session_control.open.recorder_session = 'alpha') })
      .add()
      .close();
    const e = endorsementText(testSigner, { sessionId: 'alpha', priorFinalSeq: 2n, priorTailHash: b.hashes[2]!, newSignerKey: otherSigner.publicKeyHex });
    const d = tmp();
    writeFileSync(join(d, 'evidence-alpha-0.jsonl'), jsonl(recorderLines(receiptEntries(b.receipts), 'alpha').lines));
    writeFileSync(join(d, 'evidence-beta-0.jsonl'), jsonl(recorderLines(receiptEntries(new ChainBuilder().add().add().receipts), 'beta').lines));
    const r = await verifyPath(d, testOptions({ endorsements: [endorsementOf(e)], recorderSessionId: 'alpha' }));
    expect(r.sessions?.map((s) => [s.session_id, s.verdict, s.reason])).toEqual([
      ['alpha', 'valid', null],
      ['beta', 'valid', null],
    ]);
  });
});

describe('checkpoints after an authorised key rotation', () => {
  const b = new ChainBuilder().openG1().add().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add().close();
  const e = endorsementOf(endorsementText(testSigner, { sessionId: 'proxy', priorFinalSeq: 2n, priorTailHash: b.hashes[2]!, newSignerKey: otherSigner.publicKeyHex }));
  /** Receipts, then a checkpoint signed by `signer` over the last entry hash. */
  const withCheckpoint = (signer: typeof testSigner) => {
    const { lines, lastHash } = recorderLines(receiptEntries(b.receipts));
    const sig = signEd25519(signer.privateKey, Buffer.from(lastHash, 'ascii')).toString('hex');
    const cp = recorderLines([{ type: 'checkpoint', detail: JSON.stringify({ entry_count: lines.length, first_seq: 0, last_seq: lines.length - 1, signature: sig }) }], 'proxy', BigInt(lines.length), lastHash);
    return jsonl([...lines, ...cp.lines]);
  };

  it('accepts a checkpoint signed by the key the chain rotated to', async () => {
    const r = await verifyText(withCheckpoint(otherSigner), testOptions({ endorsements: [e] }));
    expect([r.verdict, r.reason]).toEqual(['valid', null]);
  });

  it('still rejects a checkpoint signed by a key the chain never authorised', async () => {
    const stranger = (await import('../helpers/fixtures.js')).thirdSigner;
    const r = await verifyText(withCheckpoint(stranger), testOptions({ endorsements: [e] }));
    expect([r.verdict, r.reason, r.where?.pointer]).toEqual(['invalid', 'signature_invalid', '/detail/signature']);
  });
});

describe('small output and classification rules', () => {
  it('toJson writes bigints exactly and leaves look-alike strings alone', () => {
    expect(toJson({ n: 18446744073709551615n, s: '\u0000bigint:5', t: 'bigint-x:5' }, 0)).toBe('{"n":18446744073709551615,"s":"\\u0000bigint:5","t":"bigint-x:5"}');
  });

  it('case-fold aliases are exactly those Go would match: ASCII case, ſ and the Kelvin sign', () => {
    const entry = (key: string) => {
      const text = `{"v":2,"seq":0,"type":"decision",${JSON.stringify(key)}:"x"}`;
      const p = parseJsonText(text);
      if (!p.ok) throw new Error(p.error.message);
      const r = readEntry(p.value, text);
      return r.ok ? 'ok' : r.problem.reason;
    };
    expect(entry('Summary')).toBe('unknown_field');
    expect(entry('\u017fession_id')).toBe('unknown_field');
    expect(entry('\u212aind')).toBe('ok'); // no member "kind" at the entry level
    expect(entry('trace_Id')).toBe('unknown_field');
    expect(entry('se\u00dfion_id')).toBe('ok'); // ß does not simple-fold to s
    expect(entry('sess\u0131on_id')).toBe('ok'); // dotless i does not fold to i
    expect(entry('writer_in\ufb06ance_id')).toBe('ok');
  });

  it('objects with wrapper member names but other types are receipts, not wrappers (§9.4)', async () => {
    for (const doc of ['{"body":"x","declared_length":1}', '{"declared_receipt_count":"1","receipts":[]}', '{"body":{},"declared_length":-1}']) {
      const r = await verifyDocument(Buffer.from(doc), 'doc.json', testOptions());
      expect('report' in r && [r.report.reason, r.report.kind]).toEqual(['unknown_field', 'receipt']);
    }
  });

  it('an empty .jsonl cannot be classified: kind null', async () => {
    const r = await verifyText('\n\n');
    expect([r.verdict, r.reason, r.kind, r.message]).toEqual(['invalid', 'malformed_json', null, 'empty chain: no receipts found']);
  });
});
