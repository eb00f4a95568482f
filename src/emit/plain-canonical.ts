/**
 * Canonical ActionRecord bytes straight from a plain record object, for the
 * shape a live recorder writes thousands of times a second: flat members of
 * string, time, integer, bool and string-list kinds.
 *
 * The strict path (record → JSON text → strict reader → steps 4–10 →
 * encoder) costs more than the Ed25519 signature itself. This path makes the
 * same bytes without the round trip, and it is deliberately timid: whenever a
 * record is not plainly valid — an unknown or nested member, a missing one,
 * a value of the wrong type or range, an empty required string, a control
 * character, a time not in Go's rendered form — it returns null and the
 * caller takes the strict path, which names the problem. A test holds the
 * two paths to identical bytes.
 */
import { goQuote } from '../json/go-encode.js';
import { ACTION_RECORD, ACTION_TYPES, type FieldSpec } from '../receipt/fields.js';
import { isZeroTime, parseGoTime, renderGoTime } from '../receipt/time.js';
import type { ActionRecordInput, RecordValue } from './receipt.js';

/** C0 controls except TAB, LF, CR: the strict path's header_injection set (§9.2). */
const INJECTED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/**
 * Text the strict path reads back unchanged: no injected controls, and no
 * lone surrogate (the strict reader refuses its escape).
 */
function plainText(s: string): boolean {
  return !INJECTED.test(s) && (s as string & { isWellFormed(): boolean }).isWellFormed();
}

const INT_RANGE: Record<'int' | 'uint64' | 'uint8', readonly [bigint, bigint]> = {
  int: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  uint8: [0n, 255n],
};

/** Members Go's Validate requires to be non-empty (receipts-v1 §9.3 step 9). */
const NON_EMPTY = ['action_id', 'target', 'verdict', 'transport'] as const;

const actionTypes: ReadonlySet<string> = new Set(ACTION_TYPES);

/** The canonical text of one member, '' when omitempty drops it, null when the fast path declines. */
function encodeMember(f: FieldSpec, v: RecordValue): string | null {
  switch (f.kind) {
    case 'string':
      return typeof v === 'string' && plainText(v) ? (f.omitempty && v === '' ? '' : goQuote(v)) : null;
    case 'time': {
      // Rendered form only, and nothing the JSON text would need to escape.
      if (typeof v !== 'string' || JSON.stringify(v).length !== v.length + 2) return null;
      const t = parseGoTime(v);
      if (!t || renderGoTime(t) !== v || isZeroTime(t)) return null;
      return '"' + v + '"';
    }
    case 'int':
    case 'uint64':
    case 'uint8': {
      let n: bigint;
      if (typeof v === 'bigint') n = v;
      else if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
      else return null;
      const [lo, hi] = INT_RANGE[f.kind];
      if (n < lo || n > hi) return null;
      return f.omitempty && n === 0n ? '' : n.toString();
    }
    case 'bool':
      return typeof v === 'boolean' ? (f.omitempty && !v ? '' : String(v)) : null;
    case 'strings': {
      if (v === null) return f.omitempty ? '' : 'null';
      if (!Array.isArray(v)) return null;
      if (v.length === 0) return f.omitempty ? '' : '[]';
      let out = '[';
      for (let i = 0; i < v.length; i++) {
        const s = v[i];
        if (typeof s !== 'string' || !plainText(s)) return null;
        out += (i ? ',' : '') + goQuote(s);
      }
      return out + ']';
    }
    default:
      return null; // nested structs, maps and raw `ext` take the strict path
  }
}

/** Canonical ActionRecord text (§4, §5.1), or null: take the strict path. */
export function plainCanonicalActionRecord(record: ActionRecordInput): string | null {
  for (const k of Object.keys(record)) {
    if (record[k] !== undefined && !ACTION_RECORD.byName.has(k)) return null;
  }
  if (record.version !== 1) return null;
  const actionType = record.action_type;
  if (typeof actionType !== 'string' || !actionTypes.has(actionType)) return null;
  for (const name of NON_EMPTY) if (record[name] === '') return null;

  let out = '{';
  for (const f of ACTION_RECORD.fields) {
    // Own members only, as the strict path's Object.entries sees them.
    const v = Object.hasOwn(record, f.name) ? record[f.name] : undefined;
    if (v === undefined) {
      if (f.omitempty) continue;
      return null; // missing required member
    }
    const text = encodeMember(f, v);
    if (text === null) return null;
    if (text === '') continue;
    out += (out.length > 1 ? ',"' : '"') + f.name + '":' + text;
  }
  return out + '}';
}
