/**
 * Assembling an Audit Packet (audit-packet-v0 §2, §4, §5): the evidence is
 * verified by the same chain walker the verifier uses, and the packet's
 * counts are that walk's tallies, so a fresh packet always cross-checks.
 */
import { readFile } from 'node:fs/promises';
import { compareCodePoints } from '../json/go-encode.js';
import { VERDICT_BUCKETS, bucketOf, type VerdictTotals } from '../report/buckets.js';
import type { Report } from '../report/report.js';
import type { Receipt } from '../receipt/receipt.js';
import { verifyChainFiles } from '../verify/chain-input.js';
import { fileSource } from '../verify/inputs.js';
import type { VerifyOptions } from '../verify/options.js';

export const SCHEMA_VERSION = 'pipelock.audit_packet.v0';

export interface RunClaims {
  provider: 'github_actions' | 'self_hosted' | 'local';
  agent_identity: string;
  started_at: string;
  completed_at?: string;
  agent_exit_code?: number;
  repository?: string;
  workflow?: string;
  run_id?: string;
  run_attempt?: string;
  ref?: string;
  sha?: string;
}

export interface PostureClaims {
  enforcement_mode: string;
  runner_os: string;
  runner_arch?: string;
  raw_socket_status: 'denied' | 'allowed' | 'unknown';
  docker_socket_status: 'denied' | 'masked' | 'allowed' | 'absent' | 'unknown';
  dns_udp_status: 'denied' | 'proxied' | 'allowed' | 'unknown';
  browser_proxy_status: 'forced' | 'advisory' | 'absent' | 'unknown';
  websocket_frame_scanning: 'explicit_ws_proxy_path_required' | 'always_on' | 'off';
  proxy_url?: string;
  unsupported_paths: string[];
}

export interface PacketRequest {
  /** The flight-recorder evidence, copied byte for byte into the packet. */
  evidencePath: string;
  /** Verification options: pinned key(s) make the packet `valid`; none make it `self_consistent_only`. */
  verify: VerifyOptions;
  run: RunClaims;
  posture: PostureClaims;
  configPath?: string;
  /** policy.config_snapshot_sha256: SHA-256 of the config (policy) file the run used. */
  configSnapshotSha256?: string;
  generatedAt: Date;
  /** Leave `domains_touched` out (absence = no claim). */
  redactDomains?: boolean;
}

export interface BuiltPacket {
  packet: Record<string, unknown>;
  /** packet.json bytes: sorted keys, two-space indent, ASCII only, final newline (§5.3). */
  packetJson: string;
  summaryMd: string;
  evidence: Buffer;
  /** The chain verification behind the packet's verifier block. */
  report: Report;
}

/** What the receipts say, gathered while the chain is verified. */
class Claims {
  readonly policyHashes = new Set<string>();
  readonly transports = new Map<string, number>();
  readonly layers = new Map<string, number>();
  readonly domains = new Set<string>();

  observe(r: Receipt): void {
    if (r.policyHash) this.policyHashes.add(r.policyHash);
    const t = r.ar.get('transport');
    const transport = typeof t === 'string' && t !== '' ? t : 'unknown';
    this.transports.set(transport, (this.transports.get(transport) ?? 0) + 1);
    if (bucketOf(r.verdict) === 'block' && r.layer) this.layers.set(r.layer, (this.layers.get(r.layer) ?? 0) + 1);
    const host = hostOf(r.target);
    if (host) this.domains.add(host);
  }
}

const WEB_SCHEMES = new Set(['http:', 'https:', 'ws:', 'wss:']);

/** Host name of a web URL target: lowercased, no port, no userinfo; null otherwise (e.g. pipelock://session/open). */
export function hostOf(target: string): string | null {
  try {
    const u = new URL(target);
    return WEB_SCHEMES.has(u.protocol) && u.hostname ? u.hostname.toLowerCase().replace(/^\[|\]$/g, '') : null;
  } catch {
    return null;
  }
}

function sortedObject(m: Map<string, number>): Record<string, number> {
  const o: Record<string, number> = {};
  for (const k of [...m.keys()].sort(compareCodePoints)) o[k] = m.get(k)!;
  return o;
}

/** Verifies the evidence and assembles the packet, its summary and verifier text. */
export async function buildPacket(req: PacketRequest, renderVerifierText: (r: Report) => string): Promise<{ built: BuiltPacket; verifierTxt: string }> {
  const claims = new Claims();
  const pinned = req.verify.pinnedKeys.length > 0;
  const opts: VerifyOptions = { ...req.verify, allowUnpinned: !pinned };
  const { report, tally } = await verifyChainFiles([fileSource(req.evidencePath, 'evidence.jsonl')], opts, 'recorder', (r) => claims.observe(r));
  const evidence = await readFile(req.evidencePath);
  const chainOk = report.verdict === 'valid';
  const count = chainOk ? tally.countAll : 0;
  const totals: VerdictTotals = chainOk ? { ...tally.all } : Object.fromEntries(VERDICT_BUCKETS.map((b) => [b, 0])) as VerdictTotals;

  const empty = evidence.length === 0 || report.reason === 'malformed_json' && report.message.startsWith('empty chain');
  const verdict = empty ? 'error' : !chainOk ? 'invalid' : pinned ? 'valid' : 'self_consistent_only';
  const verifier: Record<string, unknown> = {
    verdict,
    trusted: verdict === 'valid',
    receipt_count: count,
    ...(chainOk ? { root_hash: report.root_hash, final_seq: Number(report.final_seq) } : {}),
    ...(pinned && (verdict === 'valid' || verdict === 'invalid') ? { signer_key: req.verify.pinnedKeys[0] } : {}),
    output_file: 'verifier.txt',
    ...(chainOk ? {} : { error: report.message }),
  };
  const summary: Record<string, unknown> = {
    receipt_count: count,
    totals,
    ...(chainOk && claims.transports.size ? { transports: sortedObject(claims.transports) } : {}),
    ...(chainOk && claims.layers.size ? { layers: sortedObject(claims.layers) } : {}),
    ...(chainOk && claims.domains.size && !req.redactDomains ? { domains_touched: [...claims.domains].sort(compareCodePoints) } : {}),
  };
  const packet: Record<string, unknown> = {
    schema_version: SCHEMA_VERSION,
    generated_at: req.generatedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    run: req.run,
    policy: {
      policy_hashes: chainOk ? [...claims.policyHashes].sort(compareCodePoints) : [],
      ...(req.configPath ? { config_path: req.configPath } : {}),
      ...(req.configSnapshotSha256 ? { config_snapshot_sha256: req.configSnapshotSha256 } : {}),
    },
    summary,
    verifier,
    posture: req.posture,
    artifacts: { packet: 'packet.json', summary: 'summary.md', evidence: 'evidence.jsonl', verifier: 'verifier.txt' },
  };
  const built: BuiltPacket = { packet, packetJson: pythonJson(packet) + '\n', summaryMd: summaryMarkdown(packet), evidence, report };
  return { built, verifierTxt: renderVerifierText(report) };
}

/** json.dumps(indent=2, sort_keys=True) as Python writes it (ensure_ascii on). */
export function pythonJson(v: unknown, indent = ''): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return JSON.stringify(v);
  if (typeof v === 'string') return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
  const inner = indent + '  ';
  if (Array.isArray(v)) return v.length ? '[\n' + v.map((x) => inner + pythonJson(x, inner)).join(',\n') + '\n' + indent + ']' : '[]';
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort(compareCodePoints);
  return keys.length ? '{\n' + keys.map((k) => inner + pythonJson(k) + ': ' + pythonJson(o[k], inner)).join(',\n') + '\n' + indent + '}' : '{}';
}

/** summary.md as audit-packet-v0 §5.1 lays it out. */
export function summaryMarkdown(p: Record<string, unknown>): string {
  const run = p.run as RunClaims;
  const ver = p.verifier as { verdict: string; trusted: boolean };
  const sum = p.summary as { receipt_count: number; totals: VerdictTotals };
  const pos = p.posture as PostureClaims & { script_basename?: string; script_arg_count?: number };
  const code = (x: unknown) => '`' + String(x) + '`';
  const lines = [
    '# Pipelock Audit Packet',
    '',
    `- Schema: ${code(p.schema_version)}`,
    `- Verifier verdict: ${code(ver.verdict)}`,
    `- Trusted verification: ${code(ver.trusted)}`,
    `- Receipt count: ${code(sum.receipt_count)}`,
    `- Provider: ${code(run.provider)}`,
    `- Agent identity: ${code(run.agent_identity)}`,
    `- Agent exit code: ${code(run.agent_exit_code ?? '<unknown>')}`,
    `- Enforcement mode: ${code(pos.enforcement_mode)}`,
    `- Runner OS: ${code(pos.runner_os)}`,
    `- Script: ${code(pos.script_basename ?? '<unknown>')} (args: ${code(pos.script_arg_count ?? 0)})`,
    '',
    '## Totals',
    '',
    ...VERDICT_BUCKETS.map((b) => `- ${b}: ${code(sum.totals[b])}`),
    '',
    '## Posture status',
    '',
    ...(['raw_socket_status', 'docker_socket_status', 'dns_udp_status', 'browser_proxy_status', 'websocket_frame_scanning'] as const).map((f) => `- ${f}: ${code(pos[f])}`),
    '',
  ];
  if (pos.unsupported_paths.length) lines.push('## Unsupported paths (out of scope, by design)', '', ...pos.unsupported_paths.map((u) => `- ${code(u)}`), '');
  lines.push('## Artifacts', '', ...['packet.json', 'summary.md', 'evidence.jsonl', 'verifier.txt'].map((a) => `- ${code(a)}`), '');
  if (ver.verdict === 'self_consistent_only') {
    lines.push('## Warning', '', 'Trusted evidence needs signer-key pinning: this packet proves only the internal consistency of its receipt chain.', '');
  }
  return lines.join('\n'); // the last line is empty: one final newline
}
