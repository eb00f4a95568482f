/**
 * `egress-verify [verify] <path>`: detect the input, verify it against the
 * pinned keys, print one report, exit 0 / 1 / 2.
 */
import type { Command } from 'commander';
import { exitCodeFor, type RejectReason } from '../report/reasons.js';
import { toJson } from '../report/json-out.js';
import { invalidReport, type Report } from '../report/report.js';
import { verifyPath, type InputOptions } from '../verify/inputs.js';
import { verifyOptions, PRODUCTION_DEFAULTS } from '../verify/options.js';
import { collect, durationOption, endorsementsFrom, pinnedKeysFrom, timeOption, UsageError, type Io } from './common.js';
import { normalizeSha256, verifyPacket, type PacketFlags } from '../packet/verify.js';
import { renderReport } from './render.js';

export interface VerifyFlags {
  pubkey?: string[];
  key?: string[];
  allowUnpinned?: boolean;
  rotationEndorsement?: string[];
  sessionId?: string;
  now?: string;
  maxAge?: string;
  maxFutureSkew?: string;
  json?: boolean;
  /** Audit Packet flags (spec/audit-packet-v0.md §3). */
  expectSha256?: string;
  offline?: boolean;
  allowSelfConsistentOnly?: boolean;
  /** Commander's negatable form: `--no-trust-required` sets this to false. */
  trustRequired?: boolean;
}

export function addVerifyOptions(cmd: Command): Command {
  return cmd
    .option('--pubkey <KEY>', 'trusted Ed25519 public key: 64 hex, Pipelock text form, or a file (PEM, hex, JSON key file); repeatable', collect, [])
    .option('--key <KEY>', 'alias of --pubkey (as in the Pipelock verifiers)', collect, [])
    .option('--allow-unpinned', 'with no --pubkey, accept a structurally sound input as UNPINNED (trusted: false) instead of rejecting it (no_trust_anchor)')
    .option('--rotation-endorsement <FILE>', 'rotation endorsement authorising a key change (receipts-v1 §6.7); repeatable', collect, [])
    .option('--session-id <ID>', 'recorder session the endorsements are bound to (default: the first entry\'s session_id, else "proxy")')
    .option('--now <TIME>', 'clock for freshness checks, RFC 3339 (default: now)')
    .option('--max-age <DURATION>', 'reject receipts older than this, e.g. 8760h (default: no limit)')
    .option('--max-future-skew <DURATION>', `reject receipts dated further ahead than this (default: ${PRODUCTION_DEFAULTS.maxFutureSkewSeconds}s)`)
    .option('--json', 'print one machine-readable JSON report on stdout')
    .option(
      '--expect-sha256 <HEX>',
      'Audit Packet: SHA-256 of the packet.json bytes (for a .zip, of its packet.json entry), checked before anything is parsed; packet.json is not signed, so this pin is what lets its verifier.signer_key serve as the trust anchor when no --pubkey is given',
    )
    .option('--offline', 'Audit Packet: check the packet\'s schema only, never read the evidence; the result is never valid (exit 1, verdict schema_checked_trust_unverified)')
    .option(
      '--allow-self-consistent-only',
      'Audit Packet: accept a packet whose producer claims verdict self_consistent_only (the chain checked only against its own key); with no key anywhere the chain is checked trust-on-first-use (trusted: false)',
    )
    .option('--no-trust-required', 'Audit Packet: skip the trust policy on the packet\'s claimed verdict (e.g. error, not_run); the evidence chain must still verify and the cross-check pass');
}

/** The packet flags of a verify run, validated (a malformed --expect-sha256 is a usage error). */
export function packetFlagsFrom(flags: VerifyFlags): PacketFlags {
  const out: PacketFlags = {};
  if (flags.expectSha256 !== undefined) {
    const hex = normalizeSha256(flags.expectSha256);
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new UsageError(`--expect-sha256 ${JSON.stringify(flags.expectSha256)}: expected 64 hex characters, the SHA-256 of packet.json (e.g. from sha256sum packet.json)`);
    }
    out.expectSha256 = hex;
  }
  if (flags.offline) out.offline = true;
  if (flags.allowSelfConsistentOnly) out.allowSelfConsistentOnly = true;
  if (flags.trustRequired === false) out.noTrustRequired = true;
  return out;
}

export async function runVerify(path: string, flags: VerifyFlags, io: Io, inputs: InputOptions = {}): Promise<number> {
  const packetFlags = packetFlagsFrom(flags);
  const pinnedKeys = await pinnedKeysFrom([...(flags.pubkey ?? []), ...(flags.key ?? [])], io);
  const endorsementPaths = flags.rotationEndorsement ?? [];
  if (endorsementPaths.length > 0 && pinnedKeys.length === 0) {
    throw new UsageError('--rotation-endorsement needs a pinned root key: add --pubkey KEY');
  }
  const maxAge = durationOption('--max-age', flags.maxAge);
  const skew = durationOption('--max-future-skew', flags.maxFutureSkew);
  const now = timeOption('--now', flags.now);
  const { endorsements, failure } = await endorsementsFrom(endorsementPaths);
  let report: Report;
  if (failure) {
    report = invalidReport(null, { reason: failure.reason as RejectReason, message: `rotation endorsement: ${failure.message}`, where: { file: failure.path, pointer: failure.pointer } }, false);
  } else {
    const opts = verifyOptions({
      pinnedKeys,
      allowUnpinned: Boolean(flags.allowUnpinned),
      endorsements,
      recorderSessionId: flags.sessionId ?? null,
      ...(now ? { now } : {}),
      ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
      ...(skew !== undefined ? { maxFutureSkewSeconds: skew } : {}),
    });
    report = await verifyPath(path, opts, { packetVerifier: (input, o) => verifyPacket(input, o, packetFlags), ...inputs });
  }
  if (Object.keys(packetFlags).length > 0 && report.kind !== null && report.kind !== 'audit_packet') {
    io.stderr(`warning: --expect-sha256, --offline, --allow-self-consistent-only and --no-trust-required apply to Audit Packets only; ignored for this ${report.kind} input\n`);
  }
  if (flags.json) {
    io.stdout(toJson(publicReport(report)) + '\n');
    // As the reference verifiers do, a failed packet also leaves one line on stderr for CI logs.
    if (report.kind === 'audit_packet' && report.verdict === 'invalid') io.stderr(`verification failed: audit packet ${path}: ${report.reason}: ${report.message}\n`);
  } else io.stdout(renderReport(report, { color: io.color }));
  return exitCodeFor(report.verdict);
}

/** The --json shape: the report without render-only members. */
export function publicReport(r: Report): Record<string, unknown> {
  const { unpinned: _unpinned, ...rest } = r;
  return rest;
}
