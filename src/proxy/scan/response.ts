/**
 * Response scanning for fetch and forward, spec/proxy.md §5.11: the size cap
 * (layer `response_size`), unsupported compression (layer `response_scan`,
 * signal `compressed_response`), the injection signals R1–R9 (layer
 * `response_scan`) with quote suppression, and the sensitive-data scan
 * (layer `response_dlp`, recorded unless `sensitive_data: block`).
 *
 * The server decompresses gzip/deflate/br (with the size cap) and hands over
 * the decoded bytes; `checkResponseEncoding` tells it which codings it must
 * refuse.
 */
import type { Finding } from '../types.js';
import { bodyText } from './body.js';
import { finding, runTargets, TargetSet } from './dlp.js';
import { hostMatchesAny } from './host-match.js';
import { cleanUnicode, collapseWhitespace, decodeLayers, newBudget } from './normalize.js';
import { compileDlp, countEmails, builtinPattern, type PatternHit } from './patterns.js';
import { DEFAULT_LIMITS, DEFAULT_RESPONSE, type ScanOptions } from './options.js';

// ---------------------------------------------------------------- compression

/** Content codings the server can decode (with the size cap applied). */
export const DECODABLE_RESPONSE_CODINGS: ReadonlySet<string> = new Set(['identity', 'gzip', 'x-gzip', 'deflate', 'br']);

/**
 * The fail-closed finding for a response Content-Encoding the proxy cannot
 * decode, or null when every listed coding is decodable. Applies while
 * response scanning is on.
 */
export function checkResponseEncoding(contentEncoding: string | undefined): Finding | null {
  if (!contentEncoding) return null;
  const bad = contentEncoding
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s.length > 0 && !DECODABLE_RESPONSE_CODINGS.has(s));
  if (bad.length === 0) return null;
  const shown = bad.map((x) => x.replace(/[^a-z0-9._-]/g, '').slice(0, 24)).join(', ');
  return finding('response_scan', 'medium', `compressed_response: unsupported content-encoding ${shown}`, 'response', { floor: true, signal: 'compressed_response' });
}

// ---------------------------------------------------------------- injection rules

const QUAL = '(?:previous|prior|above|earlier|original|safety|system)';
const FILL = '(?:all|any|every|each|of|the|these|those|your|my|its|their|and|or|security)';

interface Rule {
  id: string;
  /** Matched on the flattened text (whitespace collapsed, lower-cased). */
  flat?: RegExp;
  /** Matched on the cleaned text with line structure and case (R3). */
  lined?: RegExp;
}

/** R1–R9 (our own formulations, in the families of Pipelock's response patterns). */
export const INJECTION_RULES: readonly Rule[] = [
  {
    id: 'instruction_override',
    flat: new RegExp(
      String.raw`\b(?:ignore|disregard|forget|abandon|override|bypass)\s+(?:${FILL}\s+){0,3}${QUAL}(?:\s+(?:${QUAL}|${FILL})){0,3}\s+(?:instructions?|directives?|rules|prompts?|guidelines|constraints)\b`,
      'g',
    ),
  },
  {
    // "you now have …", "you have full …", "you have been granted …": a bare "if you have admin access" (documentation) does not count.
    id: 'authority_claim',
    flat: /\byou\s+(?:now\s+have|have\s+now|have\s+(?=full\b|unrestricted\b|complete\b)|have\s+been\s+(?:granted|given)|are\s+now\s+granted)\s*(?:full\s+|unrestricted\s+|complete\s+)?(?:admin(?:istrator|istrative)?|root|system|superuser|super-user|elevated)\b[^.!?]{0,40}?\b(?:access|privileges?|permissions?|rights)\b/g,
  },
  {
    id: 'role_marker',
    lined: /^[ \t>*#-]*(?:SYSTEM:|\[SYSTEM\])|SYSTEM ADMINISTRATOR NOTICE|IMPORTANT SYSTEM UPDATE/gm,
    flat: /<\|system\|>|<\|im_start\|>|\[inst\]|<<sys>>/g,
  },
  {
    id: 'tool_directive',
    flat: /\byou\s+must\s+(?:now\s+|immediately\s+|first\s+|also\s+)?(?:call|run|execute|invoke|use)\s+(?:the\s+)?[\w.`'"-]{1,40}\s+(?:tool|function|command)\b/g,
  },
  {
    id: 'decode_and_execute',
    flat: /\bdecode\b.{0,60}?\bbase64\b.{0,80}?\b(?:execute|run|follow)\b|\bbase64\b.{0,40}?\bdecode\b.{0,80}?\b(?:execute|run|follow)\b|\beval\s*\(\s*atob\s*\(/g,
  },
  {
    id: 'credential_path',
    flat: /\b(?:read|cat|exfiltrate|exfil|steal|leak|send|upload|print|output|dump|display|show|reveal|echo)\b.{0,80}?(?:\/etc\/passwd|\/etc\/shadow|~\/\.ssh\/(?!authorized_keys|known_hosts|config\b|[\w.-]*\.pub\b)|\bid_rsa\b(?!\.pub)|\bid_ed25519\b(?!\.pub)|\.aws\/credentials|\.npmrc\b|\.netrc\b|\bkubeconfig\b)/g,
  },
  {
    id: 'prompt_extraction',
    flat: /\b(?:output|reveal|print|repeat|dump|disclose|show)\b.{0,40}?(?:system\s+prompts?|tool\s+definitions|your\s+instructions)\b/g,
  },
  {
    id: 'remote_pipe_exec',
    flat: /\b(?:curl|wget)\b[^|]{0,200}?\|\s*(?:sudo\s+)?(?:sh|bash|zsh|python3?)\b/g,
  },
  {
    id: 'hidden_from_user',
    flat: /\b(?:do\s+not|don't|dont|never)\s+(?:tell|reveal|show|mention|disclose)\s+(?:(?:this|that|it|these|them|anything)\s+)?(?:to\s+)?the\s+user\b|\bthe\s+user\s+(?:cannot|can't|can\s+not|will\s+not|won't)\s+see\b/g,
  },
];

const OPEN_TO_CLOSE: Record<string, string> = { '"': '"', '\u201c': '\u201d', "'": "'" };
const LETTER = /\p{L}/u;
const QUOTE_SEARCH_LIMIT = 2000;

/**
 * Quoted spans (§5.11): `"…"`, `“…”`, `'…'`; the opening quote follows the
 * start of text, whitespace, `(`, `:` or `,`; the closing quote is not
 * followed by a letter; an apostrophe between two letters never delimits.
 * Returns [open, close] index pairs (inclusive). Linear: the valid closers of
 * each kind are listed once and consumed by a moving index.
 */
export function quotedSpans(text: string): [number, number][] {
  const spans: [number, number][] = [];
  const n = text.length;
  const isLetter = (i: number): boolean => i >= 0 && i < n && LETTER.test(text[i]!);
  const closers: Record<string, number[]> = { '"': [], '\u201d': [], "'": [] };
  for (let j = 0; j < n; j++) {
    const ch = text[j]!;
    const list = closers[ch];
    if (!list) continue;
    if (isLetter(j + 1)) continue; // also covers an apostrophe between two letters
    list.push(j);
  }
  const cursor: Record<string, number> = { '"': 0, '\u201d': 0, "'": 0 };
  for (let i = 0; i < n; i++) {
    const ch = text[i]!;
    const close = OPEN_TO_CLOSE[ch];
    if (close === undefined) continue;
    if (ch === "'" && isLetter(i - 1) && isLetter(i + 1)) continue;
    const prev = i === 0 ? '' : text[i - 1]!;
    if (!(i === 0 || /\s/.test(prev) || prev === '(' || prev === ':' || prev === ',')) continue;
    const list = closers[close]!;
    let k = cursor[close]!;
    while (k < list.length && list[k]! <= i) k++;
    cursor[close] = k;
    const j = list[k];
    if (j === undefined || j - i > QUOTE_SEARCH_LIMIT) continue;
    spans.push([i, j]);
    i = j;
  }
  return spans;
}

function insideSpan(spans: [number, number][], start: number, end: number): boolean {
  for (const [a, b] of spans) if (start > a && end <= b) return true;
  return false;
}

function ruleMatches(re: RegExp, text: string, spansOf: () => [number, number][]): boolean {
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    if (!insideSpan(spansOf(), m.index, m.index + m[0].length)) {
      re.lastIndex = 0;
      return true;
    }
  }
  return false;
}

/** Whether any rule matches anywhere in `text`, quotes ignored (a cheap prefilter over many small segments joined). */
function anyRuleMatch(text: string): boolean {
  const lined = cleanUnicode(text);
  const flat = collapseWhitespace(lined).toLowerCase();
  for (const r of INJECTION_RULES) {
    for (const [re, t] of [[r.flat, flat], [r.lined, lined]] as const) {
      if (!re) continue;
      re.lastIndex = 0;
      const hit = re.test(t);
      re.lastIndex = 0;
      if (hit) return true;
    }
  }
  return false;
}

/** Injection rule ids with at least one non-suppressed match in `segment`, in rule order. */
export function injectionSignals(segment: string, found: Set<string> = new Set()): Set<string> {
  const lined = cleanUnicode(segment);
  const flat = collapseWhitespace(lined).toLowerCase();
  let flatSpans: [number, number][] | undefined;
  let linedSpans: [number, number][] | undefined;
  for (const r of INJECTION_RULES) {
    if (found.has(r.id)) continue;
    if (r.flat && ruleMatches(r.flat, flat, () => (flatSpans ??= quotedSpans(flat)))) found.add(r.id);
    else if (r.lined && ruleMatches(r.lined, lined, () => (linedSpans ??= quotedSpans(lined)))) found.add(r.id);
  }
  return found;
}

// ---------------------------------------------------------------- text extraction

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: ' ', '#39': "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (all, e: string) => {
    const k = e.toLowerCase();
    if (k.startsWith('#x')) return safeCodePoint(parseInt(k.slice(2), 16)) ?? all;
    if (k.startsWith('#')) return safeCodePoint(parseInt(k.slice(1), 10)) ?? all;
    return ENTITIES[k] ?? all;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isFinite(n) && n > 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : undefined;
}

/** Opening tags longer than this are not inspected for hidden-ness (their text is still scanned raw). */
const MAX_TAG = 8192;
const HIDDEN_ATTR = /\bstyle\s*=\s*["'][^"']*(?:display\s*:\s*none|visibility\s*:\s*hidden)|\shidden(?=[\s=>/]|$)/i;

/**
 * Finds each `open … close` section in one left-to-right pass. Linear: once
 * a closing token is missing after some position it is missing after every
 * later one, so the search stops (a lazy regex would rescan to the end for
 * every unclosed opening).
 */
function sections(text: string, open: string, close: string, out: string[]): void {
  let from = 0;
  for (;;) {
    const a = text.indexOf(open, from);
    if (a < 0) return;
    const b = text.indexOf(close, a + open.length);
    if (b < 0) return;
    out.push(text.slice(a + open.length, b));
    from = b + close.length;
  }
}

interface Tag {
  start: number;
  end: number;
  name: string;
  closing: boolean;
  body: string;
}

/** The [start, end) spans of every complete `<…>`, in one pass (an unterminated `<` ends the walk). */
function* angleSpans(text: string): Generator<[number, number]> {
  let from = 0;
  for (;;) {
    const a = text.indexOf('<', from);
    if (a < 0) return;
    const b = text.indexOf('>', a + 1);
    if (b < 0) return;
    yield [a, b + 1];
    from = b + 1;
  }
}

/** Every `<…>` that opens with a tag name, as a tag. */
function tags(text: string): Tag[] {
  const out: Tag[] = [];
  for (const [a, end] of angleSpans(text)) {
    const body = text.slice(a + 1, end - 1);
    const m = /^(\/?)([A-Za-z][A-Za-z0-9:-]*)/.exec(body);
    if (m) out.push({ start: a, end, name: m[2]!.toLowerCase(), closing: m[1] === '/', body });
  }
  return out;
}

/** The text with every complete `<…>` (tags, comment markers) replaced by a line break. */
function stripTags(text: string): string {
  const parts: string[] = [];
  let from = 0;
  for (const [a, end] of angleSpans(text)) {
    parts.push(text.slice(from, a), '\n');
    from = end;
  }
  parts.push(text.slice(from));
  return parts.join('');
}

/**
 * The scanned texts of a response body (§5.11): the body, hidden HTML parts
 * (comments, script/style bodies, display:none / visibility:hidden /
 * `hidden` elements, CDATA), the tag-stripped text with entities decoded,
 * and every string of a JSON body. All extraction is linear in the body size.
 */
export function responseSegments(text: string): { segments: string[]; jsonStrings: string[] } {
  const segments = [text];
  if (text.includes('<')) {
    const hidden: string[] = [];
    const comments: string[] = [];
    sections(text, '<!--', '-->', comments);
    for (const c of comments) hidden.push(c.trim());
    sections(text, '<![CDATA[', ']]>', hidden);
    const all = tags(text);
    // Per tag name, the sorted positions of its closing tags; a moving index finds "the next close after p".
    const closes = new Map<string, number[]>();
    for (const t of all) if (t.closing) (closes.get(t.name) ?? closes.set(t.name, []).get(t.name)!).push(t.start);
    const cursor = new Map<string, number>();
    for (const t of all) {
      if (t.closing) continue;
      const wanted = t.name === 'script' || t.name === 'style' || (t.body.length <= MAX_TAG && HIDDEN_ATTR.test(t.body));
      if (!wanted) continue;
      const list = closes.get(t.name);
      if (!list) continue;
      let i = cursor.get(t.name) ?? 0;
      while (i < list.length && list[i]! < t.end) i++;
      cursor.set(t.name, i);
      if (i < list.length) hidden.push(text.slice(t.end, list[i]!));
    }
    segments.push(...hidden.filter((h) => h.length > 0));
    const stripped = decodeEntities(stripTags(text.split('<!--').join('\n').split('-->').join('\n')));
    if (stripped !== text) segments.push(stripped);
  } else if (text.includes('&')) {
    const d = decodeEntities(text);
    if (d !== text) segments.push(d);
  }
  const jsonStrings: string[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      collect(JSON.parse(text), jsonStrings, { n: 100_000 });
    } catch {
      /* not JSON: the raw text is scanned anyway */
    }
  }
  return { segments, jsonStrings };
}

function collect(v: unknown, out: string[], budget: { n: number }): void {
  if (budget.n <= 0) return;
  if (typeof v === 'string') {
    out.push(v);
    budget.n--;
  } else if (Array.isArray(v)) for (const x of v) collect(x, out, budget);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      out.push(k);
      budget.n--;
      collect(x, out, budget);
    }
  }
}

// ---------------------------------------------------------------- the scan

/** Statuses that carry no body. */
function bodyless(status: number): boolean {
  return (status >= 100 && status < 200) || status === 204 || status === 304;
}

function headerValue(headers: readonly (readonly [string, string])[], name: string): string | undefined {
  const vals = headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return vals.length ? vals.join(', ') : undefined;
}

/**
 * Scans a response for `host` (the request's destination). `body` is the
 * decoded (decompressed) payload, at most `max_response_bytes + 1` bytes so
 * the cap can be detected; `headers` are the upstream response headers.
 *
 * Findings, deciding first: `response_size` / `compressed_response` (floor,
 * nothing else is scanned), injection signals (layer `response_scan`,
 * severity high, disposition per `response.injection`), then sensitive data
 * (layer `response_dlp`; disposition `record` unless `sensitive_data: block`).
 */
export function scanResponse(status: number, headers: readonly (readonly [string, string])[], body: Buffer, host: string, opts: ScanOptions): Finding[] {
  const ropts = opts.response ?? DEFAULT_RESPONSE;
  if (!ropts.scan) return [];
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const enc = checkResponseEncoding(headerValue(headers, 'content-encoding'));
  if (enc) return [enc];
  if (body.length > limits.max_response_bytes) {
    return [finding('response_size', 'medium', `response exceeds max_response_bytes ${limits.max_response_bytes}`, 'response', { floor: true, signal: 'response_size' })];
  }
  if (body.length === 0 || bodyless(status)) return [];

  const text = bodyText(body);
  const { segments, jsonStrings } = responseSegments(text);
  const budget = newBudget(1 << 20, 2048);
  const decoded = decodeLayers(text, 2, budget, 24);
  const out: Finding[] = [];

  if (ropts.injection !== 'off' && !hostMatchesAny(host, ropts.exempt)) {
    const found = new Set<string>();
    for (const s of [...segments, ...decoded]) {
      if (s.length >= 8) injectionSignals(s, found);
    }
    // JSON strings are scanned one by one (quotes of one string never suppress a match in another),
    // but only when some rule matches their concatenation at all: most JSON bodies are many small strings.
    const strings = jsonStrings.filter((x) => x.length >= 8);
    if (strings.length > 0 && anyRuleMatch(strings.join('\n'))) {
      for (const x of strings) {
        injectionSignals(x, found);
        if (found.size === INJECTION_RULES.length) break;
      }
    }
    for (const r of INJECTION_RULES) {
      if (!found.has(r.id)) continue;
      out.push(
        finding('response_scan', 'high', `response injection: ${r.id}`, 'response', {
          signal: r.id,
          ...(ropts.injection === 'warn' ? { disposition: 'warn' as const } : {}),
        }),
      );
    }
  }

  if (opts.dlp.enabled) {
    const c = compileDlp(opts.dlp, opts.literalSecrets);
    const t = new TargetSet(c, budget);
    t.add(text);
    for (const s of jsonStrings) if (s.length >= 8) t.add(s);
    for (const d of decoded) t.decoded.add(d);
    const hits: PatternHit[] = runTargets(t, { entropyPlain: false, entropyDecoded: false }).hits;
    if (c.emailEnabled && countEmails([text, ...jsonStrings].join('\n')) >= 5) {
      const def = builtinPattern('email')!;
      hits.push({ id: def.id, name: def.name, severity: def.severity, rank: 2, order: 0 });
    }
    for (const h of hits) {
      out.push(
        finding('response_dlp', h.severity, `response contains sensitive data: ${h.id}`, 'response', {
          patternId: h.id,
          ...(ropts.sensitive_data === 'block' ? {} : { disposition: 'record' as const }),
        }),
      );
    }
  }
  return out;
}
