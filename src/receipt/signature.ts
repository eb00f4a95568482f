/**
 * Signature text forms (receipts-v1 §5.2) and the tamper-classification
 * registry (§9.7).
 */
import { sha256Hex } from '../crypto/ed25519.js';
import { goQuote } from '../json/go-encode.js';
import type { Receipt } from './receipt.js';

const SIGNATURE_TEXT = /^ed25519:[0-9a-fA-F]{128}$/;
const KEY_TEXT = /^[0-9a-fA-F]{64}$/;

/** The 64 signature bytes, or null when the text is not `ed25519:` + 128 hex. */
export function signatureBytes(text: string): Buffer | null {
  return SIGNATURE_TEXT.test(text) ? Buffer.from(text.slice(8), 'hex') : null;
}

export function isKeyText(text: string): boolean {
  return KEY_TEXT.test(text);
}

export type TamperReason = 'signature_invalid' | 'body_tampered' | 'run_nonce_tampered';

interface Registered {
  /** Digest of the canonical ActionRecord with its top-level run_nonce removed. */
  sansNonce: string;
  runNonce: string;
}

/**
 * Signatures seen valid under a trusted key, so that a later failure with
 * the same (key, signature) can be told apart as tampering. Ed25519 cannot
 * say which body a signature was made for; only memory of the honest
 * original can. Bounded (oldest evicted first) so that a long chain does
 * not grow memory without limit; an evicted entry only means a tampered
 * receipt is reported as plain signature_invalid.
 */
export class SignatureRegistry {
  private readonly entries = new Map<string, Registered>();

  constructor(private readonly capacity = 100_000) {}

  get size(): number {
    return this.entries.size;
  }

  register(r: Receipt): void {
    const key = registryKey(r);
    if (this.entries.has(key)) return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { sansNonce: digestWithoutRunNonce(r), runNonce: r.runNonce });
  }

  /** Classifies a signature failure of `r` under a trusted key. */
  classify(r: Receipt): TamperReason {
    const seen = this.entries.get(registryKey(r));
    if (!seen) return 'signature_invalid';
    return seen.sansNonce === digestWithoutRunNonce(r) && seen.runNonce !== r.runNonce ? 'run_nonce_tampered' : 'body_tampered';
  }
}

function registryKey(r: Receipt): string {
  return r.signerKey + r.signature;
}

/**
 * The top-level run_nonce member is the only one written as `,"run_nonce":`
 * in canonical bytes: nested run_nonce members open their objects (preceded
 * by `{`), and a quote inside a string value is always escaped.
 */
function digestWithoutRunNonce(r: Receipt): string {
  if (!r.runNonce) return sha256Hex(r.canonicalAR);
  const member = ',"run_nonce":' + goQuote(r.runNonce);
  return sha256Hex(r.canonicalAR.replace(member, ''));
}
