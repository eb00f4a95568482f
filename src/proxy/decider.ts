/**
 * The one seam between `egress-verify proxy` and the decision pipeline.
 *
 * PLACEHOLDER: the policy pipeline (destination classification, SSRF, DLP,
 * response scanning: spec/proxy.md §3, §5) is not wired in yet, so
 * createDecider() refuses to start rather than run the proxy with a fake
 * decider. Replace its body with the real pipeline; nothing else in the
 * command has to change. The server and the flight recorder only ever see
 * the `Decider` interface of ./types.ts.
 */
import type { LoadedPolicy } from './policy.js';
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

export class PipelineNotWiredError extends Error {}

/** Builds the decision pipeline for a loaded policy. Placeholder: throws until the real pipeline is wired. */
export async function createDecider(input: CreateDeciderInput): Promise<Pipeline> {
  void input;
  throw new PipelineNotWiredError('policy pipeline not wired yet: src/proxy/decider.ts createDecider() is a placeholder; the proxy refuses to run without its scanners');
}
