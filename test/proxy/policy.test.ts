/**
 * The proxy policy file (spec/proxy.md §4): the built-in default's canonical
 * bytes and hash, strict JSON, every schema rule with the exact JSON Pointer
 * it reports, and every load-time rule.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  compileExtraRegex,
  DEFAULT_POLICY,
  DEFAULT_POLICY_BYTES,
  DEFAULT_POLICY_HASH,
  DEFAULT_POLICY_SOURCE,
  DEFAULT_POLICY_TEXT,
  defaultPolicyBytes,
  isExplainedPattern,
  literalSecretsPath,
  loadPolicy,
  parsePolicy,
  policySchema,
  PolicyError,
  regexProblem,
  SPEC_PATTERN_IDS,
  splitEndpoint,
  usesTestingOverrides,
  type PolicyLoadOptions,
} from '../../src/proxy/policy.js';
import { sharedDir } from '../helpers/fixtures.js';

const SPEC_HASH = '7803e1d798fefd7b7bf7defe2552a0cd03efc421f6e17f0754346c8cf96246f2';
const SPEC_FILE = path.join(sharedDir, 'spec', 'proxy.md');
const haveSpec = existsSync(SPEC_FILE);
if (!haveSpec) console.warn('note: ../shared/spec/proxy.md is missing; the spec-text comparisons are skipped');

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A mutable deep copy of the default policy. */
function base(): { [k: string]: Json } {
  return JSON.parse(DEFAULT_POLICY_TEXT) as { [k: string]: Json };
}

function bytesOf(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2) + '\n');
}

/** Sets the member at a pointer ("/a/b/0"); `undefined` deletes it. */
function setAt(root: { [k: string]: Json }, pointer: string, value: Json | undefined): void {
  const parts = pointer.slice(1).split('/');
  let node: Json = root;
  for (const p of parts.slice(0, -1)) node = (node as { [k: string]: Json })[p]!;
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete (node as { [k: string]: Json })[last];
  else (node as { [k: string]: Json })[last] = value;
}

function mutated(pointer: string, value: Json | undefined): Buffer {
  const p = base();
  setAt(p, pointer, value);
  return bytesOf(p);
}

function policyError(bytes: Uint8Array, opts: PolicyLoadOptions = {}, source = 'test.json'): PolicyError {
  try {
    parsePolicy(bytes, source, opts);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

describe('built-in default policy', () => {
  it('has the canonical bytes of §4: 75 lines, 1,503 bytes, the spec hash', () => {
    expect(DEFAULT_POLICY_BYTES.length).toBe(1503);
    expect(DEFAULT_POLICY_TEXT.split('\n').length - 1).toBe(75);
    expect(DEFAULT_POLICY_TEXT.endsWith('}\n')).toBe(true);
    expect(DEFAULT_POLICY_TEXT.endsWith('\n\n')).toBe(false);
    expect(createHash('sha256').update(DEFAULT_POLICY_BYTES).digest('hex')).toBe(SPEC_HASH);
    expect(DEFAULT_POLICY_HASH).toBe(SPEC_HASH);
    expect(DEFAULT_POLICY_TEXT).toBe(JSON.stringify(JSON.parse(DEFAULT_POLICY_TEXT), null, 2) + '\n');
  });

  it('defaultPolicyBytes() returns a fresh copy of the same bytes', () => {
    const a = defaultPolicyBytes();
    expect(a.equals(DEFAULT_POLICY_BYTES)).toBe(true);
    a[0] = 0x20;
    expect(DEFAULT_POLICY_BYTES[0]).toBe(0x7b);
    expect(defaultPolicyBytes()[0]).toBe(0x7b);
  });

  it('parses to DEFAULT_POLICY with the spec hash; loadPolicy(undefined) is the same', () => {
    const { policy, policyHash } = parsePolicy(DEFAULT_POLICY_BYTES, 'default');
    expect(policyHash).toBe(SPEC_HASH);
    expect(policy).toEqual(DEFAULT_POLICY);
    const loaded = loadPolicy(undefined);
    expect(loaded.policyHash).toBe(SPEC_HASH);
    expect(loaded.source).toBe(DEFAULT_POLICY_SOURCE);
    expect(loaded.bytes.equals(DEFAULT_POLICY_BYTES)).toBe(true);
    expect(loaded.policy).toEqual(DEFAULT_POLICY);
  });

  it('has the §4 settings', () => {
    const p = DEFAULT_POLICY;
    expect(p.mode).toBe('enforce');
    expect(p.default).toBe('allow');
    expect(p.destinations.block).toEqual(['*.pastebin.com', '*.hastebin.com', '*.paste.ee', '*.transfer.sh', 'file.io', '*.requestbin.com', 'requestbin.net']);
    expect(p.ssrf).toEqual({ enabled: true, block_unresolvable: true });
    expect(p.dlp.enabled && p.response.scan).toBe(true);
    expect(p.response.injection).toBe('block');
    expect(p.receipts.profile).toBe('session');
    expect(usesTestingOverrides(p)).toBe(false);
  });

  it('is deeply frozen, and so is every parsed policy', () => {
    expect(Object.isFrozen(DEFAULT_POLICY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_POLICY.destinations.block)).toBe(true);
    const { policy } = parsePolicy(DEFAULT_POLICY_BYTES, 'x');
    expect(Object.isFrozen(policy.dlp.entropy)).toBe(true);
    expect(() => (policy.destinations.block as string[]).push('x')).toThrow(TypeError);
  });

  it('saved to a file and loaded with --policy gives the same hash', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ev-policy-'));
    try {
      const file = path.join(dir, 'p.json');
      writeFileSync(file, defaultPolicyBytes());
      const loaded = loadPolicy(file);
      expect(loaded.policyHash).toBe(SPEC_HASH);
      expect(loaded.source).toBe(file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('literal_secrets_file is resolved relative to the policy file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ev-policy-'));
    try {
      const file = path.join(dir, 'p.json');
      writeFileSync(file, mutated('/dlp/literal_secrets_file', 'secrets.txt'));
      expect(literalSecretsPath(loadPolicy(file))).toBe(path.join(dir, 'secrets.txt'));
      writeFileSync(file, mutated('/dlp/literal_secrets_file', '/etc/agent/secrets'));
      expect(literalSecretsPath(loadPolicy(file))).toBe('/etc/agent/secrets');
      expect(literalSecretsPath(loadPolicy(undefined))).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!haveSpec)('equals the default policy block printed in spec §4', () => {
    const spec = readFileSync(SPEC_FILE, 'utf8');
    const at = spec.indexOf('**Built-in default policy.**');
    const block = /```json\n([\s\S]*?)```/.exec(spec.slice(at))![1]!;
    expect(JSON.stringify(JSON.parse(block), null, 2) + '\n').toBe(DEFAULT_POLICY_TEXT);
  });

  it.skipIf(!haveSpec)('accepts the example policy of spec §4 (with test overrides all null)', () => {
    const spec = readFileSync(SPEC_FILE, 'utf8');
    const at = spec.indexOf('## 4. Policy file');
    const block = /```json\n([\s\S]*?)```/.exec(spec.slice(at))![1]!;
    const bytes = Buffer.from(block);
    const { policy, policyHash } = parsePolicy(bytes, 'example.json');
    expect(policyHash).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(policy.dlp.extra[0]!.id).toBe('corp_build_token');
    expect(policy.dlp.bindings['github_token']).toEqual(['api.github.com', 'github.com']);
    expect(policy.destinations.internal.cidrs).toEqual(['10.20.0.0/16']);
    expect(policy.dlp.entropy.subdomain_label_bits).toBe(4);
  });
});

describe('policy hash and strict JSON', () => {
  it('hashes the exact bytes: reformatting changes the hash, not the policy', () => {
    const compact = Buffer.from(JSON.stringify(JSON.parse(DEFAULT_POLICY_TEXT)));
    const r = parsePolicy(compact, 'compact.json');
    expect(r.policy).toEqual(DEFAULT_POLICY);
    expect(r.policyHash).toBe(createHash('sha256').update(compact).digest('hex'));
    expect(r.policyHash).not.toBe(SPEC_HASH);
    expect(r.policyHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects duplicate keys, naming the pointer', () => {
    const text = DEFAULT_POLICY_TEXT.replace('"mode": "enforce",', '"mode": "enforce",\n  "mode": "observe",');
    const e = policyError(Buffer.from(text));
    expect(e.rule).toBe('duplicate_key');
    expect(e.pointer).toBe('/mode');
    expect(e.message).toMatch(/^policy test\.json: \/mode: duplicate key "mode"/);
  });

  it('rejects a duplicate key deep inside', () => {
    const text = DEFAULT_POLICY_TEXT.replace('"url": true,', '"url": true,\n      "url": false,');
    const e = policyError(Buffer.from(text));
    expect([e.rule, e.pointer]).toEqual(['duplicate_key', '/dlp/scan/url']);
  });

  it.each([
    ['syntax error', DEFAULT_POLICY_TEXT.replace('"version": 1,', '"version": 1')],
    ['trailing comma', DEFAULT_POLICY_TEXT.replace('"allow": []', '"allow": [],')],
    ['BOM', '\ufeff' + DEFAULT_POLICY_TEXT],
    ['empty file', ''],
    ['two documents', DEFAULT_POLICY_TEXT + '{}'],
  ])('rejects malformed JSON: %s', (_, text) => {
    const e = policyError(Buffer.from(text));
    expect(e.rule).toBe('json');
    expect(e.message).toMatch(/^policy test\.json: /);
  });

  it('rejects invalid UTF-8', () => {
    const bytes = Buffer.concat([Buffer.from('{"version": 1, "x": "'), Buffer.from([0xff]), Buffer.from('"}')]);
    expect(policyError(bytes).rule).toBe('json');
  });

  it('a file that cannot be read is rule io, naming the file', () => {
    let err: unknown;
    try {
      loadPolicy('/nonexistent/dir/policy.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const e = err as PolicyError;
    expect(e.rule).toBe('io');
    expect(e.source).toBe('/nonexistent/dir/policy.json');
    expect(e.message).toContain('/nonexistent/dir/policy.json');
    expect(e.message).toContain('no such file');
  });
});

/** [pointer to change, new value (undefined = delete), expected error pointer, expected rule, message fragment]. */
const SCHEMA_CASES: [string, Json | undefined, string, string, string][] = [
  ['/knob', true, '/knob', 'additionalProperties', 'unknown member "knob"'],
  ['/testing', undefined, '/testing', 'required', 'required member "testing" is missing'],
  ['/version', 2, '/version', 'const', 'must be 1, found 2'],
  ['/version', '1', '/version', 'const', 'found "1"'],
  ['/mode', 'warn', '/mode', 'enum', 'must be one of "enforce", "observe", found "warn"'],
  ['/default', 'block', '/default', 'enum', 'must be one of "allow", "deny"'],
  ['/destinations', [], '/destinations', 'type', 'must be an object, found an array'],
  ['/destinations/allow', 'a.com', '/destinations/allow', 'type', 'must be an array'],
  ['/destinations/block/0', 'http://pastebin.com/', '/destinations/block/0', 'pattern', 'must be a host pattern'],
  ['/destinations/block/0', '*', '/destinations/block/0', 'pattern', 'must be a host pattern'],
  ['/destinations/block/0', '*.*.example.com', '/destinations/block/0', 'pattern', 'must be a host pattern'],
  ['/destinations/block/0', 'exa mple.com', '/destinations/block/0', 'pattern', 'must be a host pattern'],
  ['/destinations/block/0', 'bücher.de', '/destinations/block/0', 'pattern', 'punycode'],
  ['/destinations/block/0', '', '/destinations/block/0', 'minLength', 'must not be empty'],
  ['/destinations/block/1', '*.pastebin.com', '/destinations/block/1', 'uniqueItems', 'duplicate of item 0'],
  ['/destinations/trusted', [7], '/destinations/trusted/0', 'type', 'must be a string, found 7'],
  ['/destinations/networks', [], '/destinations/networks', 'additionalProperties', 'allowed: allow, block, trusted, internal'],
  ['/destinations/internal/hosts', undefined, '/destinations/internal/hosts', 'required', 'required member "hosts"'],
  ['/destinations/internal/cidrs', ['10.0.0.0'], '/destinations/internal/cidrs/0', 'pattern', 'must be a CIDR'],
  ['/destinations/internal/cidrs', ['10.0.0.0/8', '10.0.0.0/8'], '/destinations/internal/cidrs/1', 'uniqueItems', 'duplicate'],
  ['/destinations/internal/extra', [], '/destinations/internal/extra', 'additionalProperties', 'unknown member "extra"'],
  ['/ssrf/enabled', 'yes', '/ssrf/enabled', 'type', 'must be true or false, found "yes"'],
  ['/ssrf/block_unresolvable', undefined, '/ssrf/block_unresolvable', 'required', 'is missing'],
  ['/ssrf/metadata', false, '/ssrf/metadata', 'additionalProperties', 'unknown member'],
  ['/dlp/enabled', null, '/dlp/enabled', 'type', 'found null'],
  ['/dlp/scan/url', 1, '/dlp/scan/url', 'type', 'must be true or false'],
  ['/dlp/scan/response', true, '/dlp/scan/response', 'additionalProperties', 'allowed: url, headers, body'],
  ['/dlp/hostname_exfil', undefined, '/dlp/hostname_exfil', 'required', 'is missing'],
  ['/dlp/entropy/url_segment_bits', 0, '/dlp/entropy/url_segment_bits', 'exclusiveMinimum', 'must be greater than 0'],
  ['/dlp/entropy/url_segment_bits', 9, '/dlp/entropy/url_segment_bits', 'maximum', 'must be at most 8'],
  ['/dlp/entropy/url_segment_bits', '4.5', '/dlp/entropy/url_segment_bits', 'type', 'must be a number'],
  ['/dlp/entropy/url_min_len', 1.5, '/dlp/entropy/url_min_len', 'type', 'must be an integer, found 1.5'],
  ['/dlp/entropy/url_min_len', 0, '/dlp/entropy/url_min_len', 'minimum', 'must be at least 1'],
  ['/dlp/entropy/subdomain_label_bits', -1, '/dlp/entropy/subdomain_label_bits', 'exclusiveMinimum', 'greater than 0'],
  ['/dlp/entropy/subdomain_min_len', 64, '/dlp/entropy/subdomain_min_len', 'maximum', 'at most 63'],
  ['/dlp/generic_entropy', 'some', '/dlp/generic_entropy', 'enum', '"off", "decoded_only", "all"'],
  ['/dlp/max_decode_depth', -1, '/dlp/max_decode_depth', 'minimum', 'at least 0'],
  ['/dlp/max_decode_depth', 9, '/dlp/max_decode_depth', 'maximum', 'at most 8'],
  ['/dlp/disable', ['AWS_KEY'], '/dlp/disable/0', 'pattern', 'must be a pattern id'],
  ['/dlp/disable', ['jwt', 'jwt'], '/dlp/disable/1', 'uniqueItems', 'duplicate'],
  ['/dlp/extra', [{ id: 'x', name: 'X', regex: 'x[0-9]{8}' }], '/dlp/extra/0/severity', 'required', 'required member "severity"'],
  ['/dlp/extra', [{ id: 'x', name: 'X', regex: 'x[0-9]{8}', severity: 'severe' }], '/dlp/extra/0/severity', 'enum', '"low", "medium", "high", "critical"'],
  ['/dlp/extra', [{ id: 'x', name: 'X', regex: 'x[0-9]{8}', severity: 'high', flags: 'i' }], '/dlp/extra/0/flags', 'additionalProperties', 'allowed: id, name, regex, severity'],
  ['/dlp/extra', [{ id: 'x', name: 'X', regex: '', severity: 'high' }], '/dlp/extra/0/regex', 'minLength', 'must not be empty'],
  ['/dlp/extra', [{ id: 'Corp-Token', name: 'X', regex: 'x[0-9]{8}', severity: 'high' }], '/dlp/extra/0/id', 'pattern', 'pattern id'],
  ['/dlp/extra', [{ id: 'x', name: '', regex: 'x[0-9]{8}', severity: 'high' }], '/dlp/extra/0/name', 'minLength', 'must not be empty'],
  ['/dlp/extra', [{ id: 'x', name: 'X', regex: 'x'.repeat(1025), severity: 'high' }], '/dlp/extra/0/regex', 'maxLength', 'at most 1024'],
  ['/dlp/extra', {}, '/dlp/extra', 'type', 'must be an array'],
  ['/dlp/bindings', { 'Bad-Id': ['a.com'] }, '/dlp/bindings/Bad-Id', 'propertyNames', 'member name "Bad-Id": must be a pattern id'],
  ['/dlp/bindings', { github_token: [] }, '/dlp/bindings/github_token', 'minItems', 'at least 1 item'],
  ['/dlp/bindings', { github_token: ['api github.com'] }, '/dlp/bindings/github_token/0', 'pattern', 'host pattern'],
  ['/dlp/bindings', [], '/dlp/bindings', 'type', 'must be an object'],
  ['/dlp/literal_secrets_file', 5, '/dlp/literal_secrets_file', 'type', 'must be a string or null, found 5'],
  ['/dlp/literal_secrets_file', '', '/dlp/literal_secrets_file', 'minLength', 'must not be empty'],
  ['/response/injection', 'drop', '/response/injection', 'enum', '"block", "warn", "off"'],
  ['/response/sensitive_data', 'warn', '/response/sensitive_data', 'enum', '"record", "block"'],
  ['/response/exempt', [1], '/response/exempt/0', 'type', 'must be a string'],
  ['/response/scan', undefined, '/response/scan', 'required', 'is missing'],
  ['/limits/max_url_length', 0, '/limits/max_url_length', 'minimum', 'at least 1'],
  ['/limits/max_body_bytes', '1MB', '/limits/max_body_bytes', 'type', 'must be an integer, found "1MB"'],
  ['/limits/max_body_bytes', -1, '/limits/max_body_bytes', 'minimum', 'at least 0'],
  ['/limits/oversize_body', 'truncate', '/limits/oversize_body', 'enum', '"block", "allow_unscanned"'],
  ['/limits/max_response_bytes', 1e12, '/limits/max_response_bytes', 'maximum', 'at most'],
  ['/limits/requests_per_minute', -1, '/limits/requests_per_minute', 'minimum', 'at least 0'],
  ['/limits/connect_ports', [0], '/limits/connect_ports/0', 'minimum', 'at least 1'],
  ['/limits/connect_ports', [443, 70000], '/limits/connect_ports/1', 'maximum', 'at most 65535'],
  ['/limits/connect_ports', [443, 443], '/limits/connect_ports/1', 'uniqueItems', 'duplicate'],
  ['/receipts/profile', 'v3', '/receipts/profile', 'enum', '"session", "legacy"'],
  ['/receipts/principal', '', '/receipts/principal', 'minLength', 'must not be empty'],
  ['/receipts/principal', 'org\u0001x', '/receipts/principal', 'pattern', 'control characters'],
  ['/receipts/require', 'true', '/receipts/require', 'type', 'true or false'],
  ['/receipts/durable', undefined, '/receipts/durable', 'required', 'is missing'],
  ['/receipts/heartbeat_seconds', -5, '/receipts/heartbeat_seconds', 'minimum', 'at least 0'],
  ['/receipts/checkpoint_interval', 0, '/receipts/checkpoint_interval', 'minimum', 'at least 1'],
  ['/receipts/max_entries_per_file', 0, '/receipts/max_entries_per_file', 'minimum', 'at least 1'],
  ['/receipts/sign', true, '/receipts/sign', 'additionalProperties', 'unknown member "sign"'],
  ['/testing/dial_override', '127.0.0.1', '/testing/dial_override', 'pattern', '"127.0.0.1:PORT"'],
  ['/testing/dial_override', 'localhost:8080', '/testing/dial_override', 'pattern', '"127.0.0.1:PORT"'],
  ['/testing/dial_override', '127.0.0.1:0', '/testing/dial_override', 'pattern', '"127.0.0.1:PORT"'],
  ['/testing/dial_override', '127.0.0.1:65536', '/testing/dial_override', 'pattern', '"127.0.0.1:PORT"'],
  ['/testing/tls_dial_override', '10.0.0.1:443', '/testing/tls_dial_override', 'pattern', '"127.0.0.1:PORT"'],
  ['/testing/tls_dial_override', 8443, '/testing/tls_dial_override', 'type', 'a string or null'],
  ['/testing/resolve_all_to', 'example.com', '/testing/resolve_all_to', 'pattern', 'must be an IP address'],
  ['/testing/resolve_all_to', undefined, '/testing/resolve_all_to', 'required', 'is missing'],
  ['/testing/resolve_everything', null, '/testing/resolve_everything', 'additionalProperties', 'unknown member'],
];

describe('schema rules (exact JSON Pointer and rule)', () => {
  it.each(SCHEMA_CASES)('%s = %j → %s (%s)', (at, value, pointer, rule, fragment) => {
    const e = policyError(mutated(at, value));
    expect(e.problems[0]).toMatchObject({ pointer, rule });
    expect(e.problems[0]!.message).toContain(fragment);
    expect(e.pointer).toBe(pointer);
    expect(e.message.startsWith(`policy test.json: ${pointer}: `)).toBe(true);
    expect(e.message).toContain(`[${rule}]`);
  });

  it('a "__proto__" member is an ordinary unknown member', () => {
    const text = DEFAULT_POLICY_TEXT.replace('"version": 1,', '"version": 1,\n  "__proto__": {"mode": "observe"},');
    const e = policyError(Buffer.from(text));
    expect([e.pointer, e.rule]).toEqual(['/__proto__', 'additionalProperties']);
    expect(e.problems).toHaveLength(1);
  });

  it('rejects a document that is not an object', () => {
    for (const text of ['[]', '1', '"policy"', 'null']) {
      const e = policyError(Buffer.from(text));
      expect([e.pointer, e.rule]).toEqual(['', 'type']);
      expect(e.message).toContain('(root): must be an object');
    }
  });

  it('reports every schema problem, not just the first', () => {
    const p = base();
    setAt(p, '/mode', 'loud');
    setAt(p, '/limits/max_url_length', -1);
    setAt(p, '/receipts/extra', 1);
    const e = policyError(bytesOf(p));
    expect(e.problems.map((x) => x.pointer).sort()).toEqual(['/limits/max_url_length', '/mode', '/receipts/extra']);
    expect(e.message.split('\n')).toHaveLength(3);
  });

  it('every pattern in the schema is explained in words', () => {
    const patterns: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'pattern' && typeof x === 'string') patterns.push(x);
          else walk(x);
        }
      }
    };
    walk(policySchema());
    expect(patterns.length).toBeGreaterThan(4);
    for (const p of patterns) expect(isExplainedPattern(p), p).toBe(true);
  });

  it('every member of the default policy is required by the schema', () => {
    // Dropping any leaf of the default must fail with "required" at that pointer.
    const leaves: string[] = [];
    const walk = (v: Json, at: string): void => {
      if (v && typeof v === 'object' && !Array.isArray(v) && at !== '/dlp/bindings') {
        for (const [k, x] of Object.entries(v)) {
          leaves.push(`${at}/${k}`);
          walk(x, `${at}/${k}`);
        }
      }
    };
    walk(base(), '');
    expect(leaves.length).toBeGreaterThan(50);
    for (const at of leaves) {
      const e = policyError(mutated(at, undefined));
      expect([e.pointer, e.rule], at).toEqual([at, 'required']);
    }
  });
});

describe('load-time rules', () => {
  it.each([
    ['0.0.0.0/0', 'catch_all_cidr', 'catch-all'],
    ['::/0', 'catch_all_cidr', 'catch-all'],
    ['10.20.1.0/16', 'host_bits', 'the network is 10.20.0.0/16'],
    ['fd00::1/8', 'host_bits', 'the network is fd00::/8'],
    ['300.1.1.1/8', 'cidr', 'not a valid IPv4'],
    ['010.0.0.0/8', 'cidr', 'not a valid IPv4'],
    ['10.0.0.0/33', 'cidr', 'from 0 to 32'],
    ['10.0.0.0/08', 'cidr', 'prefix length'],
    ['fd00::/129', 'cidr', 'from 0 to 128'],
    ['fd00:::/8', 'cidr', 'not a valid IPv6'],
  ])('internal.cidrs %s → %s', (c, rule, fragment) => {
    const e = policyError(mutated('/destinations/internal/cidrs', ['10.0.0.0/8', c]));
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]).toMatchObject({ pointer: '/destinations/internal/cidrs/1', rule });
    expect(e.message).toContain(fragment);
  });

  it('accepts valid IPv4 and IPv6 CIDRs', () => {
    const { policy } = parsePolicy(mutated('/destinations/internal/cidrs', ['10.20.0.0/16', '192.168.1.7/32', 'fd00::/8', '2001:db8::/32', '::ffff:0:0/96']), 'x');
    expect(policy.destinations.internal.cidrs).toHaveLength(5);
  });

  it.each([
    ['/destinations/allow', '*.10.0.0.1', 'wildcard cannot end in a numeric label'],
    ['/destinations/block', '127.1', 'plain dotted quad'],
    ['/destinations/trusted', '0x7f.0.0.1', 'plain dotted quad'],
    ['/destinations/internal/hosts', '256.0.0.1', 'plain dotted quad'],
    ['/response/exempt', ':::1', 'not a valid IPv6'],
    ['/destinations/block', '[fe80::1', 'not a valid IPv6'],
  ])('host pattern in %s: %s → host_pattern', (list, pattern, fragment) => {
    const e = policyError(mutated(list, ['ok.example.com', pattern]));
    expect(e.problems[0]).toMatchObject({ pointer: `${list}/1`, rule: 'host_pattern' });
    expect(e.message).toContain(fragment);
  });

  it('checks binding hosts too', () => {
    const e = policyError(mutated('/dlp/bindings', { openai_api_key: ['api.openai.com', '*.1'] }));
    expect(e.problems[0]).toMatchObject({ pointer: '/dlp/bindings/openai_api_key/1', rule: 'host_pattern' });
  });

  it('accepts IP and IPv6 host patterns, trailing dots and upper case', () => {
    const { policy } = parsePolicy(mutated('/destinations/block', ['127.0.0.1', '::1', '[fd00:ec2::254]', 'Example.COM.', '*.Evil.example.']), 'x');
    expect(policy.destinations.block).toHaveLength(5);
  });

  it('rejects unknown pattern ids in dlp.disable and dlp.bindings', () => {
    const p = base();
    setAt(p, '/dlp/disable', ['jwt', 'no_such_pattern']);
    setAt(p, '/dlp/bindings', { github_token: ['github.com'], made_up: ['x.com'] });
    const e = policyError(bytesOf(p));
    expect(e.problems.map((x) => [x.pointer, x.rule])).toEqual([
      ['/dlp/disable/1', 'unknown_pattern_id'],
      ['/dlp/bindings/made_up', 'unknown_pattern_id'],
    ]);
  });

  it('every spec pattern id may be disabled and bound; extra ids may be bound and disabled', () => {
    const p = base();
    setAt(p, '/dlp/disable', [...SPEC_PATTERN_IDS]);
    setAt(p, '/dlp/extra', [{ id: 'corp_build_token', name: 'Corp Build Token', regex: 'cbt1_[A-Za-z0-9]{24}', severity: 'critical' }]);
    setAt(p, '/dlp/bindings', { corp_build_token: ['build.corp.example'], openai_api_key: ['api.openai.com'] });
    expect(() => parsePolicy(bytesOf(p), 'x')).not.toThrow();
  });

  it('checks ids against knownPatternIds when given', () => {
    const bytes = mutated('/dlp/disable', ['scanner_only_id']);
    expect(policyError(bytes).rule).toBe('unknown_pattern_id');
    expect(() => parsePolicy(bytes, 'x', { knownPatternIds: ['scanner_only_id'] })).not.toThrow();
    const clash = mutated('/dlp/extra', [{ id: 'scanner_only_id', name: 'n', regex: 'abc', severity: 'low' }]);
    expect(policyError(clash, { knownPatternIds: ['scanner_only_id'] }).rule).toBe('builtin_pattern_id');
  });

  it('extra pattern ids must be unique and not built-in', () => {
    const e = policyError(
      mutated('/dlp/extra', [
        { id: 'github_token', name: 'mine', regex: 'ghx_[a-z]{20}', severity: 'high' },
        { id: 'corp', name: 'a', regex: 'corp_[a-z]{20}', severity: 'high' },
        { id: 'corp', name: 'b', regex: 'corp2_[a-z]{20}', severity: 'low' },
      ]),
    );
    expect(e.problems.map((x) => [x.pointer, x.rule])).toEqual([
      ['/dlp/extra/0/id', 'builtin_pattern_id'],
      ['/dlp/extra/2/id', 'duplicate_pattern_id'],
    ]);
    expect(e.problems[1]!.message).toContain('/dlp/extra/1');
  });

  const extraWith = (regex: string): Buffer => mutated('/dlp/extra', [{ id: 'corp', name: 'Corp', regex, severity: 'high' }]);

  it.each([
    ['([a-z]', 'regex_syntax'],
    ['[z-a]', 'regex_syntax'],
    ['\\_x', 'regex_syntax'], // identity escape: invalid with the u flag (and in RE2)
    ['x{2,1}', 'regex_syntax'],
    ['(?i', 'regex_syntax'],
    ['a*', 'regex_empty_match'],
    ['(?:abc)?', 'regex_empty_match'],
    ['x|', 'regex_empty_match'],
    ['(a+)+b', 'regex_pathological'],
    ['(.*)*x', 'regex_pathological'],
    ['(?:\\w+\\s?)+$', 'regex_pathological'],
    ['(a?)+b', 'regex_pathological'],
    ['(a{1,3})*b', 'regex_pathological'],
    ['(x(a+)y)+', 'regex_pathological'],
    ['((ab)*c)+d', 'regex_pathological'],
    ['(?:[a-z]+\\.){3}', 'regex_pathological'],
    ['(?<w>\\d+)+z', 'regex_pathological'],
    ['(?i)(a+)+b', 'regex_pathological'],
  ])('extra regex %j → %s', (regex, rule) => {
    const e = policyError(extraWith(regex));
    expect(e.problems[0]).toMatchObject({ pointer: '/dlp/extra/0/regex', rule });
    expect(regexProblem(regex)?.rule).toBe(rule);
  });

  it.each([
    'cbt1_[A-Za-z0-9]{24}',
    '(?i)corp_[a-z0-9]{16}',
    '(?:ab)+c',
    '(a+)?b',
    '(?:x[a-z]{24})+',
    '(?:[a-z]+\\.)?example',
    '\\p{Lu}{3}-\\d{4}',
    '[(+)*]+x',
    '\\(a+\\)+',
    '(?<=key=)[A-Z]{10}',
    '(?<tag>ab)\\k<tag>',
    '(a|b){3}c+',
    'x\\u{1F600}+',
    '^tok_[0-9a-f]{32}$',
  ])('accepts regex %j', (regex) => {
    expect(regexProblem(regex)).toBeNull();
    expect(() => parsePolicy(extraWith(regex), 'x')).not.toThrow();
  });

  it('compileExtraRegex: u flag, (?i) becomes the i flag, extra flags added', () => {
    const re = compileExtraRegex('(?i)corp_[a-z]{3}', 'g');
    expect(re.flags).toBe('giu');
    expect('x CORP_ABC y'.match(re)).toEqual(['CORP_ABC']);
    expect(compileExtraRegex('corp_[a-z]{3}').test('CORP_ABC')).toBe(false);
  });

  describe('testing overrides', () => {
    const withOverrides = (): Buffer => {
      const p = base();
      setAt(p, '/testing', { resolve_all_to: '203.0.113.10', dial_override: '127.0.0.1:18080', tls_dial_override: '127.0.0.1:18443' });
      return bytesOf(p);
    };

    it('are refused without --allow-testing-overrides, one problem per member', () => {
      const e = policyError(withOverrides(), { listenIsLoopback: true });
      expect(e.problems.map((x) => [x.pointer, x.rule])).toEqual([
        ['/testing/resolve_all_to', 'testing_not_allowed'],
        ['/testing/dial_override', 'testing_not_allowed'],
        ['/testing/tls_dial_override', 'testing_not_allowed'],
      ]);
      expect(e.message).toContain('--allow-testing-overrides');
    });

    it('are refused on a non-loopback listener even when allowed', () => {
      const e = policyError(withOverrides(), { allowTestingOverrides: true, listenIsLoopback: false });
      expect(e.rule).toBe('testing_not_loopback');
      expect(e.problems).toHaveLength(3);
    });

    it('are honoured with the flag on loopback', () => {
      const { policy } = parsePolicy(withOverrides(), 'bench.json', { allowTestingOverrides: true, listenIsLoopback: true });
      expect(usesTestingOverrides(policy)).toBe(true);
      expect(splitEndpoint(policy.testing.dial_override!)).toEqual({ host: '127.0.0.1', port: 18080 });
    });

    it('a single non-null member is enough to need the flag', () => {
      const e = policyError(mutated('/testing/dial_override', '127.0.0.1:9'));
      expect(e.problems.map((x) => x.pointer)).toEqual(['/testing/dial_override']);
    });

    it('all-null overrides need nothing', () => {
      expect(() => parsePolicy(DEFAULT_POLICY_BYTES, 'x', { allowTestingOverrides: false, listenIsLoopback: false })).not.toThrow();
    });

    it('resolve_all_to must be a valid IP address', () => {
      for (const bad of ['999.1.1.1', ':::', '1::2::3', '01.2.3.4']) {
        const e = policyError(mutated('/testing/resolve_all_to', bad), { allowTestingOverrides: true, listenIsLoopback: true });
        expect(e.problems[0]).toMatchObject({ pointer: '/testing/resolve_all_to', rule: 'ip_address' });
      }
      for (const good of ['203.0.113.10', '2001:db8::10']) {
        expect(() => parsePolicy(mutated('/testing/resolve_all_to', good), 'x', { allowTestingOverrides: true, listenIsLoopback: true })).not.toThrow();
      }
    });
  });
});
