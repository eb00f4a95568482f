/**
 * Destinations (spec/proxy.md §3 steps 3–5 and 8, §3.1, §3.2, §4 host
 * patterns, §5.2 SSRF, §5.3 domain lists). Pure functions: no DNS, no I/O.
 *
 * A host goes through {@link normalizeHost} once (lowercase, trailing dot,
 * IDNA, IPv6 zone, every alternative IPv4 notation); everything else here
 * works on the result, so the domain lists, the SSRF check, the classifier
 * and DLP all see one canonical spelling, and the address that is checked is
 * the address that is dialled.
 */
import { domainToASCII } from 'node:url';
import type { Policy } from './policy.js';
import type { DestinationClass, Finding, Layer, Severity } from './types.js';

// ---------------------------------------------------------------------------
// Addresses.

/** An IP address: 4 or 16 network-order bytes and its canonical text. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  /** Dotted quad, or the WHATWG/RFC 5952 IPv6 form (lower-case, `::`, no brackets). */
  readonly text: string;
}

/** A network: address bytes with the host bits zero, and a prefix length. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
  /** Canonical text, e.g. `10.20.0.0/16`, `fd00::/8`. */
  readonly text: string;
}

export function ipFromBytes(bytes: Uint8Array): IpAddress {
  if (bytes.length === 4) return { family: 4, bytes, text: formatIPv4(bytes) };
  if (bytes.length === 16) return { family: 6, bytes, text: formatIPv6(bytes) };
  throw new RangeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
}

export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** IPv6 text as the WHATWG URL serializer writes it (RFC 5952 compression, hex only). */
export function formatIPv6(b: Uint8Array): string {
  const pieces: number[] = [];
  for (let i = 0; i < 16; i += 2) pieces.push((b[i]! << 8) | b[i + 1]!);
  // First longest run of two or more zero pieces.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (pieces[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && pieces[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    out += pieces[i]!.toString(16);
    if (i < 7) out += ':';
  }
  return out;
}

const DOTTED_QUAD = /^(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2})\.(?:0|[1-9][0-9]{0,2})$/;

/** Strict dotted-quad IPv4 (decimal, no leading zeros): the canonical form only. */
export function parseIPv4(text: string): IpAddress | null {
  if (!DOTTED_QUAD.test(text)) return null;
  const parts = text.split('.').map(Number);
  if (parts.some((p) => p > 255)) return null;
  return ipFromBytes(Uint8Array.from(parts));
}

/** One IPv4 part in WHATWG/inet_aton notation: `0x` hex, leading-zero octal, or decimal. */
function ipv4Number(part: string): number | null {
  let radix = 10;
  let digits = part;
  if (digits.length >= 2 && (digits.startsWith('0x') || digits.startsWith('0X'))) {
    radix = 16;
    digits = digits.slice(2);
  } else if (digits.length >= 2 && digits.startsWith('0')) {
    radix = 8;
    digits = digits.slice(1);
  }
  if (digits === '') return 0;
  const ok = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!ok.test(digits)) return null;
  // Long inputs overflow to a large float: still correctly "too big".
  return parseInt(digits, radix);
}

/**
 * Whether a host "ends in a number" (WHATWG URL): its last label is all
 * digits or `0x`+hex. Such a host is an IPv4 address or invalid, never a name.
 */
export function endsInNumber(host: string): boolean {
  const labels = host.split('.');
  if (labels[labels.length - 1] === '' && labels.length > 1) labels.pop();
  const last = labels[labels.length - 1]!;
  return /^[0-9]+$/.test(last) || /^0[xX][0-9a-fA-F]*$/.test(last);
}

/**
 * IPv4 in every notation a URL parser or `inet_aton` accepts (§5.2): decimal
 * `2130706433`, hex `0x7f000001`, octal `017700000001`, per-part radix
 * `0177.0.0.1` / `0x7f.0.0.1` / mixed, and the short forms `127.1`, `10.1.2`.
 * Returns null when the text is not such an address.
 */
export function parseIPv4Loose(text: string): IpAddress | null {
  const parts = text.split('.');
  if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
  if (parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    if (p === '') return null;
    const n = ipv4Number(p);
    if (n === null) return null;
    nums.push(n);
  }
  for (let i = 0; i < nums.length - 1; i++) if (nums[i]! > 255) return null;
  const last = nums[nums.length - 1]!;
  if (last >= 256 ** (5 - nums.length)) return null;
  let v = last;
  for (let i = 0; i < nums.length - 1; i++) v += nums[i]! * 256 ** (3 - i);
  return ipFromBytes(Uint8Array.of((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255));
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * IPv6 text without brackets or zone (the WHATWG IPv6 parser: `::`
 * compression, an embedded dotted IPv4 tail). Returns null when invalid.
 */
export function parseIPv6(s: string): IpAddress | null {
  const pieces = [0, 0, 0, 0, 0, 0, 0, 0];
  const n = s.length;
  let pieceIndex = 0;
  let compress = -1;
  let i = 0;
  const at = (k: number): number => (k < n ? s.charCodeAt(k) : -1);
  if (at(0) === 0x3a) {
    if (at(1) !== 0x3a) return null;
    i = 2;
    pieceIndex = 1;
    compress = 1;
  }
  while (i < n) {
    if (pieceIndex === 8) return null;
    if (at(i) === 0x3a) {
      if (compress !== -1) return null;
      i++;
      pieceIndex++;
      compress = pieceIndex;
      continue;
    }
    let value = 0;
    let length = 0;
    while (length < 4 && hexVal(at(i)) >= 0) {
      value = value * 16 + hexVal(at(i));
      i++;
      length++;
    }
    if (at(i) === 0x2e) {
      if (length === 0) return null;
      i -= length;
      if (pieceIndex > 6) return null;
      let numbersSeen = 0;
      while (i < n) {
        let v4 = -1;
        if (numbersSeen > 0) {
          if (at(i) === 0x2e && numbersSeen < 4) i++;
          else return null;
        }
        const c0 = at(i);
        if (c0 < 0x30 || c0 > 0x39) return null;
        while (at(i) >= 0x30 && at(i) <= 0x39) {
          const d = at(i) - 0x30;
          if (v4 === -1) v4 = d;
          else if (v4 === 0) return null;
          else v4 = v4 * 10 + d;
          if (v4 > 255) return null;
          i++;
        }
        pieces[pieceIndex] = pieces[pieceIndex]! * 256 + v4;
        numbersSeen++;
        if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
      }
      if (numbersSeen !== 4) return null;
      break;
    } else if (at(i) === 0x3a) {
      i++;
      if (i >= n) return null;
    } else if (i < n) {
      return null;
    }
    pieces[pieceIndex] = value;
    pieceIndex++;
  }
  if (compress !== -1) {
    let swaps = pieceIndex - compress;
    pieceIndex = 7;
    while (pieceIndex !== 0 && swaps > 0) {
      const a = compress + swaps - 1;
      const t = pieces[pieceIndex]!;
      pieces[pieceIndex] = pieces[a]!;
      pieces[a] = t;
      pieceIndex--;
      swaps--;
    }
  } else if (pieceIndex !== 8) {
    return null;
  }
  const bytes = new Uint8Array(16);
  for (let k = 0; k < 8; k++) {
    bytes[2 * k] = pieces[k]! >> 8;
    bytes[2 * k + 1] = pieces[k]! & 255;
  }
  return ipFromBytes(bytes);
}

/**
 * A resolver answer or an IP written in a policy: a canonical dotted quad, or
 * IPv6 (brackets allowed, a zone id stripped). No alternative IPv4 notations.
 */
export function parseIp(text: string): IpAddress | null {
  if (text.includes(':') || text.startsWith('[')) {
    let s = text;
    if (s.startsWith('[')) {
      if (!s.endsWith(']')) return null;
      s = s.slice(1, -1);
    }
    const zone = s.indexOf('%');
    if (zone >= 0) s = s.slice(0, zone);
    return parseIPv6(s);
  }
  return parseIPv4(text);
}

export function sameAddress(a: IpAddress, b: IpAddress): boolean {
  if (a.family !== b.family) return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}

export type CidrCheck = { ok: true; cidr: Cidr } | { ok: false; rule: 'cidr' | 'host_bits' | 'catch_all_cidr'; message: string };

/**
 * Parses a CIDR as the policy's `internal.cidrs` takes it: an IPv4 dotted quad
 * or IPv6 address, `/`, a prefix length; no host bits set; not a catch-all.
 */
export function checkCidr(text: string): CidrCheck {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, rule: 'cidr', message: 'must be a CIDR: an address, "/" and a prefix length (e.g. 10.20.0.0/16)' };
  const addr = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const ip = addr.includes(':') ? parseIPv6(addr) : parseIPv4(addr);
  if (!ip) return { ok: false, rule: 'cidr', message: `"${addr}" is not a valid ${addr.includes(':') ? 'IPv6' : 'IPv4 (dotted quad)'} address` };
  const max = ip.family === 4 ? 32 : 128;
  if (!/^(?:0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > max) {
    return { ok: false, rule: 'cidr', message: `prefix length must be an integer from 0 to ${max}, found "${lenText}"` };
  }
  const prefix = Number(lenText);
  if (prefix === 0) {
    return { ok: false, rule: 'catch_all_cidr', message: `is a catch-all (every ${ip.family === 4 ? 'IPv4' : 'IPv6'} address): declaring it internal would switch off SSRF protection` };
  }
  const masked = maskBytes(ip.bytes, prefix);
  if (!masked.every((b, i) => b === ip.bytes[i])) {
    const net = `${ipFromBytes(masked).text}/${prefix}`;
    return { ok: false, rule: 'host_bits', message: `has host bits set; the network is ${net}` };
  }
  return { ok: true, cidr: { family: ip.family, bytes: ip.bytes, prefix, text: `${ip.text}/${prefix}` } };
}

/** A CIDR, or null. Rejects what {@link checkCidr} rejects except the catch-all, which matches everything. */
export function parseCidr(text: string): Cidr | null {
  const c = checkCidr(text);
  if (c.ok) return c.cidr;
  if (c.rule === 'catch_all_cidr') {
    const v6 = text.includes(':');
    return { family: v6 ? 6 : 4, bytes: new Uint8Array(v6 ? 16 : 4), prefix: 0, text: v6 ? '::/0' : '0.0.0.0/0' };
  }
  return null;
}

function maskBytes(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = bits === 0 ? 0 : bytes[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** Whether `ip` lies in `cidr` (same family only; see {@link inCidrs} for embedded IPv4). */
export function cidrContains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.family !== ip.family) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (cidr.bytes[full]! & m) === (ip.bytes[full]! & m);
}

function cidr(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`bad built-in CIDR ${text}`);
  return c;
}

/** How an IPv6 address carries an IPv4 one (§5.2, last row of the table). */
export type Embedding = 'mapped' | 'compatible' | 'nat64' | '6to4';

const EMBEDDINGS: readonly { net: Cidr; via: Embedding; offset: number }[] = [
  { net: cidr('::ffff:0:0/96'), via: 'mapped', offset: 12 },
  { net: cidr('::/96'), via: 'compatible', offset: 12 },
  { net: cidr('64:ff9b::/96'), via: 'nat64', offset: 12 },
  { net: cidr('2002::/16'), via: '6to4', offset: 2 },
];

/**
 * The IPv4 address inside an IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible
 * (`::/96`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) IPv6 address.
 * `::` and `::1` are not treated as IPv4-compatible (they are the unspecified
 * and loopback addresses).
 */
export function embeddedIPv4(ip: IpAddress): { ip: IpAddress; via: Embedding } | null {
  if (ip.family !== 6) return null;
  for (const e of EMBEDDINGS) {
    if (!cidrContains(e.net, ip)) continue;
    if (e.via === 'compatible' && ip.bytes.subarray(0, 15).every((b) => b === 0) && ip.bytes[15]! <= 1) return null;
    return { ip: ipFromBytes(ip.bytes.slice(e.offset, e.offset + 4)), via: e.via };
  }
  return null;
}

/** Names of the non-public ranges of §5.2, as they appear in receipt patterns. */
export type RangeName =
  | 'this network'
  | 'unspecified'
  | 'private'
  | 'cgnat'
  | 'loopback'
  | 'link-local'
  | 'reserved'
  | 'multicast'
  | 'broadcast'
  | 'unique-local'
  | 'site-local';

export interface IpRange {
  readonly cidr: Cidr;
  readonly name: RangeName;
  /**
   * Part of the observe-mode floor (§3.3): a block for this range stays a
   * block in observe mode. Loopback and link-local per the spec, plus the
   * unspecified addresses `0.0.0.0` and `::`, which reach the local host.
   */
  readonly floor: boolean;
}

function range(text: string, name: RangeName, floor = false): IpRange {
  return { cidr: cidr(text), name, floor };
}

/**
 * The address ranges of §5.2 that SSRF blocks (when `ssrf.enabled`) and that
 * make a destination `internal` (§3.1). Most specific first. The embedded-IPv4
 * prefixes are handled by {@link embeddedIPv4}, not listed here.
 */
export const SPECIAL_RANGES: readonly IpRange[] = [
  range('0.0.0.0/32', 'unspecified', true),
  range('0.0.0.0/8', 'this network'),
  range('10.0.0.0/8', 'private'),
  range('172.16.0.0/12', 'private'),
  range('192.168.0.0/16', 'private'),
  range('100.64.0.0/10', 'cgnat'),
  range('127.0.0.0/8', 'loopback', true),
  range('169.254.0.0/16', 'link-local', true),
  range('192.0.0.0/24', 'reserved'),
  range('198.18.0.0/15', 'reserved'),
  range('255.255.255.255/32', 'broadcast'),
  range('240.0.0.0/4', 'reserved'),
  range('224.0.0.0/4', 'multicast'),
  range('::/128', 'unspecified', true),
  range('::1/128', 'loopback', true),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local', true),
  range('fec0::/10', 'site-local'),
  range('ff00::/8', 'multicast'),
];

/** The metadata floor addresses (§5.2): always blocked, never exempt, `critical`. */
export const METADATA_ADDRESSES: readonly IpAddress[] = ['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254'].map((t) => parseIp(t)!);

/** The metadata floor names (§5.2), blocked before any resolution, with their `.internal` variants. */
export const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata.goog.internal',
  'metadata',
  'metadata.internal',
  'instance-data',
  'instance-data.internal',
  'instance-data.ec2.internal',
]);

/** What the range table says about one address, looking through embedded IPv4. */
export interface AddressAssessment {
  readonly ip: IpAddress;
  /** The embedded IPv4 address that was checked, when `ip` is IPv6 carrying one. */
  readonly embedded?: { ip: IpAddress; via: Embedding };
  /** A metadata floor address (itself or embedded). */
  readonly metadata: boolean;
  /** The non-public range it lies in, or null for a public address. */
  readonly range: IpRange | null;
}

export function assessAddress(ip: IpAddress): AddressAssessment {
  const emb = embeddedIPv4(ip);
  const subject = emb ? emb.ip : ip;
  const metadata = METADATA_ADDRESSES.some((m) => sameAddress(m, subject) || sameAddress(m, ip));
  let found: IpRange | null = null;
  for (const r of SPECIAL_RANGES) {
    if (cidrContains(r.cidr, subject)) {
      found = r;
      break;
    }
  }
  return emb ? { ip, embedded: emb, metadata, range: found } : { ip, metadata, range: found };
}

/** Public: in no range of the table and not a metadata address. */
export function isPublicAddress(ip: IpAddress): boolean {
  const a = assessAddress(ip);
  return !a.metadata && a.range === null;
}

export function isMetadataAddress(ip: IpAddress): boolean {
  return assessAddress(ip).metadata;
}

// ---------------------------------------------------------------------------
// Host normalization (§3 step 3, §5.2 encoded literal forms).

/** A normalized host: the canonical spelling every layer sees. */
export interface NormalizedHost {
  /** Lower-case ASCII name without trailing dot, dotted-quad IPv4, or IPv6 text without brackets. */
  readonly host: string;
  /** The address when the host is an IP literal (in any notation), else null. */
  readonly ip: IpAddress | null;
  /** An IPv4 literal written in another notation, as written (lower-cased, dots trimmed), e.g. `0x7f000001`. */
  readonly literal?: string;
}

export type HostInput = string | NormalizedHost;

const NAME_SHAPE = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;
const MAX_HOST_INPUT = 1024;

function stripDots(s: string): string {
  let t = s;
  if (t.endsWith('.')) t = t.slice(0, -1);
  if (t.startsWith('.')) t = t.slice(1);
  return t;
}

function normalizeV6(inner: string): NormalizedHost | null {
  let s = inner;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone); // `fe80::1%eth0`, `::1%25eth0`
  const ip = parseIPv6(s);
  return ip ? { host: ip.text, ip } : null;
}

/**
 * Normalizes a host as §3 step 3 and §5.2 say: lower-case; one trailing and
 * one leading dot stripped (`localhost.` → `localhost`); percent-decoding and
 * IDNA to ASCII (`bücher.de` → `xn--bcher-kva.de`, full-width digits too);
 * the IPv6 zone stripped (`[fe80::1%eth0]`); every alternative IPv4 notation
 * decoded to the dotted quad. IPv4-mapped, -compatible, NAT64 and 6to4 IPv6
 * literals stay IPv6 here; {@link assessAddress} checks the IPv4 they carry.
 *
 * The input is a bare host (brackets allowed for IPv6), never `host:port`.
 * Returns null when it is not a usable host: empty, control characters or
 * spaces, an invalid IPv6 or IPv4 literal (a host whose last label is numeric
 * must be a valid IPv4 address, as in a URL parser), failed IDNA, empty
 * labels, or characters outside `[a-z0-9_-]` after IDNA.
 */
export function normalizeHost(raw: string): NormalizedHost | null {
  if (raw.length === 0 || raw.length > MAX_HOST_INPUT) return null;
  if (/[\u0000-\u0020\u007f]/.test(raw)) return null;
  if (raw.startsWith('[')) return raw.endsWith(']') ? normalizeV6(raw.slice(1, -1)) : null;
  if (raw.includes(':')) return normalizeV6(raw);
  let s = raw;
  if (s.includes('%')) {
    try {
      s = decodeURIComponent(s);
    } catch {
      return null;
    }
    if (/[\u0000-\u0020\u007f%:[\]]/.test(s)) return null;
  }
  if (/[^\u0000-\u007f]/.test(s)) {
    // IDNA (UTS #46 mapping: case, full-width forms, ideographic full stops).
    s = domainToASCII(s);
    if (s === '') return null;
  }
  s = stripDots(s.toLowerCase());
  if (s === '') return null;
  if (endsInNumber(s)) {
    const ip = parseIPv4Loose(s);
    if (!ip) return null;
    const written = stripDots(raw.toLowerCase());
    return written !== ip.text ? { host: ip.text, ip, literal: written } : { host: ip.text, ip };
  }
  const ascii = domainToASCII(s);
  if (ascii === '' || !NAME_SHAPE.test(ascii)) return null;
  return { host: ascii, ip: null };
}

function asNormalized(h: HostInput): NormalizedHost | null {
  return typeof h === 'string' ? normalizeHost(h) : h;
}

// ---------------------------------------------------------------------------
// Host patterns (§4).

type CompiledPattern =
  | { readonly kind: 'wild'; readonly suffix: string; readonly text: string }
  | { readonly kind: 'name'; readonly name: string; readonly text: string }
  | { readonly kind: 'ip'; readonly ip: IpAddress; readonly text: string };

/**
 * Why a host pattern is unusable, or null. The schema checks the shape; this
 * adds what a regular expression cannot: IP patterns must parse (IPv4 as a
 * dotted quad), and a wildcard may not end in a numeric label (wildcards never
 * expand over IPs).
 */
export function hostPatternProblem(pattern: string): string | null {
  const p = pattern.toLowerCase();
  if (p.startsWith('[') || p.includes(':')) {
    return parseIp(p) ? null : 'is not a valid IPv6 address';
  }
  const body = p.startsWith('*.') ? p.slice(2) : p;
  const t = body.endsWith('.') ? body.slice(0, -1) : body;
  if (t === '' || !NAME_SHAPE.test(t)) return 'is not a host name, "*." and a host name, or an IP address';
  if (endsInNumber(t)) {
    if (p.startsWith('*.')) return 'a wildcard cannot end in a numeric label: wildcards never match IP addresses';
    if (!parseIPv4(t)) return 'an IPv4 pattern must be a plain dotted quad such as 10.0.0.1 (no short, octal or hex forms)';
  }
  return null;
}

function compilePattern(pattern: string): CompiledPattern | null {
  if (hostPatternProblem(pattern) !== null) return null;
  const p = pattern.toLowerCase();
  if (p.startsWith('[') || p.includes(':')) return { kind: 'ip', ip: parseIp(p)!, text: pattern };
  if (p.startsWith('*.')) return { kind: 'wild', suffix: stripTrailingDot(p.slice(2)), text: pattern };
  const name = stripTrailingDot(p);
  const ip = parseIPv4(name);
  return ip ? { kind: 'ip', ip, text: pattern } : { kind: 'name', name, text: pattern };
}

function stripTrailingDot(s: string): string {
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

/** An IPv4 address and its IPv4-mapped IPv6 form are one address. */
function sameHostAddress(a: IpAddress, b: IpAddress): boolean {
  if (sameAddress(a, b)) return true;
  const ea = embeddedIPv4(a);
  const eb = embeddedIPv4(b);
  if (ea?.via === 'mapped' && b.family === 4) return sameAddress(ea.ip, b);
  if (eb?.via === 'mapped' && a.family === 4) return sameAddress(eb.ip, a);
  return false;
}

function matchCompiled(p: CompiledPattern, h: NormalizedHost): boolean {
  if (p.kind === 'ip') return h.ip !== null && sameHostAddress(p.ip, h.ip);
  if (h.ip !== null) return false;
  if (p.kind === 'name') return h.host === p.name;
  return h.host === p.suffix || (h.host.length > p.suffix.length && h.host.endsWith(p.suffix) && h.host.charCodeAt(h.host.length - p.suffix.length - 1) === 0x2e);
}

/**
 * §4 host-pattern matching: case-insensitive, trailing dot ignored;
 * `*.example.com` matches every subdomain and the apex `example.com`; a
 * pattern without `*` matches exactly; an IP host matches only an exact IP
 * pattern (an IPv4 pattern also matches its IPv4-mapped IPv6 form), and
 * wildcards never match IPs. A string host is normalized first; an invalid
 * pattern or host matches nothing.
 */
export function matchHostPattern(pattern: string, host: HostInput): boolean {
  const p = compilePattern(pattern);
  const h = asNormalized(host);
  return p !== null && h !== null && matchCompiled(p, h);
}

const compiledLists = new WeakMap<readonly string[], readonly CompiledPattern[]>();

function compiledList(patterns: readonly string[]): readonly CompiledPattern[] {
  let c = compiledLists.get(patterns);
  if (!c) {
    c = patterns.map(compilePattern).filter((p): p is CompiledPattern => p !== null);
    compiledLists.set(patterns, c);
  }
  return c;
}

/** The first pattern of the list that matches, or null. Compiled lists are cached per array. */
export function firstMatch(patterns: readonly string[], host: HostInput): string | null {
  const h = asNormalized(host);
  if (!h) return null;
  for (const p of compiledList(patterns)) if (matchCompiled(p, h)) return p.text;
  return null;
}

export function matchesAny(patterns: readonly string[], host: HostInput): boolean {
  return firstMatch(patterns, host) !== null;
}

// ---------------------------------------------------------------------------
// Declarations and classification (§3.1).

/** Cluster-internal names of §3.1 (each also matches its apex, §4 semantics). */
export const CLUSTER_INTERNAL_PATTERNS: readonly string[] = ['localhost', '*.localhost', '*.local', '*.internal', '*.svc', '*.cluster.local'];

/** Names that mean loopback whatever a resolver says (RFC 6761): checked like the literal 127.0.0.1. */
const LOOPBACK_NAMES: readonly string[] = ['localhost', '*.localhost'];
const LOOPBACK_V4 = parseIPv4('127.0.0.1')!;

export function isMetadataName(host: HostInput): boolean {
  const h = asNormalized(host);
  return h !== null && h.ip === null && METADATA_NAMES.has(h.host);
}

function cidrList(policy: Policy): readonly Cidr[] {
  const list = policy.destinations.internal.cidrs;
  let c = cidrCache.get(list);
  if (!c) {
    c = list.map(parseCidr).filter((x): x is Cidr => x !== null);
    cidrCache.set(list, c);
  }
  return c;
}
const cidrCache = new WeakMap<readonly string[], readonly Cidr[]>();

/** Whether an address (or the IPv4 it embeds) lies in `destinations.internal.cidrs`. */
export function inDeclaredCidrs(policy: Policy, ip: IpAddress): boolean {
  const emb = embeddedIPv4(ip);
  return cidrList(policy).some((c) => cidrContains(c, ip) || (emb !== null && cidrContains(c, emb.ip)));
}

/** Operator-declared internal by name (`internal.hosts`) or, for IP literals, by CIDR. */
export function isDeclaredInternal(policy: Policy, host: HostInput): boolean {
  const h = asNormalized(host);
  if (!h) return false;
  if (matchesAny(policy.destinations.internal.hosts, h)) return true;
  return h.ip !== null && inDeclaredCidrs(policy, h.ip);
}

/**
 * The destination class of §3.1.
 *
 * - null host (unparsable) → `unknown`;
 * - declared internal (hosts or CIDRs), a cluster-internal name, a metadata
 *   name, or any literal/resolved address outside public space → `internal`
 *   (a mix of public and private answers is internal);
 * - `addresses` an empty array (the name did not resolve) → `unknown`;
 * - otherwise `external_trusted` when `destinations.trusted` matches, else
 *   `external_public`.
 *
 * `addresses` undefined means "not looked up" (a decision taken before DNS):
 * the class then follows from the name alone.
 */
export function classify(policy: Policy, host: HostInput | null, addresses?: readonly IpAddress[] | null): DestinationClass {
  const h = host === null ? null : asNormalized(host);
  if (!h) return 'unknown';
  if (h.ip === null && (METADATA_NAMES.has(h.host) || matchesAny(CLUSTER_INTERNAL_PATTERNS, h))) return 'internal';
  if (matchesAny(policy.destinations.internal.hosts, h)) return 'internal';
  const addrs = h.ip !== null ? [h.ip] : (addresses ?? undefined);
  if (addrs !== undefined) {
    if (addrs.length === 0) return 'unknown';
    if (addrs.some((a) => !isPublicAddress(a) || inDeclaredCidrs(policy, a))) return 'internal';
  }
  return matchesAny(policy.destinations.trusted, h) ? 'external_trusted' : 'external_public';
}

export interface ClassSeverityOptions {
  /** The returned payload carried sensitive data (§5.11). */
  sensitiveData?: boolean;
  /** An observe-mode request-side finding was waved through. */
  observedFinding?: boolean;
}

/**
 * Severity of allow and outcome receipts (§3.1 "Severity on allow", §3.2):
 * `internal` and `external_trusted` → `low`; `external_public` → `medium`,
 * `high` with sensitive data returned or an observe-mode finding waved
 * through. `unknown` is blocked by the spec's own rules; if it is ever
 * allowed (block_unresolvable false) it is rated like public.
 */
export function classSeverity(cls: DestinationClass, opts: ClassSeverityOptions = {}): Severity {
  switch (cls) {
    case 'internal':
    case 'external_trusted':
      return 'low';
    case 'external_public':
    case 'unknown':
      return opts.sensitiveData || opts.observedFinding ? 'high' : 'medium';
  }
}

export interface LayerSeverityOptions {
  /** `ssrf`: the finding is the metadata floor (→ `critical`). */
  metadataFloor?: boolean;
  /** `response_scan`: the `compressed_response` condition rather than an injection signal (→ `medium`). */
  compressedResponse?: boolean;
}

/**
 * Severity of a block or warn receipt from its deciding layer (§3.2 table).
 * DLP layers carry the matched pattern's severity; `body_dlp` without one is a
 * fail-closed condition (`medium`). Outcome receipts use {@link classSeverity}.
 */
export function layerSeverity(layer: Exclude<Layer, 'outcome'>, patternSeverity?: Severity, opts: LayerSeverityOptions = {}): Severity {
  switch (layer) {
    case 'dlp':
    case 'dlp_header':
    case 'response_dlp':
      return patternSeverity ?? 'high';
    case 'body_dlp':
      return patternSeverity ?? 'medium';
    case 'ssrf':
      return opts.metadataFloor ? 'critical' : 'high';
    case 'blocklist':
    case 'hostname_exfil':
    case 'sni_mismatch':
      return 'high';
    case 'response_scan':
      return opts.compressedResponse ? 'medium' : 'high';
    case 'allowlist':
    case 'parser':
    case 'scheme':
    case 'length':
    case 'entropy':
    case 'subdomain_entropy':
    case 'encoding_evasion':
    case 'ratelimit':
    case 'response_size':
    case 'unsupported_protocol':
    case 'receipt_unavailable':
      return 'medium';
  }
}

// ---------------------------------------------------------------------------
// Decisions: domain lists (§3 step 4) and SSRF (§3 steps 5 and 8).

/**
 * §3 step 4. The blocklist blocks (layer `blocklist`, `high`); with
 * `default: deny` a host that is neither on the allowlist nor declared
 * internal (host patterns, or CIDRs for an IP literal) is blocked (layer
 * `allowlist`, `medium`). Precedence block > internal > allow/default;
 * `trusted` grants nothing here. The reason names the policy pattern, never
 * the host (a host can carry exfiltrated data).
 */
export function domainDecision(policy: Policy, host: HostInput): Finding | null {
  const h = asNormalized(host);
  if (!h) return null; // unparsable hosts are the parser stage's business
  const blocked = firstMatch(policy.destinations.block, h);
  if (blocked !== null) {
    return { layer: 'blocklist', severity: layerSeverity('blocklist'), reason: `domain blocklist: matches ${blocked}`, where: 'hostname' };
  }
  if (policy.default === 'deny' && !isDeclaredInternal(policy, h) && !matchesAny(policy.destinations.allow, h)) {
    return { layer: 'allowlist', severity: layerSeverity('allowlist'), reason: 'not on the allowlist (default deny)', where: 'hostname' };
  }
  return null;
}

function metadataFinding(what: string): Finding {
  return { layer: 'ssrf', severity: 'critical', reason: `SSRF: metadata endpoint ${what}`, where: 'hostname', floor: true };
}

function describeAddress(a: AddressAssessment, lead: string): string {
  const r = a.range!.name;
  return a.embedded ? `${lead} ${a.ip.text} embeds ${a.embedded.ip.text} in ${r}` : `${lead} ${a.ip.text} in ${r}`;
}

/**
 * Checks one address. `exemptByName`: the host is declared internal by name
 * (resolved addresses of such names skip range blocking, §3 step 8).
 */
function addressFinding(policy: Policy, a: AddressAssessment, lead: (a: AddressAssessment) => string, exemptByName: boolean): Finding | null {
  if (a.metadata) return metadataFinding(a.embedded ? `${a.ip.text} (embeds ${a.embedded.ip.text})` : a.ip.text);
  if (a.range === null || !policy.ssrf.enabled || exemptByName || inDeclaredCidrs(policy, a.ip)) return null;
  const f: Finding = { layer: 'ssrf', severity: layerSeverity('ssrf'), reason: lead(a), where: 'hostname' };
  if (a.range.floor) f.floor = true;
  return f;
}

/**
 * SSRF (§5.2). Two stages, one function:
 *
 * - `addresses` undefined: **stage 5, before DNS.** IP literals (in every
 *   notation) are range-checked as written; metadata names are blocked;
 *   `localhost` and `*.localhost` count as the literal 127.0.0.1. Other names
 *   pass (they are checked once resolved).
 * - `addresses` an array: **stage 8, the resolved answer.** Every address
 *   must pass; one internal undeclared address blocks the whole answer (so a
 *   mixed public/private answer is blocked). An empty array means DNS failed:
 *   with `ssrf.block_unresolvable`, layer `ssrf`, pattern `dns resolution
 *   failed`.
 *
 * Exemptions: declared-internal CIDRs (and, for resolved names, declared
 * internal host patterns); `ssrf.enabled: false` lifts range blocking. The
 * metadata floor (addresses and names) is never exempt and is `critical`.
 * `floor` is set on findings that stay enforced in observe mode (§3.3): the
 * metadata floor, loopback, link-local and the unspecified address.
 */
export function ssrfCheck(policy: Policy, host: HostInput, addresses?: readonly IpAddress[] | null): Finding | null {
  const h = asNormalized(host);
  if (!h) return null;
  if (h.ip === null && METADATA_NAMES.has(h.host)) return metadataFinding(h.host);
  const declaredName = h.ip === null && matchesAny(policy.destinations.internal.hosts, h);

  if (h.ip !== null) {
    const a = assessAddress(h.ip);
    const lead = (x: AddressAssessment): string => (h.literal ? describeAddress(x, `SSRF: ${h.literal} decodes to`) : describeAddress(x, 'SSRF: literal'));
    const f = addressFinding(policy, a, lead, false);
    if (f || addresses === undefined || addresses === null) return f;
  } else if (matchesAny(LOOPBACK_NAMES, h)) {
    const f = addressFinding(policy, assessAddress(LOOPBACK_V4), () => `SSRF: ${h.host} is loopback`, declaredName);
    if (f || addresses === undefined || addresses === null) return f;
  } else if (addresses === undefined || addresses === null) {
    return null;
  }

  if (addresses.length === 0) {
    if (h.ip !== null || !policy.ssrf.block_unresolvable) return null;
    return { layer: 'ssrf', severity: layerSeverity('ssrf'), reason: 'dns resolution failed', where: 'hostname' };
  }
  const assessed = addresses.map(assessAddress);
  const meta = assessed.find((a) => a.metadata);
  if (meta) return addressFinding(policy, meta, () => '', declaredName);
  const mixed = assessed.some((a) => a.range === null) && assessed.some((a) => a.range !== null);
  for (const a of assessed) {
    const f = addressFinding(policy, a, (x) => describeAddress(x, 'SSRF: resolves to') + (mixed ? ' (mixed public and internal answer)' : ''), declaredName);
    if (f) return f;
  }
  return null;
}
