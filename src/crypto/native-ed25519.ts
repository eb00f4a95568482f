/**
 * The optional native Ed25519 verifier (native/ed25519_verify.c), built at
 * install time by scripts/build-native.mjs. It precomputes a table per public
 * key, which makes verifying many signatures by one pinned key several times
 * faster than node:crypto. Its result equals OpenSSL's for every key that
 * prepareKey accepts; prepareKey declines the rest (non-canonical encodings,
 * small-order points), and callers then use node:crypto.
 *
 * `nativeEd25519` is null when the addon was not built, fails to load or its
 * self-test, or when EGRESS_VERIFY_NO_NATIVE=1.
 */
import { createRequire } from 'node:module';

/** A public key prepared for the native verifier. Opaque: only this module can use it. */
export interface NativeKey {
  readonly publicKeyHex: string;
}

export interface NativeEd25519 {
  /** Precomputes tables for a 32-byte key; null if the key is not one the fast path handles (caller then uses node:crypto). */
  prepareKey(publicKey: Uint8Array): NativeKey | null;
  /** Synchronous single verification; message of any length, signature must be 64 bytes (else false). */
  verify(key: NativeKey, message: Uint8Array, signature: Uint8Array): boolean;
  /**
   * Verifies n signatures on libuv's thread pool. `messages` holds the n
   * messages back to back, item i being messages[offsets[i] .. offsets[i+1]);
   * `offsets` has n+1 entries with offsets[0] = 0, non-decreasing, at most
   * messages.length; `signatures` is the n 64-byte signatures back to back.
   * Throws a TypeError synchronously when the shapes disagree. Otherwise calls
   * done(null, results) exactly once, asynchronously (also for n = 0), with
   * results[i] = 1 for a valid signature and 0 for an invalid one.
   *
   * The pool threads read `messages` and `signatures` in place (`offsets` is
   * copied): do not modify, transfer or detach these buffers until done runs.
   * The addon keeps them and the key alive until then.
   */
  verifyBatch(
    key: NativeKey,
    messages: Uint8Array,
    offsets: Uint32Array,
    signatures: Uint8Array,
    done: (err: Error | null, results: Uint8Array) => void,
  ): void;
}

/** The addon's exports (see the napi_property_descriptor list in native/ed25519_verify.c). */
interface RawBinding {
  prepareKey(publicKey: Uint8Array): object | null;
  verify(handle: object, message: Uint8Array, signature: Uint8Array): boolean;
  verifyBatch(
    handle: object,
    messages: Uint8Array,
    offsets: Uint32Array,
    signatures: Uint8Array,
    done: (err: Error | null, results: Uint8Array) => void,
  ): void;
  _sha512(data: Uint8Array): Uint8Array;
  _reduce512(digest: Uint8Array): Uint8Array;
}

function loadBinding(): { binding: RawBinding | null; reason: string } {
  if (process.env.EGRESS_VERIFY_NO_NATIVE === '1') {
    return { binding: null, reason: 'disabled by EGRESS_VERIFY_NO_NATIVE=1' };
  }
  try {
    // Relative to this file in src/crypto/ or dist/crypto/: the package root's build/.
    const require = createRequire(import.meta.url);
    return { binding: require('../../build/Release/ed25519_verify.node') as RawBinding, reason: 'loaded' };
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return { binding: null, reason: `not available: ${message}` };
  }
}

const loaded = loadBinding();

/** Why the native verifier is or is not in use (for diagnostics and test notes). */
export const nativeEd25519Status: string = loaded.reason;

/** Handles live here rather than on the key objects, so a NativeKey cannot be forged or altered. */
const handles = new WeakMap<NativeKey, object>();

class PreparedKey implements NativeKey {
  constructor(readonly publicKeyHex: string) {
    Object.freeze(this);
  }
}

function handleOf(key: NativeKey): object {
  const handle = handles.get(key);
  if (handle === undefined) throw new TypeError('key must come from nativeEd25519.prepareKey');
  return handle;
}

function wrap(raw: RawBinding): NativeEd25519 {
  const api: NativeEd25519 = {
    prepareKey(publicKey: Uint8Array): NativeKey | null {
      const handle = raw.prepareKey(publicKey);
      if (handle === null) return null;
      const key = new PreparedKey(Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('hex'));
      handles.set(key, handle);
      return key;
    },
    verify(key: NativeKey, message: Uint8Array, signature: Uint8Array): boolean {
      return raw.verify(handleOf(key), message, signature);
    },
    verifyBatch(key, messages, offsets, signatures, done): void {
      raw.verifyBatch(handleOf(key), messages, offsets, signatures, done);
    },
  };
  return Object.freeze(api);
}

export const nativeEd25519: NativeEd25519 | null = loaded.binding ? wrap(loaded.binding) : null;

/**
 * Test hooks, not part of the API: the addon's own SHA-512 and its reduction
 * of a 64-byte little-endian integer modulo the group order L.
 */
export const nativeEd25519Internals: { sha512(data: Uint8Array): Uint8Array; reduce512(digest: Uint8Array): Uint8Array } | null =
  loaded.binding
    ? {
        sha512: (data) => loaded.binding!._sha512(data),
        reduce512: (digest) => loaded.binding!._reduce512(digest),
      }
    : null;
