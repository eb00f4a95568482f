import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  privateKeyFromSeed,
  publicKeyHexOf,
  seedFromPhrase,
  signEd25519,
  verifyEd25519,
} from '../../src/crypto/ed25519.js';
import { formatPipelockPublicKey, isHexKey, parsePipelockPublicKey } from '../../src/crypto/key-text.js';
import {
  KeyArgumentError,
  MAX_KEY_FILE_BYTES,
  loadPrivateKey,
  loadPublicKey,
  loadPublicKeys,
  type KeyFileReader,
} from '../../src/crypto/keys.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sharedDir = path.resolve(repoRoot, '../shared');

// The receipt-conformance corpus key, and a second key for multi-key cases.
const SEED = seedFromPhrase('agent-egress-bench-receipt-conformance-test-key-v1');
const PRIV = privateKeyFromSeed(SEED);
const HEX = '890726e93f89e773fb3b4298271245a69c1884fd1003846c3358b8b65a2288fa';
const B64 = Buffer.from(HEX, 'hex').toString('base64');
const OTHER_HEX = '4655a7e605c12ebb00a46037881c33c5bca5eb74b45a02e8e7261a7ff5a21678';
const LABEL = 'pipelock-ed25519-public-v1';

const SPKI_PEM = crypto.createPublicKey(PRIV).export({ format: 'pem', type: 'spki' }) as string;
const PKCS8_PEM = PRIV.export({ format: 'pem', type: 'pkcs8' }) as string;

let dir: string;

/** Writes a file into the temp dir and returns its path. */
function put(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

/** PEM-wraps DER bytes under a label, 64 characters a line. */
function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Awaits a rejection and checks it is a KeyArgumentError carrying `fragment`. */
async function keyError(p: Promise<unknown>, fragment: string | RegExp): Promise<KeyArgumentError> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KeyArgumentError);
  const err = caught as KeyArgumentError;
  expect(err.name).toBe('KeyArgumentError');
  if (typeof fragment === 'string') expect(err.message).toContain(fragment);
  else expect(err.message).toMatch(fragment);
  return err;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'egress-verify-keys-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('isHexKey', () => {
  it('is true only for exactly 64 hex characters', () => {
    expect(isHexKey(HEX)).toBe(true);
    expect(isHexKey(HEX.toUpperCase())).toBe(true);
    expect(isHexKey(HEX.slice(1))).toBe(false);
    expect(isHexKey(HEX + '0')).toBe(false);
    expect(isHexKey(`${HEX}\n`)).toBe(false);
    expect(isHexKey('g' + HEX.slice(1))).toBe(false);
    expect(isHexKey('')).toBe(false);
  });
});

describe('Pipelock public-key text form', () => {
  it('formats as label LF base64 LF', () => {
    expect(formatPipelockPublicKey(HEX)).toBe(`${LABEL}\n${B64}\n`);
    expect(B64).toHaveLength(44);
    expect(formatPipelockPublicKey(HEX.toUpperCase())).toBe(`${LABEL}\n${B64}\n`);
  });

  it('refuses to format something that is not a key', () => {
    expect(() => formatPipelockPublicKey(HEX.slice(2))).toThrow('64 hex characters');
  });

  it('parses what it formats, for many keys', () => {
    for (let i = 0; i < 50; i++) {
      const h = crypto.createHash('sha256').update(`k${i}`).digest('hex');
      expect(parsePipelockPublicKey(formatPipelockPublicKey(h))).toBe(h);
    }
  });

  const accepted: Array<[string, string]> = [
    ['LF, final LF', `${LABEL}\n${B64}\n`],
    ['LF, no final line break', `${LABEL}\n${B64}`],
    ['CRLF', `${LABEL}\r\n${B64}\r\n`],
    ['leading and trailing whitespace', ` \t\n\r\n${LABEL}\n${B64}\n\n  \t`],
  ];
  for (const [name, text] of accepted) {
    it(`accepts ${name}`, () => {
      expect(parsePipelockPublicKey(text)).toBe(HEX);
    });
  }

  // Flip the last data character to one that differs only in the 2 spare bits.
  const lastData = B64[42] as string;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const spareBitsSet = alphabet[alphabet.indexOf(lastData) | 1] as string;
  const nonCanonical = `${B64.slice(0, 42)}${spareBitsSet}=`;

  const rejected: Array<[string, string]> = [
    ['a wrong label', `pipelock-ed25519-public-v2\n${B64}\n`],
    ['an upper-case label', `${LABEL.toUpperCase()}\n${B64}\n`],
    ['a missing line break', `${LABEL}${B64}`],
    ['a space instead of a line break', `${LABEL} ${B64}`],
    ['a bare CR line break', `${LABEL}\r${B64}`],
    ['a blank line between the lines', `${LABEL}\n\n${B64}`],
    ['a space before the line break', `${LABEL} \n${B64}`],
    ['a space before the base64', `${LABEL}\n ${B64}`],
    ['a third line', `${LABEL}\n${B64}\nextra\n`],
    ['text before the label', `# key\n${LABEL}\n${B64}\n`],
    ['a byte-order mark', `\ufeff${LABEL}\n${B64}\n`],
    ['a non-breaking space before the label', `\u00a0${LABEL}\n${B64}\n`],
    ['unpadded base64 (43 characters)', `${LABEL}\n${B64.slice(0, 43)}\n`],
    ['base64 of 31 bytes', `${LABEL}\n${Buffer.alloc(31, 7).toString('base64')}\n`],
    ['base64 of 33 bytes', `${LABEL}\n${Buffer.alloc(33, 7).toString('base64')}\n`],
    ['URL-safe alphabet', `${LABEL}\n${'-_'.repeat(21)}A=\n`],
    ['non-zero padding bits', `${LABEL}\n${nonCanonical}\n`],
    ['hex instead of base64', `${LABEL}\n${HEX}\n`],
    ['only the label', `${LABEL}\n`],
    ['an empty string', ''],
  ];
  for (const [name, text] of rejected) {
    it(`rejects ${name}`, () => {
      expect(parsePipelockPublicKey(text)).toBeNull();
    });
  }

  it('non-zero padding bits really decode to the same 32 bytes (so only the re-encode check stops them)', () => {
    expect(nonCanonical).not.toBe(B64);
    expect(Buffer.from(nonCanonical, 'base64').toString('hex')).toBe(HEX);
  });
});

describe('loadPublicKey: literals', () => {
  // A reader that fails the test if a literal is ever looked up as a file.
  const noFiles: KeyFileReader = {
    readFile: (p) => Promise.reject(new Error(`unexpected file read: ${p}`)),
  };

  it('takes 64 hex characters, lower-casing them', async () => {
    expect(await loadPublicKey(HEX, noFiles)).toEqual({ hex: HEX, source: 'hex', origin: HEX });
    const upper = HEX.toUpperCase();
    expect(await loadPublicKey(upper, noFiles)).toEqual({ hex: HEX, source: 'hex', origin: upper });
  });

  it('takes the Pipelock text form (LF and CRLF)', async () => {
    for (const text of [`${LABEL}\n${B64}\n`, `${LABEL}\r\n${B64}`]) {
      expect(await loadPublicKey(text, noFiles)).toEqual({ hex: HEX, source: 'pipelock-text', origin: text });
    }
  });

  it('prefers the literal over a file of the same name', async () => {
    const reads: string[] = [];
    const io: KeyFileReader = {
      readFile: (p) => {
        reads.push(p);
        return Promise.resolve(Buffer.from(OTHER_HEX));
      },
    };
    expect((await loadPublicKey(HEX, io)).hex).toBe(HEX);
    expect(reads).toEqual([]);
  });
});

describe('loadPublicKey: files', () => {
  it('reads a PEM SPKI public key', async () => {
    const p = put('spki.pem', SPKI_PEM);
    expect(await loadPublicKey(p)).toEqual({ hex: HEX, source: 'pem-spki', origin: p });
  });

  it('ignores explanatory text around the one PEM block', async () => {
    const p = put('spki-commented.pem', `Corpus test key\n\n${SPKI_PEM}\ntrailing note\n`);
    expect((await loadPublicKey(p)).hex).toBe(HEX);
  });

  it('accepts a CRLF PEM file', async () => {
    const p = put('spki-crlf.pem', SPKI_PEM.replace(/\n/g, '\r\n'));
    expect((await loadPublicKey(p)).hex).toBe(HEX);
  });

  it('reads a PKCS#8 private key, uses its public half and warns', async () => {
    const p = put('signer.key', PKCS8_PEM);
    const loaded = await loadPublicKey(p);
    expect(loaded.hex).toBe(HEX);
    expect(loaded.source).toBe('pem-pkcs8');
    expect(loaded.origin).toBe(p);
    expect(loaded.warning).toContain(`--pubkey ${JSON.stringify(p)}`);
    expect(loaded.warning).toContain('private key');
    expect(loaded.warning).toContain('only its public half is used');
    // For NAME.key the warning names the NAME.pub that keygen wrote beside it.
    expect(loaded.warning).toContain(path.join(dir, 'signer.pub'));
  });

  it('tells a PKCS#8 file without the .key suffix to use the .pub file', async () => {
    const loaded = await loadPublicKey(put('private.pem', PKCS8_PEM));
    expect(loaded.warning).toContain('the .pub file');
  });

  it('reads a file of 64 hex characters, with surrounding whitespace, either case', async () => {
    const p1 = put('key.hex', `${HEX}\n`);
    expect(await loadPublicKey(p1)).toEqual({ hex: HEX, source: 'hex-file', origin: p1 });
    const p2 = put('key-upper.hex', `\r\n  ${HEX.toUpperCase()}\t\r\n`);
    expect((await loadPublicKey(p2)).hex).toBe(HEX);
  });

  it('reads a JSON key file with public_key_hex', async () => {
    const p = put('test-key.json', JSON.stringify({ note: 'TEST KEY ONLY', public_key_hex: HEX.toUpperCase() }, null, 2));
    expect(await loadPublicKey(p)).toEqual({ hex: HEX, source: 'json-key-file', origin: p });
  });

  it('reads a Pipelock text-form file (LF and CRLF)', async () => {
    const p1 = put('signer.pub', formatPipelockPublicKey(HEX));
    expect(await loadPublicKey(p1)).toEqual({ hex: HEX, source: 'pipelock-text-file', origin: p1 });
    const p2 = put('signer-crlf.pub', `${LABEL}\r\n${B64}\r\n`);
    expect((await loadPublicKey(p2)).hex).toBe(HEX);
  });

  it('accepts a file of exactly the 64 KiB cap', async () => {
    const padded = HEX + ' '.repeat(MAX_KEY_FILE_BYTES - HEX.length);
    expect(Buffer.byteLength(padded)).toBe(MAX_KEY_FILE_BYTES);
    expect((await loadPublicKey(put('padded.hex', padded))).hex).toBe(HEX);
  });

  it('uses an injected reader', async () => {
    const io: KeyFileReader = { readFile: () => Promise.resolve(Buffer.from(SPKI_PEM)) };
    expect(await loadPublicKey('virtual.pem', io)).toEqual({ hex: HEX, source: 'pem-spki', origin: 'virtual.pem' });
  });

  const sharedKeyFiles = [
    ['reference/receipt-conformance-v0/test-key.json', HEX],
    ['reference/pipelock-sdk-basic/test-key.json', OTHER_HEX],
  ] as const;
  for (const [rel, expected] of sharedKeyFiles) {
    const file = path.resolve(sharedDir, rel);
    const exists = fs.existsSync(file);
    if (!exists) console.warn(`skipping the shared key-file test for ${rel}: ${file} not found`);
    it.skipIf(!exists)(`reads the shared ${rel}`, async () => {
      expect(await loadPublicKey(file)).toEqual({ hex: expected, source: 'json-key-file', origin: file });
    });
  }
});

describe('loadPublicKey: rejections', () => {
  it('names the argument in every message', async () => {
    const err = await keyError(loadPublicKey(path.join(dir, 'nope.pem')), 'neither a key literal');
    expect(err.message.startsWith(`--pubkey ${JSON.stringify(path.join(dir, 'nope.pem'))}: `)).toBe(true);
  });

  it('a missing file is neither a key literal nor a readable file', async () => {
    const err = await keyError(loadPublicKey(path.join(dir, 'missing.pub')), 'nor a readable file (no such file)');
    expect(err.message).toContain('is neither a key literal');
  });

  it('a hex string of the wrong length says how long it is', async () => {
    await keyError(loadPublicKey(HEX.slice(0, 63)), 'as hex it has 63 characters, a key has 64');
  });

  it('a hex literal with whitespace around it says so', async () => {
    await keyError(loadPublicKey(`${HEX}\n`), 'with whitespace around them');
  });

  it('a malformed text-form literal says it has the label', async () => {
    await keyError(loadPublicKey(`${LABEL}\n${B64.slice(0, 40)}`), 'starts with the Pipelock key label');
  });

  it('an empty argument', async () => {
    await keyError(loadPublicKey(''), '--pubkey "": is empty');
  });

  it('a directory', async () => {
    await keyError(loadPublicKey(dir), 'nor a readable file (it is a directory)');
  });

  it('an unreadable file', async () => {
    const io: KeyFileReader = {
      readFile: () => Promise.reject(Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })),
    };
    await keyError(loadPublicKey('locked.pem', io), 'nor a readable file (permission denied)');
  });

  it('another read error, without repeating the path', async () => {
    const io: KeyFileReader = {
      readFile: () => Promise.reject(Object.assign(new Error("EIO: i/o error, read '/mnt/k.pem'"), { code: 'EIO' })),
    };
    const err = await keyError(loadPublicKey('/mnt/k.pem', io), 'nor a readable file (EIO: i/o error)');
    expect(err.message.match(/k\.pem/g)).toHaveLength(1);
  });

  it('a file over 64 KiB', async () => {
    const p = put('big.hex', HEX + ' '.repeat(MAX_KEY_FILE_BYTES - HEX.length + 1));
    await keyError(loadPublicKey(p), 'file is larger than 64 KiB');
  });

  it('an oversized file from an injected reader', async () => {
    const io: KeyFileReader = { readFile: () => Promise.resolve(Buffer.alloc(MAX_KEY_FILE_BYTES + 10, 0x20)) };
    await keyError(loadPublicKey('big', io), 'file is larger than 64 KiB');
  });

  it('an empty file', async () => {
    await keyError(loadPublicKey(put('empty.pub', '')), 'file is empty');
  });

  it('a whitespace-only file', async () => {
    await keyError(loadPublicKey(put('blank.pub', ' \n\t\n')), 'file holds only whitespace');
  });

  it('a file with a byte-order mark', async () => {
    await keyError(loadPublicKey(put('bom.hex', `\ufeff${HEX}\n`)), 'byte-order mark');
  });

  it('a DER (binary) key file', async () => {
    const der = crypto.createPublicKey(PRIV).export({ format: 'der', type: 'spki' });
    await keyError(loadPublicKey(put('key.der', der)), 'file holds binary data');
  });

  it('a file with control characters', async () => {
    await keyError(loadPublicKey(put('ctl.hex', `${HEX}\u0000`)), 'file holds binary data');
  });

  it('a CERTIFICATE PEM block', async () => {
    const p = put('cert.pem', pem('CERTIFICATE', Buffer.from('not really a certificate')));
    await keyError(
      loadPublicKey(p),
      `--pubkey ${JSON.stringify(p)}: file holds a PEM block of type "CERTIFICATE", expected a PUBLIC KEY (SPKI) or PRIVATE KEY (PKCS#8) Ed25519 key`,
    );
  });

  it('a PKCS#1 RSA PRIVATE KEY block', async () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p = put('rsa1.pem', privateKey.export({ format: 'pem', type: 'pkcs1' }) as string);
    await keyError(loadPublicKey(p), 'PEM block of type "RSA PRIVATE KEY"');
  });

  it('an OpenSSH private key block', async () => {
    const p = put('id_ed25519', pem('OPENSSH PRIVATE KEY', Buffer.from('openssh-key-v1\0')));
    await keyError(loadPublicKey(p), 'PEM block of type "OPENSSH PRIVATE KEY"');
  });

  it('an encrypted PKCS#8 private key', async () => {
    const enc = PRIV.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    await keyError(loadPublicKey(put('enc.key', enc)), 'encrypted private key');
  });

  const otherAlgorithms: Array<[string, () => crypto.KeyPairKeyObjectResult, string]> = [
    ['RSA', () => crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }), 'RSA'],
    ['EC P-256', () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'EC (prime256v1)'],
    ['Ed448', () => crypto.generateKeyPairSync('ed448'), 'Ed448'],
    ['X25519', () => crypto.generateKeyPairSync('x25519'), 'X25519'],
  ];
  for (const [name, make, shown] of otherAlgorithms) {
    it(`an ${name} public key names the algorithm`, async () => {
      const { publicKey } = make();
      const p = put(`${name}.pub.pem`, publicKey.export({ format: 'pem', type: 'spki' }) as string);
      await keyError(loadPublicKey(p), `file holds a PUBLIC KEY for algorithm ${shown}, expected Ed25519`);
    });
    it(`an ${name} PKCS#8 private key names the algorithm`, async () => {
      const { privateKey } = make();
      const p = put(`${name}.key.pem`, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      await keyError(loadPublicKey(p), `file holds a PRIVATE KEY for algorithm ${shown}, expected Ed25519`);
    });
  }

  it('two PEM blocks', async () => {
    const p = put('both.pem', SPKI_PEM + PKCS8_PEM);
    await keyError(loadPublicKey(p), 'file holds 2 PEM blocks ("PUBLIC KEY", "PRIVATE KEY"); expected exactly one key');
  });

  it('a PEM block with mismatched BEGIN and END labels', async () => {
    const p = put('mismatch.pem', SPKI_PEM.replace('END PUBLIC KEY', 'END PRIVATE KEY'));
    await keyError(loadPublicKey(p), 'PEM block begins as "PUBLIC KEY" but ends as "PRIVATE KEY"');
  });

  it('a PEM block without an END line', async () => {
    const p = put('noend.pem', SPKI_PEM.replace(/-----END PUBLIC KEY-----\n/, ''));
    await keyError(loadPublicKey(p), 'PEM block "PUBLIC KEY" has no single matching END line');
  });

  it('a PEM END line without a BEGIN line', async () => {
    const p = put('nobegin.pem', SPKI_PEM.replace(/-----BEGIN PUBLIC KEY-----\n/, ''));
    await keyError(loadPublicKey(p), 'file has a PEM END line but no BEGIN line');
  });

  it('a PEM block with headers', async () => {
    const p = put('headers.pem', SPKI_PEM.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'));
    await keyError(loadPublicKey(p), 'PEM block "PUBLIC KEY" has headers');
  });

  it('a PEM block whose body is not base64', async () => {
    const p = put('badb64.pem', SPKI_PEM.replace(/\n(.)/, '\n*$1'));
    await keyError(loadPublicKey(p), 'PEM block "PUBLIC KEY" is not valid base64');
  });

  it('a PUBLIC KEY block that is not SPKI', async () => {
    const p = put('garbage.pem', pem('PUBLIC KEY', Buffer.from('definitely not DER')));
    await keyError(loadPublicKey(p), 'PEM PUBLIC KEY block is not a valid SPKI public key');
  });

  it('an Ed25519 SPKI with a trailing byte (which OpenSSL alone would accept)', async () => {
    const der = crypto.createPublicKey(PRIV).export({ format: 'der', type: 'spki' });
    const p = put('trailing.pem', pem('PUBLIC KEY', Buffer.concat([der, Buffer.from([0])])));
    await keyError(loadPublicKey(p), 'PEM PUBLIC KEY block has trailing or non-canonical DER bytes');
  });

  it('an Ed25519 PKCS#8 with a trailing byte', async () => {
    const der = PRIV.export({ format: 'der', type: 'pkcs8' });
    const p = put('trailing.key', pem('PRIVATE KEY', Buffer.concat([der, Buffer.from([0])])));
    await keyError(loadPublicKey(p), 'PEM PRIVATE KEY block is not the plain Ed25519 PKCS#8 encoding');
  });

  it('a hex file of the wrong length', async () => {
    await keyError(loadPublicKey(put('short.hex', `${HEX.slice(0, 62)}\n`)), 'file holds 62 hex characters, a key has 64');
  });

  it('a file with two hex keys', async () => {
    await keyError(loadPublicKey(put('two.hex', `${HEX}\n${OTHER_HEX}\n`)), 'file is not a recognised public key');
  });

  const badJson: Array<[string, string, string]> = [
    ['invalid JSON', '{"public_key_hex": ', 'file looks like JSON but does not parse'],
    ['a JSON array', `["${HEX}"]`, 'JSON key file must be an object with a "public_key_hex" member'],
    ['no public_key_hex', '{"publicKey": "x"}', 'JSON key file has no "public_key_hex" member'],
    ['a non-string public_key_hex', '{"public_key_hex": 12}', 'member "public_key_hex" is not a string'],
    ['a short public_key_hex', `{"public_key_hex": "${HEX.slice(2)}"}`, 'member "public_key_hex" is not 64 hex characters'],
    ['a text-form public_key_hex', `{"public_key_hex": "${B64}"}`, 'member "public_key_hex" is not 64 hex characters'],
  ];
  for (const [name, content, fragment] of badJson) {
    it(`a JSON key file with ${name}`, async () => {
      await keyError(loadPublicKey(put(`bad-${name.replace(/\W+/g, '-')}.json`, content)), fragment);
    });
  }

  it('a text-form file with a bad base64 line', async () => {
    const p = put('bad-text.pub', `${LABEL}\n${B64.slice(0, 43)}\n`);
    await keyError(loadPublicKey(p), 'file starts with the Pipelock public-key label but is not in that form');
  });

  it('a text-form file with a comment line', async () => {
    const p = put('comment.pub', `${LABEL}\n${B64}\n# signer\n`);
    await keyError(loadPublicKey(p), 'file starts with the Pipelock public-key label but is not in that form');
  });

  it('an OpenSSH public key line', async () => {
    const p = put('id_ed25519.pub', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIvJz8pVhsDjGe3x user@host\n');
    await keyError(loadPublicKey(p), 'file holds an OpenSSH public key line, which is not supported');
  });

  it('arbitrary text', async () => {
    await keyError(loadPublicKey(put('notes.txt', 'hello\n')), 'file is not a recognised public key; expected a PEM public key');
  });

  it('shortens a very long argument in the message', async () => {
    const err = await keyError(loadPublicKey('x'.repeat(5000)), 'neither a key literal');
    expect(err.message.length).toBeLessThan(400);
  });
});

describe('loadPublicKeys', () => {
  it('returns lowercase keys in order, deduplicated across forms', async () => {
    const pemPath = put('multi.pem', SPKI_PEM);
    const jsonPath = put('multi.json', JSON.stringify({ public_key_hex: OTHER_HEX }));
    const result = await loadPublicKeys([HEX.toUpperCase(), jsonPath, pemPath, `${LABEL}\n${B64}\n`, OTHER_HEX]);
    expect(result).toEqual({ keys: [HEX, OTHER_HEX], warnings: [] });
  });

  it('collects the warnings', async () => {
    const keyPath = put('warn.key', PKCS8_PEM);
    const result = await loadPublicKeys([OTHER_HEX, keyPath]);
    expect(result.keys).toEqual([OTHER_HEX, HEX]);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('only its public half is used');
  });

  it('is empty for no arguments', async () => {
    expect(await loadPublicKeys([])).toEqual({ keys: [], warnings: [] });
  });

  it('fails on the first bad argument', async () => {
    await keyError(loadPublicKeys([HEX, path.join(dir, 'absent.pub')]), 'absent.pub');
  });
});

describe('loadPrivateKey', () => {
  it('loads a PKCS#8 Ed25519 key that signs for the expected public key', async () => {
    const key = await loadPrivateKey(put('sign.key', PKCS8_PEM));
    expect(key.type).toBe('private');
    expect(publicKeyHexOf(key)).toBe(HEX);
    const msg = Buffer.from('receipt');
    expect(verifyEd25519(HEX, msg, signEd25519(key, msg))).toBe(true);
  });

  it('names the flag it was given', async () => {
    await keyError(loadPrivateKey(path.join(dir, 'gone.key'), undefined, '--signing-key'), '--signing-key "');
  });

  it('a missing file', async () => {
    const p = path.join(dir, 'gone.key');
    await keyError(loadPrivateKey(p), `--key ${JSON.stringify(p)}: cannot read the private key file (no such file)`);
  });

  it('a public key given where the private key belongs', async () => {
    await keyError(loadPrivateKey(put('wrong.pub.pem', SPKI_PEM)), 'this is a public key; signing needs the .key file');
  });

  it('a file that is not PEM', async () => {
    await keyError(loadPrivateKey(put('priv.hex', `${SEED.toString('hex')}\n`)), 'file is not a PEM private key');
  });

  it('an RSA PKCS#8 key', async () => {
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p = put('rsa.key', privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
    await keyError(loadPrivateKey(p), 'file holds a PRIVATE KEY for algorithm RSA, expected Ed25519');
  });

  it('an encrypted private key', async () => {
    const enc = PRIV.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    await keyError(loadPrivateKey(put('enc2.key', enc)), 'PEM block of type "ENCRYPTED PRIVATE KEY"');
  });

  it('a PKCS#8 key with trailing bytes', async () => {
    const der = PRIV.export({ format: 'der', type: 'pkcs8' });
    const p = put('trailing2.key', pem('PRIVATE KEY', Buffer.concat([der, Buffer.from([0, 0])])));
    await keyError(loadPrivateKey(p), 'not the plain Ed25519 PKCS#8 encoding');
  });
});
