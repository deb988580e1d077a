import { Logger } from '@nestjs/common';
import { Context, Span, context } from '@opentelemetry/api';
import type { AxiosInstance, AxiosResponse } from 'axios';
import {
  BrokenCircuitError,
  BulkheadPolicy,
  BulkheadRejectedError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  RetryPolicy,
  TimeoutPolicy,
  TimeoutStrategy,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
} from 'cockatiel';
import { GatewayCode, PortalCode, PortalEndpointName, PortalPaths, TokenGetRequest, isSuccessCode, tokenEncryption } from '@app/portal-contracts';
import { AnswerDecoder, AnswerKind, readAnswer } from './answer';
import { AppTokenProvider, FetchedAppToken } from './app-token.provider';
import { PortalServer, endCallSpan, portalServer, startCallSpan } from './call-tracing';
import { PORTAL_CLIENT_DEFAULTS, ResolvedPortalClientOptions } from './portal-client.defaults';
import { CircuitStateName, PortalCallOutcome } from './portal-client.types';
import { PortalError, PortalFailure, PortalFailureSignal, isTransientFailure, toPortalError } from './portal-error';
import { QueryParams, signRequest } from './request-signer';

/** One logical upstream request; the transport signs, sends, retries and unwraps it. */
export interface PortalRequest {
  endpoint: PortalEndpointName;
  method: 'GET' | 'POST';
  path: string;
  query?: QueryParams;
  /** Serialized once; that exact text is signed and sent. */
  body?: unknown;
  /** Extra headers (e.g. the user's Authorization); never logged. */
  headers?: Record<string, string>;
  /** What the answer is, when its `data` is checked as it is read (see readAnswer). */
  read?: AnswerKind;
  /** Reads the answer's bytes instead of this thread (a worker thread); given only with `read`. */
  decode?: AnswerDecoder;
}

/** Gateway codes that mean "this access token is no longer good": fetch a new one and resend once. */
const TOKEN_REJECTED = new Set<number>([GatewayCode.TokenExpired, GatewayCode.InvalidAccessToken]);
/** Gateway codes that mean the app credentials are wrong: an operator must act. */
const CREDENTIALS_REJECTED = new Set<number>([GatewayCode.UnknownAppKey, GatewayCode.BadEncryption, GatewayCode.BadSignature]);
const KNOWN_PORTAL_CODES = new Set<number>([
  PortalCode.BadRequest,
  PortalCode.InvalidUserToken,
  PortalCode.NotPermitted,
  PortalCode.NotFound,
  PortalCode.OuNotSelected,
]);
/** Envelope codes in this range come from the API gateway, not the portal. */
const GATEWAY_CODE_MIN = 1000;
const GATEWAY_CODE_MAX = 1999;

type Outcome = { data: unknown } | { failure: PortalFailure };

/**
 * Who a call is made for, taken as the call starts: its exchanges may run later in another request's turn (queued
 * behind the bulkhead, retried after a backoff), where the active request is not this one.
 */
interface CallScope {
  /** Sent as X-Request-Id and put in the call's log lines. */
  requestId?: string;
  /** Parent of the call's client spans; only with tracing on. */
  parent?: Context;
}

/** The header that carries the request id to the portal, as the service's callers send it. */
const REQUEST_ID_HEADER = 'x-request-id';
/** How long a call's outcome (or a probe's) answers for the portal's reachability before readiness probes again. */
const REACHABILITY_EVIDENCE_MS = 5_000;
/** Longest wait for a readiness probe's answer. */
const PROBE_TIMEOUT_MS = 2_000;

const CIRCUIT_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/** Outcome label of one HTTP call for the observer. */
function outcomeLabel(f: PortalFailure | undefined): PortalCallOutcome {
  if (!f) return 'ok';
  switch (f.type) {
    case 'timeout':
      return 'timeout';
    case 'network':
    case 'http':
    case 'circuitOpen':
    case 'bulkheadFull':
      return 'unavailable';
    case 'envelope':
    case 'gateway':
      return 'rejected';
    case 'malformed':
    case 'invalidArgument':
      return 'error';
  }
}

/** Short, secret-free description of a transport error. */
function networkReason(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  return typeof e?.code === 'string' ? e.code : 'connection failed';
}

function retryAfterHeader(res: AxiosResponse): number | undefined {
  const raw = res.headers?.['retry-after'];
  const n = typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.ceil(n) : undefined;
}

/**
 * Signing, gateway tokens, envelopes and resilience for every portal call.
 * Policy order, outermost first: retry → circuit breaker → attempt, and within an attempt each HTTP
 * exchange runs under bulkhead → timeout. Retries run outside the circuit so that an open circuit stops
 * them at once, and outside the bulkhead so a call waiting for its backoff does not hold a slot; the
 * timeout starts once a slot is held, so queueing behind the bulkhead is not mistaken for a slow portal.
 * A slot is held for the exchange only (the answer arrives as bytes): reading them (readAnswer, the one place
 * answers are parsed) happens after it is freed, so the next queued call is on the wire while a large answer is
 * parsed. A request's `decode` (a worker thread) reads them off the main thread altogether.
 */
export class PortalTransport {
  private readonly logger = new Logger('PortalClient');
  private readonly tokens: AppTokenProvider;
  private readonly retryPolicy: RetryPolicy;
  private readonly circuit: CircuitBreakerPolicy;
  private readonly bulkheadPolicy: BulkheadPolicy;
  private readonly timeoutPolicy: TimeoutPolicy;
  private lastCallOk: boolean | null = null;
  /** performance.now() of the last call's outcome, and of when the circuit last opened. */
  private lastOutcomeAt = 0;
  private openedAt = 0;
  private probed?: { at: number; ok: boolean };
  private probing?: Promise<boolean>;
  private readonly server: PortalServer;

  constructor(
    private readonly http: AxiosInstance,
    private readonly o: ResolvedPortalClientOptions,
  ) {
    this.tokens = new AppTokenProvider(() => this.fetchToken());
    this.server = portalServer(o.baseUrl);
    const transient = handleWhen((e) => e instanceof PortalFailureSignal && isTransientFailure(e.failure));
    this.retryPolicy = retry(transient, {
      maxAttempts: o.retries,
      backoff: new ExponentialBackoff({ initialDelay: o.retryBaseDelayMs, maxDelay: PORTAL_CLIENT_DEFAULTS.retryMaxDelayMs }),
    });
    this.circuit = circuitBreaker(transient, { halfOpenAfter: o.circuitHalfOpenAfterMs, breaker: new ConsecutiveBreaker(o.circuitFailures) });
    this.bulkheadPolicy = bulkhead(o.concurrency, o.maxQueued);
    this.timeoutPolicy = timeout(o.timeoutMs, TimeoutStrategy.Cooperative);
    this.circuit.onStateChange((s) => {
      const name = CIRCUIT_NAMES[s];
      if (name === 'open') this.openedAt = performance.now();
      if (name === 'open') this.logger.warn(`portal circuit open: failing fast for ${o.circuitHalfOpenAfterMs} ms`);
      else this.logger.log(`portal circuit ${name}`);
      o.observer?.onCircuitState?.(name);
    });
  }

  /** Circuit state and whether the last HTTP call reached a portal that answered properly. */
  state(): { circuit: CircuitStateName; lastCallOk: boolean | null } {
    return { circuit: CIRCUIT_NAMES[this.circuit.state], lastCallOk: this.lastCallOk };
  }

  /**
   * Whether the portal is reachable, for readiness. The circuit's open period and a recent call's outcome answer for
   * it; without either (no traffic, before the first call, or an open period that no call has ended yet) a plain GET
   * of the base URL does: any HTTP answer means reachable. Without it, a portal that was never reached would read as
   * up, and one that came back would read as down until some caller tried it.
   */
  async reachable(): Promise<boolean> {
    const now = performance.now();
    if (this.circuit.state === CircuitState.Open && now - this.openedAt < this.o.circuitHalfOpenAfterMs) return false;
    if (this.lastCallOk !== null && now - this.lastOutcomeAt < REACHABILITY_EVIDENCE_MS) return this.lastCallOk;
    if (this.probed && now - this.probed.at < REACHABILITY_EVIDENCE_MS) return this.probed.ok;
    this.probing ??= this.probe().finally(() => (this.probing = undefined));
    return this.probing;
  }

  private async probe(): Promise<boolean> {
    let ok = true;
    try {
      await this.http.request({
        method: 'GET',
        baseURL: this.o.baseUrl,
        url: '/',
        validateStatus: () => true,
        timeout: Math.min(this.o.timeoutMs, PROBE_TIMEOUT_MS),
      });
    } catch {
      ok = false;
    }
    this.probed = { at: performance.now(), ok };
    return ok;
  }

  /** Sends a signed request through the policies and returns the envelope's `data`, or throws PortalError. */
  async call(req: PortalRequest): Promise<unknown> {
    const bodyText = req.body === undefined ? undefined : JSON.stringify(req.body);
    const scope = this.scopeNow();
    let ownFailure: PortalFailureSignal | undefined;
    const attempt = async (): Promise<unknown> => {
      try {
        return await this.attempt(req, bodyText, scope);
      } catch (err) {
        if (err instanceof PortalFailureSignal) ownFailure = err;
        throw err;
      }
    };
    try {
      return await this.retryPolicy.execute(() => this.circuit.execute(attempt));
    } catch (err) {
      // A call whose own attempts opened the circuit reports what they met (a timeout stays a 504), not the open circuit.
      throw this.toError(err instanceof BrokenCircuitError && ownFailure ? ownFailure : err, req.endpoint);
    }
  }

  /** Maps anything the pipeline threw to a PortalError; unexpected errors are programming faults and pass through. */
  private toError(err: unknown, endpoint: string): unknown {
    if (err instanceof PortalError) return err;
    if (err instanceof PortalFailureSignal) return toPortalError(err.failure, endpoint);
    if (err instanceof BrokenCircuitError) {
      return toPortalError({ type: 'circuitOpen', retryAfterS: Math.max(1, Math.ceil(this.o.circuitHalfOpenAfterMs / 1000)) }, endpoint);
    }
    if (err instanceof BulkheadRejectedError) return toPortalError({ type: 'bulkheadFull' }, endpoint);
    return err;
  }

  /** One attempt: a fresh timestamp and signature; a rejected gateway token is replaced and the call resent once. */
  private async attempt(req: PortalRequest, bodyText: string | undefined, scope: CallScope): Promise<unknown> {
    let token = await this.tokens.get();
    let outcome = await this.send(req, bodyText, token, scope);
    if ('failure' in outcome && outcome.failure.type === 'gateway' && TOKEN_REJECTED.has(outcome.failure.code)) {
      this.logger.debug({ requestId: scope.requestId }, `gateway rejected the app token (${outcome.failure.code}); fetching a new one`);
      this.tokens.invalidate(token);
      token = await this.tokens.get();
      outcome = await this.send(req, bodyText, token, scope);
    }
    if ('failure' in outcome) throw new PortalFailureSignal(outcome.failure);
    return outcome.data;
  }

  /** One HTTP exchange in a bulkhead slot under the timeout, then (slot freed) the envelope read from its text. */
  private async send(req: PortalRequest, bodyText: string | undefined, accessToken: string, scope: CallScope): Promise<Outcome> {
    const exchange = await this.bulkheadPolicy.execute(() =>
      this.timeoutPolicy.execute(async ({ signal }): Promise<{ started: number; span?: Span; res?: AxiosResponse; err?: unknown; aborted?: boolean }> => {
        // Signed once the slot is held: the gateway checks the timestamp against its clock.
        const signed = signRequest({ path: req.path, query: req.query, bodyText, accessToken, appSecret: this.o.appSecret, timestamp: Date.now() });
        const headers = this.scopeHeaders(scope, { ...req.headers, ...signed.headers, accept: 'application/json' });
        const span = this.callSpan(scope, req, headers);
        const started = performance.now();
        try {
          const res = await this.http.request({
            method: req.method,
            baseURL: this.o.baseUrl,
            url: signed.url,
            headers,
            data: signed.bodyText,
            // The signed text goes out byte for byte; the answer comes back as bytes, read outside the slot.
            transformRequest: [(d: unknown) => d],
            responseType: 'arraybuffer',
            transformResponse: [(d: unknown) => d],
            validateStatus: () => true,
            signal,
            timeout: this.o.timeoutMs,
          });
          return { started, span, res };
        } catch (err) {
          return { started, span, err, aborted: signal.aborted };
        }
      }),
    );
    let outcome: Outcome;
    let status: number | string;
    if (exchange.res) {
      status = exchange.res.status;
      const read = await this.readBody(req, exchange.res.data, scope);
      outcome = 'failure' in read ? read : this.interpret(exchange.res, read.body);
    } else {
      status = exchange.aborted ? 'timeout' : networkReason(exchange.err);
      outcome = { failure: this.transportFailure(exchange.err, exchange.aborted) };
    }
    this.finishCall(req.endpoint, req.method, req.path, status, exchange.started, 'failure' in outcome ? outcome.failure : undefined, scope, exchange.span);
    return outcome;
  }

  /** The answer read on this thread, or by the request's decoder; a decoder that fails is an answer not received. */
  private async readBody(req: PortalRequest, data: unknown, scope: CallScope): Promise<{ body: unknown } | { failure: PortalFailure }> {
    if (!req.decode || !req.read || !Buffer.isBuffer(data)) return { body: readAnswer(req.read, data) };
    try {
      return { body: await req.decode(req.read, data) };
    } catch (err) {
      this.logger.warn({ requestId: scope.requestId }, `${req.endpoint} answer not decoded: ${(err as Error)?.message ?? err}`);
      return { failure: { type: 'network', reason: 'answer not decoded' } };
    }
  }

  private transportFailure(err: unknown, aborted = false): PortalFailure {
    const code = (err as { code?: unknown })?.code;
    if (aborted || code === 'ECONNABORTED' || code === 'ETIMEDOUT') return { type: 'timeout', timeoutMs: this.o.timeoutMs };
    return { type: 'network', reason: networkReason(err) };
  }

  /** Reads an API envelope: success is code 0 or 200 whatever the HTTP status; an error may come with HTTP 200. */
  private interpret(res: AxiosResponse, body: unknown): Outcome {
    const code = typeof body === 'object' && body !== null ? (body as { code?: unknown }).code : undefined;
    const message =
      typeof body === 'object' && body !== null ? ((body as { message?: unknown; msg?: unknown }).message ?? (body as { msg?: unknown }).msg) : undefined;
    const msg = typeof message === 'string' ? message : undefined;
    if (typeof code !== 'number') {
      if (res.status >= 500) return { failure: { type: 'http', httpStatus: res.status, retryAfterS: retryAfterHeader(res) } };
      return { failure: { type: 'malformed', reason: 'no envelope code', httpStatus: res.status } };
    }
    if (isSuccessCode(code)) return { data: (body as { data?: unknown }).data };
    if (code >= GATEWAY_CODE_MIN && code <= GATEWAY_CODE_MAX) return { failure: { type: 'gateway', code, message: msg, httpStatus: res.status } };
    if (res.status >= 500 && !KNOWN_PORTAL_CODES.has(code)) return { failure: { type: 'http', httpStatus: res.status, retryAfterS: retryAfterHeader(res) } };
    return { failure: { type: 'envelope', code, message: msg, httpStatus: res.status } };
  }

  /** `token/get`; not signed, not retried on its own (the attempt that needed it is). */
  private async fetchToken(): Promise<FetchedAppToken> {
    const timestamp = Date.now();
    const body: TokenGetRequest = { appKey: this.o.appKey, encryption: tokenEncryption(this.o.appKey, timestamp, this.o.appSecret), timestamp };
    // The token is shared: its fetch belongs to the call that needed it first.
    const scope = this.scopeNow();
    const headers = this.scopeHeaders(scope, { 'content-type': 'application/json', accept: 'application/json' });
    const span = this.callSpan(scope, { endpoint: 'tokenGet', method: 'POST', path: PortalPaths.tokenGet }, headers);
    const started = performance.now();
    let status: number | string;
    let failure: PortalFailure | undefined;
    let token: FetchedAppToken | undefined;
    try {
      const res = await this.http.request({
        method: 'POST',
        baseURL: this.o.baseUrl,
        url: PortalPaths.tokenGet,
        headers,
        data: JSON.stringify(body),
        transformRequest: [(d: unknown) => d],
        responseType: 'arraybuffer',
        transformResponse: [(d: unknown) => d],
        validateStatus: () => true,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        timeout: this.o.timeoutMs,
      });
      status = res.status;
      const reply = readAnswer(undefined, res.data) as {
        status?: unknown;
        code?: unknown;
        msg?: unknown;
        message?: unknown;
        data?: { accessToken?: unknown; expire?: unknown } | null;
      };
      const code = typeof reply?.status === 'number' ? reply.status : typeof reply?.code === 'number' ? reply.code : undefined;
      const msg = typeof reply?.msg === 'string' ? reply.msg : typeof reply?.message === 'string' ? reply.message : undefined;
      if (code === undefined) {
        failure =
          res.status >= 500
            ? { type: 'http', httpStatus: res.status, retryAfterS: retryAfterHeader(res) }
            : { type: 'malformed', reason: 'token reply without status', httpStatus: res.status };
      } else if (code !== 0) {
        failure =
          res.status >= 500 && (code < GATEWAY_CODE_MIN || code > GATEWAY_CODE_MAX)
            ? { type: 'http', httpStatus: res.status }
            : { type: 'gateway', code, message: msg, httpStatus: res.status };
      } else if (typeof reply.data?.accessToken !== 'string' || !reply.data.accessToken || typeof reply.data.expire !== 'number' || !(reply.data.expire > 0)) {
        failure = { type: 'malformed', reason: 'token reply without accessToken/expire', httpStatus: res.status };
      } else {
        token = { accessToken: reply.data.accessToken, expireS: reply.data.expire };
      }
    } catch (err) {
      status = networkReason(err);
      failure = this.transportFailure(err);
    }
    this.finishCall('tokenGet', 'POST', PortalPaths.tokenGet, status, started, failure, scope, span);
    if (failure) {
      if (failure.type === 'gateway' && CREDENTIALS_REJECTED.has(failure.code)) {
        this.logger.error(
          { requestId: scope.requestId },
          `gateway rejected the app credentials (code ${failure.code}) for appKey ${this.o.appKey.slice(0, 4)}…; check PORTAL_APP_KEY / PORTAL_APP_SECRET`,
        );
      }
      throw new PortalFailureSignal(failure);
    }
    return token as FetchedAppToken;
  }

  /** The request the code calling now runs for (its id, and its trace context when tracing is on). */
  private scopeNow(): CallScope {
    return { requestId: this.o.requestId?.(), parent: this.o.tracer ? context.active() : undefined };
  }

  /** The headers with the request id the call is made for, when there is one. */
  private scopeHeaders(scope: CallScope, headers: Record<string, string>): Record<string, string> {
    if (scope.requestId !== undefined) headers[REQUEST_ID_HEADER] = scope.requestId;
    return headers;
  }

  /** The exchange's client span (its traceparent written into the headers), with tracing on. */
  private callSpan(scope: CallScope, call: { endpoint: string; method: string; path: string }, headers: Record<string, string>): Span | undefined {
    return this.o.tracer && scope.parent ? startCallSpan(this.o.tracer, scope.parent, call, this.server, headers) : undefined;
  }

  /** Bookkeeping of one HTTP call: debug log (path only, never query values or headers) with the request id, observer, readiness, span. */
  private finishCall(
    endpoint: PortalEndpointName,
    method: string,
    path: string,
    status: number | string,
    started: number,
    failure: PortalFailure | undefined,
    scope: CallScope,
    span: Span | undefined,
  ): void {
    const ms = performance.now() - started;
    const outcome = outcomeLabel(failure);
    if (span) endCallSpan(span, status, outcome, failure);
    // A business error still proves the portal is reachable and accepts our credentials.
    this.lastCallOk = failure === undefined || failure.type === 'envelope';
    this.lastOutcomeAt = performance.now();
    // A call the portal failed (network, timeout, 5xx, gateway) is an operator's concern; a business answer is not.
    const line = { requestId: scope.requestId, endpoint, status, ms: Math.round(ms) };
    if (this.lastCallOk) this.logger.debug(line, `${method} ${path} ${status} ${ms.toFixed(1)}ms`);
    else this.logger.warn(line, `${method} ${path} failed: ${outcome} (${status}) after ${ms.toFixed(1)}ms`);
    if (failure?.type === 'gateway' && CREDENTIALS_REJECTED.has(failure.code) && endpoint !== 'tokenGet') {
      this.logger.error({ requestId: scope.requestId }, `gateway rejected a signed ${endpoint} call (code ${failure.code}); check PORTAL_APP_SECRET`);
    }
    try {
      this.o.observer?.onCall?.(endpoint, outcome, ms);
    } catch (err) {
      this.logger.warn(`portal observer failed: ${(err as Error)?.message ?? err}`);
    }
  }
}
