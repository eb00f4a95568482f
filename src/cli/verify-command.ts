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
    .option('--json', 'print one machine-readable JSON report on stdout');
}

export async function runVerify(path: string, flags: VerifyFlags, io: Io, inputs: InputOptions = {}): Promise<number> {
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
    report = await verifyPath(path, opts, inputs);
  }
  if (flags.json) io.stdout(toJson(publicReport(report)) + '\n');
  else io.stdout(renderReport(report, { color: io.color }));
  return exitCodeFor(report.verdict);
}

/** The --json shape: the report without render-only members. */
export function publicReport(r: Report): Record<string, unknown> {
  const { unpinned: _unpinned, ...rest } = r;
  return rest;
}
