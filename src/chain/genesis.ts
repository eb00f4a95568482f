/**
 * The bound genesis marker `g1:` (receipts-v1 §6.4): a hash over the
 * session_open payload, so that receipt 0 commits to the run it opens.
 */
import { createHash } from 'node:crypto';
import { JNum, type JObj } from '../json/strict.js';

const LABEL = 'pipelock.receipt.session_open.v1';

function framed(h: ReturnType<typeof createHash>, item: Buffer): void {
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(item.length));
  h.update(len);
  h.update(item);
}

function text(open: JObj, name: string): Buffer {
  const v = open.get(name);
  return Buffer.from(typeof v === 'string' ? v : '', 'utf8');
}

/** G = "g1:" + hex(SHA-256 of the length-framed items of §6.4). */
export function genesisHash(open: JObj): string {
  const h = createHash('sha256');
  framed(h, Buffer.from(LABEL, 'ascii'));
  for (const name of ['run_nonce', 'open_nonce', 'recorder_session', 'policy_hash', 'signer_key_epoch']) framed(h, text(open, name));
  const hb = open.get('heartbeat_seconds');
  let seconds = hb instanceof JNum ? BigInt(hb.raw) : 0n;
  if (seconds < 0n) seconds = 0n; // negative values clamp to 0
  const be = Buffer.alloc(8);
  be.writeBigUInt64BE(seconds);
  framed(h, be);
  for (const name of ['genesis_anchor_head', 'genesis_anchor_log', 'posture_capsule_sha256', 'containment_nonce', 'contained_uid']) framed(h, text(open, name));
  return 'g1:' + h.digest('hex');
}
