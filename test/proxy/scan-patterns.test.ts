/**
 * The pattern table (§5.5, §5.6): every built-in fires with its id and
 * severity, validated patterns reject look-alikes, and the policy knobs
 * (`disable`, `extra`, `bindings`, literal secrets, `generic_entropy`,
 * `max_decode_depth`) do what §4 says.
 */
import { describe, expect, it } from 'vitest';
import type { Severity } from '../../src/proxy/types.js';
import {
  BUILTIN_PATTERNS,
  BUILTIN_PATTERN_IDS,
  DEFAULT_DLP,
  DEFAULT_SCAN_OPTIONS,
  compileExtraRegex,
  scanBody,
  scanHeaders,
  scanUrl,
  validateExtraPattern,
  type DlpOptions,
  type ScanOptions,
} from '../../src/proxy/scan/index.js';
import { base32Encode } from '../../src/proxy/scan/patterns.js';

const HOST = 'collector.example.net';

function opts(dlp: Partial<DlpOptions> = {}, extra: Partial<ScanOptions> = {}): ScanOptions {
  return { ...DEFAULT_SCAN_OPTIONS, dlp: { ...DEFAULT_DLP, ...dlp }, ...extra };
}

function bodyIds(text: string, o: ScanOptions = DEFAULT_SCAN_OPTIONS, host = HOST): string[] {
  return scanBody(Buffer.from(text), 'text/plain', undefined, host, o).map((f) => f.patternId!);
}

// Synthetic values built by concatenation, shaped like the real secrets.
const SAMPLES: Record<string, [text: string, severity: Severity]> = {
  aws_access_key_id: ['key AKIAIOSFODNN7EXAMPLE end', 'critical'],
  aws_secret_access_key: ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'critical'],
  gcp_service_account: ['{"type": "service_account", "project_id": "p", "private_key": "redacted"}', 'critical'],
  google_api_key: ['k=AIza' + 'SyB1c2D3e4F5g6H7i8J9k0L1m2N3o4P5q6R', 'high'],
  github_token: ['ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef01', 'critical'],
  github_fine_grained_pat: ['github_pat_' + '11ABCDEFG0abcdefghijkl_' + 'mnopqrstuvwxyz0123456789ABCDEFGHIJ', 'critical'],
  gitlab_pat: ['glpat-' + 'xY1zA2bC3dE4fG5hI6jK', 'critical'],
  slack_token: ['xoxb-' + '1234567890-0987654321-AbCdEfGh', 'critical'],
  slack_webhook: ['https://hooks.slack.com/services/' + 'T00000000/B00000000/' + 'XXXXXXXXXXXXXXXXXXXXXXXX', 'high'],
  stripe_key: ['sk_live_' + 'FAKE_TEST_KEY_00000000000', 'critical'],
  sendgrid_key: ['SG.' + 'FAKE_TEST_KEY_0000000000' + '.' + 'FAKE_TEST_000000000000000000', 'critical'],
  openai_api_key: ['sk-proj-' + 'FAKE00000000000000000000TEST', 'critical'],
  anthropic_api_key: ['sk-ant-' + 'api03-FAKE0000000000', 'critical'],
  huggingface_token: ['hf_' + 'AbCdEfGhIjKlMnOpQrStUvWxYz12', 'critical'],
  npm_token: ['npm_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8', 'critical'],
  pypi_token: ['pypi-' + 'AgEIcHlwaS5vcmcCJGFiY2RlZg', 'critical'],
  twilio_key: ['SK' + '0123456789abcdef0123456789abcdef', 'high'],
  mailgun_key: ['key-' + '0123456789abcdef0123456789abcdef', 'high'],
  private_key_block: ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----', 'critical'],
  jwt: ['eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', 'high'],
  credential_assignment: ['password=hunter2hunter2', 'high'],
  env_secret: ['SERVICE_API_KEY=Zx81kd93hf7s', 'high'],
  btc_address_base58: ['send to 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa now', 'high'],
  btc_address_bech32: ['bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', 'high'],
  btc_wif_key: ['5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ', 'critical'],
  // BIP-39's first English test vector (all-zero entropy).
  bip39_seed: ['seed: abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about.', 'critical'],
  eth_address: ['0xde0B295669a9FD93d5F28D9Ec85E40f4cb697BAe', 'high'],
  eth_private_key: ['0x' + '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318', 'critical'],
  credit_card: ['card 4111 1111 1111 1111 exp', 'high'],
  iban: ['IBAN DE89 3704 0044 0532 0130 00 EUR', 'high'],
  us_ssn: ['ssn 123-45-6789', 'medium'],
};

describe('pattern table', () => {
  it('lists every §5.5/§5.6 id plus the response-only email', () => {
    expect(BUILTIN_PATTERN_IDS).toEqual([
      'aws_access_key_id', 'aws_secret_access_key', 'gcp_service_account', 'google_api_key', 'github_token',
      'github_fine_grained_pat', 'gitlab_pat', 'slack_token', 'slack_webhook', 'stripe_key', 'sendgrid_key',
      'openai_api_key', 'anthropic_api_key', 'huggingface_token', 'npm_token', 'pypi_token', 'twilio_key',
      'mailgun_key', 'private_key_block', 'jwt', 'credential_assignment', 'env_secret', 'literal_secret',
      'high_entropy_token', 'btc_address_base58', 'btc_address_bech32', 'btc_wif_key', 'eth_address',
      'eth_private_key', 'bip39_seed', 'credit_card', 'iban', 'us_ssn', 'email',
    ]);
    expect(new Set(BUILTIN_PATTERN_IDS).size).toBe(BUILTIN_PATTERN_IDS.length);
  });

  for (const [id, [text, severity]] of Object.entries(SAMPLES)) {
    it(`${id} fires with severity ${severity}`, () => {
      const fs = scanBody(Buffer.from(text), 'text/plain', undefined, HOST, DEFAULT_SCAN_OPTIONS);
      const f = fs.find((x) => x.patternId === id);
      expect(f, JSON.stringify(fs)).toBeDefined();
      expect(f).toMatchObject({ layer: 'body_dlp', severity, where: 'body' });
      expect(BUILTIN_PATTERNS.find((p) => p.id === id)!.severity).toBe(severity);
      expect(f!.reason).not.toContain(text.trim().slice(-12));
    });
  }

  it('bip39_seed: the checksum decides, every §5.6 separator joins words, 11 words are not a phrase', () => {
    const zero11 = Array(11).fill('abandon');
    // Trezor's BIP-39 vectors: 12 and 24 words.
    expect(bodyIds('legal winner thank year wave sausage worth useful legal winner thank yellow')).toContain('bip39_seed');
    expect(bodyIds(['letter', 'advice', 'cage', 'absurd', 'amount', 'doctor', 'acoustic', 'avoid', 'letter', 'advice', 'cage', 'absurd', 'amount', 'doctor', 'acoustic', 'avoid', 'letter', 'advice', 'cage', 'absurd', 'amount', 'doctor', 'acoustic', 'bless'].join(' '))).toContain('bip39_seed');
    for (const sep of [',', ', ', '-', '|', '\n', ' \r\n ']) expect(bodyIds([...zero11, 'about'].join(sep)), JSON.stringify(sep)).toContain('bip39_seed');
    // Same words, wrong checksum word (all-zero entropy needs "about").
    expect(bodyIds([...zero11, 'abandon'].join(' '))).not.toContain('bip39_seed');
    expect(bodyIds(zero11.join(' '))).not.toContain('bip39_seed');
    // A word outside the list breaks the run.
    expect(bodyIds([...zero11.slice(0, 6), 'the', ...zero11.slice(6), 'about'].join(' '))).not.toContain('bip39_seed');
    // The phrase inside prose and inside a form body.
    expect(bodyIds(`my wallet words are ${[...zero11, 'about'].join(' ')} thanks`)).toContain('bip39_seed');
    const form = scanBody(Buffer.from(`phrase=${[...zero11, 'about'].join('+')}&agree=on`), 'application/x-www-form-urlencoded', undefined, HOST, DEFAULT_SCAN_OPTIONS);
    expect(form.map((f) => f.patternId)).toContain('bip39_seed');
  });

  it('the legacy OpenAI shape (sk- + 48 alphanumerics) and the twilio case rule', () => {
    expect(bodyIds('sk-' + 'a1B2c3D4e5'.repeat(4) + 'f6G7h8I9')).toContain('openai_api_key');
    expect(bodyIds('SK' + '0123456789ABCDEF0123456789ABCDEF')).not.toContain('twilio_key');
  });

  it('reports the most specific finding first (§5.4 precedence)', () => {
    // provider secret > validated financial > credential assignment > high entropy
    const text = 'token=ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef01 card=4111111111111111';
    expect(bodyIds(text)).toEqual(['github_token', 'credit_card', 'credential_assignment']);
  });
});

describe('validated patterns reject look-alikes', () => {
  const cases: [string, string][] = [
    ['credit_card', '4111 1111 1111 1112'], // Luhn-invalid
    ['credit_card', '1234 5678 1234 5670'], // Luhn-valid, unknown issuer
    ['credit_card', 'order 2026-03-10 12:30:45'],
    ['credit_card', '1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0'], // digits separated by spaces are not a grouped card
    ['iban', 'DE89 3704 0044 0532 0130 01'], // mod-97
    ['iban', 'cookie _ga=GA1.2.1234567890.1234567890'],
    ['btc_address_base58', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb'],
    ['btc_address_bech32', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdr'],
    ['btc_wif_key', '5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTK'],
    ['us_ssn', '000-12-3456'],
    ['us_ssn', '666-12-3456'],
    ['us_ssn', '912-12-3456'],
    ['us_ssn', '123-00-4567'],
    ['us_ssn', '123-45-0000'],
    ['aws_access_key_id', 'AKIAIOSFODNN7EXAMPLEX'], // 21 characters
    ['aws_access_key_id', 'akiaiosfodnn7example'], // lower-case outside host names
    ['github_token', 'ghs_some_long_identifier_name_here_ok'], // no digit/upper-case in the tail
    ['pypi_token', 'pypi-simple-index-mirror-cache'], // slug, not a macaroon
    ['credential_assignment', 'password: ********'],
    ['credential_assignment', 'api_key = os.environ.get("API_KEY")'],
    ['credential_assignment', 'token=${GITHUB_TOKEN}'],
    ['credential_assignment', '"max_tokens": 4096, "token_type": "bearer"'],
    ['credential_assignment', 'The access token has expired. Please refresh your token.'],
    ['env_secret', 'GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}'],
    ['jwt', 'eyJhbGciOiJIUzI1NiJ9.notapayload.sig'],
    ['eth_address', '0xde0B295669a9FD93d5F28D9Ec85E40f4cb697BAe00'],
  ];
  for (const [id, text] of cases) {
    it(`${id}: ${text}`, () => {
      expect(bodyIds(text)).not.toContain(id);
    });
  }
});

describe('policy knobs', () => {
  it('dlp.disable switches a pattern off', () => {
    const jwt = SAMPLES['jwt']![0];
    expect(bodyIds(jwt)).toContain('jwt');
    expect(bodyIds(jwt, opts({ disable: ['jwt'] }))).not.toContain('jwt');
  });

  it('dlp.extra adds operator patterns with their severity; (?i) is accepted', () => {
    const o = opts({ extra: [{ id: 'corp_build_token', name: 'Corp Build Token', regex: 'cbt1_[A-Za-z0-9]{24}', severity: 'critical' }] });
    const fs = scanBody(Buffer.from('x cbt1_abcdefghijklmnopqrstuvwx y'), 'text/plain', undefined, HOST, o);
    expect(fs[0]).toMatchObject({ layer: 'body_dlp', patternId: 'corp_build_token', severity: 'critical' });
    const o2 = opts({ extra: [{ id: 'ticket', name: 'Ticket', regex: '(?i)tkt-[0-9]{6}', severity: 'medium' }] });
    expect(scanUrl(new URL('https://x.example.com/?t=TKT-123456'), o2)[0]).toMatchObject({ layer: 'dlp', patternId: 'ticket', severity: 'medium' });
  });

  it('operator regexes: ids and syntax checked, compiled with the loader\'s flags (u, (?i) → i), scanned in windows', () => {
    expect(validateExtraPattern({ id: 'ok_id', name: 'x', regex: 'abc[0-9]+', severity: 'high' })).toBeNull();
    expect(validateExtraPattern({ id: 'Bad-Id', name: 'x', regex: 'a', severity: 'high' })).toMatch(/\[a-z0-9_\]/);
    expect(validateExtraPattern({ id: 'jwt', name: 'x', regex: 'a', severity: 'high' })).toMatch(/built-in/);
    expect(validateExtraPattern({ id: 'bip39_seed', name: 'x', regex: 'a', severity: 'high' })).toMatch(/built-in/);
    expect(validateExtraPattern({ id: 'x', name: 'x', regex: '(unclosed', severity: 'high' })).toMatch(/x:/);
    expect(() => compileExtraRegex('a*')).toThrow(/empty string/);
    expect(compileExtraRegex('(?i)\\p{Lu}{3}').flags).toBe('giu');
    // a match near the end of a long body (window overlap) is still found
    const o = opts({ extra: [{ id: 'corp_id', name: 'Corp', regex: 'corp-[0-9]{6}', severity: 'high' }] });
    expect(bodyIds('x'.repeat(40_000) + ' corp-123456 ' + 'y'.repeat(100), o)).toEqual(['corp_id']);
  });

  it('dlp.bindings: a bound secret type may flow to its issuer hosts only', () => {
    const key = 'sk-proj-' + 'FAKE00000000000000000000TEST';
    const o = opts({ bindings: { openai_api_key: ['api.openai.com'], github_token: ['*.github.com'] } });
    const hdr: [string, string][] = [['Authorization', `Bearer ${key}`]];
    expect(scanHeaders(hdr, 'api.openai.com', o)).toEqual([]);
    expect(scanHeaders(hdr, 'evil.example.com', o)[0]).toMatchObject({ layer: 'dlp_header', patternId: 'openai_api_key' });
    const gh = 'token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef01';
    expect(bodyIds(gh, o, 'api.github.com')).toEqual([]);
    expect(bodyIds(gh, o, 'github.com')).toEqual([]);
    expect(bodyIds(gh, o, 'github.com.evil.net')).toEqual(['github_token']);
    // a binding exempts only its own type
    expect(bodyIds(gh + ' AKIAIOSFODNN7EXAMPLE', o, 'api.github.com')).toEqual(['aws_access_key_id']);
  });

  it('literal secrets match raw, base64, hex and base32, and never appear in reasons', () => {
    const secret = 'correct-horse-battery-staple-42';
    const o = opts({}, { literalSecrets: [secret, 'short'] });
    const b = Buffer.from(secret);
    for (const form of [secret, b.toString('base64'), b.toString('base64url'), b.toString('hex'), b.toString('hex').toUpperCase(), base32Encode(b), base32Encode(b).replace(/=+$/, '')]) {
      const fs = scanBody(Buffer.from(`data: ${form}`), 'text/plain', undefined, HOST, o);
      expect(fs[0], form).toMatchObject({ layer: 'body_dlp', patternId: 'literal_secret', severity: 'critical' });
      expect(fs[0]!.reason).not.toContain(secret);
    }
    expect(scanUrl(new URL(`https://x.example.com/p?d=${b.toString('base64url')}`), o)[0]).toMatchObject({ layer: 'dlp', patternId: 'literal_secret' });
    expect(scanHeaders([['X-Data', b.toString('hex')]], HOST, o)[0]).toMatchObject({ layer: 'dlp_header', patternId: 'literal_secret' });
    // in a host name (lower-cased by DNS)
    expect(scanUrl(new URL(`https://${base32Encode(b).replace(/=+$/, '').toLowerCase().slice(0, 40)}.x.example.com/`), opts({}, { literalSecrets: [secret.slice(0, 25)] })).map((f) => f.patternId)).toContain('literal_secret');
    // entries under 16 characters are ignored
    expect(bodyIds('short', o)).toEqual([]);
  });

  it('generic_entropy: off, decoded_only (default), all', () => {
    const token = 'Zk3pQ9xL2mV8rT5wY1nB7cH4jD6fG0sKaE2u'; // 36 chars, > 4.5 bits, no known shape
    const wrapped = Buffer.from(token).toString('base64');
    expect(bodyIds(`v=${token}`)).toEqual([]);
    expect(bodyIds(`v=${wrapped}`)).toEqual(['high_entropy_token']);
    expect(bodyIds(`v=${token}`, opts({ generic_entropy: 'all' }))).toEqual(['high_entropy_token']);
    expect(bodyIds(`v=${wrapped}`, opts({ generic_entropy: 'off' }))).toEqual([]);
  });

  it('max_decode_depth bounds the recursion', () => {
    let enc = 'AKIAIOSFODNN7EXAMPLE';
    for (let i = 0; i < 3; i++) enc = Buffer.from(enc).toString('base64');
    const o = (d: number) => opts({ max_decode_depth: d, generic_entropy: 'off' });
    expect(bodyIds(enc, o(3))).toEqual(['aws_access_key_id']);
    expect(bodyIds(enc, o(2))).toEqual([]);
  });

  it('dlp.enabled=false and dlp.scan.* switch the layers off', () => {
    const key = 'AKIAIOSFODNN7EXAMPLE';
    expect(bodyIds(key, opts({ enabled: false }))).toEqual([]);
    expect(bodyIds(key, opts({ scan: { url: true, headers: true, body: false } }))).toEqual([]);
    expect(scanHeaders([['X-K', key]], HOST, opts({ scan: { url: true, headers: false, body: true } }))).toEqual([]);
    expect(scanUrl(new URL(`https://x.example.com/?k=${key}`), opts({ scan: { url: false, headers: true, body: true } }))).toEqual([]);
  });
});
