/**
 * Canonical bytes of a validated receipt (receipts-v1 §4, §5): Go's
 * encoding/json output for the typed structs, driven by the field table.
 * Callers must have validated the value against the same table first.
 */
import { JArr, JNum, JObj, type JVal } from '../json/strict.js';
import { compactRawGo, compareCodePoints, goQuote } from '../json/go-encode.js';
import { ACTION_RECORD, type FieldSpec, type ObjectSpec } from './fields.js';

/** True when Go's omitempty would drop this value. */
export function isZeroValue(f: FieldSpec, v: JVal): boolean {
  switch (f.kind) {
    case 'string':
    case 'time':
      return v === '';
    case 'int':
    case 'uint64':
    case 'uint8':
      return v instanceof JNum && v.raw === '0';
    case 'bool':
      return v === false;
    case 'strings':
    case 'objects':
      return v === null || (v instanceof JArr && v.items.length === 0);
    case 'intmap':
      return v === null || (v instanceof JObj && v.size === 0);
    case 'object':
      return v === null; // a present struct, even {}, is kept
    case 'raw':
      return false; // ext counts as present whatever its value
  }
}

function encodeValue(f: FieldSpec, v: JVal, text: string, span: [number, number] | undefined): string {
  switch (f.kind) {
    case 'string':
    case 'time': // validated to be in Go's rendered form already
      return goQuote(v as string);
    case 'int':
    case 'uint64':
    case 'uint8':
      return (v as JNum).raw;
    case 'bool':
      return v ? 'true' : 'false';
    case 'strings': {
      if (v === null) return 'null';
      const items = (v as JArr).items;
      let out = '[';
      for (let i = 0; i < items.length; i++) out += (i ? ',' : '') + goQuote(items[i] as string);
      return out + ']';
    }
    case 'intmap': {
      if (v === null) return 'null';
      const m = v as JObj;
      const order = m.keys.map((_, i) => i).sort((a, b) => compareCodePoints(m.keys[a]!, m.keys[b]!));
      let out = '{';
      for (let n = 0; n < order.length; n++) {
        const i = order[n]!;
        out += (n ? ',' : '') + goQuote(m.keys[i]!) + ':' + (m.vals[i] as JNum).raw;
      }
      return out + '}';
    }
    case 'object':
      return v === null ? 'null' : encodeObject(f.of!, v as JObj, text);
    case 'objects': {
      if (v === null) return 'null';
      const items = (v as JArr).items;
      let out = '[';
      for (let i = 0; i < items.length; i++) out += (i ? ',' : '') + encodeObject(f.of!, items[i] as JObj, text);
      return out + ']';
    }
    case 'raw':
      return compactRawGo(text.slice(span![0], span![1]));
  }
}

/** Go's bytes for a struct: table order, omitempty applied, no whitespace. */
export function encodeObject(spec: ObjectSpec, o: JObj, text: string): string {
  let out = '{';
  let first = true;
  for (const f of spec.fields) {
    const v = o.get(f.name);
    if (v === undefined) continue;
    if (f.omitempty && isZeroValue(f, v)) continue;
    out += (first ? '"' : ',"') + f.name + '":' + encodeValue(f, v, text, f.kind === 'raw' ? o.span(f.name) : undefined);
    first = false;
  }
  return out + '}';
}

/** The signing projection: canonical ActionRecord bytes (§5.1), as text. */
export function canonicalActionRecord(ar: JObj, text: string): string {
  return encodeObject(ACTION_RECORD, ar, text);
}

/**
 * The receipt-hash preimage (§5.3): the envelope in table order with the
 * canonical ActionRecord inside and `ext` (when present) last, as source
 * bytes compacted.
 */
export function canonicalEnvelope(env: JObj, canonicalAR: string, text: string): string {
  let out = '{"version":' + (env.get('version') as JNum).raw + ',"action_record":' + canonicalAR;
  out += ',"signature":' + goQuote(env.get('signature') as string) + ',"signer_key":' + goQuote(env.get('signer_key') as string);
  const ext = env.span('ext');
  if (ext) out += ',"ext":' + compactRawGo(text.slice(ext[0], ext[1]));
  return out + '}';
}
