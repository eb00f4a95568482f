/**
 * Wording for JSON Schema findings shared by the packet and policy
 * validators: what a type is called and how an offending value is shown.
 */

const MAX_SHOWN = 60;

/** `integer,null` → "an integer or null". */
export function typeNoun(type: string): string {
  const nouns: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    object: 'an object',
    array: 'an array',
    null: 'null',
  };
  return type
    .split(',')
    .map((t) => nouns[t] ?? t)
    .join(' or ');
}

/** A short rendering of an offending value; long strings are cut. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return JSON.stringify(value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value);
  return String(value);
}

/** The first of each group of findings with the same key, in order (Ajv repeats itself across branches). */
export function uniqueBy<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
