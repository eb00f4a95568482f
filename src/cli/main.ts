/**
 * Command-line wiring. `egress-verify <path>` is `egress-verify verify <path>`.
 * Exit codes: 0 valid, 1 invalid, 2 could not run, 64 usage error.
 */
import { Command, CommanderError } from 'commander';
import { EXIT } from '../report/reasons.js';
import { ioMessage, isIoError } from '../verify/inputs.js';
import { defaultIo, InputFailure, UsageError, type Io } from './common.js';
import { addConformanceOptions, runConformance, type ConformanceFlags } from './conformance-command.js';
import { runDemo } from './demo-command.js';
import { addEmitCommands } from './emit-command.js';
import { runKeygen } from './keygen-command.js';
import { addProxyCommand } from './proxy-command.js';
import { addVerifyOptions, runVerify, type VerifyFlags } from './verify-command.js';

const EXIT_TABLE = `
Exit codes:
  0   valid: every check passed against the pinned key(s)
  1   invalid: the evidence was read and failed a check (the report says which and where)
  2   could not run: the input's bytes could not be obtained (missing path, permission, I/O)
  64  usage error: bad flags or an unusable --pubkey`;

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('egress-verify')
    .description('Offline verifier for AI-agent egress evidence: Pipelock ActionReceipt v1 receipts, receipt chains, flight-recorder JSONL and Audit Packet v0 bundles, checked against pinned Ed25519 keys.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  addVerifyOptions(
    program
      .command('verify', { isDefault: true })
      .description('verify a receipt, a chain (.jsonl), a recorder evidence directory, or an Audit Packet (directory, packet.json or .zip)')
      .argument('<path>', 'what to verify; the kind is detected from the path and content'),
  )
    .addHelpText(
      'after',
      `
Examples:
  egress-verify evidence.jsonl --pubkey signer.pub
  egress-verify receipt.json --pubkey 890726e93f89e773fb3b4298271245a69c1884fd1003846c3358b8b65a2288fa
  egress-verify ./evidence-dir --pubkey signer.pub --json
  egress-verify rotated.jsonl --pubkey root.pub --rotation-endorsement rot-1.json --session-id proxy

Audit Packets (a directory with packet.json, a packet.json file, or a .zip bundle):
  egress-verify bundle.zip --pubkey signer.pub              the line for CI: schema, chain, cross-check
  egress-verify ./pipelock-audit-packet --expect-sha256 HEX  no key at hand: pin packet.json's bytes instead,
                                                             then its verifier.signer_key is the anchor
  egress-verify bundle.zip --offline                         schema only; never valid (exit 1)
  A packet passes when its schema holds, the evidence chain verifies under the anchor,
  every cross-checked claim (receipt_count, the eight totals, root_hash, final_seq,
  the claimed verdict) matches the chain, and the claimed verdict is acceptable:
  valid+trusted, or self_consistent_only with --allow-self-consistent-only, or any
  verdict with --no-trust-required. Everything else in packet.json (run, posture,
  policy paths, transports, ...) is shown as an unverified claim.
${EXIT_TABLE}`,
    )
    .action(async (path: string, flags: VerifyFlags) => setExit(await runVerify(path, flags, io)));

  addConformanceOptions(
    program
      .command('conformance')
      .description('run a golden/malicious/edge conformance corpus and score the verifier')
      .argument('<corpus-dir>', 'a directory with golden/, malicious/, edge/ and <fixture>.expect.json files'),
  )
    .addHelpText('after', `\nExample:\n  egress-verify conformance ../shared/reference/receipt-conformance-v0\n\nExit 0 when every fixture matches, 1 on any mismatch.`)
    .action(async (dir: string, flags: ConformanceFlags) => setExit(await runConformance(dir, flags, io)));

  program
    .command('keygen')
    .description('create an Ed25519 key pair: NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (SPKI PEM); never overwrites')
    .requiredOption('--out <NAME>', 'path prefix of the two files')
    .action(async (flags: { out: string }) => setExit(await runKeygen(flags.out, io)));

  addEmitCommands(program, io, setExit);

  addProxyCommand(program, io, setExit);

  program
    .command('demo')
    .description('record a short signed agent session, verify it, then show what an edited receipt looks like')
    .option('--out <DIR>', 'keep the files in DIR instead of a temporary folder')
    .action(async (flags: { out?: string }) => setExit(await runDemo(flags.out, io)));

  program.addHelpText('after', EXIT_TABLE);
  return program;
}

export async function main(argv: string[], io: Io = defaultIo()): Promise<number> {
  let code: number = EXIT.valid;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.valid;
      return EXIT.usage;
    }
    if (e instanceof UsageError) {
      io.stderr(`egress-verify: ${e.message}\n`);
      return EXIT.usage;
    }
    if (e instanceof InputFailure) {
      io.stderr(`egress-verify: ${e.message}\n`);
      return e.exitCode;
    }
    if (isIoError(e)) {
      // A file a command needed could not be read or written: exit 2, one line, no stack.
      io.stderr(`egress-verify: ${ioMessage(e.path ?? '(path unknown)', e)}\n`);
      return EXIT.error;
    }
    throw e;
  }
}
