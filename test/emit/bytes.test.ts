/**
 * Byte-level facts of the emitter's output, checked against expectations
 * written out by hand from the specs: the receipt is its canonical envelope
 * (receipts-v1 §4, §5.3–§5.4), recorder lines follow §7.2/§7.8, summary.md
 * and packet.json follow audit-packet-v0 §5, and hostOf follows §4.
 */
import { createHash, verify as cryptoVerify } from 'node:crypto';
import { readFile, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryHash, readEntry } from '../../src/chain/recorder.js';
import { publicKeyObject } from '../../src/crypto/ed25519.js';
import { RecorderChainWriter } from '../../src/emit/chain.js';
import { hostOf, pythonJson, summaryMarkdown } from '../../src/emit/packet.js';
import { signActionRecord, type ActionRecordInput } from '../../src/emit/receipt.js';
import { recorderLine } from '../../src/emit/recorder.js';
import { parseJsonText } from '../../src/json/strict.js';
import { checkReceipt } from '../../src/receipt/receipt.js';
import { haveShared, shared, testSigner } from '../helpers/fixtures.js';
import { cli, detailText, memberOrder, sha256hex, specEntryHash, tempDir } from './support.js';

const K1 = testSigner.publicKeyHex;

let root: string;
beforeAll(async () => {
  root = await tempDir('bytes');
  await writeFile(join(root, 'k.key'), testSigner.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------

describe('a signed receipt is its canonical envelope', () => {
  /**
   * The input lists members out of order, spells é as an escape, carries
   * HTML-unsafe characters and U+2028, and has empty omitempty members.
   */
  const INPUT = String.raw`{
    "chain_seq": 0, "chain_prev_hash": "genesis", "transport": "https", "verdict": "allow",
    "policy_hash": "sha256:${'c'.repeat(64)}", "reversibility": "full", "side_effect_class": "external_read",
    "data_classes_in": [], "intent": "", "method": "", "layer": "dlp",
    "target": "https://example.com/\u00fc?q=1&r=<2>", "delegation_chain": [],
    "actor": "agent:\u00e9/x", "principal": "org:a\u2028b\"c\\d",
    "timestamp": "2026-04-15T14:00:00.25+02:00", "action_type": "read", "action_id": "r-7", "version": 1
  }`;
  /** Written by hand from receipts-v1 §3.1 (order), §4.3 (escapes), §4.4 (omitempty), §4.6 (time kept as written). */
  const EXPECTED_AR =
    '{"version":1,"action_id":"r-7","action_type":"read","timestamp":"2026-04-15T14:00:00.25+02:00",' +
    '"principal":"org:a\\u2028b\\"c\\\\d","actor":"agent:é/x","delegation_chain":[],' +
    '"target":"https://example.com/ü?q=1\\u0026r=\\u003c2\\u003e","side_effect_class":"external_read","reversibility":"full",' +
    `"policy_hash":"sha256:${'c'.repeat(64)}","verdict":"allow","transport":"https","layer":"dlp","chain_prev_hash":"genesis","chain_seq":0}`;

  it('emit receipt writes {"version":1,"action_record":<canonical>,"signature":…,"signer_key":…}; the signature is Ed25519 over SHA-256 of those bytes; the hash is SHA-256 of the line', async () => {
    const inFile = join(root, 'scrambled.json');
    await writeFile(inFile, INPUT);
    const ok = await cli('emit', 'receipt', '--key', join(root, 'k.key'), '--in', inFile);
    expect(ok.code).toBe(0);
    const json = ok.stdout.slice(0, -1);
    const m = /^\{"version":1,"action_record":(.*),"signature":"ed25519:([0-9a-f]{128})","signer_key":"([0-9a-f]{64})"\}$/.exec(json);
    expect(m).not.toBeNull();
    expect(m![1]).toBe(EXPECTED_AR);
    expect(m![3]).toBe(K1);
    const digest = createHash('sha256').update(EXPECTED_AR, 'utf8').digest();
    expect(cryptoVerify(null, digest, publicKeyObject(K1), Buffer.from(m![2]!, 'hex'))).toBe(true);
    expect(ok.stderr).toBe(`receipt hash ${createHash('sha256').update(json, 'utf8').digest('hex')}\n`);
    // The verifier's own reading of the line gives the same canonical bytes and hash.
    const p = parseJsonText(json);
    expect(p.ok).toBe(true);
    const c = checkReceipt(p.ok ? p.value : null, json);
    expect(c.ok && c.receipt.canonicalAR).toBe(EXPECTED_AR);
    expect(c.ok && c.receipt.hash).toBe(sha256hex(json));
  });

  it('signActionRecord returns the same json and hash; null and [] delegation chains stay distinct', () => {
    const rec = JSON.parse(INPUT) as ActionRecordInput;
    const s = signActionRecord(rec, testSigner);
    expect(s.json.startsWith(`{"version":1,"action_record":${EXPECTED_AR},"signature":"ed25519:`)).toBe(true);
    expect(s.hash).toBe(sha256hex(s.json));
    const withNull = signActionRecord({ ...rec, delegation_chain: null }, testSigner);
    expect(withNull.json).toContain('"delegation_chain":null,');
    expect(withNull.hash).not.toBe(s.hash);
  });

  it('refuses a record whose timestamp is not in rendered form (receipts-v1 §4.6): .250000 is not .25', () => {
    const rec = JSON.parse(INPUT) as ActionRecordInput;
    expect(() => signActionRecord({ ...rec, timestamp: '2026-04-15T14:00:00.250000+02:00' }, testSigner)).toThrow(/^action record rejected \(malformed_json\) at \/action_record\/timestamp: /);
  });
});

// ---------------------------------------------------------------------------

describe('recorder lines (§7.2, §7.3, §7.8)', () => {
  const DETAIL = '{ "a" : [1, 2.50, 1e3], "b" : "\\u003c" }'; // kept verbatim, whitespace and spellings included

  it('writes the members in §7.2 order with the optional ones present, and omits them when empty', () => {
    const full = recorderLine(
      { seq: 5n, ts: '2026-04-15T12:00:00.5Z', sessionId: 'proxy', traceId: 'tr-1', type: 'decision', eventKind: 'read', transport: 'https', summary: 's', detail: DETAIL, rawRef: 'evidence-proxy-5.raw.enc' },
      'f'.repeat(64),
    );
    expect(memberOrder(full.line)).toEqual(['v', 'seq', 'ts', 'session_id', 'trace_id', 'type', 'event_kind', 'transport', 'summary', 'detail', 'raw_ref', 'prev_hash', 'hash']);
    expect(full.line).toBe(
      `{"v":2,"seq":5,"ts":"2026-04-15T12:00:00.5Z","session_id":"proxy","trace_id":"tr-1","type":"decision","event_kind":"read","transport":"https","summary":"s","detail":${DETAIL},"raw_ref":"evidence-proxy-5.raw.enc","prev_hash":"${'f'.repeat(64)}","hash":"${full.hash}"}`,
    );
    const bare = recorderLine({ seq: 0n, ts: '2026-04-15T12:00:00Z', sessionId: 'proxy', type: 'checkpoint', transport: '', summary: 's', detail: DETAIL }, 'genesis');
    expect(memberOrder(bare.line)).toEqual(['v', 'seq', 'ts', 'session_id', 'type', 'transport', 'summary', 'detail', 'prev_hash', 'hash']);
    expect(bare.line).toContain('"transport":"",'); // not omitempty
    for (const { line, hash } of [full, bare]) {
      expect(detailText(line)).toBe(DETAIL);
      expect(hash).toBe(specEntryHash(line));
      const p = parseJsonText(line);
      expect(p.ok).toBe(true);
      const e = readEntry(p.ok ? p.value : null, line);
      expect(e.ok).toBe(true);
      if (e.ok) {
        expect(e.entry.hash).toBe(hash);
        expect(entryHash(e.entry)).toBe(hash);
      }
    }
  });

  it('escapes the summary as Go does (<, >, & and U+2028/9 as \\u escapes, non-ASCII and / raw) and hashes the decoded text', () => {
    const summary = 'receipt: <b> & "q" \\ /é\u2028\u2029\n\u0001';
    const { line, hash } = recorderLine({ seq: 18446744073709551615n, ts: '2026-04-15T12:00:00Z', sessionId: 'proxy', type: 'decision', transport: 't', summary, detail: '{}' }, 'genesis');
    expect(line).toContain(String.raw`"summary":"receipt: \u003cb\u003e \u0026 \"q\" \\ /é\u2028\u2029\n\u0001",`);
    expect(line.startsWith('{"v":2,"seq":18446744073709551615,')).toBe(true);
    expect(JSON.parse(line).summary).toBe(summary);
    expect(hash).toBe(createHash('sha256').update(['2', '18446744073709551615', '2026-04-15T12:00:00Z', 'proxy', '', 'decision', '', 't', summary, '{}', '', 'genesis'].join('\0')).digest('hex'));
  });

  it('the chain writer escapes HTML-unsafe characters everywhere in a line (summary and detail)', () => {
    let t = Date.parse('2026-04-15T12:00:00Z');
    const w = new RecorderChainWriter(testSigner, { profile: 'legacy', clock: () => new Date((t += 1000)).toISOString().replace('.000Z', 'Z'), checkpointInterval: 0 });
    const [line] = w.record({ action_type: 'read', target: 'https://x.example/?a=<1>&b', verdict: 'allow', transport: 'a<b>&c' });
    expect(/[<>&]/.test(line!)).toBe(false);
    expect(line).toContain(String.raw`"summary":"receipt: allow read a\u003cb\u003e\u0026c",`);
    expect(line).toContain(String.raw`"transport":"a\u003cb\u003e\u0026c",`);
    expect(JSON.parse(line!).detail.action_record.target).toBe('https://x.example/?a=<1>&b');
    expect(JSON.parse(line!).hash).toBe(specEntryHash(line!));
  });

  // BUG (API level): recorderLine hashes `ts` as given; §7.3 hashes the UTC
  // rendering, so a caller passing an offset time gets a line whose stored
  // hash the verifier recomputes differently. §7.8 says ts is written in UTC.
  it('recorderLine writes (or at least hashes) ts in UTC when given an offset time', () => {
    const { line, hash } = recorderLine({ seq: 0n, ts: '2026-04-15T14:00:00+02:00', sessionId: 'proxy', type: 'decision', transport: '', summary: 'x', detail: '{}' }, 'genesis');
    const p = parseJsonText(line);
    const e = readEntry(p.ok ? p.value : null, line);
    expect(e.ok && entryHash(e.entry)).toBe(hash);
  });
});

// ---------------------------------------------------------------------------

describe('summary.md (audit-packet-v0 §5.1)', () => {
  const worked = shared('reference', 'audit-packet-v0', 'worked-example-3-receipts');
  it.skipIf(!haveShared)(`equals the worked example's summary.md byte for byte${haveShared ? '' : ' (SKIPPED: ../shared is missing)'}`, async () => {
    const packet = JSON.parse(await readFile(join(worked, 'packet.json'), 'utf8')) as Record<string, unknown>;
    expect(summaryMarkdown(packet)).toBe(await readFile(join(worked, 'summary.md'), 'utf8'));
  });

  it.skipIf(!haveShared)(`pythonJson of the worked example's packet.json reproduces its bytes${haveShared ? '' : ' (SKIPPED: ../shared is missing)'}`, async () => {
    const text = await readFile(join(worked, 'packet.json'), 'utf8');
    expect(pythonJson(JSON.parse(text)) + '\n').toBe(text);
  });

  it('self_consistent_only without unsupported paths: no paths section, the warning last, one final newline', () => {
    const packet = {
      schema_version: 'pipelock.audit_packet.v0',
      run: { provider: 'local', agent_identity: 'bot <1>', started_at: '2026-04-15T12:00:00Z', agent_exit_code: -3 },
      summary: { receipt_count: 4, totals: { allow: 1, block: 1, warn: 0, ask: 1, strip: 0, forward: 0, redirect: 0, other: 1 } },
      verifier: { verdict: 'self_consistent_only', trusted: false },
      posture: {
        enforcement_mode: 'egress_verify_proxy',
        runner_os: 'Linux',
        raw_socket_status: 'unknown',
        docker_socket_status: 'absent',
        dns_udp_status: 'proxied',
        browser_proxy_status: 'advisory',
        websocket_frame_scanning: 'off',
        unsupported_paths: [],
        script_basename: 'run.sh',
        script_arg_count: 2,
      },
    };
    expect(summaryMarkdown(packet)).toBe(
      [
        '# Pipelock Audit Packet',
        '',
        '- Schema: `pipelock.audit_packet.v0`',
        '- Verifier verdict: `self_consistent_only`',
        '- Trusted verification: `false`',
        '- Receipt count: `4`',
        '- Provider: `local`',
        '- Agent identity: `bot <1>`', // values are inserted raw
        '- Agent exit code: `-3`',
        '- Enforcement mode: `egress_verify_proxy`',
        '- Runner OS: `Linux`',
        '- Script: `run.sh` (args: `2`)',
        '',
        '## Totals',
        '',
        '- allow: `1`',
        '- block: `1`',
        '- warn: `0`',
        '- ask: `1`',
        '- strip: `0`',
        '- forward: `0`',
        '- redirect: `0`',
        '- other: `1`',
        '',
        '## Posture status',
        '',
        '- raw_socket_status: `unknown`',
        '- docker_socket_status: `absent`',
        '- dns_udp_status: `proxied`',
        '- browser_proxy_status: `advisory`',
        '- websocket_frame_scanning: `off`',
        '',
        '## Artifacts',
        '',
        '- `packet.json`',
        '- `summary.md`',
        '- `evidence.jsonl`',
        '- `verifier.txt`',
        '',
        '## Warning',
        '',
        'Trusted evidence needs signer-key pinning: this packet proves only the internal consistency of its receipt chain.',
        '',
      ].join('\n'),
    );
    // Only self_consistent_only gets the warning.
    expect(summaryMarkdown({ ...packet, verifier: { verdict: 'invalid', trusted: false } }).includes('## Warning')).toBe(false);
  });
});

// ---------------------------------------------------------------------------

describe('pythonJson: json.dumps(indent=2, sort_keys=True) + ensure_ascii (audit-packet-v0 §5.3)', () => {
  it('sorts keys by code point at every level, indents by two, writes empty containers inline and escapes non-ASCII as \\uXXXX', () => {
    const value = {
      z: 1,
      '\u{1F600}': 2, // astral: after U+FFFF in code point order (UTF-16 order would put it first)
      '\uffff': 3,
      é: 'café ☕ 😀',
      a: {},
      m: [],
      B: [{}, [], [1, 'x'], null, true, false],
      nested: { k2: {}, k1: [{}], k0: { deep: [[]] } },
      ctl: 'tab\tnl\nq"bs\\/ del\u007f nul\u0000 <&>',
      n: [-3, 2.5, 0, 1e21],
    };
    const expected = [
      '{',
      '  "B": [',
      '    {},',
      '    [],',
      '    [',
      '      1,',
      '      "x"',
      '    ],',
      '    null,',
      '    true,',
      '    false',
      '  ],',
      '  "a": {},',
      String.raw`  "ctl": "tab\tnl\nq\"bs\\/ del\u007f nul\u0000 <&>",`,
      '  "m": [],',
      '  "n": [',
      '    -3,',
      '    2.5,',
      '    0,',
      '    1e+21',
      '  ],',
      '  "nested": {',
      '    "k0": {',
      '      "deep": [',
      '        []',
      '      ]',
      '    },',
      '    "k1": [',
      '      {}',
      '    ],',
      '    "k2": {}',
      '  },',
      '  "z": 1,',
      String.raw`  "\u00e9": "caf\u00e9 \u2615 \ud83d\ude00",`,
      String.raw`  "\uffff": 3,`,
      String.raw`  "\ud83d\ude00": 2`,
      '}',
    ].join('\n');
    expect(pythonJson(value)).toBe(expected);
    expect(/[^\x00-\x7e]/.test(pythonJson(value))).toBe(false);
  });

  it('writes top-level empty containers and scalars as Python does', () => {
    expect(pythonJson({})).toBe('{}');
    expect(pythonJson([])).toBe('[]');
    expect(pythonJson('ü')).toBe('"\\u00fc"');
    expect(pythonJson(null)).toBe('null');
    expect(pythonJson([[{}]])).toBe('[\n  [\n    {}\n  ]\n]');
  });
});

// ---------------------------------------------------------------------------

describe('hostOf (domains_touched, audit-packet-v0 §4)', () => {
  const cases: [string, string | null][] = [
    ['https://API.Example.COM:8443/x?y#z', 'api.example.com'],
    ['http://user:pw@Host.example:80/', 'host.example'],
    ['https://user@host.example/', 'host.example'],
    ['HTTPS://Upper.Example/', 'upper.example'],
    ['ws://ws.example.org/socket', 'ws.example.org'],
    ['wss://stream.example.com:8443/feed', 'stream.example.com'],
    ['wss://[2001:DB8::1]:443/a', '2001:db8::1'],
    ['http://[::1]/', '::1'],
    ['http://u:p@[fe80::1]:8080/x', 'fe80::1'],
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://127.0.0.1:9000', '127.0.0.1'],
    ['pipelock://session/open', null],
    ['pipelock://session/close', null],
    ['ftp://files.example.com/', null],
    ['file:///etc/passwd', null],
    ['mailto:a@b.example', null],
    ['mcp://tool/read_file', null],
    ['example.com', null],
    ['http://', null],
    ['', null],
  ];
  for (const [target, host] of cases) {
    it(`${JSON.stringify(target)} → ${JSON.stringify(host)}`, () => {
      expect(hostOf(target)).toBe(host);
    });
  }
});
