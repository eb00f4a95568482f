/**
 * Flight-recorder JSONL (receipts-v1 §7, §9.3 torn tail): the entry reading
 * rules, the keyless entry hash (reproducing the Go vector of §11.4), the
 * outer entry chain, checkpoints, transcript roots, evidence entries, and
 * the line reader's limits.
 */
import { createHash } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { entryHash, readEntry, type RecorderEntry } from '../../src/chain/recorder.js';
import { signEd25519 } from '../../src/crypto/ed25519.js';
import { readLines, MAX_LINE_BYTES } from '../../src/io/lines.js';
import { parseJsonText } from '../../src/json/strict.js';
import type { Report } from '../../src/report/report.js';
import type { ChainFile } from '../../src/verify/chain-input.js';
import { verifyJsonl } from '../../src/verify/chain-input.js';
import { jsonl, rechain, receiptHash, receiptsOfRecorder, recorderLines, sealEntry, verifyText, type Rec } from '../helpers/chains.js';
import { bareChain, decisions, memFile, otherSigner, recorderChain, testOptions, testSigner } from '../helpers/fixtures.js';

type Read = { ok: true; entry: RecorderEntry } | { ok: false; problem: { reason: string; message: string; pointer: string } };

function read(line: string): Read {
  const p = parseJsonText(line);
  if (!p.ok) throw new Error(`not JSON: ${p.error.message}`);
  return readEntry(p.value, line);
}

function hashOf(line: string): string {
  const r = read(line);
  if (!r.ok) throw new Error(`${r.problem.reason}: ${r.problem.message}`);
  return entryHash(r.entry);
}

function problemOf(line: string): { reason: string; pointer: string } {
  const r = read(line);
  if (r.ok) throw new Error('expected a reading problem');
  return { reason: r.problem.reason, pointer: r.problem.pointer };
}

const V2_FULL =
  '{"v":2,"seq":7,"ts":"2026-09-27T18:36:18.5Z","session_id":"proxy.run.0123","trace_id":"tr","type":"action_receipt","event_kind":"read","transport":"receipt_session","summary":"receipt: allow","detail":{"b":1,"a":"x"},"raw_ref":"ref","prev_hash":"p","hash":"x"}';

/** A minimal v2 line with the given members replaced / added (raw JSON values). */
function v2(members: Record<string, string> = {}): string {
  const base: Record<string, string> = {
    v: '2',
    seq: '1',
    ts: '"2026-09-27T18:36:18Z"',
    session_id: '"s"',
    type: '"decision"',
    event_kind: '"read"',
    transport: '"t"',
    summary: '"x"',
    detail: '{}',
    prev_hash: '"genesis"',
    hash: '""',
  };
  const all = { ...base, ...members };
  return '{' + Object.entries(all).filter(([, v]) => v !== undefined && v !== '<absent>').map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',') + '}';
}

function expectInvalid(r: Report, reason: string, where: { line?: number; file?: string; pointer?: string; index?: number } = {}, message?: string | RegExp): void {
  expect({ verdict: r.verdict, reason: r.reason }).toEqual({ verdict: 'invalid', reason });
  for (const [k, v] of Object.entries(where)) expect((r.where as Record<string, unknown>)[k], k).toBe(v);
  if (message !== undefined) {
    if (typeof message === 'string') expect(r.message).toContain(message);
    else expect(r.message).toMatch(message);
  }
}

function expectValid(r: Report, count: number): void {
  expect({ verdict: r.verdict, reason: r.reason, where: r.where }).toEqual({ verdict: 'valid', reason: null, where: null });
  expect(r.receipt_count).toBe(count);
}

// ---------------------------------------------------------------------------

describe('§7.3 entry hash', () => {
  it('reproduces the §11.4 "v2 full" vector from the line text', () => {
    const r = read(V2_FULL);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.entry.detailText).toBe('{"b":1,"a":"x"}');
    expect(r.entry.tsUtc).toBe('2026-09-27T18:36:18.5Z');
    expect(entryHash(r.entry)).toBe('b73bd4c5936bd49ea136895fe1058c2efe35ea7a54582a2906f9ccb191583119');
  });

  it('does not hash the stored hash member', () => {
    expect(hashOf(V2_FULL.replace('"hash":"x"', '"hash":"' + 'f'.repeat(64) + '"'))).toBe('b73bd4c5936bd49ea136895fe1058c2efe35ea7a54582a2906f9ccb191583119');
  });

  it('hashes the detail source bytes verbatim: whitespace, key order and escapes count', () => {
    const base = hashOf(V2_FULL);
    expect(hashOf(V2_FULL.replace('{"b":1,"a":"x"}', '{ "b":1,"a":"x"}'))).not.toBe(base);
    expect(hashOf(V2_FULL.replace('{"b":1,"a":"x"}', '{"a":"x","b":1}'))).not.toBe(base);
    expect(hashOf(V2_FULL.replace('{"b":1,"a":"x"}', '{"b":1,"a":"\\u0078"}'))).not.toBe(base);
    const spaced = V2_FULL.replace('{"b":1,"a":"x"}', '{"b" : 1.50e0 ,\n "a":"\\/"}');
    expect(read(spaced).ok && (read(spaced) as { entry: RecorderEntry }).entry.detailText).toBe('{"b" : 1.50e0 ,\n "a":"\\/"}');
  });

  it('hashes an absent detail as the four bytes null, the same as an explicit null', () => {
    const absent = V2_FULL.replace(',"detail":{"b":1,"a":"x"}', '');
    const nul = V2_FULL.replace('{"b":1,"a":"x"}', 'null');
    expect(hashOf(absent)).toBe(hashOf(nul));
    expect(hashOf(absent)).not.toBe(hashOf(V2_FULL));
  });

  it('renders ts in UTC: an offset time hashes like its Z form, a zero fraction is dropped, digits beyond nine truncated', () => {
    const z = V2_FULL.replace('18.5Z', '18.25Z');
    const off = V2_FULL.replace('2026-09-27T18:36:18.5Z', '2026-09-28T00:06:18.25+05:30');
    const r = read(off);
    expect(r.ok && r.entry.tsUtc).toBe('2026-09-27T18:36:18.25Z');
    expect(hashOf(off)).toBe(hashOf(z));
    const neg = V2_FULL.replace('2026-09-27T18:36:18.5Z', '2026-09-27T08:36:18.5-10:00');
    expect(hashOf(neg)).toBe(hashOf(V2_FULL));
    expect((read(V2_FULL.replace('18.5Z', '18.000Z')) as { entry: RecorderEntry }).entry.tsUtc).toBe('2026-09-27T18:36:18Z');
    expect((read(V2_FULL.replace('18.5Z', '18.1234567891Z')) as { entry: RecorderEntry }).entry.tsUtc).toBe('2026-09-27T18:36:18.123456789Z');
    expect((read(V2_FULL.replace('2026-09-27T18:36:18.5Z', '2027-01-01T00:30:00+01:00')) as { entry: RecorderEntry }).entry.tsUtc).toBe('2026-12-31T23:30:00Z');
  });

  it('hashes a missing or null ts (v1/v2) as the zero time', () => {
    const absent = V2_FULL.replace('"ts":"2026-09-27T18:36:18.5Z",', '');
    const nul = V2_FULL.replace('"2026-09-27T18:36:18.5Z"', 'null');
    const zero = V2_FULL.replace('2026-09-27T18:36:18.5Z', '0001-01-01T00:00:00Z');
    expect((read(absent) as { entry: RecorderEntry }).entry.tsUtc).toBe('0001-01-01T00:00:00Z');
    expect(hashOf(absent)).toBe(hashOf(zero));
    expect(hashOf(nul)).toBe(hashOf(zero));
  });

  it('hashes seq as unsigned decimal up to 2^64 − 1', () => {
    const max = V2_FULL.replace('"seq":7', '"seq":18446744073709551615');
    expect((read(max) as { entry: RecorderEntry }).entry.seq).toBe(18446744073709551615n);
    expect(hashOf(max)).not.toBe(hashOf(V2_FULL));
    expect(problemOf(V2_FULL.replace('"seq":7', '"seq":18446744073709551616'))).toEqual({ reason: 'malformed_json', pointer: '/seq' });
  });

  it('v1 ignores event_kind in the hash; v2 includes it', () => {
    const v1 = V2_FULL.replace('"v":2', '"v":1');
    expect(hashOf(v1)).toBe(hashOf(v1.replace('"event_kind":"read",', '')));
    expect(hashOf(v1)).not.toBe(hashOf(V2_FULL));
    expect(hashOf(V2_FULL)).not.toBe(hashOf(V2_FULL.replace('"event_kind":"read",', '')));
    // v1 and v2 of the same line without event_kind still differ by the empty event_kind field.
    const v2none = V2_FULL.replace('"event_kind":"read",', '');
    expect(hashOf(v2none)).not.toBe(hashOf(v2none.replace('"v":2', '"v":1')));
  });

  it('v3 hashes chain_kind and writer_instance_id after session_id', () => {
    const v3 = V2_FULL.replace('"v":2', '"v":3').replace('"session_id":"proxy.run.0123",', '"session_id":"proxy.run.0123","chain_kind":"recorder","writer_instance_id":"w1",');
    const h = hashOf(v3);
    expect(h).not.toBe(hashOf(V2_FULL));
    expect(hashOf(v3.replace('"w1"', '"w2"'))).not.toBe(h);
    expect(hashOf(v3.replace('"recorder"', '"other"'))).not.toBe(h);
    // Member order in the line does not matter; the hash order is fixed.
    const moved = v3.replace('"chain_kind":"recorder",', '').replace('"hash":"x"', '"hash":"x","chain_kind":"recorder"');
    expect(hashOf(moved)).toBe(h);
    // Reproduce the field order independently.
    const fields = ['3', '7', '2026-09-27T18:36:18.5Z', 'proxy.run.0123', 'recorder', 'w1', 'tr', 'action_receipt', 'read', 'receipt_session', 'receipt: allow', '{"b":1,"a":"x"}', 'ref', 'p'];
    expect(h).toBe(createHash('sha256').update(fields.join('\u0000')).digest('hex'));
  });

  it('matches an independent computation of the v2 field order', () => {
    const fields = ['2', '7', '2026-09-27T18:36:18.5Z', 'proxy.run.0123', 'tr', 'action_receipt', 'read', 'receipt_session', 'receipt: allow', '{"b":1,"a":"x"}', 'ref', 'p'];
    expect(createHash('sha256').update(fields.join('\u0000')).digest('hex')).toBe('b73bd4c5936bd49ea136895fe1058c2efe35ea7a54582a2906f9ccb191583119');
  });
});

// ---------------------------------------------------------------------------

describe('§7.2 reading rules', () => {
  it('treats absent and null string members (v1/v2) as empty', () => {
    const explicit = v2({ trace_id: '""', raw_ref: '""' });
    expect(hashOf(v2())).toBe(hashOf(explicit));
    expect(hashOf(v2({ trace_id: 'null', raw_ref: 'null', summary: 'null' }))).toBe(hashOf(v2({ summary: '""' })));
    expect(hashOf(v2({ summary: '<absent>' }))).toBe(hashOf(v2({ summary: '""' })));
    expect(hashOf(v2({ seq: 'null' }))).toBe(hashOf(v2({ seq: '0' })));
    expect(hashOf(v2({ seq: '<absent>' }))).toBe(hashOf(v2({ seq: '0' })));
  });

  it('rejects null for every string member and for ts in v3 entries', () => {
    const v3 = (m: Record<string, string> = {}) => v2({ v: '3', chain_kind: '"recorder"', writer_instance_id: '"w"', ...m });
    expect(read(v3()).ok).toBe(true);
    expect(problemOf(v3({ ts: 'null' }))).toEqual({ reason: 'malformed_json', pointer: '/ts' });
    for (const name of ['session_id', 'trace_id', 'type', 'event_kind', 'transport', 'summary', 'raw_ref', 'prev_hash', 'hash']) {
      expect(problemOf(v3({ [name]: 'null' })), name).toEqual({ reason: 'malformed_json', pointer: `/${name}` });
    }
    expect(problemOf(v3({ chain_kind: '""' }))).toEqual({ reason: 'missing_required_field', pointer: '/chain_kind' });
    expect(problemOf(v3({ writer_instance_id: '<absent>' }))).toEqual({ reason: 'missing_required_field', pointer: '/writer_instance_id' });
  });

  it('rejects v3 members in v1/v2 entries', () => {
    expect(problemOf(v2({ chain_kind: '"recorder"' }))).toEqual({ reason: 'malformed_json', pointer: '/chain_kind' });
    expect(problemOf(v2({ v: '1', writer_instance_id: '"w"' }))).toEqual({ reason: 'malformed_json', pointer: '/writer_instance_id' });
  });

  it.each([
    ['summary a number', { summary: '5' }, '/summary'],
    ['type an object', { type: '{}' }, '/type'],
    ['prev_hash an array', { prev_hash: '[]' }, '/prev_hash'],
    ['seq negative', { seq: '-1' }, '/seq'],
    ['seq fractional', { seq: '1.5' }, '/seq'],
    ['seq exponent', { seq: '1e3' }, '/seq'],
    ['seq a string', { seq: '"1"' }, '/seq'],
    ['ts a number', { ts: '5' }, '/ts'],
    ['ts not RFC 3339', { ts: '"2026-09-27 18:36:18Z"' }, '/ts'],
    ['ts month 13', { ts: '"2026-13-27T18:36:18Z"' }, '/ts'],
    ['ts with a backslash escape', { ts: '"2026-09-27T18:36:18\\u005a"' }, '/ts'],
    ['v a string', { v: '"2"' }, '/v'],
    ['v fractional', { v: '2.0' }, '/v'],
    ['U+0000 in session_id', { session_id: '"a\\u0000b"' }, '/session_id'],
    ['U+0000 in summary', { summary: '"\\u0000"' }, '/summary'],
    ['U+0000 in prev_hash', { prev_hash: '"genesis\\u0000"' }, '/prev_hash'],
  ])('rejects %s as malformed_json', (_n, m, pointer) => {
    expect(problemOf(v2(m))).toEqual({ reason: 'malformed_json', pointer });
  });

  it('accepts other control characters escaped in hashed strings (only U+0000 is refused)', () => {
    expect(read(v2({ summary: '"a\\u0001\\tb"' })).ok).toBe(true);
  });

  it.each([['Summary'], ['SUMMARY'], ['ſession_id'], ['Session_Id'], ['event_\u212Aind'], ['chain_\u212Aind'], ['Prev_Hash'], ['TS'], ['V'], ['Detail'], ['Seq']])(
    'rejects the case-fold alias %j as unknown_field',
    (name) => {
      const line = v2().replace('"hash":""}', `"hash":"",${JSON.stringify(name)}:"x"}`);
      expect(problemOf(line)).toEqual({ reason: 'unknown_field', pointer: `/${name}` });
    },
  );

  it('ignores unknown members and does not hash them', () => {
    const plain = v2();
    const extra = plain.replace('"hash":""}', '"hash":"","zzz":{"deep":[1,2]},"summary_2":"y","__proto__":1}');
    expect(read(extra).ok).toBe(true);
    expect(hashOf(extra)).toBe(hashOf(plain));
  });

  it.each([['4'], ['0'], ['<absent>'], ['99999999999999999999']])('rejects v=%s as unsupported_version', (v) => {
    expect(problemOf(v2({ v }))).toEqual({ reason: 'unsupported_version', pointer: '/v' });
  });

  it('rejects a recorder entry that is not an object', () => {
    const p = parseJsonText('[1]');
    if (!p.ok) throw new Error();
    const r = readEntry(p.value, '[1]');
    expect(r.ok || r.problem.reason).toBe('malformed_json');
  });
});

// ---------------------------------------------------------------------------

describe('§7.4 outer entry chain (through verifyJsonl)', () => {
  const lines = recorderChain(decisions(3));
  const receipts = receiptsOfRecorder(lines);

  it('accepts the writer output and reports the receipt chain', async () => {
    const r = await verifyText(jsonl(lines));
    expectValid(r, 5);
    expect(r.kind).toBe('recorder');
    expect(r.final_seq).toBe(4n);
    expect(r.root_hash).toBe(receiptHash(receipts[4]!));
    expect(r.trusted).toBe(true);
  });

  it('the test helper re-seals without changing anything', () => {
    expect(rechain(lines)).toEqual(lines);
  });

  it('rejects an edited entry (stored hash no longer matches) at that line', async () => {
    const edited = [...lines];
    edited[2] = edited[2]!.replace('"summary":"receipt: allow read forward"', '"summary":"receipt: allow read forwarD"');
    expect(edited[2]).not.toBe(lines[2]);
    const r = await verifyText(jsonl(edited));
    expectInvalid(r, 'chain_break', { line: 3, pointer: '/hash', file: 'chain.jsonl' }, 'entry hash mismatch');
  });

  it('rejects a first entry whose prev_hash is not genesis', async () => {
    const r = await verifyText(jsonl(rechain(lines).map((l, i) => (i === 0 ? l : l))).replace('"prev_hash":"genesis"', '"prev_hash":"genesiz"'));
    expectInvalid(r, 'chain_break', { line: 1, pointer: '/prev_hash' }, 'the first entry\'s prev_hash must be "genesis"');
  });

  it('rejects a broken link (an entry dropped, later entries keeping their hashes)', async () => {
    const dropped = lines.filter((_, i) => i !== 3);
    const r = await verifyText(jsonl(dropped));
    // Dropping a receipt entry breaks the receipt chain first (step 14 before step 16).
    expectInvalid(r, 'chain_break', { index: 3 });
    // A non-receipt entry (transcript root) dropped: only the entry chain breaks.
    const tr = lines.findIndex((l) => l.includes('"type":"transcript_root"'));
    const noRoot = lines.filter((_, i) => i !== tr);
    const r2 = await verifyText(jsonl(noRoot));
    expectInvalid(r2, 'chain_break', { line: tr + 1, pointer: '/prev_hash' }, "prev_hash does not match the previous entry's hash");
  });

  it('outer-chain failures come after receipt-chain failures (step 16 after 14)', async () => {
    const rs = [...receipts];
    const c = bareChain(1)[0]!;
    rs[2] = c; // a foreign receipt: receipt chain breaks at index 2
    const built = recorderLines(rs.map((d) => ({ type: 'action_receipt', detail: d }))).lines;
    built[0] = built[0]!.replace('"summary":"action_receipt"', '"summary":"edited"');
    const r = await verifyText(jsonl(built));
    // Both problems are chain_break; the receipt one (index 2, no pointer) wins over the edited entry 0.
    expectInvalid(r, 'chain_break', { index: 2, line: 3 }, 'second chain start');
    expect(r.where?.pointer).toBeUndefined();
  });

  function v3Line(seq: number, prev: string, writer = 'w1', detail = '{}', type = 'decision'): { line: string; hash: string } {
    return sealEntry({ v: 3, seq, ts: '2026-04-15T12:00:00Z', session_id: 'proxy', chain_kind: 'recorder', writer_instance_id: writer, type, transport: '', summary: 's', detail: null, prev_hash: prev }, detail);
  }

  it('accepts a v3 chain and rejects v3/v2 mixing and a writer change inside a v3 run', async () => {
    const [r0] = bareChain(1);
    const a = v3Line(0, 'genesis', 'w1', r0!, 'action_receipt');
    const b = v3Line(1, a.hash);
    expectValid(await verifyText(jsonl([a.line, b.line])), 1);
    const w = v3Line(1, a.hash, 'w2');
    expectInvalid(await verifyText(jsonl([a.line, w.line])), 'chain_break', { line: 2, pointer: '/chain_kind' }, 'stay constant');
    const mix = sealEntry({ v: 2, seq: 1, ts: '2026-04-15T12:00:00Z', session_id: 'proxy', type: 'decision', transport: '', summary: 's', detail: null, prev_hash: a.hash }, '{}');
    expectInvalid(await verifyText(jsonl([a.line, mix.line])), 'chain_break', { line: 2, pointer: '/v' }, 'must not be mixed');
    // v1 and v2 may be mixed.
    const v1 = rechain(
      lines,
      (e, i) => {
        if (i % 2 === 1) e.v = 1;
      },
      testSigner,
    );
    expectValid(await verifyText(jsonl(v1)), 5);
  });

  it('continues the entry chain and the receipt chain across files', async () => {
    const files = [memFile('evidence-proxy-0.jsonl', jsonl(lines.slice(0, 3))), memFile('evidence-proxy-3.jsonl', jsonl(lines.slice(3)))];
    const r = await verifyJsonl(files, testOptions(), 'recorder');
    expectValid(r, 5);
    const swapped = await verifyJsonl([files[1]!, files[0]!], testOptions(), 'recorder');
    expect(swapped.verdict).toBe('invalid');
  });
});

// ---------------------------------------------------------------------------

describe('§7.6 checkpoints and §7.7 transcript roots', () => {
  const lines = recorderChain(decisions(4), { checkpointInterval: 2 });
  const cpIdx = lines.map((l, i) => (l.includes('"type":"checkpoint"') ? i : -1)).filter((i) => i >= 0);

  it('the writer produced checkpoints that verify under the single pinned key', async () => {
    expect(cpIdx.length).toBeGreaterThanOrEqual(3);
    expectValid(await verifyText(jsonl(lines)), 6);
  });

  const editCheckpoint = (k: number, sig: string) =>
    rechain(lines, (e, i) => {
      if (i === cpIdx[k]) e.detail.signature = sig;
    });

  it('rejects a checkpoint without signature when a checkpoint key is configured', async () => {
    const r = await verifyText(jsonl(editCheckpoint(1, '')));
    expectInvalid(r, 'missing_required_field', { line: cpIdx[1]! + 1, pointer: '/detail/signature' });
  });

  it('rejects a checkpoint whose signature does not verify', async () => {
    const sig = JSON.parse(lines[cpIdx[0]!]!).detail.signature as string;
    const flipped = (sig[0] === '0' ? '1' : '0') + sig.slice(1);
    const r = await verifyText(jsonl(editCheckpoint(0, flipped)));
    expectInvalid(r, 'signature_invalid', { line: cpIdx[0]! + 1, pointer: '/detail/signature' }, 'checkpoint signature');
    expectInvalid(await verifyText(jsonl(editCheckpoint(0, 'ed25519:' + sig))), 'signature_invalid', { line: cpIdx[0]! + 1 });
    // A signature of another checkpoint (over another prev_hash) does not verify here either.
    const other = JSON.parse(lines[cpIdx[1]!]!).detail.signature as string;
    expectInvalid(await verifyText(jsonl(editCheckpoint(0, other))), 'signature_invalid', { line: cpIdx[0]! + 1 });
  });

  it('checks no checkpoint signature when zero or two keys are pinned', async () => {
    const bad = jsonl(editCheckpoint(0, '0'.repeat(128)));
    const two = await verifyText(bad, testOptions({ pinnedKeys: [testSigner.publicKeyHex, otherSigner.publicKeyHex] }));
    expectValid(two, 6);
    const none = await verifyText(bad, testOptions({ pinnedKeys: [], allowUnpinned: true }));
    expectValid(none, 6);
    expect(none.trusted).toBe(false);
    const missing = await verifyText(jsonl(editCheckpoint(0, '')), testOptions({ pinnedKeys: [testSigner.publicKeyHex, otherSigner.publicKeyHex] }));
    expectValid(missing, 6);
  });

  it('rejects a checkpoint signed by another key', async () => {
    const prev = JSON.parse(lines[cpIdx[0]!]!).prev_hash as string;
    const foreign = signEd25519(otherSigner.privateKey, Buffer.from(prev, 'ascii')).toString('hex');
    expectInvalid(await verifyText(jsonl(editCheckpoint(0, foreign))), 'signature_invalid', { line: cpIdx[0]! + 1 });
    expectValid(await verifyText(jsonl(editCheckpoint(0, foreign)), testOptions({ pinnedKeys: [otherSigner.publicKeyHex, testSigner.publicKeyHex] })), 6);
  });

  const trIdx = lines.findIndex((l) => l.includes('"type":"transcript_root"'));
  const editRoot = (mut: (d: Rec) => void) =>
    rechain(
      lines,
      (e, i) => {
        if (i === trIdx) mut(e.detail);
      },
      testSigner,
    );

  it('accepts the honest transcript root and rejects a wrong count as receipt_count_mismatch', async () => {
    expect(trIdx).toBeGreaterThan(0);
    expectInvalid(await verifyText(jsonl(editRoot((d) => (d.receipt_count = 5)))), 'receipt_count_mismatch', { line: trIdx + 1, pointer: '/detail/receipt_count' }, 'declares receipt_count 5 but 6 receipts');
    expectInvalid(await verifyText(jsonl(editRoot((d) => delete d.receipt_count))), 'receipt_count_mismatch', { line: trIdx + 1 });
  });

  it('rejects a wrong root_hash, final_seq, start_time or end_time as chain_break', async () => {
    expectInvalid(await verifyText(jsonl(editRoot((d) => (d.root_hash = 'a'.repeat(64))))), 'chain_break', { line: trIdx + 1, pointer: '/detail/root_hash' });
    expectInvalid(await verifyText(jsonl(editRoot((d) => (d.final_seq = 4)))), 'chain_break', { line: trIdx + 1, pointer: '/detail/final_seq' });
    expectInvalid(await verifyText(jsonl(editRoot((d) => (d.start_time = '2026-04-15T12:00:00Z')))), 'chain_break', { line: trIdx + 1, pointer: '/detail/start_time' });
    expectInvalid(await verifyText(jsonl(editRoot((d) => (d.end_time = '2026-04-15T13:00:00Z')))), 'chain_break', { line: trIdx + 1, pointer: '/detail/end_time' });
    // The same instant in another zone is the same time.
    const start = JSON.parse(lines[trIdx]!).detail.start_time as string;
    expect(start).toMatch(/Z$/);
    const shifted = start.replace('T12:', 'T14:').replace('Z', '+02:00');
    expectValid(await verifyText(jsonl(editRoot((d) => (d.start_time = shifted)))), 6);
  });
});

// ---------------------------------------------------------------------------

describe('§7.5 / §10 evidence_receipt entries', () => {
  const evidence = '{"record_type":"evidence_receipt_v2","receipt_version":2,"payload_kind":"proxy_decision","chain_seq":0,"chain_prev_hash":"genesis"}';

  it('counts them in a note and skips them for the receipt chain', async () => {
    const rs = receiptsOfRecorder(recorderChain(decisions(1)));
    const items = [
      { type: 'action_receipt', detail: rs[0]! },
      { type: 'evidence_receipt', eventKind: 'proxy_decision', detail: evidence },
      { type: 'action_receipt', detail: rs[1]! },
      { type: 'evidence_receipt', eventKind: 'proxy_decision', detail: evidence },
      { type: 'decision', detail: '{"anything":true}' },
      { type: 'action_receipt', detail: rs[2]! },
    ];
    const r = await verifyText(jsonl(recorderLines(items).lines));
    expectValid(r, 3);
    expect(r.notes).toEqual(['2 evidence_receipt entries present, not verified (EvidenceReceipt v2 verification not supported yet)']);
  });

  it('rejects recorder input holding only evidence_receipt entries as unsupported_version', async () => {
    const r = await verifyText(jsonl(recorderLines([{ type: 'evidence_receipt', detail: evidence }, { type: 'decision', detail: '{}' }]).lines));
    expectInvalid(r, 'unsupported_version', {}, 'only EvidenceReceipt v2 entries (1)');
    expect(r.notes).toEqual(['1 evidence_receipt entries present, not verified (EvidenceReceipt v2 verification not supported yet)']);
    expect(r.kind).toBe('recorder');
  });

  it('still hashes evidence entries in the entry chain', async () => {
    const rs = receiptsOfRecorder(recorderChain([]));
    const built = recorderLines([
      { type: 'action_receipt', detail: rs[0]! },
      { type: 'evidence_receipt', detail: evidence },
      { type: 'action_receipt', detail: rs[1]! },
    ]).lines;
    built[1] = built[1]!.replace('"payload_kind":"proxy_decision"', '"payload_kind":"proxy_decisioN"');
    expectInvalid(await verifyText(jsonl(built)), 'chain_break', { line: 2, pointer: '/hash' });
  });
});

// ---------------------------------------------------------------------------

describe('line handling, empty input and the torn tail (§7.2, §9.3)', () => {
  const lines = recorderChain(decisions(3));
  const receipts = receiptsOfRecorder(lines);
  const hashes = receipts.map(receiptHash);

  it('rejects an empty input and a blank-only input as an empty chain', async () => {
    for (const text of ['', '\n', '  \n\t\n\r\n']) {
      const r = await verifyText(text);
      expectInvalid(r, 'malformed_json', { file: 'chain.jsonl' }, 'empty chain: no receipts found');
      expect(r.message).toBe('empty chain: no receipts found');
    }
    const nothing = await verifyText(jsonl(recorderLines([{ type: 'decision', detail: '{}' }]).lines));
    expectInvalid(nothing, 'malformed_json', {}, 'empty chain: no receipts found');
  });

  it('reports an unterminated unparsable last line as "truncated final line" with the verified prefix', async () => {
    const recIdx = lines.map((l, i) => (l.includes('"type":"action_receipt"') ? i : -1)).filter((i) => i >= 0);
    const cut = recIdx[3]!; // tear the 4th receipt entry
    const text = jsonl(lines.slice(0, cut)) + lines[cut]!.slice(0, 100);
    const r = await verifyText(text);
    expectInvalid(r, 'malformed_json', { line: cut + 1, file: 'chain.jsonl' });
    expect(r.message).toBe(`truncated final line: the 3 receipts before it verify (root ${hashes[2]})`);
    expect(r.verified_prefix).toEqual({ receipt_count: 3, final_seq: 2n, root_hash: hashes[2] });
    expect(r.receipt_count).toBeNull();
  });

  it('omits verified_prefix when no receipt precedes the torn line', async () => {
    const r = await verifyText(lines[0]!.slice(0, 50));
    expectInvalid(r, 'malformed_json', { line: 1 }, /^truncated final line$/);
    expect(r.verified_prefix).toBeUndefined();
  });

  it('treats an unparsable last line that ends in LF as a plain syntax error', async () => {
    const text = jsonl(lines.slice(0, 3)) + lines[3]!.slice(0, 100) + '\n';
    const r = await verifyText(text);
    expectInvalid(r, 'malformed_json', { line: 4 });
    expect(r.message).not.toContain('truncated final line');
    expect(r.verified_prefix).toBeUndefined();
  });

  it('treats a torn line at the end of an earlier file of a session as a plain syntax error', async () => {
    const f1 = memFile('evidence-proxy-0.jsonl', jsonl(lines.slice(0, 2)) + lines[2]!.slice(0, 80));
    const f2 = memFile('evidence-proxy-3.jsonl', jsonl(lines.slice(3)));
    const r = await verifyJsonl([f1, f2], testOptions(), 'recorder');
    expectInvalid(r, 'malformed_json', { file: 'evidence-proxy-0.jsonl', line: 3 });
    expect(r.message).not.toContain('truncated final line');
    // The same tear in the last file is a torn tail.
    const g1 = memFile('evidence-proxy-0.jsonl', jsonl(lines.slice(0, 3)));
    const g2 = memFile('evidence-proxy-3.jsonl', lines[3]!.slice(0, 80));
    const t = await verifyJsonl([g1, g2], testOptions(), 'recorder');
    expectInvalid(t, 'malformed_json', { file: 'evidence-proxy-3.jsonl', line: 1 }, /^truncated final line/);
    expect(t.verified_prefix?.receipt_count).toBe(3);
  });

  it('lets a failure of the prefix outrank the torn tail (receipt chain and entry chain)', async () => {
    const edited = [...lines];
    edited[1] = edited[1]!.replace('"summary":"receipt: allow read forward"', '"summary":"receipt: allow read forwarD"');
    const r = await verifyText(jsonl(edited.slice(0, 4)) + lines[4]!.slice(0, 60));
    expectInvalid(r, 'chain_break', { line: 2, pointer: '/hash' });
    const bare = bareChain(3);
    const wrong = [bare[0]!, bare[2]!];
    const b = await verifyText(jsonl(wrong) + bare[1]!.slice(0, 50));
    expectInvalid(b, 'chain_break', { index: 1 });
  });

  it('reads a complete last line without LF normally', async () => {
    expectValid(await verifyText(jsonl(lines, false)), 5);
  });

  it('accepts CRLF line endings and skips blank lines', async () => {
    expectValid(await verifyText(lines.join('\r\n') + '\r\n'), 5);
    expectValid(await verifyText('\n' + lines.join('\n\n  \n') + '\n\t\n'), 5);
    const bare = bareChain(3);
    expectValid(await verifyText(bare.join('\r\n')), 3);
  });

  it('counts line numbers across blank lines', async () => {
    const edited = ['', ...lines.slice(0, 2), '', lines[2]!.replace('"summary":"receipt: allow read forward"', '"summary":"x"')];
    const r = await verifyText(jsonl(edited));
    expectInvalid(r, 'chain_break', { line: 5, pointer: '/hash' });
  });

  it('rejects a bare receipt line in a recorder file, and a recorder line in a bare chain', async () => {
    const bare = bareChain(2);
    const r = await verifyText(jsonl([lines[0]!, bare[1]!, ...lines.slice(1)]));
    expectInvalid(r, 'malformed_json', { line: 2 }, 'a bare receipt in a file of recorder entries');
    const q = await verifyText(jsonl([bare[0]!, lines[1]!, bare[1]!]));
    expectInvalid(q, 'malformed_json', { line: 2 }, 'a recorder entry in a file of bare receipts');
    const first = await verifyText(jsonl(['{"neither":1}', ...bare]));
    expectInvalid(first, 'malformed_json', { line: 1 }, 'neither a receipt');
    const arr = await verifyText('[1,2]\n');
    expectInvalid(arr, 'malformed_json', { line: 1 });
  });

  it('rejects an action_receipt entry whose detail is not an object (e.g. a string holding receipt JSON)', async () => {
    const asString = recorderLines([{ type: 'action_receipt', detail: JSON.stringify(receipts[0]) }]).lines;
    expectInvalid(await verifyText(jsonl(asString)), 'malformed_json', { line: 1, pointer: '/detail' });
  });

  it('reports reading-rule problems of a later line ahead of receipt problems of an earlier one', async () => {
    const rs = [...receipts];
    rs[1] = bareChain(2)[1]!; // breaks the receipt chain at index 1
    const built = recorderLines(rs.map((d) => ({ type: 'action_receipt', detail: d }))).lines;
    built[4] = built[4]!.replace('"summary":', '"Summary":"x","summary":');
    const r = await verifyText(jsonl(built));
    expectInvalid(r, 'unknown_field', { line: 5, pointer: '/Summary' });
  });

  it('rejects a line over 1 MiB, and accepts exactly 1 MiB (CR not counted)', async () => {
    const big = '{"v":2,"type":"decision","pad":"' + 'a'.repeat(MAX_LINE_BYTES) + '"}';
    const r = await verifyText(jsonl([lines[0]!, big, ...lines.slice(1)]));
    expectInvalid(r, 'malformed_json', { line: 2 }, 'over the 1 MiB line limit');
    // Exactly 1 MiB of content (an unknown member pads it), then CRLF: read normally.
    const sealed = rechain([lines[0]!, lines[1]!], (x, i) => {
      if (i === 1) x.zpad = '';
    })[1]!;
    const padLen = MAX_LINE_BYTES - Buffer.byteLength(sealed);
    const exact = sealed.replace('"zpad":""', `"zpad":"${'b'.repeat(padLen)}"`);
    expect(Buffer.byteLength(exact)).toBe(MAX_LINE_BYTES);
    const rest = rechain(lines).slice(2);
    const ok = await verifyText([lines[0]!, exact, ...rest].join('\r\n') + '\r\n');
    // The padding member is unknown, ignored and not hashed, so the chain still links.
    expectValid(ok, 5);
    const over = exact.replace('"zpad":"', '"zpad":"b');
    expectInvalid(await verifyText([lines[0]!, over, ...rest].join('\n') + '\n'), 'malformed_json', { line: 2 }, '1 MiB');
  });

  it('streams a 5 MiB line fed in 64 KiB chunks without holding it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const CHUNK = 64 * 1024;
    const TOTAL = 5 * 1024 * 1024;
    const early: WeakRef<Buffer>[] = [];
    let collectedEarly = false;
    async function* source(): AsyncGenerator<Buffer> {
      yield Buffer.from(lines[0]! + '\n', 'utf8');
      for (let sent = 0; sent < TOTAL; sent += CHUNK) {
        const b = Buffer.alloc(CHUNK, 0x61);
        if (sent < 4 * CHUNK) early.push(new WeakRef(b));
        if (sent === 4 * 1024 * 1024) {
          await tick();
          gc();
          await tick();
          gc();
          collectedEarly = early.every((w) => w.deref() === undefined);
        }
        yield b;
      }
      yield Buffer.from('\n' + lines[1]! + '\n', 'utf8');
    }
    const seen: { lineNo: number; bytes: number | null; length: number }[] = [];
    for await (const l of readLines(source())) seen.push({ lineNo: l.lineNo, bytes: l.bytes ? l.bytes.length : null, length: l.length });
    expect(seen).toEqual([
      { lineNo: 1, bytes: Buffer.byteLength(lines[0]!), length: Buffer.byteLength(lines[0]!) },
      { lineNo: 2, bytes: null, length: TOTAL },
      { lineNo: 3, bytes: Buffer.byteLength(lines[1]!), length: Buffer.byteLength(lines[1]!) },
    ]);
    expect(early.length).toBe(4);
    expect(collectedEarly).toBe(true);

    // And through the verifier, with a ChainFile that streams the same shape.
    const file: ChainFile = {
      name: 'big.jsonl',
      async *chunks() {
        yield lines[0]! + '\n';
        for (let sent = 0; sent < TOTAL; sent += CHUNK) yield Buffer.alloc(CHUNK, 0x20);
        yield '\n';
      },
    };
    const r = await verifyJsonl([file], testOptions());
    expectInvalid(r, 'malformed_json', { file: 'big.jsonl', line: 2 }, `line 2 is ${TOTAL} bytes long, over the 1 MiB line limit`);
  });

  it('splits lines correctly however the bytes are chunked (multi-byte UTF-8 and CRLF across chunk edges)', async () => {
    const text = lines.join('\r\n') + '\r\n';
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const file: ChainFile = {
        name: 'c.jsonl',
        async *chunks() {
          for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
        },
      };
      expectValid(await verifyJsonl([file], testOptions()), 5);
    }
  });

  it('rejects invalid UTF-8 in a line', async () => {
    const bad = Buffer.concat([Buffer.from(lines[0]! + '\n'), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]), Buffer.from(jsonl(lines.slice(1)))]);
    expectInvalid(await verifyText(bad), 'malformed_json', { line: 2 });
  });
});
