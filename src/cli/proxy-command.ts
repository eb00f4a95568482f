/**
 * `egress-verify proxy`: the reference enforcement proxy (spec/proxy.md §1,
 * §6.9, §6.10, §11 item 8). Startup: policy, policy hash, key, evidence
 * directory (fresh, or --resume), session_open, listener. Shutdown on
 * SIGINT/SIGTERM, --duration or the --exec agent exiting: drain, close the
 * flight recorder, and with --audit-packet write DIR, DIR.zip and
 * DIR.zip.sha256.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { KeyArgumentError, loadPrivateKey } from '../crypto/keys.js';
import { signerFrom, type Signer } from '../emit/receipt.js';
import { createDecider as realCreateDecider, type Pipeline, type CreateDeciderInput } from '../proxy/decider.js';
import { EvidenceDirError, EvidenceWriter, type CloseReason } from '../proxy/evidence.js';
import { defaultPolicyBytes, loadPolicy, PolicyError, type LoadedPolicy } from '../proxy/policy.js';
import { ProxyServer } from '../proxy/server.js';
import { EXIT } from '../report/reasons.js';
import { durationOption, UsageError, type Io } from './common.js';
import { defaultPosture, writeBundleDir, writePacket } from './emit-command.js';

export interface ProxyFlags {
  policy?: string;
  key?: string;
  evidenceDir?: string;
  listen: string;
  allowRemote?: boolean;
  agent?: string;
  auditPacket?: string;
  duration?: string;
  resume?: boolean;
  allowTestingOverrides?: boolean;
  exec?: boolean;
  printDefaultPolicy?: boolean;
}

/** Replaceable parts, for tests: the pipeline factory, signal handling, and a hook once the listener is up. */
export interface ProxyDeps {
  createDecider: (input: CreateDeciderInput) => Promise<Pipeline>;
  /** Install SIGINT/SIGTERM handlers (default true). */
  handleSignals: boolean;
  /** Called once the proxy listens; `stop` shuts it down with the given reason. */
  onListening?: (info: { host: string; port: number; publicKeyHex: string; policyHash: string; stop: (reason?: CloseReason) => void }) => void;
  /** Extra environment for the --exec agent (tests). */
  execEnv?: NodeJS.ProcessEnv;
}

const defaultDeps: ProxyDeps = { createDecider: realCreateDecider, handleSignals: true };

const HELP = `
How it works:
  Every outbound HTTP(S) request of the agent goes through this one listener. Each one
  is decided under the policy BEFORE anything leaves, and every decision becomes an
  Ed25519-signed, hash-chained receipt in the flight recorder (--evidence-dir), written
  before the first upstream byte. If the receipt cannot be written, the request is
  refused (503, layer receipt_unavailable). Blocked requests never reach the upstream.

  Agents reach the proxy three ways:
    HTTP_PROXY=http://127.0.0.1:8888     plain http:// URLs as absolute-form requests (scanned fully)
    HTTPS_PROXY=http://127.0.0.1:8888    https:// through CONNECT (host and port decided; encrypted body not scanned)
    GET /fetch?url=<form-encoded URL>     fetch mode: the response comes back wrapped in JSON
  GET /health returns status, mode, policy hash and public key (no receipt).

  Responses carry X-Egress-Decision (allow, block, warn, error), X-Egress-Layer,
  X-Egress-Action-Id (the receipt's action_id) and X-Egress-Reason.

  Everything that changes a decision lives in the policy file (receipt profile, testing
  overrides included); the flags only do plumbing. Without --policy the built-in
  balanced default applies (see --print-default-policy).

Examples:
  egress-verify keygen --out proxy                      create proxy.key / proxy.pub once
  egress-verify proxy --key proxy.key --evidence-dir ev/
  egress-verify proxy --key proxy.key --evidence-dir ev/ --agent ci-bot \\
      --audit-packet packet --exec -- npm test          run the agent under the proxy, pass its
                                                        exit code through, write packet/, packet.zip
                                                        and packet.zip.sha256 at exit
  egress-verify proxy --key proxy.key --evidence-dir ev/ --resume    continue the chain in ev/
  egress-verify proxy --print-default-policy > policy.json          start a policy of your own
  egress-verify ev/ --pubkey proxy.pub                  verify the evidence afterwards

Shutdown (SIGINT, SIGTERM, --duration, or the --exec agent exiting): in-flight requests get
up to 5 s, then session_close, the transcript root and a final checkpoint are written.
After a crash (kill -9) at most the last line is torn; --resume refuses to continue until
that file is moved aside.

Exit codes: 0 clean shutdown (with --exec: the agent's exit code), 2 could not start or
run (policy pipeline, key, evidence directory, listen address in use), 64 usage error
or invalid policy.`;

export function addProxyCommand(program: Command, io: Io, setExit: (code: number) => void, deps: Partial<ProxyDeps> = {}): void {
  program
    .command('proxy')
    .description('run the reference enforcement proxy: decide every agent request under a policy, sign a receipt for each decision')
    .option('--policy <FILE>', 'policy file (JSON, spec §4); default: the built-in balanced policy')
    .option('--key <NAME.key>', 'Ed25519 signing key (PKCS#8 PEM, from egress-verify keygen); required')
    .option('--evidence-dir <DIR>', 'flight-recorder directory; must be empty unless --resume; required')
    .option('--listen <HOST:PORT>', 'listen address (loopback unless --allow-remote)', '127.0.0.1:8888')
    .option('--allow-remote', 'permit a non-loopback --listen address')
    .option('--agent <NAME>', 'bind every request to this agent identity (X-Egress-Agent and ?agent= are then ignored)')
    .option('--audit-packet <DIR>', 'at exit, write the Audit Packet directory DIR, DIR.zip and DIR.zip.sha256')
    .option('--duration <SECONDS>', 'shut down after this long (90, 900s, 15m)')
    .option('--resume', 'continue the verified chain found in a non-empty --evidence-dir')
    .option('--allow-testing-overrides', "let the policy's testing block take effect (loopback only)")
    .option('--exec', 'run the command after -- as the agent, with HTTP_PROXY/HTTPS_PROXY pointing here')
    .option('--print-default-policy', "write the built-in default policy's canonical bytes to stdout and exit")
    .argument('[command...]', 'with --exec: the agent command and its arguments, after --')
    .addHelpText('after', HELP)
    .action(async (command: string[], flags: ProxyFlags) => setExit(await runProxy(flags, command, io, { ...defaultDeps, ...deps })));
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  return h === '::ffff:127.0.0.1';
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen ${JSON.stringify(text)}: expected HOST:PORT, e.g. 127.0.0.1:8888 (port 0 picks a free one)`);
  return { host: m[1]!, port };
}

async function isEmptyOrMissing(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    return st.isDirectory() && (await readdir(path)).length === 0;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function runProxy(flags: ProxyFlags, command: string[], io: Io, deps: ProxyDeps): Promise<number> {
  if (flags.printDefaultPolicy) {
    io.stdout(defaultPolicyBytes().toString('utf8'));
    return EXIT.valid;
  }
  // Flags first: nothing is started when the command line is wrong.
  if (!flags.key) throw new UsageError('--key NAME.key is required (create one with: egress-verify keygen --out NAME)');
  if (!flags.evidenceDir) throw new UsageError('--evidence-dir DIR is required (a fresh directory per run, or --resume)');
  if (flags.exec && command.length === 0) throw new UsageError('--exec needs the agent command after --, e.g. --exec -- npm test');
  if (!flags.exec && command.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(command[0])}; to run an agent under the proxy use --exec -- ${command.join(' ')}`);
  const listen = parseListen(flags.listen);
  const loopback = isLoopback(listen.host);
  if (!loopback && !flags.allowRemote) throw new UsageError(`--listen ${flags.listen} is not a loopback address; binding elsewhere needs --allow-remote`);
  const durationSeconds = durationOption('--duration', flags.duration);
  if (durationSeconds !== undefined && !(durationSeconds > 0)) throw new UsageError('--duration must be more than 0 seconds');
  if (flags.agent !== undefined && flags.agent.trim() === '') throw new UsageError('--agent must not be empty');
  if (flags.auditPacket) {
    if (!(await isEmptyOrMissing(flags.auditPacket))) throw new UsageError(`--audit-packet ${flags.auditPacket} exists and is not an empty directory`);
    for (const p of [`${flags.auditPacket}.zip`, `${flags.auditPacket}.zip.sha256`]) if (await exists(p)) throw new UsageError(`${p} already exists; choose another --audit-packet`);
  }

  // §6.9 startup: policy, policy hash, key, evidence directory, session_open, listener.
  let loaded: LoadedPolicy;
  try {
    loaded = loadPolicy(flags.policy, { allowTestingOverrides: Boolean(flags.allowTestingOverrides), listenIsLoopback: loopback });
  } catch (e) {
    if (e instanceof PolicyError) throw new UsageError(e.message);
    throw e;
  }
  let pipeline: Pipeline;
  try {
    pipeline = await deps.createDecider({ loaded, allowTestingOverrides: Boolean(flags.allowTestingOverrides), listenIsLoopback: loopback });
  } catch (e) {
    if (e instanceof PolicyError) throw new UsageError(e.message);
    io.stderr(`egress-verify proxy: ${(e as Error).message}\n`);
    return EXIT.error;
  }
  let signer: Signer;
  try {
    signer = signerFrom(await loadPrivateKey(flags.key, undefined, '--key'));
  } catch (e) {
    if (e instanceof KeyArgumentError) throw new UsageError(e.message);
    throw e;
  }
  const policy = loaded.policy;
  const r = policy.receipts;
  const log = (line: string) => io.stderr(`egress-verify proxy: ${line}\n`);
  let evidence: EvidenceWriter;
  try {
    evidence = await EvidenceWriter.open({
      dir: flags.evidenceDir,
      signer,
      policyHash: loaded.policyHash,
      profile: r.profile,
      principal: r.principal,
      durable: r.durable,
      heartbeatSeconds: r.heartbeat_seconds,
      checkpointInterval: r.checkpoint_interval,
      maxEntriesPerFile: r.max_entries_per_file,
      resume: Boolean(flags.resume),
      log,
    });
  } catch (e) {
    if (e instanceof EvidenceDirError) {
      io.stderr(`egress-verify proxy: ${e.message}\n`);
      return EXIT.error;
    }
    throw e;
  }
  if (evidence.resumed) log(`resuming recorder session ${evidence.resumed.sessionId}: ${evidence.resumed.receiptCount} receipts verified, continuing after chain_seq ${evidence.resumed.lastChainSeq}`);

  const server = new ProxyServer({
    decider: pipeline.decider,
    evidence,
    host: listen.host,
    port: listen.port,
    agent: flags.agent ?? null,
    mode: policy.mode,
    require: r.require,
    maxResponseBytes: policy.limits.max_response_bytes,
    responseScan: policy.response.scan,
    ...(pipeline.sanitizeTarget ? { sanitizeTarget: pipeline.sanitizeTarget } : {}),
    ...(pipeline.sanitizeReason ? { sanitizeReason: pipeline.sanitizeReason } : {}),
    log,
  });
  const startedAt = new Date();
  let bound: { host: string; port: number };
  try {
    bound = await server.listen();
  } catch (e) {
    io.stderr(`egress-verify proxy: cannot listen on ${flags.listen}: ${(e as Error).message}\n`);
    await server.close();
    evidence.close('graceful_shutdown');
    return EXIT.error;
  }
  const hostText = bound.host.includes(':') ? `[${bound.host}]` : bound.host;
  const proxyUrl = `http://${hostText}:${bound.port}`;
  if (!loopback) log(`WARNING: listening on a non-loopback address (${flags.listen}); anyone who can reach it can use this proxy`);
  log(`listening on ${proxyUrl} (profile ${evidence.profile}, mode ${policy.mode})`);
  log(`public key ${signer.publicKeyHex}`);
  log(`policy ${loaded.source} sha256 ${loaded.policyHash}`);
  log(`evidence ${flags.evidenceDir}`);

  // Run until a stop reason arrives.
  let stopReason: CloseReason | null = null;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (reason: CloseReason = 'graceful_shutdown') => {
    if (stopReason) return;
    stopReason = reason;
    wake();
  };
  let child: ChildProcess | null = null;
  let agentExit: number | null = null;
  let childExited: Promise<void> = Promise.resolve();
  const onSignal = (sig: NodeJS.Signals) => {
    log(`${sig} received, shutting down`);
    if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
    stop('signal');
  };
  if (deps.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  const timer = durationSeconds !== undefined ? setTimeout(() => stop('duration_elapsed'), durationSeconds * 1000) : null;
  if (flags.exec) {
    const env = { ...process.env, ...(deps.execEnv ?? {}), HTTP_PROXY: proxyUrl, HTTPS_PROXY: proxyUrl, http_proxy: proxyUrl, https_proxy: proxyUrl };
    log(`running the agent: ${command.join(' ')}`);
    childExited = new Promise<void>((resolve) => {
      const c = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
      child = c;
      c.on('error', (e) => {
        log(`cannot run the agent: ${e.message}`);
        agentExit = 127;
        stop('agent_exited');
        resolve();
      });
      c.on('exit', (code, signal) => {
        agentExit = code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1);
        log(`the agent exited with code ${agentExit}`);
        stop('agent_exited');
        resolve();
      });
    });
  }
  deps.onListening?.({ ...bound, publicKeyHex: signer.publicKeyHex, policyHash: loaded.policyHash, stop });
  await stopped;

  // §6.9 shutdown.
  if (timer) clearTimeout(timer);
  await server.close();
  const summary = evidence.close(stopReason ?? 'graceful_shutdown');
  log(`closed (${summary.reason}): ${summary.receiptCount} receipts, root ${summary.rootHash}`);
  if (flags.exec) {
    // A signal was forwarded to the agent: give it a moment to exit so its code can be passed on.
    await Promise.race([childExited, new Promise((res) => setTimeout(res, 5000).unref())]);
  }
  if (deps.handleSignals) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  let code: number = flags.exec ? (agentExit ?? 1) : EXIT.valid;
  if (flags.auditPacket) {
    try {
      await writeAuditPacket(flags.auditPacket, summary.files, {
        publicKeyHex: signer.publicKeyHex,
        agent: flags.agent ?? 'anonymous',
        startedAt,
        completedAt: new Date(),
        exitCode: flags.exec ? (agentExit ?? undefined) : undefined,
        exec: Boolean(flags.exec),
        proxyUrl,
        policyHash: loaded.policyHash,
        policyPath: flags.policy,
      });
      log(`wrote ${flags.auditPacket}/, ${flags.auditPacket}.zip and ${flags.auditPacket}.zip.sha256`);
    } catch (e) {
      io.stderr(`egress-verify proxy: cannot write the Audit Packet: ${(e as Error).message}\n`);
      if (code === EXIT.valid) code = EXIT.error;
    }
  }
  return code;
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13, SIGABRT: 6, SIGSEGV: 11 };
  return table[sig];
}

export interface PacketFacts {
  publicKeyHex: string;
  agent: string;
  startedAt: Date;
  completedAt: Date;
  exitCode: number | undefined;
  exec: boolean;
  proxyUrl: string;
  policyHash: string;
  policyPath: string | undefined;
}

/**
 * §6.10: evidence.jsonl is the recorder session's files concatenated byte
 * for byte in seq order (earlier runs' files too after --resume), verified
 * under the proxy's own key; then DIR.zip and DIR.zip.sha256.
 */
export async function writeAuditPacket(dir: string, files: string[], f: PacketFacts): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'egress-verify-packet-'));
  try {
    const evidencePath = join(tmp, 'evidence.jsonl');
    const parts: Buffer[] = [];
    for (const file of files) parts.push(await readFile(file));
    await writeFile(evidencePath, Buffer.concat(parts), { mode: 0o600 });
    const posture = {
      ...defaultPosture('proxy_only'),
      browser_proxy_status: f.exec ? ('advisory' as const) : ('unknown' as const),
      unsupported_paths: ['websocket', 'connect-body-inspection', 'non-http-egress', 'udp'],
      proxy_url: f.proxyUrl,
    };
    await writePacket({
      evidencePath,
      outDir: dir,
      pinnedKeys: [f.publicKeyHex],
      run: {
        provider: 'local',
        agent_identity: f.agent,
        started_at: isoSeconds(f.startedAt),
        completed_at: isoSeconds(f.completedAt),
        ...(f.exitCode !== undefined ? { agent_exit_code: f.exitCode } : {}),
      },
      posture,
      redactDomains: false,
      force: false,
      generatedAt: f.completedAt,
      ...(f.policyPath ? { configPath: f.policyPath } : {}),
      configSnapshotSha256: f.policyHash,
    });
    const zipPath = `${dir}.zip`;
    await writeBundleDir(dir, zipPath);
    const digest = createHash('sha256').update(await readFile(zipPath)).digest('hex');
    await writeFile(`${zipPath}.sha256`, `${digest}  ${basename(zipPath)}\n`, { flag: 'wx' });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
