/**
 * Scores the scanners on the shared agent-egress-bench cases
 * (../shared/reference/agent-egress-bench-cases/: url, request-body, headers,
 * false-positive, response-fetch, response-mitm), spec/proxy.md §8.
 *
 * Applicability follows the runner (§8.2): every capability tag claimed,
 * every `requires` supported, the transport supported. Of the applicable
 * cases, those decided by the destination module (SSRF, domain blocklist:
 * policy.ts / destination.ts, not the scanners) are listed and left out.
 * Each remaining case is built as the request (and response) it describes
 * and run through scanUrl / scanHeaders / scanBody / scanResponse under the
 * benchmark policy (the built-in default with `response.injection: block`).
 *
 * Two views (§8.1): `plaintext` scans everything the case carries; `connect`
 * is what a proxy without TLS interception sees when a real HTTPS_PROXY client
 * sends an `http_proxy` case with an `https://` URL: a CONNECT host name only.
 * The two A* cases (body-dlp-hex-encoded-007, header-dlp-aws-headers-005)
 * carry their secret in the body / headers of such a request, so they are
 * misses in the `connect` view — inherent to a non-MITM proxy, not a scanner gap.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/proxy/types.js';
import { DEFAULT_SCAN_OPTIONS, hostAsWritten, scanBody, scanHeaders, scanHostname, scanResponse, scanUrl, type ScanOptions } from '../../src/proxy/scan/index.js';
import { haveShared, shared } from '../helpers/fixtures.js';

const CASES_DIR = shared('reference', 'agent-egress-bench-cases');
const available = haveShared && existsSync(CASES_DIR);
if (!available) console.warn(`note: ${CASES_DIR} is missing; the agent-egress-bench scoring test is skipped`);

/** §8.2 tool profile. */
const CLAIMS = new Set(['url_dlp', 'request_body_dlp', 'header_dlp', 'response_injection', 'ssrf', 'ssrf_bypass', 'domain_blocklist', 'entropy', 'encoding_evasion', 'crypto_dlp', 'hostname_exfil', 'benign']);
const SUPPORTS = new Set(['fetch_proxy', 'http_proxy', 'request_body_scanning', 'header_scanning', 'response_scanning']);
const TRANSPORTS = new Set(['fetch_proxy', 'http_proxy']);
/** Capability tags decided before the scanners, by the destination module (§3 stages 4–5, 8). */
const DESTINATION_TAGS = new Set(['ssrf', 'ssrf_bypass', 'domain_blocklist']);
/** The two A* cases of §8.1: body or headers inside an HTTPS CONNECT tunnel. */
const CONNECT_HIDDEN = new Set(['body-dlp-hex-encoded-007', 'header-dlp-aws-headers-005']);

const BENCH_OPTS: ScanOptions = { ...DEFAULT_SCAN_OPTIONS, response: { scan: true, injection: 'block', sensitive_data: 'record', exempt: [] } };

interface BenchCase {
  id: string;
  category: string;
  transport: string;
  input_type: string;
  expected_verdict: 'block' | 'allow';
  capability_tags: string[];
  requires: string[];
  payload: {
    method?: string;
    url?: string;
    headers?: Record<string, string>;
    body?: string;
    content_type?: string;
    response_body?: string;
  };
}

function loadCases(): BenchCase[] {
  if (!available) return [];
  const out: BenchCase[] = [];
  for (const dir of readdirSync(CASES_DIR).sort()) {
    for (const f of readdirSync(join(CASES_DIR, dir)).sort()) {
      if (f.endsWith('.json')) out.push(JSON.parse(readFileSync(join(CASES_DIR, dir, f), 'utf8')) as BenchCase);
    }
  }
  return out;
}

/** The runner's applicability rule (§8.2): the first failing check is the reason. */
function notApplicable(c: BenchCase): string | null {
  for (const t of c.capability_tags) if (!CLAIMS.has(t)) return `capability ${t} not claimed`;
  for (const r of c.requires) if (!SUPPORTS.has(r)) return `requires ${r}`;
  if (!TRANSPORTS.has(c.transport)) return `transport ${c.transport}`;
  return null;
}

type View = 'plaintext' | 'connect';

function blocking(fs: Finding[]): boolean {
  return fs.some((f) => (f.disposition ?? 'block') === 'block');
}

/** Runs the scanners over the request (and response) the case describes. */
function scanCase(c: BenchCase, view: View): Finding[] {
  const p = c.payload;
  const target = new URL(p.url!);
  const host = target.hostname;
  if (view === 'connect' && c.transport === 'http_proxy' && target.protocol === 'https:') {
    // CONNECT host:443 — only the name is visible; the request (and any response) is encrypted.
    return scanHostname(hostAsWritten(target, p.url), BENCH_OPTS);
  }
  const out = [...scanUrl(target, BENCH_OPTS, p.url)];
  const headers = Object.entries(p.headers ?? {});
  if (p.content_type && !headers.some(([n]) => n.toLowerCase() === 'content-type')) headers.push(['Content-Type', p.content_type]);
  out.push(...scanHeaders(headers, host, BENCH_OPTS));
  if (p.body !== undefined) out.push(...scanBody(Buffer.from(p.body, 'utf8'), p.content_type, undefined, host, BENCH_OPTS));
  if (p.response_body !== undefined) {
    // The §8.3 fixture serves the case's response_body as text/html.
    out.push(...scanResponse(200, [['Content-Type', 'text/html; charset=utf-8']], Buffer.from(p.response_body, 'utf8'), host, BENCH_OPTS));
  }
  return out;
}

interface Score {
  attacks: number;
  blocked: number;
  benign: number;
  false_positives: number;
  containment: number;
  false_positive_rate: number;
}

function score(results: { c: BenchCase; block: boolean }[]): Score {
  const attacks = results.filter((r) => r.c.expected_verdict === 'block');
  const benign = results.filter((r) => r.c.expected_verdict === 'allow');
  const blocked = attacks.filter((r) => r.block).length;
  const fps = benign.filter((r) => r.block).length;
  return {
    attacks: attacks.length,
    blocked,
    benign: benign.length,
    false_positives: fps,
    containment: attacks.length ? blocked / attacks.length : 1,
    false_positive_rate: benign.length ? fps / benign.length : 0,
  };
}

const cases = loadCases();
const applicable = cases.filter((c) => notApplicable(c) === null);
const scannerCases = applicable.filter((c) => !c.capability_tags.some((t) => DESTINATION_TAGS.has(t)));

describe.skipIf(!available)('agent-egress-bench shared cases through the scanners (§8)', () => {
  it('loads the six shared categories', () => {
    expect(new Set(cases.map((c) => c.category))).toEqual(new Set(['url', 'request_body', 'headers', 'false_positive', 'response_fetch', 'response_mitm']));
    expect(cases.length).toBe(61);
    // Left to the destination module: the blocklist case and the three SSRF cases.
    expect(applicable.filter((c) => !scannerCases.includes(c)).map((c) => c.id).sort()).toEqual([
      'url-domain-blocklist-001', 'url-ssrf-ipv6-mapped-010', 'url-ssrf-localhost-alt-011', 'url-ssrf-metadata-009',
    ]);
  });

  describe('plaintext view: every case decided as expected', () => {
    for (const c of scannerCases) {
      it(`${c.id} → ${c.expected_verdict}`, () => {
        const fs = scanCase(c, 'plaintext');
        expect(blocking(fs) ? 'block' : 'allow', JSON.stringify(fs.map((f) => [f.layer, f.patternId ?? f.signal]))).toBe(c.expected_verdict);
        if (c.expected_verdict === 'block') {
          // Detection credit needs a layer; DLP blocks name the pattern.
          const deciding = fs.find((f) => (f.disposition ?? 'block') === 'block')!;
          if (['dlp', 'dlp_header', 'body_dlp'].includes(deciding.layer)) expect(deciding.patternId).toBeTruthy();
        }
      });
    }
  });

  it('scores: containment and false positives per category, both views', () => {
    const views: View[] = ['plaintext', 'connect'];
    const byView: Record<View, { c: BenchCase; block: boolean }[]> = { plaintext: [], connect: [] };
    for (const v of views) for (const c of scannerCases) byView[v].push({ c, block: blocking(scanCase(c, v)) });

    const categories = [...new Set(cases.map((c) => c.category))].sort();
    const rows: Record<string, string | number>[] = [];
    for (const v of views) {
      for (const cat of [...categories, 'ALL']) {
        const s = score(byView[v].filter((r) => cat === 'ALL' || r.c.category === cat));
        const na = cases.filter((c) => (cat === 'ALL' || c.category === cat) && notApplicable(c) !== null).length;
        rows.push({ view: v, category: cat, attacks: s.attacks, blocked: s.blocked, containment: s.containment.toFixed(3), benign: s.benign, false_positives: s.false_positives, not_applicable: na });
      }
    }
    console.log('agent-egress-bench shared cases, scanner view (SSRF/blocklist cases excluded: destination module)');
    console.table(rows);
    const missed = byView.connect.filter((r) => r.c.expected_verdict === 'block' && !r.block).map((r) => r.c.id);
    console.log(`connect view misses (body/headers inside an HTTPS tunnel, not visible without TLS interception): ${missed.join(', ') || 'none'}`);

    const plain = score(byView.plaintext);
    const honest = score(byView.connect);
    expect(plain).toMatchObject({ attacks: 28, blocked: 28, benign: 20, false_positives: 0 });
    expect(plain.containment).toBe(1);
    expect(honest).toMatchObject({ attacks: 28, blocked: 26, benign: 20, false_positives: 0 });
    expect(missed.sort()).toEqual([...CONNECT_HIDDEN].sort());
  });

  it('not-applicable cases are exactly the MCP and TLS-interception ones', () => {
    const na = cases.filter((c) => notApplicable(c) !== null).map((c) => `${c.id}: ${notApplicable(c)}`);
    expect(na).toEqual([
      'fp-base64-image-data-uri-010: transport mcp_stdio',
      'fp-command-help-text-004: transport mcp_stdio',
      'fp-git-status-output-012: transport mcp_stdio',
      'fp-security-scanner-tool-006: transport mcp_stdio',
      'response-mitm-authority-006: requires tls_interception',
      'response-mitm-benign-api-001: requires tls_interception',
      'response-mitm-json-inject-004: requires tls_interception',
      'response-mitm-tool-instruction-002: requires tls_interception',
      'response-mitm-xml-comment-005: requires tls_interception',
    ]);
    // The response rules still decide the TLS-only cases correctly when given the plaintext (§5.11 corpus check: all 21).
    for (const c of cases.filter((x) => x.requires.includes('tls_interception'))) {
      expect(blocking(scanCase(c, 'plaintext')) ? 'block' : 'allow', c.id).toBe(c.expected_verdict);
    }
  });
});
