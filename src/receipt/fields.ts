/**
 * The one table of the ActionReceipt v1 schema (receipts-v1 §2, §3).
 *
 * Field order is Go declaration order, which is the canonical byte order.
 * The canonical encoder, the unknown-member walk, the presence walk, the type
 * walk, the header-injection scan and the emitter all read these tables; none
 * of them lists field names of its own.
 */

export type FieldKind =
  | 'string'
  | 'int' // signed 64-bit
  | 'uint64'
  | 'uint8'
  | 'bool'
  | 'time' // RFC 3339 text, re-rendered by Go (§4.6)
  | 'strings' // []string
  | 'intmap' // map[string]int, keys sorted by code point (§4.7)
  | 'object' // a nested struct, see `of`
  | 'objects' // array of nested structs, see `of`
  | 'raw'; // any JSON value kept as source bytes (`ext`)

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** Go `omitempty`: dropped from canonical bytes when zero; may be absent. */
  readonly omitempty: boolean;
  /** `null` is legal (Go nil-able type: slice, map, pointer). */
  readonly nullable: boolean;
  readonly of?: ObjectSpec;
}

export interface ObjectSpec {
  /** Name used in messages, e.g. "action_record". */
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  readonly byName: ReadonlyMap<string, FieldSpec>;
}

type Row = [name: string, kind: FieldKind, omitempty?: 'omit'];

function spec(name: string, rows: readonly Row[], nested: Record<string, ObjectSpec> = {}): ObjectSpec {
  const fields = rows.map(([n, kind, omit]): FieldSpec => {
    const omitempty = omit === 'omit';
    // Go nil-ables: slices, maps and pointers to structs. A []string that is
    // not omitempty (delegation_chain) is still nil-able; the one nested
    // struct that is not a pointer (the envelope's action_record) is not.
    const nullable = kind === 'strings' || kind === 'intmap' || kind === 'raw' || ((kind === 'object' || kind === 'objects') && omitempty);
    const of = nested[n];
    return of ? { name: n, kind, omitempty, nullable, of } : { name: n, kind, omitempty, nullable };
  });
  return { name, fields, byName: new Map(fields.map((f) => [f.name, f])) };
}

export const TAINT_SOURCE = spec('recent_taint_sources[]', [
  ['url', 'string'],
  ['kind', 'string'],
  ['level', 'uint8'],
  ['timestamp', 'time'],
  ['receipt_id', 'string', 'omit'],
  ['match_reason', 'string', 'omit'],
]);

export const REDACTION = spec('redaction', [
  ['profile', 'string', 'omit'],
  ['provider', 'string', 'omit'],
  ['parser', 'string', 'omit'],
  ['total_redactions', 'int', 'omit'],
  ['by_class', 'intmap', 'omit'],
  ['cache_boundary_kept', 'bool', 'omit'],
]);

export const SHIELD = spec('shield', [
  ['pipeline', 'string', 'omit'],
  ['total_rewrites', 'int', 'omit'],
  ['extension_probes', 'int', 'omit'],
  ['tracking_beacons', 'int', 'omit'],
  ['agent_traps', 'int', 'omit'],
  ['fingerprint_shim_injected', 'bool', 'omit'],
  ['svg_foreign_objects', 'int', 'omit'],
  ['svg_event_handlers', 'int', 'omit'],
  ['svg_external_references', 'int', 'omit'],
  ['svg_hidden_text', 'int', 'omit'],
  ['svg_animation_injections', 'int', 'omit'],
  ['body_bytes', 'int', 'omit'],
  ['scanned_bytes', 'int', 'omit'],
  ['partial', 'bool', 'omit'],
  ['adaptive_signals_recorded', 'int', 'omit'],
  ['adaptive_signal_max_per_body', 'int', 'omit'],
]);

export const KEY_TRANSITION = spec('key_transition', [
  ['prior_signer_key', 'string'],
  ['prior_chain_seq', 'uint64'],
  ['prior_chain_hash', 'string'],
]);

export const SESSION_OPEN = spec('session_control.open', [
  ['run_nonce', 'string'],
  ['open_nonce', 'string'],
  ['recorder_session', 'string'],
  ['policy_hash', 'string'],
  ['signer_key_epoch', 'string'],
  ['heartbeat_seconds', 'int'],
  ['chain_open_seq', 'uint64'],
  ['prior_chain_head', 'string', 'omit'],
  ['prior_chain_seq', 'uint64', 'omit'],
  ['genesis_hash', 'string', 'omit'],
  ['genesis_anchor_head', 'string', 'omit'],
  ['genesis_anchor_log', 'string', 'omit'],
  ['posture_capsule_sha256', 'string', 'omit'],
  ['posture_signer_key_id', 'string', 'omit'],
  ['containment_nonce', 'string', 'omit'],
  ['contained_uid', 'string', 'omit'],
]);

export const SESSION_HEARTBEAT = spec('session_control.heartbeat', [
  ['run_nonce', 'string'],
  ['open_nonce', 'string'],
  ['beat', 'uint64'],
  ['chain_head', 'string'],
  ['chain_seq_head', 'uint64'],
  ['heartbeat_time', 'string'], // opaque text, never re-rendered
  ['fsync_errors_gated', 'uint64'],
  ['durability_blocks', 'uint64'],
]);

export const SESSION_CLOSE = spec('session_control.close', [
  ['run_nonce', 'string'],
  ['open_nonce', 'string'],
  ['final_seq', 'uint64'],
  ['root_hash', 'string'],
  ['receipt_count', 'uint64'],
  ['close_reason', 'string'],
  ['fsync_errors_gated', 'uint64'],
  ['durability_blocks', 'uint64'],
]);

export const SESSION_CONTROL = spec(
  'session_control',
  [
    ['kind', 'string'],
    ['open', 'object', 'omit'],
    ['heartbeat', 'object', 'omit'],
    ['close', 'object', 'omit'],
  ],
  { open: SESSION_OPEN, heartbeat: SESSION_HEARTBEAT, close: SESSION_CLOSE },
);

/** session_control.kind → the payload member it requires (note: `heartbeat`, not `session_heartbeat`). */
export const SESSION_KINDS: Readonly<Record<string, 'open' | 'heartbeat' | 'close'>> = {
  session_open: 'open',
  heartbeat: 'heartbeat',
  session_close: 'close',
};

export const ACTION_RECORD = spec(
  'action_record',
  [
    ['version', 'int'],
    ['action_id', 'string'],
    ['parent_action_id', 'string', 'omit'],
    ['action_type', 'string'],
    ['timestamp', 'time'],
    ['principal', 'string'],
    ['actor', 'string'],
    ['delegation_chain', 'strings'],
    ['target', 'string'],
    ['intent', 'string', 'omit'],
    ['data_classes_in', 'strings', 'omit'],
    ['data_classes_out', 'strings', 'omit'],
    ['side_effect_class', 'string'],
    ['reversibility', 'string'],
    ['policy_hash', 'string'],
    ['verdict', 'string'],
    ['decision_phase', 'string', 'omit'],
    ['defer_id', 'string', 'omit'],
    ['resolution_policy', 'string', 'omit'],
    ['resolution_source', 'string', 'omit'],
    ['session_id', 'string', 'omit'],
    ['session_id_original', 'string', 'omit'],
    ['session_taint_level', 'string', 'omit'],
    ['session_contaminated', 'bool', 'omit'],
    ['recent_taint_sources', 'objects', 'omit'],
    ['session_task_id', 'string', 'omit'],
    ['session_task_label', 'string', 'omit'],
    ['authority_kind', 'string', 'omit'],
    ['taint_decision', 'string', 'omit'],
    ['taint_decision_reason', 'string', 'omit'],
    ['task_override_applied', 'bool', 'omit'],
    ['contract_winning_source', 'string', 'omit'],
    ['contract_live_verdict', 'string', 'omit'],
    ['contract_policy_sources', 'strings', 'omit'],
    ['contract_rule_id', 'string', 'omit'],
    ['active_manifest_hash', 'string', 'omit'],
    ['contract_hash', 'string', 'omit'],
    ['contract_selector_id', 'string', 'omit'],
    ['contract_generation', 'uint64', 'omit'],
    ['transport', 'string'],
    ['method', 'string', 'omit'],
    ['layer', 'string', 'omit'],
    ['pattern', 'string', 'omit'],
    ['severity', 'string', 'omit'],
    ['redaction', 'object', 'omit'],
    ['shield', 'object', 'omit'],
    ['request_id', 'string', 'omit'],
    ['chain_prev_hash', 'string'],
    ['chain_seq', 'uint64'],
    ['run_nonce', 'string', 'omit'],
    ['key_transition', 'object', 'omit'],
    ['session_control', 'object', 'omit'],
    ['venue', 'string', 'omit'],
    ['jurisdiction', 'string', 'omit'],
    ['rulebook_id', 'string', 'omit'],
    ['remedy_class', 'string', 'omit'],
    ['contestation_window', 'string', 'omit'],
    ['precedent_refs', 'strings', 'omit'],
  ],
  {
    recent_taint_sources: TAINT_SOURCE,
    redaction: REDACTION,
    shield: SHIELD,
    key_transition: KEY_TRANSITION,
    session_control: SESSION_CONTROL,
  },
);

/** The receipt envelope (§2); `ext` is the single unsigned, tolerated surface. */
export const ENVELOPE = spec(
  'receipt',
  [
    ['version', 'int'],
    ['action_record', 'object'],
    ['signature', 'string'],
    ['signer_key', 'string'],
    ['ext', 'raw', 'omit'],
  ],
  { action_record: ACTION_RECORD },
);

/** The closed action-type set (§3.8). */
export const ACTION_TYPES = ['read', 'derive', 'write', 'delegate', 'authorize', 'spend', 'commit', 'actuate', 'unclassified'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/** Integer ranges per kind (§3.7). */
export const INT_RANGES: Readonly<Record<'int' | 'uint64' | 'uint8', readonly [bigint, bigint]>> = {
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  uint8: [0n, 255n],
};
