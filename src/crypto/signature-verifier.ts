/**
 * Where Ed25519 signature checks run. A chain walker submits one check per
 * receipt and reads the answers in order; it does not care which thread did
 * the work, so a worker-thread implementation can replace this one without
 * touching the walker.
 */
import { verifyEd25519Callback } from './ed25519.js';

export interface SignatureVerifier {
  /** Queues one check; `done` is called exactly once, asynchronously. */
  submit(keyHex: string, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void;
  /** Sends any work held back for batching (called before the caller waits). */
  flush(): void;
}

/**
 * libuv's thread pool (`crypto.verify` with a callback): no start-up cost,
 * and the main thread parses and links the next receipts meanwhile.
 * (Measured here: batching checks to worker threads cost more CPU than it
 * saved, so this is the default.)
 */
export class ThreadPoolVerifier implements SignatureVerifier {
  submit(keyHex: string, message: Uint8Array, signature: Uint8Array, done: (ok: boolean) => void): void {
    verifyEd25519Callback(keyHex, message, signature, done);
  }

  flush(): void {}
}
