/**
 * RecorderChainWriter (receipts-v1 §6, §7): deterministic under a fixed
 * clock and fixed nonces; the transcript root carries the first and last
 * receipt times in UTC; checkpoints count and span exactly the entries since
 * the previous checkpoint and are signed over their own prev_hash.
 */
import { verify as cryptoVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { publicKeyObject } from '../../src/crypto/ed25519.js';
import { RecorderChainWriter, type ChainWriterOptions, type Decision } from '../../src/emit/chain.js';
import { goTimestamp } from '../../src/receipt/time.js';
import { verifyLines } from '../helpers/chains.js';
import { decisions, otherSigner, testSigner } from '../helpers/fixtures.js';
import { detailText, sha256hex, specEntryHash } from './support.js';

const RUN = '0123456789abcdef0123456789abcdef';
const OPEN = 'fedcba9876543210fedcba9876543210';

/** A clock that starts at 2026-04-15T12:00:00Z and advances `stepMs` per call. */
function clockFrom(stepMs = 1000, start = '2026-04-15T12:00:00Z'): () => string {
  let t = Date.parse(start) - stepMs;
  return () => goTimestamp(new Date((t += stepMs)));
}

function run(ds: readonly Decision[], opts: Partial<ChainWriterOptions> = {}, signer = testSigner): { lines: string[]; w: RecorderChainWriter } {
  const w = new RecorderChainWriter(signer, { clock: clockFrom(), runNonce: RUN, openNonce: OPEN, ...opts });
  return { lines: [...w.open(), ...ds.flatMap((d) => w.record(d)), ...w.close()], w };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const parse = (l: string) => JSON.parse(l) as Record<string, any>;

describe('determinism', () => {
  it('two writers with the same clock and nonces write identical lines, in every format and profile', () => {
    for (const opts of [{}, { profile: 'legacy' as const }, { format: 'bare' as const }, { checkpointInterval: 2 }]) {
      const a = run(decisions(6), opts).lines;
      const b = run(decisions(6), opts).lines;
      expect(a.length).toBeGreaterThan(5);
      expect(b).toEqual(a);
    }
  });

  it('the nonces are the only randomness: without them two writers differ, and only in nonce-bound bytes', () => {
    const mk = () => new RecorderChainWriter(testSigner, { clock: clockFrom() });
    const [w1, w2] = [mk(), mk()];
    const o1 = w1.open()[0]!;
    const o2 = w2.open()[0]!;
    expect(o1).not.toBe(o2);
    const n1 = parse(o1).detail.action_record.run_nonce as string;
    const n2 = parse(o2).detail.action_record.run_nonce as string;
    expect(n1).toMatch(/^[0-9a-f]{32}$/);
    expect(n1).not.toBe(n2);
    // Legacy chains carry no nonce at all and are identical without any being fixed.
    const l = () => new RecorderChainWriter(testSigner, { clock: clockFrom(), profile: 'legacy' });
    const [l1, l2] = [l(), l()];
    expect([...l1.open(), ...l1.record(decisions(1)[0]!), ...l1.close()]).toEqual([...l2.open(), ...l2.record(decisions(1)[0]!), ...l2.close()]);
  });

  it('a different key, nonce or clock changes the output', () => {
    const base = run(decisions(2)).lines;
    expect(run(decisions(2), {}, otherSigner).lines[0]).not.toBe(base[0]);
    expect(run(decisions(2), { runNonce: RUN.replace('0', '1') }).lines[0]).not.toBe(base[0]);
    expect(run(decisions(2), { clock: clockFrom(2000) }).lines[1]).not.toBe(base[1]);
  });
});

describe('transcript root', () => {
  it('start_time / end_time are the first / last receipt times converted to UTC; root_hash, final_seq and receipt_count match the receipts', async () => {
    const ds: Decision[] = [
      { ...decisions(1)[0]!, timestamp: '2026-04-15T14:00:00.5+02:00' },
      { ...decisions(2)[1]!, timestamp: '2026-04-15T12:00:03Z' },
      { ...decisions(3)[2]!, timestamp: '2026-04-15T08:00:05.123-04:00' },
    ];
    const { lines, w } = run(ds, { profile: 'legacy', checkpointInterval: 0 });
    expect(lines.map((l) => parse(l).type)).toEqual(['action_receipt', 'action_receipt', 'action_receipt', 'transcript_root']);
    // The receipts keep their own offsets (§4.6: rendered, not converted).
    expect(lines.slice(0, 3).map((l) => parse(l).detail.action_record.timestamp)).toEqual(['2026-04-15T14:00:00.5+02:00', '2026-04-15T12:00:03Z', '2026-04-15T08:00:05.123-04:00']);
    const root = parse(lines[3]!);
    const lastHash = sha256hex(detailText(lines[2]!));
    expect(detailText(lines[3]!)).toBe(`{"session_id":"proxy","final_seq":2,"root_hash":"${lastHash}","receipt_count":3,"start_time":"2026-04-15T12:00:00.5Z","end_time":"2026-04-15T12:00:05.123Z"}`);
    expect(root.summary).toBe(`transcript_root: 3 receipts, root=${lastHash.slice(0, 16)}`);
    expect([root.event_kind, root.transport]).toEqual(['transcript_root', '']);
    expect(w.rootHash).toBe(lastHash);
    expect(w.count).toBe(3);
    const r = await verifyLines(lines);
    expect([r.verdict, r.reason, r.receipt_count, r.root_hash]).toEqual(['valid', null, 3, lastHash]);
  });

  it('session profile: the span runs from session_open to session_close, and close names the previous receipt', async () => {
    const { lines } = run(decisions(2), { checkpointInterval: 0 });
    const receipts = lines.filter((l) => parse(l).type === 'action_receipt');
    expect(receipts.length).toBe(4);
    const ars = receipts.map((l) => parse(l).detail.action_record);
    const root = parse(lines[lines.length - 1]!).detail;
    expect(root).toEqual({ session_id: 'proxy', final_seq: 3, root_hash: sha256hex(detailText(receipts[3]!)), receipt_count: 4, start_time: ars[0].timestamp, end_time: ars[3].timestamp });
    expect([ars[0].timestamp, ars[3].timestamp]).toEqual(['2026-04-15T12:00:00Z', '2026-04-15T12:00:03Z']);
    expect(ars[3].session_control.close).toEqual({
      run_nonce: RUN,
      open_nonce: OPEN,
      final_seq: 3,
      root_hash: sha256hex(detailText(receipts[2]!)),
      receipt_count: 4,
      close_reason: 'graceful_shutdown',
      fsync_errors_gated: 0,
      durability_blocks: 0,
    });
    expect(ars[0].chain_prev_hash).toBe(ars[0].session_control.open.genesis_hash);
    expect(ars.slice(1).map((a) => a.chain_prev_hash)).toEqual(receipts.slice(0, 3).map((l) => sha256hex(detailText(l))));
    expect((await verifyLines(lines)).verdict).toBe('valid');
  });
});

describe('checkpoints', () => {
  function checkpoints(lines: string[]) {
    return lines
      .map((l, i) => ({ e: parse(l), i, l }))
      .filter(({ e }) => e.type === 'checkpoint')
      .map(({ e, l }) => {
        expect(detailText(l)).toMatch(/^\{"entry_count":\d+,"first_seq":\d+,"last_seq":\d+,"signature":"[0-9a-f]{128}"\}$/);
        // Signed with the recorder key over the ASCII of the entry's own prev_hash (§7.6).
        expect(cryptoVerify(null, Buffer.from(e.prev_hash, 'ascii'), publicKeyObject(testSigner.publicKeyHex), Buffer.from(e.detail.signature, 'hex'))).toBe(true);
        expect([e.event_kind, e.transport]).toEqual(['checkpoint', '']);
        return { seq: e.seq, n: e.detail.entry_count, first: e.detail.first_seq, last: e.detail.last_seq, summary: e.summary };
      });
  }

  it('every 3 entries: entry_count excludes checkpoints, first_seq/last_seq cover the span, a final one on close', async () => {
    const { lines } = run(decisions(7), { profile: 'legacy', checkpointInterval: 3 });
    expect(lines.map((l) => parse(l).type)).toEqual([
      'action_receipt', 'action_receipt', 'action_receipt', 'checkpoint',
      'action_receipt', 'action_receipt', 'action_receipt', 'checkpoint',
      'action_receipt', 'transcript_root', 'checkpoint',
    ]);
    expect(checkpoints(lines)).toEqual([
      { seq: 3, n: 3, first: 0, last: 2, summary: 'checkpoint: 3 entries [seq 0-2]' },
      { seq: 7, n: 3, first: 4, last: 6, summary: 'checkpoint: 3 entries [seq 4-6]' },
      { seq: 10, n: 2, first: 8, last: 9, summary: 'checkpoint: 2 entries [seq 8-9]' },
    ]);
    lines.forEach((l, i) => {
      expect(parse(l).seq).toBe(i);
      expect(parse(l).hash).toBe(specEntryHash(l));
    });
    expect((await verifyLines(lines)).verdict).toBe('valid');
  });

  it('every entry (interval 1) and never (interval 0)', async () => {
    const one = run(decisions(2), { checkpointInterval: 1 }).lines;
    // open, d0, d1, close, root: each followed by its own checkpoint.
    expect(checkpoints(one).map(({ seq, n, first, last }) => [seq, n, first, last])).toEqual([
      [1, 1, 0, 0],
      [3, 1, 2, 2],
      [5, 1, 4, 4],
      [7, 1, 6, 6],
      [9, 1, 8, 8],
    ]);
    expect((await verifyLines(one)).verdict).toBe('valid');
    const none = run(decisions(5), { checkpointInterval: 0 }).lines;
    expect(none.some((l) => parse(l).type === 'checkpoint')).toBe(false);
    expect((await verifyLines(none)).verdict).toBe('valid');
  });

  it('the default interval (1000) writes a single checkpoint on close covering everything', () => {
    const { lines } = run(decisions(4));
    expect(checkpoints(lines).map(({ seq, n, first, last }) => [seq, n, first, last])).toEqual([[7, 7, 0, 6]]);
  });

  it('the bare format has no entries, checkpoints or root: one canonical receipt per line', async () => {
    const { lines, w } = run(decisions(3), { format: 'bare', checkpointInterval: 2 });
    expect(lines.length).toBe(5);
    expect(lines.every((l) => l.startsWith('{"version":1,"action_record":{'))).toBe(true);
    expect(w.rootHash).toBe(sha256hex(lines[4]!));
    expect((await verifyLines(lines)).verdict).toBe('valid');
  });
});
