/**
 * The policy knobs the scanners read (spec/proxy.md §4). The shapes mirror the
 * policy file's `dlp`, `response` and `limits` members, so the pipeline can
 * pass `policy.dlp`, `policy.response` and `policy.limits` unchanged. Every
 * member the scanners read is listed; a bigger object (the full policy member)
 * is accepted structurally.
 */
import { DEFAULT_POLICY, type ExtraPattern, type Policy } from '../policy.js';

/** The policy's own shapes: the pipeline passes `policy.dlp`, `policy.response` and `policy.limits` unchanged. */
export type ExtraPatternConfig = ExtraPattern;
export type DlpOptions = Policy['dlp'];
export type ResponseOptions = Policy['response'];
export type LimitsOptions = Pick<Policy['limits'], 'max_url_length' | 'max_body_bytes' | 'oversize_body' | 'max_response_bytes'>;

/** Everything a scanner call needs. Keep the `dlp` object (and `literalSecrets` array) stable: compiled state is cached on their identity. */
export interface ScanOptions {
  readonly dlp: DlpOptions;
  readonly response?: ResponseOptions;
  readonly limits?: LimitsOptions;
  /** The lines of `dlp.literal_secrets_file` (entries shorter than 16 characters are ignored). */
  readonly literalSecrets?: readonly string[];
  /**
   * True when the host matches `destinations.trusted`, `allow` or `internal`
   * (the policy module decides): such hosts are exempt from hostname signals H2–H5 (§5.8).
   */
  readonly isListedHost?: (host: string) => boolean;
}

/** The defaults of the built-in policy (§4), for tests and callers without a policy. */
export const DEFAULT_DLP: DlpOptions = DEFAULT_POLICY.dlp;
export const DEFAULT_RESPONSE: ResponseOptions = DEFAULT_POLICY.response;
export const DEFAULT_LIMITS: LimitsOptions = DEFAULT_POLICY.limits;

export const DEFAULT_SCAN_OPTIONS: ScanOptions = { dlp: DEFAULT_DLP, response: DEFAULT_RESPONSE, limits: DEFAULT_LIMITS };
