/**
 * Test material made by code: a deterministic test key, signed receipts,
 * bare and recorder chains. Tests mutate these and assert the exact reason.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateKeyFromSeed, seedFromPhrase, signEd25519 } from '../../src/crypto/ed25519.js';
import { RecorderChainWriter, type ChainWriterOptions, type Decision } from '../../src/emit/chain.js';
import { signActionRecord, signerFrom, toJsonText, type ActionRecordInput, type Signer } from '../../src/emit/receipt.js';
import { parseJsonText } from '../../src/json/strict.js';
import { goTimestamp } from '../../src/receipt/time.js';
import { checkReceipt } from '../../src/receipt/receipt.js';
import { conformanceOptions, type VerifyOptions } from '../../src/verify/options.js';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = resolve(repoRoot, '../shared');
export const haveShared = existsSync(resolve(sharedDir, 'reference'));
export function shared(...parts: string[]): string {
  return resolve(sharedDir, ...parts);
}
if (!haveShared) console.warn('note: ../shared is missing; tests that read the reference files are skipped');

export const testSigner: Signer = signerFrom(privateKeyFromSeed(seedFromPhrase('egress-verify test key one')));
export const otherSigner: Signer = signerFrom(privateKeyFromSeed(seedFromPhrase('egress-verify test key two')));
export const thirdSigner: Signer = signerFrom(privateKeyFromSeed(seedFromPhrase('egress-verify test key three')));

export const T0 = '2026-04-15T12:00:00Z';

/** A complete, valid ActionRecord (legacy genesis, chain_seq 0). */
export function baseRecord(over: ActionRecordInput = {}): ActionRecordInput {
  return {
    version: 1,
    action_id: 'test-00000',
    action_type: 'read',
    timestamp: T0,
    principal: 'org:test',
    actor: 'agent:test',
    delegation_chain: null,
    target: 'https://api.example.com/v1/things',
    side_effect_class: 'external_read',
    reversibility: 'full',
    policy_hash: 'sha256:' + 'a'.repeat(64),
    verdict: 'allow',
    transport: 'https',
    method: 'GET',
    chain_prev_hash: 'genesis',
    chain_seq: 0,
    ...over,
  };
}

/** A signed receipt's JSON text. */
export function signed(over: ActionRecordInput = {}, signer: Signer = testSigner): string {
  return signActionRecord(baseRecord(over), signer).json;
}

/**
 * Re-signs an arbitrary receipt text (e.g. one with an edited member) so
 * that only the rule under test can fail. The text must pass steps 1–10.
 */
export function resign(text: string, signer: Signer = testSigner): string {
  const p = parseJsonText(text);
  if (!p.ok) throw new Error(p.error.message);
  const c = checkReceipt(p.value, text);
  if (!c.ok) throw new Error(`${c.problem.reason}: ${c.problem.message}`);
  const sig = 'ed25519:' + signEd25519(signer.privateKey, c.receipt.digest).toString('hex');
  return text.replace(/"signature":"[^"]*"/, `"signature":"${sig}"`);
}

/** An envelope around a raw action_record JSON text, signed over its canonical form. */
export function envelope(actionRecordJson: string, signer: Signer = testSigner, extra = ''): string {
  const text = `{"version":1,"action_record":${actionRecordJson},"signature":"ed25519:${'0'.repeat(128)}","signer_key":"${signer.publicKeyHex}"${extra}}`;
  return resign(text, signer);
}

export function recordJson(over: ActionRecordInput = {}): string {
  return toJsonText(baseRecord(over));
}

/** A bare-receipt chain of `n` receipts (legacy genesis), one JSON text per receipt. */
export function bareChain(n: number, signer: Signer = testSigner, over: (i: number) => ActionRecordInput = () => ({})): string[] {
  const out: string[] = [];
  let prev = 'genesis';
  for (let i = 0; i < n; i++) {
    const r = signActionRecord(
      baseRecord({ action_id: `test-${String(i).padStart(5, '0')}`, timestamp: `2026-04-15T12:00:${String(i % 60).padStart(2, '0')}Z`, chain_prev_hash: prev, chain_seq: i, ...over(i) }),
      signer,
    );
    out.push(r.json);
    prev = r.hash;
  }
  return out;
}

/** A recorder chain (session profile by default) with deterministic nonces and clock. */
export function recorderChain(decisions: readonly Decision[], opts: Partial<ChainWriterOptions> = {}, signer: Signer = testSigner): string[] {
  let t = Date.parse(T0);
  const w = new RecorderChainWriter(signer, {
    clock: () => goTimestamp(new Date((t += 1000))),
    runNonce: '0123456789abcdef0123456789abcdef',
    openNonce: 'fedcba9876543210fedcba9876543210',
    ...opts,
  });
  return [...w.open(), ...decisions.flatMap((d) => w.record(d)), ...w.close()];
}

export function decisions(n: number, verdict = 'allow'): Decision[] {
  return Array.from({ length: n }, (_, i) => ({ action_type: 'read', target: `https://api.example.com/item/${i}`, verdict, transport: 'forward', method: 'GET' }));
}

/** Verification options for tests: the conformance clock, the test key pinned. */
export function testOptions(over: Partial<VerifyOptions> = {}): VerifyOptions {
  return conformanceOptions({ pinnedKeys: [testSigner.publicKeyHex], ...over });
}

/** An in-memory ChainFile. */
export function memFile(name: string, text: string | Buffer) {
  return {
    name,
    async *chunks() {
      yield typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
    },
  };
}
