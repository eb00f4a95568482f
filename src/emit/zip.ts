/**
 * Reproducible bundle zips (audit-packet-v0 §1.3, writer): flat, packet.json
 * first, every other file sorted by the bytes of its name, deflate, one fixed
 * timestamp and mode on every entry. The same files give the same bytes.
 */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import archiver from 'archiver';

/** DOS time cannot say 1970; 1980-01-01 is its epoch, in UTC as written. */
export const FIXED_ZIP_DATE = new Date(Date.UTC(1980, 0, 1, 0, 0, 0));

export interface ZipFileInput {
  name: string;
  data: Buffer;
}

/** The entry order of the bundle writer: packet.json first, the rest by UTF-8 bytes. */
export function bundleOrder(names: readonly string[]): string[] {
  const rest = names.filter((n) => n !== 'packet.json').sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
  return names.includes('packet.json') ? ['packet.json', ...rest] : rest;
}

/**
 * Writes the zip to `path` through a temporary file renamed into place, so a
 * failure never leaves a half-written bundle under the final name.
 */
export async function writeBundleZip(path: string, files: readonly ZipFileInput[]): Promise<void> {
  const byName = new Map(files.map((f) => [f.name, f.data]));
  if (byName.size !== files.length) throw new Error('duplicate file names in bundle');
  const tmp = `${path}.partial-${process.pid}`;
  const out = createWriteStream(tmp, { flags: 'wx' });
  // Resolves once the file is closed, however the write ends, so the clean-up
  // below never races the stream's own open.
  const closed = new Promise<void>((resolve) => out.on('close', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const zip = archiver('zip', { zlib: { level: 9 }, forceLocalTime: false });
      out.on('finish', () => resolve());
      out.on('error', reject);
      zip.on('error', reject);
      zip.on('warning', reject);
      zip.pipe(out);
      for (const name of bundleOrder([...byName.keys()])) zip.append(byName.get(name)!, { name, date: FIXED_ZIP_DATE, mode: 0o644 });
      void zip.finalize();
    });
    await closed;
    await rename(tmp, path);
  } catch (e) {
    out.destroy();
    await closed;
    await rm(tmp, { force: true });
    throw e;
  }
}
