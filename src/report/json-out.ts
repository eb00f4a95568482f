import { randomUUID } from 'node:crypto';

/**
 * JSON output that keeps 64-bit integers exact: bigints (chain_seq,
 * final_seq) are written as integer literals, not as strings or rounded
 * doubles.
 */
export function toJson(value: unknown, indent = 2): string {
  // A per-call random marker: no string in the report can forge it.
  const marker = `bigint-${randomUUID()}:`;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? marker + v.toString() : v), indent);
  return text.replace(new RegExp(`"${marker}(-?\\d+)"`, 'g'), '$1');
}
