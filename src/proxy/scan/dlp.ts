/**
 * The matching engine shared by the request-side scanners: collect the
 * target texts of one exchange part (cleaned per §5.1, decoded layers to
 * `max_decode_depth`), de-duplicate them, and run the compiled pattern set
 * once over each bucket (plain, decoded, host name, combinations).
 */
import type { Finding, Layer, Severity } from '../types.js';
import { cleanUnicode, decodeLayers, newBudget, percentDecodeIter, type DecodeBudget } from './normalize.js';
import { applyBindings, matchText, orderHits, type CompiledDlp, type HitMap, type PatternHit } from './patterns.js';

export interface AddOptions {
  /** Also add the decoded layers (base64/base32/hex, recursively). */
  decode?: boolean;
  /** Strip tab/LF/CR too (URL components). */
  stripLineBreaks?: boolean;
  /** Also add the iterated percent-decoding when the text has `%XX`. */
  percent?: boolean;
}

/** Target texts of one scan, by bucket. */
export class TargetSet {
  readonly plain = new Set<string>();
  readonly decoded = new Set<string>();
  readonly host = new Set<string>();
  /** Decoded layers of host-name texts. */
  readonly hostDecoded = new Set<string>();
  /** Concatenations of query values (§5.4): matched without the entropy rule. */
  readonly combos = new Set<string>();
  readonly budget: DecodeBudget;

  constructor(readonly c: CompiledDlp, budget?: DecodeBudget) {
    this.budget = budget ?? newBudget();
  }

  /** Adds a cleaned text (and, as asked, its percent-decoding and decoded layers). Returns the cleaned text. */
  add(raw: string, opts: AddOptions = {}): string {
    if (raw.length === 0) return raw;
    const t = cleanUnicode(raw, { stripLineBreaks: opts.stripLineBreaks });
    this.addClean(t, opts.decode === true);
    if (opts.percent && t.includes('%')) {
      const p = percentDecodeIter(t).value;
      if (p !== t) this.addClean(cleanUnicode(p, { stripLineBreaks: opts.stripLineBreaks }), opts.decode === true);
    }
    return t;
  }

  private addClean(t: string, decode: boolean): void {
    if (this.plain.has(t)) return;
    this.plain.add(t);
    if (decode) this.addDecodedOf(t);
  }

  /** Adds the decoded layers of `t` (not `t` itself). */
  addDecodedOf(t: string): void {
    if (this.c.maxDepth === 0 || t.length < 16) return;
    for (const d of decodeLayers(t, this.c.maxDepth, this.budget)) this.decoded.add(d);
  }

  /** A host-name text (matched with the host-name extras: case-insensitive AWS ids, lower-cased literals). */
  addHost(t: string, decode = true): void {
    if (t.length === 0 || this.host.has(t)) return;
    this.host.add(t);
    if (decode && this.c.maxDepth > 0 && t.length >= 12) {
      for (const d of decodeLayers(t, this.c.maxDepth, this.budget, 12)) this.hostDecoded.add(d);
    }
  }
}

export interface RunOptions {
  /** `high_entropy_token` on plain texts (only with `generic_entropy: all`). */
  entropyPlain: boolean;
  /** `high_entropy_token` on decoded layers (`decoded_only` and `all`). */
  entropyDecoded: boolean;
}

export function entropyFlags(c: CompiledDlp, allowEntropy = true): RunOptions {
  if (!allowEntropy || c.genericEntropy === 'off') return { entropyPlain: false, entropyDecoded: false };
  return { entropyPlain: c.genericEntropy === 'all', entropyDecoded: true };
}

export interface DlpResult {
  /** Hits ordered deciding-first. */
  hits: PatternHit[];
  /** Ids found in host-name texts only. */
  hostOnly: Set<string>;
}

/**
 * Texts of one bucket are matched as one string. The separator is LF + SOH:
 * a value ending a text still sees a whitespace terminator, while no
 * pattern's `\s*` can carry a key name of one text over to the next (SOH is
 * neither whitespace nor a value character).
 */
export const TARGET_SEPARATOR = '\n\x01';

function joinSet(s: Set<string>): string {
  if (s.size === 0) return '';
  if (s.size === 1) return s.values().next().value!;
  return [...s].join(TARGET_SEPARATOR);
}

/** Runs the pattern set over every bucket, drops bound ids for `host`, orders the hits. */
export function runTargets(t: TargetSet, opts: RunOptions, host?: string): DlpResult {
  const c = t.c;
  const hostHits: HitMap = new Map();
  if (t.host.size) matchText(joinSet(t.host), c, { hostname: true }, hostHits);
  if (t.hostDecoded.size) matchText(joinSet(t.hostDecoded), c, { entropy: opts.entropyDecoded }, hostHits);
  const hits: HitMap = new Map();
  if (t.plain.size) matchText(joinSet(t.plain), c, { entropy: opts.entropyPlain }, hits);
  if (t.decoded.size) matchText(joinSet(t.decoded), c, { entropy: opts.entropyDecoded }, hits);
  if (t.combos.size) matchText(joinSet(t.combos), c, {}, hits);
  const hostOnly = new Set<string>();
  for (const [id, h] of hostHits) {
    if (!hits.has(id)) {
      hits.set(id, h);
      hostOnly.add(id);
    }
  }
  applyBindings(hits, c, host);
  return { hits: orderHits(hits.values()), hostOnly };
}

export function dlpReason(h: PatternHit): string {
  return `DLP match: ${h.id} (${h.severity})`;
}

export function finding(layer: Layer, severity: Severity, reason: string, where: Finding['where'], extra: Partial<Finding> = {}): Finding {
  return { layer, severity, reason, where, ...extra };
}
