/**
 * Host helpers the scanners need on their own: the §4 host-pattern match
 * (for `dlp.bindings` and `response.exempt`) and the registrable domain of
 * §5.8. Destination lists and SSRF live in the policy/destination modules.
 */

/** Lower-case, no trailing dot, no IPv6 brackets. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  while (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function isIpLiteral(host: string): boolean {
  const h = normalizeHost(host);
  return h.includes(':') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(h);
}

/**
 * §4 host patterns: case-insensitive, trailing dot ignored; `*.example.com`
 * matches every subdomain and the apex; otherwise exact. Wildcards never
 * expand over IP literals.
 */
export function hostMatchesPattern(host: string, pattern: string): boolean {
  const h = normalizeHost(host);
  const p = normalizeHost(pattern);
  if (p.startsWith('*.')) {
    if (isIpLiteral(h)) return false;
    const base = p.slice(2);
    return h === base || h.endsWith('.' + base);
  }
  return h === p;
}

export function hostMatchesAny(host: string, patterns: readonly string[]): boolean {
  for (const p of patterns) if (hostMatchesPattern(host, p)) return true;
  return false;
}

/** Two-level public suffixes for which the registrable domain is the last three labels (§5.8, a short built-in list). */
export const TWO_LEVEL_SUFFIXES: ReadonlySet<string> = new Set([
  'co.uk', 'org.uk', 'ac.uk', 'gov.uk', 'ltd.uk', 'plc.uk', 'me.uk', 'net.uk', 'sch.uk', 'nhs.uk',
  'com.au', 'net.au', 'org.au', 'edu.au', 'gov.au', 'id.au',
  'co.nz', 'org.nz', 'net.nz', 'govt.nz', 'ac.nz',
  'co.jp', 'ne.jp', 'or.jp', 'ac.jp', 'go.jp',
  'co.kr', 'or.kr', 'go.kr',
  'com.br', 'net.br', 'org.br', 'gov.br',
  'com.cn', 'net.cn', 'org.cn', 'gov.cn', 'edu.cn',
  'com.hk', 'com.tw', 'com.sg', 'com.my', 'com.ph', 'com.vn', 'co.th', 'co.id', 'co.in', 'net.in', 'org.in',
  'co.za', 'org.za', 'co.il', 'org.il', 'com.tr', 'com.mx', 'com.ar', 'com.co', 'com.pe', 'com.ua',
  'com.sa', 'com.eg', 'com.ng', 'com.pk', 'com.bd', 'co.ke',
]);

export interface HostParts {
  host: string;
  labels: string[];
  /** The registrable domain (last two labels, or three under a two-level suffix). */
  registrable: string;
  /** Labels left of the registrable domain. */
  subdomain: string[];
}

export function splitHost(host: string): HostParts {
  const h = normalizeHost(host);
  const labels = h.split('.').filter((l) => l.length > 0);
  let keep = 2;
  if (labels.length >= 3 && TWO_LEVEL_SUFFIXES.has(labels.slice(-2).join('.'))) keep = 3;
  if (labels.length <= keep) return { host: h, labels, registrable: labels.join('.'), subdomain: [] };
  return { host: h, labels, registrable: labels.slice(-keep).join('.'), subdomain: labels.slice(0, -keep) };
}
