/**
 * The structural steps of receipts-v1 §9.3 (steps 4–10), one function each.
 * Each returns the first problem as {reason, message, pointer} or null;
 * they are called in spec order by `checkReceipt` (receipt.ts).
 */
import { escapePointer, JArr, JNum, JObj, typeName, type JVal } from '../json/strict.js';
import type { RejectReason } from '../report/reasons.js';
import { ENVELOPE, INT_RANGES, SESSION_KINDS, type FieldSpec, type ObjectSpec } from './fields.js';
import { isZeroTime, parseGoTime, renderGoTime } from './time.js';

export interface Problem {
  reason: RejectReason;
  message: string;
  /** JSON Pointer relative to the receipt object. */
  pointer: string;
}

export interface StructurePolicy {
  acceptedVersions: readonly number[];
  actionTypes: readonly string[];
  /** Allowed verdict values; null = any (production and corpus default). */
  verdicts: readonly string[] | null;
}

function problem(reason: RejectReason, pointer: string, message: string): Problem {
  return { reason, message, pointer };
}

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** A JSON integer in minimal form; `-0` is refused (§4.5, project rule). */
export function isIntegerLiteral(v: JVal | undefined): v is JNum {
  return v instanceof JNum && INTEGER.test(v.raw) && v.raw !== '-0';
}

/** Step 4: `record_type` routing (§2, §10). */
export function checkRecordType(env: JObj): Problem | null {
  if (!env.has('record_type')) return null;
  const rt = env.get('record_type');
  if (rt === 'action_receipt_v1') return null; // routed to v1, then fails as an unknown member
  if (rt === 'evidence_receipt_v2') {
    return problem(
      'unsupported_version',
      '/record_type',
      'this is an EvidenceReceipt v2 (record_type "evidence_receipt_v2"); v2 signature verification is not supported yet, only ActionReceipt v1',
    );
  }
  return problem('unsupported_version', '/record_type', `unsupported record_type ${JSON.stringify(rt ?? null)}: only ActionReceipt v1 receipts can be verified`);
}

/** Step 5: envelope and action_record versions, when they are integers. */
export function checkVersions(env: JObj, policy: StructurePolicy): Problem | null {
  const check = (v: JVal | undefined, pointer: string, what: string): Problem | null => {
    if (!isIntegerLiteral(v)) return null; // non-integers are a type problem (step 8)
    const n = Number(v.raw);
    if (policy.acceptedVersions.includes(n) && String(n) === v.raw) return null;
    return problem('unsupported_version', pointer, `${what} is ${v.raw}; accepted: ${policy.acceptedVersions.join(', ')}`);
  };
  const ar = env.get('action_record');
  return check(env.get('version'), '/version', 'receipt version') ?? (ar instanceof JObj ? check(ar.get('version'), '/action_record/version', 'action_record.version') : null);
}

/** Calls `visit` for the envelope, the action_record and every nested struct, in table order. */
function walkObjects(env: JObj, visit: (spec: ObjectSpec, o: JObj, pointer: string) => Problem | null): Problem | null {
  const walk = (spec: ObjectSpec, o: JObj, pointer: string): Problem | null => {
    const p = visit(spec, o, pointer);
    if (p) return p;
    for (const f of spec.fields) {
      if (!f.of) continue;
      const v = o.get(f.name);
      if (f.kind === 'object' && v instanceof JObj) {
        const q = walk(f.of, v, `${pointer}/${f.name}`);
        if (q) return q;
      } else if (f.kind === 'objects' && v instanceof JArr) {
        for (let i = 0; i < v.items.length; i++) {
          const item = v.items[i];
          if (item instanceof JObj) {
            const q = walk(f.of, item, `${pointer}/${f.name}/${i}`);
            if (q) return q;
          }
        }
      }
    }
    return null;
  };
  return walk(ENVELOPE, env, '');
}

/** Step 6: no member outside the schema, at any depth (`ext` and map keys excepted). */
export function checkUnknownMembers(env: JObj): Problem | null {
  return walkObjects(env, (spec, o, pointer) => {
    for (const k of o.keys) {
      if (!spec.byName.has(k)) {
        const where = spec === ENVELOPE ? 'the receipt envelope' : spec.name;
        return problem('unknown_field', `${pointer}/${escapePointer(k)}`, `unknown member ${JSON.stringify(k)} in ${where}; only the signed schema's members (and "ext" at the top level) are allowed`);
      }
    }
    return null;
  });
}

/** Step 7: every non-omitempty member is present (§3.9). */
export function checkPresence(env: JObj): Problem | null {
  return walkObjects(env, (spec, o, pointer) => {
    for (const f of spec.fields) {
      if (!f.omitempty && !o.has(f.name)) {
        return problem('missing_required_field', `${pointer}/${f.name}`, `required member "${f.name}" is missing from ${spec === ENVELOPE ? 'the receipt' : spec.name}`);
      }
    }
    return null;
  });
}

function typeProblem(f: FieldSpec, v: JVal, parent: string): Problem | null {
  if (isWellTyped(f, v)) return null;
  const pointer = `${parent}/${f.name}`;
  const bad = (expected: string) => problem('malformed_json', pointer, `"${f.name}" must be ${expected}, found ${v === null ? 'null' : typeName(v)}`);
  if (v === null) return f.nullable ? null : bad(expectedOf(f));
  switch (f.kind) {
    case 'string':
    case 'time':
      return typeof v === 'string' ? null : bad('a string');
    case 'bool':
      return typeof v === 'boolean' ? null : bad('true or false');
    case 'int':
    case 'uint64':
    case 'uint8':
      return integerProblem(f.kind, v, pointer, f.name);
    case 'strings':
      if (!(v instanceof JArr)) return bad('an array of strings');
      for (let i = 0; i < v.items.length; i++) {
        if (typeof v.items[i] !== 'string') return problem('malformed_json', `${pointer}/${i}`, `"${f.name}" elements must be strings, found ${typeName(v.items[i])}`);
      }
      return null;
    case 'intmap':
      if (!(v instanceof JObj)) return bad('an object of integers');
      for (let i = 0; i < v.keys.length; i++) {
        const p = integerProblem('int', v.vals[i]!, `${pointer}/${escapePointer(v.keys[i]!)}`, `${f.name}.${v.keys[i]}`);
        if (p) return p;
      }
      return null;
    case 'object':
      return v instanceof JObj ? null : bad('an object');
    case 'objects':
      if (!(v instanceof JArr)) return bad('an array of objects');
      for (let i = 0; i < v.items.length; i++) {
        if (!(v.items[i] instanceof JObj)) return problem('malformed_json', `${pointer}/${i}`, `"${f.name}" elements must be objects, found ${typeName(v.items[i])}`);
      }
      return null;
    case 'raw':
      return null;
  }
}

/** The common case, checked without building messages or pointers. */
function isWellTyped(f: FieldSpec, v: JVal): boolean {
  if (v === null) return f.nullable;
  switch (f.kind) {
    case 'string':
    case 'time':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'int':
    case 'uint64':
    case 'uint8': {
      if (!(v instanceof JNum) || !isIntegerLiteral(v)) return false;
      // Up to 15 digits every kind but uint8 is in range; longer ones take the exact path.
      if (v.raw.length > 15 || f.kind === 'uint8') return false;
      return f.kind === 'int' || !v.raw.startsWith('-');
    }
    case 'object':
      return v instanceof JObj;
    case 'raw':
      return true;
    default:
      return false; // arrays and maps: checked element by element
  }
}

function expectedOf(f: FieldSpec): string {
  switch (f.kind) {
    case 'string':
    case 'time':
      return 'a string';
    case 'bool':
      return 'true or false';
    case 'object':
      return 'an object';
    default:
      return 'an integer';
  }
}

function integerProblem(kind: 'int' | 'uint64' | 'uint8', v: JVal, pointer: string, name: string): Problem | null {
  if (!(v instanceof JNum)) return problem('malformed_json', pointer, `"${name}" must be an integer, found ${v === null ? 'null' : typeName(v)}`);
  if (!isIntegerLiteral(v)) {
    return problem('malformed_json', pointer, `"${name}" must be a plain integer (no fraction, exponent, leading zero or -0), found ${(v as JNum).raw}`);
  }
  const [lo, hi] = INT_RANGES[kind];
  const n = BigInt(v.raw);
  if (n < lo || n > hi) return problem('malformed_json', pointer, `"${name}" = ${v.raw} is out of range for ${kind} (${lo}…${hi})`);
  return null;
}

/** Step 8: JSON types, integer forms and ranges, forbidden nulls, session_control shape. */
export function checkTypes(env: JObj): Problem | null {
  return walkObjects(env, (spec, o, pointer) => {
    for (const f of spec.fields) {
      const v = o.get(f.name);
      if (v === undefined) continue;
      const p = typeProblem(f, v, pointer);
      if (p) return p;
    }
    if (spec.name === 'session_control') return sessionControlShape(o, pointer);
    return null;
  });
}

function sessionControlShape(sc: JObj, pointer: string): Problem | null {
  const kind = sc.get('kind') as string;
  const want = SESSION_KINDS[kind];
  if (!want) {
    return problem('malformed_json', `${pointer}/kind`, `session_control.kind ${JSON.stringify(kind)} is not one of session_open, heartbeat, session_close`);
  }
  const present = (['open', 'heartbeat', 'close'] as const).filter((k) => sc.get(k) instanceof JObj);
  if (present.length !== 1 || present[0] !== want) {
    return problem(
      'malformed_json',
      pointer,
      `session_control of kind "${kind}" must carry exactly one payload, "${want}" (found: ${present.length ? present.join(', ') : 'none'})`,
    );
  }
  return null;
}

/** Checks a time string: §4.6 grammar, no escapes in its raw text, already in Go's rendered form. */
export function timeProblem(value: string, rawText: string, pointer: string, name: string): Problem | null {
  if (rawText.includes('\\')) return problem('malformed_json', pointer, `"${name}" must not use escape sequences in its text`);
  const t = parseGoTime(value);
  if (!t) return problem('malformed_json', pointer, `"${name}" ${JSON.stringify(value)} is not an RFC 3339 time (YYYY-MM-DDThh:mm:ss[.frac](Z|±hh:mm))`);
  const rendered = renderGoTime(t);
  if (rendered !== value) {
    return problem('malformed_json', pointer, `"${name}" ${JSON.stringify(value)} is not in canonical form (Go renders it as ${JSON.stringify(rendered)})`);
  }
  return null;
}

/** Step 9: Go's Validate rules, in the spec's order. */
export function checkValidate(env: JObj, text: string, policy: StructurePolicy): Problem | null {
  const ar = env.get('action_record') as JObj;
  const empty = (name: string): Problem => problem('missing_required_field', `/action_record/${name}`, `"${name}" must not be empty`);
  if (ar.get('action_id') === '') return empty('action_id');
  const at = ar.get('action_type') as string;
  if (!policy.actionTypes.includes(at)) {
    return problem('invalid_action_type', '/action_record/action_type', `action_type ${JSON.stringify(at)} is not one of ${policy.actionTypes.join(', ')}`);
  }
  const ts = ar.get('timestamp') as string;
  if (ts === '') return empty('timestamp');
  const [s, e] = ar.span('timestamp')!;
  const tp = timeProblem(ts, text.slice(s, e), '/action_record/timestamp', 'timestamp');
  if (tp) return tp;
  if (isZeroTime(parseGoTime(ts)!)) return problem('missing_required_field', '/action_record/timestamp', 'timestamp is the zero time 0001-01-01T00:00:00Z, which means "missing"');
  for (const name of ['target', 'verdict', 'transport']) if (ar.get(name) === '') return empty(name);
  if (policy.verdicts && !policy.verdicts.includes(ar.get('verdict') as string)) {
    return problem('invalid_verdict', '/action_record/verdict', `verdict ${JSON.stringify(ar.get('verdict'))} is not one of ${policy.verdicts.join(', ')}`);
  }
  if (env.get('signature') === '') return problem('missing_required_field', '/signature', '"signature" must not be empty');
  if (env.get('signer_key') === '') return problem('missing_required_field', '/signer_key', '"signer_key" must not be empty');
  const taints = ar.get('recent_taint_sources');
  if (taints instanceof JArr) {
    for (let i = 0; i < taints.items.length; i++) {
      const t = taints.items[i] as JObj;
      const [ts0, ts1] = t.span('timestamp')!;
      const p = timeProblem(t.get('timestamp') as string, text.slice(ts0, ts1), `/action_record/recent_taint_sources/${i}/timestamp`, 'recent_taint_sources[].timestamp');
      if (p) return p;
    }
  }
  return null;
}

/** Code points that make `header_injection`: C0 controls except TAB, LF, CR. */
const INJECTED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

function injectedControl(s: string): number {
  const m = INJECTED.exec(s);
  return m ? m[0].charCodeAt(0) : -1;
}

/** Step 10: control characters anywhere in the signed string surface (§9.2). */
export function checkHeaderInjection(env: JObj): Problem | null {
  const found = (pointer: string, c: number): Problem =>
    problem('header_injection', pointer, `string at ${pointer} contains the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`);
  for (const name of ['signature', 'signer_key']) {
    const c = injectedControl(env.get(name) as string);
    if (c >= 0) return found(`/${name}`, c);
  }
  // The path is built only when something is found: this runs on every receipt.
  const path: string[] = ['action_record'];
  const here = () => '/' + path.map(escapePointer).join('/');
  const scan = (v: JVal): Problem | null => {
    if (typeof v === 'string') {
      const c = injectedControl(v);
      return c >= 0 ? found(here(), c) : null;
    }
    if (v instanceof JArr) {
      for (let i = 0; i < v.items.length; i++) {
        path.push(String(i));
        const p = scan(v.items[i]!);
        if (p) return p;
        path.pop();
      }
    } else if (v instanceof JObj) {
      for (let i = 0; i < v.keys.length; i++) {
        const key = v.keys[i]!;
        path.push(key);
        const c = injectedControl(key); // by_class keys are signed text too
        if (c >= 0) return found(here(), c);
        const p = scan(v.vals[i]!);
        if (p) return p;
        path.pop();
      }
    }
    return null;
  };
  return scan(env.get('action_record') as JObj);
}


