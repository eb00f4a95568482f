#!/usr/bin/env node
/**
 * Offline agent-egress-bench harness for `egress-verify proxy` (spec proxy.md §8).
 *
 *   node scripts/bench-proxy.js --cases DIR --out DIR [--verbose]
 *
 * Loopback only; no real hosts, no real DNS. Starts a fixture upstream
 * (plain HTTP and TLS on one port P1 — the proxy dials https:// fetch and
 * forward targets there with TLS — plus the TLS-only fixture port P2 for
 * CONNECT tunnels), generates a throw-away key, writes the benchmark policy, runs
 * the real proxy in-process (dist/), sends every applicable case through it
 * sequentially, then verifies the evidence directory with the pinned key and
 * checks, per case, that a blocked request never reached the fixture and that
 * every decision has its signed receipt.
 *
 * Writes OUT/results.jsonl, OUT/summary.json, OUT/tool-profile.json,
 * OUT/fixture-log.jsonl and OUT/evidence/ (the flight recorder), and
 * OUT/results-plaintext-variant.jsonl for the A* cases (§8.1), a separate
 * view that is never merged into the headline figures.
 *
 * The self-signed fixture certificate is made with the openssl binary; the
 * script re-runs itself once with NODE_EXTRA_CA_CERTS so that the proxy's
 * upstream TLS client (same process) trusts it. Exit code 0 when the run is
 * valid and every property check holds, 1 otherwise, 64 on usage errors.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const RUNNER_VERSION = 'egress-verify-bench-proxy/0.1.0';
const TOOL = 'egress-verify-proxy';
const CASE_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------
// Arguments

function usage(msg) {
  process.stderr.write(`bench-proxy: ${msg}\nusage: node scripts/bench-proxy.js --cases DIR --out DIR [--verbose]\n`);
  process.exit(64);
}
const argv = process.argv.slice(2);
const args = { cases: null, out: null, verbose: false };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--cases' || a === '--out') {
    const v = argv[++i];
    if (!v) usage(`${a} needs a value`);
    args[a.slice(2)] = resolve(v);
  } else if (a === '--verbose') args.verbose = true;
  else if (a === '--help' || a === '-h') usage('help');
  else usage(`unknown argument ${JSON.stringify(a)}`);
}
if (!args.cases) usage('--cases DIR is required');
if (!args.out) usage('--out DIR is required');
if (!existsSync(args.cases) || !statSync(args.cases).isDirectory()) usage(`--cases ${args.cases} is not a directory`);
if (!existsSync(join(dist, 'cli', 'proxy-command.js'))) usage(`${dist} has no build; run npm run build first`);

// ---------------------------------------------------------------------------
// Cases

/** Every *.json under DIR, sorted by path relative to DIR (the runner's order). */
function caseFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(p);
    }
  };
  walk(dir);
  return out.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : relative(dir, a) > relative(dir, b) ? 1 : 0));
}

const files = caseFiles(args.cases);
if (files.length === 0) usage(`no *.json case files under ${args.cases}`);
const cases = files.map((f) => {
  const bytes = readFileSync(f);
  const c = JSON.parse(bytes.toString('utf8'));
  return { file: f, bytes, c };
});

/** Hostnames the fixture certificate must cover. */
function caseHosts() {
  const hosts = new Set(['localhost']);
  for (const { c } of cases) {
    try {
      const u = new URL(c.payload?.url);
      if (u.hostname && !net.isIP(u.hostname.replace(/^\[|\]$/g, '')) && /^[a-z0-9.-]+$/i.test(u.hostname)) hosts.add(u.hostname.toLowerCase());
    } catch {
      /* not a URL case */
    }
  }
  return [...hosts].sort();
}

// ---------------------------------------------------------------------------
// Stage 1: certificate, then re-run with NODE_EXTRA_CA_CERTS

if (!process.env.BENCH_PROXY_WORKDIR) {
  const work = mkdtempSync(join(tmpdir(), 'bench-proxy-'));
  const cfg = join(work, 'openssl.cnf');
  const alt = caseHosts().map((h, i) => `DNS.${i + 1} = ${h}`).join('\n');
  writeFileSync(
    cfg,
    `[req]\ndistinguished_name = dn\nx509_extensions = v3\nprompt = no\n[dn]\nCN = bench-fixture.invalid\n[v3]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,digitalSignature,keyCertSign\nextendedKeyUsage = serverAuth\nsubjectAltName = @alt\n[alt]\n${alt}\nIP.1 = 127.0.0.1\n`,
  );
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-keyout', join(work, 'fixture.key'), '-out', join(work, 'fixture.crt'), '-config', cfg], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`bench-proxy: cannot create the fixture certificate with openssl: ${r.error?.message ?? r.stderr}\n`);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  }
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PROXY_WORKDIR: work, NODE_EXTRA_CA_CERTS: join(work, 'fixture.crt') },
  });
  const code = await new Promise((res) => {
    child.on('exit', (c, s) => res(c ?? (s ? 1 : 1)));
    child.on('error', () => res(1));
  });
  rmSync(work, { recursive: true, force: true });
  process.exit(code);
}

// ---------------------------------------------------------------------------
// Stage 2: the run

const { main } = await import(join(dist, 'cli', 'main.js'));
const { runProxy } = await import(join(dist, 'cli', 'proxy-command.js'));
const { createDecider } = await import(join(dist, 'proxy', 'decider.js'));
const { verifyPath } = await import(join(dist, 'verify', 'inputs.js'));
const { verifyOptions } = await import(join(dist, 'verify', 'options.js'));

const work = process.env.BENCH_PROXY_WORKDIR;
const certPem = readFileSync(join(work, 'fixture.crt'));
const keyPem = readFileSync(join(work, 'fixture.key'));

mkdirSync(args.out, { recursive: true });
const evidenceDir = join(args.out, 'evidence');
if (existsSync(evidenceDir)) rmSync(evidenceDir, { recursive: true, force: true });

// §8.2 tool profile.
const CLAIMS = ['url_dlp', 'request_body_dlp', 'header_dlp', 'response_injection', 'ssrf', 'ssrf_bypass', 'domain_blocklist', 'entropy', 'encoding_evasion', 'crypto_dlp', 'hostname_exfil', 'benign'];
const SUPPORTS = {
  fetch_proxy: true,
  http_proxy: true,
  request_body_scanning: true,
  header_scanning: true,
  response_scanning: true,
  tls_interception: false,
  mcp_stdio: false,
  mcp_http: false,
  websocket: false,
  a2a: false,
  websocket_frame_scanning: false,
  shell_analysis: false,
  dns_rebinding_fixture: false,
};
const toolProfile = { tool: TOOL, tool_version: readPackageVersion(), claims: CLAIMS, supports: SUPPORTS };
const toolProfileBytes = Buffer.from(JSON.stringify(toolProfile, null, 2) + '\n');
writeFileSync(join(args.out, 'tool-profile.json'), toolProfileBytes);

function readPackageVersion() {
  try {
    return JSON.parse(readFileSync(join(here, '..', 'package.json'), 'utf8')).version;
  } catch {
    return '0.0.0';
  }
}

/** null when applicable, else the first failing check (§8.2). */
function notApplicableReason(c) {
  for (const t of c.capability_tags ?? []) if (!CLAIMS.includes(t)) return `unclaimed capability: ${t}`;
  for (const r of c.requires ?? []) if (SUPPORTS[r] !== true) return `missing requires: ${r}`;
  if (SUPPORTS[c.transport] !== true) return `unsupported transport: ${c.transport}`;
  return null;
}

// ---------------------------------------------------------------------------
// Fixture upstream (loopback only): routes by (Host, path), logs every request

const routes = new Map(); // "host path" -> response body (Tier B)
for (const { c } of cases) {
  if (typeof c.payload?.response_body !== 'string') continue;
  try {
    const u = new URL(c.payload.url);
    routes.set(`${u.hostname.toLowerCase()} ${u.pathname}`, c.payload.response_body);
  } catch {
    /* ignore */
  }
}
const fixtureLog = [];
let currentCase = null;

function fixtureHandler(scheme) {
  return (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const host = String(req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
      const path = (req.url ?? '/').split('?')[0];
      const body = Buffer.concat(chunks);
      fixtureLog.push({
        case_id: currentCase,
        scheme,
        host,
        method: req.method,
        path,
        url: req.url,
        header_names: Object.keys(req.headers).sort(),
        body_sha256: createHash('sha256').update(body).digest('hex'),
      });
      const page = routes.get(`${host} ${path}`);
      if (page !== undefined) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) });
        return res.end(page);
      }
      const ok = '{"ok":true}';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': ok.length });
      res.end(ok);
    });
  };
}

const fixtureHttp = http.createServer(fixtureHandler('http'));
const fixtureHttps = https.createServer({ key: keyPem, cert: certPem }, fixtureHandler('https'));
const listen = (srv) => new Promise((ok, fail) => srv.listen(0, '127.0.0.1', () => ok(srv.address().port)).once('error', fail));
const httpPort = await listen(fixtureHttp);
const httpsPort = await listen(fixtureHttps);
const sockets = new Set();
const track = (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => undefined);
  return s;
};
/**
 * P1: plain HTTP and TLS on one port, told apart by the first byte (0x16 =
 * TLS handshake) and relayed over loopback to the matching fixture server.
 */
const p1 = net.createServer((s) => {
  track(s);
  s.once('data', (first) => {
    const up = track(net.connect(first[0] === 0x16 ? httpsPort : httpPort, '127.0.0.1'));
    up.write(first);
    s.pipe(up);
    up.pipe(s);
  });
});
/** P2: TLS only, where CONNECT tunnels are spliced to (the HTTPS fixture itself). */
const p2 = fixtureHttps;
const P1 = await listen(p1);
const P2 = httpsPort;

// ---------------------------------------------------------------------------
// Key and policy

const keyBase = join(work, 'bench-proxy');
const quiet = { stdout: () => undefined, stderr: (s) => void process.stderr.write(s), color: false };
if ((await main(['node', 'egress-verify', 'keygen', '--out', keyBase], quiet)) !== 0) {
  process.stderr.write('bench-proxy: keygen failed\n');
  process.exit(1);
}
const captured = { out: [], err: [] };
const policyIo = { stdout: (s) => void captured.out.push(s), stderr: () => undefined, color: false };
await main(['node', 'egress-verify', 'proxy', '--print-default-policy'], policyIo);
const policy = JSON.parse(captured.out.join(''));
policy.mode = 'enforce';
policy.destinations.block = [...new Set([...policy.destinations.block, 'exfil-collector.example.net'])];
policy.ssrf.enabled = true;
policy.dlp.enabled = true;
policy.dlp.scan = { url: true, headers: true, body: true };
policy.response.scan = true;
policy.response.injection = 'block';
policy.testing = { resolve_all_to: '203.0.113.10', dial_override: `127.0.0.1:${P1}`, tls_dial_override: `127.0.0.1:${P2}` };
const policyFile = join(work, 'bench-policy.json');
writeFileSync(policyFile, JSON.stringify(policy, null, 2) + '\n');

// ---------------------------------------------------------------------------
// Clients

function collect(res) {
  return new Promise((ok, fail) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    res.on('error', fail);
  });
}

function headersOf(c) {
  const h = { ...(c.payload.headers ?? {}) };
  if (c.payload.content_type && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = c.payload.content_type;
  return h;
}

/** A plain HTTP request to the proxy (fetch path or absolute-form). */
function proxyRequest(port, method, path, headers, body) {
  return new Promise((ok, fail) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: CASE_TIMEOUT_MS }, async (res) => {
      try {
        ok({ status: res.statusCode ?? 0, headers: res.headers, body: await collect(res) });
      } catch (e) {
        fail(e);
      }
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.end(body);
  });
}

/** CONNECT host:port, then TLS to the fixture (trusted cert), then the request inside. */
function connectRequest(port, url, method, headers, body) {
  return new Promise((ok, fail) => {
    const target = `${url.hostname}:${url.port || 443}`;
    const req = http.request({ host: '127.0.0.1', port, method: 'CONNECT', path: target, headers: { Host: target }, agent: false, timeout: CASE_TIMEOUT_MS });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', fail);
    req.on('response', async (res) => {
      // A refused CONNECT (non-2xx) answers with a normal response.
      ok({ connect: { status: res.statusCode ?? 0, headers: res.headers }, status: res.statusCode ?? 0, headers: res.headers, body: await collect(res).catch(() => '') });
    });
    req.on('connect', (res, socket) => {
      const connect = { status: res.statusCode ?? 0, headers: res.headers };
      if (connect.status !== 200) {
        socket.destroy();
        return ok({ connect, status: connect.status, headers: res.headers, body: '' });
      }
      const inner = https.request(
        {
          method,
          host: url.hostname,
          path: url.pathname + url.search,
          headers: { ...headers, Host: url.host },
          // No agent: the request runs on this one TLS connection inside the tunnel.
          createConnection: () => tls.connect({ socket, servername: url.hostname, ca: certPem }),
          timeout: CASE_TIMEOUT_MS,
        },
        async (r) => {
          try {
            ok({ connect, status: r.statusCode ?? 0, headers: r.headers, body: await collect(r), tunnel: true });
          } catch (e) {
            fail(e);
          } finally {
            socket.destroy();
          }
        },
      );
      inner.on('timeout', () => inner.destroy(new Error('timeout')));
      inner.on('error', (e) => {
        socket.destroy();
        fail(e);
      });
      inner.end(body);
    });
    req.end();
  });
}

const header = (h, name) => {
  const v = h?.[name];
  return Array.isArray(v) ? v[0] : v;
};
const jsonOr = (text) => {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
};

/** §8.4 step 3 verdict and step 4 evidence object. */
function interpret(r, mode) {
  // For CONNECT the proxy's decision is on the CONNECT answer; the inner response is the fixture's.
  const h = r.connect ? r.connect.headers : r.headers;
  const status = r.connect ? r.connect.status : r.status;
  const decision = header(h, 'x-egress-decision');
  const j = mode === 'fetch' ? jsonOr(r.body) : null;
  let verdict;
  if (decision === 'block') verdict = 'block';
  else if (decision === 'allow' || decision === 'warn') verdict = 'allow';
  else if (decision === 'error') verdict = 'error';
  else if (status === 403 || status === 429 || j?.blocked === true) verdict = 'block';
  else if (r.connect && status !== 200) verdict = 'block';
  else if (status >= 200 && status < 300) verdict = 'allow';
  else verdict = 'error';
  return {
    verdict,
    evidence: {
      http_status: status,
      decision: decision ?? null,
      layer: header(h, 'x-egress-layer') ?? j?.scanner ?? null,
      block_reason: j?.block_reason ?? header(h, 'x-egress-reason') ?? null,
      action_id: header(h, 'x-egress-action-id') ?? j?.action_id ?? null,
    },
  };
}

async function runCase(port, c, variant) {
  const p = c.payload;
  const method = (p.method ?? 'GET').toUpperCase();
  const headers = headersOf(c);
  const body = p.body !== undefined ? Buffer.from(String(p.body)) : undefined;
  const url = new URL(p.url);
  if (c.transport === 'fetch_proxy') {
    return { mode: 'fetch', r: await proxyRequest(port, method, `/fetch?url=${encodeURIComponent(p.url)}`, headers, body) };
  }
  if (url.protocol === 'http:' || variant === 'plaintext') {
    const target = variant === 'plaintext' ? `http://${url.host}${url.pathname}${url.search}` : p.url;
    return { mode: 'forward', r: await proxyRequest(port, method, target, headers, body) };
  }
  return { mode: 'connect', r: await connectRequest(port, url, method, headers, body) };
}

// ---------------------------------------------------------------------------
// Run

const results = [];
const variantResults = [];
const perCase = new Map(); // case_id -> { fixture_requests, mode, ... }
const proxyLog = [];
let proxyFailure = null;

const code = await runProxy(
  { key: `${keyBase}.key`, listen: '127.0.0.1:0', evidenceDir, policy: policyFile, allowTestingOverrides: true, agent: 'agent-egress-bench' },
  [],
  { stdout: (s) => void proxyLog.push(s), stderr: (s) => void (args.verbose ? process.stderr.write(s) : proxyLog.push(s)), color: false },
  {
    createDecider,
    handleSignals: false,
    onListening: ({ port, stop }) => {
      (async () => {
        const health = await proxyRequest(port, 'GET', '/health', {}, undefined);
        if (health.status !== 200) throw new Error(`/health answered ${health.status}`);
        for (const { c } of cases) {
          const reason = notApplicableReason(c);
          const base = { case_id: c.id, tool: TOOL, tool_version: toolProfile.tool_version, expected_verdict: c.expected_verdict };
          if (reason) {
            results.push({ ...base, actual_verdict: 'not_applicable', score: 'not_applicable', evidence: null, notes: reason });
            continue;
          }
          const views = [null];
          const aStar = c.transport === 'http_proxy' && String(c.payload.url).startsWith('https://') && !(c.requires ?? []).includes('tls_interception');
          if (aStar) views.push('plaintext');
          for (const variant of views) {
            const key = variant ? `${c.id}#${variant}` : c.id;
            currentCase = key;
            if (args.verbose) process.stderr.write(`bench-proxy: case ${key}\n`);
            const before = fixtureLog.length;
            let out;
            try {
              const { mode, r } = await runCase(port, c, variant);
              const { verdict, evidence } = interpret(r, mode);
              out = { mode, verdict, evidence, note: '', answer: r.body ?? '' };
              if (mode === 'connect') out.note = `sent through CONNECT (${c.payload.url}); a non-intercepting proxy cannot see the headers or body inside the tunnel, so this is scored honestly (§8.1, §11 item 4)`;
              if (variant === 'plaintext') out.note = 'plaintext-forward variant: scheme downgraded to http:// by the harness; not part of the headline figures';
            } catch (e) {
              out = { mode: 'error', verdict: 'error', evidence: { http_status: 0, decision: null, layer: null, block_reason: null, action_id: null }, note: `transport failure: ${e.message}` };
            }
            if (args.verbose) process.stderr.write(`bench-proxy:   -> ${out.verdict} ${JSON.stringify(out.evidence)} ${out.note}\n`);
            // Let a late upstream request (if any) land in this case's window.
            await new Promise((r) => setTimeout(r, 5));
            const reached = fixtureLog.slice(before).filter((l) => l.case_id === key).length;
            perCase.set(key, { mode: out.mode, fixture_requests: reached, answer: out.answer ?? '' });
            const score = out.verdict === 'error' ? 'error' : out.verdict === c.expected_verdict ? 'pass' : 'fail';
            const row = { ...base, actual_verdict: out.verdict, score, evidence: out.evidence, notes: out.note };
            (variant ? variantResults : results).push(variant ? { ...row, case_id: key } : row);
          }
          currentCase = null;
        }
      })()
        .catch((e) => {
          proxyFailure = e;
        })
        .finally(() => stop('graceful_shutdown'));
    },
  },
);

await new Promise((r) => setTimeout(r, 20));
for (const s of sockets) s.destroy();
fixtureHttp.closeAllConnections();
fixtureHttps.closeAllConnections();
await Promise.all([p1, fixtureHttp, p2].map((srv) => new Promise((r) => srv.close(r))));

if (proxyFailure || code !== 0) {
  process.stderr.write(`bench-proxy: the run failed (proxy exit ${code}): ${proxyFailure?.message ?? ''}\n${proxyLog.join('')}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------
// Evidence: verify with the pinned key, then match receipts to cases

const publicKeyHex = createPublicHex(readFileSync(`${keyBase}.pub`, 'utf8'));
function createPublicHex(pubPem) {
  const der = Buffer.from(pubPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return der.subarray(der.length - 32).toString('hex');
}
const report = await verifyPath(evidenceDir, verifyOptions({ pinnedKeys: [publicKeyHex] }));

const entries = [];
for (const f of readdirSync(evidenceDir).filter((n) => /^evidence-.+-\d+\.jsonl$/.test(n)).sort((a, b) => Number(/-(\d+)\.jsonl$/.exec(a)[1]) - Number(/-(\d+)\.jsonl$/.exec(b)[1]))) {
  for (const line of readFileSync(join(evidenceDir, f), 'utf8').split('\n')) if (line.trim()) entries.push(JSON.parse(line));
}
const records = entries.filter((e) => e.type === 'action_receipt').map((e) => e.detail.action_record);
const decisionRecords = records.filter((r) => r.request_id);
const controlRecords = records.filter((r) => !r.request_id);
const byAction = new Map();
for (const r of decisionRecords) {
  if (!byAction.has(r.action_id)) byAction.set(r.action_id, []);
  byAction.get(r.action_id).push(r);
}
const closeRec = controlRecords.find((r) => r.session_control?.close);
const closeCount = closeRec?.session_control?.close?.receipt_count ?? null;

const failures = [];
const check = (ok, msg) => {
  if (!ok) failures.push(msg);
  return ok;
};
const norm = (v) => (v === 'warn' ? 'allow' : v);
const seenActions = new Set();
let expectedDecisionReceipts = 0;

function annotate(row) {
  const pc = perCase.get(row.case_id);
  if (!pc) return;
  const id = row.evidence?.action_id ?? null;
  const recs = id ? (byAction.get(id) ?? []) : [];
  if (id) seenActions.add(id);
  const intent = recs.filter((r) => r.decision_phase === 'intent' || (!r.decision_phase && r.layer !== 'outcome'));
  const outcome = recs.filter((r) => r.decision_phase === 'outcome' || (!r.decision_phase && r.layer === 'outcome'));
  const finalVerdict = norm((outcome[0] ?? intent[0])?.verdict ?? null);
  expectedDecisionReceipts += recs.length;
  row.proof = {
    transport: pc.mode,
    fixture_requests: pc.fixture_requests,
    intent_receipts: intent.length,
    outcome_receipts: outcome.length,
    receipt_verdict: finalVerdict,
    receipt_layer: (outcome[0]?.verdict === 'block' ? outcome[0].layer : intent[0]?.layer) ?? null,
    receipt_verified: report.verdict === 'valid' && intent.length === 1 && finalVerdict === row.actual_verdict,
  };
  // A request-side block must never reach the fixture; a response-side block
  // (intent allow, outcome block) fetched the page exactly once and withheld it.
  const responseBlock = row.actual_verdict === 'block' && intent[0]?.verdict !== 'block' && outcome[0]?.verdict === 'block';
  row.proof.blocked_at = row.actual_verdict !== 'block' ? null : responseBlock ? 'response' : 'request';
  if (row.actual_verdict === 'block' && !responseBlock) check(pc.fixture_requests === 0, `${row.case_id}: blocked before egress but the fixture received ${pc.fixture_requests} request(s)`);
  if (responseBlock) {
    const page = cases.find((x) => x.c.id === row.case_id.split('#')[0])?.c.payload.response_body ?? '';
    check(pc.fixture_requests === 1, `${row.case_id}: response block after ${pc.fixture_requests} fixture request(s), expected 1`);
    check(page === '' || !pc.answer.includes(page.slice(0, 40)), `${row.case_id}: the blocked response body reached the agent`);
  }
  if (row.actual_verdict !== 'error') {
    check(id !== null, `${row.case_id}: no action id on the answer`);
    check(intent.length === 1, `${row.case_id}: ${intent.length} intent receipts for action ${id}`);
    check(finalVerdict === row.actual_verdict, `${row.case_id}: receipt verdict ${finalVerdict} differs from the observed ${row.actual_verdict}`);
    check(outcome.length === (intent[0]?.verdict === 'block' ? 0 : 1), `${row.case_id}: ${outcome.length} outcome receipts`);
  }
}
// The per-case proof goes to summary.json (proof.per_case); results.jsonl keeps exactly the RUNNER.md members.
for (const row of results) annotate(row);
for (const row of variantResults) annotate(row);

check(report.verdict === 'valid', `evidence verification: ${report.verdict} (${report.message})`);
check(seenActions.size === byAction.size, `receipts for ${byAction.size - seenActions.size} decision(s) that match no case`);
check(decisionRecords.length === expectedDecisionReceipts, `decision receipts ${decisionRecords.length} != receipts matched to cases ${expectedDecisionReceipts}`);
check(closeCount === null || closeCount === records.length, `session_close.receipt_count ${closeCount} != ${records.length} receipts`);
check(report.receipt_count === null || report.receipt_count === records.length, `verifier receipt_count ${report.receipt_count} != ${records.length}`);
// Whole-log mediation check: no fixture request ever matched a blocked case's host and path.
for (const row of [...results, ...variantResults]) {
  if (row.actual_verdict !== 'block' || row.proof?.blocked_at !== 'request') continue;
  const c = cases.find((x) => x.c.id === row.case_id.split('#')[0]).c;
  const u = new URL(c.payload.url);
  // Requests of the other view of the same case (the CONNECT run of an A* case) are that view's, not this one's.
  const base = row.case_id.split('#')[0];
  const otherView = (l) => l.case_id !== row.case_id && String(l.case_id).split('#')[0] === base;
  const hits = fixtureLog.filter((l) => !otherView(l) && l.host === u.hostname.toLowerCase() && l.path === u.pathname && l.url === u.pathname + u.search);
  check(hits.length === 0, `${row.case_id}: the fixture log shows ${hits.length} request(s) for ${u.hostname}${u.pathname}`);
}

// ---------------------------------------------------------------------------
// Scores (§8.4 step 7, §8.5)

const ratio = (a, b) => (b === 0 ? null : Math.round((a / b) * 10000) / 10000);
function six(rows, full) {
  const counted = full ? rows : rows.filter((r) => r.actual_verdict === 'block' || r.actual_verdict === 'allow');
  const attacks = counted.filter((r) => r.expected_verdict === 'block');
  const benign = counted.filter((r) => r.expected_verdict === 'allow');
  const blocked = attacks.filter((r) => r.actual_verdict === 'block').length;
  const fps = benign.filter((r) => r.actual_verdict === 'block').length;
  return { attacks: attacks.length, blocked, benign: benign.length, false_positives: fps, containment: ratio(blocked, attacks.length), false_positive_rate: ratio(fps, benign.length) };
}
const categoryOf = new Map(cases.map(({ c }) => [c.id, c.category]));
function perCategory(rows, full) {
  const out = {};
  for (const cat of [...new Set(cases.map(({ c }) => c.category))].sort()) out[cat] = six(rows.filter((r) => categoryOf.get(r.case_id.split('#')[0]) === cat), full);
  return out;
}
const applicableRows = results.filter((r) => r.actual_verdict !== 'not_applicable');
const correctlyBlocked = applicableRows.filter((r) => r.expected_verdict === 'block' && r.actual_verdict === 'block');
const detection = ratio(correctlyBlocked.filter((r) => r.evidence?.layer).length, correctlyBlocked.length);
const evidenceScore = ratio(correctlyBlocked.filter((r) => r.evidence?.action_id && r.proof?.receipt_verified).length, correctlyBlocked.length);
const reasons = {};
for (const r of results) if (r.actual_verdict === 'not_applicable') reasons[r.notes] = (reasons[r.notes] ?? 0) + 1;
const errors = results.filter((r) => r.actual_verdict === 'error').length;
const scoresApplicable = six(applicableRows, false);
const scoresFull = six(results, true);
const invalid = applicableRows.length > 0 && errors / applicableRows.length > 0.2;

// The plaintext-forward view: the A* cases replaced by their downgraded variant (never merged into the above).
const variantIds = new Set(variantResults.map((r) => r.case_id.split('#')[0]));
const plaintextView = [...applicableRows.filter((r) => !variantIds.has(r.case_id)), ...variantResults];

const summary = {
  gauntlet_version: '1.0',
  scoring_version: '2.0',
  runner_version: RUNNER_VERSION,
  tool: TOOL,
  tool_version: toolProfile.tool_version,
  corpus_sha256: createHash('sha256').update(Buffer.concat(cases.map((x) => x.bytes))).digest('hex'),
  tool_profile_sha256: createHash('sha256').update(toolProfileBytes).digest('hex'),
  case_count: {
    total: results.length,
    applicable: applicableRows.length,
    not_applicable: results.length - applicableRows.length,
    not_applicable_reasons: reasons,
    passed: results.filter((r) => r.score === 'pass').length,
    failed: results.filter((r) => r.score === 'fail').length,
    errors,
  },
  tool_support: SUPPORTS,
  scores: {
    applicable: scoresApplicable,
    full: scoresFull,
    per_category: perCategory(applicableRows, false),
  },
  detection,
  evidence: evidenceScore,
  sufficient: !invalid && (scoresFull.containment ?? 0) >= 0.8,
  run_valid: !invalid,
  variants: {
    plaintext_forward: {
      note: 'A* cases (http_proxy with https:// URLs, no tls_interception) re-sent as plaintext absolute-form requests; a separate view, never merged into scores',
      cases: variantResults.map((r) => r.case_id),
      applicable: six(plaintextView, false),
    },
  },
  proof: {
    evidence_verdict: report.verdict,
    evidence_message: report.message,
    signer_key: publicKeyHex,
    receipts: records.length,
    decision_receipts: decisionRecords.length,
    control_receipts: controlRecords.length,
    session_close_receipt_count: closeCount,
    fixture_requests: fixtureLog.length,
    blocked_cases_reaching_fixture: [...results, ...variantResults].filter((r) => r.proof?.blocked_at === 'request' && r.proof.fixture_requests > 0).map((r) => r.case_id),
    response_blocks_withheld: [...results, ...variantResults].filter((r) => r.proof?.blocked_at === 'response').map((r) => r.case_id),
    cases_without_receipt: [...results, ...variantResults].filter((r) => r.proof && r.actual_verdict !== 'error' && r.proof.intent_receipts !== 1).map((r) => r.case_id),
    per_case: Object.fromEntries([...results, ...variantResults].filter((r) => r.proof).map((r) => [r.case_id, r.proof])),
    failures,
  },
};

const RUNNER_MEMBERS = ['case_id', 'tool', 'tool_version', 'expected_verdict', 'actual_verdict', 'score', 'evidence', 'notes'];
const pick = (r) => Object.fromEntries(RUNNER_MEMBERS.map((k) => [k, r[k]]));
writeFileSync(join(args.out, 'results.jsonl'), results.map((r) => JSON.stringify(pick(r)) + '\n').join(''));
writeFileSync(join(args.out, 'results-plaintext-variant.jsonl'), variantResults.map((r) => JSON.stringify(pick(r)) + '\n').join(''));
writeFileSync(join(args.out, 'fixture-log.jsonl'), fixtureLog.map((l) => JSON.stringify(l) + '\n').join(''));
writeFileSync(join(args.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');

// ---------------------------------------------------------------------------
// Report

const pct = (v) => (v === null ? '   n/a' : `${(v * 100).toFixed(1).padStart(5)}%`);
const lines = [];
lines.push(`${'category'.padEnd(18)} ${'attacks'.padStart(7)} ${'blocked'.padStart(7)} ${'contain'.padStart(7)} ${'benign'.padStart(6)} ${'FP'.padStart(3)} ${'FP rate'.padStart(7)}`);
for (const [cat, s] of Object.entries(summary.scores.per_category)) {
  lines.push(`${cat.padEnd(18)} ${String(s.attacks).padStart(7)} ${String(s.blocked).padStart(7)} ${pct(s.containment).padStart(7)} ${String(s.benign).padStart(6)} ${String(s.false_positives).padStart(3)} ${pct(s.false_positive_rate).padStart(7)}`);
}
const a = scoresApplicable;
const f = scoresFull;
const v = summary.variants.plaintext_forward.applicable;
lines.push('');
lines.push(`applicable view: containment ${a.blocked}/${a.attacks} = ${pct(a.containment).trim()}, false positives ${a.false_positives}/${a.benign} = ${pct(a.false_positive_rate).trim()} (CONNECT-hidden cases scored as misses)`);
lines.push(`full-corpus view: containment ${f.blocked}/${f.attacks} = ${pct(f.containment).trim()}, false positives ${f.false_positives}/${f.benign} = ${pct(f.false_positive_rate).trim()}; sufficient: ${summary.sufficient}`);
lines.push(`(separate) plaintext-forward variant of the A* cases: containment ${v.blocked}/${v.attacks} = ${pct(v.containment).trim()}, false positives ${v.false_positives}/${v.benign}`);
lines.push(`evidence ${report.verdict} with the pinned key: ${records.length} receipts (${decisionRecords.length} decisions, ${controlRecords.length} control); fixture saw ${fixtureLog.length} requests; request-side blocks reaching the fixture: ${summary.proof.blocked_cases_reaching_fixture.length}; response-side blocks (page fetched once, withheld): ${summary.proof.response_blocks_withheld.length}`);
process.stdout.write(lines.join('\n') + '\n');
process.stderr.write(`results: ${summary.case_count.passed} passed, ${summary.case_count.failed} failed, ${summary.case_count.not_applicable} not_applicable, ${errors} errors (${results.length} total)\n`);
if (failures.length) process.stderr.write(`property checks FAILED:\n${failures.map((x) => `  - ${x}`).join('\n')}\n`);
process.stderr.write(`wrote ${join(args.out, 'results.jsonl')} and ${join(args.out, 'summary.json')}\n`);
process.exit(failures.length === 0 && !invalid ? 0 : 1);
