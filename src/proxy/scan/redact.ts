/**
 * Helpers for sanitising evidence before signing (spec/proxy.md §6.6): which
 * DLP patterns a text carries, and the redacted form of a target URL.
 */
import { entropyFlags, runTargets, TargetSet } from './dlp.js';
import { addHostTargets, hostnameSignals } from './hostname.js';
import { splitHost, isIpLiteral } from './host-match.js';
import { percentDecodeIter } from './normalize.js';
import { compileDlp } from './patterns.js';
import type { ScanOptions } from './options.js';
import { scanUrl } from './url.js';

/** DLP pattern ids (§5.5–§5.6) found in `text` after normalisation and decoding. Bindings do not apply. */
export function findSecrets(text: string, opts: ScanOptions): string[] {
  const c = compileDlp(opts.dlp, opts.literalSecrets);
  const t = new TargetSet(c);
  t.add(text, { decode: true, percent: true });
  return runTargets(t, entropyFlags(c)).hits.map((h) => h.id);
}

function hostCarriesFinding(host: string, opts: ScanOptions): boolean {
  if (isIpLiteral(host)) return false;
  const c = compileDlp(opts.dlp, opts.literalSecrets);
  const t = new TargetSet(c);
  addHostTargets(t, host);
  if (runTargets(t, entropyFlags(c, false)).hits.length > 0) return true;
  return hostnameSignals(host, opts).length > 0;
}

const REDACTED = '[REDACTED]';

/**
 * The target as it may appear in a signed receipt: each query value (or key)
 * and each path segment carrying a DLP match becomes `[REDACTED]`; a host that
 * carries a finding keeps only its registrable domain behind `[REDACTED].`;
 * user-info is dropped. If a re-scan still finds something, `[redacted-target]`.
 */
export function redactUrl(url: URL, opts: ScanOptions): string {
  const dirty = (raw: string): boolean => raw.length > 0 && findSecrets(percentDecodeIter(raw, true).value, opts).length > 0;
  const host = url.hostname;
  let hostOut = url.host;
  let probeHost = url.host;
  if (hostCarriesFinding(host, opts)) {
    const parts = splitHost(host);
    hostOut = `${REDACTED}.${parts.registrable}${url.port ? ':' + url.port : ''}`;
    probeHost = `${parts.registrable}${url.port ? ':' + url.port : ''}`;
  }
  const path = url.pathname
    .split('/')
    .map((seg) => (dirty(seg) ? REDACTED : seg))
    .join('/');
  let query = '';
  if (url.search.length > 1) {
    query =
      '?' +
      url.search
        .slice(1)
        .split('&')
        .map((part) => {
          const eq = part.indexOf('=');
          const k = eq < 0 ? part : part.slice(0, eq);
          const v = eq < 0 ? '' : part.slice(eq + 1);
          const kk = dirty(k) ? REDACTED : k;
          return eq < 0 ? kk : `${kk}=${dirty(v) ? REDACTED : v}`;
        })
        .join('&');
  }
  const hash = url.hash.length > 1 && dirty(url.hash.slice(1)) ? '#' + REDACTED : url.hash;
  const out = `${url.protocol}//${hostOut}${path}${query}${hash}`;
  let probe: URL;
  try {
    probe = new URL(`${url.protocol}//${probeHost}${path}${query}${hash}`);
  } catch {
    return '[redacted-target]';
  }
  const again = scanUrl(probe, opts).some((f) => f.layer === 'dlp' || f.layer === 'hostname_exfil');
  return again ? '[redacted-target]' : out;
}
