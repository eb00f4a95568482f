#!/usr/bin/env node
/**
 * End-to-end load figures for `egress-verify proxy` (spec proxy.md §9).
 *
 *   node scripts/bench-proxy-load.js [--requests N] [--concurrency C] [--phase-seconds S]
 *                                    [--keep] [--cpu-prof-dir DIR]   (DIR: a V8 CPU profile of the proxy child)
 *                                    [--proxy-node-flags "FLAGS"]    (Node/V8 flags for the proxy child, e.g. "--max-semi-space-size=4")
 *
 * Loopback only, bounded (each phase stops after N requests or its time cap,
 * whichever comes first). Three processes, none pinned to a core:
 *   - this one: the keep-alive load generator (node:http Agent, C concurrent);
 *   - a child running the fixture upstream (a small 200 text/plain answer);
 *   - a child running the real proxy from dist/ (runProxy with a throw-away key,
 *     a temp evidence dir, the built-in default policy plus testing overrides
 *     resolve_all_to + dial_override, so every forward GET lands on the fixture).
 * Phases (after a short warm-up): direct to the fixture, then through the
 * proxy (absolute-form forward GET, allowed), then a DLP-blocked URL through
 * the proxy, all at C concurrent; then direct and allowed at 1, 2, 4, 8
 * and 16 concurrent (1 = the unloaded per-request cost; the rest show
 * where queueing on the proxy's one event loop starts). The generator is a
 * lean raw-socket HTTP/1.1 client, so the proxy gets the CPU. Prints
 * req/s, receipts/s, latency percentiles and the added latency (proxy
 * percentile minus direct percentile), the proxy's CPU and peak RSS, then
 * verifies the evidence directory with the proxy key pinned and checks that
 * receipts equal decisions (2 per allowed request, 1 per blocked request,
 * 2 session control). Prints figures; never fails on timing. Exit 1 only
 * when a request failed or the evidence does not verify / count up.
 *
 * Modes (internal): --fixture-child, --proxy-child WORKDIR FIXTUREPORT.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os, { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), '..');
const dist = join(root, 'dist');
const argv = process.argv.slice(2);

// ---------------------------------------------------------------------------
// Child: fixture upstream

if (argv[0] === '--fixture-child') {
  const body = 'hello from the fixture\n';
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
  process.on('message', (m) => {
    if (m?.type === 'stop') {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------
// Child: the proxy (its own event loop)

else if (argv[0] === '--proxy-child') {
  const [, work, fixturePort] = argv;
  const { main } = await import(join(dist, 'cli', 'main.js'));
  const { runProxy } = await import(join(dist, 'cli', 'proxy-command.js'));
  const { createDecider } = await import(join(dist, 'proxy', 'decider.js'));
  const { writeFileSync } = await import('node:fs');
  const logs = [];
  const quiet = { stdout: () => undefined, stderr: (s) => void logs.push(s), color: false };
  const keyBase = join(work, 'proxy');
  if ((await main(['node', 'egress-verify', 'keygen', '--out', keyBase], quiet)) !== 0) {
    process.stderr.write(`keygen failed\n${logs.join('')}`);
    process.exit(1);
  }
  const out = [];
  await main(['node', 'egress-verify', 'proxy', '--print-default-policy'], { stdout: (s) => void out.push(s), stderr: () => undefined, color: false });
  const policy = JSON.parse(out.join(''));
  // The default policy, only with loopback testing overrides: every name resolves to a
  // TEST-NET public address (decided as external) and is dialled at the fixture.
  policy.testing = { resolve_all_to: '203.0.113.10', dial_override: `127.0.0.1:${fixturePort}`, tls_dial_override: null };
  const policyFile = join(work, 'policy.json');
  writeFileSync(policyFile, JSON.stringify(policy, null, 2) + '\n');
  const evidenceDir = join(work, 'evidence');
  let stopFn = null;
  process.on('message', (m) => {
    if (m?.type === 'stop') stopFn?.('graceful_shutdown');
    else if (m?.type === 'usage') process.send({ type: 'usage', cpu: process.cpuUsage(), rss: process.memoryUsage().rss, maxRssKiB: process.resourceUsage().maxRSS });
  });
  const code = await runProxy(
    { key: `${keyBase}.key`, listen: '127.0.0.1:0', evidenceDir, policy: policyFile, allowTestingOverrides: true, agent: 'bench-load' },
    [],
    quiet,
    {
      createDecider,
      handleSignals: false,
      onListening: ({ port, publicKeyHex, stop }) => {
        stopFn = stop;
        process.send({ type: 'listening', port, publicKeyHex, evidenceDir });
      },
    },
  );
  process.send({ type: 'closed', code, maxRssKiB: process.resourceUsage().maxRSS, cpu: process.cpuUsage(), log: code === 0 ? '' : logs.join('') }, () => process.exit(0));
}

// ---------------------------------------------------------------------------
// Parent: load generator, report, evidence check

else {
  const flag = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const N = Number(flag('--requests', '6000'));
  const C = Number(flag('--concurrency', '50'));
  const CAP_MS = Number(flag('--phase-seconds', '3.5')) * 1000;
  const keep = argv.includes('--keep');
  const WARMUP = 500;
  const SERIAL = 400;
  const SWEEP = [1, 2, 4, 8, 16];

  const work = mkdtempSync(join(tmpdir(), 'egress-verify-load-'));
  const children = [];
  const profDir = flag('--cpu-prof-dir', null);
  const startChild = (args, nodeArgs = []) => {
    const c = spawn(process.execPath, [...nodeArgs, self, ...args], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    const err = [];
    c.stderr.on('data', (d) => err.push(d));
    c.errText = () => Buffer.concat(err).toString('utf8');
    children.push(c);
    return c;
  };
  const nextMessage = (c, type) =>
    new Promise((ok, fail) => {
      const onMsg = (m) => {
        if (m?.type === type) {
          c.off('message', onMsg);
          c.off('exit', onExit);
          ok(m);
        }
      };
      const onExit = (code) => fail(new Error(`child exited (${code}) before "${type}": ${c.errText()}`));
      c.on('message', onMsg);
      c.once('exit', onExit);
    });
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (!keep) rmSync(work, { recursive: true, force: true });
  };
  // Hard bound: the whole run must end by itself.
  const watchdog = setTimeout(() => {
    process.stderr.write('bench-proxy-load: timed out\n');
    cleanup();
    process.exit(1);
  }, 60_000);
  watchdog.unref();

  try {
    const fixture = startChild(['--fixture-child']);
    const { port: fixturePort } = await nextMessage(fixture, 'listening');
    const proxyNodeFlags = (flag('--proxy-node-flags', '') ?? '').split(' ').filter(Boolean);
    const proxy = startChild(['--proxy-child', work, String(fixturePort)], [...proxyNodeFlags, ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(profDir)] : [])]);
    const { port: proxyPort, publicKeyHex, evidenceDir } = await nextMessage(proxy, 'listening');
    const usage = async () => {
      proxy.send({ type: 'usage' });
      return nextMessage(proxy, 'usage');
    };

    /**
     * C keep-alive connections, one request in flight on each, until n
     * requests are done or the cap elapses. A lean HTTP/1.1 client over raw
     * sockets (like wrk or hey): node:http's client costs more CPU than the
     * proxy's own work, and on a 2-core machine it would starve the proxy.
     */
    async function phase(n, target, expect, conc = C) {
      const lat = [];
      const problems = [];
      let issued = 0;
      let failed = 0;
      const note = (m) => {
        failed++;
        if (problems.length < 3) problems.push(m);
      };
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const worker = () =>
        new Promise((done) => {
          let sock = null;
          let buf = Buffer.alloc(0);
          let started = 0;
          let inflight = false;
          let want = null; // the response being read: status, decision, close, chunked, left
          const next = () => {
            if (issued >= n || performance.now() - t0 >= CAP_MS) {
              sock?.end();
              return done();
            }
            const i = issued++;
            if (!sock || sock.destroyed) connect();
            started = performance.now();
            want = null;
            inflight = true;
            sock.write(`GET ${target.path(i)} HTTP/1.1\r\nHost: ${target.host}\r\nConnection: keep-alive\r\n\r\n`);
          };
          const finish = () => {
            inflight = false;
            lat.push(performance.now() - started);
            if (want.status !== expect.status || (expect.decision && want.decision !== expect.decision)) {
              note(`status ${want.status} decision ${want.decision}`);
            }
            const close = want.close;
            want = null;
            if (close) sock.destroy();
            next();
          };
          const parse = () => {
            for (;;) {
              if (want === null) {
                const end = buf.indexOf('\r\n\r\n');
                if (end < 0) return;
                const head = buf.subarray(0, end).toString('latin1');
                buf = buf.subarray(end + 4);
                const status = Number(head.slice(9, 12));
                const h = (name) => {
                  const m = new RegExp(`\\r\\n${name}: *([^\\r]*)`, 'i').exec(head);
                  return m ? m[1] : undefined;
                };
                const te = h('transfer-encoding');
                want = { status, decision: h('x-egress-decision'), close: /close/i.test(h('connection') ?? ''), chunked: /chunked/i.test(te ?? ''), left: Number(h('content-length') ?? 0) };
              }
              if (want.chunked) {
                const eol = buf.indexOf('\r\n');
                if (eol < 0) return;
                const size = parseInt(buf.subarray(0, eol).toString('latin1'), 16);
                if (buf.length < eol + 2 + size + 2) return;
                buf = buf.subarray(eol + 2 + size + 2);
                if (size === 0) finish();
                continue;
              }
              if (buf.length < want.left) return;
              buf = buf.subarray(want.left);
              finish();
              if (want === null && buf.length === 0) return;
            }
          };
          const connect = () => {
            buf = Buffer.alloc(0);
            const s = net.connect({ host: '127.0.0.1', port: target.port });
            sock = s;
            s.setNoDelay(true);
            s.on('data', (d) => {
              buf = buf.length ? Buffer.concat([buf, d]) : d;
              parse();
            });
            s.on('error', (e) => note(e.message));
            s.on('close', () => {
              if (s !== sock || !inflight) return;
              inflight = false;
              note('connection closed mid-response');
              next();
            });
          };
          next();
        });
      await Promise.all(Array.from({ length: conc }, worker));
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      lat.sort((a, b) => a - b);
      const q = (p) => lat[Math.min(lat.length - 1, Math.max(0, Math.ceil((p / 100) * lat.length) - 1))];
      return { count: issued, done: lat.length, seconds, rps: lat.length / seconds, p50: q(50), p95: q(95), p99: q(99), max: lat[lat.length - 1], failed, problems, generatorCpu: ((cpu.user + cpu.system) / 1e6 / seconds) * 100 };
    }

    const FIXTURE_HOST = 'api.bench-fixture.example.com';
    const direct = { port: fixturePort, host: `127.0.0.1:${fixturePort}`, path: (i) => `/hello?i=${i}` };
    const forward = { port: proxyPort, host: FIXTURE_HOST, path: (i) => `http://${FIXTURE_HOST}/hello?i=${i}` };
    // A fake AWS access key id in the query: a URL DLP hit (critical), refused before egress.
    const dlp = { port: proxyPort, host: FIXTURE_HOST, path: (i) => `http://${FIXTURE_HOST}/upload?i=${i}&key=AKIAZ7Q3XK4M2P9LW5RT` };
    const allowExpect = { status: 200, decision: 'allow' };
    const blockExpect = { status: 403, decision: 'block' };

    // Warm-up (JIT, sockets), not reported; proxy warm-up requests are counted in the receipts.
    const wDirect = await phase(WARMUP, direct, { status: 200 });
    const wAllowed = await phase(WARMUP, forward, allowExpect);
    const wBlocked = await phase(WARMUP, dlp, blockExpect);

    const d = await phase(N, direct, { status: 200 });
    const u0 = await usage();
    const a = await phase(N, forward, allowExpect);
    const u1 = await usage();
    const b = await phase(N, dlp, blockExpect);
    const u2 = await usage();

    // Memory at 100 concurrent connections (spec §9's memory row).
    const wide = await phase(SERIAL * 3, forward, allowExpect, 100);
    const u3 = await usage();

    // Added latency against load: the same pair of phases at rising
    // concurrency (1 = unloaded, the per-request cost without queueing).
    const sweep = [];
    for (const conc of SWEEP) {
      const dc = await phase(SERIAL, direct, { status: 200 }, conc);
      const ac = await phase(SERIAL, forward, allowExpect, conc);
      sweep.push({ conc, d: dc, a: ac });
    }

    proxy.send({ type: 'stop' });
    const closed = await nextMessage(proxy, 'closed');
    fixture.send({ type: 'stop' });

    const { verifyPath } = await import(join(dist, 'verify', 'inputs.js'));
    const { verifyOptions } = await import(join(dist, 'verify', 'options.js'));
    const report = await verifyPath(evidenceDir, verifyOptions({ pinnedKeys: [publicKeyHex] }));

    const cpuPct = (x, y, secs) => ((y.cpu.user + y.cpu.system - x.cpu.user - x.cpu.system) / 1e6 / secs) * 100;
    const ms = (v) => `${v.toFixed(2)} ms`;
    const add = (p) => a[p] - d[p];
    const allowedTotal = wAllowed.done + a.done + wide.done + sweep.reduce((n, x) => n + x.a.done, 0);
    const blockedTotal = wBlocked.done + b.done;
    const expected = 2 * allowedTotal + blockedTotal + 2;
    const cpus = os.cpus();
    console.log('');
    console.log(`proxy load (loopback, ${C} concurrent keep-alive, default policy + testing overrides, receipts on, profile session):`);
    if (proxyNodeFlags.length) console.log(`  proxy started with: node ${proxyNodeFlags.join(' ')}`);
    console.log(`  machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, Node ${process.version}, ${os.platform()} ${os.release()}; generator, fixture and proxy in separate processes, not pinned`);
    console.log(`  direct to fixture:   ${d.done} req in ${d.seconds.toFixed(2)} s = ${Math.round(d.rps).toLocaleString('en-US')} req/s; latency p50 ${ms(d.p50)} p95 ${ms(d.p95)} p99 ${ms(d.p99)}`);
    console.log(`  allowed via proxy:   ${a.done} req in ${a.seconds.toFixed(2)} s = ${Math.round(a.rps).toLocaleString('en-US')} req/s (target ≥ 1,000), receipts/s ${Math.round(2 * a.rps).toLocaleString('en-US')} (target ≥ 2,000); latency p50 ${ms(a.p50)} p95 ${ms(a.p95)} p99 ${ms(a.p99)}`);
    console.log(`  added latency:       p50 ${ms(add('p50'))} (target ≤ 1.5 ms)  p95 ${ms(add('p95'))}  p99 ${ms(add('p99'))} (target ≤ 10 ms)`);
    console.log(`  DLP-blocked URL:     ${b.done} req in ${b.seconds.toFixed(2)} s = ${Math.round(b.rps).toLocaleString('en-US')} req/s (target ≥ 3,000), receipts/s ${Math.round(b.rps).toLocaleString('en-US')}; latency p50 ${ms(b.p50)} p95 ${ms(b.p95)} p99 ${ms(b.p99)}`);
    console.log(`  added latency by concurrency (${SERIAL} req each, direct then via proxy; target p50 ≤ 1.5 ms):`);
    for (const { conc, d: dc, a: ac } of sweep) {
      console.log(`    ${String(conc).padStart(2)} concurrent: via proxy ${Math.round(ac.rps).toLocaleString('en-US').padStart(5)} req/s; added p50 ${ms(ac.p50 - dc.p50)} p95 ${ms(ac.p95 - dc.p95)} p99 ${ms(ac.p99 - dc.p99)}`);
    }
    console.log(`  load generator CPU:  ${a.generatorCpu.toFixed(0)}% allowed phase, ${b.generatorCpu.toFixed(0)}% blocked phase (raw keep-alive sockets)`);
    console.log(`  proxy CPU:           ${cpuPct(u0, u1, a.seconds).toFixed(0)}% allowed phase, ${cpuPct(u1, u2, b.seconds).toFixed(0)}% blocked phase (100% = one core)`);
    console.log(`  proxy RSS:           peak ${(closed.maxRssKiB / 1024).toFixed(1)} MB (maxRSS), ${(u2.rss / 2 ** 20).toFixed(1)} MB after the 50-concurrent phases, ${(u3.rss / 2 ** 20).toFixed(1)} MB after ${wide.done} allowed at 100 concurrent (target ≤ 150 MB at 100 concurrent)`);
    const countOk = report.receipt_count === expected;
    console.log(`  evidence: ${report.verdict}${report.reason ? ` (${report.reason})` : ''} with the pinned key; ${report.receipt_count} receipts, expected ${expected} = 2 × ${allowedTotal} allowed + ${blockedTotal} blocked + 2 session control: ${countOk ? 'equal' : 'MISMATCH'}`);

    const failures = [];
    for (const [name, r] of [['direct', d], ['allowed', a], ['blocked', b], ['100-concurrent allowed', wide], ['warm-up direct', wDirect], ['warm-up allowed', wAllowed], ['warm-up blocked', wBlocked], ...sweep.flatMap((x) => [[`${x.conc}-concurrent direct`, x.d], [`${x.conc}-concurrent allowed`, x.a]])]) {
      if (r.failed) failures.push(`${name}: ${r.failed} requests failed or got an unexpected answer (${r.problems.join('; ')})`);
    }
    if (closed.code !== 0) failures.push(`proxy exited ${closed.code}: ${closed.log}`);
    if (report.verdict !== 'valid') failures.push(`evidence verdict ${report.verdict}`);
    if (!countOk) failures.push(`receipt count ${report.receipt_count} ≠ ${expected}`);
    if (failures.length) process.stderr.write(`bench-proxy-load: FAILED\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
    if (keep) console.log(`  kept: ${work}`);
    clearTimeout(watchdog);
    await Promise.race([Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null))), new Promise((r) => setTimeout(r, 3000))]);
    cleanup();
    process.exit(failures.length ? 1 : 0);
  } catch (e) {
    process.stderr.write(`bench-proxy-load: ${e.stack ?? e.message}\n`);
    for (const c of children) if (c.errText()) process.stderr.write(c.errText());
    cleanup();
    process.exit(1);
  }
}
