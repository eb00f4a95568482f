/**
 * `egress-verify emit …`: sign receipts and chains, assemble Audit Packets,
 * pack bundles. Outputs are written through temporary files and renamed into
 * place, and never replace an existing file unless --force is given.
 */
import { createReadStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { arch, type as osType } from 'node:os';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { KeyArgumentError, loadPrivateKey } from '../crypto/keys.js';
import { RecorderChainWriter, type Decision } from '../emit/chain.js';
import { buildPacket, type PostureClaims, type RunClaims } from '../emit/packet.js';
import { EmitError, recordValueOf, signActionRecord, signerFrom, type ActionRecordInput, type Signer } from '../emit/receipt.js';
import { writeBundleZip } from '../emit/zip.js';
import { readLines, isBlank } from '../io/lines.js';
import { JObj, parseJsonBytes } from '../json/strict.js';
import { EXIT } from '../report/reasons.js';
import { goTimestamp, parseGoTime } from '../receipt/time.js';
import { verifyOptions } from '../verify/options.js';
import { collect, pinnedKeysFrom, UsageError, type Io } from './common.js';
import { renderReport } from './render.js';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes next to the target and renames: a crash never leaves half a file under the real name. */
async function writeAtomic(path: string, data: string | Buffer, force: boolean): Promise<void> {
  if (!force && (await exists(path))) throw new UsageError(`${path} already exists (use --force to replace it)`);
  const tmp = `${path}.partial-${process.pid}`;
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function signerFromKey(path: string | undefined): Promise<Signer> {
  if (!path) throw new UsageError('--key NAME.key is required (create one with: egress-verify keygen --out NAME)');
  try {
    return signerFrom(await loadPrivateKey(path, undefined, '--key'));
  } catch (e) {
    if (e instanceof KeyArgumentError) throw new UsageError(e.message);
    throw e;
  }
}

async function readInput(path: string): Promise<Buffer> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
  return readFile(path);
}

function asRecord(bytes: Buffer, what: string): ActionRecordInput {
  const p = parseJsonBytes(bytes);
  if (!p.ok) throw new UsageError(`${what}: ${p.error.message}`);
  if (!(p.value instanceof JObj)) throw new UsageError(`${what}: expected a JSON object`);
  return recordValueOf(p.value) as ActionRecordInput;
}

/** A decision's side effect and reversibility follow its action type unless it says otherwise. */
function withEffectDefaults(d: Decision): Decision {
  const write = d.action_type === 'write';
  const read = d.action_type === 'read';
  return {
    side_effect_class: write ? 'external_write' : read ? 'external_read' : 'none',
    reversibility: write ? 'compensatable' : read ? 'full' : 'unknown',
    ...d,
  };
}

/** A clock that hands out Go-rendered UTC times from `start` (nanoseconds kept), `stepMs` apart. */
function clockFrom(start: string | undefined, stepMs: number): () => string {
  const t0 = start ? parseGoTime(start) : null;
  if (start && !t0) throw new UsageError(`--start ${JSON.stringify(start)}: expected an RFC 3339 time`);
  const now = Date.now();
  let ns = t0 ? BigInt(t0.epochSeconds) * 1_000_000_000n + BigInt(t0.nanos) : BigInt(now) * 1_000_000n;
  let first = true;
  return () => {
    if (!first) ns += BigInt(stepMs) * 1_000_000n;
    first = false;
    return goTimestampNanos(ns);
  };
}

/** Go's UTC rendering of an instant given in nanoseconds since the epoch. */
function goTimestampNanos(ns: bigint): string {
  const sec = ns / 1_000_000_000n - (ns % 1_000_000_000n < 0n ? 1n : 0n);
  const frac = ns - sec * 1_000_000_000n;
  const base = goTimestamp(new Date(Number(sec) * 1000)).replace(/Z$/, '');
  const digits = frac.toString().padStart(9, '0').replace(/0+$/, '');
  return base + (digits ? '.' + digits : '') + 'Z';
}

export function addEmitCommands(program: Command, io: Io, setExit: (code: number) => void): void {
  const emit = program.command('emit').description('sign receipts and chains, assemble Audit Packets and bundle zips');

  emit
    .command('receipt')
    .description('sign one ActionRecord (a JSON object) and print the receipt')
    .requiredOption('--key <NAME.key>', 'Ed25519 private key (PKCS#8 PEM, from keygen)')
    .option('--in <FILE>', 'the ActionRecord JSON ("-" for standard input)', '-')
    .option('--out <FILE>', 'write the receipt here instead of standard output')
    .option('--force', 'replace --out if it exists')
    .addHelpText('after', '\nThe record must carry every non-omitempty ActionRecord member (receipts-v1 §3.1); chain_prev_hash "genesis" and chain_seq 0 make a standalone receipt.\nExample:\n  egress-verify emit receipt --key signer.key --in record.json --out receipt.json')
    .action(async (f: { key: string; in: string; out?: string; force?: boolean }) => {
      const signer = await signerFromKey(f.key);
      const record = asRecord(await readInput(f.in), f.in === '-' ? 'standard input' : f.in);
      const r = sign(record, signer);
      if (f.out) await writeAtomic(f.out, r.json + '\n', Boolean(f.force));
      else io.stdout(r.json + '\n');
      io.stderr(`receipt hash ${r.hash}\n`);
      setExit(EXIT.valid);
    });

  emit
    .command('chain')
    .description('sign a JSONL of decisions as a receipt chain: flight-recorder entries (default) or bare receipts')
    .requiredOption('--key <NAME.key>', 'Ed25519 private key (PKCS#8 PEM)')
    .requiredOption('--in <FILE>', 'decisions, one JSON object per line: action_type, target, verdict, transport, and any other ActionRecord member ("-" for standard input)')
    .requiredOption('--out <PATH>', 'output file; with --max-entries-per-file, a directory for evidence-<session>-<seq>.jsonl files')
    .option('--format <FORMAT>', 'recorder (flight-recorder JSONL) or bare (one receipt per line)', 'recorder')
    .option('--profile <PROFILE>', 'session (g1 genesis, session_open … session_close, run_nonce on every receipt) or legacy ("genesis", no run)', 'session')
    .option('--session-id <ID>', 'recorder session id', 'proxy')
    .option('--checkpoint-every <N>', 'signed checkpoint every N entries (0 = none)', '1000')
    .option('--max-entries-per-file <N>', 'rotate to a new file after N entries (recorder format)')
    .option('--start <TIME>', 'timestamp of the first record (RFC 3339; default: now); records without a timestamp follow at --step-ms')
    .option('--step-ms <MS>', 'milliseconds between records without their own timestamp', '1000')
    .option('--force', 'replace existing output')
    .addHelpText('after', '\nExample:\n  egress-verify emit chain --key signer.key --in decisions.jsonl --out evidence.jsonl\n  egress-verify emit chain --key signer.key --in decisions.jsonl --out evidence/ --max-entries-per-file 10000')
    .action(async (f: { key: string; in: string; out: string; format: string; profile: string; sessionId: string; checkpointEvery: string; maxEntriesPerFile?: string; start?: string; stepMs: string; force?: boolean }) => {
      if (f.format !== 'recorder' && f.format !== 'bare') throw new UsageError(`--format ${f.format}: expected recorder or bare`);
      if (f.profile !== 'session' && f.profile !== 'legacy') throw new UsageError(`--profile ${f.profile}: expected session or legacy`);
      const every = wholeNumber('--checkpoint-every', f.checkpointEvery);
      const step = wholeNumber('--step-ms', f.stepMs);
      const perFile = f.maxEntriesPerFile === undefined ? 0 : wholeNumber('--max-entries-per-file', f.maxEntriesPerFile);
      if (perFile > 0 && f.format !== 'recorder') throw new UsageError('--max-entries-per-file applies to the recorder format only');
      if (/[/\\]/.test(f.sessionId) || f.sessionId === '') throw new UsageError('--session-id must be non-empty and contain no / or \\');
      const signer = await signerFromKey(f.key);
      const writer = new RecorderChainWriter(signer, {
        clock: clockFrom(f.start, step),
        profile: f.profile,
        format: f.format,
        sessionId: f.sessionId,
        checkpointInterval: f.format === 'recorder' ? every : 0,
      });
      const lines: string[] = [...writer.open()];
      const source = f.in === '-' ? process.stdin : createReadStream(f.in);
      for await (const line of readLines(source as AsyncIterable<Buffer>)) {
        if (line.bytes === null) throw new UsageError(`${f.in} line ${line.lineNo}: longer than 1 MiB`);
        if (isBlank(line.bytes)) continue;
        const d = asRecord(line.bytes, `${f.in} line ${line.lineNo}`) as Decision;
        try {
          lines.push(...writer.record(withEffectDefaults(d)));
        } catch (e) {
          if (e instanceof EmitError) throw new UsageError(`${f.in} line ${line.lineNo}: ${e.message}`);
          throw e;
        }
      }
      lines.push(...writer.close());
      if (writer.count === 0) throw new UsageError(`${f.in}: no decisions: a ${f.profile} chain needs at least one receipt`);
      const force = Boolean(f.force);
      if (perFile > 0) {
        await mkdir(f.out, { recursive: true });
        const names: string[] = [];
        for (let i = 0; i < lines.length; i += perFile) names.push(`evidence-${f.sessionId}-${i}.jsonl`);
        // All or nothing: check every target before writing any, and with
        // --force remove this session's files that the new run does not write.
        const existing = (await readdir(f.out)).filter((n) => n.startsWith(`evidence-${f.sessionId}-`) && /-\d+\.jsonl$/.test(n));
        if (!force && existing.length > 0) throw new UsageError(`${f.out} already holds evidence files of session ${f.sessionId} (${existing[0]}…); use --force to replace them`);
        for (const stale of existing.filter((n) => !names.includes(n))) await rm(join(f.out, stale));
        for (let k = 0; k < names.length; k++) {
          await writeAtomic(join(f.out, names[k]!), lines.slice(k * perFile, (k + 1) * perFile).join('\n') + '\n', true);
        }
      } else {
        await writeAtomic(f.out, lines.join('\n') + '\n', force);
      }
      io.stderr(`${writer.count} receipts, root hash ${writer.rootHash}, signer ${signer.publicKeyHex}\n`);
      setExit(EXIT.valid);
    });

  emit
    .command('packet')
    .description('verify a flight-recorder evidence file and assemble an Audit Packet directory from it')
    .requiredOption('--evidence <FILE>', 'flight-recorder JSONL (copied byte for byte as evidence.jsonl)')
    .requiredOption('--out <DIR>', 'packet directory to create (packet.json, summary.md, evidence.jsonl, verifier.txt)')
    .option('--pubkey <KEY>', 'the signer key to verify with; without it the packet says self_consistent_only', collect, [])
    .option('--agent <NAME>', 'run.agent_identity', 'agent')
    .option('--provider <P>', 'run.provider: local, github_actions or self_hosted', 'local')
    .option('--started-at <TIME>', 'run.started_at (default: now)')
    .option('--completed-at <TIME>', 'run.completed_at')
    .option('--exit-code <N>', "the agent's exit code (run.agent_exit_code)")
    .option('--enforcement-mode <MODE>', 'posture.enforcement_mode', 'egress_verify_proxy')
    .option('--redact-domains', 'leave summary.domains_touched out')
    .option('--force', 'write into an existing directory, replacing the four packet files')
    .addHelpText('after', '\nExample:\n  egress-verify emit packet --evidence evidence.jsonl --pubkey signer.pub --agent ci-agent --out packet/')
    .action(async (f: { evidence: string; out: string; pubkey: string[]; agent: string; provider: string; startedAt?: string; completedAt?: string; exitCode?: string; enforcementMode: string; redactDomains?: boolean; force?: boolean }) => {
      if (!['local', 'github_actions', 'self_hosted'].includes(f.provider)) throw new UsageError(`--provider ${f.provider}: expected local, github_actions or self_hosted`);
      if (f.agent.trim() === '') throw new UsageError('--agent must not be empty (run.agent_identity)');
      for (const [flag, v] of [['--started-at', f.startedAt], ['--completed-at', f.completedAt]] as const) {
        if (v !== undefined && !RFC3339_SECONDS.test(v)) throw new UsageError(`${flag} ${JSON.stringify(v)}: expected an RFC 3339 time such as 2026-05-10T12:00:00Z`);
      }
      const pinnedKeys = await pinnedKeysFrom(f.pubkey, io);
      const code = f.exitCode === undefined ? undefined : Number(f.exitCode);
      if (code !== undefined && !Number.isInteger(code)) throw new UsageError(`--exit-code ${f.exitCode}: expected an integer`);
      if (await exists(f.out)) {
        if (!(await stat(f.out)).isDirectory()) throw new UsageError(`--out ${f.out} exists and is not a directory`);
        if (!f.force && (await readdir(f.out)).length > 0) throw new UsageError(`${f.out} exists and is not empty (use --force)`);
      }
      const now = new Date();
      const run: RunClaims = {
        provider: f.provider as RunClaims['provider'],
        agent_identity: f.agent,
        started_at: f.startedAt ?? now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        ...(f.completedAt ? { completed_at: f.completedAt } : {}),
        ...(code !== undefined ? { agent_exit_code: code } : {}),
      };
      const { packetDir, verdict } = await writePacket({ evidencePath: f.evidence, outDir: f.out, pinnedKeys, run, posture: defaultPosture(f.enforcementMode), redactDomains: Boolean(f.redactDomains), force: true, generatedAt: now });
      io.stdout(`wrote ${packetDir}/packet.json, summary.md, evidence.jsonl, verifier.txt (verifier verdict: ${verdict})\n`);
      // A packet about evidence that does not verify is written (it says so), but the run fails.
      setExit(verdict === 'invalid' || verdict === 'error' ? EXIT.invalid : EXIT.valid);
    });

  emit
    .command('bundle')
    .description('pack a packet directory into a reproducible flat zip (packet.json first, the rest sorted, fixed times)')
    .requiredOption('--packet <DIR>', 'the packet directory')
    .requiredOption('--out <FILE.zip>', 'the zip to write')
    .option('--force', 'replace --out if it exists')
    .addHelpText('after', '\nExample:\n  egress-verify emit bundle --packet packet/ --out bundle.zip && egress-verify bundle.zip --pubkey signer.pub')
    .action(async (f: { packet: string; out: string; force?: boolean }) => {
      if (!f.force && (await exists(f.out))) throw new UsageError(`${f.out} already exists (use --force to replace it)`);
      await writeBundleDir(f.packet, f.out); // renames over --out only once the new zip is complete
      io.stdout(`wrote ${f.out}\n`);
      setExit(EXIT.valid);
    });
}

function wholeNumber(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} ${text}: expected a whole number`);
  return Number(text);
}

function sign(record: ActionRecordInput, signer: Signer) {
  try {
    return signActionRecord(record, signer);
  } catch (e) {
    if (e instanceof EmitError) throw new UsageError(e.message);
    throw e;
  }
}

/** The posture egress-verify's own proxy can honestly claim: it mediates HTTP(S) only. */
export function defaultPosture(enforcementMode: string): PostureClaims {
  return {
    enforcement_mode: enforcementMode,
    runner_os: osType(),
    runner_arch: arch(),
    raw_socket_status: 'unknown',
    docker_socket_status: 'unknown',
    dns_udp_status: 'unknown',
    browser_proxy_status: 'advisory',
    websocket_frame_scanning: 'off',
    unsupported_paths: ['non_proxy_egress', 'raw_sockets', 'dns_udp'],
  };
}

export interface WritePacketRequest {
  evidencePath: string;
  outDir: string;
  pinnedKeys: string[];
  run: RunClaims;
  posture: PostureClaims;
  redactDomains: boolean;
  force: boolean;
  generatedAt: Date;
  configPath?: string;
  configSnapshotSha256?: string;
}

const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Builds the packet and writes its four files into `outDir`. */
export async function writePacket(req: WritePacketRequest): Promise<{ packetDir: string; sha256: string; verdict: string }> {
  const { built, verifierTxt } = await buildPacket(
    {
      evidencePath: req.evidencePath,
      verify: verifyOptions({ pinnedKeys: req.pinnedKeys, now: parseGoTime(goTimestamp(req.generatedAt))! }),
      run: req.run,
      posture: req.posture,
      generatedAt: req.generatedAt,
      redactDomains: req.redactDomains,
      ...(req.configPath ? { configPath: req.configPath } : {}),
      ...(req.configSnapshotSha256 ? { configSnapshotSha256: req.configSnapshotSha256 } : {}),
    },
    (r) => renderReport(r, { color: false }),
  );
  await mkdir(req.outDir, { recursive: true });
  await writeAtomic(join(req.outDir, 'evidence.jsonl'), built.evidence, req.force);
  await writeAtomic(join(req.outDir, 'verifier.txt'), verifierTxt, req.force);
  await writeAtomic(join(req.outDir, 'summary.md'), built.summaryMd, req.force);
  // packet.json last: a directory with a packet.json is complete.
  await writeAtomic(join(req.outDir, 'packet.json'), built.packetJson, req.force);
  const { createHash } = await import('node:crypto');
  const verdict = String((built.packet.verifier as { verdict: string }).verdict);
  return { packetDir: req.outDir, sha256: createHash('sha256').update(built.packetJson).digest('hex'), verdict };
}

/** Zips the regular files at the top of a packet directory. */
export async function writeBundleDir(dir: string, out: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files = [];
  for (const e of entries) if (e.isFile()) files.push({ name: basename(e.name), data: await readFile(join(dir, e.name)) });
  if (!files.some((f) => f.name === 'packet.json')) throw new UsageError(`${dir} has no packet.json`);
  await writeBundleZip(out, files);
}
