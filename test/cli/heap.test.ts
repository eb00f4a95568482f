/**
 * The command line keeps V8's young generation at its initial size (peak
 * RSS of long verifications). Checked in a child process: with the tuning a
 * burst of short-lived garbage leaves new space small, without it V8 grows it.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const heapModule = join(__dirname, '..', '..', 'dist', 'runtime', 'heap.js');

function newSpaceAfterGarbage(tuned: boolean): number {
  const script = `
    ${tuned ? `(await import(${JSON.stringify(heapModule)})).keepYoungGenerationSmall();` : ''}
    const v8 = await import('node:v8');
    let keep = [];
    for (let i = 0; i < 2e6; i++) { const o = { a: 'x' + i, b: [i, i + 1] }; if (i % 100 === 0) keep.push(o); if (keep.length > 1000) keep = []; }
    process.stdout.write(String(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout);
}

describe('heap tuning', () => {
  it('keeps new space at its initial size, where V8 would grow it', () => {
    const tuned = newSpaceAfterGarbage(true);
    const untuned = newSpaceAfterGarbage(false);
    expect(tuned).toBeLessThanOrEqual(4 * 2 ** 20);
    expect(untuned).toBeGreaterThan(tuned);
  });

  it('the shim applies it before running any command', async () => {
    const { readFile } = await import('node:fs/promises');
    const shim = await readFile(join(__dirname, '..', '..', 'bin', 'egress-verify.js'), 'utf8');
    expect(shim.indexOf('keepYoungGenerationSmall()')).toBeGreaterThan(0);
    expect(shim.indexOf('keepYoungGenerationSmall()')).toBeLessThan(shim.indexOf('main(process.argv)'));
  });
});
