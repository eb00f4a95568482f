/**
 * The §2.9 rules of spec/audit-packet-v0.md that the JSON Schema cannot
 * express. Each rule gets the bad input it exists to catch and must report
 * the exact pointer; good packets must produce nothing.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validatePacketSchema } from '../../src/packet/schema.js';
import { checkPacketSemantics } from '../../src/packet/semantics.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHARED_DIR = path.resolve(repoRoot, '../shared/reference/audit-packet-v0');
const hasShared = existsSync(path.join(SHARED_DIR, 'example.json'));
if (!hasShared) console.warn(`semantics.test: ${SHARED_DIR} is missing; skipping the checks on the reference packets`);

type Packet = {
  run: Record<string, unknown>;
  summary: { receipt_count: number; totals: Record<string, number>; domains_touched?: string[] } & Record<string, unknown>;
  posture: Record<string, unknown>;
} & Record<string, unknown>;

/** A schema-valid packet shaped like the worked example of §7.1. */
function packet(): Packet {
  return {
    schema_version: 'pipelock.audit_packet.v0',
    generated_at: '2026-05-10T12:00:05Z',
    run: { provider: 'local', agent_identity: 'sample-agent', started_at: '2026-05-10T11:59:59Z' },
    policy: { policy_hashes: [] },
    summary: {
      receipt_count: 3,
      totals: { allow: 1, block: 1, warn: 1, ask: 0, strip: 0, forward: 0, redirect: 0, other: 0 },
      domains_touched: ['api.example.com', 'paste.example.net', 'stream.example.org'],
    },
    verifier: { verdict: 'self_consistent_only', trusted: false },
    posture: {
      enforcement_mode: 'linux_netns_iptables_setpriv',
      runner_os: 'Linux',
      raw_socket_status: 'denied',
      docker_socket_status: 'masked',
      dns_udp_status: 'denied',
      browser_proxy_status: 'forced',
      websocket_frame_scanning: 'explicit_ws_proxy_path_required',
      unsupported_paths: [],
    },
    artifacts: { packet: 'packet.json', evidence: 'evidence.jsonl', verifier: 'verifier.txt' },
  };
}

const pointersOf = (p: unknown): string[] => checkPacketSemantics(p).map((e) => e.pointer);

describe('checkPacketSemantics', () => {
  it('finds nothing wrong with a good packet, which also passes the schema', () => {
    expect(validatePacketSchema(packet())).toEqual({ ok: true });
    expect(checkPacketSemantics(packet())).toEqual([]);
  });

  it('never throws on shapes the schema would have rejected', () => {
    for (const odd of [null, 3, 'x', [], {}, { summary: null }, { summary: { totals: [] } }, { run: [] }]) {
      expect(checkPacketSemantics(odd)).toEqual([]);
    }
  });

  describe('§2.9 item 2: run.agent_identity non-empty', () => {
    it('reports an empty agent_identity', () => {
      const p = packet();
      p.run.agent_identity = '';
      expect(validatePacketSchema(p).ok).toBe(true);
      expect(checkPacketSemantics(p)).toEqual([
        { pointer: '/run/agent_identity', keyword: 'nonEmpty', message: '/run/agent_identity: "agent_identity" must not be empty' },
      ]);
    });
  });

  describe('§2.9 item 4: totals sum to receipt_count', () => {
    it('reports a sum above the count (cases.json totals-sum-mismatch)', () => {
      const p = packet();
      p.summary.totals.allow = 5;
      expect(checkPacketSemantics(p)).toEqual([
        {
          pointer: '/summary/totals',
          keyword: 'totalsSum',
          message:
            '/summary/totals: the eight totals sum to 7, but /summary/receipt_count is 3; every receipt must be counted in exactly one bucket',
        },
      ]);
    });

    it('reports a sum below the count', () => {
      const p = packet();
      p.summary.receipt_count = 4;
      expect(pointersOf(p)).toEqual(['/summary/totals']);
    });

    it('accepts a count that moved between buckets', () => {
      const p = packet();
      p.summary.totals.allow = 0;
      p.summary.totals.other = 1;
      expect(checkPacketSemantics(p)).toEqual([]);
    });

    it('accepts an empty run: zero receipts, zero everywhere', () => {
      const p = packet();
      p.summary.receipt_count = 0;
      for (const k of Object.keys(p.summary.totals)) p.summary.totals[k] = 0;
      expect(checkPacketSemantics(p)).toEqual([]);
    });

    it('sums exactly where doubles would round', () => {
      // As doubles 2^53 + 1 rounds to 2^53 and the sum would look right.
      const p = packet();
      for (const k of Object.keys(p.summary.totals)) p.summary.totals[k] = 0;
      p.summary.totals.allow = 2 ** 53;
      p.summary.totals.block = 1;
      p.summary.receipt_count = 2 ** 53;
      expect(pointersOf(p)).toEqual(['/summary/totals']);
    });
  });

  describe('§2.9 item 6: domains_touched strictly ascending', () => {
    it('reports an entry that sorts before its predecessor (cases.json domains-unsorted)', () => {
      const p = packet();
      p.summary.domains_touched = ['b.example', 'a.example'];
      expect(checkPacketSemantics(p)).toEqual([
        {
          pointer: '/summary/domains_touched/1',
          keyword: 'sortedUnique',
          message:
            '/summary/domains_touched/1: "a.example" sorts before the entry before it, "b.example"; domains_touched must be sorted by code point with no repeats',
        },
      ]);
    });

    it('reports a repeated entry at the repeat', () => {
      const p = packet();
      p.summary.domains_touched = ['a.example', 'b.example', 'b.example'];
      const errors = checkPacketSemantics(p);
      expect(errors.map((e) => e.pointer)).toEqual(['/summary/domains_touched/2']);
      expect(errors[0]!.message).toContain('repeats the entry before it');
    });

    it('reports every out-of-place entry', () => {
      const p = packet();
      p.summary.domains_touched = ['c', 'b', 'a', 'a'];
      expect(pointersOf(p)).toEqual(['/summary/domains_touched/1', '/summary/domains_touched/2', '/summary/domains_touched/3']);
    });

    it('orders by byte value, so upper case sorts before lower case', () => {
      const p = packet();
      p.summary.domains_touched = ['Z.example', 'a.example'];
      expect(checkPacketSemantics(p)).toEqual([]);
      p.summary.domains_touched = ['a.example', 'Z.example'];
      expect(pointersOf(p)).toEqual(['/summary/domains_touched/1']);
    });

    it('orders by code point, not UTF-16 unit, above U+FFFF', () => {
      // U+FFFD < U+1F600 by code point, but its UTF-16 unit 0xFFFD > 0xD83D.
      const p = packet();
      p.summary.domains_touched = ['\ufffd.example', '\u{1f600}.example'];
      expect(checkPacketSemantics(p)).toEqual([]);
      p.summary.domains_touched = ['\u{1f600}.example', '\ufffd.example'];
      expect(pointersOf(p)).toEqual(['/summary/domains_touched/1']);
    });

    it('treats a prefix as smaller', () => {
      const p = packet();
      p.summary.domains_touched = ['example.com', 'example.com.evil'];
      expect(checkPacketSemantics(p)).toEqual([]);
      p.summary.domains_touched = ['example.com.evil', 'example.com'];
      expect(pointersOf(p)).toEqual(['/summary/domains_touched/1']);
    });

    it('makes no claim, and so no error, when absent or empty', () => {
      const p = packet();
      delete p.summary.domains_touched;
      expect(checkPacketSemantics(p)).toEqual([]);
      p.summary.domains_touched = [];
      expect(checkPacketSemantics(p)).toEqual([]);
    });
  });

  describe('§2.9 item 8: posture.enforcement_mode and posture.runner_os non-empty', () => {
    it('reports an empty enforcement_mode', () => {
      const p = packet();
      p.posture.enforcement_mode = '';
      expect(checkPacketSemantics(p)).toEqual([
        {
          pointer: '/posture/enforcement_mode',
          keyword: 'nonEmpty',
          message: '/posture/enforcement_mode: "enforcement_mode" must not be empty',
        },
      ]);
    });

    it('reports an empty runner_os', () => {
      const p = packet();
      p.posture.runner_os = '';
      expect(pointersOf(p)).toEqual(['/posture/runner_os']);
    });
  });

  it('reports every broken rule, in §2.9 order', () => {
    const p = packet();
    p.posture.runner_os = '';
    p.summary.domains_touched = ['b', 'a'];
    p.run.agent_identity = '';
    p.summary.receipt_count = 9;
    p.posture.enforcement_mode = '';
    expect(pointersOf(p)).toEqual([
      '/run/agent_identity',
      '/summary/totals',
      '/summary/domains_touched/1',
      '/posture/enforcement_mode',
      '/posture/runner_os',
    ]);
  });
});

describe.skipIf(!hasShared)('checkPacketSemantics on the reference packets', () => {
  const read = (...parts: string[]): unknown => JSON.parse(readFileSync(path.join(SHARED_DIR, ...parts), 'utf8'));

  it('finds nothing wrong with example.json and the worked example', () => {
    expect(checkPacketSemantics(read('example.json'))).toEqual([]);
    expect(checkPacketSemantics(read('worked-example-3-receipts', 'packet.json'))).toEqual([]);
  });
});
