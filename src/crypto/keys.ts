/**
 * Loading the keys named on the command line (DESIGN.md, "Command line
 * conventions"). A `--pubkey` argument is tried as a literal first (64 hex
 * characters, or the Pipelock public-key text form), then as a file: PEM
 * (SPKI public key, or a PKCS#8 private key with a warning), 64 hex
 * characters, a JSON key file with `public_key_hex`, or the Pipelock text
 * form. Anything else is a KeyArgumentError, which the CLI reports as a usage
 * error (exit 64) before any verification runs: a key the user meant to pin
 * must never be silently dropped.
 *
 * Parsing is strict because a pinned key is trust material: one PEM block,
 * canonical DER, canonical base64, no stray text.
 */
import * as crypto from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { publicKeyHexOf } from './ed25519.js';
import { PIPELOCK_PUBLIC_KEY_LABEL, isHexKey, parsePipelockPublicKey, trimAsciiWhitespace } from './key-text.js';

/** Key files are a few hundred bytes; anything past this is not a key. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** A key argument that cannot be used; the CLI maps it to exit 64 (usage error). */
export class KeyArgumentError extends Error {
  override readonly name = 'KeyArgumentError';
}

export type KeySource =
  | 'hex'
  | 'pipelock-text'
  | 'pem-spki'
  | 'pem-pkcs8'
  | 'hex-file'
  | 'json-key-file'
  | 'pipelock-text-file';

export interface LoadedKey {
  /** The public key, 64 lowercase hex. */
  hex: string;
  source: KeySource;
  /** The argument as given: the literal itself, or the file path. */
  origin: string;
  /** Set when the key was usable but the user should change how it is given. */
  warning?: string;
}

export interface KeyFileReader {
  readFile(path: string): Promise<Buffer>;
}

const defaultIo: KeyFileReader = { readFile: readFileBounded };

const LITERAL_FORMS = '64 hex characters or the Pipelock public-key text form';
const PUBLIC_FILE_FORMS =
  'a PEM public key, 64 hex characters, a JSON file with "public_key_hex", or the Pipelock public-key text form';

// ---------------------------------------------------------------------------
// Public keys

export async function loadPublicKey(arg: string, io: KeyFileReader = defaultIo): Promise<LoadedKey> {
  const where = `--pubkey ${quote(arg)}`;
  const literal = publicKeyFromLiteral(arg);
  if (literal) return literal;
  if (arg.length === 0) {
    throw new KeyArgumentError(`${where}: is empty; expected ${LITERAL_FORMS}, or a key file`);
  }
  const bytes = await readKeyFile(
    arg,
    io,
    where,
    (reason) => `is neither a key literal (${LITERAL_FORMS}) nor a readable file (${reason})${literalHint(arg)}`,
  );
  return publicKeyFromFile(arg, bytes, where);
}

/** Loads every argument in order; the keys come back lowercase and deduplicated. */
export async function loadPublicKeys(
  args: string[],
  io: KeyFileReader = defaultIo,
): Promise<{ keys: string[]; warnings: string[] }> {
  const keys: string[] = [];
  const warnings: string[] = [];
  for (const arg of args) {
    const loaded = await loadPublicKey(arg, io);
    if (!keys.includes(loaded.hex)) keys.push(loaded.hex);
    if (loaded.warning) warnings.push(loaded.warning);
  }
  return { keys, warnings };
}

function publicKeyFromLiteral(arg: string): LoadedKey | null {
  if (isHexKey(arg)) return { hex: arg.toLowerCase(), source: 'hex', origin: arg };
  const fromText = parsePipelockPublicKey(arg);
  if (fromText) return { hex: fromText, source: 'pipelock-text', origin: arg };
  return null;
}

/** When the argument is no file, say what it nearly was, so a typo is easy to spot. */
function literalHint(arg: string): string {
  const trimmed = trimAsciiWhitespace(arg);
  if (trimmed !== arg && isHexKey(trimmed)) return '; it is 64 hex characters with whitespace around them';
  if (/^[0-9a-fA-F]+$/.test(arg)) return `; as hex it has ${arg.length} characters, a key has 64`;
  if (trimmed.startsWith(PIPELOCK_PUBLIC_KEY_LABEL)) {
    return '; it starts with the Pipelock key label but is not in that form';
  }
  return '';
}

function publicKeyFromFile(path: string, bytes: Buffer, where: string): LoadedKey {
  const text = keyFileText(bytes, where);
  if (hasPemMarker(text)) return publicKeyFromPem(path, text, where);
  const trimmed = trimAsciiWhitespace(text);
  if (isHexKey(trimmed)) return { hex: trimmed.toLowerCase(), source: 'hex-file', origin: path };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    return { hex: publicKeyFromJson(trimmed, where), source: 'json-key-file', origin: path };
  }
  const fromText = parsePipelockPublicKey(text);
  if (fromText) return { hex: fromText, source: 'pipelock-text-file', origin: path };
  throw new KeyArgumentError(`${where}: ${describeUnknownContent(trimmed)}`);
}

function publicKeyFromPem(path: string, text: string, where: string): LoadedKey {
  const block = singlePemBlock(text, where);
  if (block.label === 'PUBLIC KEY') {
    return { hex: publicKeyHexOf(spkiEd25519(block.der, where)), source: 'pem-spki', origin: path };
  }
  if (block.label === 'PRIVATE KEY') {
    const hex = publicKeyHexOf(pkcs8Ed25519(block.der, where));
    return { hex, source: 'pem-pkcs8', origin: path, warning: privateKeyWarning(path, where) };
  }
  if (block.label === 'ENCRYPTED PRIVATE KEY') {
    throw new KeyArgumentError(
      `${where}: file holds an encrypted private key (PEM "ENCRYPTED PRIVATE KEY"); pass the public key file instead`,
    );
  }
  throw new KeyArgumentError(
    `${where}: file holds a PEM block of type ${quote(block.label)}, ` +
      'expected a PUBLIC KEY (SPKI) or PRIVATE KEY (PKCS#8) Ed25519 key',
  );
}

function privateKeyWarning(path: string, where: string): string {
  const pub = path.endsWith('.key') ? `${path.slice(0, -'.key'.length)}.pub` : 'the .pub file';
  return (
    `${where}: this is a private key; only its public half is used for verification. ` +
    `Pass the public key (${pub}) instead, so the private key need not be on this machine.`
  );
}

function publicKeyFromJson(text: string, where: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new KeyArgumentError(`${where}: file looks like JSON but does not parse (${errorMessage(err)})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KeyArgumentError(`${where}: JSON key file must be an object with a "public_key_hex" member`);
  }
  if (!Object.hasOwn(doc, 'public_key_hex')) {
    throw new KeyArgumentError(`${where}: JSON key file has no "public_key_hex" member`);
  }
  const value = (doc as Record<string, unknown>)['public_key_hex'];
  if (typeof value !== 'string') {
    throw new KeyArgumentError(`${where}: JSON key file member "public_key_hex" is not a string`);
  }
  if (!isHexKey(value)) {
    throw new KeyArgumentError(`${where}: JSON key file member "public_key_hex" is not 64 hex characters`);
  }
  return value.toLowerCase();
}

function describeUnknownContent(trimmed: string): string {
  if (trimmed.length === 0) return 'file holds only whitespace, no key';
  if (trimmed.startsWith(PIPELOCK_PUBLIC_KEY_LABEL)) {
    return (
      'file starts with the Pipelock public-key label but is not in that form ' +
      '(the label line, then 44 base64 characters encoding 32 bytes, nothing else)'
    );
  }
  if (/^ssh-ed25519\s/.test(trimmed)) {
    return `file holds an OpenSSH public key line, which is not supported; expected ${PUBLIC_FILE_FORMS}`;
  }
  if (/^[0-9a-fA-F]+$/.test(trimmed)) {
    return `file holds ${trimmed.length} hex characters, a key has 64`;
  }
  return `file is not a recognised public key; expected ${PUBLIC_FILE_FORMS}`;
}

// ---------------------------------------------------------------------------
// Private keys (signing: the emitter and the proxy)

/** An Ed25519 private key from a PKCS#8 PEM file, as `egress-verify keygen` writes it. */
export async function loadPrivateKey(
  path: string,
  io: KeyFileReader = defaultIo,
  flag = '--key',
): Promise<KeyObject> {
  const where = `${flag} ${quote(path)}`;
  const bytes = await readKeyFile(path, io, where, (reason) => `cannot read the private key file (${reason})`);
  const text = keyFileText(bytes, where);
  if (!hasPemMarker(text)) {
    throw new KeyArgumentError(
      `${where}: file is not a PEM private key; expected a PKCS#8 "PRIVATE KEY" block as written by egress-verify keygen`,
    );
  }
  const block = singlePemBlock(text, where);
  if (block.label !== 'PRIVATE KEY') {
    const hint = block.label === 'PUBLIC KEY' ? ' (this is a public key; signing needs the .key file)' : '';
    throw new KeyArgumentError(
      `${where}: file holds a PEM block of type ${quote(block.label)}, expected a PRIVATE KEY (PKCS#8) Ed25519 key${hint}`,
    );
  }
  return pkcs8Ed25519(block.der, where);
}

// ---------------------------------------------------------------------------
// DER: parsed by OpenSSL, then held to the one canonical encoding, because
// OpenSSL ignores trailing bytes and we do not want two spellings of a key.

function spkiEd25519(der: Buffer, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = crypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (err) {
    throw new KeyArgumentError(`${where}: PEM PUBLIC KEY block is not a valid SPKI public key (${errorMessage(err)})`);
  }
  requireEd25519(key, 'PUBLIC KEY', where);
  if (!der.equals(key.export({ format: 'der', type: 'spki' }))) {
    throw new KeyArgumentError(`${where}: PEM PUBLIC KEY block has trailing or non-canonical DER bytes`);
  }
  return key;
}

function pkcs8Ed25519(der: Buffer, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new KeyArgumentError(
      `${where}: PEM PRIVATE KEY block is not a valid PKCS#8 private key (${errorMessage(err)})`,
    );
  }
  requireEd25519(key, 'PRIVATE KEY', where);
  // An embedded public key (PKCS#8 v2) is refused too: it could disagree with
  // the seed, and the seed is what signs.
  if (!der.equals(key.export({ format: 'der', type: 'pkcs8' }))) {
    throw new KeyArgumentError(
      `${where}: PEM PRIVATE KEY block is not the plain Ed25519 PKCS#8 encoding ` +
        '(it has trailing bytes or an embedded public key); re-export it as plain PKCS#8',
    );
  }
  return key;
}

function requireEd25519(key: KeyObject, label: string, where: string): void {
  if (key.asymmetricKeyType === 'ed25519') return;
  throw new KeyArgumentError(`${where}: file holds a ${label} for algorithm ${algorithmName(key)}, expected Ed25519`);
}

function algorithmName(key: KeyObject): string {
  const type = key.asymmetricKeyType;
  const names: Record<string, string> = {
    rsa: 'RSA',
    'rsa-pss': 'RSA-PSS',
    dsa: 'DSA',
    dh: 'DH',
    ed448: 'Ed448',
    x25519: 'X25519',
    x448: 'X448',
  };
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    return curve ? `EC (${curve})` : 'EC';
  }
  return type ? (names[type] ?? type) : 'unknown';
}

// ---------------------------------------------------------------------------
// PEM (RFC 7468): exactly one block; text outside it is ignored as the RFC
// allows, but two blocks would leave it unclear which key was meant.

interface PemBlock {
  label: string;
  der: Buffer;
}

const PEM_BEGIN = /-----BEGIN ([^-\r\n]*)-----/g;
const PEM_END = /-----END ([^-\r\n]*)-----/g;

function hasPemMarker(text: string): boolean {
  return text.includes('-----BEGIN ') || text.includes('-----END ');
}

function singlePemBlock(text: string, where: string): PemBlock {
  const begins = [...text.matchAll(PEM_BEGIN)];
  const ends = [...text.matchAll(PEM_END)];
  const begin = begins[0];
  if (!begin) throw new KeyArgumentError(`${where}: file has a PEM END line but no BEGIN line`);
  if (begins.length > 1) {
    const labels = begins.map((m) => quote(m[1] ?? '')).join(', ');
    throw new KeyArgumentError(`${where}: file holds ${begins.length} PEM blocks (${labels}); expected exactly one key`);
  }
  const label = begin[1] ?? '';
  const bodyStart = begin.index + begin[0].length;
  const end = ends[0];
  if (!end || ends.length !== 1 || end.index < bodyStart) {
    throw new KeyArgumentError(`${where}: PEM block ${quote(label)} has no single matching END line`);
  }
  if (end[1] !== label) {
    throw new KeyArgumentError(`${where}: PEM block begins as ${quote(label)} but ends as ${quote(end[1] ?? '')}`);
  }
  const body = text.slice(bodyStart, end.index);
  if (body.includes(':')) {
    throw new KeyArgumentError(
      `${where}: PEM block ${quote(label)} has headers (a legacy encrypted key?); expected a plain key block`,
    );
  }
  const der = strictBase64(body.replace(/[ \t\r\n]/g, ''));
  if (!der) throw new KeyArgumentError(`${where}: PEM block ${quote(label)} is not valid base64`);
  return { label, der };
}

/** Decodes canonical standard base64, or returns null; Buffer.from alone skips bad characters. */
function strictBase64(s: string): Buffer | null {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : null;
}

// ---------------------------------------------------------------------------
// Reading

async function readKeyFile(
  path: string,
  io: KeyFileReader,
  where: string,
  unreadable: (reason: string) => string,
): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await io.readFile(path);
  } catch (err) {
    throw new KeyArgumentError(`${where}: ${unreadable(readFailureReason(err))}`);
  }
  if (bytes.length > MAX_KEY_FILE_BYTES) {
    throw new KeyArgumentError(`${where}: file is larger than ${MAX_KEY_FILE_BYTES / 1024} KiB, too large for a key file`);
  }
  return bytes;
}

function readFailureReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENAMETOOLONG':
      return 'name too long';
    default:
      // Node's text repeats the path ("EIO: i/o error, read '/x'"); the message already names it.
      return errorMessage(err).replace(/, \w+ '[^]*'$/, '');
  }
}

/** The file as text, refusing what no text key format can contain. */
function keyFileText(bytes: Buffer, where: string): string {
  if (bytes.length === 0) throw new KeyArgumentError(`${where}: file is empty`);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new KeyArgumentError(`${where}: file starts with a UTF-8 byte-order mark; save it without one`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new KeyArgumentError(`${where}: ${binaryMessage()}`);
  }
  // Control characters other than whitespace mean a binary file (e.g. DER).
  if (/[\x00-\x08\x0e-\x1f\x7f]/.test(text)) throw new KeyArgumentError(`${where}: ${binaryMessage()}`);
  return text;
}

function binaryMessage(): string {
  return 'file holds binary data, not a text key format (a DER key must first be converted to PEM)';
}

/**
 * Reads at most MAX_KEY_FILE_BYTES + 1 bytes, so an oversized path (a log, a
 * device) is refused without being read whole.
 */
async function readFileBounded(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let total = 0;
    while (total < buf.length) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return buf.subarray(0, total);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------

/** The argument quoted for a message; a pasted blob is shortened to keep the line readable. */
function quote(s: string): string {
  const shown = s.length > 100 ? `${s.slice(0, 100)}…` : s;
  return JSON.stringify(shown);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
