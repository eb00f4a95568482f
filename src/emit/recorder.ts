/**
 * Writing flight-recorder entries (receipts-v1 §7.8): members in Go's order,
 * Go escaping, the entry hash over exactly the detail bytes written.
 */
import { goQuote } from '../json/go-encode.js';
import { parseGoTime, renderGoTimeUtc } from '../receipt/time.js';
import { entryHash, type RecorderEntry } from '../chain/recorder.js';

export interface EntryInput {
  /** Entry schema version: 2 (default) or 1 (legacy readers; `event_kind` neither written nor hashed). */
  v?: 1 | 2;
  seq: bigint;
  ts: string;
  sessionId: string;
  type: string;
  eventKind?: string;
  transport: string;
  summary: string;
  /** Detail JSON text, written verbatim and hashed verbatim. */
  detail: string;
  traceId?: string;
  rawRef?: string;
}

/** The v2 (or v1) entry line (without LF) and its hash, linked to `prevHash`. */
export function recorderLine(e: EntryInput, prevHash: string): { line: string; hash: string } {
  // Written and hashed in UTC (§7.8), whatever offset the caller's clock used.
  const parsed = parseGoTime(e.ts);
  const ts = parsed ? renderGoTimeUtc(parsed) : e.ts;
  const v = e.v ?? 2;
  const eventKind = v === 1 ? '' : (e.eventKind ?? '');
  const entry: RecorderEntry = {
    v,
    seq: e.seq,
    tsUtc: ts,
    sessionId: e.sessionId,
    chainKind: '',
    writerInstanceId: '',
    traceId: e.traceId ?? '',
    type: e.type,
    eventKind,
    transport: e.transport,
    summary: e.summary,
    detailText: e.detail,
    detail: undefined,
    detailOffset: 0,
    rawRef: e.rawRef ?? '',
    prevHash,
    hash: '',
  };
  const hash = entryHash(entry);
  let line = `{"v":${v},"seq":${e.seq},"ts":${goQuote(ts)},"session_id":${goQuote(e.sessionId)}`;
  if (e.traceId) line += `,"trace_id":${goQuote(e.traceId)}`;
  line += `,"type":${goQuote(e.type)}`;
  if (eventKind) line += `,"event_kind":${goQuote(eventKind)}`;
  line += `,"transport":${goQuote(e.transport)},"summary":${goQuote(e.summary)},"detail":${e.detail}`;
  if (e.rawRef) line += `,"raw_ref":${goQuote(e.rawRef)}`;
  line += `,"prev_hash":${goQuote(prevHash)},"hash":${goQuote(hash)}}`;
  return { line, hash };
}
