/**
 * The decision pipeline (spec/proxy.md §3): the stages in order, each a call
 * into the policy/destination module or a scanner. The first blocking
 * finding decides; in observe mode a block becomes `warn` and the pipeline
 * goes on, except for the floor and fail-closed findings (§3.3).
 */
import { lookup } from 'node:dns/promises';
import { classify, classSeverity, domainDecision, isDeclaredInternal, matchesAny, normalizeHost, parseIp, ssrfCheck, type IpAddress, type NormalizedHost } from './destination.js';
import type { LoadedPolicy, Policy } from './policy.js';
import { scanBody, scanHeaders, scanHostname, scanResponse, scanUrl, type ScanOptions } from './scan/index.js';
import type { Decider, DestinationClass, EgressRequest, Finding, RequestDecision, ResponseDecision } from './types.js';

export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = async (host) => {
  try {
    return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
  } catch {
    return [];
  }
};

function blockStatusOf(f: Finding | null): number {
  if (!f) return 403;
  return f.layer === 'ratelimit' ? 429 : f.layer === 'receipt_unavailable' ? 503 : 403;
}

function sortedUnique(xs: (string | undefined)[]): string[] {
  return [...new Set(xs.filter((x): x is string => !!x))].sort();
}

export interface PipelineOptions {
  loaded: LoadedPolicy;
  /** Honour the policy's `testing` block (checked at load: loopback and --allow-testing-overrides). */
  allowTestingOverrides: boolean;
  resolver?: Resolver;
  literalSecrets?: readonly string[];
  now?: () => number;
}

/** The proxy's Decider: policy + destination rules + scanners. */
export class PolicyPipeline implements Decider {
  readonly policyHash: string;
  private readonly policy: Policy;
  private readonly scan: ScanOptions;
  private readonly resolve: Resolver;
  private readonly now: () => number;
  private readonly window = new Map<string, { start: number; count: number }>();

  constructor(private readonly o: PipelineOptions) {
    this.policy = o.loaded.policy;
    this.policyHash = o.loaded.policyHash;
    const p = this.policy;
    this.scan = {
      dlp: p.dlp,
      response: p.response,
      limits: p.limits,
      ...(o.literalSecrets ? { literalSecrets: o.literalSecrets } : {}),
      isListedHost: (h) => matchesAny(p.destinations.trusted, h) || matchesAny(p.destinations.allow, h) || isDeclaredInternal(p, h),
    };
    const forced = o.allowTestingOverrides ? p.testing.resolve_all_to : null;
    this.resolve = forced ? async () => [forced] : (o.resolver ?? systemResolver);
    this.now = o.now ?? Date.now;
  }

  async decideRequest(req: EgressRequest): Promise<RequestDecision> {
    const p = this.policy;
    const findings: Finding[] = [];
    let cls: DestinationClass = 'unknown';
    const stop = (f: Finding): RequestDecision => this.finish(req, [f, ...findings], cls, null, null, null, null);

    // 1–3. Parse, scheme, host.
    let url: URL | null = null;
    let rawHost: string;
    let port: number;
    if (req.transport === 'connect') {
      const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(req.target) ?? /^([^:[\]]+):(\d{1,5})$/.exec(req.target);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) return stop(parser('CONNECT target is not host:port'));
      rawHost = m[1]!;
      port = Number(m[2]);
      if (p.limits.connect_ports.length > 0 && !p.limits.connect_ports.includes(port)) return stop(fin('allowlist', 'medium', `CONNECT port ${port} is not allowed`, 'url'));
    } else {
      try {
        url = new URL(req.target);
      } catch {
        return stop(parser('target URL cannot be parsed'));
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return stop(fin('scheme', 'medium', `scheme ${url.protocol.replace(':', '')} is not allowed`, 'url'));
      if (!url.hostname) return stop(parser('target URL has no host'));
      rawHost = url.hostname.replace(/^\[|\]$/g, '');
      port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    }
    const nh = normalizeHost(rawHost);
    if (!nh) return stop(parser('host cannot be parsed'));
    cls = classify(p, nh);

    // 4. Domain lists; 5. literal-IP SSRF.
    const gate = (f: Finding | null): RequestDecision | null => {
      if (!f) return null;
      findings.push(f);
      return this.blocks(f) ? this.finish(req, findings, cls, url, nh, port, null) : null;
    };
    const early = gate(domainDecision(p, nh)) ?? gate(ssrfCheck(p, nh));
    if (early) return early;

    // 6. URL scans (hostname only for CONNECT); 7. headers, then body.
    const scanned: Finding[] = [];
    if (url) scanned.push(...scanUrl(url, this.scan, req.target)); // scanUrl covers the host name too
    else scanned.push(...scanHostname(nh.host, this.scan));
    scanned.push(...scanHeaders(req.headers, nh.host, this.scan));
    if (req.body && req.body.length > 0) {
      const header = (n: string) => req.headers.find(([k]) => k.toLowerCase() === n)?.[1];
      scanned.push(...scanBody(req.body, header('content-type'), header('content-encoding'), nh.host, this.scan));
    }
    for (const f of scanned) {
      const d = gate(f);
      if (d) return d;
    }

    // 8. Resolve and check every address; pin the one that passed.
    let addresses: IpAddress[];
    // An IP literal is never re-resolved: testing overrides do not lift the floor for literals.
    if (nh.ip) addresses = [nh.ip];
    else addresses = (await this.resolve(nh.host)).map((a) => parseIp(a)).filter((a): a is IpAddress => a !== null);
    const late = gate(ssrfCheck(p, nh, addresses));
    if (late) return late;
    cls = classify(p, nh, addresses);

    // 10. Rate limit per host.
    const rl = this.rateLimit(nh.host);
    if (rl) {
      const d = gate(rl);
      if (d) return d;
    }

    const testing = this.o.allowTestingOverrides ? p.testing : null;
    const override = req.transport === 'connect' ? testing?.tls_dial_override : testing?.dial_override;
    const pinned = addresses[0] ? (addresses[0].family === 6 ? `[${addresses[0].text}]:${port}` : `${addresses[0].text}:${port}`) : null;
    return this.finish(req, findings, cls, url, nh, port, override ?? pinned);
  }

  decideResponse(_req: EgressRequest, pre: RequestDecision, status: number, headers: [string, string][], body: Buffer): ResponseDecision {
    const findings = pre.host ? scanResponse(status, headers, body, pre.host, this.scan) : [];
    const dataClassesOut = sortedUnique(findings.filter((f) => f.layer === 'response_dlp').map((f) => f.patternId));
    const deciding = findings.find((f) => f.disposition !== 'record') ?? null;
    let verdict: ResponseDecision['verdict'] = 'allow';
    if (deciding) verdict = deciding.disposition === 'warn' || (this.policy.mode === 'observe' && !deciding.floor) ? 'warn' : 'block';
    return { verdict, deciding, findings, dataClassesOut };
  }

  /** True when a finding stops the pipeline: a block in enforce mode, or a floor finding in any mode. */
  private blocks(f: Finding): boolean {
    if (f.disposition === 'record' || f.disposition === 'warn') return false;
    return this.policy.mode === 'enforce' || f.floor === true;
  }

  private finish(req: EgressRequest, findings: Finding[], cls: DestinationClass, url: URL | null, nh: NormalizedHost | null, port: number | null, dial: string | null): RequestDecision {
    const acting = findings.filter((f) => f.disposition !== 'record');
    const deciding = acting[0] ?? null;
    const blocked = deciding !== null && this.blocks(deciding);
    const verdict = blocked ? 'block' : deciding ? 'warn' : 'allow';
    const dataClassesIn = verdict === 'allow' ? [] : sortedUnique(findings.map((f) => f.patternId));
    void req;
    return {
      verdict,
      deciding,
      findings,
      destinationClass: cls,
      severity: deciding ? deciding.severity : classSeverity(cls),
      url,
      host: nh ? nh.host : null,
      port,
      dialAddress: blocked ? null : dial,
      dataClassesIn,
      blockStatus: blockStatusOf(deciding),
    };
  }

  private rateLimit(host: string): Finding | null {
    const limit = this.policy.limits.requests_per_minute;
    if (!limit) return null;
    const now = this.now();
    const w = this.window.get(host);
    if (!w || now - w.start >= 60_000) {
      this.window.set(host, { start: now, count: 1 });
      return null;
    }
    w.count++;
    return w.count > limit ? fin('ratelimit', 'medium', `more than ${limit} requests per minute to this host`, 'connection') : null;
  }
}

function fin(layer: Finding['layer'], severity: Finding['severity'], reason: string, where: Finding['where']): Finding {
  return { layer, severity, reason, where };
}

/** Unparsable input fails closed in every mode (§3.3). */
function parser(reason: string): Finding {
  return { layer: 'parser', severity: 'medium', reason, where: 'url', floor: true };
}
