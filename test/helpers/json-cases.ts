/**
 * Small helpers for the strict-JSON, canonical-encoding and validation tests.
 * They build receipt texts that are NOT re-signed (steps 4–10 of receipts-v1
 * §9.3 and the canonical bytes do not depend on the signature), so that bad
 * inputs can be fed to `checkReceipt` directly.
 */
import { parseJsonBytes, parseJsonText, type JsonError, type JVal } from '../../src/json/strict.js';
import { checkReceipt, type Receipt } from '../../src/receipt/receipt.js';
import type { Problem } from '../../src/receipt/validate.js';

/** A syntactically valid, never-verified signature and key (steps 4–10 only look at the text). */
export const DUMMY_SIGNATURE = 'ed25519:' + '0'.repeat(128);
export const DUMMY_KEY = 'ab'.repeat(32);

/** An envelope around a raw action_record text, with a dummy signature; `extra` is appended inside the envelope (e.g. `,"ext":{}`). */
export function rawEnvelope(actionRecordJson: string, extra = '', signature = DUMMY_SIGNATURE, signerKey = DUMMY_KEY): string {
  return `{"version":1,"action_record":${actionRecordJson},"signature":${JSON.stringify(signature)},"signer_key":${JSON.stringify(signerKey)}${extra}}`;
}

/** Appends raw member text (e.g. `"x":1`) to a JSON object text. */
export function withMember(objectJson: string, member: string): string {
  if (!objectJson.endsWith('}')) throw new Error('not an object text');
  return objectJson === '{}' ? `{${member}}` : `${objectJson.slice(0, -1)},${member}}`;
}

/** Replaces exactly one occurrence; throws when `from` is absent or ambiguous, so a typo cannot make a test vacuous. */
export function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0) throw new Error(`replaceOnce: ${JSON.stringify(from)} not found`);
  if (text.indexOf(from, at + 1) >= 0) throw new Error(`replaceOnce: ${JSON.stringify(from)} occurs more than once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Parses text that must be valid; returns the value. */
export function parseOk(text: string): JVal {
  const p = parseJsonText(text);
  if (!p.ok) throw new Error(`expected valid JSON, got ${p.error.rule}: ${p.error.message}`);
  return p.value;
}

/** Parses input that must be rejected; returns the error. */
export function parseErr(input: string | Uint8Array): JsonError {
  const p = typeof input === 'string' ? parseJsonText(input) : parseJsonBytes(input);
  if (p.ok) throw new Error(`expected a JSON error for ${typeof input === 'string' ? JSON.stringify(input.slice(0, 80)) : 'bytes'}`);
  return p.error;
}

/** The part of a JSON error the tests compare. */
export function errorShape(e: JsonError): { rule: string; reason: string; line: number; column: number; pointer: string } {
  return { rule: e.rule, reason: e.reason, line: e.line, column: e.column, pointer: e.pointer };
}

/** Parses (must succeed) and runs steps 4–10; returns the problem or null. */
export function problemOf(text: string): Pick<Problem, 'reason' | 'pointer'> | null {
  const c = checkReceipt(parseOk(text), text);
  return c.ok ? null : { reason: c.problem.reason, pointer: c.problem.pointer };
}

/** Parses and checks a receipt text that must pass steps 4–10. */
export function receiptOf(text: string): Receipt {
  const c = checkReceipt(parseOk(text), text);
  if (!c.ok) throw new Error(`expected a structurally valid receipt, got ${c.problem.reason} at ${c.problem.pointer}: ${c.problem.message}`);
  return c.receipt;
}

/** A deterministic PRNG (mulberry32) for property tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
