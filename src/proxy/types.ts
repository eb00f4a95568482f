/**
 * The vocabulary shared by the proxy's parts (spec/proxy.md): layers,
 * severities, destination classes, findings and decisions. The policy module
 * owns the Policy shape; the scanners return Findings; the pipeline turns
 * findings into a Decision; the server and the evidence writer act on it.
 */

/** Receipt `layer` values (proxy.md §5.12): a closed set. */
export const LAYERS = [
  'parser',
  'scheme',
  'blocklist',
  'allowlist',
  'ssrf',
  'dlp',
  'entropy',
  'subdomain_entropy',
  'length',
  'ratelimit',
  'dlp_header',
  'body_dlp',
  'response_scan',
  'response_size',
  'outcome',
  'hostname_exfil',
  'encoding_evasion',
  'response_dlp',
  'unsupported_protocol',
  'sni_mismatch',
  'receipt_unavailable',
] as const;
export type Layer = (typeof LAYERS)[number];

export type Severity = 'low' | 'medium' | 'high' | 'critical';

/** proxy.md §3.1. */
export type DestinationClass = 'internal' | 'external_trusted' | 'external_public' | 'unknown';

/** Verdicts the proxy emits (a subset of the receipt vocabulary). */
export type ProxyVerdict = 'allow' | 'block' | 'warn';

export type Transport = 'forward' | 'connect' | 'fetch';

/** One scanner signal. `patternId` is a DLP pattern id where one applies (data_classes_in/out). */
export interface Finding {
  layer: Layer;
  severity: Severity;
  /** Sanitised human reason, e.g. "DLP match: aws_access_key_id (critical)" — never the secret itself. */
  reason: string;
  patternId?: string;
  /** Part of the exchange the signal came from. */
  where: 'url' | 'hostname' | 'header' | 'body' | 'response' | 'connection';
  /** Stays enforced in observe mode (the SSRF floor and fail-closed conditions, §3.3). */
  floor?: boolean;
  /**
   * Identifier of a non-DLP signal, e.g. an injection rule (`instruction_override`),
   * a hostname rule (`hex_label`) or a fail-closed condition (`compressed_response`).
   * Never a data class: only `patternId` feeds data_classes_in/out.
   */
  signal?: string;
  /**
   * What the finding asks for. Absent means `block` (turned into `warn` by observe
   * mode unless `floor`). `warn`: the traffic passes with verdict `warn` even in
   * enforce mode (`oversize_body: allow_unscanned`, `response.injection: warn`).
   * `record`: no verdict change; the pattern id goes into data_classes_out and the
   * class severity rises (§5.11 `sensitive_data: record`).
   */
  disposition?: 'block' | 'warn' | 'record';
}

/** What the pipeline is asked to decide before anything leaves the proxy. */
export interface EgressRequest {
  transport: Transport;
  /** Upstream method (`CONNECT` for tunnels). */
  method: string;
  /** The target as received: absolute URL (forward, fetch) or `host:port` (CONNECT). */
  target: string;
  /** Request headers as received, in order, control headers (X-Egress-*) already removed. */
  headers: [string, string][];
  /** Request body (forward, fetch); absent for CONNECT. */
  body?: Buffer;
  /** Agent identity (bound by --agent, or X-Egress-Agent, else "anonymous"). */
  agent: string;
}

/** The pre-egress decision (proxy.md §3 stages 1–10). */
export interface RequestDecision {
  verdict: ProxyVerdict;
  /** The deciding finding (block or warn); null for a clean allow. */
  deciding: Finding | null;
  /** Every finding, deciding first. */
  findings: Finding[];
  destinationClass: DestinationClass;
  severity: Severity;
  /** Parsed, normalised target (null when unparsable). */
  url: URL | null;
  host: string | null;
  port: number | null;
  /** The validated address the upstream connection must dial (DNS pinning, §5.2); null when blocked. */
  dialAddress: string | null;
  /** Request-side DLP pattern ids (data_classes_in), sorted and unique. */
  dataClassesIn: string[];
  /** HTTP status for a block (403, 429 ratelimit, 503 receipt_unavailable). */
  blockStatus: number;
}

/** The decision on a response (proxy.md §3 stage 12, §5.11). */
export interface ResponseDecision {
  verdict: ProxyVerdict;
  deciding: Finding | null;
  findings: Finding[];
  /** Response-side DLP pattern ids (data_classes_out), sorted and unique. */
  dataClassesOut: string[];
}

/** The pipeline as the server sees it; the policy and scanners sit behind it. */
export interface Decider {
  readonly policyHash: string;
  decideRequest(req: EgressRequest): Promise<RequestDecision>;
  decideResponse(req: EgressRequest, pre: RequestDecision, status: number, headers: [string, string][], body: Buffer): ResponseDecision;
}
