/**
 * The proxy's scanners (spec/proxy.md §5.1, §5.4–§5.12): pure functions from
 * an exchange part and the policy knobs to an ordered list of Findings
 * (first = deciding). No I/O; compiled state is cached on the identity of
 * `opts.dlp` and `opts.literalSecrets`.
 *
 *   scanUrl(url, opts, rawTarget?)                       stage 6, fetch/forward (includes the URL host's §5.8 signals)
 *   scanHostname(host, opts)                             stage 6, CONNECT (host only)
 *   scanHeaders(headers, host, opts)                     stage 7
 *   scanBody(body, contentType, contentEncoding, host, opts)   stage 7
 *   scanResponse(status, headers, body, host, opts)      stage 12
 */
export { scanUrl, parseQuery, hostAsWritten, comboFragment } from './url.js';
export { scanHostname, hostnameSignals, printableRatio } from './hostname.js';
export { scanHeaders, HEADER_IGNORE } from './headers.js';
export { scanBody, parseMediaType, nonIdentityCodings, MAX_MULTIPART_PARTS, MAX_MULTIPART_FILENAME_BYTES } from './body.js';
export { scanResponse, checkResponseEncoding, DECODABLE_RESPONSE_CODINGS, INJECTION_RULES, injectionSignals, quotedSpans } from './response.js';
export {
  BUILTIN_PATTERNS,
  BUILTIN_PATTERN_IDS,
  builtinPattern,
  compileDlp,
  compileExtraRegex,
  validateExtraPattern,
  type PatternDef,
  type PatternCategory,
  type CompiledDlp,
} from './patterns.js';
export {
  DEFAULT_DLP,
  DEFAULT_LIMITS,
  DEFAULT_RESPONSE,
  DEFAULT_SCAN_OPTIONS,
  type DlpOptions,
  type ExtraPatternConfig,
  type LimitsOptions,
  type ResponseOptions,
  type ScanOptions,
} from './options.js';
export { findSecrets, redactUrl } from './redact.js';
