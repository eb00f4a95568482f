/**
 * Request-body DLP, spec/proxy.md §5.10. The raw text is always scanned
 * (Content-Type spoofing never skips the scan); JSON, form and multipart
 * bodies are also taken apart. Fail-closed conditions (layer `body_dlp`,
 * severity `medium`, `floor`): a compressed body, a body over
 * `max_body_bytes` (unless `oversize_body: allow_unscanned`), invalid JSON or
 * form when declared as such, multipart without a boundary, more than 100
 * parts, a filename over 256 bytes.
 */
import type { Finding } from '../types.js';
import { entropyFlags, finding, runTargets, TargetSet } from './dlp.js';
import { percentDecodeIter } from './normalize.js';
import { compileDlp } from './patterns.js';
import { DEFAULT_LIMITS, type ScanOptions } from './options.js';

export const MAX_MULTIPART_PARTS = 100;
export const MAX_MULTIPART_FILENAME_BYTES = 256;

function failClosed(reason: string, signal: string): Finding {
  return finding('body_dlp', 'medium', reason, 'body', { floor: true, signal });
}

export interface MediaType {
  type: string;
  params: Record<string, string>;
}

/** `type/subtype; a=b; c="d"` → lower-cased type and parameters (names lower-cased, values unquoted). */
export function parseMediaType(ct: string | undefined): MediaType {
  if (!ct) return { type: '', params: {} };
  const [head, ...rest] = ct.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (k && !(k in params)) params[k] = v;
  }
  return { type: (head ?? '').trim().toLowerCase(), params };
}

/** Content codings other than identity (a request body with one is not scannable: fail closed). */
export function nonIdentityCodings(contentEncoding: string | undefined): string[] {
  if (!contentEncoding) return [];
  return contentEncoding
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0 && s !== 'identity');
}

/** Body bytes as text: UTF-16 when a BOM says so, else UTF-8 (invalid sequences become U+FFFD). */
export function bodyText(b: Buffer): string {
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) {
    const sw = Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)));
    sw.swap16();
    return sw.toString('utf16le');
  }
  return b.toString('utf8');
}

function collectJsonStrings(v: unknown, out: string[], budget: { n: number }): void {
  if (budget.n <= 0) return;
  if (typeof v === 'string') {
    out.push(v);
    budget.n--;
  } else if (Array.isArray(v)) {
    for (const x of v) collectJsonStrings(x, out, budget);
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out.push(k);
      budget.n--;
      collectJsonStrings(x, out, budget);
    }
  }
}

function decodeQuotedPrintable(s: string): Buffer {
  const t = s.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < t.length; i++) {
    const ch = t[i]!;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(t.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

interface MultipartPart {
  headers: string;
  filename?: string;
  body: Buffer;
}

type MultipartResult = { ok: true; parts: MultipartPart[] } | { ok: false; finding: Finding };

/** Splits a multipart body (latin1 view for byte-exact parts). */
export function parseMultipart(body: Buffer, boundary: string): MultipartResult {
  const s = body.toString('latin1');
  const delim = '--' + boundary;
  const chunks = s.split(delim);
  const parts: MultipartPart[] = [];
  // chunks[0] is the preamble; a chunk starting with "--" is the epilogue.
  for (let i = 1; i < chunks.length; i++) {
    let chunk = chunks[i]!;
    if (chunk.startsWith('--')) break;
    if (parts.length >= MAX_MULTIPART_PARTS) return { ok: false, finding: failClosed(`multipart body has more than ${MAX_MULTIPART_PARTS} parts`, 'multipart_parts') };
    chunk = chunk.replace(/^[ \t]*\r?\n/, '').replace(/\r?\n$/, '');
    let sep = chunk.indexOf('\r\n\r\n');
    let sepLen = 4;
    const lf = chunk.indexOf('\n\n');
    if (sep < 0 || (lf >= 0 && lf < sep)) {
      sep = lf;
      sepLen = 2;
    }
    const headers = sep < 0 ? chunk : chunk.slice(0, sep);
    const rawBody = sep < 0 ? '' : chunk.slice(sep + sepLen);
    const headersUtf8 = Buffer.from(headers, 'latin1').toString('utf8');
    const fn = /filename\*?\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\r\n]*))/i.exec(headersUtf8);
    const filename = fn ? (fn[1] ?? fn[2] ?? '').trim() : undefined;
    if (filename !== undefined && Buffer.byteLength(filename, 'utf8') > MAX_MULTIPART_FILENAME_BYTES) {
      return { ok: false, finding: failClosed(`multipart filename exceeds ${MAX_MULTIPART_FILENAME_BYTES} bytes`, 'multipart_filename') };
    }
    const cte = /content-transfer-encoding\s*:\s*([^\r\n;]+)/i.exec(headersUtf8)?.[1]?.trim().toLowerCase();
    let partBody: Buffer = Buffer.from(rawBody, 'latin1');
    if (cte === 'base64') partBody = Buffer.from(rawBody.replace(/\s+/g, ''), 'base64');
    else if (cte === 'quoted-printable') partBody = decodeQuotedPrintable(rawBody);
    parts.push({ headers: headersUtf8, ...(filename !== undefined ? { filename } : {}), body: partBody });
  }
  return { ok: true, parts };
}

const FORM_BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/**
 * Scans a request body for `host`. Pass the whole body, or at least its
 * first `max_body_bytes + 1` bytes (enough to detect the oversize case).
 * `contentEncoding` is the request's Content-Encoding header, if any.
 */
export function scanBody(body: Buffer, contentType: string | undefined, contentEncoding: string | undefined, host: string, opts: ScanOptions): Finding[] {
  const dlp = opts.dlp;
  if (!dlp.enabled || !dlp.scan.body) return [];
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const codings = nonIdentityCodings(contentEncoding);
  if (codings.length > 0) {
    const shown = codings.map((x) => x.replace(/[^a-z0-9._-]/g, '').slice(0, 24)).join(', ');
    return [failClosed(`request body has content-encoding ${shown}: not scannable`, 'compressed_body')];
  }
  if (body.length === 0) return [];
  const tail: Finding[] = [];
  let data = body;
  if (body.length > limits.max_body_bytes) {
    if (limits.oversize_body !== 'allow_unscanned') return [failClosed('body exceeds max_body_bytes', 'oversize_body')];
    data = body.subarray(0, limits.max_body_bytes);
    tail.push(finding('body_dlp', 'medium', 'body not fully scanned', 'body', { disposition: 'warn', signal: 'body_not_fully_scanned' }));
  }

  const c = compileDlp(dlp, opts.literalSecrets);
  const t = new TargetSet(c);
  const text = bodyText(data);
  const mt = parseMediaType(contentType);
  const type = mt.type;
  const truncated = data !== body;

  if (type === 'application/json' || type.endsWith('+json')) {
    let parsed: unknown;
    let ok = true;
    try {
      parsed = JSON.parse(text);
    } catch {
      ok = false;
    }
    if (!ok && !truncated) return [failClosed('invalid JSON body', 'invalid_json')];
    if (ok && text.includes('\\')) {
      const strings: string[] = [];
      collectJsonStrings(parsed, strings, { n: 200_000 });
      for (const s of strings) t.add(s, { decode: true, percent: true });
    }
  } else if (type === 'application/x-www-form-urlencoded') {
    if (FORM_BAD_ESCAPE.test(text) && !truncated) return [failClosed('invalid form body', 'invalid_form')];
    for (const part of text.split('&')) {
      if (part.length === 0) continue;
      const eq = part.indexOf('=');
      const k = percentDecodeIter(eq < 0 ? part : part.slice(0, eq), true).value;
      const v = eq < 0 ? '' : percentDecodeIter(part.slice(eq + 1), true).value;
      t.add(k, { decode: true });
      t.add(v, { decode: true });
      if (eq >= 0 && part.includes('+', eq)) t.add(percentDecodeIter(part.slice(eq + 1)).value, { decode: true });
    }
  } else if (type.startsWith('multipart/')) {
    const boundary = mt.params['boundary'];
    if (!boundary) return [failClosed('multipart body without boundary', 'multipart_boundary')];
    const mp = parseMultipart(data, boundary);
    if (!mp.ok) return [mp.finding];
    for (const p of mp.parts) {
      t.add(p.headers, { decode: true });
      if (p.filename) t.add(p.filename, { decode: true, percent: true });
      t.add(bodyText(p.body), { decode: true, percent: true });
    }
  }
  t.add(text, { decode: true, percent: true });

  const { hits } = runTargets(t, entropyFlags(c), host);
  const out: Finding[] = [];
  if (hits.length) {
    const ids = hits.map((h) => h.id).join(', ');
    hits.forEach((h, i) => {
      out.push(finding('body_dlp', h.severity, `request body contains secret: ${i === 0 ? ids : h.id}`, 'body', { patternId: h.id }));
    });
  }
  return [...out, ...tail];
}
