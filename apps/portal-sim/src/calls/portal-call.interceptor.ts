import { CallHandler, ExecutionContext, HttpException, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setImmediate as setImmediatePromise } from 'node:timers/promises';
import { NEVER, Observable, catchError, concatMap, map, throwError } from 'rxjs';
import { PortalEndpointName } from '@app/portal-contracts';
import { SimFault } from '@app/sim-contracts';
import { sleep } from '../common/clock';
import { PortalError } from '../common/portal-error';
import { encodeWithRaw } from '../common/raw-json';
import { SIM_ENDPOINT, SimEndpointMeta } from '../common/sim-endpoint.decorator';
import { AppTokenService } from '../gateway/app-token.service';
import { CallContext, CallRecorder, OUTCOME_NO_ANSWER } from './call-recorder.service';
import { SimControl } from './sim-control.service';

/** What fastify sends for a serialized object; pre-encoded envelopes keep it. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

type RawRequest = FastifyRequest & { rawBody?: Buffer };

/**
 * Runs around every simulated endpoint: notes what was asked (users, page), applies the injected fault,
 * verifies the apim signature of signed calls, applies the legacy success code quirk and records the outcome.
 */
@Injectable()
export class PortalCallInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly recorder: CallRecorder,
    private readonly control: SimControl,
    private readonly tokens: AppTokenService,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const meta = this.reflector.get<SimEndpointMeta | undefined>(SIM_ENDPOINT, context.getHandler());
    if (!meta) return next.handle();
    const req = context.switchToHttp().getRequest<RawRequest>();
    const call: CallContext = this.recorder.context(req.raw) ?? { endpoint: meta.name, startedAt: Date.now() };
    this.describe(meta.name, req.body, call);
    // With latencyAt 'answer', when the answer may leave (performance.now() time); otherwise the latency is over.
    let answerDueAt: number | undefined;
    // How many bytes of a successful answer are sent before the connection is destroyed (none: all of it).
    let cutAfter: number | undefined;
    try {
      const fault = this.control.takeFault(meta.name);
      if (fault) {
        const latency = latencyOf(fault);
        const failing = fails(fault);
        // a call that will be answered (not failed, dropped or hung)
        const answering = !failing && !fault.drop && !fault.hang;
        if (answering) cutAfter = fault.cutAfterBytes;
        if (fault.latencyAt === 'answer' && answering) {
          answerDueAt = performance.now() + latency;
          // Calls that came in together are all taken in (their latency started) before any of them is answered.
          await setImmediatePromise();
        } else {
          const stop = await this.applyFault(fault, latency, failing, meta, req, call);
          if (stop) return stop;
        }
      }
      if (meta.signed) this.tokens.verify(req.headers, queryOf(req.url), req.rawBody?.toString('utf8') ?? '');
    } catch (err) {
      call.outcome = outcomeOf(err);
      throw err;
    }
    const answer = next.handle().pipe(
      map((body: unknown) => this.success(meta, body, call)),
      map((body: unknown) => {
        const bytes = encodeWithRaw(body);
        if (!bytes) return body;
        void context.switchToHttp().getResponse<FastifyReply>().header('content-type', JSON_CONTENT_TYPE);
        return bytes;
      }),
    );
    const due = answerDueAt;
    const timed = due === undefined ? answer : answer.pipe(concatMap((out: unknown) => untilDue(due, out)));
    const cut = cutAfter;
    return (cut === undefined ? timed : timed.pipe(concatMap((out: unknown) => this.sendCut(context, out, cut, call)))).pipe(
      catchError((err: unknown) => {
        call.outcome = outcomeOf(err);
        return throwError(() => err);
      }),
    );
  }

  /**
   * The answer's head and its first `cut` bytes written by hand (the reply taken over from fastify), then the
   * connection destroyed; the call is recorded as not answered.
   */
  private sendCut(context: ExecutionContext, out: unknown, cut: number, call: CallContext): Observable<never> {
    const bytes = Buffer.isBuffer(out) ? out : Buffer.from(JSON.stringify(out));
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    reply.hijack();
    const raw = reply.raw;
    call.outcome = OUTCOME_NO_ANSWER;
    raw.writeHead(200, { 'content-type': JSON_CONTENT_TYPE, 'content-length': bytes.length });
    raw.write(bytes.subarray(0, Math.min(cut, bytes.length)), () => raw.socket?.destroy());
    return NEVER;
  }

  private success(meta: SimEndpointMeta, body: unknown, call: CallContext): unknown {
    const b = body as { code?: number; status?: number };
    if (meta.wire === 'portal' && b.code === 0 && this.control.quirks.legacySuccessCode) {
      call.outcome = 200;
      return { ...b, code: 200 };
    }
    call.outcome = b.code ?? b.status ?? 0;
    return body;
  }

  private describe(endpoint: PortalEndpointName, body: unknown, call: CallContext): void {
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    if (endpoint === 'usersAssetList') {
      if (typeof b.organizationId === 'string') call.orgId = b.organizationId;
      const n = Array.isArray(b.userIds) ? b.userIds.length : 0;
      call.userCount = n;
      this.recorder.addUsers(endpoint, n);
    } else if (endpoint === 'assetList') {
      if (typeof b.orgId === 'string') call.orgId = b.orgId;
      if (typeof b.userId === 'string') call.userId = b.userId;
      const p = b.pagination as { pageNo?: unknown } | undefined;
      const pageNo = typeof p?.pageNo === 'number' ? p.pageNo : 0;
      call.pageNo = pageNo;
      this.recorder.addPage(endpoint, pageNo);
    } else if (endpoint === 'login' && typeof b.account === 'string') {
      call.userId = b.account;
    }
  }

  /** Latency first, then drop, hang or error; resolves to an Observable when the call must not reach its handler. */
  private async applyFault(
    fault: SimFault,
    latency: number,
    failing: boolean,
    meta: SimEndpointMeta,
    req: RawRequest,
    call: CallContext,
  ): Promise<Observable<unknown> | undefined> {
    if (latency > 0) await sleep(latency);
    if (fault.drop) {
      call.outcome = OUTCOME_NO_ANSWER;
      req.raw.socket.destroy();
      return NEVER;
    }
    if (fault.hang) return NEVER;
    if (!failing) return undefined;
    if (fault.httpStatus !== undefined) {
      throw new HttpException({ code: fault.httpStatus, message: STATUS_CODES[fault.httpStatus] ?? 'Error', data: null }, fault.httpStatus);
    }
    throw new PortalError(fault.errorCode!, 'Injected fault', meta.wire, 200);
  }
}

/** `out` once performance.now() reaches `due` (at once when it has). */
async function untilDue<T>(due: number, out: T): Promise<T> {
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  return out;
}

const latencyOf = (fault: SimFault): number => (fault.latencyMs ?? 0) + (fault.latencyJitterMs ? Math.random() * fault.latencyJitterMs : 0);

/** Whether this call fails with the fault's error (drawn once per call). */
const fails = (fault: SimFault): boolean => (fault.errorCode !== undefined || fault.httpStatus !== undefined) && Math.random() < (fault.errorRate ?? 1);

function outcomeOf(err: unknown): number {
  if (err instanceof PortalError) return err.code;
  if (err instanceof HttpException) return err.getStatus();
  return 500;
}

/** The query parameters as sent (decoded; the last value wins when one repeats). */
function queryOf(url: string): Record<string, string> {
  const q = url.indexOf('?');
  if (q < 0) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(url.slice(q + 1))) out[k] = v;
  return out;
}
