#!/usr/bin/env node
// Writes the project's own conformance corpus (receipts-v1 §9.10) from the
// generator in src/conformance/generate.ts (build first: npm run build).
//
//   node scripts/generate-conformance.js              write into conformance/
//   node scripts/generate-conformance.js --out DIR    write into DIR
//   node scripts/generate-conformance.js --check      exit 1, listing the files
//                                                     that differ from a fresh generation
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { diffCorpus, generateCorpus, writeCorpus } = await import(join(root, 'dist/conformance/generate.js'));

const args = process.argv.slice(2);
let out = join(root, 'conformance');
let check = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--check') check = true;
  else if (a === '--out' && i + 1 < args.length) out = resolve(args[++i]);
  else if (a.startsWith('--out=')) out = resolve(a.slice('--out='.length));
  else {
    console.error(`usage: generate-conformance.js [--out DIR] [--check]\nunknown argument: ${a}`);
    process.exit(64);
  }
}

const files = generateCorpus();
if (check) {
  const diffs = await diffCorpus(out, files);
  if (diffs.length) {
    console.error(`${out}: ${diffs.length} file(s) differ from a fresh generation:`);
    for (const d of diffs) console.error(`  ${d.status.padEnd(7)} ${d.path}`);
    console.error('regenerate with: npm run conformance:generate');
    process.exit(1);
  }
  console.log(`${out}: up to date (${files.size} files)`);
} else {
  const { written, removed } = await writeCorpus(out, files);
  console.log(`${out}: wrote ${written} files${removed.length ? `, removed ${removed.length} stale: ${removed.join(', ')}` : ''}`);
}
