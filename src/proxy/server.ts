/**
 * The proxy's one listener (spec/proxy.md §1, §2, §7): forward-proxy
 * requests (absolute-form), CONNECT tunnels, `/fetch?url=`, `/health`, and
 * 404 for anything else.
 *
 * Per mediated exchange, in this order:
 * 1. the request arrives: action id (UUIDv7) and request id, agent identity;
 * 2. the request (target, headers as received minus X-Egress-*, body) goes
 *    to the Decider (policy and scanners, §3 stages 1–10);
 * 3. the pre-egress (intent) receipt is written; if it cannot be, nothing
 *    leaves (503, layer receipt_unavailable);
 * 4. a block is answered with the block signalling of §7 and never reaches
 *    the upstream; an allow or warn dials ONLY the decision's validated
 *    `dialAddress`, with the original host name for Host and SNI;
 * 5. the response is read (size cap, decompression), decided with
 *    decideResponse, the outcome receipt is written, and only then is the
 *    response (or the block page) returned.
 * Redirects are passed back, never followed; upgrades (websocket, h2c) are
 * refused with layer unsupported_protocol.
 */
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import { EvidenceWriter, ReceiptUnavailableError, parseAuthority, sanitizePattern, sanitizeTarget, type Exchange, type OutcomeFacts } from './evidence.js';
import type { Decider, EgressRequest, Finding, Layer, RequestDecision, ResponseDecision, Transport } from './types.js';

export interface ServerOptions {
  decider: Decider;
  evidence: EvidenceWriter;
  /** Listen address (default 127.0.0.1:8888; port 0 picks a free port). */
  host?: string;
  port?: number;
  /** --agent: binds every request to this identity; caller-supplied identity is ignored. */
  agent?: string | null;
  /** Policy mode, shown on /health. */
  mode?: 'enforce' | 'observe';
  /** receipts.require: refuse the request when its pre-egress receipt cannot be written (default true). */
  require?: boolean;
  /** Request bodies are buffered for the scanners up to this many bytes; a larger body is refused (default 64 MiB). */
  maxRequestBodyBytes?: number;
  /** limits.max_response_bytes (default 5 MiB). */
  maxResponseBytes?: number;
  /** response.scan: buffer, decode and decide responses (default true). */
  responseScan?: boolean;
  /** Upstream inactivity timeout (default 30 s). */
  upstreamTimeoutMs?: number;
  /** How long a tunnel waits for the client's first bytes (the TLS ClientHello) before dialing (default 1 s). */
  connectPeekMs?: number;
  /** Compare the ClientHello SNI with the CONNECT host (default true). */
  sniCheck?: boolean;
  /** Shutdown: how long in-flight exchanges may finish (default 5 s). */
  drainMs?: number;
  /** Receipt target sanitizer (§6.6); default: evidence.sanitizeTarget. A DLP-aware one can be plugged in. */
  sanitizeTarget?: (raw: string, transport: Transport, decision: RequestDecision | null) => string;
  /** Receipt pattern / X-Egress-Reason sanitizer; default: evidence.sanitizePattern. */
  sanitizeReason?: (reason: string) => string;
  /** Extra TLS options for HTTPS upstreams (e.g. a CA in tests). */
  tls?: SecureContextOptions;
  log?: (line: string) => void;
}

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection']);

const isControlHeader = (name: string) => name.toLowerCase().startsWith('x-egress-');

/** Raw header list as [name, value] pairs, in order. */
export function headerPairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** Drops hop-by-hop headers (and those named in Connection) and X-Egress-* headers. */
export function endToEnd(pairs: readonly [string, string][], alsoDrop: readonly string[] = []): [string, string][] {
  const named = new Set<string>(alsoDrop.map((n) => n.toLowerCase()));
  for (const [n, v] of pairs) if (n.toLowerCase() === 'connection') for (const t of v.split(',')) if (t.trim()) named.add(t.trim().toLowerCase());
  return pairs.filter(([n]) => {
    const l = n.toLowerCase();
    return !HOP_BY_HOP.has(l) && !named.has(l) && !isControlHeader(l);
  });
}

/** Form-URL decoding, exactly once: `+` is a space, `%XX` a byte, malformed escapes stay literal. */
export function formDecode(s: string): string {
  const src = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(src.length);
  let n = 0;
  const hex = (c: number) => (c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1);
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x2b) out[n++] = 0x20;
    else if (c === 0x25 && i + 2 < src.length && hex(src[i + 1]!) >= 0 && hex(src[i + 2]!) >= 0) {
      out[n++] = hex(src[i + 1]!) * 16 + hex(src[i + 2]!);
      i += 2;
    } else out[n++] = c;
  }
  return out.subarray(0, n).toString('utf8');
}

/**
 * The target and agent of a `/fetch` query (§2): `url` decoded once; when
 * other parameters than `url` and `agent` are present the caller did not
 * encode the target and it was cut at an `&`, so everything after the first
 * `url=` is the target. ASCII control characters are then removed.
 */
export function fetchQuery(rawQuery: string): { target: string; agent: string | null } {
  const pairs = rawQuery.split('&').filter((p) => p !== '').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? [formDecode(p), ''] : [formDecode(p.slice(0, eq)), p.slice(eq + 1)];
  });
  const agentPair = pairs.find(([k]) => k === 'agent');
  const urlPair = pairs.find(([k]) => k === 'url');
  const unencoded = pairs.some(([k]) => k !== 'url' && k !== 'agent');
  let target = urlPair ? formDecode(urlPair[1]!) : '';
  if (unencoded) {
    const m = /(?:^|&)url=/.exec(rawQuery);
    if (m) target = formDecode(rawQuery.slice(m.index + m[0].length));
  }
  // eslint-disable-next-line no-control-regex
  target = target.replace(/[\u0000-\u001f\u007f]/g, '');
  return { target, agent: agentPair ? formDecode(agentPair[1]!) : null };
}

/** `host`, `host:port`, `v4:port`, `[v6]:port` or a bare IPv6 address. */
export function parseDialAddress(addr: string, defaultPort: number): { host: string; port: number } | null {
  const a = addr.trim();
  if (a === '') return null;
  let m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(a);
  if (m) return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
  if (net.isIPv6(a)) return { host: a, port: defaultPort };
  m = /^([^:]+)(?::(\d{1,5}))?$/.exec(a);
  if (!m) return null;
  const port = m[2] ? Number(m[2]) : defaultPort;
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : null;
}

/** A header value that is safe to send: printable ASCII, at most `max` characters. */
export function headerSafe(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > max ? t.slice(0, max) : t;
}

function agentText(s: string): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim();
  return t.length > 128 ? t.slice(0, 128) : t;
}

/** Turns a decision into a block by `finding`, unless it already blocks (the first blocking stage wins). */
export function blockedBy(d: RequestDecision, finding: Finding, status = 403): RequestDecision {
  if (d.verdict === 'block') return d;
  return { ...d, verdict: 'block', deciding: finding, findings: [finding, ...d.findings], severity: finding.severity, dialAddress: null, blockStatus: status };
}

const RECEIPT_UNAVAILABLE: Finding = { layer: 'receipt_unavailable', severity: 'medium', reason: 'flight recorder unavailable: the pre-egress receipt could not be persisted', where: 'connection', floor: true };

function responseBlock(layer: Layer, severity: Finding['severity'], reason: string): ResponseDecision {
  const f: Finding = { layer, severity, reason, where: 'response', floor: true };
  return { verdict: 'block', deciding: f, findings: [f], dataClassesOut: [] };
}

type DecodeResult = { ok: true; body: Buffer } | { ok: false; layer: 'response_size' | 'response_scan'; reason: string };

/** Undoes gzip, deflate and br (in reverse order of application) under the size cap; anything else fails closed. */
export function decodeBody(body: Buffer, contentEncoding: string | undefined, cap: number): DecodeResult {
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let out = body;
  try {
    for (const c of codings.reverse()) {
      const opts = { maxOutputLength: cap + 1 };
      if (c === 'gzip' || c === 'x-gzip') out = gunzipSync(out, opts);
      else if (c === 'br') out = brotliDecompressSync(out, opts);
      else if (c === 'deflate') {
        try {
          out = inflateSync(out, opts);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw e;
          out = inflateRawSync(out, opts);
        }
      } else return { ok: false, layer: 'response_scan', reason: `compressed_response: unsupported content-encoding ${headerSafe(c, 40)}` };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) return { ok: false, layer: 'response_size', reason: `response exceeds max_response_bytes (${cap})` };
    return { ok: false, layer: 'response_scan', reason: 'compressed_response: the response body could not be decoded' };
  }
  if (out.length > cap) return { ok: false, layer: 'response_size', reason: `response exceeds max_response_bytes (${cap})` };
  return { ok: true, body: out };
}

/** Reads a stream up to `cap` bytes; `over` when it held more. */
async function readCapped(stream: IncomingMessage, cap: number): Promise<{ body: Buffer; bytes: number; over: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > cap) return { body: Buffer.concat(chunks), bytes, over: true };
    chunks.push(chunk);
  }
  return { body: Buffer.concat(chunks), bytes, over: false };
}

/** The SNI host name of a TLS ClientHello at the start of `buf`: a name, null when there is none, undefined when more bytes are needed. */
export function clientHelloSni(buf: Buffer): string | null | undefined {
  if (buf.length < 1) return undefined;
  if (buf[0] !== 0x16) return null; // not a TLS handshake record
  if (buf.length < 5) return undefined;
  const recLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recLen) return recLen > 16384 + 2048 ? null : undefined;
  const rec = buf.subarray(5, 5 + recLen);
  try {
    if (rec[0] !== 0x01) return null; // not a ClientHello
    let p = 4 + 2 + 32; // handshake header, client_version, random
    p += 1 + rec[p]!; // session id
    p += 2 + rec.readUInt16BE(p); // cipher suites
    p += 1 + rec[p]!; // compression methods
    if (p + 2 > rec.length) return null;
    const end = Math.min(rec.length, p + 2 + rec.readUInt16BE(p));
    p += 2;
    while (p + 4 <= end) {
      const type = rec.readUInt16BE(p);
      const len = rec.readUInt16BE(p + 2);
      p += 4;
      if (type === 0) {
        let q = p + 2;
        const listEnd = Math.min(p + len, q - 2 + 2 + rec.readUInt16BE(p));
        while (q + 3 <= listEnd) {
          const nameType = rec[q]!;
          const nameLen = rec.readUInt16BE(q + 1);
          if (nameType === 0) return rec.subarray(q + 3, q + 3 + nameLen).toString('latin1');
          q += 3 + nameLen;
        }
        return null;
      }
      p += len;
    }
    return null;
  } catch {
    return null;
  }
}

function normHost(h: string): string {
  return h.toLowerCase().replace(/\.$/, '').replace(/^\[|\]$/g, '');
}

interface Track {
  aborted: boolean;
  cleanups: Set<() => void>;
}

/** The block (or error) signalling of §7 for one exchange. */
interface Signal {
  decision: 'block' | 'allow' | 'warn' | 'error';
  layer?: string;
  reason?: string;
}

export class ProxyServer {
  private readonly o: Required<Omit<ServerOptions, 'agent' | 'tls' | 'log' | 'sanitizeTarget' | 'sanitizeReason'>> & Pick<ServerOptions, 'agent' | 'tls'>;
  private readonly server: http.Server;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly active = new Set<Track>();
  private readonly tunnels = new Set<Socket>();
  private readonly log: (line: string) => void;
  private readonly sanitizeTargetFn: NonNullable<ServerOptions['sanitizeTarget']>;
  private readonly sanitizeReasonFn: (s: string) => string;
  private closing = false;
  private closed: Promise<void> | null = null;

  constructor(opts: ServerOptions) {
    this.o = {
      decider: opts.decider,
      evidence: opts.evidence,
      host: opts.host ?? '127.0.0.1',
      port: opts.port ?? 8888,
      agent: opts.agent ?? null,
      mode: opts.mode ?? 'enforce',
      require: opts.require ?? true,
      maxRequestBodyBytes: opts.maxRequestBodyBytes ?? 64 * 1024 * 1024,
      maxResponseBytes: opts.maxResponseBytes ?? 5 * 1024 * 1024,
      responseScan: opts.responseScan ?? true,
      upstreamTimeoutMs: opts.upstreamTimeoutMs ?? 30_000,
      connectPeekMs: opts.connectPeekMs ?? 1000,
      sniCheck: opts.sniCheck ?? true,
      drainMs: opts.drainMs ?? 5000,
      tls: opts.tls,
    };
    this.log = opts.log ?? (() => undefined);
    this.sanitizeTargetFn = opts.sanitizeTarget ?? sanitizeTarget;
    this.sanitizeReasonFn = opts.sanitizeReason ?? sanitizePattern;
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000, ...(opts.tls ?? {}) });
    this.server = http.createServer({ requestTimeout: 120_000, headersTimeout: 60_000 }, (req, res) =>
      this.track(
        (t) => this.onRequest(req, res, t),
        () => (res.headersSent ? res.destroy() : res.writeHead(500, { 'x-egress-decision': 'error', connection: 'close' }).end('proxy error\n')),
      ),
    );
    this.server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => this.track((t) => this.onConnect(req, socket, head, t), () => socket.destroy()));
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.track((t) => this.onUpgrade(req, socket, head, t), () => socket.destroy()));
    this.server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Binds the listener; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    this.server.listen(this.o.port, this.o.host);
    await once(this.server, 'listening');
    return this.address;
  }

  get address(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Exchanges in flight. */
  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Shutdown steps 1–2 of §6.9: stop accepting, let in-flight exchanges
   * finish for at most `drainMs` (their outcome receipts are written), then
   * abort the rest (outcome `reason=aborted`) and close every connection.
   * The caller closes the flight recorder afterwards.
   */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    this.closed = (async () => {
      const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      await this.settle(this.o.drainMs);
      for (const t of this.active) {
        t.aborted = true;
        for (const c of t.cleanups) c();
      }
      await this.settle(2000);
      this.server.closeAllConnections();
      for (const s of this.tunnels) s.destroy();
      this.httpAgent.destroy();
      this.httpsAgent.destroy();
      await Promise.race([serverClosed, new Promise((r) => setTimeout(r, 1000).unref())]);
    })();
    return this.closed;
  }

  private async settle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /** Runs one exchange, tracked for shutdown; an unexpected error is logged and the client gets an error, never silence. */
  private track(fn: (t: Track) => Promise<void>, onError: () => void): void {
    const t: Track = { aborted: false, cleanups: new Set() };
    this.active.add(t);
    fn(t)
      .catch((e) => {
        this.log(`internal error: ${(e as Error).stack ?? String(e)}`);
        try {
          onError();
        } catch {
          /* the connection is already gone */
        }
      })
      .finally(() => this.active.delete(t));
  }

  private agentOf(req: IncomingMessage, fromQuery: string | null): string {
    if (this.o.agent) return this.o.agent;
    const h = req.headers['x-egress-agent'];
    const header = Array.isArray(h) ? h[0] : h;
    const a = agentText(header ?? fromQuery ?? '');
    return a === '' ? 'anonymous' : a;
  }

  private exchange(transport: Transport, method: string, agent: string, raw: string, d: RequestDecision | null, actionId: string): Exchange {
    return { actionId, requestId: this.o.evidence.nextRequestId(), transport, method, agent, target: this.sanitizeTargetFn(raw, transport, d) };
  }

  // -------------------------------------------------------------------------
  // HTTP requests: routing, forward and fetch

  private async onRequest(req: IncomingMessage, res: ServerResponse, t: Track): Promise<void> {
    const url = req.url ?? '';
    if (ABSOLUTE_FORM.test(url)) return this.mediate(req, res, t, 'forward', url, null, null);
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/fetch') {
      const { target, agent } = fetchQuery(q < 0 ? '' : url.slice(q + 1));
      return this.mediate(req, res, t, 'fetch', target, agent, null);
    }
    if (path === '/health') return this.health(res);
    req.resume();
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: use an absolute-form proxy request, CONNECT, /fetch?url=, or /health\n');
  }

  private health(res: ServerResponse): void {
    const body = JSON.stringify({ status: this.closing ? 'closing' : 'ok', mode: this.o.mode, policy_hash: this.o.decider.policyHash, public_key: this.o.evidence.publicKeyHex, profile: this.o.evidence.profile });
    res.writeHead(this.closing ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body + '\n');
  }

  /** Decides and records a forward or fetch request; forwards it when allowed. */
  private async mediate(req: IncomingMessage, res: ServerResponse, t: Track, transport: 'forward' | 'fetch', target: string, queryAgent: string | null, upgrade: string | null): Promise<void> {
    const actionId = this.o.evidence.newActionId();
    const agent = this.agentOf(req, queryAgent);
    const method = (req.method ?? 'GET').toUpperCase();
    const received = headerPairs(req.rawHeaders);
    const forDecider = received.filter(([n]) => !isControlHeader(n));
    const upgradeHeader = upgrade ?? (req.headers.upgrade ? String(req.headers.upgrade) : null);

    // An upgrade request has no body to read (the socket is no longer parsed as HTTP).
    const { body, over } = upgrade !== null ? { body: Buffer.alloc(0), over: false } : await readCapped(req, this.o.maxRequestBodyBytes);
    const egress: EgressRequest = { transport, method, target, headers: forDecider, body: over ? Buffer.alloc(0) : body, agent };
    let d: RequestDecision;
    try {
      d = await this.o.decider.decideRequest(egress);
    } catch (e) {
      this.log(`decider failed: ${(e as Error).message}`);
      return this.sendHttp(res, transport, null, { decision: 'error', reason: 'policy pipeline error' }, 500, { error: 'policy pipeline error' }, agent, actionId);
    }
    if (over) d = blockedBy(d, { layer: 'body_dlp', severity: 'medium', reason: `body exceeds max_body_bytes (${this.o.maxRequestBodyBytes})`, where: 'body', floor: true });
    if (upgradeHeader) d = blockedBy(d, { layer: 'unsupported_protocol', severity: 'medium', reason: `unsupported protocol upgrade: ${headerSafe(upgradeHeader, 40)}`, where: 'connection', floor: true });
    const x = this.exchange(transport, method, agent, target, d, actionId);

    if (!this.recordIntent(x, d)) {
      return this.sendBlock(res, x, { layer: 'receipt_unavailable', reason: RECEIPT_UNAVAILABLE.reason }, 503, true);
    }
    if (d.verdict === 'block') {
      const f = d.deciding!;
      return this.sendBlock(res, x, { layer: f.layer, reason: this.sanitizeReasonFn(f.reason) }, d.blockStatus || 403, over || Boolean(upgradeHeader));
    }
    await this.forward(res, t, x, egress, d, received);
  }

  /** Writes the intent receipt; false when it could not be persisted and receipts are required. */
  private recordIntent(x: Exchange, d: RequestDecision): boolean {
    try {
      this.o.evidence.recordIntent(x, d, this.sanitizeReasonFn);
      return true;
    } catch (e) {
      if (!(e instanceof ReceiptUnavailableError)) throw e;
      this.log(`receipt unavailable (${x.requestId}): ${e.message}`);
      const proceed = !this.o.require && d.verdict !== 'block';
      if (!proceed) this.o.evidence.noteDurabilityBlock();
      return proceed;
    }
  }

  /** Writes the outcome receipt; false when it could not be persisted. */
  private recordOutcome(x: Exchange, d: RequestDecision, resp: ResponseDecision | null, facts: OutcomeFacts): boolean {
    try {
      this.o.evidence.recordOutcome(x, d, resp, facts, this.sanitizeReasonFn);
      return true;
    } catch (e) {
      if (!(e instanceof ReceiptUnavailableError)) throw e;
      this.log(`outcome receipt unavailable (${x.requestId}): ${e.message}`);
      return false;
    }
  }

  private async forward(res: ServerResponse, t: Track, x: Exchange, egress: EgressRequest, d: RequestDecision, received: [string, string][]): Promise<void> {
    let u: URL | null = d.url;
    if (!u) {
      try {
        u = new URL(egress.target);
      } catch {
        u = null;
      }
    }
    const tls = u?.protocol === 'https:';
    const dial = u && d.dialAddress ? parseDialAddress(d.dialAddress, d.port ?? (u.port ? Number(u.port) : tls ? 443 : 80)) : null;
    if (!u || !dial || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
      this.recordOutcome(x, d, null, { kind: 'http', status: 0, bytes: 0, reason: 'upstream_error' });
      return this.sendHttp(res, x.transport, x, { decision: 'error' }, 502, { blocked: false, error: 'no validated upstream address for this request' }, x.agent, x.actionId);
    }

    const headers = endToEnd(received, ['host', 'accept-encoding', 'content-length']);
    headers.unshift(['Host', u.host]);
    headers.push(['Accept-Encoding', 'identity']);
    const body = egress.body ?? Buffer.alloc(0);
    if (body.length > 0 || ['POST', 'PUT', 'PATCH'].includes(x.method)) headers.push(['Content-Length', String(body.length)]);
    const servername = net.isIP(normHost(u.hostname)) ? undefined : normHost(u.hostname);

    let upstreamRes: IncomingMessage;
    try {
      upstreamRes = await new Promise<IncomingMessage>((resolve, reject) => {
        const options: https.RequestOptions = {
          host: dial.host,
          port: dial.port,
          method: x.method,
          path: (u!.pathname || '/') + u!.search,
          headers: headers.flat(),
          setHost: false,
          agent: tls ? this.httpsAgent : this.httpAgent,
          timeout: this.o.upstreamTimeoutMs,
          ...(tls ? { servername, ...(this.o.tls ?? {}) } : {}),
        };
        const upReq = (tls ? https : http).request(options, resolve);
        const abort = () => upReq.destroy(new Error('aborted at shutdown'));
        t.cleanups.add(abort);
        res.on('close', () => {
          if (!res.writableFinished) upReq.destroy(new Error('client went away'));
        });
        upReq.on('timeout', () => upReq.destroy(new Error('upstream timed out')));
        upReq.on('error', reject);
        upReq.end(body);
      });
    } catch (e) {
      const reason = t.aborted ? 'aborted' : 'upstream_error';
      this.recordOutcome(x, d, null, { kind: 'http', status: 0, bytes: 0, reason });
      return this.sendHttp(res, x.transport, x, { decision: 'error' }, 502, { blocked: false, error: `upstream error: ${headerSafe((e as Error).message, 120)}` }, x.agent, x.actionId);
    }
    t.cleanups.add(() => upstreamRes.destroy(new Error('aborted at shutdown')));
    const status = upstreamRes.statusCode ?? 502;
    const upHeaders = headerPairs(upstreamRes.rawHeaders);
    const contentEncoding = upstreamRes.headers['content-encoding'];

    if (!this.o.responseScan && x.transport === 'forward') return this.streamThrough(res, t, x, d, status, upHeaders, upstreamRes);

    let got: { body: Buffer; bytes: number; over: boolean };
    try {
      got = await readCapped(upstreamRes, this.o.maxResponseBytes);
    } catch (e) {
      const reason = t.aborted ? 'aborted' : 'upstream_error';
      this.recordOutcome(x, d, null, { kind: 'http', status, bytes: 0, reason });
      return this.sendHttp(res, x.transport, x, { decision: 'error' }, 502, { blocked: false, error: `upstream error: ${headerSafe((e as Error).message, 120)}` }, x.agent, x.actionId);
    }
    if (got.over) upstreamRes.destroy();

    let resp: ResponseDecision;
    let content = got.body;
    let decoded = false;
    if (!this.o.responseScan) {
      resp = { verdict: 'allow', deciding: null, findings: [], dataClassesOut: [] };
    } else if (got.over) {
      resp = responseBlock('response_size', 'medium', `response exceeds max_response_bytes (${this.o.maxResponseBytes})`);
    } else {
      const dec = decodeBody(got.body, Array.isArray(contentEncoding) ? contentEncoding.join(',') : contentEncoding, this.o.maxResponseBytes);
      if (!dec.ok) resp = responseBlock(dec.layer, 'medium', dec.reason);
      else {
        content = dec.body;
        decoded = dec.body !== got.body;
        try {
          resp = this.o.decider.decideResponse(egress, d, status, upHeaders.filter(([n]) => !isControlHeader(n)), content);
        } catch (e) {
          this.log(`decider failed on a response: ${(e as Error).message}`);
          resp = responseBlock('response_scan', 'medium', 'response scan failed');
        }
      }
    }
    const reason = got.over ? 'truncated' : 'complete';
    if (!this.recordOutcome(x, d, resp, { kind: 'http', status, bytes: got.over ? got.bytes : got.body.length, reason }) && this.o.require) {
      this.o.evidence.noteDurabilityBlock();
      return this.sendBlock(res, x, { layer: 'receipt_unavailable', reason: 'flight recorder unavailable: the outcome receipt could not be persisted' }, 503, false);
    }
    if (resp.verdict === 'block') {
      const f = resp.deciding!;
      return this.sendBlock(res, x, { layer: f.layer, reason: this.sanitizeReasonFn(f.reason) }, 403, false);
    }
    const signal = this.passSignal(d, resp);
    if (x.transport === 'fetch') {
      const contentType = upstreamRes.headers['content-type'] ?? '';
      return this.sendHttp(res, 'fetch', x, signal, 200, { status_code: status, content_type: contentType, content: content.toString('utf8'), blocked: false }, x.agent, x.actionId);
    }
    const bodyless = x.method === 'HEAD' || status === 204 || status === 304;
    const out = endToEnd(upHeaders, [...(bodyless ? [] : ['content-length']), ...(decoded ? ['content-encoding'] : [])]);
    if (!bodyless) out.push(['Content-Length', String(content.length)]);
    out.push(...this.signalHeaders(signal, x.actionId));
    res.writeHead(status, out.flat());
    res.end(bodyless ? undefined : content);
  }

  /** response.scan off, forward mode: the response streams through; the outcome is recorded when it ends. */
  private async streamThrough(res: ServerResponse, t: Track, x: Exchange, d: RequestDecision, status: number, upHeaders: [string, string][], upstreamRes: IncomingMessage): Promise<void> {
    const signal = this.passSignal(d, null);
    const out = endToEnd(upHeaders);
    out.push(...this.signalHeaders(signal, x.actionId));
    res.writeHead(status, out.flat());
    let bytes = 0;
    let failed = false;
    try {
      for await (const chunk of upstreamRes as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (!res.write(chunk)) await once(res, 'drain');
      }
    } catch {
      failed = true;
    }
    this.recordOutcome(x, d, null, { kind: 'http', status, bytes, reason: t.aborted ? 'aborted' : failed ? 'truncated' : 'complete' });
    if (failed) res.destroy();
    else res.end();
  }

  private passSignal(d: RequestDecision, resp: ResponseDecision | null): Signal {
    if (resp && resp.verdict === 'warn' && resp.deciding) return { decision: 'warn', layer: resp.deciding.layer, reason: this.sanitizeReasonFn(resp.deciding.reason) };
    if (d.verdict === 'warn' && d.deciding) return { decision: 'warn', layer: d.deciding.layer, reason: this.sanitizeReasonFn(d.deciding.reason) };
    return { decision: 'allow' };
  }

  private signalHeaders(s: Signal, actionId: string): [string, string][] {
    const h: [string, string][] = [['X-Egress-Decision', s.decision]];
    if (s.layer) h.push(['X-Egress-Layer', s.layer]);
    h.push(['X-Egress-Action-Id', actionId]);
    if (s.reason) h.push(['X-Egress-Reason', headerSafe(s.reason)]);
    return h;
  }

  /** A block (§7): 403/429/503, X-Egress-* headers, JSON for fetch, `blocked: <reason>` text for forward. */
  private sendBlock(res: ServerResponse, x: Exchange, b: { layer: string; reason: string }, status: number, closeConnection: boolean): void {
    const signal: Signal = { decision: 'block', layer: b.layer, reason: b.reason };
    if (x.transport === 'fetch') {
      return this.sendHttp(res, 'fetch', x, signal, status, { blocked: true, block_reason: b.reason, scanner: b.layer }, x.agent, x.actionId, closeConnection);
    }
    const text = `blocked: ${b.layer}: ${b.reason}\n`;
    const headers: [string, string][] = [['Content-Type', 'text/plain; charset=utf-8'], ['Content-Length', String(Buffer.byteLength(text))], ...this.signalHeaders(signal, x.actionId)];
    if (closeConnection) headers.push(['Connection', 'close']);
    res.writeHead(status, headers.flat());
    res.end(text);
  }

  /** A proxy-generated response: JSON for fetch (url, agent, …, action_id), text otherwise. */
  private sendHttp(res: ServerResponse, transport: Transport, x: Exchange | null, signal: Signal, status: number, fields: Record<string, unknown>, agent: string, actionId: string, closeConnection = false): void {
    let body: string;
    let type: string;
    if (transport === 'fetch') {
      body = JSON.stringify({ url: x?.target ?? '', agent, ...fields, action_id: actionId }) + '\n';
      type = 'application/json';
    } else {
      body = `${signal.decision === 'error' ? 'proxy error' : signal.decision}: ${String(fields.error ?? signal.reason ?? '')}\n`;
      type = 'text/plain; charset=utf-8';
    }
    const headers: [string, string][] = [['Content-Type', type], ['Content-Length', String(Buffer.byteLength(body))], ...this.signalHeaders(signal, actionId)];
    if (closeConnection) headers.push(['Connection', 'close']);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, headers.flat());
    res.end(body);
  }

  // -------------------------------------------------------------------------
  // Upgrades: always refused (an unscanned channel otherwise)

  private async onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, t: Track): Promise<void> {
    void head;
    socket.on('error', () => undefined);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const upgrade = String(req.headers.upgrade ?? 'unknown');
    if (!ABSOLUTE_FORM.test(url) && path !== '/fetch') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n');
      return;
    }
    // Answer through a ServerResponse bound to the raw socket so the block page is an ordinary HTTP response.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => {
      res.detachSocket(socket);
      socket.end();
    });
    if (ABSOLUTE_FORM.test(url)) return this.mediate(req, res, t, 'forward', url, null, upgrade);
    const { target, agent } = fetchQuery(q < 0 ? '' : url.slice(q + 1));
    return this.mediate(req, res, t, 'fetch', target, agent, upgrade);
  }

  // -------------------------------------------------------------------------
  // CONNECT tunnels

  private async onConnect(req: IncomingMessage, client: Socket, head: Buffer, t: Track): Promise<void> {
    this.tunnels.add(client);
    client.on('close', () => this.tunnels.delete(client));
    client.on('error', () => undefined);
    const actionId = this.o.evidence.newActionId();
    const agent = this.agentOf(req, null);
    const target = req.url ?? '';
    const headers = headerPairs(req.rawHeaders).filter(([n]) => !isControlHeader(n));
    const egress: EgressRequest = { transport: 'connect', method: 'CONNECT', target, headers, agent };
    let d: RequestDecision;
    try {
      d = await this.o.decider.decideRequest(egress);
    } catch (e) {
      this.log(`decider failed: ${(e as Error).message}`);
      client.end(rawResponse(500, 'Internal Server Error', [['X-Egress-Decision', 'error'], ['X-Egress-Action-Id', actionId]], 'CONNECT error: policy pipeline error\n'));
      return;
    }
    const x = this.exchange('connect', 'CONNECT', agent, target, d, actionId);
    if (!this.recordIntent(x, d)) {
      client.end(this.connectRefusal(503, x, 'receipt_unavailable', RECEIPT_UNAVAILABLE.reason));
      return;
    }
    if (d.verdict === 'block') {
      const f = d.deciding!;
      client.end(this.connectRefusal(d.blockStatus || 403, x, f.layer, this.sanitizeReasonFn(f.reason)));
      return;
    }
    const authority = parseAuthority(target);
    const port = d.port ?? authority?.port ?? 443;
    const host = d.host ?? authority?.host ?? '';
    const dial = d.dialAddress ? parseDialAddress(d.dialAddress, port) : null;
    const started = Date.now();
    if (!dial) {
      this.recordOutcome(x, d, null, { kind: 'connect', bytesUp: 0, bytesDown: 0, durationMs: 0, reason: 'upstream_error' });
      client.end(rawResponse(502, 'Bad Gateway', this.signalHeaders({ decision: 'error' }, x.actionId), 'CONNECT error: no validated upstream address\n'));
      return;
    }

    const signal = this.passSignal(d, null);
    client.write(rawResponse(200, 'Connection Established', this.signalHeaders(signal, x.actionId), null));

    // Peek at the client's first bytes: the ClientHello's SNI must name the CONNECT host.
    let first = head;
    if (this.o.sniCheck) first = await this.peekClientHello(client, head, t);
    if (t.aborted || client.destroyed) {
      this.recordOutcome(x, d, null, { kind: 'connect', bytesUp: 0, bytesDown: 0, durationMs: Date.now() - started, reason: 'aborted' });
      client.destroy();
      return;
    }
    const sni = this.o.sniCheck ? clientHelloSni(first) : null;
    if (typeof sni === 'string' && normHost(sni) !== normHost(host)) {
      const f: Finding = { layer: 'sni_mismatch', severity: 'high', reason: 'sni_mismatch: the TLS ClientHello names a different host than CONNECT', where: 'connection', floor: true };
      this.recordOutcome(x, d, { verdict: 'block', deciding: f, findings: [f], dataClassesOut: [] }, { kind: 'connect', bytesUp: 0, bytesDown: 0, durationMs: Date.now() - started, reason: 'closed' });
      client.destroy();
      return;
    }

    await this.splice(client, first, dial, x, d, t, started);
  }

  private connectRefusal(status: number, x: Exchange, layer: string, reason: string): string {
    const phrase = status === 429 ? 'Too Many Requests' : status === 503 ? 'Service Unavailable' : 'Forbidden';
    return rawResponse(status, phrase, [...this.signalHeaders({ decision: 'block', layer, reason }, x.actionId), ['Content-Type', 'text/plain; charset=utf-8']], `CONNECT blocked: ${layer}: ${reason}\n`);
  }

  /** Collects the first client bytes until a whole TLS record (or a non-TLS byte) is there, or the peek time is up. */
  private async peekClientHello(client: Socket, head: Buffer, t: Track): Promise<Buffer> {
    let buf = head;
    if (clientHelloSni(buf) !== undefined) return buf;
    return new Promise<Buffer>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        client.off('data', onData);
        client.off('close', done);
        t.cleanups.delete(done);
        client.pause();
        resolve(buf);
      };
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (clientHelloSni(buf) !== undefined || buf.length > 20_000) done();
      };
      const timer = setTimeout(done, this.o.connectPeekMs);
      t.cleanups.add(done);
      client.on('data', onData);
      client.on('close', done);
      client.resume();
    });
  }

  private async splice(client: Socket, first: Buffer, dial: { host: string; port: number }, x: Exchange, d: RequestDecision, t: Track, started: number): Promise<void> {
    let up = first.length;
    let down = 0;
    let failed = false;
    const upstream = net.connect({ host: dial.host, port: dial.port });
    this.tunnels.add(upstream);
    const kill = () => {
      client.destroy();
      upstream.destroy();
    };
    t.cleanups.add(kill);
    upstream.setTimeout(this.o.upstreamTimeoutMs * 10, kill);
    await new Promise<void>((resolve) => {
      let connected = false;
      let open = 2;
      const closed = () => {
        if (--open === 0) resolve();
      };
      upstream.on('connect', () => {
        connected = true;
        if (first.length) upstream.write(first);
        client.on('data', (c: Buffer) => {
          up += c.length;
        });
        upstream.on('data', (c: Buffer) => {
          down += c.length;
        });
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', () => {
        if (!connected) failed = true;
        client.destroy();
      });
      client.on('error', () => upstream.destroy());
      // When one side is gone, the other gets a short grace period and is then torn down.
      const follow = (other: Socket) => () => {
        const timer = setTimeout(() => other.destroy(), 2000);
        other.once('close', () => clearTimeout(timer));
        other.end();
      };
      upstream.on('close', follow(client));
      client.on('close', follow(upstream));
      upstream.once('close', closed);
      if (client.destroyed) closed();
      else client.once('close', closed);
    });
    this.tunnels.delete(upstream);
    this.recordOutcome(x, d, null, { kind: 'connect', bytesUp: up, bytesDown: down, durationMs: Date.now() - started, reason: t.aborted ? 'aborted' : failed ? 'upstream_error' : 'closed' });
  }
}

/** An HTTP/1.1 response written straight to a socket (CONNECT). `body` null: headers only, the connection stays open. */
function rawResponse(status: number, phrase: string, headers: [string, string][], body: string | null): string {
  let s = `HTTP/1.1 ${status} ${phrase}\r\n`;
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`;
  if (body !== null) s += `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n`;
  s += '\r\n';
  return body === null ? s : s + body;
}
