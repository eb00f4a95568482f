/**
 * Splits a byte stream into lines without ever holding more than one line
 * (capped) in memory: an over-long line is counted and skipped, not
 * buffered, so a hostile 2 GiB line costs nothing but time.
 */

export interface Line {
  /** 1-based line number within its file. */
  lineNo: number;
  /** The line's bytes without LF (and without a CR before the LF); null when over the cap. */
  bytes: Buffer | null;
  /** Byte length of the line (also when over the cap). */
  length: number;
  /** False only for a last line that ends without LF. */
  terminated: boolean;
}

export const MAX_LINE_BYTES = 1024 * 1024;

export async function* readLines(source: AsyncIterable<Buffer | Uint8Array | string>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<Line> {
  let parts: Buffer[] = [];
  let partLen = 0;
  let skipping = false; // inside an over-long line
  let lineNo = 0;

  const emit = (terminated: boolean): Line => {
    lineNo++;
    let bytes: Buffer | null = null;
    const length = partLen;
    if (!skipping) {
      bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, partLen);
      if (terminated && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    }
    parts = [];
    partLen = 0;
    skipping = false;
    return { lineNo, bytes, length, terminated };
  };

  const append = (b: Buffer): void => {
    partLen += b.length;
    if (skipping) return;
    // The CR of a CRLF does not count toward the cap.
    if (partLen > maxLineBytes + 1) {
      skipping = true;
      parts = [];
      return;
    }
    parts.push(b);
  };

  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) {
        if (start < buf.length) append(buf.subarray(start));
        break;
      }
      append(buf.subarray(start, nl));
      const line = emit(true);
      if (line.bytes && line.bytes.length > maxLineBytes) {
        line.bytes = null;
      }
      yield line;
      start = nl + 1;
    }
  }
  if (partLen > 0 || skipping) {
    const line = emit(false);
    if (line.bytes && line.bytes.length > maxLineBytes) line.bytes = null;
    yield line;
  }
}

/** True when a line holds only JSON whitespace (such lines are skipped). */
export function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}
