/**
 * Option parsing shared by the commands: trust material, policy flags and
 * the output conventions (stdout for results, stderr for warnings).
 */
import { readFile } from 'node:fs/promises';
import { parseEndorsement, type Endorsement } from '../chain/endorsement.js';
import { KeyArgumentError, loadPublicKeys } from '../crypto/keys.js';
import { parseDurationSeconds, parseGoTime, type GoTime } from '../receipt/time.js';
import { EXIT } from '../report/reasons.js';

/** A command-line mistake: printed with the usage hint, exit 64. */
export class UsageError extends Error {}

/** Input that is reported as a verification result, not as a usage error. */
export class InputFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Colour allowed (stdout is a TTY and NO_COLOR unset). */
  color: boolean;
}

export function defaultIo(): Io {
  const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    color,
  };
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export async function pinnedKeysFrom(args: string[], io: Io, flag = '--pubkey'): Promise<string[]> {
  try {
    const { keys, warnings } = await loadPublicKeys(args);
    for (const w of warnings) io.stderr(`warning: ${w}\n`);
    return keys;
  } catch (e) {
    if (e instanceof KeyArgumentError) throw new UsageError(flag === '--pubkey' ? e.message : e.message.replace('--pubkey', flag));
    throw e;
  }
}

export function durationOption(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = parseDurationSeconds(text);
  if (s === null) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a duration such as 8760h, 15m, 900s or 90 (seconds)`);
  return s;
}

export function timeOption(flag: string, text: string | undefined): GoTime | undefined {
  if (text === undefined) return undefined;
  const t = parseGoTime(text);
  if (!t) throw new UsageError(`${flag} ${JSON.stringify(text)}: expected an RFC 3339 time such as 2026-04-15T12:00:00Z`);
  return t;
}

/** Reads endorsement files; a bad file is a verification failure (exit 1) with the spec's reason. */
export async function endorsementsFrom(paths: string[]): Promise<{ endorsements: Endorsement[]; failure: { path: string; reason: string; message: string; pointer: string } | null }> {
  const endorsements: Endorsement[] = [];
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new InputFailure(`--rotation-endorsement ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`, EXIT.error);
    }
    const r = parseEndorsement(bytes);
    if (!r.ok) return { endorsements, failure: { path, reason: r.reason, message: r.message, pointer: r.pointer } };
    endorsements.push(r.endorsement);
  }
  return { endorsements, failure: null };
}
