/**
 * Host-name (DNS) exfiltration signals, spec/proxy.md §5.8. Everything here
 * runs on the name alone, before any DNS query leaves the proxy.
 *
 * H1 DLP on the dot-collapsed host and on each label of 12+ characters after
 *    decoding (layer `dlp`, always on while DLP is on);
 * H2 a subdomain label of `subdomain_min_len`+ characters with entropy above
 *    `subdomain_label_bits` (layer `subdomain_entropy`);
 * H3 a pure-hex label (even length, 12+) decoding to 5+ mostly printable bytes;
 * H4 a base32-shaped label (16+ of `[a-z2-7]`, 2+ digits) or a base64url label
 *    (16+) decoding to printable text;
 * H5 five or more subdomain labels, or a subdomain part of 48+ characters
 *    (H3–H5: layer `hostname_exfil`).
 * Hosts the policy lists as trusted, allowed or internal skip H2–H5.
 */
import { domainToUnicode } from 'node:url';
import type { Finding } from '../types.js';
import { dlpReason, entropyFlags, finding, runTargets, TargetSet } from './dlp.js';
import { isIpLiteral, splitHost } from './host-match.js';
import { decodeBase64, shannonEntropy } from './normalize.js';
import { compileDlp, type PatternHit } from './patterns.js';
import type { ScanOptions } from './options.js';

/** Subdomain labels taking part in the collapsed-range targets (a work bound: 12 labels give 66 strings). */
const MAX_COLLAPSE_LABELS = 12;

/** Share of bytes that are printable ASCII (tab/LF/CR included). */
export function printableRatio(b: Buffer): number {
  if (b.length === 0) return 0;
  let n = 0;
  for (const x of b) if ((x >= 0x20 && x < 0x7f) || x === 9 || x === 10 || x === 13) n++;
  return n / b.length;
}

/** Adds the H1 texts of `host` to `t`: the collapsed host, the collapsed subdomain part, each label, the Unicode form. */
export function addHostTargets(t: TargetSet, host: string): void {
  if (isIpLiteral(host)) return;
  const parts = splitHost(host);
  if (parts.labels.length === 0) return;
  t.addHost(parts.host, false);
  t.addHost(parts.labels.join(''));
  // A secret split over labels: every run of consecutive subdomain labels, collapsed.
  const sub = parts.subdomain.slice(0, MAX_COLLAPSE_LABELS);
  for (let i = 0; i < sub.length; i++) {
    let s = sub[i]!;
    for (let j = i + 1; j < sub.length; j++) {
      s += sub[j]!;
      t.addHost(s);
    }
  }
  for (const l of parts.labels) if (l.length >= 12) t.addHost(l);
  // Letter case as the client wrote it (CONNECT, or the raw fetch/forward target): base64 labels need it.
  const written = host.trim().replace(/\.+$/, '');
  if (written !== parts.host && written.toLowerCase() === parts.host) {
    const labels = written.split('.').filter((l) => l.length > 0);
    t.addHost(labels.join(''));
    for (const l of labels) if (l.length >= 12 && l !== l.toLowerCase()) t.addHost(l);
  }
  if (parts.host.includes('xn--')) {
    const u = domainToUnicode(parts.host);
    if (u && u !== parts.host) {
      t.add(u, { stripLineBreaks: true });
      t.add(u.split('.').join(''), { stripLineBreaks: true });
    }
  }
}

/** H2–H5 for one host (no DLP). Ordered: `hostname_exfil` signals first, then `subdomain_entropy`. */
export function hostnameSignals(host: string, opts: ScanOptions): Finding[] {
  const dlp = opts.dlp;
  if (!dlp.enabled || !dlp.hostname_exfil || isIpLiteral(host)) return [];
  const parts = splitHost(host);
  if (parts.subdomain.length === 0) return [];
  if (opts.isListedHost?.(parts.host)) return [];
  const out: Finding[] = [];
  const ent: Finding[] = [];
  let hex = false;
  let b32 = false;
  let b64 = false;
  // Case as given (a CONNECT host keeps it; WHATWG URL hosts arrive lower-cased): base64 needs it.
  const asGiven = host.trim().replace(/\.+$/, '').split('.').filter((l) => l.length > 0);
  const caseKept = asGiven.length === parts.labels.length ? asGiven.slice(0, parts.subdomain.length) : parts.subdomain;
  parts.subdomain.forEach((label, idx) => {
    const original = caseKept[idx] ?? label;
    if (!hex && label.length >= 12 && label.length % 2 === 0 && /^[0-9a-f]+$/.test(label)) {
      const b = Buffer.from(label, 'hex');
      if (b.length >= 5 && printableRatio(b) >= 0.9) hex = true;
    }
    if (label.length >= 16) {
      if (!b32 && /^[a-z2-7]+$/.test(label) && (label.match(/[2-7]/g)?.length ?? 0) >= 2) b32 = true;
      if (!b64 && /^[A-Za-z0-9_-]+$/.test(original) && !/^[0-9a-f]+$/.test(label)) {
        const b = decodeBase64(original);
        if (b && b.length >= 8 && printableRatio(b) >= 0.9) b64 = true;
      }
    }
    if (ent.length === 0 && label.length >= dlp.entropy.subdomain_min_len) {
      const h = shannonEntropy(label);
      if (h > dlp.entropy.subdomain_label_bits) {
        ent.push(finding('subdomain_entropy', 'medium', `high-entropy subdomain label (${h.toFixed(2)} bits/char, ${label.length} chars)`, 'hostname', { signal: 'subdomain_entropy' }));
      }
    }
  });
  if (hex) out.push(finding('hostname_exfil', 'high', 'hostname exfiltration: hex-encoded subdomain label', 'hostname', { signal: 'hex_label' }));
  if (b32) out.push(finding('hostname_exfil', 'high', 'hostname exfiltration: base32-shaped subdomain label', 'hostname', { signal: 'base32_label' }));
  if (b64) out.push(finding('hostname_exfil', 'high', 'hostname exfiltration: base64url subdomain label', 'hostname', { signal: 'base64_label' }));
  const subLen = parts.subdomain.join('.').length;
  if (parts.subdomain.length >= 5 || subLen >= 48) {
    out.push(
      finding('hostname_exfil', 'high', `hostname exfiltration: ${parts.subdomain.length} subdomain labels, ${subLen} chars`, 'hostname', { signal: 'long_subdomain' }),
    );
  }
  return [...out, ...ent];
}

export function hostDlpFindings(hits: PatternHit[], where: Finding['where']): Finding[] {
  return hits.map((h) => finding('dlp', h.severity, dlpReason(h), where, { patternId: h.id }));
}

/**
 * All host-name signals for `host` (CONNECT, or any caller that only has a
 * name): H1 DLP first (layer `dlp`), then H2–H5.
 */
export function scanHostname(host: string, opts: ScanOptions): Finding[] {
  if (!opts.dlp.enabled) return [];
  const c = compileDlp(opts.dlp, opts.literalSecrets);
  const t = new TargetSet(c);
  addHostTargets(t, host);
  const { hits } = runTargets(t, entropyFlags(c, false), host);
  return [...hostDlpFindings(hits, 'hostname'), ...hostnameSignals(host, opts)];
}
