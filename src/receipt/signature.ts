/**
 * Signature text forms (receipts-v1 §5.2) and the tamper-classification
 * registry (§9.7).
 */
import { sha256 } from '../crypto/ed25519.js';
import { goQuote } from '../json/go-encode.js';
import type { Receipt } from './receipt.js';

/** What the registry needs of a receipt; small, so that pending checks hold little. */
export type SignedFacts = Pick<Receipt, 'signerKey' | 'digest' | 'runNonce' | 'canonicalAR' | 'chainSeq'> & {
  /** The 64 signature bytes. */
  sig: Buffer;
};

export function signedFacts(r: Receipt, sig: Buffer): SignedFacts {
  return { signerKey: r.signerKey, sig, digest: r.digest, runNonce: r.runNonce, canonicalAR: r.canonicalAR, chainSeq: r.chainSeq };
}

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
  signerKey: string;
  /**
   * SHA-256 of the canonical ActionRecord that this signature verified over,
   * as a one-byte string: a small Buffer may be a view into a shared 8 KiB
   * slab, and keeping thousands of them would keep the slabs.
   */
  digest: string;
  runNonce: string;
}

/**
 * Signatures seen valid under a trusted key, so that a later failure with
 * the same (key, signature) can be told apart as tampering. Ed25519 cannot
 * say which body a signature was made for; only memory of the honest
 * original can. Bounded (oldest evicted first) so that a long chain does
 * not grow memory without limit; an evicted entry only means a tampered
 * receipt is reported as plain signature_invalid. Entries hold fresh
 * strings, never slices of the input lines, so no line stays in memory.
 */
export class SignatureRegistry {
  private readonly entries = new Map<string, Registered>();
  // A chain repeats one signer key and one run_nonce for thousands of
  // receipts: detach each once, not per receipt.
  private readonly keys = new LastDetached();
  private readonly nonces = new LastDetached();

  constructor(private readonly capacity = 10_000) {}

  get size(): number {
    return this.entries.size;
  }

  register(r: SignedFacts): void {
    const key = registryKey(r);
    if (this.entries.has(key)) return;
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    this.entries.set(key, { signerKey: this.keys.of(r.signerKey), digest: r.digest.toString('latin1'), runNonce: r.runNonce ? this.nonces.of(r.runNonce) : '' });
  }

  /**
   * Classifies a signature failure of `r` under a trusted key: if putting
   * the remembered run_nonce back into `r` reproduces the signed digest,
   * run_nonce is the only member that changed.
   */
  classify(r: SignedFacts): TamperReason {
    const seen = this.entries.get(registryKey(r));
    // The registry is keyed by (signer_key, signature): the same signature bytes under another key are no match.
    if (!seen || seen.signerKey !== r.signerKey) return 'signature_invalid';
    if (seen.runNonce !== r.runNonce && sha256(withRunNonce(r, seen.runNonce)).toString('latin1') === seen.digest) return 'run_nonce_tampered';
    return 'body_tampered';
  }
}

/** `detach`, remembering the last value (the common case is the same text again). */
class LastDetached {
  private raw = '';
  private flat = '';

  of(s: string): string {
    if (s !== this.raw) {
      this.flat = detach(s);
      this.raw = this.flat;
    }
    return this.flat;
  }
}

/** The signature bytes as a one-byte string: a cheap, exact map key that keeps no line alive. */
function registryKey(r: SignedFacts): string {
  return r.sig.toString('latin1');
}

/** A flat copy of a string, so that it does not keep the line it was sliced from alive. */
export function detach(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/**
 * The canonical ActionRecord of `r` with its top-level run_nonce replaced.
 * That member is the only one written as `,"run_nonce":` in canonical
 * bytes: nested run_nonce members open their objects (preceded by `{`),
 * and a quote inside a string value is always escaped. run_nonce is
 * omitempty and sits after chain_seq, before key_transition.
 */
function withRunNonce(r: SignedFacts, runNonce: string): string {
  const member = (n: string) => (n ? ',"run_nonce":' + goQuote(n) : '');
  if (r.runNonce) return r.canonicalAR.replace(member(r.runNonce), member(runNonce));
  const seqMember = ',"chain_seq":' + r.chainSeq.toString();
  return r.canonicalAR.replace(seqMember, seqMember + member(runNonce));
}
