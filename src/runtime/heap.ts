/**
 * V8 heap tuning for the command line. Verification allocates a lot of
 * short-lived garbage per receipt (parsed objects, canonical text); left to
 * its defaults V8 grows the young generation to 2 × 16 MiB and the old
 * generation in bursts, so peak RSS on a long chain wandered between 116 and
 * 165 MB from run to run. Keeping the young generation at its initial size
 * made the peak steady (about 120 MB on a 100,000-receipt chain) at the same
 * speed (measured with `npm run bench`). The growth factor is one of the
 * few heap flags V8 reads while running, so it can be set after start-up.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function keepYoungGenerationSmall(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--semi-space-growth-factor=1');
}
