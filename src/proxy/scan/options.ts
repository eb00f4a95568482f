/**
 * The policy knobs the scanners read (spec/proxy.md §4). The shapes mirror the
 * policy file's `dlp`, `response` and `limits` members, so the pipeline can
 * pass `policy.dlp`, `policy.response` and `policy.limits` unchanged. Every
 * member the scanners read is listed; a bigger object (the full policy member)
 * is accepted structurally.
 */
import type { Severity } from '../types.js';

export interface ExtraPatternConfig {
  /** `[a-z0-9_]+`, unique, not a built-in id (validated by the policy loader). */
  readonly id: string;
  readonly name: string;
  /** JavaScript regex source; a leading `(?i)` (Go/RE2 habit) is accepted and means the `i` flag. */
  readonly regex: string;
  readonly severity: Severity;
}

export interface DlpOptions {
  readonly enabled: boolean;
  readonly scan: { readonly url: boolean; readonly headers: boolean; readonly body: boolean };
  readonly hostname_exfil: boolean;
  readonly entropy: {
    readonly url_segment_bits: number;
    readonly url_min_len: number;
    readonly subdomain_label_bits: number;
    readonly subdomain_min_len: number;
  };
  readonly generic_entropy: 'off' | 'decoded_only' | 'all';
  readonly max_decode_depth: number;
  readonly disable: readonly string[];
  readonly extra: readonly ExtraPatternConfig[];
  readonly bindings: Readonly<Record<string, readonly string[]>>;
  /** Loaded by the pipeline; the secrets themselves arrive as `ScanOptions.literalSecrets`. */
  readonly literal_secrets_file?: string | null;
}

export interface ResponseOptions {
  readonly scan: boolean;
  readonly injection: 'block' | 'warn' | 'off';
  readonly sensitive_data: 'record' | 'block';
  /** Hosts (policy host patterns) for which injection scanning is skipped. */
  readonly exempt: readonly string[];
}

export interface LimitsOptions {
  readonly max_url_length: number;
  readonly max_body_bytes: number;
  readonly oversize_body: 'block' | 'allow_unscanned';
  readonly max_response_bytes: number;
}

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
export const DEFAULT_DLP: DlpOptions = {
  enabled: true,
  scan: { url: true, headers: true, body: true },
  hostname_exfil: true,
  entropy: { url_segment_bits: 4.5, url_min_len: 20, subdomain_label_bits: 4, subdomain_min_len: 8 },
  generic_entropy: 'decoded_only',
  max_decode_depth: 3,
  disable: [],
  extra: [],
  bindings: {},
  literal_secrets_file: null,
};

export const DEFAULT_RESPONSE: ResponseOptions = { scan: true, injection: 'block', sensitive_data: 'record', exempt: [] };

export const DEFAULT_LIMITS: LimitsOptions = {
  max_url_length: 4096,
  max_body_bytes: 1_048_576,
  oversize_body: 'block',
  max_response_bytes: 5_242_880,
};

export const DEFAULT_SCAN_OPTIONS: ScanOptions = { dlp: DEFAULT_DLP, response: DEFAULT_RESPONSE, limits: DEFAULT_LIMITS };
