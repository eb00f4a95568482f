/**
 * The plain-record shortcut must give the strict path's bytes whenever it
 * answers, and must decline (null) every record the strict path refuses.
 */
import { describe, expect, it } from 'vitest';
import { plainCanonicalActionRecord } from '../../src/emit/plain-canonical.js';
import { EmitError, signActionRecord, strictCanonical, type ActionRecordInput, type RecordValue } from '../../src/emit/receipt.js';
import { ACTION_RECORD } from '../../src/receipt/fields.js';
import { testSigner } from '../helpers/fixtures.js';
import { prng } from '../helpers/json-cases.js';

const KEY = testSigner.publicKeyHex;

const STRINGS = ['', 'x', 'https://api.example.com/v1?a=1&b=<2>', 'é ü 日本', 'line\u2028sep\u2029', 'tab\there', 'cr\r\nlf', 'quote " back \\ slash', '\uD800 lone', '🙂 pair', 'ctl\u0001', 'del\u007f'];
const TIMES = ['2026-11-21T10:00:00Z', '2026-11-21T10:00:00.123456789Z', '2026-11-21T10:00:00.5+02:00', '2026-11-21T10:00:00.500Z', '2026-11-21 10:00:00Z', '0001-01-01T00:00:00Z', ''];
const INTS: RecordValue[] = [0, 1, 7, 255, 256, -1, 2 ** 53, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, 1.5, '3'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function valueFor(kind: string, r: () => number): RecordValue | undefined {
  switch (kind) {
    case 'string':
      return pick(r, STRINGS);
    case 'time':
      return pick(r, TIMES);
    case 'int':
    case 'uint64':
    case 'uint8':
      return pick(r, INTS);
    case 'bool':
      return pick(r, [true, false, 'true']);
    case 'strings':
      return pick(r, [null, [], ['pii'], ['a', 'b<c>'], ['ctl\u0002'], [1]]);
    default:
      return pick(r, [undefined, null, {}]);
  }
}

/** A record that the proxy could write: every required member, valid values. */
function baseRecord(i: number): ActionRecordInput {
  return {
    version: 1,
    action_id: `018f3c2a-7b4d-7e01-9a2b-${String(i).padStart(12, '0')}`,
    action_type: 'read',
    timestamp: '2026-11-21T10:00:00.123456789Z',
    principal: 'egress-verify-proxy',
    actor: 'agent <a&b>',
    delegation_chain: null,
    target: `https://api.example.com/v1/items/${i}?q=${i % 7}`,
    side_effect_class: 'none',
    reversibility: 'full',
    policy_hash: 'sha256:' + '7'.repeat(64),
    verdict: 'allow',
    transport: 'forward',
    chain_seq: i,
    chain_prev_hash: 'a'.repeat(64),
  };
}

function strictOrError(record: ActionRecordInput): string | EmitError {
  try {
    return strictCanonical(record, KEY).canonicalAR;
  } catch (e) {
    if (e instanceof EmitError) return e;
    throw e;
  }
}

describe('plain-record canonical bytes', () => {
  it('equal the strict path on valid records, and the shortcut does answer for them', () => {
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      const rec = { ...baseRecord(i), intent: 'egress:external_public', method: i % 2 ? 'GET' : 'POST', data_classes_in: i % 3 ? undefined : ['credential'], severity: 'info' };
      const plain = plainCanonicalActionRecord(rec);
      const strict = strictOrError(rec);
      expect(strict).toBeTypeOf('string');
      if (plain !== null) {
        answered++;
        expect(plain).toBe(strict);
      }
    }
    expect(answered).toBe(200);
  });

  it('equal the strict path or decline, over 5,000 random mutations of every member', () => {
    const r = prng(20261121);
    const fields = ACTION_RECORD.fields;
    let answered = 0;
    let declined = 0;
    for (let i = 0; i < 5000; i++) {
      const rec: ActionRecordInput = baseRecord(i);
      const edits = 1 + Math.floor(r() * 4);
      for (let e = 0; e < edits; e++) {
        const roll = r();
        if (roll < 0.05) rec[pick(r, ['unknown_member', 'Verdict', '__proto__'])] = 'x';
        else if (roll < 0.1) delete rec[pick(r, fields).name];
        else {
          const f = pick(r, fields);
          rec[f.name] = valueFor(f.kind, r);
        }
      }
      const plain = plainCanonicalActionRecord(rec);
      const strict = strictOrError(rec);
      if (plain === null) {
        declined++;
        continue;
      }
      answered++;
      // Whatever the shortcut answers, the strict path accepts with the same bytes.
      expect(strict, JSON.stringify(rec, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))).toBe(plain);
    }
    expect(answered).toBeGreaterThan(500);
    expect(declined).toBeGreaterThan(500);
  });

  it.each([
    ['an unknown member', { extra: 'x' }],
    ['a missing required member', { principal: undefined }],
    ['version 2', { version: 2 }],
    ['an empty action_id', { action_id: '' }],
    ['an unknown action_type', { action_type: 'browse' }],
    ['a control character', { target: 'a\u0000b' }],
    ['a time not in rendered form', { timestamp: '2026-11-21T10:00:00.500Z' }],
    ['the zero time', { timestamp: '0001-01-01T00:00:00Z' }],
    ['an integer out of range', { chain_seq: -1 }],
    ['a fraction', { chain_seq: 1.5 }],
    ['a string list holding a number', { data_classes_in: [1] as unknown as string[] }],
  ])('declines %s, and signing reports the problem', (_, edit) => {
    const rec = { ...baseRecord(1), ...edit };
    expect(plainCanonicalActionRecord(rec)).toBeNull();
    expect(() => signActionRecord(rec, testSigner)).toThrow(EmitError);
  });

  it('declines nested members, which the strict path signs', () => {
    const rec = { ...baseRecord(2), key_transition: { prior_signer_key: KEY, prior_chain_seq: 4, prior_chain_hash: 'b'.repeat(64) } };
    expect(plainCanonicalActionRecord(rec)).toBeNull();
    expect(signActionRecord(rec, testSigner).json).toContain('"key_transition":{"prior_signer_key"');
  });

  it('signs the same receipt either way', () => {
    const rec = baseRecord(3);
    const viaPlain = signActionRecord(rec, testSigner);
    const strict = strictCanonical(rec, KEY).canonicalAR;
    expect(viaPlain.json).toContain(`"action_record":${strict},`);
  });
});
