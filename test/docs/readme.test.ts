/**
 * The README states facts the code owns: the zip limits table and the exit
 * codes. These tests keep the two from drifting apart.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderLimitsMarkdown } from '../../src/bundle/limits.js';
import { EXIT } from '../../src/report/reasons.js';
import { repoRoot } from '../helpers/fixtures.js';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

describe('README', () => {
  it('embeds the zip limits table exactly as src/bundle/limits.ts renders it', () => {
    expect(readme).toContain(renderLimitsMarkdown().trim());
  });

  it('documents every exit code the CLI uses', () => {
    for (const code of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`^\\| ${code} \\|`, 'm'));
  });

  it('has the two-command quick start', () => {
    expect(readme).toContain('npm install && npm start\nnpm test\n');
  });
});
