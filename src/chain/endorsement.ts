/**
 * Rotation endorsements (receipts-v1 §6.7): a statement signed by the prior
 * key that authorises one successor key at one exact point of one recorder
 * session. The key_transition marker in the chain is signed by the new key
 * and proves continuity only; the endorsement proves authorisation.
 */
import { goQuote } from '../json/go-encode.js';
import { JNum, JObj, parseJsonBytes, typeName } from '../json/strict.js';
import { sha256, verifyEd25519 } from '../crypto/ed25519.js';
import type { RejectReason } from '../report/reasons.js';
import { parseGoTime, renderGoTimeUtc } from '../receipt/time.js';
import { signatureBytes } from '../receipt/signature.js';
import { isIntegerLiteral } from '../receipt/validate.js';

export const ENDORSEMENT_MAX_BYTES = 64 * 1024;
const DOMAIN = Buffer.from('pipelock-rotation-endorsement-v1\0', 'ascii');
const MEMBERS = ['version', 'session_id', 'prior_signer_key', 'prior_final_seq', 'prior_tail_hash', 'new_signer_key', 'rotated_at', 'endorsement'] as const;
const LOWER_HEX_64 = /^[0-9a-f]{64}$/;

export interface Endorsement {
  sessionId: string;
  priorSignerKey: string;
  priorFinalSeq: bigint;
  priorTailHash: string;
  newSignerKey: string;
  rotatedAt: string;
}

export type EndorsementResult = { ok: true; endorsement: Endorsement } | { ok: false; reason: RejectReason; message: string; pointer: string };

function fail(reason: RejectReason, pointer: string, message: string): EndorsementResult {
  return { ok: false, reason, message, pointer };
}

/** Parses and authenticates one endorsement file's bytes. */
export function parseEndorsement(bytes: Uint8Array): EndorsementResult {
  if (bytes.length > ENDORSEMENT_MAX_BYTES) return fail('malformed_json', '', `endorsement file is larger than ${ENDORSEMENT_MAX_BYTES / 1024} KiB`);
  const parsed = parseJsonBytes(bytes);
  if (!parsed.ok) return fail(parsed.error.reason, parsed.error.pointer, parsed.error.message);
  const o = parsed.value;
  if (!(o instanceof JObj)) return fail('malformed_json', '', `an endorsement must be a JSON object, found ${typeName(o)}`);
  for (const k of o.keys) {
    if (!(MEMBERS as readonly string[]).includes(k)) return fail('unknown_field', `/${k}`, `unknown member ${JSON.stringify(k)} in rotation endorsement`);
  }
  for (const k of MEMBERS) if (!o.has(k)) return fail('missing_required_field', `/${k}`, `rotation endorsement lacks "${k}"`);

  const version = o.get('version');
  if (!isIntegerLiteral(version) || version.raw !== '1') return fail(version instanceof JNum ? 'unsupported_version' : 'malformed_json', '/version', 'endorsement "version" must be the integer 1');
  const s = (k: string): string | null => {
    const v = o.get(k);
    return typeof v === 'string' ? v : null;
  };
  for (const k of ['session_id', 'prior_signer_key', 'prior_tail_hash', 'new_signer_key', 'rotated_at', 'endorsement']) {
    if (s(k) === null) return fail('malformed_json', `/${k}`, `endorsement "${k}" must be a string`);
  }
  if (s('session_id')!.trim() === '') return fail('missing_required_field', '/session_id', 'endorsement "session_id" must not be empty');
  for (const k of ['prior_signer_key', 'prior_tail_hash', 'new_signer_key']) {
    if (!LOWER_HEX_64.test(s(k)!)) return fail('malformed_json', `/${k}`, `endorsement "${k}" must be 64 lowercase hex digits`);
  }
  if (s('new_signer_key') === s('prior_signer_key')) return fail('malformed_json', '/new_signer_key', 'endorsement "new_signer_key" equals "prior_signer_key"');
  const seq = o.get('prior_final_seq');
  if (!isIntegerLiteral(seq) || seq.raw.startsWith('-') || BigInt(seq.raw) >= 2n ** 64n) {
    return fail('malformed_json', '/prior_final_seq', 'endorsement "prior_final_seq" must be an unsigned 64-bit integer');
  }
  const t = parseGoTime(s('rotated_at')!);
  if (!t || renderGoTimeUtc(t) !== s('rotated_at')) {
    return fail('malformed_json', '/rotated_at', 'endorsement "rotated_at" must be a canonical UTC RFC 3339 time (Z zone, no trailing fraction zeros)');
  }
  const sig = signatureBytes(s('endorsement')!);
  if (!sig) return fail('signature_invalid', '/endorsement', 'endorsement signature must be "ed25519:" followed by 128 hex digits');

  const e: Endorsement = {
    sessionId: s('session_id')!,
    priorSignerKey: s('prior_signer_key')!,
    priorFinalSeq: BigInt(seq.raw),
    priorTailHash: s('prior_tail_hash')!,
    newSignerKey: s('new_signer_key')!,
    rotatedAt: s('rotated_at')!,
  };
  if (!verifyEd25519(e.priorSignerKey, endorsementDigest(e), sig)) {
    return fail('signature_invalid', '/endorsement', 'endorsement signature does not verify under its prior_signer_key');
  }
  return { ok: true, endorsement: e };
}

/** The signed compact JSON of the seven members, without `endorsement`. */
export function endorsementJson(e: Endorsement): string {
  return (
    `{"version":1,"session_id":${goQuote(e.sessionId)},"prior_signer_key":${goQuote(e.priorSignerKey)},` +
    `"prior_final_seq":${e.priorFinalSeq},"prior_tail_hash":${goQuote(e.priorTailHash)},` +
    `"new_signer_key":${goQuote(e.newSignerKey)},"rotated_at":${goQuote(e.rotatedAt)}}`
  );
}

/** SHA-256 of the domain label, a NUL byte and the signed JSON: the Ed25519 message. */
export function endorsementDigest(e: Endorsement): Buffer {
  return sha256(Buffer.concat([DOMAIN, Buffer.from(endorsementJson(e), 'utf8')]));
}
