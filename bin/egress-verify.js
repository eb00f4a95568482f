#!/usr/bin/env node
// Thin shim: the CLI lives in the TypeScript build (npm install runs it).
import { main } from '../dist/cli/main.js';
import { keepYoungGenerationSmall } from '../dist/runtime/heap.js';

keepYoungGenerationSmall();

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`egress-verify: internal error: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 2;
  },
);
