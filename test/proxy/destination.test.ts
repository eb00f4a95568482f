/**
 * Destinations (spec/proxy.md §3, §3.1, §3.2, §4 host patterns, §5.2, §5.3):
 * host normalization with every encoded IP form, the range tables and the
 * floor, host-pattern matching, domain lists, SSRF and classification. The
 * agent-egress-bench URL cases are replayed where they apply.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  assessAddress,
  checkCidr,
  cidrContains,
  classify,
  classSeverity,
  CLUSTER_INTERNAL_PATTERNS,
  domainDecision,
  embeddedIPv4,
  endsInNumber,
  firstMatch,
  formatIPv6,
  ipFromBytes,
  isDeclaredInternal,
  isMetadataName,
  isPublicAddress,
  layerSeverity,
  matchesAny,
  matchHostPattern,
  METADATA_ADDRESSES,
  METADATA_NAMES,
  normalizeHost,
  parseCidr,
  parseIp,
  parseIPv4,
  parseIPv4Loose,
  parseIPv6,
  SPECIAL_RANGES,
  ssrfCheck,
  type IpAddress,
  type NormalizedHost,
} from '../../src/proxy/destination.js';
import { DEFAULT_POLICY_TEXT, parsePolicy, type Policy } from '../../src/proxy/policy.js';
import { LAYERS, type Finding } from '../../src/proxy/types.js';
import { haveShared, shared } from '../helpers/fixtures.js';

type Mutable = { [k: string]: any };

/** A validated policy: the default with edits applied. */
function policy(edit: (p: Mutable) => void = () => {}): Policy {
  const p = JSON.parse(DEFAULT_POLICY_TEXT) as Mutable;
  edit(p);
  return parsePolicy(Buffer.from(JSON.stringify(p)), 'test', { allowTestingOverrides: true, listenIsLoopback: true }).policy;
}

const DEFAULT = policy();
const ip = (t: string): IpAddress => parseIp(t)!;
const nh = (raw: string): NormalizedHost => {
  const h = normalizeHost(raw);
  if (!h) throw new Error(`normalizeHost(${JSON.stringify(raw)}) is null`);
  return h;
};

function expectFinding(f: Finding | null): Finding {
  expect(f).not.toBeNull();
  expect(LAYERS).toContain(f!.layer);
  return f!;
}

// ---------------------------------------------------------------------------

describe('normalizeHost: names (§3 step 3)', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM.', 'example.com'],
    ['localhost.', 'localhost'],
    ['LOCALHOST', 'localhost'],
    ['.example.com', 'example.com'],
    ['.example.com.', 'example.com'],
    ['my_host.example.com', 'my_host.example.com'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['BÜCHER.DE.', 'xn--bcher-kva.de'],
    ['xn--bcher-kva.de', 'xn--bcher-kva.de'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah'],
    ['example\u3002com', 'example.com'], // ideographic full stop
    ['ｅｘａｍｐｌｅ.com', 'example.com'], // full-width letters
    ['exa\u200bmple.com', 'example.com'], // zero-width space is mapped away by IDNA
    ['exa%6dple.com', 'example.com'],
    ['EXA%4DPLE.com', 'example.com'],
    ['1.2.3.example', '1.2.3.example'],
    ['123.example.com', '123.example.com'],
  ])('%j → %j', (raw, host) => {
    expect(normalizeHost(raw)).toEqual({ host, ip: null });
  });

  it.each([
    [''],
    ['.'],
    ['..'],
    ['a..b'],
    ['exa mple.com'],
    ['example.com\n'],
    ['\texample.com'],
    ['exa\u007fmple.com'],
    ['foo!.com'],
    ['foo*.com'],
    ['xn--zz'],
    ['ex%ample.com'],
    ['ex%00ample.com'],
    ['ex%3aample.com'],
    ['ex%20ample.com'],
    ['a'.repeat(1025)],
  ])('rejects %j', (raw) => {
    expect(normalizeHost(raw)).toBeNull();
  });
});

/** [as written, canonical dotted quad]. Every one must also agree with the WHATWG URL parser. */
const IPV4_FORMS: [string, string][] = [
  ['127.0.0.1', '127.0.0.1'],
  ['127.0.0.1.', '127.0.0.1'],
  ['.127.0.0.1', '127.0.0.1'],
  ['2130706433', '127.0.0.1'], // decimal
  ['0x7f000001', '127.0.0.1'], // hex
  ['0X7F000001', '127.0.0.1'],
  ['017700000001', '127.0.0.1'], // octal integer
  ['0177.0.0.1', '127.0.0.1'], // dotted octal
  ['0177.0000.0000.0001', '127.0.0.1'],
  ['0x7f.0.0.1', '127.0.0.1'], // dotted hex
  ['0x7f.0x0.0x0.0x1', '127.0.0.1'],
  ['0x7f.0.0.01', '127.0.0.1'], // mixed
  ['0177.0x0.00.1', '127.0.0.1'], // mixed
  ['127.1', '127.0.0.1'], // short a.b
  ['127.0.1', '127.0.0.1'], // short a.b.c
  ['0x7f.1', '127.0.0.1'],
  ['0177.1', '127.0.0.1'],
  ['10.1', '10.0.0.1'],
  ['10.65535', '10.0.255.255'],
  ['192.168.257', '192.168.1.1'],
  ['192.11010305', '192.168.1.1'],
  ['0', '0.0.0.0'],
  ['0x', '0.0.0.0'],
  ['0.0.0.0', '0.0.0.0'],
  ['169.254.169.254', '169.254.169.254'],
  ['2852039166', '169.254.169.254'],
  ['0xa9fea9fe', '169.254.169.254'],
  ['0251.0376.0251.0376', '169.254.169.254'],
  ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'],
  ['169.254.43518', '169.254.169.254'],
  ['4294967295', '255.255.255.255'],
  ['１２７.０.０.１', '127.0.0.1'], // full-width digits (IDNA maps them)
  ['127%2e0%2e0%2e1', '127.0.0.1'], // percent-encoded dots
  ['8.8.8.8', '8.8.8.8'],
];

describe('normalizeHost: every alternative IPv4 notation (§5.2)', () => {
  it.each(IPV4_FORMS)('%j → %s', (raw, dotted) => {
    const h = nh(raw);
    expect(h.host).toBe(dotted);
    expect(h.ip).toEqual({ family: 4, bytes: Uint8Array.from(dotted.split('.').map(Number)), text: dotted });
    const plain = raw.toLowerCase().replace(/^\./, '').replace(/\.$/, '');
    if (plain === dotted) expect(h.literal).toBeUndefined();
    else expect(h.literal).toBe(plain);
  });

  // A leading dot is §5.2's own addition: a URL parser refuses `.127.0.0.1`, a CONNECT host or resolver may not.
  it.each(IPV4_FORMS.filter(([raw]) => !raw.startsWith('.')))('%j agrees with the WHATWG URL parser', (raw, dotted) => {
    expect(new URL(`http://${raw}/`).hostname).toBe(dotted);
  });

  it.each([
    ['1.2.3.4.5'],
    ['256.1.1.1'],
    ['1.256.1.1'],
    ['1.2.3.256'],
    ['1.2.65536'],
    ['1.16777216'],
    ['4294967296'],
    ['99999999999999999999'],
    ['08.1.1.1'],
    ['0x7g.0.0.1'],
    ['foo.123'],
    ['1..2'],
    ['example.0x1'],
  ])('rejects %j (ends in a number but is no valid IPv4), like a URL parser', (raw) => {
    expect(normalizeHost(raw)).toBeNull();
    expect(() => new URL(`http://${raw}/`)).toThrow();
  });

  it('endsInNumber follows WHATWG', () => {
    expect(endsInNumber('a.1')).toBe(true);
    expect(endsInNumber('a.0x')).toBe(true);
    expect(endsInNumber('a.0xfg')).toBe(false);
    expect(endsInNumber('1.a')).toBe(false);
    expect(endsInNumber('1.2.')).toBe(true);
  });
});

/** [as written, canonical IPv6 text]. */
const IPV6_FORMS: [string, string][] = [
  ['[::1]', '::1'],
  ['::1', '::1'],
  ['[0:0:0:0:0:0:0:1]', '::1'],
  ['[::1%eth0]', '::1'], // zone id
  ['[::1%25eth0]', '::1'], // zone id, URL-encoded %
  ['fe80::1%eth0', 'fe80::1'],
  ['[FE80::1%25En0]', 'fe80::1'],
  ['[::]', '::'],
  ['[::ffff:127.0.0.1]', '::ffff:7f00:1'], // IPv4-mapped, dotted
  ['[::ffff:7f00:1]', '::ffff:7f00:1'], // IPv4-mapped, hex
  ['[::FFFF:7F00:0001]', '::ffff:7f00:1'],
  ['[0:0:0:0:0:ffff:127.0.0.1]', '::ffff:7f00:1'],
  ['[::ffff:169.254.169.254]', '::ffff:a9fe:a9fe'],
  ['[::127.0.0.1]', '::7f00:1'], // IPv4-compatible
  ['[::10.0.0.5]', '::a00:5'],
  ['[64:ff9b::127.0.0.1]', '64:ff9b::7f00:1'], // NAT64
  ['[64:ff9b::a9fe:a9fe]', '64:ff9b::a9fe:a9fe'],
  ['[2002:7f00:1::]', '2002:7f00:1::'], // 6to4
  ['[fd00:ec2::254]', 'fd00:ec2::254'],
  ['[2001:DB8:0:0:1:0:0:1]', '2001:db8::1:0:0:1'],
  ['[2606:4700:4700::1111]', '2606:4700:4700::1111'],
];

describe('normalizeHost: IPv6 literals, zone ids, embedded IPv4 (§5.2)', () => {
  it.each(IPV6_FORMS)('%j → %s', (raw, text) => {
    const h = nh(raw);
    expect(h.host).toBe(text);
    expect(h.ip?.family).toBe(6);
    expect(h.ip?.text).toBe(text);
  });

  it.each(IPV6_FORMS.filter(([raw]) => raw.startsWith('[') && !raw.includes('%')))('%j agrees with the WHATWG URL parser', (raw, text) => {
    expect(new URL(`http://${raw}/`).hostname).toBe(`[${text}]`);
  });

  it.each([['[::1'], ['::1]'], ['[:::1]'], ['[1:2:3:4:5:6:7:8:9]'], ['[1::2::3]'], ['[::ffff:127.0.0.256]'], ['[::ffff:127.0.0]'], ['[::ffff:127.00.0.1]'], ['[12345::]'], ['[g::1]'], ['[]'], ['[%eth0]'], ['example.com:443']])(
    'rejects %j',
    (raw) => {
      expect(normalizeHost(raw)).toBeNull();
    },
  );
});

// ---------------------------------------------------------------------------

describe('IP helpers', () => {
  it('parseIPv4 accepts only the canonical dotted quad', () => {
    expect(parseIPv4('10.0.0.1')?.text).toBe('10.0.0.1');
    for (const bad of ['010.0.0.1', '10.0.1', '10.0.0.256', '0x0a.0.0.1', '10.0.0.1.', ' 10.0.0.1', '']) expect(parseIPv4(bad)).toBeNull();
  });

  it('parseIPv4Loose and parseIPv6 directly', () => {
    expect(parseIPv4Loose('0x7f.1')?.text).toBe('127.0.0.1');
    expect(parseIPv4Loose('example')).toBeNull();
    expect(parseIPv6('::ffff:1.2.3.4')?.text).toBe('::ffff:102:304');
    expect(parseIPv6('1:2:3:4:5:6:7::')?.text).toBe('1:2:3:4:5:6:7:0');
    expect(parseIPv6('::1:2:3:4:5:6:7')?.text).toBe('0:1:2:3:4:5:6:7');
  });

  it.each([
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
    ['1:0:0:1:1:0:0:1', '1::1:1:0:0:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:0:1:1:1:1:1:1', '1:0:1:1:1:1:1:1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
  ])('formats %s as %s (RFC 5952 / WHATWG)', (input, out) => {
    expect(parseIPv6(input)!.text).toBe(out);
    expect(new URL(`http://[${input}]/`).hostname).toBe(`[${out}]`);
  });

  it('formats 300 random IPv6 addresses exactly as the URL parser does', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let n = 0; n < 300; n++) {
      const bytes = new Uint8Array(16);
      for (let k = 0; k < 8; k++) {
        const v = rnd() % 3 === 0 ? 0 : rnd() & 0xffff;
        bytes[2 * k] = v >> 8;
        bytes[2 * k + 1] = v & 255;
      }
      const text = formatIPv6(bytes);
      expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      expect(parseIPv6(text)!.bytes).toEqual(bytes);
    }
  });

  it('parseIp: resolver answers', () => {
    expect(parseIp('203.0.113.10')?.family).toBe(4);
    expect(parseIp('2001:db8::1')?.family).toBe(6);
    expect(parseIp('[::1]')?.text).toBe('::1');
    expect(parseIp('fe80::1%eth0')?.text).toBe('fe80::1');
    expect(parseIp('127.1')).toBeNull();
    expect(parseIp('example.com')).toBeNull();
  });

  it('ipFromBytes validates the length', () => {
    expect(() => ipFromBytes(new Uint8Array(5))).toThrow(RangeError);
  });

  it('CIDRs: parse, contain, reject', () => {
    const c = parseCidr('10.20.0.0/16')!;
    expect(cidrContains(c, ip('10.20.255.1'))).toBe(true);
    expect(cidrContains(c, ip('10.21.0.1'))).toBe(false);
    expect(cidrContains(c, ip('::ffff:10.20.0.1'))).toBe(false); // family mismatch; see inDeclaredCidrs
    const odd = parseCidr('172.16.0.0/12')!;
    expect(cidrContains(odd, ip('172.31.255.255'))).toBe(true);
    expect(cidrContains(odd, ip('172.32.0.0'))).toBe(false);
    const v6 = parseCidr('fd00::/8')!;
    expect(cidrContains(v6, ip('fdff::1'))).toBe(true);
    expect(cidrContains(v6, ip('fe00::1'))).toBe(false);
    expect(parseCidr('1.2.3.4/32')!.text).toBe('1.2.3.4/32');
    expect(parseCidr('2001:DB8::/32')!.text).toBe('2001:db8::/32');
    expect(checkCidr('0.0.0.0/0')).toMatchObject({ ok: false, rule: 'catch_all_cidr' });
    expect(checkCidr('::/0')).toMatchObject({ ok: false, rule: 'catch_all_cidr' });
    expect(checkCidr('10.0.0.1/8')).toMatchObject({ ok: false, rule: 'host_bits' });
    expect(checkCidr('10.0.0.0')).toMatchObject({ ok: false, rule: 'cidr' });
    expect(parseCidr('0.0.0.0/0')!.prefix).toBe(0);
    expect(parseCidr('10.0.0.1/8')).toBeNull();
  });

  it.each([
    ['::ffff:127.0.0.1', '127.0.0.1', 'mapped'],
    ['::7f00:1', '127.0.0.1', 'compatible'],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 'nat64'],
    ['2002:0a00:0005::1', '10.0.0.5', '6to4'],
  ])('embeddedIPv4(%s) = %s via %s', (v6, v4, via) => {
    const e = embeddedIPv4(ip(v6))!;
    expect(e.ip.text).toBe(v4);
    expect(e.via).toBe(via);
  });

  it('embeddedIPv4: none for :: and ::1, ordinary IPv6 or IPv4', () => {
    for (const t of ['::', '::1', '2001:db8::1', 'fe80::1', '10.0.0.1']) expect(embeddedIPv4(ip(t))).toBeNull();
  });
});

// ---------------------------------------------------------------------------

describe('range table and metadata floor (§5.2)', () => {
  it.each([
    ['0.0.0.0', 'unspecified', true],
    ['0.1.2.3', 'this network', false],
    ['10.0.0.5', 'private', false],
    ['172.16.0.1', 'private', false],
    ['172.31.255.254', 'private', false],
    ['192.168.1.1', 'private', false],
    ['100.64.0.1', 'cgnat', false],
    ['100.127.255.254', 'cgnat', false],
    ['127.0.0.1', 'loopback', true],
    ['127.255.255.254', 'loopback', true],
    ['169.254.1.1', 'link-local', true],
    ['192.0.0.8', 'reserved', false],
    ['198.18.0.1', 'reserved', false],
    ['198.19.255.255', 'reserved', false],
    ['240.0.0.1', 'reserved', false],
    ['255.255.255.255', 'broadcast', false],
    ['224.0.0.251', 'multicast', false],
    ['239.255.255.250', 'multicast', false],
    ['::', 'unspecified', true],
    ['::1', 'loopback', true],
    ['fc00::1', 'unique-local', false],
    ['fd12:3456::1', 'unique-local', false],
    ['fe80::1', 'link-local', true],
    ['febf::1', 'link-local', true],
    ['fec0::1', 'site-local', false],
    ['ff02::1', 'multicast', false],
    ['::ffff:127.0.0.1', 'loopback', true],
    ['::ffff:10.0.0.1', 'private', false],
    ['::a00:1', 'private', false],
    ['64:ff9b::7f00:1', 'loopback', true],
    ['64:ff9b::c0a8:101', 'private', false],
    ['2002:c0a8:0101::', 'private', false],
    ['2002:7f00:1::', 'loopback', true],
  ])('%s is %s (floor %s)', (addr, name, floor) => {
    const a = assessAddress(ip(addr));
    expect(a.range?.name).toBe(name);
    expect(a.range?.floor).toBe(floor);
    expect(isPublicAddress(ip(addr))).toBe(false);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '203.0.113.10', // documentation range: the testing.resolve_all_to address must count as public
    '198.51.100.7',
    '192.0.2.1',
    '172.15.255.255',
    '172.32.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '169.253.255.255',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:db8::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:0808:0808::',
    'fbff::1',
    'fe7f::1',
  ])('%s is public', (addr) => {
    const a = assessAddress(ip(addr));
    expect(a.range).toBeNull();
    expect(a.metadata).toBe(false);
    expect(isPublicAddress(ip(addr))).toBe(true);
  });

  it.each(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '::a9fe:a9fe', '2002:a9fe:a9fe::', '::ffff:100.100.100.200'])(
    '%s is a metadata floor address',
    (addr) => {
      expect(assessAddress(ip(addr)).metadata).toBe(true);
    },
  );

  it('the tables hold the spec entries', () => {
    expect(METADATA_ADDRESSES.map((a) => a.text)).toEqual(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);
    for (const n of ['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'metadata.internal', 'instance-data.internal']) expect(METADATA_NAMES.has(n)).toBe(true);
    const cidrs = SPECIAL_RANGES.map((r) => r.cidr.text);
    for (const c of ['0.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '192.0.0.0/24', '198.18.0.0/15', '240.0.0.0/4', '255.255.255.255/32', '224.0.0.0/4', '::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'fec0::/10', 'ff00::/8']) {
      expect(cidrs).toContain(c);
    }
    expect(SPECIAL_RANGES.filter((r) => r.floor).map((r) => r.name)).toEqual(['unspecified', 'loopback', 'link-local', 'unspecified', 'loopback', 'link-local']);
  });

  it('metadata names, with trailing dot and case', () => {
    expect(isMetadataName('metadata.google.internal')).toBe(true);
    expect(isMetadataName('METADATA.Google.Internal.')).toBe(true);
    expect(isMetadataName('metadata')).toBe(true);
    expect(isMetadataName('instance-data.')).toBe(true);
    expect(isMetadataName('metadata.example.com')).toBe(false);
    expect(isMetadataName('169.254.169.254')).toBe(false); // an address, not a name
  });
});

// ---------------------------------------------------------------------------

describe('host patterns (§4)', () => {
  it.each([
    ['*.example.com', 'example.com', true], // apex
    ['*.example.com', 'www.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'badexample.com', false],
    ['*.example.com', 'example.com.evil.net', false],
    ['*.example.com', 'example.co', false],
    ['example.com', 'example.com', true],
    ['example.com', 'www.example.com', false], // exact
    ['www.example.com', 'example.com', false],
    ['EXAMPLE.com.', 'example.COM', true], // case, trailing dot
    ['*.Example.COM.', 'Sub.Example.Com.', true],
    ['xn--bcher-kva.de', 'bücher.de', true], // IDNA host
    ['*.xn--bcher-kva.de', 'shop.BÜCHER.de', true],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '2130706433', true], // encoded host normalizes
    ['127.0.0.1', '0x7f.1', true],
    ['127.0.0.1', '[::ffff:127.0.0.1]', true], // IPv4-mapped is the same address
    ['::ffff:127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '[64:ff9b::7f00:1]', false], // NAT64 is a different address
    ['127.0.0.1', '127.0.0.2', false],
    ['::1', '[::1]', true],
    ['[::1]', '0:0::1', true],
    ['[fe80::1]', '[fe80::1%eth0]', true],
    ['*.example.com', '127.0.0.1', false], // wildcards never match IPs
    ['*.com', '1.2.3.4', false],
    ['*.1', '10.0.0.1', false], // invalid pattern matches nothing
    ['1.2.3.4', 'www.1.2.3.4.example', false],
    ['localhost', 'localhost.', true],
    ['example.com', 'exa mple.com', false], // invalid host matches nothing
  ])('%j vs %j → %s', (pattern, host, want) => {
    expect(matchHostPattern(pattern, host)).toBe(want);
  });

  it('matchesAny / firstMatch', () => {
    const list = ['*.pastebin.com', 'file.io', '10.0.0.1'];
    expect(firstMatch(list, 'PASTEBIN.com.')).toBe('*.pastebin.com');
    expect(firstMatch(list, 'file.io')).toBe('file.io');
    expect(firstMatch(list, 'x.file.io')).toBeNull();
    expect(firstMatch(list, '012.0.0.1')).toBe('10.0.0.1');
    expect(matchesAny(list, 'example.com')).toBe(false);
    expect(matchesAny([], 'example.com')).toBe(false);
    expect(matchesAny(list, nh('dl.pastebin.com'))).toBe(true);
  });

  it('cluster-internal names', () => {
    for (const h of ['localhost', 'api.localhost', 'printer.local', 'db.internal', 'web.svc', 'web.default.svc.cluster.local']) expect(matchesAny(CLUSTER_INTERNAL_PATTERNS, h), h).toBe(true);
    for (const h of ['localhost.example.com', 'internal.example.com', 'svc.example.com']) expect(matchesAny(CLUSTER_INTERNAL_PATTERNS, h), h).toBe(false);
  });
});

// ---------------------------------------------------------------------------

describe('domain lists (§3 step 4, §5.3) and precedence', () => {
  it('default policy: the starter blocklist blocks with layer blocklist, high', () => {
    for (const h of ['pastebin.com', 'www.pastebin.com', 'hastebin.com', 'x.paste.ee', 'transfer.sh', 'file.io', 'requestbin.com', 'requestbin.net', 'FILE.IO.']) {
      const f = expectFinding(domainDecision(DEFAULT, h));
      expect(f).toMatchObject({ layer: 'blocklist', severity: 'high', where: 'hostname' });
    }
    expect(domainDecision(DEFAULT, 'sub.file.io')).toBeNull();
    expect(domainDecision(DEFAULT, 'api.github.com')).toBeNull();
    expect(domainDecision(DEFAULT, '10.0.0.1')).toBeNull();
  });

  it('the reason names the policy pattern, never the host (which may carry data)', () => {
    const f = domainDecision(DEFAULT, 'akiaiosfodnn7example.pastebin.com')!;
    expect(f.reason).toBe('domain blocklist: matches *.pastebin.com');
    expect(f.reason).not.toContain('akia');
  });

  const strict = policy((p) => {
    p.default = 'deny';
    p.destinations.allow = ['*.github.com', 'api.openai.com', '203.0.113.7'];
    p.destinations.block = ['evil.github.com', 'build-cache.internal'];
    p.destinations.trusted = ['pypi.org', '*.github.com'];
    p.destinations.internal = { hosts: ['*.svc.cluster.local', 'build-cache.internal'], cidrs: ['10.20.0.0/16'] };
  });

  it.each([
    ['api.github.com', null], // allow
    ['github.com', null], // allow (apex)
    ['api.openai.com', null],
    ['203.0.113.7', null], // allowed IP
    ['0xcb007107', null], // same IP, encoded
    ['web.default.svc.cluster.local', null], // internal host
    ['10.20.3.4', null], // internal CIDR (IP literal)
    ['evil.github.com', 'blocklist'], // block > allow
    ['build-cache.internal', 'blocklist'], // block > internal
    ['pypi.org', 'allowlist'], // trusted grants no reachability
    ['example.com', 'allowlist'],
    ['10.21.0.1', 'allowlist'], // private but undeclared
    ['localhost', 'allowlist'], // cluster-internal but undeclared
    ['openai.com', 'allowlist'], // exact pattern
  ])('deny mode: %s → %s', (host, layer) => {
    const f = domainDecision(strict, host);
    if (layer === null) expect(f).toBeNull();
    else expect(expectFinding(f)).toMatchObject({ layer, severity: layer === 'blocklist' ? 'high' : 'medium' });
  });

  it('deny mode: the allowlist finding has the §3.2 severity and a fixed reason', () => {
    expect(domainDecision(strict, 'example.com')).toEqual({ layer: 'allowlist', severity: 'medium', reason: 'not on the allowlist (default deny)', where: 'hostname' });
  });

  it('allow mode: only the blocklist blocks', () => {
    const p = policy((x) => {
      x.destinations.block = ['exfil-collector.example.net'];
      x.destinations.allow = ['only.example.com'];
    });
    expect(domainDecision(p, 'exfil-collector.example.net')?.layer).toBe('blocklist');
    expect(domainDecision(p, 'anything.example.org')).toBeNull();
  });

  it('isDeclaredInternal: host patterns, and CIDRs for IP literals (embedded IPv4 too)', () => {
    expect(isDeclaredInternal(strict, 'a.svc.cluster.local')).toBe(true);
    expect(isDeclaredInternal(strict, '10.20.0.9')).toBe(true);
    expect(isDeclaredInternal(strict, '[::ffff:10.20.0.9]')).toBe(true);
    expect(isDeclaredInternal(strict, '10.30.0.9')).toBe(false);
    expect(isDeclaredInternal(strict, 'example.com')).toBe(false);
  });
});

// ---------------------------------------------------------------------------

describe('SSRF before DNS: literals in every notation and metadata names (§3 step 5)', () => {
  it.each([
    ['127.0.0.1', 'SSRF: literal 127.0.0.1 in loopback', 'high', true],
    ['2130706433', 'SSRF: 2130706433 decodes to 127.0.0.1 in loopback', 'high', true],
    ['0x7f000001', 'SSRF: 0x7f000001 decodes to 127.0.0.1 in loopback', 'high', true],
    ['0177.0.0.1', 'SSRF: 0177.0.0.1 decodes to 127.0.0.1 in loopback', 'high', true],
    ['127.1', 'SSRF: 127.1 decodes to 127.0.0.1 in loopback', 'high', true],
    ['0x7f.0.0.01', 'SSRF: 0x7f.0.0.01 decodes to 127.0.0.1 in loopback', 'high', true],
    ['localhost', 'SSRF: localhost is loopback', 'high', true],
    ['LOCALHOST.', 'SSRF: localhost is loopback', 'high', true],
    ['app.localhost', 'SSRF: app.localhost is loopback', 'high', true],
    ['[::1]', 'SSRF: literal ::1 in loopback', 'high', true],
    ['[::1%eth0]', 'SSRF: literal ::1 in loopback', 'high', true],
    ['[::ffff:127.0.0.1]', 'SSRF: literal ::ffff:7f00:1 embeds 127.0.0.1 in loopback', 'high', true],
    ['[::ffff:7f00:1]', 'SSRF: literal ::ffff:7f00:1 embeds 127.0.0.1 in loopback', 'high', true],
    ['[::127.0.0.1]', 'SSRF: literal ::7f00:1 embeds 127.0.0.1 in loopback', 'high', true],
    ['[64:ff9b::127.0.0.1]', 'SSRF: literal 64:ff9b::7f00:1 embeds 127.0.0.1 in loopback', 'high', true],
    ['[2002:7f00:1::]', 'SSRF: literal 2002:7f00:1:: embeds 127.0.0.1 in loopback', 'high', true],
    ['0.0.0.0', 'SSRF: literal 0.0.0.0 in unspecified', 'high', true],
    ['0', 'SSRF: 0 decodes to 0.0.0.0 in unspecified', 'high', true],
    ['[::]', 'SSRF: literal :: in unspecified', 'high', true],
    ['169.254.1.1', 'SSRF: literal 169.254.1.1 in link-local', 'high', true],
    ['[fe80::1%25eth0]', 'SSRF: literal fe80::1 in link-local', 'high', true],
    ['10.0.0.5', 'SSRF: literal 10.0.0.5 in private', 'high', false],
    ['10.1', 'SSRF: 10.1 decodes to 10.0.0.1 in private', 'high', false],
    ['0xc0a80101', 'SSRF: 0xc0a80101 decodes to 192.168.1.1 in private', 'high', false],
    ['172.16.5.4', 'SSRF: literal 172.16.5.4 in private', 'high', false],
    ['100.64.1.1', 'SSRF: literal 100.64.1.1 in cgnat', 'high', false],
    ['[fd12::1]', 'SSRF: literal fd12::1 in unique-local', 'high', false],
    ['[::ffff:10.0.0.1]', 'SSRF: literal ::ffff:a00:1 embeds 10.0.0.1 in private', 'high', false],
    ['224.0.0.1', 'SSRF: literal 224.0.0.1 in multicast', 'high', false],
    ['255.255.255.255', 'SSRF: literal 255.255.255.255 in broadcast', 'high', false],
    ['169.254.169.254', 'SSRF: metadata endpoint 169.254.169.254', 'critical', true],
    ['2852039166', 'SSRF: metadata endpoint 169.254.169.254', 'critical', true],
    ['0251.0376.0251.0376', 'SSRF: metadata endpoint 169.254.169.254', 'critical', true],
    ['169.254.170.2', 'SSRF: metadata endpoint 169.254.170.2', 'critical', true],
    ['100.100.100.200', 'SSRF: metadata endpoint 100.100.100.200', 'critical', true],
    ['[fd00:ec2::254]', 'SSRF: metadata endpoint fd00:ec2::254', 'critical', true],
    ['[::ffff:169.254.169.254]', 'SSRF: metadata endpoint ::ffff:a9fe:a9fe (embeds 169.254.169.254)', 'critical', true],
    ['[64:ff9b::a9fe:a9fe]', 'SSRF: metadata endpoint 64:ff9b::a9fe:a9fe (embeds 169.254.169.254)', 'critical', true],
    ['metadata.google.internal', 'SSRF: metadata endpoint metadata.google.internal', 'critical', true],
    ['Metadata.Google.Internal.', 'SSRF: metadata endpoint metadata.google.internal', 'critical', true],
    ['metadata.goog', 'SSRF: metadata endpoint metadata.goog', 'critical', true],
    ['metadata', 'SSRF: metadata endpoint metadata', 'critical', true],
    ['instance-data', 'SSRF: metadata endpoint instance-data', 'critical', true],
    ['instance-data.internal', 'SSRF: metadata endpoint instance-data.internal', 'critical', true],
  ])('%s → %s', (host, reason, severity, floor) => {
    const f = expectFinding(ssrfCheck(DEFAULT, host));
    expect(f).toEqual({ layer: 'ssrf', severity, reason, where: 'hostname', ...(floor ? { floor: true } : {}) });
  });

  it.each(['8.8.8.8', '203.0.113.10', '[2606:4700::1]', '[::ffff:8.8.8.8]', 'example.com', 'api.github.com', 'db.internal', 'printer.local'])('%s passes before DNS', (host) => {
    expect(ssrfCheck(DEFAULT, host)).toBeNull();
  });

  it('declared-internal CIDRs are exempt; the metadata floor is not', () => {
    const p = policy((x) => {
      x.destinations.internal.cidrs = ['10.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', 'fd00::/8'];
    });
    expect(ssrfCheck(p, '10.1.2.3')).toBeNull();
    expect(ssrfCheck(p, '0x0a010203')).toBeNull();
    expect(ssrfCheck(p, '127.0.0.1')).toBeNull();
    expect(ssrfCheck(p, '[::ffff:127.0.0.1]')).toBeNull(); // embedded IPv4 in a declared CIDR
    expect(ssrfCheck(p, 'localhost')).toBeNull(); // localhost counts as 127.0.0.1
    expect(ssrfCheck(p, '169.254.1.1')).toBeNull();
    expect(ssrfCheck(p, '[fd00::5]')).toBeNull();
    expect(ssrfCheck(p, '169.254.169.254')).toMatchObject({ severity: 'critical', floor: true });
    expect(ssrfCheck(p, '[fd00:ec2::254]')).toMatchObject({ severity: 'critical', floor: true });
    expect(ssrfCheck(p, 'metadata.google.internal')).toMatchObject({ severity: 'critical', floor: true });
    expect(ssrfCheck(p, '192.168.1.1')?.layer).toBe('ssrf');
  });

  it('declaring a metadata name internal does not lift the floor', () => {
    const p = policy((x) => {
      x.destinations.internal.hosts = ['metadata.google.internal', '*.internal', 'localhost'];
    });
    expect(ssrfCheck(p, 'metadata.google.internal')).toMatchObject({ severity: 'critical', floor: true });
    expect(ssrfCheck(p, 'localhost')).toBeNull(); // declared: exempt like any declared name
  });

  it('ssrf.enabled=false lifts range blocking but never the metadata floor', () => {
    const p = policy((x) => {
      x.ssrf.enabled = false;
    });
    for (const h of ['127.0.0.1', '2130706433', '10.0.0.5', '[::1]', 'localhost', '[::ffff:10.0.0.1]', '169.254.1.1']) expect(ssrfCheck(p, h), h).toBeNull();
    for (const h of ['169.254.169.254', '0xa9fea9fe', '[fd00:ec2::254]', '100.100.100.200', 'metadata.goog']) {
      expect(ssrfCheck(p, h), h).toMatchObject({ layer: 'ssrf', severity: 'critical', floor: true });
    }
  });

  it('a null (unparsable) host is left to the parser stage', () => {
    expect(ssrfCheck(DEFAULT, '1.2.3.4.5')).toBeNull();
  });
});

describe('SSRF on the resolved answer (§3 step 8)', () => {
  const A = (...xs: string[]): IpAddress[] => xs.map(ip);

  it('a public answer passes', () => {
    expect(ssrfCheck(DEFAULT, 'example.com', A('93.184.216.34', '2606:2800:220:1::1'))).toBeNull();
    expect(ssrfCheck(DEFAULT, 'example.com', A('203.0.113.10'))).toBeNull(); // testing.resolve_all_to
  });

  it.each([
    [['10.0.0.5'], 'SSRF: resolves to 10.0.0.5 in private', 'high', false],
    [['127.0.0.1'], 'SSRF: resolves to 127.0.0.1 in loopback', 'high', true],
    [['::1'], 'SSRF: resolves to ::1 in loopback', 'high', true],
    [['fe80::1'], 'SSRF: resolves to fe80::1 in link-local', 'high', true],
    [['::ffff:192.168.0.1'], 'SSRF: resolves to ::ffff:c0a8:1 embeds 192.168.0.1 in private', 'high', false],
    [['93.184.216.34', '10.0.0.5'], 'SSRF: resolves to 10.0.0.5 in private (mixed public and internal answer)', 'high', false],
    [['10.0.0.5', '93.184.216.34'], 'SSRF: resolves to 10.0.0.5 in private (mixed public and internal answer)', 'high', false],
    [['93.184.216.34', '169.254.169.254'], 'SSRF: metadata endpoint 169.254.169.254', 'critical', true],
    [['10.0.0.5', '169.254.169.254'], 'SSRF: metadata endpoint 169.254.169.254', 'critical', true],
  ])('%j → %s', (answer, reason, severity, floor) => {
    const f = expectFinding(ssrfCheck(DEFAULT, 'rebind.example.com', A(...answer)));
    expect(f).toEqual({ layer: 'ssrf', severity, reason, where: 'hostname', ...(floor ? { floor: true } : {}) });
  });

  it('DNS failure: `dns resolution failed` (ssrf, high) when block_unresolvable, else nothing', () => {
    expect(ssrfCheck(DEFAULT, 'nx.example.com', [])).toEqual({ layer: 'ssrf', severity: 'high', reason: 'dns resolution failed', where: 'hostname' });
    const lax = policy((x) => {
      x.ssrf.block_unresolvable = false;
    });
    expect(ssrfCheck(lax, 'nx.example.com', [])).toBeNull();
    // block_unresolvable applies even with range blocking off.
    const off = policy((x) => {
      x.ssrf.enabled = false;
    });
    expect(ssrfCheck(off, 'nx.example.com', [])?.reason).toBe('dns resolution failed');
  });

  it('declared-internal names skip range checks on their answer, never the metadata floor', () => {
    const p = policy((x) => {
      x.destinations.internal.hosts = ['*.svc.cluster.local', 'build-cache.internal'];
    });
    expect(ssrfCheck(p, 'build-cache.internal', A('10.0.0.5', '127.0.0.1'))).toBeNull();
    expect(ssrfCheck(p, 'api.svc.cluster.local', A('169.254.169.254'))).toMatchObject({ severity: 'critical', floor: true });
    expect(ssrfCheck(p, 'other.example.com', A('10.0.0.5'))?.layer).toBe('ssrf');
  });

  it('declared-internal CIDRs exempt resolved addresses in them', () => {
    const p = policy((x) => {
      x.destinations.internal.cidrs = ['10.20.0.0/16'];
    });
    expect(ssrfCheck(p, 'cache.example.com', A('10.20.1.1'))).toBeNull();
    expect(ssrfCheck(p, 'cache.example.com', A('10.20.1.1', '10.21.0.1'))?.reason).toBe('SSRF: resolves to 10.21.0.1 in private');
  });

  it('ssrf.enabled=false: private answers pass, the metadata floor still blocks', () => {
    const p = policy((x) => {
      x.ssrf.enabled = false;
    });
    expect(ssrfCheck(p, 'x.example.com', A('10.0.0.5', '127.0.0.1'))).toBeNull();
    expect(ssrfCheck(p, 'x.example.com', A('100.100.100.200'))).toMatchObject({ severity: 'critical', floor: true });
  });

  it('literal checks still apply when an answer is given; literal names are blocked before any answer', () => {
    expect(ssrfCheck(DEFAULT, '127.0.0.1', A('127.0.0.1'))?.reason).toBe('SSRF: literal 127.0.0.1 in loopback');
    expect(ssrfCheck(DEFAULT, '8.8.8.8', A('8.8.8.8'))).toBeNull();
    expect(ssrfCheck(DEFAULT, '8.8.8.8', [])).toBeNull(); // a literal needs no resolution
    // The testing override makes every name resolve public; localhost and metadata names stay blocked.
    expect(ssrfCheck(DEFAULT, 'localhost', A('203.0.113.10'))?.floor).toBe(true);
    expect(ssrfCheck(DEFAULT, 'metadata.google.internal', A('203.0.113.10'))?.severity).toBe('critical');
  });
});

// ---------------------------------------------------------------------------

describe('classification (§3.1) and severities (§3.2)', () => {
  const p = policy((x) => {
    x.destinations.trusted = ['*.github.com', 'pypi.org', '203.0.113.50'];
    x.destinations.internal = { hosts: ['build-cache.corp'], cidrs: ['10.20.0.0/16'] };
  });
  const A = (...xs: string[]): IpAddress[] => xs.map(ip);

  it.each([
    [null, undefined, 'unknown'],
    ['1.2.3.4.5', undefined, 'unknown'], // unparsable
    ['nx.example.com', [], 'unknown'], // did not resolve
    ['localhost', undefined, 'internal'],
    ['db.internal', undefined, 'internal'],
    ['web.svc', undefined, 'internal'],
    ['web.default.svc.cluster.local', undefined, 'internal'],
    ['printer.local', [], 'internal'], // cluster-internal name, even unresolved
    ['metadata.goog', undefined, 'internal'],
    ['build-cache.corp', A('198.51.100.9'), 'internal'], // declared by name
    ['cache.example.com', A('10.20.0.5'), 'internal'], // declared CIDR
    ['10.0.0.1', undefined, 'internal'], // literal private
    ['2130706433', undefined, 'internal'],
    ['[::ffff:127.0.0.1]', undefined, 'internal'],
    ['169.254.169.254', undefined, 'internal'],
    ['intranet.example.com', A('192.168.1.10'), 'internal'],
    ['mixed.example.com', A('93.184.216.34', '10.0.0.5'), 'internal'], // a mix is internal
    ['api.github.com', A('10.0.0.5'), 'internal'], // internal > trusted
    ['api.github.com', A('140.82.112.6'), 'external_trusted'],
    ['github.com', undefined, 'external_trusted'],
    ['pypi.org', A('151.101.0.223'), 'external_trusted'],
    ['203.0.113.50', undefined, 'external_trusted'], // exact IP trusted
    ['example.com', A('93.184.216.34'), 'external_public'],
    ['example.com', undefined, 'external_public'], // not looked up (blocked before DNS)
    ['8.8.8.8', undefined, 'external_public'],
    ['[2606:4700::1111]', undefined, 'external_public'],
    ['bücher.de', A('81.169.145.1'), 'external_public'],
  ] as [string | null, IpAddress[] | undefined, string][])('%s %j → %s', (host, addrs, cls) => {
    expect(classify(p, host, addrs)).toBe(cls);
  });

  it('classify accepts a NormalizedHost', () => {
    expect(classify(p, nh('API.GitHub.com.'), A('140.82.112.6'))).toBe('external_trusted');
  });

  it('class severity on allow (§3.1)', () => {
    expect(classSeverity('internal')).toBe('low');
    expect(classSeverity('external_trusted')).toBe('low');
    expect(classSeverity('external_trusted', { sensitiveData: true })).toBe('low');
    expect(classSeverity('external_public')).toBe('medium');
    expect(classSeverity('external_public', { sensitiveData: true })).toBe('high');
    expect(classSeverity('external_public', { observedFinding: true })).toBe('high');
    expect(classSeverity('unknown')).toBe('medium');
  });

  it('layer severity of block and warn receipts (§3.2 table)', () => {
    expect(layerSeverity('dlp', 'critical')).toBe('critical');
    expect(layerSeverity('dlp_header', 'high')).toBe('high');
    expect(layerSeverity('body_dlp', 'critical')).toBe('critical');
    expect(layerSeverity('body_dlp')).toBe('medium'); // fail-closed condition
    expect(layerSeverity('response_dlp', 'medium')).toBe('medium'); // email
    expect(layerSeverity('ssrf')).toBe('high');
    expect(layerSeverity('ssrf', undefined, { metadataFloor: true })).toBe('critical');
    expect(layerSeverity('response_scan')).toBe('high');
    expect(layerSeverity('response_scan', undefined, { compressedResponse: true })).toBe('medium');
    for (const l of ['blocklist', 'hostname_exfil', 'sni_mismatch'] as const) expect(layerSeverity(l)).toBe('high');
    for (const l of ['allowlist', 'parser', 'scheme', 'length', 'entropy', 'subdomain_entropy', 'encoding_evasion', 'ratelimit', 'response_size', 'unsupported_protocol', 'receipt_unavailable'] as const) {
      expect(layerSeverity(l)).toBe('medium');
    }
  });

  it('every layer except outcome has a severity', () => {
    for (const l of LAYERS) if (l !== 'outcome') expect(['low', 'medium', 'high', 'critical']).toContain(layerSeverity(l));
  });
});

// ---------------------------------------------------------------------------

interface BenchCase {
  id: string;
  transport: string;
  payload: { url?: string };
  expected_verdict: 'block' | 'allow';
  severity: string;
  capability_tags: string[];
}

const CASE_DIR = shared('reference', 'agent-egress-bench-cases', 'url');
const haveCases = haveShared && existsSync(CASE_DIR);
if (!haveCases) console.warn('note: ../shared/reference/agent-egress-bench-cases/url is missing; the bench URL cases are skipped');

/** The URL cases this layer decides: SSRF, the domain blocklist, and the benign ones (which it must not block). */
function benchCases(): BenchCase[] {
  if (!haveCases) return [];
  return readdirSync(CASE_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(`${CASE_DIR}/${f}`, 'utf8')) as BenchCase)
    .filter((c) => c.payload.url && c.capability_tags.some((t) => t === 'ssrf' || t === 'domain_blocklist' || t === 'benign'));
}

describe('agent-egress-bench URL cases (ssrf, domain_blocklist, benign)', () => {
  // The benchmark policy (§8.3): the blocklist carries exfil-collector.example.net.
  const bench = policy((x) => {
    x.destinations.block = [...x.destinations.block, 'exfil-collector.example.net'];
  });
  const cases = benchCases();

  it.skipIf(!haveCases)('finds the cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(7);
  });

  it.skipIf(!haveCases).each(cases.map((c) => [c.id, c] as const))('%s', (_, c) => {
    const url = new URL(c.payload.url!);
    const h = normalizeHost(url.hostname);
    expect(h).not.toBeNull();
    // Stage 4, then stage 5; with testing.resolve_all_to every name resolves public (§8.3).
    const f = domainDecision(bench, h!) ?? ssrfCheck(bench, h!) ?? ssrfCheck(bench, h!, h!.ip ? [h!.ip] : [ip('203.0.113.10')]);
    if (c.expected_verdict === 'block') {
      expect(f).not.toBeNull();
      expect(f!.severity).toBe(c.severity);
      if (c.capability_tags.includes('ssrf')) expect(f!.floor).toBe(true); // stays blocked in observe mode
    } else {
      expect(f).toBeNull();
      expect(classify(bench, h!, [ip('203.0.113.10')])).toBe('external_public');
    }
  });

  it.skipIf(!haveCases)('the raw (unparsed) host of each SSRF case normalizes the same way', () => {
    for (const c of cases.filter((x) => x.capability_tags.includes('ssrf'))) {
      const raw = /^https?:\/\/(\[[^\]]*\]|[^/:?#]*)/.exec(c.payload.url!)![1]!;
      expect(normalizeHost(raw)?.host, c.id).toBe(normalizeHost(new URL(c.payload.url!).hostname)?.host);
    }
  });
});
