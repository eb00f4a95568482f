/**
 * The one seam between `egress-verify proxy` and the decision pipeline: it
 * builds the policy pipeline (destination rules, SSRF, DLP, response
 * scanning: spec/proxy.md §3, §5) for a loaded policy. The server and the
 * flight recorder only ever see the `Decider` interface of ./types.ts.
 */
import { readFile } from 'node:fs/promises';
import { literalSecretsPath, type LoadedPolicy } from './policy.js';
import { PolicyPipeline } from './pipeline.js';
import { findSecrets, redactUrl } from './scan/index.js';
import type { Decider, RequestDecision, Transport } from './types.js';

export interface CreateDeciderInput {
  /** The validated policy, its raw bytes and their SHA-256 (`policy_hash`). */
  loaded: LoadedPolicy;
  /** `--allow-testing-overrides` was given (and the listener is on loopback). */
  allowTestingOverrides: boolean;
  listenIsLoopback: boolean;
}

/** What the command needs from the pipeline. */
export interface Pipeline {
  decider: Decider;
  /**
   * Optional DLP-aware receipt target sanitizer (§6.6: replace only the
   * offending query values / path segments / subdomain, re-scan, fall back
   * to `[redacted-target]`). Without it the server uses the conservative
   * sanitizer of ./evidence.ts.
   */
  sanitizeTarget?: (raw: string, transport: Transport, decision: RequestDecision | null) => string;
  /** Optional DLP pass over receipt patterns / X-Egress-Reason (§6.6). */
  sanitizeReason?: (reason: string) => string;
}

/** Builds the decision pipeline for a loaded policy. */
export async function createDecider(input: CreateDeciderInput): Promise<Pipeline> {
  const secretsFile = literalSecretsPath(input.loaded);
  // Known secrets to match (§4 literal_secrets_file): one per line, at least 16 characters.
  const literalSecrets = secretsFile
    ? (await readFile(secretsFile, 'utf8'))
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length >= 16)
    : undefined;
  const pipeline = new PolicyPipeline({ loaded: input.loaded, allowTestingOverrides: input.allowTestingOverrides && input.listenIsLoopback, ...(literalSecrets ? { literalSecrets } : {}) });
  const scan = { dlp: input.loaded.policy.dlp, ...(literalSecrets ? { literalSecrets } : {}) };
  return {
    decider: pipeline,
    // Receipts name the target with exactly the offending parts replaced (§6.6).
    sanitizeTarget: (raw, transport, decision) => {
      if (transport === 'connect') return raw;
      // No finding, no binding exemption, no userinfo: the same secret finder
      // already found nothing to redact, so skip the second scan (hot path).
      const u = decision?.url;
      if (u && decision.findings.length === 0 && Object.keys(scan.dlp.bindings).length === 0 && !u.username && !u.password) {
        return `${u.protocol}//${u.host}${u.pathname}${u.search}`;
      }
      const url = decision?.url ?? safeUrl(raw);
      return url ? redactUrl(url, scan) : raw;
    },
    sanitizeReason: (reason) => {
      let out = reason;
      for (const secret of findSecrets(reason, scan)) out = out.split(secret).join('[redacted]');
      return out;
    },
  };
}

function safeUrl(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}
