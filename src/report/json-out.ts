/**
 * JSON output that keeps 64-bit integers exact: bigints (chain_seq,
 * final_seq) are written as integer literals, not as strings or rounded
 * doubles.
 */
export function toJson(value: unknown, indent = 2): string {
  const marker = '\u0000bigint:';
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? marker + v.toString() : v), indent);
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}
