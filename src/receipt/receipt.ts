/**
 * A v1 receipt after the structural steps of receipts-v1 §9.3 (4–10): the
 * parsed object plus its canonical bytes, digest, receipt hash and the typed
 * values the chain rules read.
 */
import { JNum, JObj } from '../json/strict.js';
import { sha256, sha256Hex } from '../crypto/ed25519.js';
import { canonicalActionRecord, canonicalEnvelope } from './canonical.js';
import { ACTION_TYPES } from './fields.js';
import { parseGoTime, type GoTime } from './time.js';
import {
  checkHeaderInjection,
  checkPresence,
  checkRecordType,
  checkTypes,
  checkUnknownMembers,
  checkValidate,
  checkVersions,
  type Problem,
  type StructurePolicy,
} from './validate.js';

export interface KeyTransition {
  priorSignerKey: string;
  priorChainSeq: bigint;
  priorChainHash: string;
}

export type SessionControl =
  | { kind: 'session_open'; open: JObj }
  | { kind: 'heartbeat'; heartbeat: JObj }
  | { kind: 'session_close'; close: JObj };

export interface Receipt {
  readonly env: JObj;
  readonly ar: JObj;
  readonly signature: string;
  readonly signerKey: string;
  /** Canonical ActionRecord (§5.1) as text; its UTF-8 bytes are signed via SHA-256. */
  readonly canonicalAR: string;
  /** SHA-256 of the canonical ActionRecord: the Ed25519 message. */
  readonly digest: Buffer;
  /** Receipt hash (§5.3), bare lowercase hex. */
  readonly hash: string;
  readonly actionId: string;
  readonly actionType: string;
  readonly target: string;
  readonly verdict: string;
  readonly policyHash: string;
  readonly method: string;
  readonly layer: string;
  readonly decisionPhase: string;
  readonly deferId: string;
  readonly resolutionPolicy: string;
  readonly resolutionSource: string;
  readonly runNonce: string;
  readonly chainSeq: bigint;
  readonly chainPrevHash: string;
  readonly timestamp: string;
  readonly time: GoTime;
  readonly keyTransition: KeyTransition | null;
  readonly sessionControl: SessionControl | null;
}

export const DEFAULT_STRUCTURE_POLICY: StructurePolicy = {
  acceptedVersions: [1],
  actionTypes: ACTION_TYPES,
  verdicts: null,
};

export type ReceiptCheck = { ok: true; receipt: Receipt } | { ok: false; problem: Problem };

/**
 * Runs steps 4–10 on a parsed receipt object, in the spec's order, and
 * builds the canonical bytes. `text` is the source the object was parsed
 * from (its spans index into it; `ext` is hashed from source).
 */
export function checkReceipt(value: unknown, text: string, policy: StructurePolicy = DEFAULT_STRUCTURE_POLICY): ReceiptCheck {
  if (!(value instanceof JObj)) {
    return { ok: false, problem: { reason: 'malformed_json', pointer: '', message: 'a receipt must be a JSON object' } };
  }
  const env = value;
  const p =
    checkRecordType(env) ??
    checkVersions(env, policy) ??
    checkUnknownMembers(env) ??
    checkPresence(env) ??
    checkTypes(env) ??
    checkValidate(env, text, policy) ??
    checkHeaderInjection(env);
  if (p) return { ok: false, problem: p };
  return { ok: true, receipt: buildReceipt(env, text) };
}

function str(o: JObj, name: string): string {
  const v = o.get(name);
  return typeof v === 'string' ? v : '';
}

function u64(o: JObj, name: string): bigint {
  const v = o.get(name);
  return v instanceof JNum ? BigInt(v.raw) : 0n;
}

function buildReceipt(env: JObj, text: string): Receipt {
  const ar = env.get('action_record') as JObj;
  const canonicalAR = canonicalActionRecord(ar, text);
  const digest = sha256(canonicalAR);
  const hash = sha256Hex(canonicalEnvelope(env, canonicalAR, text));
  const kt = ar.get('key_transition');
  const sc = ar.get('session_control');
  let sessionControl: SessionControl | null = null;
  if (sc instanceof JObj) {
    const kind = sc.get('kind') as string;
    if (kind === 'session_open') sessionControl = { kind, open: sc.get('open') as JObj };
    else if (kind === 'heartbeat') sessionControl = { kind, heartbeat: sc.get('heartbeat') as JObj };
    else sessionControl = { kind: 'session_close', close: sc.get('close') as JObj };
  }
  const timestamp = ar.get('timestamp') as string;
  return {
    env,
    ar,
    signature: env.get('signature') as string,
    signerKey: env.get('signer_key') as string,
    canonicalAR,
    digest,
    hash,
    actionId: str(ar, 'action_id'),
    actionType: str(ar, 'action_type'),
    target: str(ar, 'target'),
    verdict: str(ar, 'verdict'),
    policyHash: str(ar, 'policy_hash'),
    method: str(ar, 'method'),
    layer: str(ar, 'layer'),
    decisionPhase: str(ar, 'decision_phase'),
    deferId: str(ar, 'defer_id'),
    resolutionPolicy: str(ar, 'resolution_policy'),
    resolutionSource: str(ar, 'resolution_source'),
    runNonce: str(ar, 'run_nonce'),
    chainSeq: u64(ar, 'chain_seq'),
    chainPrevHash: str(ar, 'chain_prev_hash'),
    timestamp,
    time: parseGoTime(timestamp)!,
    keyTransition:
      kt instanceof JObj
        ? { priorSignerKey: str(kt, 'prior_signer_key'), priorChainSeq: u64(kt, 'prior_chain_seq'), priorChainHash: str(kt, 'prior_chain_hash') }
        : null,
    sessionControl,
  };
}

export { str as stringMember, u64 as uint64Member };
