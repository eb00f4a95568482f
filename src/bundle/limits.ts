/**
 * Every limit the zip bundle reader enforces, in one place.
 *
 * The defaults follow spec/audit-packet-v0.md §6 item 4. They bound what a
 * hostile archive can make the reader do (memory, CPU, file handles) while
 * staying well above what a real Audit Packet needs: a 100k-receipt chain is
 * about 80 MiB, so the evidence cap sits at 256 MiB.
 *
 * Callers and tests override single values with `resolveLimits({...})`; the
 * README embeds `renderLimitsMarkdown()` so the documented numbers cannot
 * drift from the enforced ones.
 */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

export interface BundleLimits {
  /** Central-directory records, directories and ignored entries included. */
  readonly maxEntries: number;
  /** Uncompressed bytes of `packet.json` (the verifier's own 8 MiB packet cap). */
  readonly maxPacketBytes: number;
  /** Uncompressed bytes of `summary.md`. */
  readonly maxSummaryBytes: number;
  /** Uncompressed bytes of `verifier.txt`. */
  readonly maxVerifierBytes: number;
  /** Uncompressed bytes of the evidence artifact (`artifacts.evidence`). */
  readonly maxEvidenceBytes: number;
  /** Uncompressed bytes of any other entry. */
  readonly maxOtherEntryBytes: number;
  /** Uncompressed bytes over the whole archive (declared and actually inflated). */
  readonly maxTotalUncompressedBytes: number;
  /** Largest uncompressed:compressed ratio of one entry ... */
  readonly maxCompressionRatio: number;
  /** ... applied once that entry has inflated past this many bytes. */
  readonly ratioThresholdBytes: number;
  /** Bytes of one entry name as stored in the archive. */
  readonly maxNameBytes: number;
  /** Size of the .zip file itself, checked before anything is parsed. */
  readonly maxArchiveBytes: number;
}

export const BUNDLE_LIMITS: BundleLimits = Object.freeze({
  maxEntries: 64,
  maxPacketBytes: 8 * MiB,
  maxSummaryBytes: 8 * MiB,
  maxVerifierBytes: 8 * MiB,
  maxEvidenceBytes: 256 * MiB,
  maxOtherEntryBytes: 8 * MiB,
  maxTotalUncompressedBytes: 512 * MiB,
  maxCompressionRatio: 200,
  ratioThresholdBytes: 1 * MiB,
  maxNameBytes: 255,
  // Every byte a valid bundle can hold is bounded by the 512 MiB total (stored
  // entries take as many bytes as they hold; deflate adds well under 1%), plus
  // at most 64 headers. A file twice that size cannot be a valid bundle, so it
  // is refused before any parsing.
  maxArchiveBytes: 1 * GiB,
});

/** The roles an entry can be read under; each has its own size cap. */
export type EntryRole = 'packet' | 'summary' | 'verifier' | 'evidence' | 'other';

export const ENTRY_ROLES: readonly EntryRole[] = ['packet', 'summary', 'verifier', 'evidence', 'other'];

/** The cap for one role, and the words an error message uses for it. */
export function limitForRole(limits: BundleLimits, role: EntryRole): { bytes: number; label: string } {
  switch (role) {
    case 'packet':
      return { bytes: limits.maxPacketBytes, label: 'packet.json' };
    case 'summary':
      return { bytes: limits.maxSummaryBytes, label: 'summary.md' };
    case 'verifier':
      return { bytes: limits.maxVerifierBytes, label: 'verifier.txt' };
    case 'evidence':
      return { bytes: limits.maxEvidenceBytes, label: 'evidence' };
    case 'other':
      return { bytes: limits.maxOtherEntryBytes, label: 'other entries' };
  }
}

/** The largest cap any role has: no entry declaring more can ever be read. */
export function largestEntryLimit(limits: BundleLimits): { bytes: number; label: string } {
  let best = limitForRole(limits, 'other');
  for (const role of ENTRY_ROLES) {
    const candidate = limitForRole(limits, role);
    if (candidate.bytes > best.bytes) best = candidate;
  }
  return best;
}

/**
 * Defaults with the given overrides applied. Overrides must be positive
 * numbers (integers, except the ratio); anything else is a programming error
 * and throws a TypeError rather than silently weakening a limit.
 */
export function resolveLimits(overrides: Partial<BundleLimits> = {}): BundleLimits {
  const merged: Record<string, number> = { ...BUNDLE_LIMITS };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(key in BUNDLE_LIMITS)) throw new TypeError(`unknown bundle limit "${key}"`);
    const integral = key !== 'maxCompressionRatio';
    const ok = typeof value === 'number' && value > 0 && (integral ? Number.isSafeInteger(value) : Number.isFinite(value));
    if (!ok) throw new TypeError(`bundle limit "${key}" must be a positive ${integral ? 'integer' : 'number'}`);
    merged[key] = value;
  }
  return Object.freeze(merged as unknown as BundleLimits);
}

/** `8 MiB`, `1 GiB`, `255 bytes`: exact, in the largest unit that divides. */
export function formatBytes(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} ${n === 1 ? 'byte' : 'bytes'}`;
}

/** One row per limit, in the order the README shows them. */
const LIMIT_ROWS: ReadonlyArray<{ key: keyof BundleLimits; what: string; render: (v: number) => string }> = [
  { key: 'maxArchiveBytes', what: 'size of the .zip file', render: formatBytes },
  { key: 'maxEntries', what: 'entries in the archive (directories and ignored `__MACOSX/`, `.DS_Store` entries included)', render: String },
  { key: 'maxNameBytes', what: 'length of one entry name, in bytes as stored', render: (v) => `${v} bytes` },
  { key: 'maxPacketBytes', what: '`packet.json`, uncompressed', render: formatBytes },
  { key: 'maxSummaryBytes', what: '`summary.md`, uncompressed', render: formatBytes },
  { key: 'maxVerifierBytes', what: '`verifier.txt`, uncompressed', render: formatBytes },
  { key: 'maxEvidenceBytes', what: 'the evidence artifact, uncompressed', render: formatBytes },
  { key: 'maxOtherEntryBytes', what: 'any other entry, uncompressed', render: formatBytes },
  { key: 'maxTotalUncompressedBytes', what: 'all entries together, uncompressed', render: formatBytes },
  { key: 'maxCompressionRatio', what: 'compression ratio of one entry, once it exceeds the threshold below', render: (v) => `${v}:1` },
  { key: 'ratioThresholdBytes', what: 'size from which the ratio limit applies', render: formatBytes },
];

/** The limits as a Markdown table (README and docs embed exactly this). */
export function renderLimitsMarkdown(limits: BundleLimits = BUNDLE_LIMITS): string {
  const lines = ['| limit | default |', '| --- | --- |'];
  for (const row of LIMIT_ROWS) lines.push(`| ${row.what} | ${row.render(limits[row.key])} |`);
  return lines.join('\n') + '\n';
}
