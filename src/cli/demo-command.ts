/**
 * `egress-verify demo [--out DIR]`: the whole story on a fresh machine in a
 * few seconds. Make a key, record a short agent session as a signed
 * flight-recorder chain, assemble an Audit Packet and its zip, verify the
 * zip with the public key, then edit one receipt in a copy and show the
 * rejection.
 */
import { cp, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, publicKeyObject } from '../crypto/ed25519.js';
import { RecorderChainWriter, type Decision } from '../emit/chain.js';
import { signerFrom } from '../emit/receipt.js';
import { EXIT } from '../report/reasons.js';
import { goTimestamp } from '../receipt/time.js';
import type { Io } from './common.js';
import { defaultPosture, writeBundleDir, writePacket } from './emit-command.js';
import { runVerify } from './verify-command.js';

const POLICY = 'sha256:' + 'c0ffee'.repeat(10) + 'c0ff';

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

    // A session that ended a minute ago, one decision every 1.5 s.
    const started = new Date(Date.now() - 60_000);
    let t = started.getTime();
    const writer = new RecorderChainWriter(signerFrom(privateKey), {
      clock: () => goTimestamp(new Date((t += 1500))),
      principal: 'org:acme',
      actor: 'agent:coding-assistant',
      policyHash: POLICY,
      checkpointInterval: 8,
    });
    const lines = [...writer.open(), ...DEMO_SESSION.flatMap((d) => writer.record(d)), ...writer.close()];
    const evidencePath = join(dir, 'evidence.jsonl');
    await writeFile(evidencePath, lines.join('\n') + '\n');

    const packetDir = join(dir, 'packet');
    const bundle = join(dir, 'bundle.zip');
    await writePacket({
      evidencePath,
      outDir: packetDir,
      pinnedKeys: [publicKeyHex],
      run: { provider: 'local', agent_identity: 'coding-assistant', started_at: goTimestamp(started).replace(/\.\d+Z$/, 'Z'), agent_exit_code: 0 },
      posture: defaultPosture('egress_verify_proxy'),
      redactDomains: false,
      force: true,
      generatedAt: new Date(),
    });
    await writeBundleDir(packetDir, bundle);

    io.stdout(`1. An agent session: ${DEMO_SESSION.length} decisions (reads, a DLP block, an SSRF block, a warning, an approval), ${writer.count} signed receipts.\n`);
    io.stdout(`   Audit Packet: ${packetDir}/  →  ${bundle}\n\n`);
    io.stdout(`2. Verify the bundle, trusting only the public key:\n   $ egress-verify ${bundle} --pubkey ${pubPath}\n\n`);
    const ok = await runVerify(bundle, { pubkey: [pubPath] }, io);

    // A forger turns the DLP block into an allow, in a copy of the packet.
    const forged = join(dir, 'tampered');
    await cp(packetDir, forged, { recursive: true });
    const ev = join(forged, 'evidence.jsonl');
    const text = await readFile(ev, 'utf8');
    await writeFile(ev, text.replace('"verdict":"block","transport":"forward","method":"POST","layer":"dlp"', '"verdict":"allow","transport":"forward","method":"POST","layer":"dlp"'));
    const forgedZip = join(dir, 'tampered.zip');
    await writeBundleDir(forged, forgedZip);
    io.stdout(`\n3. Someone edits one receipt (the DLP block becomes an allow) and verifies again:\n   $ egress-verify ${forgedZip} --pubkey ${pubPath}\n\n`);
    const bad = await runVerify(forgedZip, { pubkey: [pubPath] }, io);

    io.stdout(`\nExit codes: ${ok} for the honest bundle, ${bad} for the edited one.${outDir ? ` Everything is kept in ${dir}.` : ' Run with --out DIR to keep the files.'}\n`);
    return ok === EXIT.valid && bad === EXIT.invalid ? EXIT.valid : EXIT.invalid;
  } finally {
    if (!outDir) await rm(dir, { recursive: true, force: true });
  }
}
