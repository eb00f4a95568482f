/**
 * Audit Packet v0 schema stage (spec/audit-packet-v0.md §2, §3.3 step 5).
 *
 * Validates a parsed packet.json against schemas/audit-packet-v0.schema.json,
 * which accepts and rejects exactly what the published Pipelock schema does.
 * All errors are collected, as the TypeScript and Rust references do (§2.9).
 *
 * The validator is normally the standalone module that
 * scripts/compile-schemas.mjs writes next to the compiled version of this file
 * (dist/packet/schema-validator.js), so a CLI run never compiles a schema.
 * When that file is missing (tests run src/ directly) the schema is compiled
 * once at runtime with the same Ajv options.
 *
 * The semantic rules the schema cannot state live in ./semantics.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ErrorObject } from 'ajv';
import { describeValue, typeNoun, uniqueBy } from '../json/schema-text.js';
import { escapePointer } from '../json/strict.js';

/** One schema or semantic failure, located by a JSON Pointer into packet.json. */
export interface SchemaError {
  /** JSON Pointer of the offending instance location ("" is the whole packet). */
  pointer: string;
  /** The failing JSON Schema keyword, or the semantic rule's keyword. */
  keyword: string;
  /** A plain-language sentence that starts with the location and names the member. */
  message: string;
}

export type SchemaResult = { ok: true } | { ok: false; errors: SchemaError[] };

/** The shape shared by Ajv's compiled and standalone validators. */
type PacketValidator = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

// Both paths resolve the same way from src/packet/ and from dist/packet/.
const PRECOMPILED_URL = new URL('../packet/schema-validator.js', import.meta.url);
const SCHEMA_URL = new URL('../../schemas/audit-packet-v0.schema.json', import.meta.url);

const precompiled = await loadPrecompiledValidator();
// Ajv itself is only loaded when there is no precompiled validator.
const compileAtRuntime = precompiled ? undefined : await loadRuntimeCompiler();
let runtimeValidator: PacketValidator | undefined;

/** Where the active validator came from; useful for diagnostics and tests. */
export const schemaValidatorSource: 'precompiled' | 'runtime' = precompiled ? 'precompiled' : 'runtime';

/** Checks packet.json against the Audit Packet v0 JSON Schema. */
export function validatePacketSchema(value: unknown): SchemaResult {
  const validate = activeValidator();
  if (validate(value)) return { ok: true };
  return { ok: false, errors: toSchemaErrors(validate.errors ?? [], value) };
}

async function loadPrecompiledValidator(): Promise<PacketValidator | undefined> {
  // Checking for the file first means a precompiled module that exists but
  // fails to load is reported, instead of being silently replaced.
  if (!existsSync(fileURLToPath(PRECOMPILED_URL))) return undefined;
  const mod = (await import(PRECOMPILED_URL.href)) as { default: PacketValidator };
  return mod.default;
}

async function loadRuntimeCompiler(): Promise<() => PacketValidator> {
  const { Ajv2020 } = await import('ajv/dist/2020.js');
  const formats = await import('ajv-formats');
  // ajv-formats is CommonJS; its plugin function is reachable as `.default`
  // both through the type declarations and at runtime.
  const addFormats = formats.default.default;
  return () => {
    // Keep these options identical to scripts/compile-schemas.mjs.
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    addFormats(ajv);
    const schema: unknown = JSON.parse(readFileSync(SCHEMA_URL, 'utf8'));
    return ajv.compile(schema as object) as PacketValidator;
  };
}

function activeValidator(): PacketValidator {
  if (precompiled) return precompiled;
  runtimeValidator ??= compileAtRuntime!();
  return runtimeValidator;
}

// ---------------------------------------------------------------------------
// Turning Ajv's errors into sentences a person can act on.

/**
 * Converts Ajv errors for `instance` into SchemaErrors. Exported so that any
 * validator built from the same schema (the precompiled one, the runtime one)
 * reports identically.
 */
export function toSchemaErrors(errors: readonly ErrorObject[], instance: unknown): SchemaError[] {
  // The artifact-path rules each restate "must be a string"; say it once.
  return uniqueBy(
    errors.map((e) => convertError(e, instance)).filter((c): c is SchemaError => c !== undefined),
    (c) => `${c.pointer}\u0000${c.keyword}\u0000${c.message}`,
  );
}

function convertError(e: ErrorObject, instance: unknown): SchemaError | undefined {
  // An if/then failure is always accompanied by the specific error inside
  // "then"; the summary line adds nothing.
  if (e.keyword === 'if') return undefined;
  const pointer = e.instancePath;
  const found = valueAt(instance, pointer);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return requiredError(pointer, String(params.missingProperty));
    case 'additionalProperties':
      return unknownMemberError(pointer, String(params.additionalProperty));
    case 'type':
      return at(pointer, e.keyword, `must be ${typeNoun(String(params.type))}, found ${describeValue(found)}`);
    case 'minimum':
      return at(pointer, e.keyword, `must be at least ${String(params.limit)}, found ${describeValue(found)}`);
    case 'minLength':
      return at(pointer, e.keyword, minLengthText(Number(params.limit)));
    case 'enum':
      return at(pointer, e.keyword, `must be one of ${listValues(params.allowedValues)}, found ${describeValue(found)}`);
    case 'const':
      return at(pointer, e.keyword, constText(pointer, params.allowedValue, found));
    case 'format':
      return at(pointer, e.keyword, `${formatText(String(params.format))}, found ${describeValue(found)}`);
    case 'pattern':
      return at(pointer, e.keyword, `${patternText(String(params.pattern))}, found ${describeValue(found)}`);
    default:
      return at(pointer, e.keyword, e.message ?? `fails the "${e.keyword}" rule`);
  }
}

function at(pointer: string, keyword: string, text: string): SchemaError {
  return { pointer, keyword, message: `${where(pointer)}: ${text}` };
}

function requiredError(pointer: string, member: string): SchemaError {
  const why = REQUIRED_BECAUSE[`${pointer}/${member}`];
  const text = `required member "${member}" is missing${why ? ` (${why})` : ''}`;
  return at(pointer, 'required', text);
}

/** The offending location of an unknown member is the member itself. */
function unknownMemberError(parent: string, member: string): SchemaError {
  const pointer = `${parent}/${escapePointer(member)}`;
  return {
    pointer,
    keyword: 'additionalProperties',
    message: `${pointer}: unknown member "${member}" is not allowed in ${where(parent)}`,
  };
}

/** Requirements that only apply in some states, explained. */
const REQUIRED_BECAUSE: Readonly<Record<string, string>> = {
  '/verifier/signer_key': 'a verifier claiming verdict "valid" or trusted: true must name the signer key it pinned',
};

/** The two conditional rules on the verifier object fail as "const" on one member. */
const CONST_BECAUSE: Readonly<Record<string, string>> = {
  '/verifier/trusted': 'must be true when verdict is "valid"',
  '/verifier/verdict': 'must be "valid" when trusted is true',
};

function constText(pointer: string, allowed: unknown, found: unknown): string {
  const because = CONST_BECAUSE[pointer];
  const text = because ?? `must be exactly ${JSON.stringify(allowed)}`;
  return `${text}, found ${describeValue(found)}`;
}

/**
 * Every pattern of schemas/audit-packet-v0.schema.json, explained. A test
 * fails when the schema gains a pattern that is missing here.
 */
const PATTERN_TEXT: Readonly<Record<string, string>> = {
  '^(?!\\.$)': 'must not be "." (the packet directory itself)',
  '^(?!/)': 'must be a relative path (no leading "/")',
  '^[^:]*$': 'must not contain ":" (drive letters and URL schemes are not relative paths)',
  '^[^\\\\]*$': 'must not contain a backslash (use "/" between path segments)',
  '^(?!(?:[\\s\\S]*/)?\\.\\.(?:/|$))': 'must not contain a ".." segment (it would leave the packet directory)',
  '^sha256:[0-9a-f]{64}$': 'must be "sha256:" followed by 64 lowercase hex digits',
  '^hmac-sha256:[0-9a-f]{64}$': 'must be "hmac-sha256:" followed by 64 lowercase hex digits',
};

/** Whether `pattern` has a plain-language explanation (see PATTERN_TEXT). */
export function isExplainedPattern(pattern: string): boolean {
  return Object.hasOwn(PATTERN_TEXT, pattern);
}

function patternText(pattern: string): string {
  return PATTERN_TEXT[pattern] ?? `must match the pattern ${pattern}`;
}

function formatText(format: string): string {
  return format === 'date-time'
    ? 'must be an RFC 3339 date-time with a time-zone offset (e.g. 2026-05-10T12:00:05Z)'
    : `must be a valid ${format}`;
}

function minLengthText(limit: number): string {
  return limit === 1 ? 'must not be empty' : `must be at least ${limit} characters long`;
}

function listValues(values: unknown): string {
  return Array.isArray(values) ? values.map((v) => JSON.stringify(v)).join(', ') : String(values);
}

function where(pointer: string): string {
  return pointer === '' ? '(root)' : pointer;
}


/** Resolves a JSON Pointer (RFC 6901) against a parsed JSON value. */
function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = Array.isArray(node) ? node[Number(token)] : (node as Record<string, unknown>)[token];
  }
  return node;
}
