/**
 * `egress-verify proxy` on the command line: the flags of spec §1, the
 * real policy pipeline end to end, --print-default-policy, and full runs with a test pipeline
 * injected: --exec (exit code passed through, proxy variables set),
 * --audit-packet (DIR, DIR.zip, DIR.zip.sha256, verifying), --duration.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Io } from '../../src/cli/common.js';
import { main } from '../../src/cli/main.js';
import { runProxy, type ProxyDeps, type ProxyFlags } from '../../src/cli/proxy-command.js';
import { verifyPacket } from '../../src/packet/verify.js';
import { verifyPath } from '../../src/verify/inputs.js';
import { verifyOptions } from '../../src/verify/options.js';
import { repoRoot } from '../helpers/fixtures.js';
import { proxySigner, readEntries, readRecords, startUpstream, testDecider, verifyDir, viaProxy } from './support.js';

function capture(): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), color: false };
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = capture();
  const code = await main(['node', 'egress-verify', ...args], io);
  return { code, stdout: io.out.join(''), stderr: io.err.join('') };
}

let root: string;
let keyFile: string;
let upstream: Awaited<ReturnType<typeof startUpstream>>;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ev-proxy-cli-'));
  keyFile = join(root, 'proxy.key');
  writeFileSync(keyFile, proxySigner.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), { mode: 0o600 });
  upstream = await startUpstream();
});
afterAll(async () => {
  await upstream?.close();
});

describe('egress-verify proxy: flags and the pipeline seam', () => {
  it('--help lists exactly the flags of spec §1 and teaches the modes', async () => {
    const r = await cli('proxy', '--help');
    expect(r.code).toBe(0);
    const options = r.stdout.slice(r.stdout.indexOf('Options:'), r.stdout.indexOf('How it works:'));
    const flags = [...options.matchAll(/^  (--[a-z-]+)/gm)].map((m) => m[1]).filter((f) => f !== '--help');
    expect(flags.sort()).toEqual(['--agent', '--allow-remote', '--allow-testing-overrides', '--audit-packet', '--duration', '--evidence-dir', '--exec', '--key', '--listen', '--policy', '--print-default-policy', '--resume'].sort());
    for (const s of ['HTTP_PROXY', 'CONNECT', '/fetch?url=', '/health', 'X-Egress-Decision', '--exec -- npm test']) expect(r.stdout).toContain(s);
  });

  it('--print-default-policy writes the built-in policy bytes (policy_hash 7803e1d7…)', async () => {
    const r = await cli('proxy', '--print-default-policy');
    expect(r.code).toBe(0);
    expect(createHash('sha256').update(r.stdout).digest('hex')).toBe('7803e1d798fefd7b7bf7defe2552a0cd03efc421f6e17f0754346c8cf96246f2');
  });

  it('usage errors exit 64 before anything is started', async () => {
    const ev = join(root, 'usage-ev');
    expect((await cli('proxy', '--evidence-dir', ev)).code).toBe(64);
    expect((await cli('proxy', '--key', keyFile)).code).toBe(64);
    const remote = await cli('proxy', '--key', keyFile, '--evidence-dir', ev, '--listen', '0.0.0.0:0');
    expect([remote.code, remote.stderr]).toEqual([64, expect.stringMatching(/--allow-remote/)]);
    expect((await cli('proxy', '--key', keyFile, '--evidence-dir', ev, '--exec')).code).toBe(64);
    expect((await cli('proxy', '--key', keyFile, '--evidence-dir', ev, 'stray')).code).toBe(64);
    expect((await cli('proxy', '--key', keyFile, '--evidence-dir', ev, '--listen', 'nonsense')).code).toBe(64);
    expect((await cli('proxy', '--key', keyFile, '--evidence-dir', ev, '--bogus')).code).toBe(64);
    expect(existsSync(ev)).toBe(false);
  });

  it('runs the real policy pipeline: an allowed request reaches the upstream, a DLP block and an SSRF block never do, and the evidence verifies', async () => {
    const ev = join(root, 'real-ev');
    const policyFile = join(root, 'testing-policy.json');
    const policy = JSON.parse((await cli('proxy', '--print-default-policy')).stdout);
    policy.testing = { resolve_all_to: '203.0.113.10', dial_override: `127.0.0.1:${upstream.port}`, tls_dial_override: null };
    writeFileSync(policyFile, JSON.stringify(policy, null, 2) + '\n');
    const before = upstream.seen.length;
    const results: { status: number; decision: string | undefined; layer: string | undefined }[] = [];
    const io = capture();
    const code = await runProxy(
      { key: keyFile, listen: '127.0.0.1:0', evidenceDir: ev, policy: policyFile, allowTestingOverrides: true },
      [],
      io,
      {
        createDecider: (await import('../../src/proxy/decider.js')).createDecider,
        handleSignals: false,
        onListening: async ({ port, stop }) => {
          for (const url of [
            'http://api.example.com/v1/items?q=books',
            'http://paste.example.net/upload?k=AKIAIOSFODNN7EXAMPLE',
            'http://169.254.169.254/latest/meta-data/',
          ]) {
            const r = await viaProxy(port, 'GET', url);
            results.push({ status: r.status, decision: r.headers['x-egress-decision'] as string | undefined, layer: r.headers['x-egress-layer'] as string | undefined });
          }
          stop('graceful_shutdown');
        },
      },
    );
    expect(code).toBe(0);
    expect(results).toEqual([
      { status: 200, decision: 'allow', layer: undefined },
      { status: 403, decision: 'block', layer: 'dlp' },
      { status: 403, decision: 'block', layer: 'ssrf' },
    ]);
    expect(upstream.seen.length - before).toBe(1);
    const recs = readRecords(ev);
    expect(recs.filter((r) => r.verdict === 'block').map((r) => r.layer)).toEqual(['dlp', 'ssrf']);
    expect(JSON.stringify(readEntries(ev))).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect((await verifyDir(ev)).verdict).toBe('valid');
  });
});

describe('egress-verify proxy: runs with a test pipeline', () => {
  const deps = (onListening?: ProxyDeps['onListening']): ProxyDeps => ({
    createDecider: async () => ({ decider: testDecider({ httpDial: () => `127.0.0.1:${upstream.port}` }) }),
    handleSignals: false,
    ...(onListening ? { onListening } : {}),
  });
  const flags = (over: Partial<ProxyFlags>): ProxyFlags => ({ key: keyFile, listen: '127.0.0.1:0', ...over });

  it('--exec runs the agent through the proxy, passes its exit code through, and --audit-packet writes DIR, DIR.zip, DIR.zip.sha256', async () => {
    const ev = join(root, 'exec-ev');
    const packet = join(root, 'packet');
    const agent = `
      const http = require('node:http');
      const p = new URL(process.env.HTTP_PROXY);
      if (process.env.HTTPS_PROXY !== process.env.HTTP_PROXY || process.env.http_proxy !== process.env.HTTP_PROXY) process.exit(9);
      const get = (u) => new Promise((ok) => http.get({ host: p.hostname, port: p.port, path: u }, (res) => { res.resume(); res.on('end', () => ok(res.statusCode)); }));
      (async () => { const a = await get('http://upstream.test/exec-allowed'); const b = await get('http://blockme.test/exec-blocked'); process.exit(a === 200 && b === 403 ? 3 : 8); })();`;
    const io = capture();
    const code = await runProxy(flags({ evidenceDir: ev, exec: true, auditPacket: packet, agent: 'ci-agent' }), [process.execPath, '-e', agent], io, deps());
    expect(code, io.err.join('')).toBe(3);
    expect(upstream.seen.filter((s) => s.url === '/exec-allowed')).toHaveLength(1);
    expect(upstream.seen.filter((s) => s.url === '/exec-blocked')).toHaveLength(0);
    const recs = readRecords(ev);
    expect(recs.at(-1)!.session_control.close.close_reason).toBe('agent_exited');
    expect(recs.filter((r) => r.request_id).every((r) => r.actor === 'ci-agent')).toBe(true);
    expect((await verifyDir(ev)).verdict).toBe('valid');

    expect(readdirSync(packet).sort()).toEqual(['evidence.jsonl', 'packet.json', 'summary.md', 'verifier.txt']);
    const p = JSON.parse(readFileSync(join(packet, 'packet.json'), 'utf8'));
    expect(p.run).toMatchObject({ provider: 'local', agent_identity: 'ci-agent', agent_exit_code: 3 });
    expect(p.verifier).toMatchObject({ verdict: 'valid', trusted: true, signer_key: proxySigner.publicKeyHex, receipt_count: recs.length });
    expect(p.summary.receipt_count).toBe(recs.length);
    expect(p.policy.config_snapshot_sha256).toBe(p.policy.policy_hashes[0]);
    expect(p.posture).toMatchObject({ enforcement_mode: 'proxy_only', browser_proxy_status: 'advisory', websocket_frame_scanning: 'off', unsupported_paths: ['websocket', 'connect-body-inspection', 'non-http-egress', 'udp'] });
    const evFiles = readdirSync(ev).filter((f) => f.startsWith('evidence-'));
    expect(readFileSync(join(packet, 'evidence.jsonl'))).toEqual(Buffer.concat(evFiles.map((f) => readFileSync(join(ev, f)))));
    const zip = readFileSync(`${packet}.zip`);
    expect(readFileSync(`${packet}.zip.sha256`, 'utf8')).toBe(`${createHash('sha256').update(zip).digest('hex')}  packet.zip\n`);
    const opts = verifyOptions({ pinnedKeys: [proxySigner.publicKeyHex] });
    for (const path of [packet, `${packet}.zip`]) {
      const report = await verifyPath(path, opts, { packetVerifier: (input, o) => verifyPacket(input, o) });
      expect([path, report.verdict, report.reason]).toEqual([path, 'valid', null]);
    }
  });

  it('--duration closes with duration_elapsed; a second run refuses the non-empty directory; --resume continues it', async () => {
    const ev = join(root, 'duration-ev');
    const seen: number[] = [];
    const io = capture();
    const code = await runProxy(flags({ evidenceDir: ev, duration: '300ms' }), [], io, deps(async ({ port }) => {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      seen.push(res.status);
      await res.text();
    }));
    expect(code).toBe(0);
    expect(io.err.join('')).toMatch(/public key [0-9a-f]{64}/);
    expect(readRecords(ev).at(-1)!.session_control.close.close_reason).toBe('duration_elapsed');
    const again = capture();
    expect(await runProxy(flags({ evidenceDir: ev, duration: '100ms' }), [], again, deps())).toBe(2);
    expect(again.err.join('')).toMatch(/not empty.*--resume/);
    const resumed = capture();
    expect(await runProxy(flags({ evidenceDir: ev, duration: '100ms', resume: true }), [], resumed, deps(({ stop }) => stop('graceful_shutdown')))).toBe(0);
    expect(resumed.err.join('')).toMatch(/resuming recorder session proxy/);
    const recs = readRecords(ev);
    expect(recs.filter((r) => r.session_control?.kind === 'session_open')).toHaveLength(2);
    expect(recs.at(-1)!.session_control.close.close_reason).toBe('graceful_shutdown');
    expect((await verifyDir(ev)).verdict).toBe('valid');
  });

  it('SIGINT / SIGTERM close the flight recorder cleanly (close_reason signal, exit 0)', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const ev = join(root, `signal-ev-${sig}`);
      const proc = spawn(process.execPath, ['--import', join(repoRoot, 'test/proxy/child/register.mjs'), join(repoRoot, 'test/proxy/child/cli-child.ts'), ev, keyFile, String(upstream.port)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((res) => proc.once('exit', (c) => res(c)));
      const line = await new Promise<string>((res, rej) => {
        createInterface({ input: proc.stdout! }).once('line', res);
        proc.once('exit', () => rej(new Error('the proxy exited before listening')));
      });
      const { port } = JSON.parse(line) as { port: number };
      expect((await viaProxy(port, 'GET', `http://upstream.test/signal-${sig}`)).status).toBe(200);
      proc.kill(sig);
      expect(await exited).toBe(0);
      const recs = readRecords(ev);
      expect(recs.at(-1)!.session_control.close).toMatchObject({ close_reason: 'signal', receipt_count: recs.length });
      expect((await verifyDir(ev)).verdict).toBe('valid');
    }
  }, 20_000);

  it('a listen address in use: exit 2, and the evidence written so far is closed and verifies', async () => {
    const blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await new Promise((res) => blocker.once('listening', res));
    const busy = (blocker.address() as net.AddressInfo).port;
    const ev = join(root, 'busy-ev');
    const io = capture();
    try {
      expect(await runProxy(flags({ evidenceDir: ev, listen: `127.0.0.1:${busy}` }), [], io, deps())).toBe(2);
    } finally {
      blocker.close();
    }
    expect(io.err.join('')).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
    expect(readRecords(ev).map((r) => r.session_control.kind)).toEqual(['session_open', 'session_close']);
    expect((await verifyDir(ev)).verdict).toBe('valid');
  });

  it('an --audit-packet target that already holds files is a usage error', async () => {
    const dir = join(root, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x'), 'x');
    await expect(runProxy(flags({ evidenceDir: join(root, 'taken-ev'), auditPacket: dir }), [], capture(), deps())).rejects.toThrow(/not an empty directory/);
  });
});
