/**
 * The chain walker through the chain-input entry points (receipts-v1 §6,
 * §9.3 steps 11–15, §9.6, §9.7): every linkage, genesis, session-control,
 * rotation, signer, replay, semantic, freshness, trust and precedence rule
 * gets the input it exists to catch, asserted by verdict, reason and place.
 */
import { describe, expect, it } from 'vitest';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { JArr, JObj, parseJsonText } from '../../src/json/strict.js';
import { SignatureRegistry } from '../../src/receipt/signature.js';
import { parseGoTime } from '../../src/receipt/time.js';
import type { Report } from '../../src/report/report.js';
import { verifyReceiptArray } from '../../src/verify/chain-input.js';
import { verifyDocument } from '../../src/verify/document.js';
import {
  ChainBuilder,
  endorsementOf,
  endorsementText,
  jsonl,
  OPEN_A,
  OPEN_B,
  receiptEntries,
  receiptHash,
  receiptsOfRecorder,
  recorderLines,
  remake,
  RUN_A,
  RUN_B,
  RUN_C,
  tsAt,
  verifyLines,
  verifyText,
  type Rec,
} from '../helpers/chains.js';
import { bareChain, decisions, otherSigner, recorderChain, signed, testOptions, testSigner, thirdSigner } from '../helpers/fixtures.js';

const K1 = testSigner.publicKeyHex;
const K2 = otherSigner.publicKeyHex;
const K3 = thirdSigner.publicKeyHex;

function expectValid(r: Report, count: number): void {
  expect({ verdict: r.verdict, reason: r.reason, message: r.message }).toEqual({ verdict: 'valid', reason: null, message: expect.any(String) });
  expect(r.receipt_count).toBe(count);
  expect(r.where).toBeNull();
}

/** Asserts an invalid report with the reason, receipt index and chain_seq (and 1-based line when given). */
function expectFail(r: Report, reason: string, at: { index?: number; seq?: bigint | number; line?: number; message?: string | RegExp } = {}): void {
  expect({ verdict: r.verdict, reason: r.reason }).toEqual({ verdict: 'invalid', reason });
  if (at.index !== undefined) expect(r.where?.index).toBe(at.index);
  if (at.seq !== undefined) expect(r.where?.chain_seq).toBe(BigInt(at.seq));
  if (at.line !== undefined) expect(r.where?.line).toBe(at.line);
  if (at.message !== undefined) {
    if (typeof at.message === 'string') expect(r.message).toContain(at.message);
    else expect(r.message).toMatch(at.message);
  }
  expect(r.receipt_count).toBeNull();
  expect(r.root_hash).toBeNull();
  expect(r.signer_keys).toEqual([]);
  expect(r.trusted).toBe(false);
}

/** Rebuilds recorder lines around (possibly edited) receipts. */
function asRecorder(receipts: readonly string[]): string[] {
  return recorderLines(receiptEntries(receipts)).lines;
}

// ---------------------------------------------------------------------------

describe('§6.3 segments, sequence numbers, linkage', () => {
  const chain = bareChain(6);

  it('accepts the honest chain and reports its summary', async () => {
    const r = await verifyLines(chain);
    expectValid(r, 6);
    expect(r.kind).toBe('chain');
    expect(r.final_seq).toBe(5n);
    expect(r.root_hash).toBe(receiptHash(chain[5]!));
    expect(r.signer_keys).toEqual([K1]);
    expect(r.trusted).toBe(true);
    expect(r.start_time).toBe('2026-04-15T12:00:00Z');
    expect(r.end_time).toBe('2026-04-15T12:00:05Z');
  });

  it('rejects two reordered lines at the first out-of-place receipt', async () => {
    const c = [...chain];
    [c[2], c[3]] = [c[3]!, c[2]!];
    expectFail(await verifyLines(c), 'chain_break', { index: 2, seq: 3, line: 3, message: 'chain_seq 3 where 2 was expected' });
  });

  it('rejects a dropped middle line as a sequence gap', async () => {
    const c = chain.filter((_, i) => i !== 2);
    expectFail(await verifyLines(c), 'chain_break', { index: 2, seq: 3, line: 3, message: 'chain_seq 3 where 2 was expected' });
  });

  it('rejects a dropped first line: receipt 0 must have chain_seq 0', async () => {
    expectFail(await verifyLines(chain.slice(1)), 'chain_break', { index: 0, seq: 1, line: 1, message: 'the first receipt must have chain_seq 0, found 1' });
  });

  it('rejects a duplicated line as a replay (step 13 precedes linkage, step 14)', async () => {
    const c = [...chain.slice(0, 3), chain[2]!, ...chain.slice(3)];
    expectFail(await verifyLines(c), 'replay_detected', { index: 3, seq: 2, line: 4, message: 'action_id "test-00002"' });
  });

  it('rejects an edited chain_prev_hash (re-signed, so only the link fails)', async () => {
    const c = [...chain];
    c[3] = remake(c[3]!, (ar) => (ar.chain_prev_hash = 'f'.repeat(64))).json;
    expectFail(await verifyLines(c), 'chain_break', { index: 3, seq: 3, line: 4, message: `expected ${receiptHash(chain[2]!)}, found ${'f'.repeat(64)}` });
  });

  it('rejects a chain_seq gap in an otherwise linked chain', async () => {
    const b = new ChainBuilder().add().add().add().add({ chain_seq: 4 }).add();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, seq: 4, message: 'chain_seq 4 where 3 was expected' });
  });

  it('rejects a second chain start (chain_seq 0 mid-chain without key_transition)', async () => {
    const b = new ChainBuilder().add().add().add({ chain_seq: 0 }).add();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, seq: 0, message: 'second chain start' });
    const g = new ChainBuilder().add().add().add({ chain_seq: 0, chain_prev_hash: 'genesis' });
    expectFail(await verifyLines(g.receipts), 'chain_break', { index: 2, seq: 0, message: 'second chain start' });
  });

  it('rejects chain_seq 1 on the first receipt', async () => {
    const b = new ChainBuilder().add({ chain_seq: 1 }).add();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 0, seq: 1, message: 'the first receipt must have chain_seq 0, found 1' });
  });

  it('rejects a key_transition on receipt 0', async () => {
    const b = new ChainBuilder().add({ key_transition: { prior_signer_key: K2, prior_chain_seq: 0, prior_chain_hash: 'a'.repeat(64) } }).add();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 0, seq: 0, message: 'must not carry key_transition' });
  });

  it.each([['genesi'], ['Genesis'], ['sha256:' + 'a'.repeat(64)], ['a'.repeat(64)], ['g1:' + 'A'.repeat(64)], ['g1:' + 'a'.repeat(63)], ['']])(
    'rejects the genesis marker %j on receipt 0',
    async (marker) => {
      const b = new ChainBuilder().add({ chain_prev_hash: marker }).add();
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 0, seq: 0, message: 'must be "genesis" or "g1:<64 hex>"' });
    },
  );

  it('rejects a g1: marker after receipt 0', async () => {
    const b = new ChainBuilder().add().add().add({ chain_prev_hash: 'g1:' + 'a'.repeat(64) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, seq: 2, message: 'only allowed on the first receipt' });
  });

  it('verifies a receipt bundle array in array order', async () => {
    const text = `{"declared_receipt_count":3,"receipts":[${chain.slice(0, 3).join(',')}]}`;
    const p = parseJsonText(text);
    if (!p.ok || !(p.value instanceof JObj)) throw new Error('parse');
    const arr = p.value.get('receipts') as JArr;
    const ok = await verifyReceiptArray(arr, text, 'bundle.json', testOptions());
    expectValid(ok, 3);
    expect(ok.root_hash).toBe(receiptHash(chain[2]!));
    const swapped = `{"declared_receipt_count":3,"receipts":[${[chain[0], chain[2], chain[1]].join(',')}]}`;
    const q = parseJsonText(swapped);
    if (!q.ok || !(q.value instanceof JObj)) throw new Error('parse');
    const bad = await verifyReceiptArray(q.value.get('receipts') as JArr, swapped, 'bundle.json', testOptions());
    expectFail(bad, 'chain_break', { index: 1, seq: 2 });
    expect(bad.where?.file).toBe('bundle.json');
  });
});

// ---------------------------------------------------------------------------

describe('§6.4 genesis markers', () => {
  it('rejects a legacy genesis whose receipt 0 carries a run_nonce', async () => {
    const b = new ChainBuilder().add({ run_nonce: RUN_A }).add();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 0, seq: 0, message: 'run-bound first receipt must be a session_open' });
  });

  it('accepts a run_nonce on a lone receipt (single-receipt mode has no run rules, §6.6) but not as receipt 0 of a chain', async () => {
    const one = signed({ run_nonce: RUN_A });
    const doc = await verifyDocument(Buffer.from(one), 'one.json', testOptions());
    expect('report' in doc && doc.report.verdict).toBe('valid');
    expectFail(await verifyLines([one]), 'chain_break', { index: 0 });
  });

  it('rejects a session_open on the legacy genesis marker', async () => {
    const b = new ChainBuilder().openG1();
    const r0 = remake(b.receipts[0]!, (ar) => (ar.chain_prev_hash = 'genesis'));
    expectFail(await verifyLines([r0.json]), 'chain_break', { index: 0, seq: 0, message: 'must not start from the legacy "genesis" marker' });
  });

  describe('bound g1 genesis, built with recorderChain() and edited inside', () => {
    const lines = recorderChain(decisions(2));
    const receipts = receiptsOfRecorder(lines);

    async function withFirst(mut: (ar: Rec) => void): Promise<Report> {
      const r0 = remake(receipts[0]!, mut).json;
      return verifyLines(asRecorder([r0, ...receipts.slice(1)]));
    }

    it('the unedited chain (re-wrapped) verifies, and so does the original', async () => {
      const r = await verifyLines(asRecorder(receipts));
      expectValid(r, 4);
      expect(r.kind).toBe('recorder');
      expectValid(await verifyLines(lines), 4);
      expect(JSON.parse(receipts[0]!).action_record.chain_prev_hash).toMatch(/^g1:[0-9a-f]{64}$/);
    });

    it('rejects a chain_prev_hash that is not the G of the open payload', async () => {
      const r = await withFirst((ar) => (ar.session_control.open.policy_hash = 'sha256:' + 'b'.repeat(64)));
      expectFail(r, 'chain_break', { index: 0, seq: 0, line: 1, message: 'differs from the genesis computed from session_open' });
    });

    it('rejects open.genesis_hash ≠ G', async () => {
      const r = await withFirst((ar) => (ar.session_control.open.genesis_hash = 'g1:' + 'c'.repeat(64)));
      expectFail(r, 'chain_break', { index: 0, seq: 0, message: 'session_open.genesis_hash differs from the computed genesis' });
    });

    it('rejects open.chain_open_seq ≠ 0 (not part of G, so only this rule fails)', async () => {
      const r = await withFirst((ar) => (ar.session_control.open.chain_open_seq = 1));
      expectFail(r, 'chain_break', { index: 0, seq: 0, message: 'chain_open_seq must be 0' });
    });

    it('rejects a prior_chain_head on the first open', async () => {
      const r = await withFirst((ar) => (ar.session_control.open.prior_chain_head = 'd'.repeat(64)));
      expectFail(r, 'chain_break', { index: 0, seq: 0, message: 'must not name a prior_chain_head' });
    });

    it('rejects a prior_chain_seq on the first open', async () => {
      const r = await withFirst((ar) => (ar.session_control.open.prior_chain_seq = 4));
      expectFail(r, 'chain_break', { index: 0, seq: 0, message: 'must not name a prior_chain_seq' });
    });

    it('rejects a g1 marker on a receipt 0 that is not a session_open', async () => {
      const r = await withFirst((ar) => delete ar.session_control);
      expectFail(r, 'chain_break', { index: 0, seq: 0, message: 'requires the first receipt to be a session_open' });
    });

    it('rejects a g1 session_open whose payload run_nonce is not the receipt run_nonce', async () => {
      const r = await withFirst((ar) => (ar.run_nonce = RUN_B));
      expectFail(r, 'chain_break', { index: 0, seq: 0, message: 'session_open payload run_nonce differs' });
    });
  });
});

// ---------------------------------------------------------------------------

describe('§6.5 session control', () => {
  it('accepts open, records, heartbeat, close, a run-less receipt after close, and a new run', async () => {
    const b = new ChainBuilder().openG1().add().heartbeat(1).add().heartbeat(2).close();
    b.run = '';
    b.add();
    b.restartOpen(RUN_B, OPEN_B).add().heartbeat(1).close();
    const r = await verifyLines(b.receipts);
    expectValid(r, 11);
    expect(r.final_seq).toBe(10n);
  });

  it('rejects a heartbeat whose chain_head is not the previous receipt hash', async () => {
    const b = new ChainBuilder().openG1().add().heartbeat(1, { mut: (r) => (r.session_control.heartbeat.chain_head = 'e'.repeat(64)) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, seq: 2, message: 'heartbeat chain_head' });
  });

  it('rejects a heartbeat whose chain_seq_head is not chain_seq − 1', async () => {
    const b = new ChainBuilder().openG1().add().heartbeat(1, { mut: (r) => (r.session_control.heartbeat.chain_seq_head = 2) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, seq: 2, message: 'chain_seq_head 2 is not chain_seq − 1 (1)' });
  });

  it('rejects a heartbeat whose payload run_nonce differs from the receipt', async () => {
    const b = new ChainBuilder().openG1().heartbeat(1, { mut: (r) => (r.session_control.heartbeat.run_nonce = RUN_B) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 1, message: 'heartbeat payload run_nonce differs' });
  });

  it('rejects a heartbeat with the wrong open_nonce', async () => {
    const b = new ChainBuilder().openG1().heartbeat(1, { mut: (r) => (r.session_control.heartbeat.open_nonce = OPEN_B) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 1, message: 'heartbeat open_nonce does not match' });
  });

  it('rejects a heartbeat for a run that is open but not the active one', async () => {
    const b = new ChainBuilder().openG1().restartOpen(RUN_B, OPEN_B);
    b.run = RUN_A;
    b.open = OPEN_A;
    b.heartbeat();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, message: 'heartbeat run_nonce is not the active run' });
  });

  it('rejects a heartbeat when no run is active', async () => {
    const b = new ChainBuilder().openG1().restartOpen(RUN_B, OPEN_B).close();
    b.run = RUN_A;
    b.open = OPEN_A;
    b.heartbeat();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'heartbeat without an active run' });
  });

  it('rejects a close whose root_hash is not the previous receipt hash', async () => {
    const b = new ChainBuilder().openG1().add().close({ mut: (r) => (r.session_control.close.root_hash = 'e'.repeat(64)) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, seq: 2, message: 'session_close root_hash' });
  });

  it('rejects a close whose final_seq is not its own chain_seq', async () => {
    const b = new ChainBuilder().openG1().add().close({ mut: (r) => (r.session_control.close.final_seq = 1) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, seq: 2, message: 'session_close final_seq 1 differs from its own chain_seq 2' });
  });

  it('reports a wrong close receipt_count as receipt_count_mismatch', async () => {
    const b = new ChainBuilder().openG1().add().add().add().close({ mut: (r) => (r.session_control.close.receipt_count = 4) });
    expectFail(await verifyLines(b.receipts), 'receipt_count_mismatch', { index: 4, seq: 4, message: 'declares receipt_count 4 but the key segment holds 5' });
  });

  it('counts receipt_count per key segment (chain_seq + 1), not over the chain', async () => {
    const ok = new ChainBuilder().openG1().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add().close();
    const opts = testOptions({ pinnedKeys: [K1, K2] });
    expectValid(await verifyLines(ok.receipts, opts), 5);
    const bad = new ChainBuilder().openG1().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add().close({ mut: (r) => (r.session_control.close.receipt_count = 5) });
    expectFail(await verifyLines(bad.receipts, opts), 'receipt_count_mismatch', { index: 4, seq: 2, message: 'holds 3 receipts' });
  });

  it('rejects a second session_open for the same run', async () => {
    const b = new ChainBuilder().openG1().add().restartOpen(RUN_A, OPEN_B);
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, message: 'duplicate session_open' });
  });

  it('rejects re-opening a closed run', async () => {
    const b = new ChainBuilder().openG1().close().restartOpen(RUN_A, OPEN_A);
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2, message: 'duplicate session_open' });
  });

  it('rejects a record of a run after its close', async () => {
    const b = new ChainBuilder().openG1().add().close().add();
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, seq: 3, message: 'record observed after session_close' });
  });

  it('rejects a run_nonce that no session_open introduced', async () => {
    const b = new ChainBuilder().add().add({ run_nonce: RUN_C });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 1, message: 'first receipt is not a matching session_open' });
  });

  it('rejects session_control on a receipt without run_nonce', async () => {
    const b = new ChainBuilder().openG1().heartbeat(1, { mut: (r) => delete r.run_nonce });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 1, message: 'session_control receipt missing run_nonce' });
  });

  describe('restart opens (i > 0)', () => {
    const base = () => new ChainBuilder().openG1().add().close();

    it('accept the honest restart', async () => {
      expectValid(await verifyLines(base().restartOpen(RUN_B, OPEN_B).add().receipts), 5);
    });

    it('reject a g1: chain_prev_hash', async () => {
      const b = base().restartOpen(RUN_B, OPEN_B, {}, { mut: (r) => (r.chain_prev_hash = 'g1:' + 'a'.repeat(64)) });
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'g1: genesis marker is only allowed on the first receipt' });
    });

    it('reject a genesis_hash', async () => {
      const b = base().restartOpen(RUN_B, OPEN_B, { genesis_hash: 'g1:' + 'a'.repeat(64) });
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'must not carry genesis_hash' });
    });

    it('reject chain_open_seq ≠ chain_seq', async () => {
      const b = base().restartOpen(RUN_B, OPEN_B, { chain_open_seq: 0 });
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, seq: 3, message: 'chain_open_seq 0 differs from the receipt chain_seq 3' });
    });

    it('reject a prior_chain_head that is not the previous hash', async () => {
      const b = base().restartOpen(RUN_B, OPEN_B, { prior_chain_head: 'b'.repeat(64) });
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'prior_chain_head does not match' });
    });

    it('reject a missing prior_chain_head', async () => {
      const b = base().restartOpen(RUN_B, OPEN_B, { prior_chain_head: undefined });
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'prior_chain_head does not match' });
    });

    it('reject a prior_chain_seq that is not the previous chain_seq', async () => {
      const b = base().restartOpen(RUN_B, OPEN_B, { prior_chain_seq: 1 });
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'prior_chain_seq 1 differs from the previous receipt chain_seq 2' });
    });

    it('reject an empty open_nonce', async () => {
      const b = base().restartOpen(RUN_B, '');
      expectFail(await verifyLines(b.receipts), 'chain_break', { index: 3, message: 'empty open_nonce' });
    });
  });
});

// ---------------------------------------------------------------------------

describe('§6.7 key rotation', () => {
  /** open(K1), 2 records, rotation to K2 with a restart open, 1 record, close. */
  const rotated = () => new ChainBuilder().openG1().add().add().rotate(otherSigner, { run: RUN_B, open: OPEN_B }).add().close();
  const b = rotated();
  const endorse = (over: Partial<Parameters<typeof endorsementText>[1]> = {}) =>
    endorsementOf(endorsementText(testSigner, { sessionId: 'proxy', priorFinalSeq: 2n, priorTailHash: b.hashes[2]!, newSignerKey: K2, ...over }));

  it('accepts the rotation when the successor is pinned', async () => {
    const r = await verifyLines(b.receipts, testOptions({ pinnedKeys: [K1, K2] }));
    expectValid(r, 6);
    expect(r.signer_keys).toEqual([K1, K2]);
    expect(r.final_seq).toBe(2n);
    expect(r.trusted).toBe(true);
  });

  it('rejects an unpinned successor without endorsement as signer_key_untrusted', async () => {
    expectFail(await verifyLines(b.receipts), 'signer_key_untrusted', { index: 3, seq: 0, line: 4, message: 'is not authorised by a rotation endorsement or a pinned key' });
  });

  it('accepts the rotation through a valid endorsement signed by the prior key', async () => {
    const r = await verifyLines(b.receipts, testOptions({ endorsements: [endorse()] }));
    expectValid(r, 6);
    expect(r.signer_keys).toEqual([K1, K2]);
    expect(r.trusted).toBe(true);
  });

  it('binds the endorsement to the recorder session and to the exact rotation point', async () => {
    expectFail(await verifyLines(b.receipts, testOptions({ endorsements: [endorse({ sessionId: 'other' })] })), 'signer_key_untrusted', { index: 3 });
    expectFail(await verifyLines(b.receipts, testOptions({ endorsements: [endorse({ priorFinalSeq: 1n })] })), 'signer_key_untrusted', { index: 3 });
    expectFail(await verifyLines(b.receipts, testOptions({ endorsements: [endorse({ priorTailHash: b.hashes[1]! })] })), 'signer_key_untrusted', { index: 3 });
    expectFail(await verifyLines(b.receipts, testOptions({ endorsements: [endorse({ newSignerKey: K3 })] })), 'signer_key_untrusted', { index: 3 });
    const configured = await verifyLines(b.receipts, testOptions({ endorsements: [endorse({ sessionId: 'other' })], recorderSessionId: 'other' }));
    // The endorsement now matches the configured session, but the session_open names "proxy".
    expectFail(configured, 'chain_break', { index: 0, message: 'is not the configured recorder session "other"' });
  });

  it('in trust-on-first-use mode trusts only receipt 0\'s key: a rotation still needs an endorsement, and nothing is trusted', async () => {
    const unpinned = (over = {}) => testOptions({ pinnedKeys: [], allowUnpinned: true, ...over });
    expectFail(await verifyLines(b.receipts, unpinned()), 'signer_key_untrusted', { index: 3, seq: 0 });
    const r = await verifyLines(b.receipts, unpinned({ endorsements: [endorse()] }));
    expect({ verdict: r.verdict, reason: r.reason, trusted: r.trusted, signer_keys: r.signer_keys }).toEqual({ verdict: 'valid', reason: null, trusted: false, signer_keys: [K1, K2] });
  });

  it('rejects two matching endorsements as signer_key_untrusted', async () => {
    const e = endorse();
    expectFail(await verifyLines(b.receipts, testOptions({ endorsements: [e, endorse({ rotatedAt: '2026-04-15T12:00:11Z' })] })), 'signer_key_untrusted', {
      index: 3,
      message: 'matched by 2 endorsements',
    });
  });

  it('rejects an endorsement left unused at the end as chain_break', async () => {
    const plain = new ChainBuilder().openG1().add().add();
    const e = endorsementOf(endorsementText(testSigner, { sessionId: 'proxy', priorFinalSeq: 2n, priorTailHash: plain.hashes[2]!, newSignerKey: K2 }));
    const r = await verifyLines(plain.receipts, testOptions({ endorsements: [e] }));
    expectFail(r, 'chain_break', { message: 'was not used' });
    // The truncation case: the endorsed chain cut just before its rotation.
    expectFail(await verifyLines(b.receipts.slice(0, 3), testOptions({ endorsements: [endorse()] })), 'chain_break', { message: 'was not used' });
  });

  it('consumes each endorsement once, and an endorsement still has to be used when the successor is also pinned', async () => {
    expectValid(await verifyLines(b.receipts, testOptions({ pinnedKeys: [K1, K2], endorsements: [endorse()] })), 6);
  });

  it('requires a session_open in the root segment when endorsements are supplied', async () => {
    const legacy = new ChainBuilder().add().add().rotate(otherSigner).add();
    const e = endorsementOf(endorsementText(testSigner, { sessionId: 'proxy', priorFinalSeq: 1n, priorTailHash: legacy.hashes[1]!, newSignerKey: K2 }));
    expectFail(await verifyLines(legacy.receipts, testOptions({ endorsements: [e] })), 'chain_break', { index: 2, message: 'root key segment to contain a session_open' });
    // Without endorsements, a pinned successor on a legacy chain is fine.
    expectValid(await verifyLines(legacy.receipts, testOptions({ pinnedKeys: [K1, K2] })), 4);
  });

  it('rejects a key_transition whose prior_chain_hash is not the previous hash (before trust)', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner, { mut: (r) => (r.key_transition.prior_chain_hash = 'a'.repeat(64)) });
    expectFail(await verifyLines(x.receipts), 'chain_break', { index: 2, seq: 0, message: 'prior_chain_hash does not match' });
  });

  it('rejects a key_transition receipt whose chain_prev_hash differs from prior_chain_hash', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner, { mut: (r) => (r.chain_prev_hash = 'a'.repeat(64)) });
    expectFail(await verifyLines(x.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'chain_break', { index: 2, message: 'chain_prev_hash of a key_transition receipt differs' });
  });

  it('rejects a wrong prior_signer_key', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner, { mut: (r) => (r.key_transition.prior_signer_key = K3) });
    expectFail(await verifyLines(x.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'chain_break', { index: 2, message: 'is not the current segment key' });
  });

  it('rejects a wrong prior_chain_seq', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner, { mut: (r) => (r.key_transition.prior_chain_seq = 0) });
    expectFail(await verifyLines(x.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'chain_break', { index: 2, message: 'prior_chain_seq 0 differs from the previous receipt chain_seq 1' });
  });

  it('rejects a key_transition that keeps the same key', async () => {
    const x = new ChainBuilder().add().add().rotate(testSigner);
    expectFail(await verifyLines(x.receipts), 'chain_break', { index: 2, seq: 0, message: 'does not change signer key' });
  });

  it('rejects a key_transition whose chain_seq is not 0', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner, { mut: (r) => (r.chain_seq = 2) });
    expectFail(await verifyLines(x.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'chain_break', { index: 2, seq: 2, message: 'must restart chain_seq at 0' });
  });

  it('checks linkage across the segment boundary', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner).add({}, { mut: (r) => (r.chain_prev_hash = 'c'.repeat(64)) });
    expectFail(await verifyLines(x.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'chain_break', { index: 3, seq: 1 });
    const y = new ChainBuilder().add().add().rotate(otherSigner).add({ chain_seq: 2 });
    expectFail(await verifyLines(y.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'chain_break', { index: 3, seq: 2, message: 'chain_seq 2 where 1 was expected' });
  });

  it('rejects a receipt of the old key after the rotation as signer_key_mismatch', async () => {
    const x = new ChainBuilder().add().add().rotate(otherSigner).add({}, { signer: testSigner });
    expectFail(await verifyLines(x.receipts, testOptions({ pinnedKeys: [K1, K2] })), 'signer_key_mismatch', { index: 3, seq: 1 });
  });
});

// ---------------------------------------------------------------------------

describe('§6.8 signer consistency and §6.9 replay', () => {
  it('rejects a middle receipt signed by another key without a transition', async () => {
    const b = new ChainBuilder().add().add().add({}, { signer: otherSigner }).add();
    const r = await verifyLines(b.receipts, testOptions({ pinnedKeys: [K1, K2] }));
    expectFail(r, 'signer_key_mismatch', { index: 2, seq: 2, message: `signer_key ${K2.slice(0, 8)}` });
    // Pinning does not matter: consistency is about the segment key.
    expectFail(await verifyLines(b.receipts), 'signer_key_mismatch', { index: 2 });
  });

  it('accepts the same action_id with a different decision_phase', async () => {
    const b = new ChainBuilder().add({ action_id: 'x', decision_phase: 'intent' }).add({ action_id: 'x', decision_phase: 'outcome' }).add({ action_id: 'x' });
    expectValid(await verifyLines(b.receipts), 3);
  });

  it('rejects the same action_id with the same decision_phase', async () => {
    const b = new ChainBuilder().add({ action_id: 'x', decision_phase: 'intent' }).add({ action_id: 'y' }).add({ action_id: 'x', decision_phase: 'intent' });
    expectFail(await verifyLines(b.receipts), 'replay_detected', { index: 2, seq: 2, message: 'with decision_phase "intent"' });
    const c = new ChainBuilder().add({ action_id: 'x' }).add({ action_id: 'x' });
    expectFail(await verifyLines(c.receipts), 'replay_detected', { index: 1, seq: 1 });
  });

  it('keeps replay memory inside one input only', async () => {
    const b = new ChainBuilder().add({ action_id: 'x' });
    const opts = testOptions();
    expectValid(await verifyLines(b.receipts, opts), 1);
    expectValid(await verifyLines(b.receipts, opts), 1);
  });
});

// ---------------------------------------------------------------------------

describe('§9.6 verdict_chain_mismatch', () => {
  /** A block (A) at 12:00:00, a filler, then an allow (B) of the same request. */
  function pair(a: Rec = {}, bOver: Rec = {}) {
    return new ChainBuilder()
      .add({ action_id: 'a', verdict: 'block', layer: 'dlp', timestamp: '2026-04-15T12:00:00Z', ...a })
      .add({ action_id: 'f', target: 'https://elsewhere.example/', timestamp: '2026-04-15T12:00:01Z' })
      .add({ action_id: 'b', verdict: 'allow', timestamp: '2026-04-15T12:00:02Z', ...bOver }).receipts;
  }

  it('flags a block followed by an allow of the same request within the window, at B, after every receipt passed', async () => {
    const r = await verifyLines(pair());
    expectFail(r, 'verdict_chain_mismatch', { index: 2, seq: 2, message: 'receipt 2 allows the same request' });
    expect(r.message).toContain('that receipt 0 blocked');
  });

  it('is outranked by a later receipt failure (it runs after all receipts)', async () => {
    const b = new ChainBuilder()
      .add({ action_id: 'a', verdict: 'block' })
      .add({ action_id: 'b', verdict: 'allow' })
      .add({}, { mut: (r) => (r.chain_prev_hash = 'a'.repeat(64)) });
    expectFail(await verifyLines(b.receipts), 'chain_break', { index: 2 });
  });

  it.each([
    ['A is an outcome receipt', { decision_phase: 'outcome' }, {}],
    ['A layer ratelimit', { layer: 'ratelimit' }, {}],
    ['A layer receipt_unavailable', { layer: 'receipt_unavailable' }, {}],
    ['A layer response_scan', { layer: 'response_scan' }, {}],
    ['A layer response_size', { layer: 'response_size' }, {}],
    ['A layer response_dlp', { layer: 'response_dlp' }, {}],
    ['A layer outcome', { layer: 'outcome' }, {}],
    ['A layer dlp_header (the headers are not part of the comparison)', { layer: 'dlp_header' }, {}],
    ['A layer body_dlp (the body is not part of the comparison)', { layer: 'body_dlp' }, {}],
    ['B is a hitl resolution', {}, { layer: 'hitl' }],
    ['B has a defer_id', {}, { defer_id: 'd-1' }],
    ['B has a resolution_policy', {}, { resolution_policy: 'p' }],
    ['B has a resolution_source', {}, { resolution_source: 'operator' }],
    ['a different target', {}, { target: 'https://api.example.com/v1/other' }],
    ['a different policy_hash', {}, { policy_hash: 'sha256:' + 'b'.repeat(64) }],
    ['a different action_type', {}, { action_type: 'write' }],
    ['a different method', {}, { method: 'POST' }],
    ['B 5.000000001 s after A', {}, { timestamp: '2026-04-15T12:00:05.000000001Z' }],
    ['B before A in time (negative difference)', { timestamp: '2026-04-15T12:00:03Z' }, { timestamp: '2026-04-15T12:00:02.999999999Z' }],
    ['the same action_id (different phase)', { decision_phase: 'intent' }, { action_id: 'a', decision_phase: 'outcome_x' }],
    ['A is an ask, not a block', { verdict: 'ask' }, {}],
  ])('does not flag when %s', async (_name, a, bOver) => {
    const r = await verifyLines(pair(a, bOver));
    expectValid(r, 3);
  });

  it.each([
    ['exactly 5 s apart (inclusive)', {}, { timestamp: '2026-04-15T12:00:05Z' }],
    ['0 s apart', {}, { timestamp: '2026-04-15T12:00:00Z' }],
    ['A has decision_phase intent', { decision_phase: 'intent' }, {}],
    ['B is an outcome (only A phase matters)', {}, { decision_phase: 'outcome' }],
    ['B is written with an offset zone, 5 s after A', {}, { timestamp: '2026-04-15T14:00:05+02:00' }],
    ['A has a request-side layer (ssrf)', { layer: 'ssrf' }, {}],
  ])('flags when %s', async (_name, a, bOver) => {
    const r = await verifyLines(pair(a, bOver));
    expectFail(r, 'verdict_chain_mismatch', { index: 2 });
  });
});

// ---------------------------------------------------------------------------

describe('§9.7 tamper classification in a chain', () => {
  const honest = new ChainBuilder().openG1().add({ verdict: 'block', target: 'https://blocked.example/' }).add().add();
  const sigOf = (json: string) => JSON.parse(json).signature as string;

  /** Replaces receipt k by `mut(record)` keeping receipt k's original signature; later receipts are relinked. */
  function tampered(k: number, mut: (r: Rec) => void): string[] {
    const b = new ChainBuilder().openG1();
    for (let i = 1; i < honest.length; i++) {
      const orig = honest.records[i]!;
      if (i === k) {
        b.add({ ...orig, chain_prev_hash: b.prevHash }, { mut, text: (j) => j.replace(/"signature":"[^"]*"/, `"signature":"${sigOf(honest.receipts[k]!)}"`) });
      } else b.add({ ...orig, chain_prev_hash: b.prevHash });
    }
    return b.receipts;
  }

  it('reports signature_invalid when the registry has never seen the signature', async () => {
    expectFail(await verifyLines(tampered(2, (r) => (r.verdict = 'warn'))), 'signature_invalid', { index: 2, seq: 2 });
  });

  it('reports body_tampered when the same verifier saw the signature valid over another record', async () => {
    const registry = new SignatureRegistry();
    expectValid(await verifyLines(honest.receipts, testOptions({ registry })), 4);
    expectFail(await verifyLines(tampered(1, (r) => (r.verdict = 'allow')), testOptions({ registry })), 'body_tampered', { index: 1, seq: 1 });
  });

  it('reports run_nonce_tampered when only run_nonce differs', async () => {
    const registry = new SignatureRegistry();
    await verifyLines(honest.receipts, testOptions({ registry }));
    // Receipt 2 moves to another run: the record differs only in run_nonce.
    const r = await verifyLines(tampered(2, (x) => (x.run_nonce = RUN_C)), testOptions({ registry }));
    expectFail(r, 'run_nonce_tampered', { index: 2, seq: 2 });
  });

  it('classifies within one input: a later receipt reusing an earlier receipt signature over another body', async () => {
    const b = new ChainBuilder().add({ verdict: 'block' }).add();
    const sig0 = sigOf(b.receipts[0]!);
    b.add({ verdict: 'allow', action_id: 'act-0000', decision_phase: 'outcome' }, { mut: (r) => (r.timestamp = tsAt(0)), text: (j) => j.replace(/"signature":"[^"]*"/, `"signature":"${sig0}"`) });
    expectFail(await verifyLines(b.receipts), 'body_tampered', { index: 2, seq: 2 });
  });
});

describe('§9.7 tamper classification of single receipts (shared registry)', () => {
  async function verifyDocumentText(text: string, registry: SignatureRegistry): Promise<Report> {
    const r = await verifyDocument(Buffer.from(text), 'r.json', testOptions({ registry }));
    if (!('report' in r)) throw new Error('packet');
    return r.report;
  }
  /** `json` with its action_record edited by `mut` but the original signature kept. */
  function tamper(json: string, mut: (ar: Rec) => void): string {
    const env = JSON.parse(json);
    mut(env.action_record);
    return JSON.stringify(env);
  }
  const withNonce = signed({ run_nonce: RUN_A });
  const without = signed();

  it.each([
    ['run_nonce changed', withNonce, (ar: Rec) => (ar.run_nonce = RUN_B), 'run_nonce_tampered'],
    ['run_nonce removed', withNonce, (ar: Rec) => delete ar.run_nonce, 'run_nonce_tampered'],
    ['run_nonce added', without, (ar: Rec) => (ar.run_nonce = RUN_B), 'run_nonce_tampered'],
    ['run_nonce and verdict changed', withNonce, (ar: Rec) => ((ar.run_nonce = RUN_B), (ar.verdict = 'block')), 'body_tampered'],
    ['verdict changed', withNonce, (ar: Rec) => (ar.verdict = 'block'), 'body_tampered'],
    ['chain_seq changed', without, (ar: Rec) => (ar.chain_seq = 7), 'body_tampered'],
  ])('%s → %s once the honest original was seen', async (_n, original, mut, reason) => {
    const registry = new SignatureRegistry();
    const t = tamper(original, mut);
    // Unseen: plain signature failure.
    expect((await verifyDocumentText(t, registry)).reason).toBe('signature_invalid');
    expect((await verifyDocumentText(original, registry)).verdict).toBe('valid');
    const r = await verifyDocumentText(t, registry);
    expect({ verdict: r.verdict, reason: r.reason }).toEqual({ verdict: 'invalid', reason });
  });

  it('recognises the signature whatever the case of its hex', async () => {
    const registry = new SignatureRegistry();
    await verifyDocumentText(without, registry);
    const t = tamper(without, (ar) => (ar.verdict = 'block')).replace(/"signature":"ed25519:([0-9a-f]{128})"/, (_m, h: string) => `"signature":"ed25519:${h.toUpperCase()}"`);
    expect((await verifyDocumentText(t, registry)).reason).toBe('body_tampered');
  });

  it('forgets the oldest entry beyond its capacity (then only signature_invalid is possible)', async () => {
    const registry = new SignatureRegistry(1);
    await verifyDocumentText(withNonce, registry);
    await verifyDocumentText(without, registry);
    expect(registry.size).toBe(1);
    expect((await verifyDocumentText(tamper(withNonce, (ar) => (ar.run_nonce = RUN_B)), registry)).reason).toBe('signature_invalid');
    expect((await verifyDocumentText(tamper(without, (ar) => (ar.run_nonce = RUN_B)), registry)).reason).toBe('run_nonce_tampered');
  });
});

// ---------------------------------------------------------------------------

describe('freshness, trust anchor and pinning', () => {
  const now = parseGoTime('2026-04-15T12:00:00Z')!;
  const at = (timestamp: string) => new ChainBuilder().add({ timestamp }).receipts;

  it('accepts a receipt exactly maxAge old and rejects one a nanosecond older as expired', async () => {
    const opts = () => testOptions({ now, maxAgeSeconds: 8760 * 3600 });
    expectValid(await verifyLines(at('2025-04-15T12:00:00Z'), opts()), 1);
    expectFail(await verifyLines(at('2025-04-15T11:59:59.999999999Z'), opts()), 'expired', { index: 0, seq: 0, message: 'older than the maximum age of 31536000 s' });
  });

  it('accepts a receipt exactly maxFutureSkew ahead and rejects one a nanosecond further as timestamp_in_future', async () => {
    const opts = () => testOptions({ now, maxFutureSkewSeconds: 900 });
    expectValid(await verifyLines(at('2026-04-15T12:15:00Z'), opts()), 1);
    expectValid(await verifyLines(at('2026-04-15T14:15:00+02:00'), opts()), 1);
    expectFail(await verifyLines(at('2026-04-15T12:15:00.000000001Z'), opts()), 'timestamp_in_future', { index: 0, message: 'more than 900 s in the future' });
  });

  it('does not bound age when maxAge is off, nor the future when the skew is off', async () => {
    expectValid(await verifyLines(at('2001-01-01T00:00:00Z'), testOptions({ maxAgeSeconds: null })), 1);
    expectValid(await verifyLines(at('2099-01-01T00:00:00Z'), testOptions({ maxFutureSkewSeconds: null })), 1);
  });

  it('fails a chain on one stale receipt in the middle', async () => {
    const b = new ChainBuilder().add().add({ timestamp: '2024-01-01T00:00:00Z' }).add();
    expectFail(await verifyLines(b.receipts), 'expired', { index: 1, seq: 1 });
  });

  it('reports no_trust_anchor (decided last) without a pinned key, valid with --allow-unpinned but never trusted', async () => {
    const chain = bareChain(3);
    const r = await verifyLines(chain, testOptions({ pinnedKeys: [] }));
    expect({ verdict: r.verdict, reason: r.reason, trusted: r.trusted, where: r.where }).toEqual({ verdict: 'invalid', reason: 'no_trust_anchor', trusted: false, where: null });
    expect(r.message).toContain('no public key was pinned');
    const u = await verifyLines(chain, testOptions({ pinnedKeys: [], allowUnpinned: true }));
    expect({ verdict: u.verdict, reason: u.reason, trusted: u.trusted, receipt_count: u.receipt_count }).toEqual({ verdict: 'valid', reason: null, trusted: false, receipt_count: 3 });
    expect(u.root_hash).toBe(receiptHash(chain[2]!));
    const p = await verifyLines(chain, testOptions({ allowUnpinned: true }));
    expect({ verdict: p.verdict, trusted: p.trusted }).toEqual({ verdict: 'valid', trusted: true });
  });

  it('reports a broken input with its own reason even when nothing is pinned', async () => {
    const c = bareChain(3);
    expectFail(await verifyLines([c[0]!, c[2]!], testOptions({ pinnedKeys: [] })), 'chain_break', { index: 1 });
  });

  it('rejects receipt 0 signed by a key that is not pinned: untrusted when the math holds, signature_invalid when not', async () => {
    const c = bareChain(2, otherSigner);
    expectFail(await verifyLines(c), 'signer_key_untrusted', { index: 0, seq: 0, message: 'is not a pinned key' });
    const forged = c[0]!.replace(/"signature":"ed25519:([0-9a-f])/, (_m, h: string) => `"signature":"ed25519:${h === '0' ? '1' : '0'}`);
    expectFail(await verifyLines([forged]), 'signature_invalid', { index: 0, message: 'does not verify under it either' });
  });

  it('matches pinned keys case-insensitively (pins are lowercased)', async () => {
    expectValid(await verifyLines(bareChain(2), testOptions({ pinnedKeys: [K1.toUpperCase()] })), 2);
  });
});

// ---------------------------------------------------------------------------

describe('precedence across a chain (§9.3)', () => {
  /** A chain whose receipt k carries a signature that does not verify, relinked after it. */
  function badSignatureAt(k: number, n: number, extra: (b: ChainBuilder, i: number) => Parameters<ChainBuilder['add']> = () => [{}]): ChainBuilder {
    const b = new ChainBuilder();
    for (let i = 0; i < n; i++) {
      const [over, o] = extra(b, i);
      if (i === k) {
        b.add(over, { ...o, text: (j) => j.replace(/"signature":"ed25519:([0-9a-f]{2})/, (_m, h: string) => `"signature":"ed25519:${h === '00' ? '11' : '00'}`) });
      } else b.add(over, o);
    }
    return b;
  }

  it('a syntax error on the last (LF-terminated) line outranks a signature failure on the first line', async () => {
    const b = badSignatureAt(0, 4);
    const text = jsonl([...b.receipts, '{"version":1,'], true);
    const r = await verifyText(text);
    expectFail(r, 'malformed_json', { line: 5 });
    expect(r.where?.index).toBeUndefined();
  });

  it('…but an unterminated torn last line yields to the failure of the prefix', async () => {
    const b = badSignatureAt(0, 4);
    const r = await verifyText(jsonl([...b.receipts, '{"version":1,'], false));
    expectFail(r, 'signature_invalid', { index: 0, seq: 0, line: 1 });
  });

  it('a duplicate key on a later line outranks a chain_break on an earlier one', async () => {
    const c = bareChain(4);
    const dup = c[3]!.replace('"verdict":"allow"', '"verdict":"allow","verdict":"allow"');
    const r = await verifyLines([c[0]!, c[2]!, dup]);
    expectFail(r, 'duplicate_key', { line: 3 });
  });

  it('a signature failure on receipt 2 outranks a chain_break on receipt 5', async () => {
    const b = badSignatureAt(2, 7, (_b, i) => (i === 5 ? [{}, { mut: (r: Rec) => (r.chain_prev_hash = 'b'.repeat(64)) }] : [{}]));
    const r = await verifyLines(b.receipts);
    expectFail(r, 'signature_invalid', { index: 2, seq: 2, line: 3 });
    // Control: with a good signature on receipt 2 the chain_break on receipt 5 is what remains.
    const c = new ChainBuilder().add().add().add().add().add().add({}, { mut: (x) => (x.chain_prev_hash = 'b'.repeat(64)) }).add();
    expectFail(await verifyLines(c.receipts), 'chain_break', { index: 5, seq: 5 });
  });

  it('a signature failure and a freshness failure on the same receipt report the signature', async () => {
    const b = badSignatureAt(1, 3, (_b, i) => [i === 1 ? { timestamp: '2024-01-01T00:00:00Z' } : {}]);
    expectFail(await verifyLines(b.receipts), 'signature_invalid', { index: 1, seq: 1 });
    const f = badSignatureAt(1, 3, (_b, i) => [i === 1 ? { timestamp: '2027-01-01T00:00:00Z' } : {}]);
    expectFail(await verifyLines(f.receipts), 'signature_invalid', { index: 1, seq: 1 });
  });

  it('a freshness failure on receipt 1 outranks a replay and a chain break after it', async () => {
    const b = new ChainBuilder().add().add({ timestamp: '2024-01-01T00:00:00Z' }).add({ action_id: 'act-0000' });
    expectFail(await verifyLines(b.receipts), 'expired', { index: 1 });
  });

  it('a structural failure of a receipt (steps 4–10) is located at that receipt', async () => {
    const c = bareChain(3);
    const bad = c[1]!.replace('"action_type":"read"', '"action_type":"teleport"');
    const r = await verifyLines([c[0]!, bad, c[2]!]);
    expectFail(r, 'invalid_action_type', { index: 1, line: 2 });
    expect(r.where?.pointer).toBe('/action_record/action_type');
  });

  it('a header injection in receipt 1 outranks its signature', async () => {
    const c = bareChain(2);
    const bad = c[1]!.replace('"actor":"agent:test"', '"actor":"agent:\\u0000test"');
    expectFail(await verifyLines([c[0]!, bad]), 'header_injection', { index: 1, line: 2 });
  });
});

// ---------------------------------------------------------------------------

describe('mutation sweep over a valid 20-receipt chain (nothing accepted, nothing throws)', () => {
  const chain = bareChain(20);
  const hashes = chain.map(receiptHash);
  const full = jsonl(chain, true);

  it('every adjacent swap is a chain_break at the first moved receipt', async () => {
    for (let i = 0; i + 1 < chain.length; i++) {
      const c = [...chain];
      [c[i], c[i + 1]] = [c[i + 1]!, c[i]!];
      const r = await verifyLines(c);
      // The receipt now at i carries chain_seq i+1, where i is expected.
      expectFail(r, 'chain_break', { index: i, seq: i + 1, line: i + 1 });
    }
  });

  it('every single dropped line is a chain_break, except the last, whose loss leaves a valid shorter chain', async () => {
    for (let i = 0; i < chain.length; i++) {
      const r = await verifyLines(chain.filter((_, j) => j !== i));
      if (i === chain.length - 1) {
        // Tail truncation at a line boundary is undetectable in a bare chain
        // (no close, no transcript root): the prefix is an honest chain.
        expectValid(r, 19);
        expect(r.root_hash).toBe(hashes[18]);
      } else {
        expectFail(r, 'chain_break', { index: i, seq: i + 1, line: i + 1 });
      }
    }
  });

  it('every duplicated line is a replay_detected at the copy', async () => {
    for (let i = 0; i < chain.length; i++) {
      const c = [...chain.slice(0, i + 1), chain[i]!, ...chain.slice(i + 1)];
      expectFail(await verifyLines(c), 'replay_detected', { index: i + 1, seq: i, line: i + 2 });
    }
  });

  it('truncation at many byte offsets: a cut inside a line is a torn tail with the verified prefix, a cut at a line end a shorter valid chain', async () => {
    const ends: number[] = [];
    for (let i = 0, off = 0; i < chain.length; i++) {
      off += Buffer.byteLength(chain[i]!) + 1;
      ends.push(off); // offset just after line i's LF
    }
    const offsets = new Set<number>();
    for (let o = 0; o <= full.length; o += 37) offsets.add(o);
    for (const e of ends) for (const d of [-2, -1, 0, 1]) if (e + d >= 0 && e + d <= full.length) offsets.add(e + d);
    let torn = 0;
    for (const withLf of [true, false]) {
      const src = withLf ? full : full.slice(0, -1);
      for (const o of offsets) {
        if (o > src.length) continue;
        const text = src.slice(0, o);
        const complete = ends.filter((e) => e - 1 <= o).length; // lines whose content is whole
        const atBoundary = o === 0 || ends.includes(o) || ends.some((e) => e - 1 === o);
        const r = await verifyText(text);
        if (complete === 0 && atBoundary) {
          expectFail(r, 'malformed_json', { message: 'empty chain: no receipts found' });
        } else if (atBoundary) {
          expectValid(r, complete);
          expect(r.root_hash).toBe(hashes[complete - 1]);
        } else {
          torn++;
          expectFail(r, 'malformed_json', { line: complete + 1, message: /^truncated final line/ });
          if (complete === 0) expect(r.verified_prefix).toBeUndefined();
          else expect(r.verified_prefix).toEqual({ receipt_count: complete, final_seq: BigInt(complete - 1), root_hash: hashes[complete - 1] });
        }
      }
    }
    expect(torn).toBeGreaterThan(300);
  });

  it('single-byte edits at many offsets are rejected at the edited line with a reason from the allowed set', async () => {
    // Each byte is XORed with 0x01: structure bytes become syntax errors, a
    // LF merges two lines, member names become unknown members, the version
    // digit becomes 0, hex stays hex or becomes non-hex but never a mere case
    // change (which would keep the signature bytes), and every signed value
    // changes the digest. So the failure must sit on the edited receipt, and
    // be one of these reasons (why each is possible is noted beside it):
    const allowed = new Set([
      'malformed_json', // syntax, merged lines, bad timestamp/number forms
      'unknown_field', // an edited member name
      'unsupported_version', // "version":1 → 0
      'invalid_action_type', // "read" → e.g. "reac"
      'signature_invalid', // any signed value, the signature text, or receipt 0's key (the signature cannot verify under another key)
      'signer_key_mismatch', // a later receipt's key text edited into other hex
    ]);
    // Not possible here: missing_required_field (a renamed member is caught
    // as unknown first, step 6 before 7, and XOR never empties a value) and
    // signer_key_untrusted (would need a signature valid under the edited key).
    const buf = Buffer.from(full, 'utf8');
    const starts: number[] = [];
    for (let i = 0, off = 0; i < chain.length; i++) {
      starts.push(off);
      off += Buffer.byteLength(chain[i]!) + 1;
    }
    const lineOf = (o: number) => starts.filter((s) => s <= o).length - 1;
    const seen = new Map<string, number>();
    let n = 0;
    for (let o = 0; o < buf.length; o += 7) {
      const b = Buffer.from(buf);
      b[o] = b[o]! ^ 0x01;
      const r = await verifyText(b);
      n++;
      expect(r.verdict, `offset ${o}`).toBe('invalid');
      expect(allowed.has(r.reason!), `offset ${o}: ${r.reason}`).toBe(true);
      seen.set(r.reason!, (seen.get(r.reason!) ?? 0) + 1);
      const line = lineOf(o);
      if (r.where?.index !== undefined) expect(r.where.index, `offset ${o}`).toBe(line);
      else expect(r.where?.line, `offset ${o}`).toBe(line + 1);
    }
    expect(n).toBeGreaterThan(1000);
    // The sweep really reached the main classes.
    for (const reason of ['malformed_json', 'unknown_field', 'signature_invalid']) expect(seen.get(reason) ?? 0, reason).toBeGreaterThan(10);
  });

  it('the signature of a mid-chain receipt spelled in upper case keeps its bytes but changes the link, so the next receipt breaks', async () => {
    const c = [...chain];
    c[5] = c[5]!.replace(/"signature":"ed25519:([0-9a-f]{128})"/, (_m, h: string) => `"signature":"ed25519:${h.toUpperCase()}"`);
    expectFail(await verifyLines(c), 'chain_break', { index: 6, seq: 6 });
  });

  it('a signature made by the right key over another chain position does not verify', async () => {
    const c = [...chain];
    const d = JSON.parse(c[4]!);
    const other = signEd25519(testSigner.privateKey, Buffer.alloc(32, 7)).toString('hex');
    d.signature = 'ed25519:' + other;
    c[4] = JSON.stringify(d);
    expectFail(await verifyLines(c), 'signature_invalid', { index: 4, seq: 4 });
  });
});

