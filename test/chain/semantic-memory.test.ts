/**
 * §9.6 keeps memory flat: a block older than the window (measured from the
 * newest timestamp seen) can never pair with a later allow, so it is forgotten.
 */
import { describe, expect, it } from 'vitest';
import { VerdictContradictions } from '../../src/chain/semantic.js';
import type { Receipt } from '../../src/receipt/receipt.js';
import { parseGoTime } from '../../src/receipt/time.js';

const BASE = Date.parse('2026-04-15T12:00:00Z');

function rec(i: number, verdict: string, secondsAfter: number, target = `https://api.example.com/items/${i}`): Receipt {
  const ts = new Date(BASE + secondsAfter * 1000).toISOString().replace('.000Z', 'Z');
  return {
    actionId: `a-${i}`, verdict, target, policyHash: 'sha256:' + '7'.repeat(64), actionType: 'read', method: 'GET',
    layer: verdict === 'block' ? 'dlp' : '', decisionPhase: '', deferId: '', resolutionPolicy: '', resolutionSource: '',
    timestamp: ts, time: parseGoTime(ts)!,
  } as unknown as Receipt;
}

describe('§9.6 memory', () => {
  it('remembers only the blocks within the window of the newest timestamp', () => {
    const v = new VerdictContradictions(5);
    for (let i = 0; i < 20_000; i++) v.observe(rec(i, 'block', i), { index: i });
    expect(v.remembered).toBeLessThanOrEqual(6);
    expect(v.first).toBeNull();
  });

  it('still pairs a block with an allow inside the window after other receipts', () => {
    const v = new VerdictContradictions(5);
    v.observe(rec(0, 'block', 0, 'https://x.example/'), { index: 0 });
    for (let i = 1; i < 40; i++) v.observe(rec(i, 'allow', i / 10), { index: i });
    v.observe(rec(99, 'allow', 4.5, 'https://x.example/'), { index: 40 });
    expect(v.first?.reason).toBe('verdict_chain_mismatch');
  });

  it('forgets a block once the chain has moved past its window', () => {
    const v = new VerdictContradictions(5);
    v.observe(rec(0, 'block', 0, 'https://x.example/'), { index: 0 });
    v.observe(rec(1, 'allow', 6), { index: 1 });
    expect(v.remembered).toBe(0);
    v.observe(rec(2, 'allow', 6, 'https://x.example/'), { index: 2 });
    expect(v.first).toBeNull();
  });

  it('caps what it remembers when timestamps do not advance', () => {
    const v = new VerdictContradictions(5);
    for (let i = 0; i < 70_000; i++) v.observe(rec(i, 'block', 0), { index: i });
    expect(v.remembered).toBeLessThanOrEqual(65_536);
  });
});
