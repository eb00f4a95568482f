/**
 * Canonical encoding (receipts-v1 §4) and the two byte strings built from it
 * (§5.1 signing input, §5.3 receipt hash): the §4.9 worked example, the
 * published vectors of §11, the omitempty rules of §4.4 and the `ext` rules
 * of §2/§4.8.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyEd25519 } from '../../src/crypto/ed25519.js';
import { JObj } from '../../src/json/strict.js';
import { canonicalEnvelope } from '../../src/receipt/canonical.js';
import { checkReceipt } from '../../src/receipt/receipt.js';
import { haveShared, recordJson, shared, signed, testSigner } from '../helpers/fixtures.js';
import { DUMMY_KEY, DUMMY_SIGNATURE, parseOk, rawEnvelope, receiptOf, replaceOnce, withMember } from '../helpers/json-cases.js';

const sha256hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const utf8Length = (s: string) => Buffer.byteLength(s, 'utf8');

// §4.9 canonical bytes, verbatim from the spec (placeholders <U+E000>, <U+10000> replaced below)
const SPEC_4_9_CANONICAL_WITH_PLACEHOLDERS = String.raw`{"version":1,"action_id":"ex-1","action_type":"write","timestamp":"2026-05-01T08:30:00.25Z","principal":"p","actor":"a\u0026b","delegation_chain":null,"target":"https://x.test/\u003cq\u003e","side_effect_class":"external_write","reversibility":"unknown","policy_hash":"h","verdict":"block","transport":"forward","redaction":{"total_redactions":6,"by_class":{"b":3,"<U+E000>":2,"<U+10000>":1}},"chain_prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","chain_seq":3}`;
// §11.1 valid-single.json canonical ActionRecord (523 bytes), verbatim
const VALID_SINGLE_AR = String.raw`{"version":1,"action_id":"conformance-00000","action_type":"write","timestamp":"2026-04-15T12:00:00Z","principal":"org:conformance-test","actor":"agent:conformance-runner","delegation_chain":["test-policy-v1","test-grant"],"target":"https://api.example.com/conformance","side_effect_class":"external_write","reversibility":"compensatable","policy_hash":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","verdict":"allow","transport":"https","method":"POST","chain_prev_hash":"genesis","chain_seq":0}`;
// §11.2 golden/10 canonical ActionRecord (2454 bytes), verbatim
const GOLDEN_10_AR = String.raw`{"version":1,"action_id":"conformance-00000","parent_action_id":"conformance-parent-00000","action_type":"write","timestamp":"2026-04-15T12:00:00Z","principal":"org:conformance-test","actor":"agent:conformance-runner","delegation_chain":["test-policy-v1","test-grant"],"target":"https://api.example.com/v1/agents/spawn","intent":"delegated-subagent-write","data_classes_in":["prompt","secret"],"data_classes_out":["summary"],"side_effect_class":"external_write","reversibility":"compensatable","policy_hash":"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","verdict":"allow","session_taint_level":"suspected","session_contaminated":true,"recent_taint_sources":[{"url":"https://compromised-blog.example/post/9","kind":"response_injection","level":4,"timestamp":"2026-04-15T12:00:00Z","receipt_id":"conformance-taint-00000","match_reason":"ignore_previous_instructions"}],"session_task_id":"task-abc123","session_task_label":"research-and-summarize","authority_kind":"delegated","taint_decision":"allow_with_constraints","taint_decision_reason":"task_scope_permits_write","task_override_applied":true,"contract_winning_source":"operator_policy","contract_live_verdict":"allow","contract_policy_sources":["operator_policy","org_default"],"contract_rule_id":"rule-write-allow-7","active_manifest_hash":"sha256:1111111111111111111111111111111111111111111111111111111111111111","contract_hash":"sha256:2222222222222222222222222222222222222222222222222222222222222222","contract_selector_id":"selector-9","contract_generation":4,"transport":"https","method":"POST","layer":"tool_policy","pattern":"spawn_subagent","severity":"medium","redaction":{"profile":"strict","provider":"provider.example","parser":"json","total_redactions":2,"by_class":{"api_key":1,"email":1},"cache_boundary_kept":true},"shield":{"pipeline":"browser_shield_v1","total_rewrites":5,"extension_probes":1,"tracking_beacons":2,"agent_traps":1,"fingerprint_shim_injected":true,"svg_foreign_objects":1,"svg_event_handlers":1,"svg_external_references":1,"svg_hidden_text":1,"svg_animation_injections":1,"body_bytes":4096,"scanned_bytes":4096,"partial":true,"adaptive_signals_recorded":3,"adaptive_signal_max_per_body":8},"request_id":"req-7f3a","chain_prev_hash":"genesis","chain_seq":0,"venue":"us-east","jurisdiction":"operator-default","rulebook_id":"rulebook-v1","remedy_class":"compensate","contestation_window":"24h","precedent_refs":["conformance-precedent-1"]}`;

// ---------------------------------------------------------------------------
// helpers

const BASE_CANONICAL =
  '{"version":1,"action_id":"test-00000","action_type":"read","timestamp":"2026-04-15T12:00:00Z","principal":"org:test","actor":"agent:test",' +
  '"delegation_chain":null,"target":"https://api.example.com/v1/things","side_effect_class":"external_read","reversibility":"full",' +
  `"policy_hash":"sha256:${'a'.repeat(64)}","verdict":"allow","transport":"https","method":"GET","chain_prev_hash":"genesis","chain_seq":0}`;

/** The envelope preimage of §5.3 written out by hand. */
function envelopePreimage(canonicalAR: string, ext?: string, signature = DUMMY_SIGNATURE, signerKey = DUMMY_KEY): string {
  return `{"version":1,"action_record":${canonicalAR},"signature":"${signature}","signer_key":"${signerKey}"${ext === undefined ? '' : `,"ext":${ext}`}}`;
}

/** Canonical ActionRecord of the base record with overrides (unsigned; canonical bytes do not need a signature). */
function canon(over: Parameters<typeof recordJson>[0] = {}): string {
  return receiptOf(rawEnvelope(recordJson(over))).canonicalAR;
}

function canonRaw(actionRecordJson: string): string {
  return receiptOf(rawEnvelope(actionRecordJson)).canonicalAR;
}

/** BASE_CANONICAL with `insert` placed right after `anchor`. */
function baseWith(anchor: string, insert: string): string {
  return replaceOnce(BASE_CANONICAL, anchor, anchor + insert);
}

type Plain = string | number | boolean | null | Plain[] | { [k: string]: Plain };

/** The same value with the member order of every object reversed. */
function reversedDeep(v: Plain): Plain {
  if (Array.isArray(v)) return v.map(reversedDeep);
  if (v === null || typeof v !== 'object') return v;
  const out: { [k: string]: Plain } = {};
  for (const k of Object.keys(v).reverse()) out[k] = reversedDeep(v[k]!);
  return out;
}

// ---------------------------------------------------------------------------

describe('§4.9 worked example', () => {
  // The input text exactly as printed in the spec (JSON escapes kept as written).
  const INPUT = String.raw`{"chain_seq": 3, "verdict": "block", "action_type": "write", "version": 1,
 "action_id": "ex-1", "timestamp": "2026-05-01T08:30:00.25Z",
 "principal": "p", "actor": "a&b", "delegation_chain": null,
 "target": "https://x.test/<q>", "intent": "", "data_classes_in": [],
 "side_effect_class": "external_write", "reversibility": "unknown",
 "policy_hash": "h", "transport": "forward", "session_contaminated": false,
 "redaction": {"by_class": {"\ud800\udc00": 1, "\ue000": 2, "b": 3},
               "total_redactions": 6},
 "chain_prev_hash": "0000000000000000000000000000000000000000000000000000000000000000"}`;
  const EXPECTED = SPEC_4_9_CANONICAL_WITH_PLACEHOLDERS.replace('<U+E000>', '\uE000').replace('<U+10000>', '\u{10000}');

  it('the expected text has the two raw characters in place of the placeholders', () => {
    expect(EXPECTED).not.toContain('<U+');
    expect(EXPECTED).toContain('"by_class":{"b":3,"\uE000":2,"\u{10000}":1}');
  });

  it('canonicalises to the spec bytes and hashes to 877b4c77…', () => {
    const r = receiptOf(rawEnvelope(INPUT));
    expect(r.canonicalAR).toBe(EXPECTED);
    expect(sha256hex(Buffer.from(r.canonicalAR, 'utf8'))).toBe('877b4c774181d04795d579fbac04dea049cc5229e32125ea8f5fdf8548808186');
    expect(r.digest.toString('hex')).toBe('877b4c774181d04795d579fbac04dea049cc5229e32125ea8f5fdf8548808186');
  });

  it('the receipt hash covers the canonical ActionRecord inside the envelope', () => {
    const r = receiptOf(rawEnvelope(INPUT));
    expect(r.hash).toBe(sha256hex(envelopePreimage(EXPECTED)));
  });
});

describe('§11 published vectors (shared reference files)', () => {
  const CORPUS_KEY = '890726e93f89e773fb3b4298271245a69c1884fd1003846c3358b8b65a2288fa';
  const SDK_KEY = '4655a7e605c12ebb00a46037881c33c5bca5eb74b45a02e8e7261a7ff5a21678';

  const load = (rel: string, line?: number) => {
    let text = readFileSync(shared('reference', rel), 'utf8');
    if (line !== undefined) text = text.split('\n').filter((l) => l.trim() !== '')[line]!;
    return { text, receipt: receiptOf(text) };
  };

  const verifies = (r: ReturnType<typeof receiptOf>) => verifyEd25519(r.signerKey, r.digest, Buffer.from(r.signature.slice('ed25519:'.length), 'hex'));

  it.skipIf(!haveShared)('valid-single.json: canonical bytes, digest, signature, envelope length and hash (§11.1) [needs ../shared]', () => {
    const { text, receipt } = load('pipelock-sdk-basic/valid-single.json');
    expect(receipt.canonicalAR).toBe(VALID_SINGLE_AR);
    expect(utf8Length(receipt.canonicalAR)).toBe(523);
    expect(receipt.digest.toString('hex')).toBe('5fd30d1f46ab86e20815fc79e1e23749e605d00b0c78fe30356196b5c6429639');
    expect(receipt.signature).toBe(
      'ed25519:9f0b431db60ea4e56b03708278d10055ab74f037b287eb448e26352c6f43c12ad08dd6645d786ebe4e28682f90c1afb3c5bc63a3c221833b153abe6bf79a2e0c',
    );
    expect(receipt.signerKey).toBe(SDK_KEY);
    expect(verifies(receipt)).toBe(true);
    const env = canonicalEnvelope(receipt.env, receipt.canonicalAR, text);
    expect(env).toBe(envelopePreimage(VALID_SINGLE_AR, undefined, receipt.signature, SDK_KEY));
    expect(utf8Length(env)).toBe(784);
    expect(receipt.hash).toBe('9994a67b9cb324bae8d648b5baccd5d5403600b2bc5047a40d0355a610f2dc44');
  });

  it.skipIf(!haveShared)('golden/10 full-field canonical bytes (2454 bytes) and hashes (§11.2) [needs ../shared]', () => {
    const { receipt } = load('receipt-conformance-v0/golden/10-full-field-differential.json');
    expect(utf8Length(GOLDEN_10_AR)).toBe(2454);
    expect(receipt.canonicalAR).toBe(GOLDEN_10_AR);
    expect(receipt.digest.toString('hex')).toBe('ba1e88e61cc0c6054780a8f93aae77a0cdacbb8818c2697d648d1dafaca64a8b');
    expect(receipt.hash).toBe('7d9996d79ab566731a858fab35a533e39252e032537b75740326365d707fb8dc');
    expect(verifies(receipt)).toBe(true);
  });

  it.skipIf(!haveShared).each([
    ['golden/04-block-injection-fetch.json', undefined, 605, 'b07cabc8be79ab186da38caae28e9e6a003cae1193f7100ab2456e4d8d6babf1', 'bad2727fa59622ca9c5287e057198039f2f51df87da0d44b5dca3f69492724aa'],
    ['golden/09-allow-shield-summary.json', undefined, 725, '8f04eb5157424733324b1452dfa7cf69bef5c945b88434974fc4b6ea83e1c402', '6c609bd30d6a169a733bae50a65204523973c70244dc0cd3eb305c06166705f4'],
    ['golden/11-run-nonce-bound.json', undefined, 566, 'ce4407290ee26f48f99c9be346a347dc1459af941900132c40ac0b5f2d100103', '568ea8684a698aea99462fbd035e96f55d360ac4c7afc7ac000fadb11147c5ce'],
    ['golden/05-ask-hitl-approve.jsonl', 0, 562, 'f7c08147d00fa0429ca4c4c8636402dee477512d848bb1509c32a223d8a6bd8a', '0a21b4aa6864dae2658550131803b6070c6c92e36ab5273905c456017dfbee0e'],
    ['golden/05-ask-hitl-approve.jsonl', 1, 623, '6add3f77f89aeb91160a6442a9b93656caf0893fd3c8b28aea18188c3442fc88', 'db9246eb126041a9ae5a57818274299261098bdb72be3f203038c50981762132'],
  ] as const)('%s [line %s]: %i bytes, digest, hash [needs ../shared]', (file, line, length, digest, hash) => {
    const { receipt } = load(`receipt-conformance-v0/${file}`, line);
    expect(utf8Length(receipt.canonicalAR)).toBe(length);
    expect(receipt.digest.toString('hex')).toBe(digest);
    expect(receipt.hash).toBe(hash);
    expect(receipt.signerKey).toBe(CORPUS_KEY);
    expect(verifies(receipt)).toBe(true);
  });

  it.skipIf(!haveShared)('golden/05 receipt 1 links to the hash of receipt 0 [needs ../shared]', () => {
    const r1 = load('receipt-conformance-v0/golden/05-ask-hitl-approve.jsonl', 1).receipt;
    expect(r1.chainPrevHash).toBe('0a21b4aa6864dae2658550131803b6070c6c92e36ab5273905c456017dfbee0e');
  });

  it.skipIf(!haveShared).each([
    ['edge/e10-non-bmp-map-key-order.json', 'ba0b358c94acd3dcd7c6b3388f50913124f63a9e45d4d5afbefbef62fa9d6b07'],
    ['edge/e11-html-escape-canonicalization.json', '279042de97a54af2c73e00b2b7a239e435b552ac2a3afddbfcaaccf6cdc004aa'],
    ['edge/e12-ext-bag-tolerated.json', 'fc8b6e8fce71c2260d5322f091234d13f65f5920ad0c643be96c3e39a9a209f5'],
    ['edge/e09-maximum-json-nesting-depth.json', '003a21d7f5f187ef43f50e1f39ec29ef57c45c4e1507d6db7579dd3b9176ecd5'],
  ] as const)('%s receipt hash %s [needs ../shared]', (file, hash) => {
    const { receipt } = load(`receipt-conformance-v0/${file}`);
    expect(receipt.hash).toBe(hash);
    expect(verifies(receipt)).toBe(true);
  });

  it.skipIf(!haveShared)('e10 by_class in code-point order and e11 intent escaping (§11.2) [needs ../shared]', () => {
    const e10 = load('receipt-conformance-v0/edge/e10-non-bmp-map-key-order.json').receipt;
    expect(e10.canonicalAR).toContain('"by_class":{"api_key":1,"\uE000":2,"\u{10000}":3}');
    const e11 = load('receipt-conformance-v0/edge/e11-html-escape-canonicalization.json').receipt;
    expect(e11.canonicalAR).toContain(
      String.raw`"intent":"render \u003cscript\u003ealert('x')\u003c/script\u003e \u0026 preserve \u2028 and \u2029 separators"`,
    );
  });

  it.skipIf(!haveShared)('e09: without ext the hash would be the corpus value 34f2780d… (§12.2 item 9) [needs ../shared]', () => {
    const { receipt } = load('receipt-conformance-v0/edge/e09-maximum-json-nesting-depth.json');
    expect(sha256hex(envelopePreimage(receipt.canonicalAR, undefined, receipt.signature, receipt.signerKey))).toBe(
      '34f2780dcb510c03f55fc31387c993066fad23e328a2bf5f64b630b8d58a0dfb',
    );
    expect(receipt.hash).not.toBe('34f2780dcb510c03f55fc31387c993066fad23e328a2bf5f64b630b8d58a0dfb');
  });
});

describe('§4.1/§4.2 field order: every member of every struct in table order', () => {
  const AR_ORDER = [
    'version', 'action_id', 'parent_action_id', 'action_type', 'timestamp', 'principal', 'actor', 'delegation_chain', 'target', 'intent',
    'data_classes_in', 'data_classes_out', 'side_effect_class', 'reversibility', 'policy_hash', 'verdict', 'decision_phase', 'defer_id',
    'resolution_policy', 'resolution_source', 'session_id', 'session_id_original', 'session_taint_level', 'session_contaminated',
    'recent_taint_sources', 'session_task_id', 'session_task_label', 'authority_kind', 'taint_decision', 'taint_decision_reason',
    'task_override_applied', 'contract_winning_source', 'contract_live_verdict', 'contract_policy_sources', 'contract_rule_id',
    'active_manifest_hash', 'contract_hash', 'contract_selector_id', 'contract_generation', 'transport', 'method', 'layer', 'pattern',
    'severity', 'redaction', 'shield', 'request_id', 'chain_prev_hash', 'chain_seq', 'run_nonce', 'key_transition', 'session_control',
    'venue', 'jurisdiction', 'rulebook_id', 'remedy_class', 'contestation_window', 'precedent_refs',
  ];

  const TAINT = { url: 'https://taint.example/x', kind: 'response_injection', level: 200, timestamp: '2026-04-15T11:59:00.5+02:00', receipt_id: 'r-1', match_reason: 'm' };
  const REDACTION = { profile: 'strict', provider: 'prov', parser: 'json', total_redactions: 3, by_class: { a: 1, b: 2 }, cache_boundary_kept: true };
  const SHIELD = {
    pipeline: 'p', total_rewrites: 1, extension_probes: 2, tracking_beacons: 3, agent_traps: 4, fingerprint_shim_injected: true,
    svg_foreign_objects: 5, svg_event_handlers: 6, svg_external_references: 7, svg_hidden_text: 8, svg_animation_injections: 9,
    body_bytes: 10, scanned_bytes: 11, partial: true, adaptive_signals_recorded: 12, adaptive_signal_max_per_body: -13,
  };
  const KT = { prior_signer_key: 'c'.repeat(64), prior_chain_seq: 9, prior_chain_hash: 'd'.repeat(64) };
  const OPEN = {
    run_nonce: 'rn', open_nonce: 'on', recorder_session: 'proxy', policy_hash: 'ph', signer_key_epoch: 'ep', heartbeat_seconds: 30,
    chain_open_seq: 5, prior_chain_head: 'pch', prior_chain_seq: 4, genesis_hash: 'gh', genesis_anchor_head: 'gah', genesis_anchor_log: 'gal',
    posture_capsule_sha256: 'pcs', posture_signer_key_id: 'psk', containment_nonce: 'cn', contained_uid: 'cu',
  };
  const HEARTBEAT = {
    run_nonce: 'rn', open_nonce: 'on', beat: 1, chain_head: 'ch', chain_seq_head: 4, heartbeat_time: '2026-04-15T12:00:00.000+00:00',
    fsync_errors_gated: 2, durability_blocks: 3,
  };
  const CLOSE = { run_nonce: 'rn', open_nonce: 'on', final_seq: 5, root_hash: 'rh', receipt_count: 6, close_reason: 'graceful_shutdown', fsync_errors_gated: 1, durability_blocks: 2 };

  function full(sessionControl: Plain): { [k: string]: Plain } {
    return {
      version: 1, action_id: 'id-1', parent_action_id: 'parent', action_type: 'write', timestamp: '2026-04-15T12:00:00.123-07:00',
      principal: 'pr', actor: 'ac', delegation_chain: ['d1', 'd2'], target: 'https://t.example/', intent: 'in', data_classes_in: ['x'],
      data_classes_out: ['y'], side_effect_class: 'external_write', reversibility: 'full', policy_hash: 'ph', verdict: 'allow',
      decision_phase: 'intent', defer_id: 'df', resolution_policy: 'rp', resolution_source: 'rs', session_id: 's', session_id_original: 'so',
      session_taint_level: 'tl', session_contaminated: true, recent_taint_sources: [TAINT, { ...TAINT, url: 'second' }], session_task_id: 'st',
      session_task_label: 'stl', authority_kind: 'ak', taint_decision: 'td', taint_decision_reason: 'tdr', task_override_applied: true,
      contract_winning_source: 'cws', contract_live_verdict: 'clv', contract_policy_sources: ['c1', 'c2'], contract_rule_id: 'cr',
      active_manifest_hash: 'amh', contract_hash: 'ch', contract_selector_id: 'cs', contract_generation: 7, transport: 'https', method: 'POST',
      layer: 'l', pattern: 'pa', severity: 'high', redaction: REDACTION, shield: SHIELD, request_id: 'rq', chain_prev_hash: 'e'.repeat(64),
      chain_seq: 5, run_nonce: 'rn', key_transition: KT, session_control: sessionControl, venue: 'v', jurisdiction: 'j', rulebook_id: 'rb',
      remedy_class: 'rc', contestation_window: '24h', precedent_refs: ['p1'],
    };
  }

  it('the test record lists the 58 members of §3.1 in order', () => {
    expect(AR_ORDER).toHaveLength(58);
    expect(Object.keys(full(null))).toEqual(AR_ORDER);
  });

  it.each([
    ['session_open', { kind: 'session_open', open: OPEN }],
    ['heartbeat', { kind: 'heartbeat', heartbeat: HEARTBEAT }],
    ['session_close', { kind: 'session_close', close: CLOSE }],
  ] as const)('all members, given in reverse order, come out in table order (%s)', (_, sc) => {
    const expected = JSON.stringify(full(sc as Plain));
    const input = JSON.stringify(reversedDeep(full(sc as Plain)));
    expect(input).not.toBe(expected);
    const r = receiptOf(rawEnvelope(input));
    expect(r.canonicalAR).toBe(expected);
    expect((parseOk(r.canonicalAR) as JObj).keys).toEqual(AR_ORDER);
  });

  it('heartbeat_time is opaque text (not re-rendered) while timestamps must be rendered', () => {
    const r = receiptOf(rawEnvelope(JSON.stringify(full({ kind: 'heartbeat', heartbeat: HEARTBEAT }))));
    expect(r.canonicalAR).toContain('"heartbeat_time":"2026-04-15T12:00:00.000+00:00"');
    expect(r.canonicalAR).toContain('"timestamp":"2026-04-15T12:00:00.123-07:00"');
    expect(r.canonicalAR).toContain('"timestamp":"2026-04-15T11:59:00.5+02:00"');
  });
});

describe('§4.4 omitempty: zero values dropped, per kind', () => {
  it('the base record canonicalises to the expected bytes', () => {
    expect(canon()).toBe(BASE_CANONICAL);
  });

  it.each([
    ['string ""', { intent: '' }],
    ['string "" (parent_action_id, run_nonce, venue)', { parent_action_id: '', run_nonce: '', venue: '' }],
    ['bool false', { session_contaminated: false, task_override_applied: false }],
    ['uint64 0', { contract_generation: 0 }],
    ['[]string []', { data_classes_in: [], precedent_refs: [] }],
    ['[]string null', { data_classes_out: null, contract_policy_sources: null }],
    ['array of objects []', { recent_taint_sources: [] }],
    ['array of objects null', { recent_taint_sources: null }],
    ['nested objects null', { redaction: null, shield: null, key_transition: null, session_control: null }],
  ])('%s → dropped', (_, over) => {
    expect(canon(over)).toBe(BASE_CANONICAL);
  });

  it.each([
    ['intent "x"', { intent: 'x' }, '"target":"https://api.example.com/v1/things"', ',"intent":"x"'],
    ['session_contaminated true', { session_contaminated: true }, '"verdict":"allow"', ',"session_contaminated":true'],
    ['contract_generation 1', { contract_generation: 1 }, '"verdict":"allow"', ',"contract_generation":1'],
    ['data_classes_in [""]', { data_classes_in: [''] }, '"target":"https://api.example.com/v1/things"', ',"data_classes_in":[""]'],
  ])('%s → kept', (_, over, anchor, insert) => {
    expect(canon(over)).toBe(baseWith(anchor, insert));
  });

  it('a present nested object is kept even when empty or all-zero: redaction {} and shield {}', () => {
    expect(canon({ redaction: {} })).toBe(baseWith('"method":"GET"', ',"redaction":{}'));
    expect(canon({ shield: {} })).toBe(baseWith('"method":"GET"', ',"shield":{}'));
    expect(canon({ redaction: {}, shield: {} })).toBe(baseWith('"method":"GET"', ',"redaction":{},"shield":{}'));
  });

  it('inside redaction: "" / 0 / false / {} / null members are dropped', () => {
    const over = { redaction: { profile: '', provider: '', parser: '', total_redactions: 0, by_class: {}, cache_boundary_kept: false } };
    expect(canon(over)).toBe(baseWith('"method":"GET"', ',"redaction":{}'));
    expect(canon({ redaction: { by_class: null } })).toBe(baseWith('"method":"GET"', ',"redaction":{}'));
  });

  it('inside shield: every zero int / bool / string is dropped; a negative int is kept', () => {
    const zero = {
      pipeline: '', total_rewrites: 0, extension_probes: 0, tracking_beacons: 0, agent_traps: 0, fingerprint_shim_injected: false,
      svg_foreign_objects: 0, svg_event_handlers: 0, svg_external_references: 0, svg_hidden_text: 0, svg_animation_injections: 0,
      body_bytes: 0, scanned_bytes: 0, partial: false, adaptive_signals_recorded: 0, adaptive_signal_max_per_body: 0,
    };
    expect(canon({ shield: zero })).toBe(baseWith('"method":"GET"', ',"shield":{}'));
    expect(canon({ shield: { ...zero, body_bytes: -1 } })).toBe(baseWith('"method":"GET"', ',"shield":{"body_bytes":-1}'));
  });

  it('inside a taint source: omitempty strings dropped; url/kind "", level 0 and the zero time kept', () => {
    const t = { match_reason: '', receipt_id: '', timestamp: '0001-01-01T00:00:00Z', level: 0, kind: '', url: '' };
    expect(canon({ recent_taint_sources: [t] })).toBe(
      baseWith('"verdict":"allow"', ',"recent_taint_sources":[{"url":"","kind":"","level":0,"timestamp":"0001-01-01T00:00:00Z"}]'),
    );
  });

  it('session_control: null payloads dropped; open: omitempty members dropped, non-omitempty zeros kept', () => {
    const open = {
      run_nonce: '', open_nonce: '', recorder_session: '', policy_hash: '', signer_key_epoch: '', heartbeat_seconds: 0, chain_open_seq: 0,
      prior_chain_head: '', prior_chain_seq: 0, genesis_hash: '', genesis_anchor_head: '', genesis_anchor_log: '', posture_capsule_sha256: '',
      posture_signer_key_id: '', containment_nonce: '', contained_uid: '',
    };
    expect(canon({ session_control: { kind: 'session_open', open, heartbeat: null, close: null } })).toBe(
      baseWith(
        '"chain_seq":0',
        ',"session_control":{"kind":"session_open","open":{"run_nonce":"","open_nonce":"","recorder_session":"","policy_hash":"","signer_key_epoch":"","heartbeat_seconds":0,"chain_open_seq":0}}',
      ),
    );
  });

  it('heartbeat and close payloads keep every member, zeros included', () => {
    const hb = { run_nonce: '', open_nonce: '', beat: 0, chain_head: '', chain_seq_head: 0, heartbeat_time: '', fsync_errors_gated: 0, durability_blocks: 0 };
    expect(canon({ session_control: { kind: 'heartbeat', heartbeat: hb } })).toBe(
      baseWith('"chain_seq":0', ',"session_control":{"kind":"heartbeat","heartbeat":' + JSON.stringify(hb) + '}'),
    );
    const close = { run_nonce: '', open_nonce: '', final_seq: 0, root_hash: '', receipt_count: 0, close_reason: '', fsync_errors_gated: 0, durability_blocks: 0 };
    expect(canon({ session_control: { close, open: null, kind: 'session_close' } })).toBe(
      baseWith('"chain_seq":0', ',"session_control":{"kind":"session_close","close":' + JSON.stringify(close) + '}'),
    );
  });

  it('key_transition keeps all three members, zeros included', () => {
    expect(canon({ key_transition: { prior_chain_hash: '', prior_chain_seq: 0, prior_signer_key: '' } })).toBe(
      baseWith('"chain_seq":0', ',"key_transition":{"prior_signer_key":"","prior_chain_seq":0,"prior_chain_hash":""}'),
    );
  });
});

describe('§4.4 non-omitempty zero values are written as given', () => {
  it('delegation_chain null stays null, [] stays [] (distinct bytes, distinct digests)', () => {
    const asNull = canon({ delegation_chain: null });
    const asEmpty = canon({ delegation_chain: [] });
    expect(asNull).toBe(BASE_CANONICAL);
    expect(asEmpty).toBe(replaceOnce(BASE_CANONICAL, '"delegation_chain":null', '"delegation_chain":[]'));
    expect(sha256hex(asNull)).not.toBe(sha256hex(asEmpty));
  });

  it('principal "", actor "", side_effect_class "", reversibility "", policy_hash "", chain_prev_hash "" stay ""', () => {
    const c = canon({ principal: '', actor: '', side_effect_class: '', reversibility: '', policy_hash: '', chain_prev_hash: '' });
    expect(c).toBe(
      '{"version":1,"action_id":"test-00000","action_type":"read","timestamp":"2026-04-15T12:00:00Z","principal":"","actor":"",' +
        '"delegation_chain":null,"target":"https://api.example.com/v1/things","side_effect_class":"","reversibility":"","policy_hash":"",' +
        '"verdict":"allow","transport":"https","method":"GET","chain_prev_hash":"","chain_seq":0}',
    );
  });

  it('chain_seq 0 stays 0 and large values are written verbatim', () => {
    expect(canon({ chain_seq: 0 })).toContain('"chain_seq":0}');
    expect(canon({ chain_seq: 18446744073709551615n })).toBe(replaceOnce(BASE_CANONICAL, '"chain_seq":0', '"chain_seq":18446744073709551615'));
  });
});

describe('§4.7 by_class', () => {
  it('entries with value 0 are kept (omitempty applies to the map, not its entries)', () => {
    expect(canon({ redaction: { by_class: { zero: 0 } } })).toBe(baseWith('"method":"GET"', ',"redaction":{"by_class":{"zero":0}}'));
  });

  it('keys are sorted by code point and escaped like any string', () => {
    const ar = withMember(recordJson(), String.raw`"redaction":{"by_class":{"\u00e9":1,"b&":2,"B":3,"\ud83d\ude00":4,"\uffff":5,"a<":-6}}`);
    const byClass = String.raw`{"B":3,"a\u003c":-6,"b\u0026":2,"é":1,"` + '\uffff' + '":5,"😀":4}';
    expect(canonRaw(ar)).toBe(baseWith('"method":"GET"', `,"redaction":{"by_class":${byClass}}`));
  });
});

describe('§4.3 strings through the canonical path', () => {
  it('input escape spellings are normalised to Go output', () => {
    const ar = withMember(recordJson(), String.raw`"intent":"\u00e9\/\u003C\u007f\t\n\r\"\\ \u2028\u0041\ud83d\ude00>"`);
    const intent = String.raw`"intent":"é/\u003c` + '\u007f' + String.raw`\t\n\r\"\\ \u2028A` + '😀' + String.raw`\u003e"`;
    expect(canonRaw(ar)).toBe(baseWith('"target":"https://api.example.com/v1/things"', ',' + intent));
  });

  it('raw and escaped spellings of the same text give the same digest', () => {
    const a = receiptOf(rawEnvelope(withMember(recordJson(), '"intent":"a/é<"')));
    const b = receiptOf(rawEnvelope(withMember(recordJson(), String.raw`"intent":"a\/\u00E9\u003c"`)));
    expect(a.canonicalAR).toBe(b.canonicalAR);
    expect(a.digest.equals(b.digest)).toBe(true);
  });
});

describe('§5.3 receipt hash (canonical envelope)', () => {
  it('equals SHA-256 of the receipt text for an honest (emitted) receipt', () => {
    const text = signed();
    expect(receiptOf(text).hash).toBe(sha256hex(text));
  });

  it('does not depend on source formatting or envelope member order', () => {
    const text = signed({ intent: 'x<y' });
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const pretty = JSON.stringify({ signer_key: parsed.signer_key, signature: parsed.signature, action_record: parsed.action_record, version: 1 }, null, 2);
    const a = receiptOf(text);
    const b = receiptOf(pretty);
    expect(b.canonicalAR).toBe(a.canonicalAR);
    expect(b.hash).toBe(a.hash);
    expect(b.hash).toBe(sha256hex(text));
  });

  it('writes the signature and signer_key as given, escaped per §4.3', () => {
    const text = rawEnvelope(recordJson(), '', 'ed25519:<&>', 'KEY/é');
    const r = receiptOf(text);
    expect(r.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, undefined, String.raw`ed25519:\u003c\u0026\u003e`, 'KEY/é')));
  });

  it('signer key text is used verbatim (case matters for the hash)', () => {
    const lower = receiptOf(rawEnvelope(recordJson(), '', DUMMY_SIGNATURE, testSigner.publicKeyHex));
    const upper = receiptOf(rawEnvelope(recordJson(), '', DUMMY_SIGNATURE, testSigner.publicKeyHex.toUpperCase()));
    expect(lower.digest.equals(upper.digest)).toBe(true);
    expect(lower.hash).not.toBe(upper.hash);
  });
});

describe('§2/§4.8 ext: hashed, not signed, as compacted source bytes', () => {
  const noExt = receiptOf(rawEnvelope(recordJson()));

  it('absent ext is not written', () => {
    expect(noExt.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL)));
  });

  it.each(['null', '0', '""', '{}', '[]', 'false'])('ext %s counts as present and is hashed last', (v) => {
    const r = receiptOf(rawEnvelope(recordJson(), `,"ext":${v}`));
    expect(r.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, v)));
    expect(r.hash).not.toBe(noExt.hash);
    expect(r.canonicalAR).toBe(BASE_CANONICAL);
  });

  it('changing ext changes the receipt hash but not the digest (not signed)', () => {
    const a = receiptOf(rawEnvelope(recordJson(), ',"ext":{"a":1}'));
    const b = receiptOf(rawEnvelope(recordJson(), ',"ext":{"a":2}'));
    expect(a.digest.equals(b.digest)).toBe(true);
    expect(a.digest.equals(noExt.digest)).toBe(true);
    expect(a.hash).not.toBe(b.hash);
    expect(a.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, '{"a":1}')));
    expect(b.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, '{"a":2}')));
  });

  it('a signed receipt stays signature-consistent with ext added (digest unchanged)', () => {
    const text = signed();
    const withExt = withMember(text, '"ext":{"vendor":"acme"}');
    expect(receiptOf(withExt).digest.equals(receiptOf(text).digest)).toBe(true);
    expect(receiptOf(withExt).hash).toBe(sha256hex(withExt));
  });

  it('spacing outside strings inside ext does not change the hash', () => {
    const compact = receiptOf(rawEnvelope(recordJson(), ',"ext":{"a":[1,2],"b":{"c":"d e"}}'));
    const spaced = receiptOf(rawEnvelope(recordJson(), ',"ext" :\n {\t"a" : [ 1 ,\r\n 2 ] , "b":{ "c" : "d e" } }'));
    expect(spaced.hash).toBe(compact.hash);
    expect(compact.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, '{"a":[1,2],"b":{"c":"d e"}}')));
  });

  it('spacing inside ext strings does change the hash', () => {
    const a = receiptOf(rawEnvelope(recordJson(), ',"ext":"d e"'));
    const b = receiptOf(rawEnvelope(recordJson(), ',"ext":"d  e"'));
    expect(a.hash).not.toBe(b.hash);
  });

  it.each([
    ['"A"', String.raw`"\u0041"`],
    ['"/"', String.raw`"\/"`],
    [String.raw`"\u003c"`, String.raw`"\u003C"`],
    ['"é"', String.raw`"\u00e9"`],
    ['1000000', '1e+06'],
    ['2.5', '2.50'],
    ['{"a":1,"b":2}', '{"b":2,"a":1}'],
  ])('escape, number and order spellings are kept: %s vs %s hash differently', (x, y) => {
    const a = receiptOf(rawEnvelope(recordJson(), `,"ext":${x}`));
    const b = receiptOf(rawEnvelope(recordJson(), `,"ext":${y}`));
    expect(a.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, x)));
    expect(b.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, y)));
    expect(a.hash).not.toBe(b.hash);
  });

  it('raw < > & U+2028 U+2029 in ext strings hash like their lowercase \\u escapes', () => {
    const raw = receiptOf(rawEnvelope(recordJson(), ',"ext":{"k<":"a>b&c\u2028\u2029"}'));
    const escaped = String.raw`{"k\u003c":"a\u003eb\u0026c\u2028\u2029"}`;
    expect(raw.hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, escaped)));
    expect(receiptOf(rawEnvelope(recordJson(), `,"ext":${escaped}`)).hash).toBe(raw.hash);
  });

  it('ext is hashed last wherever it appears in the source', () => {
    const last = receiptOf(rawEnvelope(recordJson(), ',"ext":{"x":1}'));
    const firstText = `{"ext":{"x":1},"version":1,"action_record":${recordJson()},"signature":"${DUMMY_SIGNATURE}","signer_key":"${DUMMY_KEY}"}`;
    const first = checkReceipt(parseOk(firstText), firstText);
    expect(first.ok).toBe(true);
    if (first.ok) expect(first.receipt.hash).toBe(last.hash);
  });

  it('ext numbers and escapes of control characters are kept byte-for-byte', () => {
    const ext = String.raw`{"n":123456789012345678901234567890,"f":1E400,"z":"\u0000"}`;
    expect(receiptOf(rawEnvelope(recordJson(), `,"ext":${ext}`)).hash).toBe(sha256hex(envelopePreimage(BASE_CANONICAL, ext)));
  });
});
