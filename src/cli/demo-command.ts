/**
 * `egress-verify demo [--out DIR]`: the whole story on a fresh machine in a
 * few seconds. Make a key, record a short agent session as a signed
 * flight-recorder chain, verify it with the public key, then edit one
 * receipt in a copy and show the rejection.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, publicKeyObject } from '../crypto/ed25519.js';
import { RecorderChainWriter, type Decision } from '../emit/chain.js';
import { signerFrom } from '../emit/receipt.js';
import { EXIT } from '../report/reasons.js';
import { goTimestamp } from '../receipt/time.js';
import type { Io } from './common.js';
import { runVerify } from './verify-command.js';

/** A dozen decisions an egress proxy might make for a coding agent. */
export const DEMO_SESSION: readonly Decision[] = [
  { action_type: 'read', target: 'https://api.github.com/repos/acme/app/issues', verdict: 'allow', transport: 'forward', method: 'GET' },
  { action_type: 'read', target: 'https://pypi.org/simple/requests/', verdict: 'allow', transport: 'forward', method: 'GET' },
  { action_type: 'write', target: 'https://paste.example.net/api/create', verdict: 'block', transport: 'forward', method: 'POST', layer: 'dlp', pattern: 'aws_access_key', severity: 'critical', side_effect_class: 'external_write', reversibility: 'irreversible' },
  { action_type: 'read', target: 'http://169.254.169.254/latest/meta-data/iam/', verdict: 'block', transport: 'fetch', method: 'GET', layer: 'ssrf', severity: 'high' },
  { action_type: 'read', target: 'https://docs.python.org/3/library/json.html', verdict: 'allow', transport: 'fetch', method: 'GET' },
  { action_type: 'read', target: 'https://unknown-cdn.example.org/lib.js', verdict: 'warn', transport: 'forward', method: 'GET', layer: 'domain_reputation', severity: 'low' },
  { action_type: 'write', target: 'https://api.stripe.com/v1/refunds', verdict: 'ask', transport: 'forward', method: 'POST', layer: 'hitl', side_effect_class: 'financial', reversibility: 'compensatable' },
  { action_type: 'write', target: 'https://api.stripe.com/v1/refunds', verdict: 'allow', transport: 'forward', method: 'POST', layer: 'hitl', resolution_source: 'operator', side_effect_class: 'financial', reversibility: 'compensatable' },
  { action_type: 'read', target: 'https://registry.npmjs.org/left-pad', verdict: 'allow', transport: 'forward', method: 'GET' },
  { action_type: 'read', target: 'https://api.openai.com/v1/models', verdict: 'allow', transport: 'forward', method: 'GET' },
  { action_type: 'write', target: 'https://hooks.slack.com/services/T000/B000/XXXX', verdict: 'allow', transport: 'forward', method: 'POST', side_effect_class: 'external_write' },
  { action_type: 'read', target: 'https://github.com/acme/app/archive/main.zip', verdict: 'allow', transport: 'forward', method: 'GET' },
];

export async function runDemo(outDir: string | undefined, io: Io): Promise<number> {
  const dir = outDir ?? (await mkdtemp(join(tmpdir(), 'egress-verify-demo-')));
  await mkdir(dir, { recursive: true });
  try {
    const { privateKey, publicKeyHex } = generateKeyPair();
    const pubPath = join(dir, 'demo.pub');
    await writeFile(pubPath, publicKeyObject(publicKeyHex).export({ format: 'pem', type: 'spki' }).toString());
    let t = Date.parse('2026-11-21T09:00:00Z');
    const writer = new RecorderChainWriter(signerFrom(privateKey), {
      clock: () => goTimestamp(new Date((t += 1500))),
      principal: 'org:acme',
      actor: 'agent:coding-assistant',
      policyHash: 'sha256:' + '5'.repeat(64),
      checkpointInterval: 8,
    });
    const lines = [...writer.open(), ...DEMO_SESSION.flatMap((d) => writer.record(d)), ...writer.close()];
    const evidence = join(dir, 'evidence.jsonl');
    await writeFile(evidence, lines.join('\n') + '\n');

    io.stdout(`1. A signed session: ${writer.count} receipts in ${evidence}\n   public key: ${pubPath}\n\n`);
    io.stdout(`2. Verify it, trusting only the public key:\n   $ egress-verify ${evidence} --pubkey ${pubPath}\n\n`);
    const ok = await runVerify(evidence, { pubkey: [pubPath], now: '2026-11-21T10:00:00Z' }, io);

    // Flip the verdict of the DLP block to "allow" in a copy, as a forger would.
    const tampered = join(dir, 'evidence-tampered.jsonl');
    const text = await readFile(evidence, 'utf8');
    await writeFile(tampered, text.replace('"verdict":"block","transport":"forward","method":"POST"', '"verdict":"allow","transport":"forward","method":"POST"'));
    io.stdout(`\n3. Someone edits one receipt (the DLP block becomes an allow) and verifies again:\n   $ egress-verify ${tampered} --pubkey ${pubPath}\n\n`);
    const bad = await runVerify(tampered, { pubkey: [pubPath], now: '2026-11-21T10:00:00Z' }, io);
    io.stdout(`\nExit codes: ${ok} for the honest chain, ${bad} for the edited one.${outDir ? ` Files kept in ${dir}.` : ''}\n`);
    return ok === EXIT.valid && bad === EXIT.invalid ? EXIT.valid : EXIT.invalid;
  } finally {
    if (!outDir) await rm(dir, { recursive: true, force: true });
  }
}
