/**
 * `egress-verify keygen --out NAME`: NAME.key (PKCS#8 PEM, mode 0600) and
 * NAME.pub (SPKI PEM). Never overwrites: if either exists nothing is written.
 */
import { open, unlink } from 'node:fs/promises';
import { generateKeyPair } from '../crypto/ed25519.js';
import { formatPipelockPublicKey } from '../crypto/key-text.js';
import { EXIT } from '../report/reasons.js';
import { publicKeyObject } from '../crypto/ed25519.js';
import type { Io } from './common.js';

export async function runKeygen(out: string, io: Io): Promise<number> {
  const { privateKey, publicKeyHex } = generateKeyPair();
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const pubPem = publicKeyObject(publicKeyHex).export({ format: 'pem', type: 'spki' }).toString();
  const written: string[] = [];
  try {
    for (const [path, data, mode] of [
      [`${out}.key`, keyPem, 0o600],
      [`${out}.pub`, pubPem, 0o644],
    ] as const) {
      // 'wx' fails if the file exists: no race between a check and the write.
      const fh = await open(path, 'wx', mode);
      written.push(path);
      try {
        await fh.writeFile(data);
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    for (const p of written) await unlink(p).catch(() => undefined);
    const err = e as NodeJS.ErrnoException;
    io.stderr(`egress-verify keygen: ${err.code === 'EEXIST' ? `${err.path} already exists; nothing was written (choose another --out)` : `cannot write ${err.path ?? out}: ${err.message}`}\n`);
    return EXIT.error;
  }
  io.stdout(`wrote ${out}.key (private, mode 0600) and ${out}.pub\n`);
  io.stdout(`public key (hex): ${publicKeyHex}\n`);
  io.stdout(`public key (Pipelock text form):\n${formatPipelockPublicKey(publicKeyHex)}`);
  return EXIT.valid;
}
