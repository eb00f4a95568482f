/**
 * Writing flight-recorder entries (receipts-v1 §7.8): members in Go's order,
 * Go escaping, the entry hash over exactly the detail bytes written.
 */
import { goQuote } from '../json/go-encode.js';
import { entryHash, type RecorderEntry } from '../chain/recorder.js';

export interface EntryInput {
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

/** The v2 entry line (without LF) and its hash, linked to `prevHash`. */
export function recorderLine(e: EntryInput, prevHash: string): { line: string; hash: string } {
  const entry: RecorderEntry = {
    v: 2,
    seq: e.seq,
    tsUtc: e.ts,
    sessionId: e.sessionId,
    chainKind: '',
    writerInstanceId: '',
    traceId: e.traceId ?? '',
    type: e.type,
    eventKind: e.eventKind ?? '',
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
  let line = `{"v":2,"seq":${e.seq},"ts":${goQuote(e.ts)},"session_id":${goQuote(e.sessionId)}`;
  if (e.traceId) line += `,"trace_id":${goQuote(e.traceId)}`;
  line += `,"type":${goQuote(e.type)}`;
  if (e.eventKind) line += `,"event_kind":${goQuote(e.eventKind)}`;
  line += `,"transport":${goQuote(e.transport)},"summary":${goQuote(e.summary)},"detail":${e.detail}`;
  if (e.rawRef) line += `,"raw_ref":${goQuote(e.rawRef)}`;
  line += `,"prev_hash":${goQuote(prevHash)},"hash":${goQuote(hash)}}`;
  return { line, hash };
}
