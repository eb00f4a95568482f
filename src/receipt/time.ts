/**
 * RFC 3339 times the way Go parses and renders them (receipts-v1 §4.6, §7.3).
 *
 * Go stores receipt times as time values, so the signed bytes hold Go's
 * rendering of the instant, not the input text; a verifier that passes the
 * text through would sign-check different bytes than Go on odd spellings.
 */

export interface GoTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** Up to nine fraction digits, trailing zeros removed ('' when none). */
  frac: string;
  /** Zone offset in minutes east of UTC. */
  offset: number;
  /** Seconds since the Unix epoch (may be negative) of the instant. */
  epochSeconds: number;
  /** Nanoseconds within the second, 0..999,999,999. */
  nanos: number;
}

const GRAMMAR = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (valid for year 0001). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = (m + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// Validation, canonical encoding and freshness each read the same timestamp
// in a row; a two-entry memo saves the re-parse on the hot path.
const memo: [string, GoTime | null][] = [];

/** Parses the accepted grammar; null when the text does not match it. The result is shared: do not mutate it. */
export function parseGoTime(s: string): GoTime | null {
  for (const [k, v] of memo) if (k === s) return v;
  const t = parseUncached(s);
  memo.unshift([s, t]);
  if (memo.length > 2) memo.pop();
  return t;
}

function parseUncached(s: string): GoTime | null {
  const m = GRAMMAR.exec(s);
  if (!m) return null;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = +m[4]!;
  const minute = +m[5]!;
  const second = +m[6]!;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offset = 0;
  if (!m[8]) {
    const oh = +m[10]!;
    const om = +m[11]!;
    if (oh > 23 || om > 59) return null;
    offset = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
  }
  const digits = (m[7] ?? '').slice(0, 9); // Go truncates beyond nanoseconds
  const frac = digits.replace(/0+$/, '');
  const nanos = digits === '' ? 0 : Number(digits.padEnd(9, '0'));
  const epochSeconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset * 60;
  return { year, month, day, hour, minute, second, frac, offset, epochSeconds, nanos };
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Go's RFC3339Nano rendering of the parsed value, keeping its offset. */
export function renderGoTime(t: GoTime): string {
  let out = `${pad(t.year, 4)}-${pad(t.month, 2)}-${pad(t.day, 2)}T${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}`;
  if (t.frac) out += '.' + t.frac;
  if (t.offset === 0) return out + 'Z';
  const a = Math.abs(t.offset);
  return out + (t.offset < 0 ? '-' : '+') + pad(Math.floor(a / 60), 2) + ':' + pad(a % 60, 2);
}

/** The instant converted to UTC and rendered with zone Z (recorder `ts`, §7.3). */
export function renderGoTimeUtc(t: GoTime): string {
  const days = Math.floor(t.epochSeconds / 86400);
  let rem = t.epochSeconds - days * 86400;
  const { y, m, d } = civilFromDays(days);
  const hour = Math.floor(rem / 3600);
  rem -= hour * 3600;
  const minute = Math.floor(rem / 60);
  const second = rem - minute * 60;
  let out = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
  if (t.frac) out += '.' + t.frac;
  return out + 'Z';
}

function civilFromDays(z: number): { y: number; m: number; d: number } {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** Go's zero time, 0001-01-01T00:00:00Z, as epoch seconds. */
export const ZERO_TIME_EPOCH = daysFromCivil(1, 1, 1) * 86400;

export function isZeroTime(t: GoTime): boolean {
  return t.epochSeconds === ZERO_TIME_EPOCH && t.nanos === 0;
}

/** a − b in nanoseconds, as a bigint (exact across the whole range). */
export function diffNanos(a: GoTime, b: GoTime): bigint {
  return BigInt(a.epochSeconds - b.epochSeconds) * 1_000_000_000n + BigInt(a.nanos - b.nanos);
}

/** The current wall clock as a GoTime (millisecond precision). */
export function fromDate(date: Date): GoTime {
  const iso = date.toISOString(); // always UTC with milliseconds
  return parseGoTime(iso)!;
}

/** Parses a duration such as 8760h, 900s, 15m, 1h30m, 500ms or a bare number of seconds. */
export function parseDurationSeconds(text: string): number | null {
  const s = text.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s|d)/gy;
  let total = 0;
  let consumed = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === 'd' ? n * 86400 : unit === 'h' ? n * 3600 : unit === 'm' ? n * 60 : unit === 's' ? n : n / 1000;
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== s.length) return null;
  return total;
}

/** A Date as Go writes a UTC time (RFC3339Nano, trailing fraction zeros trimmed). */
export function goTimestamp(date: Date): string {
  return renderGoTimeUtc(fromDate(date));
}
