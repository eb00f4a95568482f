/**
 * Header DLP, spec/proxy.md §5.9 (Pipelock's "all" mode). Every request
 * header except the ignore list is scanned: each value and its decoded
 * layers, each name, name and value concatenated, and all scanned values
 * sorted and joined by newlines. `high_entropy_token` never applies here.
 */
import type { Finding } from '../types.js';
import { finding, runTargets, TargetSet } from './dlp.js';
import { compileDlp, type CompiledDlp, type PatternHit } from './patterns.js';
import type { ScanOptions } from './options.js';

/** Not scanned: the §5.9 list plus the hop-by-hop headers (Proxy-Authorization stays scanned: CONNECT handshake, §2). */
export const HEADER_IGNORE: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'content-type',
  'accept',
  'accept-encoding',
  'accept-language',
  'user-agent',
  'connection',
  'cache-control',
  'keep-alive',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The proxy's own control headers (`X-Egress-*`) are stripped before forwarding and never scanned. */
function ignored(name: string, connectionListed: ReadonlySet<string>): boolean {
  return HEADER_IGNORE.has(name) || name.startsWith('x-egress-') || connectionListed.has(name);
}

const NOTHING = { entropyPlain: false, entropyDecoded: false };

function scanTexts(c: CompiledDlp, texts: string[], host: string): PatternHit[] {
  const t = new TargetSet(c);
  for (const s of texts) t.add(s, { decode: true, percent: true });
  return runTargets(t, NOTHING, host).hits;
}

/** A header name fit for a reason string (it may carry nothing secret: checked by the caller). */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64);
}

/**
 * Scans request headers for `host`. Headers are `[name, value]` pairs in
 * arrival order (repeated names allowed). Reason: `request header contains
 * secret: <id> in <header name>`; the name is left out when the secret is
 * in the name itself.
 */
export function scanHeaders(headers: readonly (readonly [string, string])[], host: string, opts: ScanOptions): Finding[] {
  const dlp = opts.dlp;
  if (!dlp.enabled || !dlp.scan.headers) return [];
  const c = compileDlp(dlp, opts.literalSecrets);
  const connectionListed = new Set<string>();
  for (const [n, v] of headers) {
    if (n.toLowerCase() === 'connection') for (const x of v.split(',')) connectionListed.add(x.trim().toLowerCase());
  }
  const scanned: (readonly [string, string])[] = headers.filter(([n]) => !ignored(n.toLowerCase(), connectionListed));
  if (scanned.length === 0) return [];

  // One pass over everything; attribution per header only when something matched.
  const all = new TargetSet(c);
  for (const [n, v] of scanned) {
    all.add(v, { decode: true, percent: true });
    all.add(n);
    all.add(n + v, { percent: true });
  }
  const values = scanned.map(([, v]) => v).sort();
  if (values.length > 1) all.add(values.join('\n'), { percent: true });
  const total = runTargets(all, NOTHING, host).hits;
  if (total.length === 0) return [];

  const out: Finding[] = [];
  const found = new Set<string>();
  for (const [n, v] of scanned) {
    const hits = scanTexts(c, [v, n + v], host);
    if (hits.length === 0) continue;
    const inName = new Set(scanTexts(c, [n], host).map((h) => h.id));
    for (const h of hits) {
      if (found.has(h.id)) continue;
      found.add(h.id);
      const where = inName.has(h.id) ? '' : ` in ${safeName(n)}`;
      out.push(finding('dlp_header', h.severity, `request header contains secret: ${h.id}${where}`, 'header', { patternId: h.id }));
    }
  }
  for (const h of total) {
    if (found.has(h.id)) continue;
    found.add(h.id);
    out.push(finding('dlp_header', h.severity, `request header contains secret: ${h.id}`, 'header', { patternId: h.id }));
  }
  // Deciding first: the order of the combined pass (precedence, severity).
  const rank = new Map(total.map((h, i) => [h.id, i]));
  return out.sort((a, b) => (rank.get(a.patternId!) ?? 0) - (rank.get(b.patternId!) ?? 0));
}
