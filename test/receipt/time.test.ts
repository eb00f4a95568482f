/**
 * RFC 3339 times as Go parses and renders them (receipts-v1 §4.6, §7.3) and
 * the duration syntax of the policy knobs (§9.1).
 */
import { describe, expect, it } from 'vitest';
import {
  diffNanos,
  goTimestamp,
  isZeroTime,
  parseDurationSeconds,
  parseGoTime,
  renderGoTime,
  renderGoTimeUtc,
  ZERO_TIME_EPOCH,
  type GoTime,
} from '../../src/receipt/time.js';

function t(s: string): GoTime {
  const v = parseGoTime(s);
  if (!v) throw new Error(`expected ${s} to parse`);
  return v;
}

describe('§4.6 grammar', () => {
  it.each([
    '2026-04-15T12:00:00Z',
    '2024-02-29T00:00:00Z', // leap year
    '2000-02-29T00:00:00Z', // divisible by 400
    '2026-04-30T23:59:59Z',
    '2026-12-31T23:59:59.999999999Z',
    '2026-04-15T12:00:00.5Z',
    '2026-04-15T12:00:00.1234567891Z', // more than nine digits: accepted, truncated
    '2026-04-15T12:00:00+23:59',
    '2026-04-15T12:00:00-00:00',
    '2026-04-15T12:00:00+00:00',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
  ])('accepts %s', (s) => {
    expect(parseGoTime(s)).not.toBeNull();
  });

  it.each([
    ['lowercase t', '2026-04-15t12:00:00Z'],
    ['lowercase z', '2026-04-15T12:00:00z'],
    ['2025 is not a leap year', '2025-02-29T00:00:00Z'],
    ['1900 is not a leap year', '1900-02-29T00:00:00Z'],
    ['April has 30 days', '2026-04-31T00:00:00Z'],
    ['day 00', '2026-01-00T00:00:00Z'],
    ['hour 24', '2026-04-15T24:00:00Z'],
    ['minute 60', '2026-04-15T12:60:00Z'],
    ['leap second :60', '2026-12-31T23:59:60Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['month 00', '2026-00-10T00:00:00Z'],
    ['offset +24:00', '2026-04-15T12:00:00+24:00'],
    ['offset minute 60', '2026-04-15T12:00:00+05:60'],
    ['missing zone', '2026-04-15T12:00:00'],
    ['space separator', '2026-04-15 12:00:00Z'],
    ['offset without colon', '2026-04-15T12:00:00+0700'],
    ['offset without minutes', '2026-04-15T12:00:00+07'],
    ['empty fraction', '2026-04-15T12:00:00.Z'],
    ['comma fraction', '2026-04-15T12:00:00,5Z'],
    ['two-digit year', '26-04-15T12:00:00Z'],
    ['one-digit month', '2026-4-15T12:00:00Z'],
    ['no seconds', '2026-04-15T12:00Z'],
    ['date only', '2026-04-15'],
    ['trailing newline', '2026-04-15T12:00:00Z\n'],
    ['leading space', ' 2026-04-15T12:00:00Z'],
    ['non-ASCII digit', '\uff12026-04-15T12:00:00Z'],
    ['empty', ''],
  ])('rejects %s: %j', (_, s) => {
    expect(parseGoTime(s)).toBeNull();
  });
});

describe('§4.6 parsed values', () => {
  it('parses fields, offset (minutes east) and the instant', () => {
    const v = t('2026-04-09T12:00:00.25-07:00');
    expect(v).toEqual({
      year: 2026,
      month: 4,
      day: 9,
      hour: 12,
      minute: 0,
      second: 0,
      frac: '25',
      offset: -420,
      epochSeconds: Date.parse('2026-04-09T19:00:00Z') / 1000,
      nanos: 250_000_000,
    });
  });

  it('truncates (does not round) fraction digits beyond the ninth', () => {
    const v = t('2026-04-15T12:00:00.9999999999Z');
    expect(v.nanos).toBe(999_999_999);
    expect(v.second).toBe(0);
    expect(renderGoTime(v)).toBe('2026-04-15T12:00:00.999999999Z');
    expect(renderGoTime(t('2026-04-15T12:00:00.1234567891Z'))).toBe('2026-04-15T12:00:00.123456789Z');
    expect(renderGoTime(t('2026-04-15T12:00:00.1234567899Z'))).toBe('2026-04-15T12:00:00.123456789Z');
  });
});

describe('§4.6 rendering (offset kept)', () => {
  it.each([
    ['2026-04-15T12:00:00Z', '2026-04-15T12:00:00Z'],
    ['2026-07-24T22:57:41.868192730Z', '2026-07-24T22:57:41.86819273Z'],
    ['2026-05-01T08:30:00.250000+00:00', '2026-05-01T08:30:00.25Z'],
    ['2026-05-01T08:30:00.000Z', '2026-05-01T08:30:00Z'],
    ['2026-05-01T08:30:00.0000000001Z', '2026-05-01T08:30:00Z'],
    ['2026-04-09T12:00:00-07:00', '2026-04-09T12:00:00-07:00'],
    ['2026-04-09T12:00:00-00:00', '2026-04-09T12:00:00Z'],
    ['2026-04-09T12:00:00+00:00', '2026-04-09T12:00:00Z'],
    ['2026-04-09T12:00:00.010+05:30', '2026-04-09T12:00:00.01+05:30'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00Z'],
  ])('%s → %s', (input, rendered) => {
    expect(renderGoTime(t(input))).toBe(rendered);
  });
});

describe('§7.3 UTC rendering', () => {
  it.each([
    ['2026-09-28T00:06:18.25+05:30', '2026-09-27T18:36:18.25Z'],
    ['2026-04-09T20:00:00-07:00', '2026-04-10T03:00:00Z'], // crosses midnight forwards
    ['2024-03-01T01:00:00+02:00', '2024-02-29T23:00:00Z'], // back into a leap day
    ['2026-01-01T00:00:00.000+00:01', '2025-12-31T23:59:00Z'], // back into the previous year
    ['2026-09-27T18:36:18.500Z', '2026-09-27T18:36:18.5Z'],
    ['0001-01-01T01:00:00+01:00', '0001-01-01T00:00:00Z'],
  ])('%s → %s', (input, utc) => {
    expect(renderGoTimeUtc(t(input))).toBe(utc);
  });
});

describe('zero time (Go time.IsZero)', () => {
  it('ZERO_TIME_EPOCH is 0001-01-01T00:00:00Z in Unix seconds', () => {
    expect(ZERO_TIME_EPOCH).toBe(-62135596800);
  });

  it.each(['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00+00:00', '0001-01-01T00:00:00-00:00', '0001-01-01T01:00:00+01:00', '0000-12-31T23:00:00-01:00'])(
    '%s is the zero instant',
    (s) => {
      expect(isZeroTime(t(s))).toBe(true);
    },
  );

  it.each(['0001-01-01T00:00:00.000000001Z', '0001-01-01T00:00:01Z', '0001-01-01T00:00:00+01:00', '1970-01-01T00:00:00Z'])('%s is not', (s) => {
    expect(isZeroTime(t(s))).toBe(false);
  });
});

describe('diffNanos', () => {
  it('compares instants across offsets', () => {
    expect(diffNanos(t('2026-04-15T12:00:00Z'), t('2026-04-15T14:00:00+02:00'))).toBe(0n);
    expect(diffNanos(t('2026-04-15T12:00:00-07:00'), t('2026-04-15T12:00:00Z'))).toBe(7n * 3600n * 1_000_000_000n);
    expect(diffNanos(t('2026-09-28T00:06:18.25+05:30'), t('2026-09-27T18:36:18Z'))).toBe(250_000_000n);
  });

  it('handles fractions and negative results exactly', () => {
    expect(diffNanos(t('2026-04-15T12:00:01.5Z'), t('2026-04-15T12:00:00.75Z'))).toBe(750_000_000n);
    expect(diffNanos(t('2026-04-15T12:00:00.25Z'), t('2026-04-15T12:00:00.75Z'))).toBe(-500_000_000n);
    expect(diffNanos(t('2026-04-15T12:00:00.000000001Z'), t('2026-04-15T12:00:00Z'))).toBe(1n);
  });

  it('is exact over the whole year range (beyond 2^53 ns)', () => {
    expect(diffNanos(t('2026-04-15T12:00:00Z'), t('0001-01-01T00:00:00Z'))).toBe(63911851200n * 1_000_000_000n);
    expect(diffNanos(t('9999-12-31T23:59:59.999999999Z'), t('0001-01-01T00:00:00Z'))).toBe(315537897599999999999n);
  });

  it('one year of maxAge is 8760 h', () => {
    expect(diffNanos(t('2026-04-15T12:00:00Z'), t('2025-04-15T12:00:00Z'))).toBe(31_536_000n * 1_000_000_000n);
  });
});

describe('parseDurationSeconds', () => {
  it.each([
    ['8760h', 31_536_000],
    ['900s', 900],
    ['15m', 900],
    ['1h30m', 5400],
    ['90', 90],
    ['0', 0],
    ['500ms', 0.5],
    ['1.5h', 5400],
    ['2d', 172_800],
    [' 15m ', 900],
  ])('%j → %d s', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
  });

  it.each(['10x', 'h', '', '1h 30m', '1h30', '-5s', 'm15', '15 m', '1.h'])('rejects %j', (text) => {
    expect(parseDurationSeconds(text)).toBeNull();
  });
});

describe('goTimestamp (emitter clock)', () => {
  it('renders UTC with trailing fraction zeros trimmed', () => {
    expect(goTimestamp(new Date(Date.UTC(2026, 3, 15, 12, 0, 0, 250)))).toBe('2026-04-15T12:00:00.25Z');
    expect(goTimestamp(new Date(Date.UTC(2026, 3, 15, 12, 0, 0, 0)))).toBe('2026-04-15T12:00:00Z');
    expect(goTimestamp(new Date(Date.UTC(2026, 3, 15, 12, 0, 0, 7)))).toBe('2026-04-15T12:00:00.007Z');
  });
});
