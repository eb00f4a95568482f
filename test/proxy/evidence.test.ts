/**
 * The proxy's flight recorder: the ActionRecord mapping of spec/proxy.md
 * §6.2 field by field, redaction (§6.6), time, both profiles, heartbeats,
 * checkpoints and rotation, durability and fail-closed writes, --resume,
 * and a real kill -9 of a proxy process. Every directory written here is
 * re-verified with egress-verify's own verifier, pinned to the proxy key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyFromSeed, seedFromPhrase } from '../../src/crypto/ed25519.js';
import { signerFrom } from '../../src/emit/receipt.js';
import {
  actionTypeOf,
  ChainClock,
  connectTarget,
  EvidenceDirError,
  EvidenceWriter,
  intentRecord,
  nodeEvidenceIo,
  outcomeRecord,
  ReceiptUnavailableError,
  redactSubdomain,
  renderNanos,
  reversibilityOf,
  sanitizePattern,
  sanitizeTarget,
  sideEffectClassOf,
  uuidv7,
  type EvidenceIo,
  type EvidenceOptions,
  type Exchange,
} from '../../src/proxy/evidence.js';
import type { Finding, RequestDecision, ResponseDecision } from '../../src/proxy/types.js';
import { repoRoot } from '../helpers/fixtures.js';
import { proxySigner, readEntries, readRecords, startUpstream, TEST_POLICY_HASH, verifyDir, viaProxy, type Json } from './support.js';

const tmp = (p = 'ev-') => mkdtempSync(join(tmpdir(), p));

function decision(over: Partial<RequestDecision> = {}): RequestDecision {
  const url = new URL('https://api.example.com/v1/things?q=1');
  return { verdict: 'allow', deciding: null, findings: [], destinationClass: 'external_public', severity: 'medium', url, host: url.hostname, port: 443, dialAddress: '203.0.113.10', dataClassesIn: [], blockStatus: 403, ...over };
}

const dlp: Finding = { layer: 'dlp', severity: 'critical', reason: 'DLP match: aws_access_key_id (critical)', patternId: 'aws_access_key_id', where: 'url' };

function exchange(over: Partial<Exchange> = {}): Exchange {
  return { actionId: uuidv7(), requestId: 'req-1', transport: 'fetch', method: 'GET', agent: 'agent-a', target: 'https://api.example.com/v1/things?q=1', ...over };
}

const ctx = { profile: 'session' as const, principal: 'local', policyHash: TEST_POLICY_HASH };

async function openWriter(dir: string, o: Partial<EvidenceOptions> = {}): Promise<EvidenceWriter> {
  return EvidenceWriter.open({ dir, signer: proxySigner, policyHash: TEST_POLICY_HASH, ...o });
}

/** n allowed exchanges (intent + outcome) and one block. */
function traffic(w: EvidenceWriter, n: number, tag = 'x'): void {
  for (let i = 0; i < n; i++) {
    const x = exchange({ actionId: w.newActionId(), requestId: w.nextRequestId(), target: `https://api.example.com/${tag}/${i}` });
    const d = decision();
    w.recordIntent(x, d);
    w.recordOutcome(x, d, { verdict: 'allow', deciding: null, findings: [], dataClassesOut: [] }, { kind: 'http', status: 200, bytes: 10 + i, reason: 'complete' });
  }
  const b = exchange({ actionId: w.newActionId(), requestId: w.nextRequestId(), target: `https://blocked.example.com/${tag}` });
  w.recordIntent(b, decision({ verdict: 'block', deciding: dlp, findings: [dlp], severity: 'critical', dataClassesIn: ['aws_access_key_id'], dialAddress: null }));
}

describe('ActionRecord mapping (§6.2)', () => {
  it('action_type, side_effect_class and reversibility follow the method', () => {
    const rows = ['GET', 'HEAD', 'OPTIONS', 'TRACE', 'CONNECT', 'POST', 'PUT', 'PATCH', 'DELETE', 'PROPFIND'].map((m) => [m, actionTypeOf(m), sideEffectClassOf(m), reversibilityOf(m)]);
    expect(rows).toEqual([
      ['GET', 'read', 'external_read', 'full'],
      ['HEAD', 'read', 'external_read', 'full'],
      ['OPTIONS', 'read', 'external_read', 'full'],
      ['TRACE', 'read', 'external_read', 'full'],
      ['CONNECT', 'read', 'external_read', 'full'],
      ['POST', 'write', 'external_write', 'compensatable'],
      ['PUT', 'write', 'external_write', 'compensatable'],
      ['PATCH', 'write', 'external_write', 'compensatable'],
      ['DELETE', 'write', 'external_write', 'irreversible'],
      ['PROPFIND', 'unclassified', 'none', 'unknown'],
    ]);
  });

  it('action ids are UUIDv7 carrying the millisecond time', () => {
    const ms = Date.UTC(2026, 3, 15, 12, 0, 0, 123);
    const id = uuidv7(ms);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
    expect(new Set(Array.from({ length: 200 }, () => uuidv7(ms))).size).toBe(200);
  });

  it('an allowed intent: no layer, no pattern, no data classes; the class as intent and severity', () => {
    const x = exchange();
    expect(intentRecord(x, decision(), ctx)).toEqual({
      action_id: x.actionId,
      action_type: 'read',
      principal: 'local',
      actor: 'agent-a',
      delegation_chain: null,
      target: x.target,
      intent: 'egress:external_public',
      data_classes_in: undefined,
      side_effect_class: 'external_read',
      reversibility: 'full',
      policy_hash: TEST_POLICY_HASH,
      verdict: 'allow',
      decision_phase: 'intent',
      transport: 'fetch',
      method: 'GET',
      layer: undefined,
      pattern: undefined,
      severity: 'medium',
      request_id: 'req-1',
    });
  });

  it('a block carries the deciding layer, the sanitized reason, the pattern ids (sorted, unique) and the finding severity', () => {
    const d = decision({ verdict: 'block', deciding: dlp, findings: [dlp], severity: 'critical', dataClassesIn: ['github_token', 'aws_access_key_id', 'github_token'], destinationClass: 'external_trusted' });
    const r = intentRecord(exchange({ method: 'POST' }), d, { ...ctx, profile: 'legacy' });
    expect(r).toMatchObject({ verdict: 'block', layer: 'dlp', pattern: 'DLP match: aws_access_key_id (critical)', severity: 'critical', data_classes_in: ['aws_access_key_id', 'github_token'], intent: 'egress:external_trusted', action_type: 'write' });
    expect(r.decision_phase).toBeUndefined();
  });

  it('outcomes: `outcome` layer and status pattern, response layers when they fire, class severity raised by sensitive data or a waved-through warn', () => {
    const x = exchange();
    const ok: ResponseDecision = { verdict: 'allow', deciding: null, findings: [], dataClassesOut: [] };
    const o1 = outcomeRecord(x, decision(), ok, { kind: 'http', status: 200, bytes: 42, reason: 'complete' }, ctx, 'ignored-in-session');
    expect(o1).toMatchObject({ action_id: x.actionId, decision_phase: 'outcome', verdict: 'allow', layer: 'outcome', pattern: 'status=200 bytes=42 reason=complete', severity: 'medium' });
    const sens = outcomeRecord(x, decision(), { ...ok, dataClassesOut: ['email', 'credit_card', 'email'] }, { kind: 'http', status: 200, bytes: 1, reason: 'complete' }, ctx, 'x');
    expect(sens).toMatchObject({ data_classes_out: ['credit_card', 'email'], severity: 'high' });
    const internal = outcomeRecord(x, decision({ destinationClass: 'internal', severity: 'low' }), ok, { kind: 'http', status: 204, bytes: 0, reason: 'complete' }, ctx, 'x');
    expect(internal).toMatchObject({ severity: 'low', intent: 'egress:internal' });
    const warned = outcomeRecord(x, decision({ verdict: 'warn', deciding: dlp, findings: [dlp] }), ok, { kind: 'http', status: 200, bytes: 1, reason: 'complete' }, ctx, 'x');
    expect(warned.severity).toBe('high');
    const inj: Finding = { layer: 'response_scan', severity: 'high', reason: 'injection: role_marker', where: 'response' };
    const blocked = outcomeRecord(x, decision(), { verdict: 'block', deciding: inj, findings: [inj], dataClassesOut: [] }, { kind: 'http', status: 200, bytes: 9, reason: 'complete' }, ctx, 'x');
    expect(blocked).toMatchObject({ verdict: 'block', layer: 'response_scan', severity: 'high', pattern: 'injection: role_marker; status=200 bytes=9 reason=complete' });
    const legacy = outcomeRecord(x, decision(), ok, { kind: 'connect', bytesUp: 5, bytesDown: 7, durationMs: 12, reason: 'closed' }, { ...ctx, profile: 'legacy' }, 'fresh-id');
    expect(legacy).toMatchObject({ action_id: 'fresh-id', request_id: 'req-1', pattern: 'bytes_up=5 bytes_down=7 duration_ms=12 reason=closed' });
    expect(legacy.decision_phase).toBeUndefined();
  });
});

describe('redaction before signing (§6.6)', () => {
  it('targets: userinfo and fragments always go; URL findings take query values and suspicious path segments; host findings the subdomain', () => {
    const d = (findings: Finding[]) => decision({ findings, url: null });
    expect(sanitizeTarget('https://user:pw@api.example.com/a#frag', 'fetch', d([]))).toBe('https://[REDACTED]@api.example.com/a#[REDACTED]');
    expect(sanitizeTarget('https://api.example.com/v1/users?q=hello', 'forward', d([]))).toBe('https://api.example.com/v1/users?q=hello');
    expect(sanitizeTarget('https://api.example.com/v1/ghp_abcdefghijklmnopqrstuvwxyz0123456789/x?token=abc&flag', 'forward', d([dlp]))).toBe('https://api.example.com/v1/[REDACTED]/x?token=[REDACTED]&flag=[REDACTED]');
    const host: Finding = { layer: 'hostname_exfil', severity: 'high', reason: 'hostname exfiltration: long label', where: 'hostname' };
    expect(sanitizeTarget('http://c2VjcmV0LXZhbHVl.data.evil.co.uk/x', 'fetch', d([host]))).toBe('http://[REDACTED].evil.co.uk/x');
    expect(sanitizeTarget('c2VjcmV0.evil.com:443', 'connect', decision({ findings: [host], host: 'c2vjcmv0.evil.com', port: 443 }))).toBe('https://[REDACTED].evil.com/');
    expect(sanitizeTarget('not a url?key=AKIAIOSFODNN7EXAMPLE', 'fetch', null)).toBe('unknown:not a url?[REDACTED]');
    expect(sanitizeTarget('x'.repeat(400), 'fetch', null)).toHaveLength('unknown:'.length + 256);
    expect(redactSubdomain('evil.com')).toBe('evil.com');
    expect(redactSubdomain('203.0.113.7')).toBe('203.0.113.7');
  });

  it('CONNECT targets are https://host/ with the port only when it is not 443', () => {
    expect(connectTarget('example.com', 443)).toBe('https://example.com/');
    expect(connectTarget('example.com', 8443)).toBe('https://example.com:8443/');
    expect(connectTarget('2001:db8::1', 443)).toBe('https://[2001:db8::1]/');
  });

  it('patterns keep ids and counts, lose controls and opaque tokens', () => {
    expect(sanitizePattern('DLP match: aws_access_key_id (critical)')).toBe('DLP match: aws_access_key_id (critical)');
    expect(sanitizePattern('matched AKIAIOSFODNN7EXAMPLE1234 in\nurl')).toBe('matched [REDACTED] in url');
    expect(sanitizePattern('request body contains secret: aws_access_key_id,github_token')).toBe('request body contains secret: aws_access_key_id,github_token');
    expect(sanitizePattern('y'.repeat(600))).toHaveLength(512);
  });
});

describe('Go parity of the signed strings (§6.3)', () => {
  it('lone surrogates become U+FFFD before signing; <>&, U+2028 and non-ASCII survive and verify', async () => {
    const dir = join(tmp(), 'ev');
    const w = await openWriter(dir);
    const x = exchange({ actionId: w.newActionId(), requestId: w.nextRequestId(), agent: 'bot\ud800-é', target: 'https://api.example.com/a?b=<x>&c=\u2028ü' });
    const odd: Finding = { layer: 'dlp', severity: 'high', reason: 'DLP match: x\udc00 <&>', where: 'header' };
    w.recordIntent(x, decision({ verdict: 'block', deciding: odd, findings: [odd], severity: 'high' }));
    w.close();
    const rec = readRecords(dir).find((r) => r.request_id)!;
    expect(rec.actor).toBe('bot\ufffd-é');
    expect(rec.pattern).toBe('DLP match: x\ufffd <&>');
    expect(readFileSync(join(dir, 'evidence-proxy-0.jsonl'), 'utf8')).toContain('\\u003cx\\u003e\\u0026c=\\u2028ü');
    expect((await verifyDir(dir)).verdict).toBe('valid');
  });

  it('a record the emitter refuses fails closed like a failed write', async () => {
    const w = await openWriter(join(tmp(), 'ev'));
    const x = exchange({ actionId: '', requestId: w.nextRequestId() }); // action_id must be non-empty
    expect(() => w.recordIntent(x, decision())).toThrow(ReceiptUnavailableError);
    w.close();
    expect(() => w.recordIntent(exchange(), decision())).toThrow(/closed/);
  });
});

describe('time', () => {
  it('renders Go RFC3339Nano in UTC: trailing zeros trimmed, no fraction when zero', () => {
    const s = BigInt(Date.UTC(2026, 3, 15, 12, 0, 0)) * 1_000_000n;
    expect(renderNanos(s)).toBe('2026-04-15T12:00:00Z');
    expect(renderNanos(s + 860_000_000n)).toBe('2026-04-15T12:00:00.86Z');
    expect(renderNanos(s + 1n)).toBe('2026-04-15T12:00:00.000000001Z');
  });

  it('never goes backwards, even when the wall clock does', () => {
    let wall = 10_000_000_000_000n;
    const c = new ChainClock(0n, () => wall);
    const a = c.nowNanos();
    wall -= 5_000_000_000n; // the system clock steps back 5 s
    const b = c.nowNanos();
    expect(b >= a).toBe(true);
    const floor = new ChainClock(20_000_000_000_000n, () => wall);
    expect(floor.nowNanos()).toBe(20_000_000_000_000n);
  });
});

describe('EvidenceWriter: session profile', () => {
  it('session_open … heartbeat … session_close, key files, permissions; the directory verifies', async () => {
    const dir = join(tmp(), 'ev');
    const w = await openWriter(dir, { heartbeatSeconds: 0 });
    traffic(w, 3);
    w.heartbeat();
    traffic(w, 1, 'y');
    const summary = w.close('duration_elapsed');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const names = readdirSync(dir).sort();
    expect(names).toEqual(['evidence-proxy-0.jsonl', 'signer.pub', 'signer.pub.hex']);
    for (const n of names) expect(statSync(join(dir, n)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'signer.pub.hex'), 'utf8')).toBe(proxySigner.publicKeyHex + '\n');
    expect(readFileSync(join(dir, 'signer.pub'), 'utf8')).toMatch(/^pipelock-ed25519-public-v1\n/);
    const recs = readRecords(dir);
    expect(recs.map((r) => r.session_control?.kind ?? r.decision_phase)).toEqual([
      'session_open', 'intent', 'outcome', 'intent', 'outcome', 'intent', 'outcome', 'intent',
      'heartbeat', 'intent', 'outcome', 'intent', 'session_close',
    ]);
    const open = recs[0]!.session_control.open;
    expect(Object.keys(open)).toEqual(['run_nonce', 'open_nonce', 'recorder_session', 'policy_hash', 'signer_key_epoch', 'heartbeat_seconds', 'chain_open_seq', 'genesis_hash']);
    expect(open).toMatchObject({ recorder_session: 'proxy', policy_hash: TEST_POLICY_HASH, signer_key_epoch: proxySigner.publicKeyHex, heartbeat_seconds: 0, chain_open_seq: 0 });
    expect(recs[0]!.chain_prev_hash).toBe(open.genesis_hash);
    for (const r of [recs[0]!, recs[8]!, recs.at(-1)!]) {
      expect(r).toMatchObject({ actor: 'egress-verify', principal: 'local', transport: 'receipt_session', action_type: 'unclassified', verdict: 'allow', side_effect_class: 'none', reversibility: 'unknown' });
      expect(r.action_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
      for (const k of ['intent', 'method', 'layer', 'pattern', 'severity', 'request_id']) expect(r[k]).toBeUndefined();
    }
    expect(recs[8]!.session_control.heartbeat).toMatchObject({ beat: 1, chain_seq_head: 7, fsync_errors_gated: 0, durability_blocks: 0 });
    expect(recs.at(-1)!.session_control.close).toMatchObject({ final_seq: 12, receipt_count: 13, close_reason: 'duration_elapsed' });
    expect(new Set(recs.map((r) => r.run_nonce)).size).toBe(1);
    const types = readEntries(dir).map((e) => e.type);
    expect(types.slice(-2)).toEqual(['transcript_root', 'checkpoint']);
    expect(summary).toMatchObject({ reason: 'duration_elapsed', receiptCount: 13 });
    const report = await verifyDir(dir);
    expect([report.verdict, report.reason, report.receipt_count, report.root_hash]).toEqual(['valid', null, 13, summary.rootHash]);
  });

  it('refuses a non-empty directory without --resume, and a path that is not a directory', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'something'), 'x');
    await expect(openWriter(dir)).rejects.toThrow(/is not empty .*--resume/);
    const file = join(tmp(), 'plain-file');
    writeFileSync(file, 'x');
    await expect(openWriter(file)).rejects.toBeInstanceOf(EvidenceDirError);
    await expect(openWriter(join(file, 'sub'))).rejects.toBeInstanceOf(EvidenceDirError);
  });

  it('tightens a group/world-writable directory to 0700/0750', async () => {
    const dir = tmp();
    chmodSync(dir, 0o777);
    const w = await openWriter(dir);
    w.close();
    expect(statSync(dir).mode & 0o777).toBe(0o750);
  });

  it('checkpoints every N entries and rotation after M entries, each file named by its first seq; verifies across files', async () => {
    const dir = join(tmp(), 'ev');
    const w = await openWriter(dir, { checkpointInterval: 3, maxEntriesPerFile: 4 });
    traffic(w, 6);
    w.close();
    const files = readdirSync(dir).filter((f) => f.startsWith('evidence-'));
    expect(files.length).toBeGreaterThan(4);
    for (const f of files) {
      const lines = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n');
      expect(lines.length).toBeLessThanOrEqual(4);
      expect(JSON.parse(lines[0]!).seq).toBe(Number(/-(\d+)\.jsonl$/.exec(f)![1]));
    }
    const entries = readEntries(dir);
    entries.forEach((e, i) => expect(e.seq).toBe(i));
    const cps = entries.filter((e) => e.type === 'checkpoint');
    expect(cps.length).toBeGreaterThanOrEqual(5);
    expect(cps[0]!.detail).toMatchObject({ entry_count: 3, first_seq: 0, last_seq: 2 });
    const report = await verifyDir(dir);
    expect([report.verdict, report.reason, report.receipt_count]).toEqual(['valid', null, 15]);
  });
});

describe('EvidenceWriter: legacy profile', () => {
  it('genesis-rooted receipts in v1 entries, no run_nonce or control receipts; verifies', async () => {
    const dir = join(tmp(), 'ev');
    const w = await openWriter(dir, { profile: 'legacy' });
    traffic(w, 2);
    w.close('signal');
    const entries = readEntries(dir);
    expect(entries.every((e) => e.v === 1 && !('event_kind' in e))).toBe(true);
    const recs = readRecords(dir);
    expect(recs).toHaveLength(5);
    expect(recs[0]!.chain_prev_hash).toBe('genesis');
    for (const r of recs) for (const k of ['run_nonce', 'decision_phase', 'session_control']) expect(r[k]).toBeUndefined();
    expect(recs[1]!.action_id).not.toBe(recs[0]!.action_id);
    expect(recs[1]!.request_id).toBe(recs[0]!.request_id);
    expect(entries.map((e) => e.type).slice(-2)).toEqual(['transcript_root', 'checkpoint']);
    const report = await verifyDir(dir);
    expect([report.verdict, report.receipt_count]).toEqual(['valid', 5]);
  });
});

describe('durability and failed writes', () => {
  function faultyIo(fail: { write?: boolean; sync?: boolean }): EvidenceIo & { syncs: number } {
    const io = {
      ...nodeEvidenceIo,
      syncs: 0,
      write(fd: number, data: Buffer) {
        if (fail.write) {
          // Half the line reaches the file before the device fills up.
          nodeEvidenceIo.write(fd, data.subarray(0, data.length >> 1));
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        nodeEvidenceIo.write(fd, data);
      },
      fdatasync(fd: number) {
        io.syncs++;
        if (fail.sync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        nodeEvidenceIo.fdatasync(fd);
      },
    };
    return io;
  }

  it('durable: every append is fdatasync-ed before recordIntent returns', async () => {
    const io = faultyIo({});
    const w = await openWriter(join(tmp(), 'ev'), { durable: true, io });
    const before = io.syncs;
    traffic(w, 1);
    expect(io.syncs - before).toBe(3);
    w.close();
  });

  it('a failed write throws ReceiptUnavailableError and leaves no partial line; counters reach session_close; the gap stays detectable', async () => {
    const fail = { write: false, sync: false };
    const io = faultyIo(fail);
    const dir = join(tmp(), 'ev');
    const w = await openWriter(dir, { durable: true, io });
    traffic(w, 1);
    const file = join(dir, 'evidence-proxy-0.jsonl');
    const size = statSync(file).size;
    fail.write = true;
    const x = exchange({ actionId: w.newActionId(), requestId: w.nextRequestId() });
    expect(() => w.recordIntent(x, decision())).toThrow(ReceiptUnavailableError);
    expect(statSync(file).size).toBe(size);
    w.noteDurabilityBlock(); // what the server does when it refuses the request
    fail.write = false;
    fail.sync = true;
    expect(() => w.recordIntent(exchange({ actionId: w.newActionId(), requestId: w.nextRequestId() }), decision())).toThrow(ReceiptUnavailableError);
    w.noteDurabilityBlock();
    expect(w.counters).toEqual({ fsyncErrorsGated: 1, durabilityBlocks: 2 });
    fail.sync = false;
    traffic(w, 1, 'after');
    w.close();
    // The chain advanced past the lost receipt: a gap, never a fork.
    const report = await verifyDir(dir);
    expect(report.verdict).toBe('invalid');
    expect(report.reason).toBe('chain_break');
    expect(readRecords(dir).at(-1)!.session_control.close).toMatchObject({ fsync_errors_gated: 1, durability_blocks: 2 });
  });
});

describe('--resume (§6.4)', () => {
  it('continues a closed chain with a restart session_open; the whole directory verifies', async () => {
    const dir = join(tmp(), 'ev');
    const w1 = await openWriter(dir);
    traffic(w1, 2);
    const s1 = w1.close();
    const w2 = await openWriter(dir, { resume: true });
    expect(w2.resumed).toMatchObject({ sessionId: 'proxy', receiptCount: s1.receiptCount, lastReceiptHash: s1.rootHash });
    traffic(w2, 1, 'second');
    w2.close();
    const recs = readRecords(dir);
    const opens = recs.filter((r) => r.session_control?.kind === 'session_open');
    expect(opens).toHaveLength(2);
    const restart = opens[1]!;
    expect(restart.chain_seq).toBe(s1.receiptCount);
    expect(restart.chain_prev_hash).toBe(s1.rootHash);
    expect(restart.session_control.open).toMatchObject({ chain_open_seq: s1.receiptCount, prior_chain_head: s1.rootHash, prior_chain_seq: s1.receiptCount - 1 });
    expect(restart.session_control.open.genesis_hash).toBeUndefined();
    expect(restart.run_nonce).not.toBe(opens[0]!.run_nonce);
    expect(recs.at(-1)!.session_control.close.receipt_count).toBe(recs.length);
    const files = readdirSync(dir).filter((f) => f.startsWith('evidence-'));
    expect(files).toHaveLength(2);
    const report = await verifyDir(dir);
    expect([report.verdict, report.reason, report.receipt_count]).toEqual(['valid', null, recs.length]);
    // An empty directory with --resume simply starts a chain.
    const fresh = await openWriter(join(tmp(), 'ev'), { resume: true });
    expect(fresh.resumed).toBeNull();
    fresh.close();
  });

  it('continues a legacy chain by linking the next receipt to the last one', async () => {
    const dir = join(tmp(), 'ev');
    const w1 = await openWriter(dir, { profile: 'legacy' });
    traffic(w1, 1);
    const s1 = w1.close();
    const w2 = await openWriter(dir, { profile: 'legacy', resume: true });
    traffic(w2, 1, 'again');
    w2.close();
    const recs = readRecords(dir);
    expect(recs[s1.receiptCount]!.chain_prev_hash).toBe(s1.rootHash);
    expect((await verifyDir(dir)).verdict).toBe('valid');
  });

  it('refuses a torn tail (naming the file), a different key, and evidence that does not verify', async () => {
    const dir = join(tmp(), 'ev');
    const w = await openWriter(dir);
    traffic(w, 1);
    w.close();
    const file = join(dir, 'evidence-proxy-0.jsonl');
    const good = readFileSync(file);
    appendFileSync(file, '{"v":2,"seq":99,"ts":"2026-');
    await expect(openWriter(dir, { resume: true })).rejects.toThrow(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} ends in a torn line.*Move that file aside`));
    writeFileSync(file, good);
    const other = signerFrom(privateKeyFromSeed(seedFromPhrase('some other proxy key')));
    await expect(EvidenceWriter.open({ dir, signer: other, policyHash: TEST_POLICY_HASH, resume: true })).rejects.toThrow(/never rotates keys/);
    renameSync(join(dir, 'signer.pub'), join(tmp(), 'x.pub'));
    renameSync(join(dir, 'signer.pub.hex'), join(tmp(), 'x.hex'));
    await expect(EvidenceWriter.open({ dir, signer: other, policyHash: TEST_POLICY_HASH, resume: true })).rejects.toThrow(/does not verify under this proxy's key/);
    writeFileSync(file, good.toString('utf8').replace('"verdict":"allow"', '"verdict":"block"'));
    await expect(openWriter(dir, { resume: true })).rejects.toThrow(/cannot resume/);
  });
});

describe('a proxy process killed with SIGKILL', () => {
  const child = join(repoRoot, 'test/proxy/child/proxy-child.ts');
  const register = join(repoRoot, 'test/proxy/child/register.mjs');
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    upstream = await startUpstream();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await upstream.close();
  });

  async function startChild(dir: string, extra: string[] = []): Promise<{ proc: ChildProcess; port: number }> {
    const proc = spawn(process.execPath, ['--import', register, child, dir, String(upstream.port), 'session', ...extra], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(proc);
    const first = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: proc.stdout! });
      rl.once('line', (l) => resolve(l));
      proc.once('exit', (code) => reject(new Error(`child exited with ${code} before listening`)));
    });
    const msg = JSON.parse(first) as { port?: number; error?: string };
    if (!msg.port) throw new Error(`child failed: ${msg.error}`);
    return { proc, port: msg.port };
  }

  it('leaves at most a torn last line; --resume after the crash continues the chain and the directory verifies', async () => {
    const dir = join(tmp(), 'ev');
    mkdirSync(dir);
    const a = await startChild(dir);
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) pending.push(viaProxy(a.port, 'GET', `http://upstream.test/crash-${i}`).catch((e: Error) => e));
    pending.push(viaProxy(a.port, 'GET', 'http://blockme.test/crash-blocked').catch((e: Error) => e));
    await Promise.all(pending.slice(0, 6));
    // Kill it while the rest may still be in flight.
    a.proc.kill('SIGKILL');
    await new Promise((r) => a.proc.once('exit', r));
    await Promise.allSettled(pending);
    expect(upstream.seen.filter((s) => s.url === '/crash-blocked')).toHaveLength(0);

    const entries = readEntries(dir);
    const torn = entries.filter((e) => e._torn !== undefined);
    expect(torn.length).toBeLessThanOrEqual(1);
    if (torn.length === 1) expect(entries.at(-1)!._torn).toBeDefined();
    const report = await verifyDir(dir);
    if (torn.length === 0) {
      expect([report.verdict, report.reason]).toEqual(['valid', null]);
    } else {
      expect([report.verdict, report.reason]).toEqual(['invalid', 'malformed_json']);
      expect(report.message).toMatch(/truncated final line/);
      expect(report.verified_prefix).toBeDefined();
    }
    // No session_close: the run simply stays unclosed.
    const recs = readRecords(dir);
    expect(recs.some((r) => r.session_control?.kind === 'session_close')).toBe(false);
    // Every intent that made it has its request refused or forwarded accordingly; blocked: 1 receipt.
    expect(recs.filter((r) => r.target === 'http://blockme.test/crash-blocked').length).toBeLessThanOrEqual(1);

    // Simulate the torn write a crash can leave, and see --resume refuse it.
    const last = readdirSync(dir).filter((f) => f.startsWith('evidence-')).sort((x, y) => Number(/-(\d+)\./.exec(x)![1]) - Number(/-(\d+)\./.exec(y)![1])).at(-1)!;
    const lastPath = join(dir, last);
    const intact = readFileSync(lastPath);
    if (torn.length === 0) appendFileSync(lastPath, intact.toString('utf8').split('\n')[0]!.slice(0, 80));
    const tornReport = await verifyDir(dir);
    expect([tornReport.verdict, tornReport.reason]).toEqual(['invalid', 'malformed_json']);
    expect(tornReport.message).toMatch(/truncated final line/);
    expect(tornReport.verified_prefix).toMatchObject({ receipt_count: expect.any(Number) });
    await expect(openWriter(dir, { resume: true })).rejects.toThrow(/torn line/);
    if (torn.length === 0) writeFileSync(lastPath, intact);
    else writeFileSync(lastPath, intact.toString('utf8').slice(0, intact.toString('utf8').lastIndexOf('\n') + 1));

    // --resume in a new process, more traffic, a clean SIGTERM: the whole directory verifies.
    const b = await startChild(dir, ['--resume']);
    expect((await viaProxy(b.port, 'GET', 'http://upstream.test/after-resume')).status).toBe(200);
    expect((await viaProxy(b.port, 'GET', 'http://blockme.test/after-resume')).status).toBe(403);
    b.proc.kill('SIGTERM');
    await new Promise((r) => b.proc.once('exit', r));
    const final = await verifyDir(dir);
    expect([final.verdict, final.reason]).toEqual(['valid', null]);
    const all = readRecords(dir);
    const opens = all.filter((r) => r.session_control?.kind === 'session_open');
    expect(opens).toHaveLength(2);
    expect(opens[1]!.session_control.open.prior_chain_seq).toBe(opens[1]!.chain_seq - 1);
    expect(all.at(-1)!.session_control.close).toMatchObject({ close_reason: 'signal', receipt_count: all.length });
    const byReq = new Map<string, Json[]>();
    for (const r of all.slice(all.indexOf(opens[1]!))) if (r.request_id) byReq.set(r.request_id, [...(byReq.get(r.request_id) ?? []), r]);
    expect([...byReq.values()].map((v) => v.map((r) => r.verdict))).toEqual([['allow', 'allow'], ['block']]);
  }, 30_000);
});
