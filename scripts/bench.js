#!/usr/bin/env node
// Benchmark: generate a signed flight-recorder chain with the project's own
// signer, then verify it in a fresh process and report receipts per second
// and peak RSS. Prints figures; never fails on timing.
//
//   npm run bench                 100,000 receipts
//   npm run bench -- --receipts 20000
//   npm run bench -- --no-proxy   the receipt figures only
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { RecorderChainWriter } = await import(join(root, 'dist/emit/chain.js'));
const { signerFrom } = await import(join(root, 'dist/emit/receipt.js'));
const { privateKeyFromSeed, seedFromPhrase } = await import(join(root, 'dist/crypto/ed25519.js'));
const { goTimestamp } = await import(join(root, 'dist/receipt/time.js'));

const args = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const receipts = Number(flag('--receipts', '100000'));
const keep = args.includes('--keep');

const dir = mkdtempSync(join(tmpdir(), 'egress-verify-bench-'));
const file = join(dir, 'evidence-proxy-0.jsonl');
const signer = signerFrom(privateKeyFromSeed(seedFromPhrase('egress-verify bench key')));
let t = Date.parse('2026-11-01T00:00:00Z');
const writer = new RecorderChainWriter(signer, {
  clock: () => goTimestamp(new Date((t += 37))),
  runNonce: '0'.repeat(32),
  openNonce: '1'.repeat(32),
  checkpointInterval: 1000,
  policyHash: 'sha256:' + '9'.repeat(64),
});
const verdicts = ['allow', 'allow', 'allow', 'allow', 'allow', 'allow', 'block', 'warn', 'ask', 'allow'];

const genStart = performance.now();
const out = createWriteStream(file);
const write = async (lines) => {
  for (const l of lines) if (!out.write(l + '\n')) await once(out, 'drain');
};
await write(writer.open());
for (let i = 0; writer.count < receipts - 1; i++) {
  await write(
    writer.record({
      action_type: i % 3 === 0 ? 'write' : 'read',
      target: `https://api.example.com/v1/items/${i}?q=${i % 97}`,
      verdict: verdicts[i % verdicts.length],
      transport: 'forward',
      method: i % 3 === 0 ? 'POST' : 'GET',
      layer: i % 10 === 6 ? 'dlp' : undefined,
    }),
  );
}
await write(writer.close());
out.end();
await once(out, 'finish');
const genSeconds = (performance.now() - genStart) / 1000;
const size = statSync(file).size;

// Verify in a fresh process so that peak RSS is the verifier's alone.
// It tunes the heap as bin/egress-verify.js does.
const probe = `
  (await import(${JSON.stringify(join(root, 'dist/runtime/heap.js'))})).keepYoungGenerationSmall();
  const { verifyPath } = await import(${JSON.stringify(join(root, 'dist/verify/inputs.js'))});
  const { verifyOptions } = await import(${JSON.stringify(join(root, 'dist/verify/options.js'))});
  const { parseGoTime } = await import(${JSON.stringify(join(root, 'dist/receipt/time.js'))});
  const t0 = performance.now();
  const r = await verifyPath(${JSON.stringify(file)}, verifyOptions({ pinnedKeys: [${JSON.stringify(signer.publicKeyHex)}], now: parseGoTime('2026-11-21T00:00:00Z') }));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage();
  process.stdout.write(JSON.stringify({ verdict: r.verdict, reason: r.reason, count: r.receipt_count, ms, cpuUs: cpu.user + cpu.system, maxRssKiB: process.resourceUsage().maxRSS }));
`;
const res = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { encoding: 'utf8' });
if (res.status !== 0) {
  process.stderr.write(res.stderr);
  process.exit(1);
}
const m = JSON.parse(res.stdout);
const rate = m.count / (m.ms / 1000);
console.log(`chain: ${receipts.toLocaleString('en-US')} receipts, ${(size / 2 ** 20).toFixed(1)} MiB flight-recorder JSONL (generated in ${genSeconds.toFixed(1)} s)`);
console.log(`verify: ${m.verdict}${m.reason ? ` (${m.reason})` : ''}, ${m.count} receipts in ${(m.ms / 1000).toFixed(2)} s`);
console.log(`receipts/s: ${Math.round(rate).toLocaleString('en-US')}   (target ≥ 12,000)`);
console.log(`peak RSS: ${(m.maxRssKiB / 1024).toFixed(1)} MB   (target < 150 MB)`);
console.log(`CPU per receipt: ${(m.cpuUs / m.count).toFixed(0)} µs (all threads)`);

// The ceiling on this machine: Ed25519 verification alone, one thread and the thread pool.
const { sign, verify, generateKeyPairSync } = await import('node:crypto');
const kp = generateKeyPairSync('ed25519');
const msg = Buffer.alloc(32, 7);
const sig = sign(null, msg, kp.privateKey);
let n = 0;
let t0 = performance.now();
while (performance.now() - t0 < 1000) {
  verify(null, msg, kp.publicKey, sig);
  n++;
}
const syncRate = n / ((performance.now() - t0) / 1000);
t0 = performance.now();
const total = 20000;
await new Promise((resolve) => {
  let done = 0;
  for (let i = 0; i < total; i++) verify(null, msg, kp.publicKey, sig, () => ++done === total && resolve());
});
const poolRate = total / ((performance.now() - t0) / 1000);
console.log(`for scale, Ed25519 verification alone: ${Math.round(syncRate).toLocaleString('en-US')}/s on one thread, ${Math.round(poolRate).toLocaleString('en-US')}/s on the thread pool`);
if (keep) console.log(`kept: ${file} (public key ${signer.publicKeyHex})`);
else rmSync(dir, { recursive: true, force: true });

// End-to-end proxy figures (spec proxy.md §9): allowed req/s with receipts on,
// added latency against a direct loopback request, blocked req/s, RSS, and the
// evidence check. Runs in its own processes; prints figures, never fails on timing.
if (args.includes('--no-proxy')) process.exit(0);
const proxyLoad = spawnSync(process.execPath, [join(root, 'scripts/bench-proxy-load.js')], { stdio: 'inherit' });
if (proxyLoad.status !== 0) process.exitCode = proxyLoad.status ?? 1;
