/**
 * Where Ed25519 signature checks run. A chain walker submits one check per
 * receipt and reads the answers in order; it does not care which thread did
 * the work, so implementations can move the math off the main thread
 * without touching the walker.
 */
import { verifyEd25519Callback } from './ed25519.js';
import { nativeEd25519, type NativeEd25519, type NativeKey } from './native-ed25519.js';

export interface SignatureVerifier {
  /** Queues one check; `done` is called exactly once, asynchronously. */
  submit(keyHex: string, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void;
  /** Sends any work held back for batching (called before the caller waits). */
  flush(): void;
  /** How many checks a caller should keep in flight before it waits. */
  readonly window: number;
}

/**
 * libuv's thread pool (`crypto.verify` with a callback, OpenSSL): no
 * start-up cost, and the main thread parses and links the next receipts
 * meanwhile. (Measured: batching checks to worker threads cost more CPU
 * than it saved.)
 */
export class ThreadPoolVerifier implements SignatureVerifier {
  readonly window = 128;

  submit(keyHex: string, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void {
    verifyEd25519Callback(keyHex, message, signature, done);
  }

  flush(): void {}
}

/** Checks per native batch: large enough that one pool hop serves many receipts. */
const BATCH = 128;
/** Prepared key tables kept (each ~30 KiB); a chain has one or two signer keys. */
const KEY_TABLES = 16;

interface Batch {
  key: NativeKey;
  keyHex: string;
  messages: Uint8Array[];
  bytes: number;
  signatures: Uint8Array[];
  done: ((ok: boolean) => void)[];
}

/**
 * The native verifier (native/ed25519_verify.c) with a precomputed table per
 * signer key, in batches on libuv's thread pool. A key it declines (small
 * order, non-canonical) and any batch error go to OpenSSL instead, so its
 * answers are OpenSSL's answers.
 */
export class NativeBatchVerifier implements SignatureVerifier {
  readonly window = BATCH * 4;
  private readonly keys = new Map<string, NativeKey | null>();
  private readonly fallback = new ThreadPoolVerifier();
  private batch: Batch | null = null;

  constructor(private readonly native: NativeEd25519) {}

  submit(keyHex: string, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void {
    const key = signature.length === 64 ? this.keyFor(keyHex) : null;
    if (!key) return this.fallback.submit(keyHex, message, signature, done);
    if (this.batch && this.batch.key !== key) this.flush();
    const b = (this.batch ??= { key, keyHex, messages: [], bytes: 0, signatures: [], done: [] });
    b.messages.push(message);
    b.bytes += message.length;
    b.signatures.push(signature);
    b.done.push(done);
    if (b.done.length >= BATCH) this.flush();
  }

  flush(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = null;
    const n = b.done.length;
    const offsets = new Uint32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + b.messages[i]!.length;
    const messages = Buffer.concat(b.messages, b.bytes);
    const signatures = Buffer.concat(b.signatures, 64 * n);
    const viaOpenSsl = () => b.done.forEach((done, i) => this.fallback.submit(b.keyHex, b.messages[i]!, b.signatures[i]!, done));
    try {
      this.native.verifyBatch(b.key, messages, offsets, signatures, (err, results) => {
        if (err) return viaOpenSsl();
        for (let i = 0; i < n; i++) b.done[i]!(results[i] === 1);
      });
    } catch {
      viaOpenSsl();
    }
  }

  private keyFor(keyHex: string): NativeKey | null {
    const hex = keyHex.toLowerCase();
    let key = this.keys.get(hex);
    if (key !== undefined) return key;
    key = /^[0-9a-f]{64}$/.test(hex) ? this.native.prepareKey(Buffer.from(hex, 'hex')) : null;
    if (this.keys.size >= KEY_TABLES) this.keys.delete(this.keys.keys().next().value!);
    this.keys.set(hex, key);
    return key;
  }
}

/** The native verifier when it is built (and not switched off), else OpenSSL on the thread pool. */
export function defaultSignatureVerifier(): SignatureVerifier {
  return nativeEd25519 ? new NativeBatchVerifier(nativeEd25519) : new ThreadPoolVerifier();
}
