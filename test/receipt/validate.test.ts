/**
 * The structural steps 4–10 of receipts-v1 §9.3 through `checkReceipt`:
 * routing, versions, unknown members, presence, types, Validate and header
 * injection — each with the bad input, the exact reason and the exact JSON
 * Pointer, and the precedence between neighbouring steps.
 */
import { describe, expect, it } from 'vitest';
import { parseJsonText } from '../../src/json/strict.js';
import {
  ACTION_RECORD,
  ACTION_TYPES,
  ENVELOPE,
  KEY_TRANSITION,
  REDACTION,
  SESSION_CLOSE,
  SESSION_CONTROL,
  SESSION_HEARTBEAT,
  SESSION_OPEN,
  SHIELD,
  TAINT_SOURCE,
  type FieldKind,
  type ObjectSpec,
} from '../../src/receipt/fields.js';
import { checkReceipt, DEFAULT_STRUCTURE_POLICY } from '../../src/receipt/receipt.js';
import { baseRecord, recordJson, signed, T0 } from '../helpers/fixtures.js';
import { DUMMY_KEY, DUMMY_SIGNATURE, parseOk, problemOf, rawEnvelope, receiptOf, replaceOnce, withMember } from '../helpers/json-cases.js';

// ---------------------------------------------------------------------------
// A receipt with every nested struct present, and a way to put raw JSON text
// at any path of it.

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
type Kind = 'open' | 'heartbeat' | 'close';

const TAINT = { url: 'https://taint.example/', kind: 'response_injection', level: 3, timestamp: T0, receipt_id: 'r', match_reason: 'm' };
const REDACTION_V = { profile: 'p', provider: 'pv', parser: 'json', total_redactions: 1, by_class: { k: 1 }, cache_boundary_kept: true };
const SHIELD_V = {
  pipeline: 'p', total_rewrites: 1, extension_probes: 1, tracking_beacons: 1, agent_traps: 1, fingerprint_shim_injected: true,
  svg_foreign_objects: 1, svg_event_handlers: 1, svg_external_references: 1, svg_hidden_text: 1, svg_animation_injections: 1,
  body_bytes: 1, scanned_bytes: 1, partial: true, adaptive_signals_recorded: 1, adaptive_signal_max_per_body: 1,
};
const KT_V = { prior_signer_key: 'c'.repeat(64), prior_chain_seq: 1, prior_chain_hash: 'd'.repeat(64) };
const OPEN_V = {
  run_nonce: 'rn', open_nonce: 'on', recorder_session: 'proxy', policy_hash: 'ph', signer_key_epoch: 'ep', heartbeat_seconds: 30,
  chain_open_seq: 0, prior_chain_head: 'h', prior_chain_seq: 1, genesis_hash: 'g', genesis_anchor_head: 'a', genesis_anchor_log: 'l',
  posture_capsule_sha256: 'c', posture_signer_key_id: 'k', containment_nonce: 'n', contained_uid: 'u',
};
const HEARTBEAT_V = { run_nonce: 'rn', open_nonce: 'on', beat: 1, chain_head: 'h', chain_seq_head: 0, heartbeat_time: 'opaque', fsync_errors_gated: 0, durability_blocks: 0 };
const CLOSE_V = { run_nonce: 'rn', open_nonce: 'on', final_seq: 1, root_hash: 'h', receipt_count: 2, close_reason: 'graceful_shutdown', fsync_errors_gated: 0, durability_blocks: 0 };
const SESSION: Record<Kind, Json> = {
  open: { kind: 'session_open', open: OPEN_V },
  heartbeat: { kind: 'heartbeat', heartbeat: HEARTBEAT_V },
  close: { kind: 'session_close', close: CLOSE_V },
};

function fullEnvelope(kind: Kind = 'open'): { [k: string]: Json } {
  return {
    version: 1,
    action_record: {
      ...(baseRecord() as { [k: string]: Json }),
      recent_taint_sources: [TAINT],
      redaction: REDACTION_V,
      shield: SHIELD_V,
      run_nonce: 'rn',
      key_transition: KT_V,
      session_control: SESSION[kind],
    },
    signature: DUMMY_SIGNATURE,
    signer_key: DUMMY_KEY,
  };
}

const SLOT = '@@SLOT@@';

/** The full envelope with raw JSON `raw` at `path` (or the member removed when `raw` is undefined). */
function textAt(path: readonly (string | number)[], raw: string | undefined, kind: Kind = 'open'): string {
  const env = structuredClone(fullEnvelope(kind));
  let parent: Json = env;
  for (const seg of path.slice(0, -1)) parent = (parent as Record<string | number, Json>)[seg]!;
  const last = path[path.length - 1]!;
  if (raw === undefined) {
    if (!(last in (parent as object))) throw new Error(`textAt: ${path.join('/')} is not in the full envelope`);
    delete (parent as Record<string | number, Json>)[last];
    return JSON.stringify(env);
  }
  (parent as Record<string | number, Json>)[last] = SLOT;
  return replaceOnce(JSON.stringify(env), JSON.stringify(SLOT), raw);
}

/** Where each struct sits in the full envelope, and which session kind makes it present. */
const PLACES: readonly { label: string; spec: ObjectSpec; path: readonly (string | number)[]; kind: Kind }[] = [
  { label: 'envelope', spec: ENVELOPE, path: [], kind: 'open' },
  { label: 'action_record', spec: ACTION_RECORD, path: ['action_record'], kind: 'open' },
  { label: 'recent_taint_sources[0]', spec: TAINT_SOURCE, path: ['action_record', 'recent_taint_sources', 0], kind: 'open' },
  { label: 'redaction', spec: REDACTION, path: ['action_record', 'redaction'], kind: 'open' },
  { label: 'shield', spec: SHIELD, path: ['action_record', 'shield'], kind: 'open' },
  { label: 'key_transition', spec: KEY_TRANSITION, path: ['action_record', 'key_transition'], kind: 'open' },
  { label: 'session_control', spec: SESSION_CONTROL, path: ['action_record', 'session_control'], kind: 'open' },
  { label: 'session_control.open', spec: SESSION_OPEN, path: ['action_record', 'session_control', 'open'], kind: 'open' },
  { label: 'session_control.heartbeat', spec: SESSION_HEARTBEAT, path: ['action_record', 'session_control', 'heartbeat'], kind: 'heartbeat' },
  { label: 'session_control.close', spec: SESSION_CLOSE, path: ['action_record', 'session_control', 'close'], kind: 'close' },
];

const ptr = (path: readonly (string | number)[], ...more: (string | number)[]) => [...path, ...more].map((s) => '/' + String(s)).join('');

const problem = (reason: string, pointer: string) => ({ reason, pointer });

/** An unsigned envelope around the base record with overrides. */
const env = (over: Parameters<typeof recordJson>[0] = {}, extra = '') => rawEnvelope(recordJson(over), extra);

/** The envelope text with its own (first) `version` member replaced by raw text. */
function setEnvelopeVersion(text: string, raw: string): string {
  if (!text.startsWith('{"version":1,"action_record":')) throw new Error('unexpected envelope text');
  return `{"version":${raw},` + text.slice('{"version":1,'.length);
}

// ---------------------------------------------------------------------------

describe('the test scaffolding', () => {
  it.each(['open', 'heartbeat', 'close'] as const)('the full envelope (%s) passes steps 4–10', (kind) => {
    expect(problemOf(JSON.stringify(fullEnvelope(kind)))).toBeNull();
  });

  it('the base envelope and a signed receipt pass', () => {
    expect(problemOf(env())).toBeNull();
    expect(problemOf(signed())).toBeNull();
  });

  it('a top-level value that is not an object is malformed_json', () => {
    for (const t of ['[]', '"x"', 'null', '1', 'true']) expect(problemOf(t)).toEqual(problem('malformed_json', ''));
  });
});

describe('step 4: record_type routing', () => {
  it('evidence_receipt_v2 → unsupported_version', () => {
    expect(problemOf(env({}, ',"record_type":"evidence_receipt_v2"'))).toEqual(problem('unsupported_version', '/record_type'));
    expect(problemOf('{"record_type":"evidence_receipt_v2","receipt_version":2}')).toEqual(problem('unsupported_version', '/record_type'));
  });

  it('action_receipt_v1 is routed to v1 and then fails as an unknown member', () => {
    expect(problemOf(env({}, ',"record_type":"action_receipt_v1"'))).toEqual(problem('unknown_field', '/record_type'));
  });

  it.each(['"other"', '"ACTION_RECEIPT_V1"', '""', '5', 'null', 'true', '{}', '["action_receipt_v1"]'])('record_type %s → unsupported_version', (v) => {
    expect(problemOf(env({}, `,"record_type":${v}`))).toEqual(problem('unsupported_version', '/record_type'));
  });

  it('routing comes before the version check, the unknown-member walk and presence', () => {
    const t = rawEnvelope(recordJson({ version: 2, verdict: undefined }), ',"record_type":"other","zzz":1');
    expect(problemOf(t)).toEqual(problem('unsupported_version', '/record_type'));
    // action_receipt_v1 passes routing, so a bad version is reported before the unknown record_type member
    expect(problemOf(setEnvelopeVersion(env({}, ',"record_type":"action_receipt_v1"'), '2'))).toEqual(
      problem('unsupported_version', '/version'),
    );
  });
});

describe('step 5: versions', () => {
  const envVersion = (v: string, over = {}) => setEnvelopeVersion(env(over), v);

  it('envelope version 2 → unsupported_version /version', () => {
    expect(problemOf(envVersion('2'))).toEqual(problem('unsupported_version', '/version'));
  });

  it('action_record.version 2 → unsupported_version /action_record/version', () => {
    expect(problemOf(env({ version: 2 }))).toEqual(problem('unsupported_version', '/action_record/version'));
  });

  it('the envelope version is checked first', () => {
    expect(problemOf(envVersion('2', { version: 3 }))).toEqual(problem('unsupported_version', '/version'));
  });

  it.each(['0', '-1', '3', '18446744073709551616', '100000000000000000001'])('any other integer (%s) → unsupported_version', (v) => {
    expect(problemOf(envVersion(v))).toEqual(problem('unsupported_version', '/version'));
    expect(problemOf(replaceOnce(env(), '"action_record":{"version":1,', `"action_record":{"version":${v},`))).toEqual(
      problem('unsupported_version', '/action_record/version'),
    );
  });

  it.each(['1.0', '1e0', '-0', '"1"', 'true', 'null', '[1]'])('version %s is not an integer → malformed_json (step 8)', (v) => {
    expect(problemOf(envVersion(v))).toEqual(problem('malformed_json', '/version'));
    expect(problemOf(replaceOnce(env(), '"action_record":{"version":1,', `"action_record":{"version":${v},`))).toEqual(
      problem('malformed_json', '/action_record/version'),
    );
  });

  it('version 01 is a syntax error, not a version problem', () => {
    const p = parseJsonText(envVersion('01'));
    expect(p.ok).toBe(false);
    if (!p.ok) expect([p.error.rule, p.error.reason]).toEqual(['syntax', 'malformed_json']);
  });

  it('an unsupported integer version wins over unknown and missing members (5 before 6, 7)', () => {
    expect(problemOf(rawEnvelope(recordJson({ version: 2, verdict: undefined }), ',"zzz":1'))).toEqual(problem('unsupported_version', '/action_record/version'));
  });

  it('a non-integer version falls to step 8, after unknown members and presence', () => {
    expect(problemOf(envVersion('1.0', { verdict: undefined }))).toEqual(problem('missing_required_field', '/action_record/verdict'));
    expect(problemOf(rawEnvelope(replaceOnce(recordJson(), '{"version":1,', '{"version":"1",'), ',"zzz":1'))).toEqual(problem('unknown_field', '/zzz'));
  });

  it('acceptedVersions policy is honoured', () => {
    const text = env({ version: 2 });
    const c = checkReceipt(parseOk(text), text, { ...DEFAULT_STRUCTURE_POLICY, acceptedVersions: [1, 2] });
    expect(c.ok).toBe(true);
  });
});

describe('step 6: unknown members → unknown_field', () => {
  it.each(PLACES.map((p) => [p.label, p] as const))('in %s', (_, place) => {
    const text = textAt([...place.path, 'zzz_unknown'], '1', place.kind);
    expect(problemOf(text)).toEqual(problem('unknown_field', ptr(place.path, 'zzz_unknown')));
  });

  it('in a later element of recent_taint_sources', () => {
    const t = withMember(recordJson(), `"recent_taint_sources":[${JSON.stringify(TAINT)},${withMember(JSON.stringify(TAINT), '"extra":null')}]`);
    expect(problemOf(rawEnvelope(t))).toEqual(problem('unknown_field', '/action_record/recent_taint_sources/1/extra'));
  });

  it('in a payload that does not match the kind (checked before the session_control shape)', () => {
    const t = withMember(recordJson(), `"session_control":{"kind":"heartbeat","heartbeat":${JSON.stringify(HEARTBEAT_V)},"open":{"zzz":1}}`);
    expect(problemOf(rawEnvelope(t))).toEqual(problem('unknown_field', '/action_record/session_control/open/zzz'));
  });

  it('member names are case-sensitive: "Verdict" is unknown', () => {
    expect(problemOf(rawEnvelope(withMember(recordJson(), '"Verdict":"allow"')))).toEqual(problem('unknown_field', '/action_record/Verdict'));
    expect(problemOf(env({}, ',"Ext":{}'))).toEqual(problem('unknown_field', '/Ext'));
  });

  it('__proto__ is an ordinary unknown member', () => {
    expect(problemOf(env({}, ',"__proto__":{}'))).toEqual(problem('unknown_field', '/__proto__'));
    expect(problemOf(rawEnvelope(withMember(recordJson(), '"__proto__":1')))).toEqual(problem('unknown_field', '/action_record/__proto__'));
  });

  it('the pointer escapes ~ and / in the member name', () => {
    expect(problemOf(env({}, ',"a/b~c":1'))).toEqual(problem('unknown_field', '/a~1b~0c'));
  });

  it('ext members (any depth) and by_class keys are never unknown', () => {
    expect(problemOf(env({}, ',"ext":{"zzz":{"action_record":{"x":1}},"version":"any"}'))).toBeNull();
    expect(problemOf(env({ redaction: { by_class: { zzz: 1, version: 2, '': 3 } } }))).toBeNull();
  });

  it('walks envelope → action_record → nested structs in table order', () => {
    // envelope before action_record
    expect(problemOf(rawEnvelope(withMember(recordJson(), '"ar_unknown":1'), ',"env_unknown":1'))).toEqual(problem('unknown_field', '/env_unknown'));
    // action_record before its nested structs
    expect(problemOf(env({ redaction: { zzz: 1 }, aaa: 1 }))).toEqual(problem('unknown_field', '/action_record/aaa'));
    // nested structs in table order (redaction before shield), whatever the source order
    const t = withMember(recordJson(), '"shield":{"s_unknown":1},"redaction":{"r_unknown":1}');
    expect(problemOf(rawEnvelope(t))).toEqual(problem('unknown_field', '/action_record/redaction/r_unknown'));
  });

  it('unknown_field wins over a missing required member (step 6 before 7)', () => {
    expect(problemOf(rawEnvelope(recordJson({ verdict: undefined }), ',"zzz":1'))).toEqual(problem('unknown_field', '/zzz'));
    expect(problemOf(env({ verdict: undefined, zzz: 1 }))).toEqual(problem('unknown_field', '/action_record/zzz'));
    expect(problemOf(env({ verdict: undefined, key_transition: { prior_signer_key: 'k', zzz: 1 } }))).toEqual(
      problem('unknown_field', '/action_record/key_transition/zzz'),
    );
  });

  it('unknown_field wins over type errors (step 6 before 8)', () => {
    expect(problemOf(env({ chain_seq: 'x', zzz: 1 }))).toEqual(problem('unknown_field', '/action_record/zzz'));
  });
});

describe('step 7: presence of non-omitempty members → missing_required_field', () => {
  // From the tables of §2 and §3.1–§3.6 (non-omitempty = required).
  const SPEC_REQUIRED: Record<string, string[]> = {
    envelope: ['version', 'action_record', 'signature', 'signer_key'],
    action_record: [
      'version', 'action_id', 'action_type', 'timestamp', 'principal', 'actor', 'delegation_chain', 'target', 'side_effect_class',
      'reversibility', 'policy_hash', 'verdict', 'transport', 'chain_prev_hash', 'chain_seq',
    ],
    'recent_taint_sources[0]': ['url', 'kind', 'level', 'timestamp'],
    redaction: [],
    shield: [],
    key_transition: ['prior_signer_key', 'prior_chain_seq', 'prior_chain_hash'],
    session_control: ['kind'],
    'session_control.open': ['run_nonce', 'open_nonce', 'recorder_session', 'policy_hash', 'signer_key_epoch', 'heartbeat_seconds', 'chain_open_seq'],
    'session_control.heartbeat': ['run_nonce', 'open_nonce', 'beat', 'chain_head', 'chain_seq_head', 'heartbeat_time', 'fsync_errors_gated', 'durability_blocks'],
    'session_control.close': ['run_nonce', 'open_nonce', 'final_seq', 'root_hash', 'receipt_count', 'close_reason', 'fsync_errors_gated', 'durability_blocks'],
  };

  it.each(PLACES.map((p) => [p.label, p] as const))('the field table of %s marks exactly the spec-required members non-omitempty', (label, place) => {
    expect(place.spec.fields.filter((f) => !f.omitempty).map((f) => f.name)).toEqual(SPEC_REQUIRED[label]);
  });

  const AR_CASES = ACTION_RECORD.fields.filter((f) => !f.omitempty).map((f) => f.name);
  it.each(AR_CASES)('action_record.%s absent', (name) => {
    expect(problemOf(env({ [name]: undefined }))).toEqual(problem('missing_required_field', `/action_record/${name}`));
  });

  const NESTED_CASES = PLACES.filter((p) => p.spec !== ACTION_RECORD).flatMap((p) =>
    p.spec.fields.filter((f) => !f.omitempty).map((f) => [`${p.label}.${f.name}`, p, f.name] as const),
  );
  it.each(NESTED_CASES)('%s absent', (_, place, name) => {
    expect(problemOf(textAt([...place.path, name], undefined, place.kind))).toEqual(problem('missing_required_field', ptr(place.path, name)));
  });

  it('omitempty members may all be absent, in every struct', () => {
    const minimal = withMember(
      recordJson(),
      `"recent_taint_sources":[{"url":"","kind":"","level":0,"timestamp":"${T0}"}],"redaction":{},"shield":{},` +
        '"key_transition":{"prior_signer_key":"","prior_chain_seq":0,"prior_chain_hash":""},' +
        '"session_control":{"kind":"session_open","open":{"run_nonce":"","open_nonce":"","recorder_session":"","policy_hash":"","signer_key_epoch":"","heartbeat_seconds":0,"chain_open_seq":0}}',
    );
    expect(problemOf(rawEnvelope(minimal))).toBeNull();
  });

  it('presence walks envelope before action_record, and the whole tree before types (7 before 8)', () => {
    const noSigner = replaceOnce(env({ verdict: undefined }), `,"signer_key":"${DUMMY_KEY}"`, '');
    expect(problemOf(noSigner)).toEqual(problem('missing_required_field', '/signer_key'));
    expect(problemOf(env({ verdict: undefined, chain_seq: 'x' }))).toEqual(problem('missing_required_field', '/action_record/verdict'));
    expect(problemOf(env({ action_id: 5, key_transition: { prior_signer_key: 'k', prior_chain_seq: 0 } }))).toEqual(
      problem('missing_required_field', '/action_record/key_transition/prior_chain_hash'),
    );
  });
});

describe('step 8: types → malformed_json', () => {
  // Names and kinds of §2 and §3.1–§3.6, in table order.
  const SPEC_KINDS: Record<string, string> = {
    envelope: 'version:int action_record:object signature:string signer_key:string ext:raw',
    action_record:
      'version:int action_id:string parent_action_id:string action_type:string timestamp:time principal:string actor:string ' +
      'delegation_chain:strings target:string intent:string data_classes_in:strings data_classes_out:strings side_effect_class:string ' +
      'reversibility:string policy_hash:string verdict:string decision_phase:string defer_id:string resolution_policy:string ' +
      'resolution_source:string session_id:string session_id_original:string session_taint_level:string session_contaminated:bool ' +
      'recent_taint_sources:objects session_task_id:string session_task_label:string authority_kind:string taint_decision:string ' +
      'taint_decision_reason:string task_override_applied:bool contract_winning_source:string contract_live_verdict:string ' +
      'contract_policy_sources:strings contract_rule_id:string active_manifest_hash:string contract_hash:string contract_selector_id:string ' +
      'contract_generation:uint64 transport:string method:string layer:string pattern:string severity:string redaction:object shield:object ' +
      'request_id:string chain_prev_hash:string chain_seq:uint64 run_nonce:string key_transition:object session_control:object venue:string ' +
      'jurisdiction:string rulebook_id:string remedy_class:string contestation_window:string precedent_refs:strings',
    'recent_taint_sources[0]': 'url:string kind:string level:uint8 timestamp:time receipt_id:string match_reason:string',
    redaction: 'profile:string provider:string parser:string total_redactions:int by_class:intmap cache_boundary_kept:bool',
    shield:
      'pipeline:string total_rewrites:int extension_probes:int tracking_beacons:int agent_traps:int fingerprint_shim_injected:bool ' +
      'svg_foreign_objects:int svg_event_handlers:int svg_external_references:int svg_hidden_text:int svg_animation_injections:int ' +
      'body_bytes:int scanned_bytes:int partial:bool adaptive_signals_recorded:int adaptive_signal_max_per_body:int',
    key_transition: 'prior_signer_key:string prior_chain_seq:uint64 prior_chain_hash:string',
    session_control: 'kind:string open:object heartbeat:object close:object',
    'session_control.open':
      'run_nonce:string open_nonce:string recorder_session:string policy_hash:string signer_key_epoch:string heartbeat_seconds:int ' +
      'chain_open_seq:uint64 prior_chain_head:string prior_chain_seq:uint64 genesis_hash:string genesis_anchor_head:string ' +
      'genesis_anchor_log:string posture_capsule_sha256:string posture_signer_key_id:string containment_nonce:string contained_uid:string',
    'session_control.heartbeat':
      'run_nonce:string open_nonce:string beat:uint64 chain_head:string chain_seq_head:uint64 heartbeat_time:string fsync_errors_gated:uint64 durability_blocks:uint64',
    'session_control.close':
      'run_nonce:string open_nonce:string final_seq:uint64 root_hash:string receipt_count:uint64 close_reason:string fsync_errors_gated:uint64 durability_blocks:uint64',
  };

  it.each(PLACES.map((p) => [p.label, p] as const))('the field table of %s has the spec names and kinds, in order', (label, place) => {
    expect(place.spec.fields.map((f) => `${f.name}:${f.kind}`).join(' ')).toBe(SPEC_KINDS[label]);
  });

  // Expectations come from the spec table above, not from the implementation's table.
  const INTEGER_CASES = PLACES.flatMap((place) =>
    SPEC_KINDS[place.label]!.split(' ')
      .map((entry) => entry.split(':') as [string, string])
      .filter(([, kind]) => kind === 'int' || kind === 'uint64' || kind === 'uint8')
      .map(([name, kind]) => [`${place.label}.${name} (${kind})`, place, name, kind] as const),
  );

  it.each(INTEGER_CASES)('%s = -1: accepted only for signed int', (label, place, name, kind) => {
    const got = problemOf(textAt([...place.path, name], '-1', place.kind));
    if (label.startsWith('envelope.version') || label.startsWith('action_record.version')) {
      expect(got).toEqual(problem('unsupported_version', ptr(place.path, name)));
    } else if (kind === 'int') {
      expect(got).toBeNull();
    } else {
      expect(got).toEqual(problem('malformed_json', ptr(place.path, name)));
    }
  });

  const WRONG: Record<FieldKind, readonly (readonly [raw: string, suffix: string])[]> = {
    string: [['1', ''], ['true', ''], ['["x"]', ''], ['{}', '']],
    time: [['0', ''], ['false', ''], ['["2026-04-15T12:00:00Z"]', '']],
    int: [['"1"', ''], ['true', ''], ['[1]', ''], ['{}', '']],
    uint64: [['"1"', ''], ['false', ''], ['[1]', ''], ['{}', '']],
    uint8: [['"1"', ''], ['true', ''], ['[1]', ''], ['{}', '']],
    bool: [['"true"', ''], ['1', ''], ['0', ''], ['[]', ''], ['{}', '']],
    strings: [['"x"', ''], ['{}', ''], ['1', ''], ['[1]', '/0'], ['["a",true]', '/1'], ['["a",null]', '/1'], ['[[]]', '/0'], ['[{}]', '/0']],
    intmap: [['[]', ''], ['"x"', ''], ['1', ''], ['{"k":"1"}', '/k'], ['{"k":true}', '/k'], ['{"k":null}', '/k'], ['{"k":1.5}', '/k'], ['{"a/b":[]}', '/a~1b']],
    object: [['"x"', ''], ['[]', ''], ['1', ''], ['true', '']],
    objects: [['{}', ''], ['"x"', ''], ['[1]', '/0'], ['["x"]', '/0'], ['[null]', '/0'], ['[[]]', '/0']],
    raw: [],
  };

  const TYPE_CASES = PLACES.flatMap((place) =>
    place.spec.fields.flatMap((f) => WRONG[f.kind].map(([raw, suffix]) => [`${place.label}.${f.name} (${f.kind}) = ${raw}`, place, f.name, raw, suffix] as const)),
  );

  it('covers every kind of field', () => {
    const kinds = new Set(PLACES.flatMap((p) => p.spec.fields.map((f) => f.kind)));
    expect([...kinds].sort()).toEqual(['bool', 'int', 'intmap', 'object', 'objects', 'raw', 'string', 'strings', 'time', 'uint64', 'uint8']);
    expect(TYPE_CASES.length).toBeGreaterThan(450);
  });

  it.each(TYPE_CASES)('%s', (_, place, name, raw, suffix) => {
    expect(problemOf(textAt([...place.path, name], raw, place.kind))).toEqual(problem('malformed_json', ptr(place.path, name) + suffix));
  });

  // §3.9: null is accepted only where Go has a nil-able type.
  const SPEC_NULLABLE = new Set([
    'envelope.ext',
    'action_record.delegation_chain',
    'action_record.data_classes_in',
    'action_record.data_classes_out',
    'action_record.recent_taint_sources',
    'action_record.contract_policy_sources',
    'action_record.precedent_refs',
    'action_record.redaction',
    'action_record.shield',
    'action_record.key_transition',
    'action_record.session_control',
    'redaction.by_class',
    'session_control.open',
    'session_control.heartbeat',
    'session_control.close',
  ]);

  it('the field tables mark exactly the §3.9 nil-able members nullable', () => {
    const nullable = PLACES.flatMap((p) => p.spec.fields.filter((f) => f.nullable).map((f) => `${p.label}.${f.name}`));
    expect(new Set(nullable)).toEqual(SPEC_NULLABLE);
  });

  const NULL_CASES = PLACES.flatMap((place) => place.spec.fields.filter((f) => f.kind !== 'raw').map((f) => [`${place.label}.${f.name}`, place, f.name] as const));

  it.each(NULL_CASES)('%s: null', (label, place, name) => {
    const got = problemOf(textAt([...place.path, name], 'null', place.kind));
    if (!SPEC_NULLABLE.has(label)) {
      expect(got).toEqual(problem('malformed_json', ptr(place.path, name)));
    } else if (place.spec === SESSION_CONTROL && name === 'open') {
      // the payload the kind (session_open) requires: a shape problem of session_control
      expect(got).toEqual(problem('malformed_json', '/action_record/session_control'));
    } else {
      expect(got).toBeNull();
    }
  });

  it('action_record: null → malformed_json /action_record', () => {
    expect(problemOf(rawEnvelope('null'))).toEqual(problem('malformed_json', '/action_record'));
  });

  it('nullable members accepted as null: delegation_chain, redaction, by_class, ext', () => {
    expect(problemOf(env({ delegation_chain: null }))).toBeNull();
    expect(problemOf(env({ delegation_chain: [] }))).toBeNull();
    expect(problemOf(env({ redaction: null }))).toBeNull();
    expect(problemOf(env({ redaction: { by_class: null } }))).toBeNull();
    expect(problemOf(env({}, ',"ext":null'))).toBeNull();
  });

  it('null array elements are rejected', () => {
    expect(problemOf(env({ delegation_chain: [null] }))).toEqual(problem('malformed_json', '/action_record/delegation_chain/0'));
    expect(problemOf(env({ data_classes_in: ['a', null] }))).toEqual(problem('malformed_json', '/action_record/data_classes_in/1'));
    expect(problemOf(env({ recent_taint_sources: [TAINT, null] }))).toEqual(problem('malformed_json', '/action_record/recent_taint_sources/1'));
    expect(problemOf(env({ redaction: { by_class: { k: null } } }))).toEqual(problem('malformed_json', '/action_record/redaction/by_class/k'));
  });

  describe('integer forms and ranges (§3.7, §4.5)', () => {
    const at = (path: readonly (string | number)[], raw: string, kind: Kind = 'open') => problemOf(textAt(path, raw, kind));
    const CHAIN_SEQ = ['action_record', 'chain_seq'] as const;
    const BODY_BYTES = ['action_record', 'shield', 'body_bytes'] as const;
    const LEVEL = ['action_record', 'recent_taint_sources', 0, 'level'] as const;

    it.each(['-0', '1.0', '1e2', '1E2', '0.5', '-1.5e3', '1e-0'])('%s is not a plain integer', (raw) => {
      expect(at(CHAIN_SEQ, raw)).toEqual(problem('malformed_json', '/action_record/chain_seq'));
      expect(at(BODY_BYTES, raw)).toEqual(problem('malformed_json', '/action_record/shield/body_bytes'));
      expect(at(LEVEL, raw)).toEqual(problem('malformed_json', '/action_record/recent_taint_sources/0/level'));
    });

    it('-0 in by_class values and in signed int fields', () => {
      expect(problemOf(replaceOnce(env(), '"chain_seq":0', '"chain_seq":0,"redaction":{"by_class":{"k":-0}}'))).toEqual(
        problem('malformed_json', '/action_record/redaction/by_class/k'),
      );
      expect(at(['action_record', 'session_control', 'open', 'heartbeat_seconds'], '-0')).toEqual(
        problem('malformed_json', '/action_record/session_control/open/heartbeat_seconds'),
      );
    });

    it('01 is a syntax error', () => {
      const p = parseJsonText(textAt(CHAIN_SEQ, '01'));
      expect(p.ok).toBe(false);
      if (!p.ok) expect([p.error.rule, p.error.reason]).toEqual(['syntax', 'malformed_json']);
    });

    it('int: −2^63 … 2^63−1', () => {
      expect(at(BODY_BYTES, '9223372036854775807')).toBeNull();
      expect(at(BODY_BYTES, '-9223372036854775808')).toBeNull();
      expect(at(BODY_BYTES, '9223372036854775808')).toEqual(problem('malformed_json', '/action_record/shield/body_bytes'));
      expect(at(BODY_BYTES, '-9223372036854775809')).toEqual(problem('malformed_json', '/action_record/shield/body_bytes'));
      expect(at(['action_record', 'redaction', 'by_class'], '{"k":9223372036854775808}')).toEqual(problem('malformed_json', '/action_record/redaction/by_class/k'));
      expect(at(['action_record', 'redaction', 'by_class'], '{"k":-9223372036854775808}')).toBeNull();
    });

    it('uint64: 0 … 2^64−1', () => {
      expect(at(CHAIN_SEQ, '18446744073709551615')).toBeNull();
      expect(at(CHAIN_SEQ, '18446744073709551616')).toEqual(problem('malformed_json', '/action_record/chain_seq'));
      expect(at(CHAIN_SEQ, '-1')).toEqual(problem('malformed_json', '/action_record/chain_seq'));
      expect(at(['action_record', 'contract_generation'], '-1')).toEqual(problem('malformed_json', '/action_record/contract_generation'));
      expect(at(['action_record', 'key_transition', 'prior_chain_seq'], '18446744073709551616')).toEqual(
        problem('malformed_json', '/action_record/key_transition/prior_chain_seq'),
      );
      expect(at(['action_record', 'session_control', 'heartbeat', 'beat'], '18446744073709551615', 'heartbeat')).toBeNull();
    });

    it('uint8: 0 … 255 (level)', () => {
      expect(at(LEVEL, '255')).toBeNull();
      expect(at(LEVEL, '0')).toBeNull();
      expect(at(LEVEL, '256')).toEqual(problem('malformed_json', '/action_record/recent_taint_sources/0/level'));
      expect(at(LEVEL, '-1')).toEqual(problem('malformed_json', '/action_record/recent_taint_sources/0/level'));
    });

    it('chain_seq 18446744073709551615 is kept exactly', () => {
      expect(receiptOf(env({ chain_seq: 18446744073709551615n })).chainSeq).toBe(18446744073709551615n);
    });
  });

  describe('session_control structure (§3.6, §6.5)', () => {
    const sc = (json: string) => problemOf(rawEnvelope(withMember(recordJson(), `"session_control":${json}`)));
    const OPEN = JSON.stringify(OPEN_V);
    const HB = JSON.stringify(HEARTBEAT_V);
    const CLOSE = JSON.stringify(CLOSE_V);

    it('each kind with its payload is accepted (other payloads may be null)', () => {
      expect(sc(`{"kind":"session_open","open":${OPEN}}`)).toBeNull();
      expect(sc(`{"kind":"heartbeat","heartbeat":${HB}}`)).toBeNull();
      expect(sc(`{"kind":"session_close","close":${CLOSE}}`)).toBeNull();
      expect(sc(`{"kind":"session_close","open":null,"heartbeat":null,"close":${CLOSE}}`)).toBeNull();
    });

    it.each(['session_heartbeat', 'session_pause', '', 'Heartbeat', 'SESSION_OPEN', 'open'])('unknown kind %j → /session_control/kind', (kind) => {
      expect(sc(`{"kind":${JSON.stringify(kind)},"heartbeat":${HB}}`)).toEqual(problem('malformed_json', '/action_record/session_control/kind'));
    });

    it('two payloads → /session_control', () => {
      expect(sc(`{"kind":"session_open","open":${OPEN},"heartbeat":${HB}}`)).toEqual(problem('malformed_json', '/action_record/session_control'));
      expect(sc(`{"kind":"session_close","open":${OPEN},"heartbeat":${HB},"close":${CLOSE}}`)).toEqual(
        problem('malformed_json', '/action_record/session_control'),
      );
    });

    it('payload not matching the kind → /session_control', () => {
      expect(sc(`{"kind":"heartbeat","open":${OPEN}}`)).toEqual(problem('malformed_json', '/action_record/session_control'));
      expect(sc(`{"kind":"session_open","close":${CLOSE}}`)).toEqual(problem('malformed_json', '/action_record/session_control'));
    });

    it('no payload, or only null payloads → /session_control', () => {
      expect(sc('{"kind":"session_open"}')).toEqual(problem('malformed_json', '/action_record/session_control'));
      expect(sc('{"kind":"heartbeat","heartbeat":null}')).toEqual(problem('malformed_json', '/action_record/session_control'));
    });

    it('a payload of the wrong JSON type is a type error of that member', () => {
      expect(sc('{"kind":"session_open","open":[]}')).toEqual(problem('malformed_json', '/action_record/session_control/open'));
    });
  });
});

describe('step 9: Validate, in order', () => {
  it('action_id "" → missing_required_field', () => {
    expect(problemOf(env({ action_id: '' }))).toEqual(problem('missing_required_field', '/action_record/action_id'));
  });

  it.each(['', 'launch', 'Read', 'READ', ' read', 'read\t'])('action_type %j → invalid_action_type', (t) => {
    expect(problemOf(env({ action_type: t }))).toEqual(problem('invalid_action_type', '/action_record/action_type'));
  });

  it('the nine action types are accepted', () => {
    expect([...ACTION_TYPES]).toEqual(['read', 'derive', 'write', 'delegate', 'authorize', 'spend', 'commit', 'actuate', 'unclassified']);
    for (const t of ACTION_TYPES) expect(problemOf(env({ action_type: t }))).toBeNull();
  });

  it('an actionTypes policy narrows the set', () => {
    const text = env({ action_type: 'write' });
    const c = checkReceipt(parseOk(text), text, { ...DEFAULT_STRUCTURE_POLICY, actionTypes: ['read'] });
    expect(c.ok ? null : [c.problem.reason, c.problem.pointer]).toEqual(['invalid_action_type', '/action_record/action_type']);
  });

  it('timestamp "" → missing_required_field', () => {
    expect(problemOf(env({ timestamp: '' }))).toEqual(problem('missing_required_field', '/action_record/timestamp'));
  });

  it.each([
    ['not rendered: .500', '2026-04-15T12:00:00.500Z'],
    ['not rendered: .000', '2026-04-15T12:00:00.000Z'],
    ['not rendered: +00:00', '2026-04-15T12:00:00+00:00'],
    ['not rendered: -00:00', '2026-04-15T12:00:00-00:00'],
    ['ten fraction digits', '2026-04-15T12:00:00.1234567891Z'],
    ['lowercase z', '2026-04-15T12:00:00z'],
    ['no zone', '2026-04-15T12:00:00'],
    ['not a time', 'yesterday'],
    ['invalid date', '2025-02-29T12:00:00Z'],
  ])('timestamp %s → malformed_json', (_, ts) => {
    expect(problemOf(env({ timestamp: ts }))).toEqual(problem('malformed_json', '/action_record/timestamp'));
  });

  it('rendered forms with an offset or fraction are accepted', () => {
    expect(problemOf(env({ timestamp: '2026-04-15T05:00:00.25-07:00' }))).toBeNull();
    expect(problemOf(env({ timestamp: '2026-07-24T22:57:41.86819273Z' }))).toBeNull();
  });

  it('a backslash escape anywhere in the raw timestamp text → malformed_json (even when it decodes to a rendered time)', () => {
    expect(problemOf(replaceOnce(env(), '"2026-04-15T12:00:00Z"', String.raw`"2026-04-15T12:00:00\u005a"`))).toEqual(
      problem('malformed_json', '/action_record/timestamp'),
    );
    expect(problemOf(replaceOnce(env(), '"2026-04-15T12:00:00Z"', String.raw`"\u0032026-04-15T12:00:00Z"`))).toEqual(
      problem('malformed_json', '/action_record/timestamp'),
    );
  });

  it.each(['0001-01-01T00:00:00Z', '0001-01-01T01:00:00+01:00', '0000-12-31T23:00:00-01:00'])('zero time %s → missing_required_field', (ts) => {
    expect(problemOf(env({ timestamp: ts }))).toEqual(problem('missing_required_field', '/action_record/timestamp'));
  });

  it('a non-rendered spelling of the zero time is malformed (form checked before zero)', () => {
    expect(problemOf(env({ timestamp: '0001-01-01T00:00:00.000Z' }))).toEqual(problem('malformed_json', '/action_record/timestamp'));
  });

  it.each(['target', 'verdict', 'transport'])('%s "" → missing_required_field', (name) => {
    expect(problemOf(env({ [name]: '' }))).toEqual(problem('missing_required_field', `/action_record/${name}`));
  });

  it('principal, actor, policy_hash, chain_prev_hash "" are allowed (no non-empty rule)', () => {
    expect(problemOf(env({ principal: '', actor: '', policy_hash: '', chain_prev_hash: '', side_effect_class: '', reversibility: '' }))).toBeNull();
  });

  it('signature "" and signer_key "" → missing_required_field', () => {
    expect(problemOf(rawEnvelope(recordJson(), '', ''))).toEqual(problem('missing_required_field', '/signature'));
    expect(problemOf(rawEnvelope(recordJson(), '', DUMMY_SIGNATURE, ''))).toEqual(problem('missing_required_field', '/signer_key'));
  });

  it('recent_taint_sources timestamps must be rendered → malformed_json with the element pointer', () => {
    const bad = { ...TAINT, timestamp: '2026-04-15T12:00:00.50Z' };
    expect(problemOf(env({ recent_taint_sources: [TAINT, bad] }))).toEqual(problem('malformed_json', '/action_record/recent_taint_sources/1/timestamp'));
    expect(problemOf(env({ recent_taint_sources: [{ ...TAINT, timestamp: '' }] }))).toEqual(
      problem('malformed_json', '/action_record/recent_taint_sources/0/timestamp'),
    );
    const escaped = replaceOnce(env({ recent_taint_sources: [{ ...TAINT, timestamp: 'PLACEHOLDER' }] }), '"PLACEHOLDER"', String.raw`"2026-04-15T12:00:00\u005a"`);
    expect(problemOf(escaped)).toEqual(problem('malformed_json', '/action_record/recent_taint_sources/0/timestamp'));
  });

  it('the zero time is allowed in recent_taint_sources', () => {
    expect(problemOf(env({ recent_taint_sources: [{ ...TAINT, timestamp: '0001-01-01T00:00:00Z' }] }))).toBeNull();
    expect(problemOf(env({ recent_taint_sources: [{ ...TAINT, timestamp: '0001-01-01T01:00:00+01:00' }] }))).toBeNull();
  });

  describe('order within step 9', () => {
    const badTaint = { recent_taint_sources: [{ ...TAINT, timestamp: '2026-04-15T12:00:00.0Z' }] };
    it.each([
      ['action_id before action_type', { action_id: '', action_type: 'launch' }, ['missing_required_field', '/action_record/action_id']],
      ['action_type before timestamp', { action_type: 'launch', timestamp: 'bad' }, ['invalid_action_type', '/action_record/action_type']],
      ['empty timestamp before target', { timestamp: '', target: '' }, ['missing_required_field', '/action_record/timestamp']],
      ['timestamp form before target', { timestamp: '2026-04-15T12:00:00.0Z', target: '' }, ['malformed_json', '/action_record/timestamp']],
      ['zero timestamp before target', { timestamp: '0001-01-01T00:00:00Z', target: '' }, ['missing_required_field', '/action_record/timestamp']],
      ['target before verdict', { target: '', verdict: '' }, ['missing_required_field', '/action_record/target']],
      ['verdict before transport', { verdict: '', transport: '' }, ['missing_required_field', '/action_record/verdict']],
      ['transport before taint timestamps', { transport: '', ...badTaint }, ['missing_required_field', '/action_record/transport']],
    ] as const)('%s', (_, over, [reason, pointer]) => {
      expect(problemOf(env(over))).toEqual(problem(reason, pointer));
    });

    it('transport before signature, signature before signer_key, signer_key before taint timestamps', () => {
      expect(problemOf(rawEnvelope(recordJson({ transport: '' }), '', ''))).toEqual(problem('missing_required_field', '/action_record/transport'));
      expect(problemOf(rawEnvelope(recordJson(), '', '', ''))).toEqual(problem('missing_required_field', '/signature'));
      expect(problemOf(rawEnvelope(recordJson(badTaint), '', DUMMY_SIGNATURE, ''))).toEqual(problem('missing_required_field', '/signer_key'));
    });

    it('types (8) before Validate (9); Validate (9) before header injection (10)', () => {
      expect(problemOf(env({ action_id: '', chain_seq: 'x' }))).toEqual(problem('malformed_json', '/action_record/chain_seq'));
      expect(problemOf(env({ action_id: '', target: 'a\u0000' }))).toEqual(problem('missing_required_field', '/action_record/action_id'));
      expect(problemOf(env({ action_type: 'read\u0000' }))).toEqual(problem('invalid_action_type', '/action_record/action_type'));
      expect(problemOf(env({ timestamp: '2026-04-15T12:00:00Z\u0000' }))).toEqual(problem('malformed_json', '/action_record/timestamp'));
    });
  });

  it('invalid_verdict (extension) only when a verdicts policy is set', () => {
    const text = env({ verdict: 'redirect' });
    expect(problemOf(text)).toBeNull();
    const c = checkReceipt(parseOk(text), text, { ...DEFAULT_STRUCTURE_POLICY, verdicts: ['allow', 'block'] });
    expect(c.ok ? null : [c.problem.reason, c.problem.pointer]).toEqual(['invalid_verdict', '/action_record/verdict']);
  });
});

describe('step 10: header injection', () => {
  const CONTROLS = [0x00, 0x01, 0x08, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f];
  const esc = (c: number) => '\\u' + c.toString(16).padStart(4, '0');

  it.each(CONTROLS.map((c) => [esc(c), c] as const))('%s in an action_record string → /action_record/target', (_, c) => {
    expect(problemOf(env({ target: `a${String.fromCharCode(c)}b` }))).toEqual(problem('header_injection', '/action_record/target'));
  });

  it.each(CONTROLS.map((c) => [esc(c), c] as const))('%s in an array element, a by_class key, signature, signer_key', (_, c) => {
    const ch = String.fromCharCode(c);
    expect(problemOf(env({ delegation_chain: ['ok', `x${ch}`] }))).toEqual(problem('header_injection', '/action_record/delegation_chain/1'));
    expect(problemOf(env({ redaction: { by_class: { [`k${ch}`]: 1 } } }))).toEqual(problem('header_injection', `/action_record/redaction/by_class/k${ch}`));
    expect(problemOf(rawEnvelope(recordJson(), '', `ed25519:${ch}`))).toEqual(problem('header_injection', '/signature'));
    expect(problemOf(rawEnvelope(recordJson(), '', DUMMY_SIGNATURE, `${DUMMY_KEY}${ch}`))).toEqual(problem('header_injection', '/signer_key'));
  });

  // Every string member of every signed struct, and every []string element.
  const STRING_CASES = PLACES.flatMap((place) =>
    place.spec.fields.filter((f) => f.kind === 'string' || f.kind === 'strings').map((f) => [`${place.label}.${f.name}`, place, f.name, f.kind] as const),
  );

  it.each(STRING_CASES)('U+0000 in %s', (label, place, name, kind) => {
    const raw = kind === 'strings' ? '["ok","x\\u0000"]' : '"x\\u0000"';
    const got = problemOf(textAt([...place.path, name], raw, place.kind));
    if (label === 'action_record.action_type') expect(got).toEqual(problem('invalid_action_type', '/action_record/action_type'));
    else if (label === 'session_control.kind') expect(got).toEqual(problem('malformed_json', '/action_record/session_control/kind'));
    else expect(got).toEqual(problem('header_injection', ptr(place.path, name) + (kind === 'strings' ? '/1' : '')));
  });

  it('a by_class key with "/" gets an escaped pointer', () => {
    expect(problemOf(env({ redaction: { by_class: { 'a/\u0001': 1 } } }))).toEqual(problem('header_injection', '/action_record/redaction/by_class/a~1\u0001'));
  });

  it('TAB, LF and CR are allowed, as are U+007F and C1 controls', () => {
    expect(problemOf(env({ target: 'a\tb\nc\rd', intent: '\t\n\r', delegation_chain: ['\t'], redaction: { by_class: { 'k\n': 1 } } }))).toBeNull();
    expect(problemOf(env({ target: 'a\u007f\u0080\u009f\u2028' }))).toBeNull();
  });

  it('ext is not inspected', () => {
    expect(problemOf(env({}, String.raw`,"ext":"\u0000"`))).toBeNull();
    expect(problemOf(env({}, String.raw`,"ext":{"\u0000":"\u0001\u001f","a":["\u000b"]}`))).toBeNull();
  });

  it('heartbeat_time (opaque string) is still signed text and inspected', () => {
    expect(problemOf(textAt(['action_record', 'session_control', 'heartbeat', 'heartbeat_time'], '"2026\\u0000"', 'heartbeat'))).toEqual(
      problem('header_injection', '/action_record/session_control/heartbeat/heartbeat_time'),
    );
  });
});
