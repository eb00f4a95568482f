/**
 * URL scanning (spec/proxy.md §5.4 targets, §5.7 entropy / encoding depth /
 * length, and the host-name signals of §5.8 for the URL's host).
 *
 * Findings, deciding first: `dlp` (most specific pattern first),
 * `encoding_evasion`, `entropy`, `hostname_exfil`, `subdomain_entropy`, `length`.
 */
import type { Finding } from '../types.js';
import { dlpReason, entropyFlags, finding, runTargets, TargetSet } from './dlp.js';
import { addHostTargets, hostnameSignals } from './hostname.js';
import { cleanUnicode, decodeLayers, noiseStrip, percentDecodeIter, shannonEntropy } from './normalize.js';
import { compileDlp } from './patterns.js';
import { DEFAULT_LIMITS, type ScanOptions } from './options.js';

/** Query values taking part in the split-secret combinations (§5.4): 3 to 20 parameters. */
const COMBO_MIN_PARAMS = 3;
const COMBO_MAX_PARAMS = 20;
/** Values longer than this are whole tokens already; they do not join combinations. */
const COMBO_MAX_VALUE = 128;
/** Characters of all combinations of one URL together (a work bound; see `comboFragment`). */
const COMBO_MAX_CHARS = 32_768;
/** Shortest encoded fragment worth decoding (base64 of 6 bytes). */
const COMBO_DECODE_MIN = 8;

/**
 * Whether a query value can be a fragment of a split secret: token
 * characters only, and not a plain lower-case word of up to 10 letters or a
 * number of up to 3 digits. Fragments of real secrets (base62, base64, hex,
 * upper-case key ids, card digit groups) almost always carry an upper-case
 * letter or a digit, while ordinary parameters (`state=open`, `page=2`,
 * `sort=updated`) are exactly those words and small numbers. This keeps the
 * §5.4 subsequence search (up to C(20,2)+C(20,3)+C(20,4) = 6,175 strings)
 * off ordinary URLs.
 */
export function comboFragment(v: string): boolean {
  if (v.length < 2 || v.length > COMBO_MAX_VALUE) return false;
  if (!/^[A-Za-z0-9_+/=.~-]+$/.test(v)) return false;
  if (/^[a-z]{1,10}$/.test(v) || /^\d{1,3}$/.test(v)) return false;
  return true;
}

interface QueryPart {
  key: string;
  value: string;
  rounds: number;
}

/** Splits a raw query string into iteratively decoded keys and values (form semantics on the first round). */
export function parseQuery(rawQuery: string): QueryPart[] {
  const out: QueryPart[] = [];
  if (!rawQuery) return out;
  for (const part of rawQuery.split('&')) {
    if (part.length === 0) continue;
    const eq = part.indexOf('=');
    const rk = eq < 0 ? part : part.slice(0, eq);
    const rv = eq < 0 ? '' : part.slice(eq + 1);
    const k = percentDecodeIter(rk, true);
    const v = percentDecodeIter(rv, true);
    out.push({ key: k.value, value: v.value, rounds: Math.max(k.rounds, v.rounds) });
  }
  return out;
}

/** Ordered subsequences of 2 to 4 fragments, joined, into the combination bucket (bounded by COMBO_MAX_CHARS). */
function addCombos(t: TargetSet, vs: readonly string[]): void {
  let chars = 0;
  for (const s of t.combos) chars += s.length;
  for (let k = 2; k <= 4 && k <= vs.length; k++) {
    for (const idx of subsequences(vs.length, k)) {
      let s = '';
      for (const i of idx) s += vs[i]!;
      if (s.length < 11 || t.combos.has(s)) continue;
      chars += s.length;
      if (chars > COMBO_MAX_CHARS) return;
      t.combos.add(s);
    }
  }
}

function* subsequences(n: number, k: number): Generator<number[]> {
  const idx = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield idx;
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}

/**
 * The host as the client wrote it, from the raw target text, when it is the
 * same name as the parsed one up to case (WHATWG parsing lower-cases host
 * names, which destroys base64 labels, §5.8 H4). Otherwise the parsed host.
 */
export function hostAsWritten(url: URL, rawTarget: string | undefined): string {
  if (!rawTarget) return url.hostname;
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#\\]*@)?([^:/?#\\[\]]+)/.exec(rawTarget.trim());
  const raw = m?.[1];
  return raw && raw.toLowerCase().replace(/\.+$/, '') === url.hostname.replace(/\.+$/, '') ? raw : url.hostname;
}

/**
 * The URL scan of §5.4–§5.8. `url` is the parsed target (WHATWG `URL`);
 * `rawTarget`, when the caller has it, is the target text as received (the
 * fetch `url=` value or the absolute-form request target): its host keeps
 * the client's letter case for the host-name signals.
 */
export function scanUrl(url: URL, opts: ScanOptions, rawTarget?: string): Finding[] {
  const dlp = opts.dlp;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const out: Finding[] = [];
  const host = url.hostname;
  const hostWritten = hostAsWritten(url, rawTarget);
  if (dlp.enabled) {
    const c = compileDlp(dlp, opts.literalSecrets);
    const t = new TargetSet(c);
    const evasion: Finding[] = [];
    const entropy: Finding[] = [];
    const entropyCheck = (s: string, what: string): void => {
      if (entropy.length || s.length < dlp.entropy.url_min_len) return;
      const h = shannonEntropy(s);
      if (h > dlp.entropy.url_segment_bits) {
        entropy.push(finding('entropy', 'medium', `high-entropy URL ${what} (${h.toFixed(2)} bits/char, ${s.length} chars)`, 'url', { signal: 'url_entropy' }));
      }
    };
    addHostTargets(t, hostWritten);
    if (dlp.scan.url) {
      const line = { stripLineBreaks: true } as const;
      const lineDecode = { stripLineBreaks: true, decode: true } as const;
      t.add(url.href, line);
      const path = url.pathname;
      t.add(path, line);
      const pathDec = percentDecodeIter(path);
      if (pathDec.value !== path) t.add(pathDec.value, line);
      for (const seg of path.split('/')) {
        if (seg.length === 0) continue;
        const d = cleanUnicode(percentDecodeIter(seg).value, line);
        entropyCheck(d, 'path segment');
        if (d.length >= 10) t.add(d, lineDecode);
      }
      const rawQuery = url.search.startsWith('?') ? url.search.slice(1) : url.search;
      if (rawQuery) {
        t.add(percentDecodeIter(rawQuery, true).value, line);
        if (rawQuery.includes('+')) t.add(percentDecodeIter(rawQuery).value, line);
        const parts = parseQuery(rawQuery);
        const values: string[] = [];
        for (const p of parts) {
          if (p.rounds >= 3 && evasion.length === 0) {
            evasion.push(finding('encoding_evasion', 'medium', `query parameter needs ${p.rounds} rounds of percent-decoding`, 'url', { signal: 'percent_rounds' }));
          }
          for (const s of [p.key, p.value]) {
            if (s.length === 0) continue;
            const cs = t.add(s, lineDecode);
            entropyCheck(cs, s === p.key ? 'query key' : 'query value');
            const ns = noiseStrip(cs);
            if (ns !== cs && ns.length >= 8) t.add(ns, lineDecode);
          }
          values.push(cleanUnicode(p.value, line));
        }
        // Split secrets: '+' kept as '+', for values that carried a literal plus sign.
        if (rawQuery.includes('+')) {
          for (const part of rawQuery.split('&')) {
            const eq = part.indexOf('=');
            if (eq >= 0 && part.includes('+', eq)) t.add(percentDecodeIter(part.slice(eq + 1)).value, lineDecode);
          }
        }
        if (values.length >= 2) {
          const all = values.join('');
          t.add(all, lineDecode);
          const ns = noiseStrip(all);
          if (ns !== all) t.add(ns, lineDecode);
        }
        if (values.length >= COMBO_MIN_PARAMS && values.length <= COMBO_MAX_PARAMS) {
          addCombos(t, values.filter(comboFragment));
        }
        // The same split, each half encoded on its own (base64/hex/base32 of a
        // fragment): the decoded fragments joined, in order and as combinations.
        const decodedFragments = values.filter(comboFragment).flatMap((v) => decodeLayers(v, 1, t.budget, COMBO_DECODE_MIN).slice(0, 1));
        if (decodedFragments.length >= 2 && decodedFragments.length <= COMBO_MAX_PARAMS) {
          t.add(decodedFragments.join(''), line);
          addCombos(t, decodedFragments);
        }
      }
      if (url.hash.length > 1) t.add(percentDecodeIter(url.hash.slice(1)).value, lineDecode);
      if (url.username) t.add(percentDecodeIter(url.username).value, lineDecode);
      if (url.password) t.add(percentDecodeIter(url.password).value, lineDecode);
    }
    const { hits, hostOnly } = runTargets(t, entropyFlags(c), host);
    for (const h of hits) out.push(finding('dlp', h.severity, dlpReason(h), hostOnly.has(h.id) ? 'hostname' : 'url', { patternId: h.id }));
    out.push(...evasion, ...entropy, ...hostnameSignals(hostWritten, opts));
  }
  const len = url.href.length;
  if (len > limits.max_url_length) {
    out.push(finding('length', 'medium', `URL length ${len} exceeds max_url_length ${limits.max_url_length}`, 'url', { signal: 'url_length' }));
  }
  return out;
}
