/**
 * Signing receipts (receipts-v1 §5.4). A record goes through the same
 * strict reader, field table and validation as verification does, so the
 * emitter cannot write anything the verifier would read differently. Plain
 * records a live recorder writes take a shortcut to the same bytes
 * (plain-canonical.ts); anything it is unsure of comes back here.
 */
import type { KeyObject } from 'node:crypto';
import { publicKeyHexOf, sha256, sha256Hex, signEd25519 } from '../crypto/ed25519.js';
import { plainCanonicalActionRecord } from './plain-canonical.js';
import { JArr, JNum, JObj, parseJsonText, type JVal } from '../json/strict.js';
import { checkReceipt } from '../receipt/receipt.js';

export interface Signer {
  privateKey: KeyObject;
  publicKeyHex: string;
}

export function signerFrom(privateKey: KeyObject): Signer {
  return { privateKey, publicKeyHex: publicKeyHexOf(privateKey) };
}

/** A JSON value; numbers may also be bigints or JNum literals (kept exactly as written). */
export type RecordValue = string | number | bigint | boolean | null | JNum | RecordValue[] | { [k: string]: RecordValue | undefined };
export type ActionRecordInput = { [k: string]: RecordValue | undefined };

/** JSON text of a plain value; bigints are written as integer literals. */
export function toJsonText(v: RecordValue | undefined): string {
  if (v === undefined) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof JNum) return v.raw; // the literal as written: validation decides, nothing is rounded
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(toJsonText).join(',') + ']';
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) if (x !== undefined) parts.push(JSON.stringify(k) + ':' + toJsonText(x));
  return '{' + parts.join(',') + '}';
}

export class EmitError extends Error {}

/**
 * A parsed JSON value as record input, numbers kept as their literals: a
 * record read from a file is signed exactly as written (2^64−1 stays exact;
 * 0.0 or -0 are refused by validation instead of being "fixed").
 */
export function recordValueOf(v: JVal): RecordValue {
  if (v instanceof JArr) return v.items.map(recordValueOf);
  if (v instanceof JObj) {
    const o: { [k: string]: RecordValue } = {};
    for (let i = 0; i < v.keys.length; i++) Object.defineProperty(o, v.keys[i]!, { value: recordValueOf(v.vals[i]!), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

export interface SignedReceipt {
  /** The receipt JSON: the canonical envelope, exactly as Pipelock writes it. */
  json: string;
  /** Receipt hash (§5.3): the next receipt's chain_prev_hash. */
  hash: string;
}

const PLACEHOLDER_SIGNATURE = 'ed25519:' + '0'.repeat(128);

/** Validates and signs an ActionRecord; throws EmitError naming the problem. */
export function signActionRecord(record: ActionRecordInput, signer: Signer): SignedReceipt {
  const plain = plainCanonicalActionRecord(record);
  if (plain !== null) return sealed(plain, sha256(plain), signer);
  const { canonicalAR, digest } = strictCanonical(record, signer.publicKeyHex);
  return sealed(canonicalAR, digest, signer);
}

/** The strict path: canonical bytes of a record read back as the verifier reads it. Throws EmitError. */
export function strictCanonical(record: ActionRecordInput, signerKeyHex: string): { canonicalAR: string; digest: Buffer } {
  const text = `{"version":1,"action_record":${toJsonText(record)},"signature":"${PLACEHOLDER_SIGNATURE}","signer_key":"${signerKeyHex}"}`;
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw new EmitError(`action record is not valid JSON: ${parsed.error.message}`);
  const checked = checkReceipt(parsed.value, text);
  if (!checked.ok) throw new EmitError(`action record rejected (${checked.problem.reason}) at ${checked.problem.pointer || '/'}: ${checked.problem.message}`);
  return checked.receipt;
}

/** The envelope around canonical bytes (§5.2–§5.4): Ed25519 over their SHA-256, then the receipt hash. */
function sealed(canonicalAR: string, digest: Uint8Array, signer: Signer): SignedReceipt {
  const signature = 'ed25519:' + signEd25519(signer.privateKey, digest).toString('hex');
  const json = `{"version":1,"action_record":${canonicalAR},"signature":"${signature}","signer_key":"${signer.publicKeyHex}"}`;
  return { json, hash: sha256Hex(json) };
}
