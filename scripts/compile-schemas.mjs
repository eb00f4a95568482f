#!/usr/bin/env node
/**
 * Precompiles the Audit Packet v0 schema into a standalone ESM validator so
 * that the CLI never compiles a schema at start-up.
 *
 *   node scripts/compile-schemas.mjs [--out FILE]
 *
 * Reads schemas/audit-packet-v0.schema.json and writes
 * dist/packet/schema-validator.js (next to the compiled dist/packet/schema.js,
 * which imports it). Run it after `tsc -p tsconfig.build.json`.
 *
 * The Ajv options here must stay identical to the runtime fallback in
 * src/packet/schema.ts: test/packet/schema.test.ts compares the two.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';
import addFormats from 'ajv-formats';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCHEMA_FILE = path.join(repoRoot, 'schemas', 'audit-packet-v0.schema.json');
const DEFAULT_OUT = path.join(repoRoot, 'dist', 'packet', 'schema-validator.js');

/**
 * Ajv emits `require(...)` calls for its runtime helpers (ucs2length, the
 * date-time format) even in ESM mode. Giving the module a local `require`
 * keeps those lookups working and resolves them from the installed package,
 * where ajv and ajv-formats are runtime dependencies.
 */
const ESM_REQUIRE_SHIM =
  'import { createRequire } from "node:module";\nconst require = createRequire(import.meta.url);\n';

/** Inserts the shim after Ajv's leading "use strict" so the directive stays first. */
function withRequireShim(code) {
  const directive = '"use strict";';
  return code.startsWith(directive)
    ? `${directive}\n${ESM_REQUIRE_SHIM}${code.slice(directive.length)}`
    : ESM_REQUIRE_SHIM + code;
}

function parseOutArg(argv) {
  const i = argv.indexOf('--out');
  if (i === -1) return DEFAULT_OUT;
  const value = argv[i + 1];
  if (!value) throw new Error('--out needs a file name');
  return path.resolve(value);
}

function compileStandalone(schema) {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictRequired: false,
    code: { source: true, esm: true },
  });
  addFormats(ajv);
  return standaloneCode(ajv, ajv.compile(schema));
}

function main() {
  const out = parseOutArg(process.argv.slice(2));
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8'));
  const code = compileStandalone(schema);
  mkdirSync(path.dirname(out), { recursive: true });
  const banner = '// Generated from schemas/audit-packet-v0.schema.json by scripts/compile-schemas.mjs; do not edit.\n';
  writeFileSync(out, banner + withRequireShim(code) + '\n');
  process.stdout.write(`wrote ${path.relative(process.cwd(), out) || out}\n`);
}

main();
