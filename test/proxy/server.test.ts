/**
 * The proxy server end to end with real clients (Node's fetch, node:http
 * absolute-form requests, raw CONNECT, TLS ClientHellos, curl when
 * installed) against a counting upstream on 127.0.0.1, under a small test
 * decider: allowed requests get through; blocked ones are refused with the
 * X-Egress-* signalling and never reach the upstream; the evidence
 * directory verifies under the proxy's key and holds exactly one receipt
 * per pre-egress block and an intent/outcome pair per forwarded request.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceWriter } from '../../src/proxy/evidence.js';
import { clientHelloSni, decodeBody, fetchQuery, formDecode, parseDialAddress, ProxyServer } from '../../src/proxy/server.js';
import { connectThrough, proxySigner, readEntries, readRecords, startEcho, startUpstream, testDecider, TEST_POLICY_HASH, verifyDir, viaProxy, type Json } from './support.js';

const run = promisify(execFile);

/** A throw-away self-signed certificate for `name` (openssl). */
async function selfSigned(name: string): Promise<{ key: string; cert: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ev-cert-'));
  try {
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')]);
    return { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function haveCurl(): Promise<boolean> {
  try {
    await run('which', ['curl']);
    return true;
  } catch {
    return false;
  }
}

interface Rig {
  dir: string;
  port: number;
  upstream: Awaited<ReturnType<typeof startUpstream>>;
  echo: Awaited<ReturnType<typeof startEcho>>;
  evidence: EvidenceWriter;
  server: ProxyServer;
  decider: ReturnType<typeof testDecider>;
  /** Seen-by-upstream count for paths containing `needle`. */
  hits: (needle: string) => number;
  stop: () => Promise<void>;
}

interface RigOptions {
  profile?: 'session' | 'legacy';
  maxEntriesPerFile?: number;
  checkpointInterval?: number;
  agent?: string;
  drainMs?: number;
  maxRequestBodyBytes?: number;
  httpsDial?: () => string;
  tls?: { ca: string };
}

async function rig(opts: RigOptions = {}): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'ev-proxy-'));
  const upstream = await startUpstream();
  const echo = await startEcho();
  const decider = testDecider({ httpDial: () => `127.0.0.1:${upstream.port}`, connectDial: () => `127.0.0.1:${echo.port}`, ...(opts.httpsDial ? { httpsDial: opts.httpsDial } : {}) });
  const evidence = await EvidenceWriter.open({ dir: join(dir, 'evidence'), signer: proxySigner, policyHash: TEST_POLICY_HASH, profile: opts.profile ?? 'session', maxEntriesPerFile: opts.maxEntriesPerFile ?? 10000, checkpointInterval: opts.checkpointInterval ?? 1000 });
  const server = new ProxyServer({
    decider,
    evidence,
    port: 0,
    connectPeekMs: 200,
    drainMs: opts.drainMs ?? 2000,
    agent: opts.agent ?? null,
    ...(opts.maxRequestBodyBytes ? { maxRequestBodyBytes: opts.maxRequestBodyBytes } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
  });
  const { port } = await server.listen();
  let stopped = false;
  return {
    dir: join(dir, 'evidence'),
    port,
    upstream,
    echo,
    evidence,
    server,
    decider,
    hits: (needle) => upstream.seen.filter((s) => s.url.includes(needle)).length,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      if (!evidence.closed) evidence.close('graceful_shutdown');
      await upstream.close();
      await echo.close();
    },
  };
}

/** Receipts grouped by request_id (control receipts have none). */
function byRequest(records: Json[]): Map<string, Json[]> {
  const m = new Map<string, Json[]>();
  for (const r of records) {
    if (!r.request_id) continue;
    m.set(r.request_id, [...(m.get(r.request_id) ?? []), r]);
  }
  return m;
}

describe('unit helpers', () => {
  it('form-decodes the url= parameter exactly once and applies the truncation guard', () => {
    expect(formDecode('http%3A%2F%2Fa.test%2Fx%253Fy+z')).toBe('http://a.test/x%3Fy z');
    expect(fetchQuery('url=http%3A%2F%2Fa.test%2Fp%3Fq%3D1%26r%3D2&agent=bot')).toEqual({ target: 'http://a.test/p?q=1&r=2', agent: 'bot' });
    // Not encoded by the caller: everything after the first url= is the target.
    expect(fetchQuery('url=http://a.test/p?q=1&r=2').target).toBe('http://a.test/p?q=1&r=2');
    expect(fetchQuery('agent=x&url=http://a.test/%0d%0aX').target).toBe('http://a.test/X');
    expect(fetchQuery('').target).toBe('');
  });

  it('parses dial addresses and decodes bodies under the cap', () => {
    expect(parseDialAddress('127.0.0.1:8080', 80)).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseDialAddress('203.0.113.10', 443)).toEqual({ host: '203.0.113.10', port: 443 });
    expect(parseDialAddress('[::1]:9', 80)).toEqual({ host: '::1', port: 9 });
    expect(parseDialAddress('2001:db8::1', 80)).toEqual({ host: '2001:db8::1', port: 80 });
    expect(decodeBody(Buffer.from('x'), 'zstd', 100)).toMatchObject({ ok: false, layer: 'response_scan' });
    const big = gzipSync(Buffer.alloc(10_000));
    expect(decodeBody(big, 'gzip', 1000)).toMatchObject({ ok: false, layer: 'response_size' });
    expect(decodeBody(big, 'gzip', 20_000)).toMatchObject({ ok: true });
  });
});

describe('proxy server (session profile)', () => {
  let r: Rig;
  const actionIds = new Map<string, string>(); // label → X-Egress-Action-Id
  beforeAll(async () => {
    r = await rig();
  });
  afterAll(async () => {
    await r?.stop();
  });

  it('/health reports the policy hash and the public key, and writes no receipt', async () => {
    const before = r.evidence.receiptCount;
    const res = await fetch(`http://127.0.0.1:${r.port}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', mode: 'enforce', policy_hash: TEST_POLICY_HASH, public_key: proxySigner.publicKeyHex });
    const nf = await fetch(`http://127.0.0.1:${r.port}/nothing-here`);
    expect(nf.status).toBe(404);
    await nf.text();
    expect(r.evidence.receiptCount).toBe(before);
  });

  it('fetch mode (Node fetch): an allowed request comes back wrapped in JSON', async () => {
    const target = 'http://upstream.test/fetch-allowed?x=1';
    const res = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent(target)}&agent=fetch-bot`);
    const body = (await res.json()) as Json;
    expect(res.status).toBe(200);
    expect(res.headers.get('x-egress-decision')).toBe('allow');
    expect(body).toMatchObject({ url: target, agent: 'fetch-bot', status_code: 200, blocked: false, action_id: res.headers.get('x-egress-action-id') });
    expect(body.content).toBe('hello from upstream GET /fetch-allowed?x=1');
    expect(body.content_type).toBe('text/plain');
    expect(r.hits('/fetch-allowed')).toBe(1);
    actionIds.set('fetch-allowed', body.action_id);
  });

  it('fetch mode: a blocked request is refused with the §7 JSON and never reaches the upstream', async () => {
    const res = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent('http://blockme.test/fetch-blocked')}`);
    const body = (await res.json()) as Json;
    expect(res.status).toBe(403);
    expect(res.headers.get('x-egress-decision')).toBe('block');
    expect(res.headers.get('x-egress-layer')).toBe('blocklist');
    expect(res.headers.get('x-egress-reason')).toBe('blocklist: host matches a blocked pattern');
    expect(body).toEqual({ url: 'http://blockme.test/fetch-blocked', agent: 'anonymous', blocked: true, block_reason: 'blocklist: host matches a blocked pattern', scanner: 'blocklist', action_id: res.headers.get('x-egress-action-id') });
    expect(r.hits('/fetch-blocked')).toBe(0);
    actionIds.set('fetch-blocked', body.action_id);
  });

  it('fetch mode carries the agent\'s method, headers and body upstream (POST, DELETE)', async () => {
    const res = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent('http://upstream.test/fetch-post')}`, { method: 'POST', body: '{"hello":"world"}', headers: { 'content-type': 'application/json', 'x-egress-agent': 'poster' } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).agent).toBe('poster');
    const seen = r.upstream.seen.find((s) => s.url === '/fetch-post')!;
    expect(seen).toMatchObject({ method: 'POST', body: '{"hello":"world"}' });
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.headers['x-egress-agent']).toBeUndefined();
    const del = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent('http://upstream.test/fetch-delete')}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    await del.text();
    const recs = readRecords(r.dir);
    const post = recs.filter((x) => x.target === 'http://upstream.test/fetch-post');
    expect(post.map((x) => [x.action_type, x.side_effect_class, x.reversibility, x.method, x.actor])).toEqual([
      ['write', 'external_write', 'compensatable', 'POST', 'poster'],
      ['write', 'external_write', 'compensatable', 'POST', 'poster'],
    ]);
    expect(recs.find((x) => x.target === 'http://upstream.test/fetch-delete')).toMatchObject({ action_type: 'write', reversibility: 'irreversible', method: 'DELETE' });
  });

  it('forward mode (node:http absolute-form): allowed, with hop-by-hop and X-Egress-* headers stripped both ways', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/forward-allowed', {
      'X-Egress-Agent': 'fwd-agent',
      'X-Egress-Decision': 'allow',
      'X-Egress-Action-Id': 'forged',
      'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
      'Accept-Encoding': 'gzip, br',
      Connection: 'keep-alive, X-Drop-Me',
      'X-Drop-Me': '1',
      'X-Keep-Me': 'yes',
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello from upstream GET /forward-allowed');
    expect(res.headers['x-egress-decision']).toBe('allow');
    expect(res.headers['x-egress-action-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(res.headers['x-upstream']).toBe('yes');
    const seen = r.upstream.seen.find((s) => s.url === '/forward-allowed')!;
    expect(seen.headers.host).toBe('upstream.test');
    expect(seen.headers['accept-encoding']).toBe('identity');
    expect(seen.headers['x-keep-me']).toBe('yes');
    for (const h of ['x-egress-agent', 'x-egress-decision', 'x-egress-action-id', 'proxy-authorization', 'x-drop-me']) expect(seen.headers[h]).toBeUndefined();
    // The decider saw the handshake headers (Proxy-Authorization included), but none of the X-Egress-* ones.
    const seenByDecider = r.decider.requests.find((q) => q.target === 'http://upstream.test/forward-allowed')!;
    expect(seenByDecider.headers.map(([n]) => n.toLowerCase())).toContain('proxy-authorization');
    expect(seenByDecider.headers.some(([n]) => n.toLowerCase().startsWith('x-egress-'))).toBe(false);
    expect(seenByDecider.agent).toBe('fwd-agent');
    actionIds.set('forward-allowed', String(res.headers['x-egress-action-id']));
  });

  it('forward mode: a blocked request gets 403 "blocked: …" and never reaches the upstream', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://blockme.test/forward-blocked');
    expect(res.status).toBe(403);
    expect(res.body).toBe('blocked: blocklist: blocklist: host matches a blocked pattern\n');
    expect(res.headers['x-egress-decision']).toBe('block');
    expect(res.headers['x-egress-layer']).toBe('blocklist');
    expect(r.hits('/forward-blocked')).toBe(0);
  });

  it('DLP in the URL: blocked, and the receipt target carries no secret', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/p/AKIAIOSFODNN7EXAMPLE?key=AKIAIOSFODNN7EXAMPLE&x=1');
    expect(res.status).toBe(403);
    expect(res.headers['x-egress-layer']).toBe('dlp');
    expect(r.hits('AKIA')).toBe(0);
    const rec = readRecords(r.dir).find((x) => x.request_id && x.layer === 'dlp')!;
    expect(rec).toMatchObject({ target: 'http://upstream.test/p/[REDACTED]?key=[REDACTED]&x=[REDACTED]', verdict: 'block', decision_phase: 'intent', data_classes_in: ['aws_access_key_id'], severity: 'critical', pattern: 'DLP match: aws_access_key_id (critical)' });
    const body = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent('http://upstream.test/body-dlp')}`, { method: 'POST', body: 'secret=AKIAIOSFODNN7EXAMPLE' });
    expect(body.status).toBe(403);
    expect(((await body.json()) as Json).scanner).toBe('body_dlp');
    expect(r.hits('/body-dlp')).toBe(0);
  });

  it('upstream X-Egress-* response headers are replaced by the proxy\'s own', async () => {
    // The fixture sends x-egress-decision: allow itself; only the proxy's one may arrive, and only once.
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/strip-response');
    expect(res.headers['x-egress-decision']).toBe('allow');
    expect(res.headers['x-egress-action-id']).toBeDefined();
  });

  it('gzip responses are decoded for the scanners and the agent; an unknown encoding fails closed', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/gzip');
    expect(res.status).toBe(200);
    expect(res.body).toBe('compressed hello from upstream');
    expect(res.headers['content-encoding']).toBeUndefined();
    const weird = await viaProxy(r.port, 'GET', 'http://upstream.test/weird-encoding');
    expect(weird.status).toBe(403);
    expect(weird.headers['x-egress-layer']).toBe('response_scan');
    expect(String(weird.headers['x-egress-reason'])).toContain('compressed_response');
  });

  it('response scanning: an injection is blocked after the upstream answered; sensitive data is recorded', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/inject');
    expect(res.status).toBe(403);
    expect(res.headers['x-egress-layer']).toBe('response_scan');
    expect(res.body).not.toContain('IGNORE');
    const cards = await viaProxy(r.port, 'GET', 'http://upstream.test/cards');
    expect(cards.status).toBe(200);
    const recs = readRecords(r.dir);
    const inj = recs.filter((x) => x.target === 'http://upstream.test/inject');
    expect(inj.map((x) => [x.decision_phase, x.verdict, x.layer ?? null])).toEqual([
      ['intent', 'allow', null],
      ['outcome', 'block', 'response_scan'],
    ]);
    expect(inj[1].pattern).toMatch(/^injection: instruction_override; status=200 bytes=\d+ reason=complete$/);
    const card = recs.filter((x) => x.target === 'http://upstream.test/cards');
    expect(card[1]).toMatchObject({ decision_phase: 'outcome', verdict: 'allow', layer: 'outcome', data_classes_out: ['credit_card'], severity: 'high' });
    expect(card[0]).toMatchObject({ severity: 'medium', intent: 'egress:external_public' });
  });

  it('redirects are passed back, not followed', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/redirect');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://upstream.test/elsewhere');
    expect(r.hits('/elsewhere')).toBe(0);
  });

  it('observe-style warn: the request passes with X-Egress-Decision: warn', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/warnme');
    expect(res.status).toBe(200);
    expect(res.headers['x-egress-decision']).toBe('warn');
    expect(res.headers['x-egress-layer']).toBe('entropy');
    const recs = readRecords(r.dir).filter((x) => x.target === 'http://upstream.test/warnme');
    expect(recs.map((x) => [x.verdict, x.layer, x.severity])).toEqual([
      ['warn', 'entropy', 'medium'],
      ['allow', 'outcome', 'high'],
    ]);
  });

  it('websocket upgrades are refused (unsupported_protocol) and never reach the upstream', async () => {
    const res = await viaProxy(r.port, 'GET', 'http://upstream.test/ws-upgrade', { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' });
    expect(res.status).toBe(403);
    expect(res.headers['x-egress-layer']).toBe('unsupported_protocol');
    expect(r.hits('/ws-upgrade')).toBe(0);
    const h2c = await viaProxy(r.port, 'GET', 'http://upstream.test/h2c-upgrade', { Upgrade: 'h2c' });
    expect(h2c.status).toBe(403);
    expect(r.hits('/h2c-upgrade')).toBe(0);
  });

  it('CONNECT: an allowed tunnel is spliced to the validated address; a blocked one is refused and never dialled', async () => {
    const before = r.echo.connections();
    const ok = await connectThrough(r.port, 'echo.test:443', 'ping through the tunnel', { 'X-Egress-Agent': 'tunneler' });
    expect(ok.status).toBe(200);
    expect(ok.head).toMatch(/X-Egress-Decision: allow/);
    expect(ok.echoed).toBe('ping through the tunnel');
    expect(r.echo.connections()).toBe(before + 1);
    const blocked = await connectThrough(r.port, 'blockme.test:443', 'never sent');
    expect(blocked.status).toBe(403);
    expect(blocked.head).toMatch(/X-Egress-Layer: blocklist/);
    expect(blocked.echoed).toBe('CONNECT blocked: blocklist: blocklist: host matches a blocked pattern\n');
    expect(r.echo.connections()).toBe(before + 1);
    await new Promise((res) => setTimeout(res, 100));
    const recs = readRecords(r.dir).filter((x) => x.transport === 'connect');
    const tunnel = recs.filter((x) => x.target === 'https://echo.test/');
    expect(tunnel.map((x) => [x.decision_phase, x.verdict, x.method, x.actor])).toEqual([
      ['intent', 'allow', 'CONNECT', 'tunneler'],
      ['outcome', 'allow', 'CONNECT', 'tunneler'],
    ]);
    expect(tunnel[1].pattern).toMatch(/^bytes_up=23 bytes_down=23 duration_ms=\d+ reason=closed$/);
    expect(recs.filter((x) => x.target === 'https://[REDACTED].blockme.test/' || x.target === 'https://blockme.test/').length).toBe(1);
  });

  it('CONNECT: a TLS ClientHello naming another host than CONNECT is cut off (sni_mismatch)', async () => {
    expect(clientHelloSni(Buffer.from('GET / HTTP/1.1\r\n'))).toBeNull();
    const before = r.echo.connections();
    const s = net.connect(r.port, '127.0.0.1');
    await new Promise<void>((res) => s.once('connect', () => res()));
    s.write('CONNECT echo.test:443 HTTP/1.1\r\nHost: echo.test:443\r\n\r\n');
    await new Promise<void>((res) => s.once('data', () => res()));
    const closed = new Promise<void>((res) => s.once('close', () => res()));
    const t = tls.connect({ socket: s, servername: 'evil-front.test', rejectUnauthorized: false });
    t.on('error', () => undefined);
    await closed;
    t.destroy();
    await new Promise((res) => setTimeout(res, 50));
    expect(r.echo.connections()).toBe(before);
    const out = readRecords(r.dir).filter((x) => x.layer === 'sni_mismatch');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ verdict: 'block', decision_phase: 'outcome', severity: 'high', target: 'https://echo.test/' });
  });

  it('curl (if installed) through HTTP_PROXY-style forwarding and CONNECT', async () => {
    if (!(await haveCurl())) {
      console.warn('note: curl is not installed; the curl client test is skipped');
      return;
    }
    const proxy = `http://127.0.0.1:${r.port}`;
    const ok = await run('curl', ['-sS', '-i', '--max-time', '5', '-x', proxy, 'http://upstream.test/curl-allowed']);
    expect(ok.stdout).toMatch(/^HTTP\/1\.1 200/);
    expect(ok.stdout).toMatch(/X-Egress-Decision: allow/i);
    expect(ok.stdout).toContain('hello from upstream GET /curl-allowed');
    expect(r.hits('/curl-allowed')).toBe(1);
    const blocked = await run('curl', ['-sS', '-i', '--max-time', '5', '-x', proxy, 'http://blockme.test/curl-blocked']);
    expect(blocked.stdout).toMatch(/^HTTP\/1\.1 403/);
    expect(blocked.stdout).toMatch(/X-Egress-Layer: blocklist/i);
    expect(r.hits('/curl-blocked')).toBe(0);
    // https through the proxy = CONNECT; a blocked host's tunnel is refused.
    const tunnel = await run('curl', ['-sS', '--max-time', '5', '-x', proxy, 'https://blockme.test/']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(tunnel.code).not.toBe(0);
    expect(tunnel.stderr).toMatch(/403/);
  });

  it('receipts equal decisions and the evidence directory verifies under the proxy key', async () => {
    await r.stop();
    const report = await verifyDir(r.dir);
    expect([report.verdict, report.reason, report.trusted]).toEqual(['valid', null, true]);
    const records = readRecords(r.dir);
    expect(report.receipt_count).toBe(records.length);
    // Control receipts: open first, close last.
    expect(records[0].session_control.kind).toBe('session_open');
    expect(records.at(-1)!.session_control.kind).toBe('session_close');
    expect(records.at(-1)!.session_control.close.receipt_count).toBe(records.length);
    const groups = byRequest(records);
    for (const [id, recs] of groups) {
      expect(id).toMatch(/^req-\d+$/);
      const intent = recs[0]!;
      expect(intent.decision_phase).toBe('intent');
      if (intent.verdict === 'block') expect(recs).toHaveLength(1);
      else {
        expect(recs.map((x) => x.decision_phase)).toEqual(['intent', 'outcome']);
        expect(recs[1].action_id).toBe(intent.action_id);
      }
      for (const x of recs) {
        expect(x.run_nonce).toBe(records[0].run_nonce);
        expect(x.intent).toMatch(/^egress:(internal|external_trusted|external_public|unknown)$/);
        expect(x.policy_hash).toBe(TEST_POLICY_HASH);
        expect(x.principal).toBe('local');
      }
    }
    // Every decision the decider made has its receipts (health/404 made none).
    expect(groups.size).toBe(r.decider.requests.length);
    // Headers carried the intent receipt's action id.
    for (const [label, id] of actionIds) expect(records.some((x) => x.action_id === id && x.decision_phase === 'intent'), label).toBe(true);
    // Timestamps never decrease along the chain.
    const ts = records.map((x) => Date.parse(x.timestamp));
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThanOrEqual(ts[i - 1]!);
    // No agent secret in any evidence file.
    for (const f of readdirSync(r.dir)) expect(readFileSync(join(r.dir, f), 'utf8')).not.toContain('AKIA');
    rmSync(r.dir, { recursive: true, force: true });
  });
});

describe('fail closed', () => {
  it('when the pre-egress receipt cannot be written: 503 receipt_unavailable, nothing forwarded', async () => {
    // One entry per file: every receipt needs a new file, and the directory is gone.
    const r = await rig({ maxEntriesPerFile: 1 });
    try {
      rmSync(r.dir, { recursive: true, force: true });
      const res = await viaProxy(r.port, 'GET', 'http://upstream.test/unwritable');
      expect(res.status).toBe(503);
      expect(res.headers['x-egress-decision']).toBe('block');
      expect(res.headers['x-egress-layer']).toBe('receipt_unavailable');
      expect(res.body).toMatch(/^blocked: receipt_unavailable: /);
      const f = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent('http://upstream.test/unwritable-fetch')}`);
      expect(f.status).toBe(503);
      expect(await f.json()).toMatchObject({ blocked: true, scanner: 'receipt_unavailable' });
      const c = await connectThrough(r.port, 'echo.test:443', 'x');
      expect(c.status).toBe(503);
      expect(c.head).toMatch(/X-Egress-Layer: receipt_unavailable/);
      expect(r.upstream.seen).toHaveLength(0);
      expect(r.echo.connections()).toBe(0);
      expect(r.evidence.counters.durabilityBlocks).toBe(3);
    } finally {
      await r.stop();
    }
  });
});

describe('upstream failures, oversize bodies, a bound agent', () => {
  it('an unreachable upstream gives 502 with X-Egress-Decision: error and an upstream_error outcome', async () => {
    const r = await rig({ maxRequestBodyBytes: 1024, agent: 'bound-agent' });
    try {
      const res = await viaProxy(r.port, 'GET', 'http://upstream.test/deadend', { 'X-Egress-Agent': 'ignored' });
      expect(res.status).toBe(502);
      expect(res.headers['x-egress-decision']).toBe('error');
      const f = await fetch(`http://127.0.0.1:${r.port}/fetch?url=${encodeURIComponent('http://upstream.test/deadend-fetch')}&agent=also-ignored`);
      expect(f.status).toBe(502);
      expect(await f.json()).toMatchObject({ blocked: false, agent: 'bound-agent', error: expect.stringMatching(/^upstream error/) });
      const big = await viaProxy(r.port, 'POST', 'http://upstream.test/too-big', { 'content-type': 'text/plain' }, 'z'.repeat(5000));
      expect(big.status).toBe(403);
      expect(big.headers['x-egress-layer']).toBe('body_dlp');
      expect(r.hits('/too-big')).toBe(0);
      await r.stop();
      const recs = readRecords(r.dir).filter((x) => x.request_id);
      expect(recs.every((x) => x.actor === 'bound-agent')).toBe(true);
      expect(recs.filter((x) => x.target === 'http://upstream.test/deadend').map((x) => x.pattern ?? null)).toEqual([null, 'status=0 bytes=0 reason=upstream_error']);
      expect(recs.find((x) => x.target === 'http://upstream.test/too-big')).toMatchObject({ verdict: 'block', layer: 'body_dlp', severity: 'medium' });
      expect((await verifyDir(r.dir)).verdict).toBe('valid');
    } finally {
      await r.stop();
    }
  });
});

describe('https absolute-form requests', () => {
  it('the proxy originates TLS to the validated address with the original host name as SNI and for the certificate check', async () => {
    let cert: { key: string; cert: string };
    try {
      cert = await selfSigned('secure.test');
    } catch {
      console.warn('note: openssl is not available; the https forward test is skipped');
      return;
    }
    const servernames: string[] = [];
    const httpsServer = https.createServer(cert, (req, res) => {
      servernames.push((req.socket as tls.TLSSocket).servername || '');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`secure hello ${req.headers.host} ${req.url}`);
    });
    httpsServer.listen(0, '127.0.0.1');
    await new Promise((res) => httpsServer.once('listening', res));
    const httpsPort = (httpsServer.address() as net.AddressInfo).port;
    const r = await rig({ httpsDial: () => `127.0.0.1:${httpsPort}`, tls: { ca: cert.cert } });
    try {
      const ok = await viaProxy(r.port, 'GET', 'https://secure.test/over-tls');
      expect([ok.status, ok.body]).toEqual([200, 'secure hello secure.test /over-tls']);
      expect(servernames).toEqual(['secure.test']);
      // Same address, another name: the certificate does not match it, so nothing is returned.
      const wrong = await viaProxy(r.port, 'GET', 'https://other-name.test/over-tls');
      expect(wrong.status).toBe(502);
      expect(wrong.headers['x-egress-decision']).toBe('error');
      await r.stop();
      const recs = readRecords(r.dir).filter((x) => x.request_id);
      expect(recs.filter((x) => x.target === 'https://secure.test/over-tls').map((x) => [x.transport, x.decision_phase])).toEqual([
        ['forward', 'intent'],
        ['forward', 'outcome'],
      ]);
    } finally {
      await r.stop();
      httpsServer.closeAllConnections();
      await new Promise((res) => httpsServer.close(res));
    }
  });
});

describe('legacy profile, rotation and checkpoints through the server', () => {
  it('writes a genesis-rooted chain of v1 entries across rotated files that verifies', async () => {
    const r = await rig({ profile: 'legacy', maxEntriesPerFile: 3, checkpointInterval: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await viaProxy(r.port, 'GET', `http://upstream.test/legacy-${i}`);
      expect(res.status).toBe(200);
      ids.push(String(res.headers['x-egress-action-id']));
    }
    expect((await viaProxy(r.port, 'GET', 'http://blockme.test/legacy-blocked')).status).toBe(403);
    await r.stop();
    const files = readdirSync(r.dir).filter((f) => f.startsWith('evidence-'));
    expect(files.length).toBeGreaterThan(3);
    const entries = readEntries(r.dir);
    expect(entries.every((e) => e.v === 1 && e.event_kind === undefined)).toBe(true);
    expect(entries.filter((e) => e.type === 'checkpoint').length).toBeGreaterThan(2);
    const records = readRecords(r.dir);
    expect(records[0].chain_prev_hash).toBe('genesis');
    for (const x of records) {
      for (const k of ['run_nonce', 'decision_phase', 'session_control']) expect(x[k]).toBeUndefined();
    }
    expect(records).toHaveLength(9);
    // The outcome has its own action id and keeps the intent's request_id.
    for (const [i, id] of ids.entries()) {
      const pair = records.filter((x) => x.target === `http://upstream.test/legacy-${i}`);
      expect(pair[0].action_id).toBe(id);
      expect(pair[1].action_id).not.toBe(id);
      expect(pair[1].request_id).toBe(pair[0].request_id);
      expect(pair[1].layer).toBe('outcome');
    }
    const report = await verifyDir(r.dir);
    expect([report.verdict, report.reason, report.receipt_count]).toEqual(['valid', null, 9]);
  });
});

describe('shutdown', () => {
  it('drains in-flight requests (outcome written), then aborts what is left with reason=aborted', async () => {
    const r = await rig({ drainMs: 1000 });
    const slow = viaProxy(r.port, 'GET', 'http://upstream.test/slow');
    await new Promise((res) => setTimeout(res, 50));
    await r.server.close();
    expect((await slow).status).toBe(200);
    r.evidence.close('graceful_shutdown');
    const rec = readRecords(r.dir).filter((x) => x.target === 'http://upstream.test/slow');
    expect(rec[1].pattern).toMatch(/reason=complete$/);
    await r.stop();

    const r2 = await rig({ drainMs: 50 });
    const slow2 = viaProxy(r2.port, 'GET', 'http://upstream.test/slow').catch((e: Error) => e);
    await new Promise((res) => setTimeout(res, 50));
    await r2.server.close();
    await slow2;
    r2.evidence.close('signal');
    const rec2 = readRecords(r2.dir).filter((x) => x.target === 'http://upstream.test/slow');
    expect(rec2[1].pattern).toBe('status=0 bytes=0 reason=aborted');
    expect(readRecords(r2.dir).at(-1)!.session_control.close.close_reason).toBe('signal');
    expect((await verifyDir(r2.dir)).verdict).toBe('valid');
    await r2.stop();
  });
});
