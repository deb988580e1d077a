import { Injectable } from '@nestjs/common';
import { IncomingMessage, ServerResponse } from 'node:http';
import { PortalEndpointName, PortalPaths } from '@app/portal-contracts';
import { SimCallRecord, SimCounters, SimEndpointCounter } from '@app/sim-contracts';
import { preciseNow } from '../common/clock';

/** Most recent calls kept in the log. */
const LOG_LIMIT = 2_000;
/** Most page numbers kept per endpoint (benchmarks make millions of calls). */
const PAGES_LIMIT = 100_000;
/** Outcome of a call whose connection closed without an answer (drop, or a hang the client gave up on). */
export const OUTCOME_NO_ANSWER = -1;

/** What the simulator knows about a call in flight. */
export interface CallContext {
  endpoint: PortalEndpointName;
  startedAt: number;
  orgId?: string;
  userId?: string;
  userCount?: number;
  pageNo?: number;
  outcome?: number;
  /** The caller's correlation headers, as sent. */
  requestId?: string;
  traceparent?: string;
}

/** The first value of a header, if it is a string (Node joins or lists repeated ones). */
const headerOf = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

const ENDPOINT_BY_PATH = new Map<string, PortalEndpointName>(
  (Object.entries(PortalPaths) as [string, string][]).filter(([name]) => name !== 'jwks').map(([name, path]) => [path, name as PortalEndpointName]),
);

const ENDPOINTS = [...ENDPOINT_BY_PATH.values()];

/** Counters and the bounded call log of the portal endpoints (never of the admin API). */
@Injectable()
export class CallRecorder {
  private counters = freshCounters();
  private log: SimCallRecord[] = [];
  private readonly contexts = new WeakMap<IncomingMessage, CallContext>();

  /** fastify onRequest: counts every call to a portal endpoint, even one rejected before its handler runs. */
  onArrival(req: IncomingMessage, res: ServerResponse): void {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q >= 0 ? req.url!.slice(0, q) : (req.url ?? '');
    const endpoint = ENDPOINT_BY_PATH.get(path);
    if (!endpoint) return;
    const ctx: CallContext = { endpoint, startedAt: preciseNow(), requestId: headerOf(req, 'x-request-id'), traceparent: headerOf(req, 'traceparent') };
    this.contexts.set(req, ctx);
    this.counters[endpoint].calls += 1;
    res.once('close', () => this.finish(ctx, res));
  }

  context(req: IncomingMessage): CallContext | undefined {
    return this.contexts.get(req);
  }

  addUsers(endpoint: PortalEndpointName, n: number): void {
    this.counters[endpoint].users += n;
  }

  addPage(endpoint: PortalEndpointName, pageNo: number): void {
    const pages = this.counters[endpoint].pages;
    if (pages.length < PAGES_LIMIT) pages.push(pageNo);
  }

  snapshot(): SimCounters {
    const endpoints = {} as Record<PortalEndpointName, SimEndpointCounter>;
    for (const e of ENDPOINTS) endpoints[e] = { ...this.counters[e], pages: [...this.counters[e].pages] };
    return { endpoints, log: [...this.log] };
  }

  reset(): void {
    this.counters = freshCounters();
    this.log = [];
  }

  private finish(ctx: CallContext, res: ServerResponse): void {
    const outcome = ctx.outcome ?? (res.writableFinished ? res.statusCode : OUTCOME_NO_ANSWER);
    const rec: SimCallRecord = { endpoint: ctx.endpoint, startedAt: ctx.startedAt, finishedAt: preciseNow(), outcome };
    if (ctx.orgId !== undefined) rec.orgId = ctx.orgId;
    if (ctx.userId !== undefined) rec.userId = ctx.userId;
    if (ctx.userCount !== undefined) rec.userCount = ctx.userCount;
    if (ctx.pageNo !== undefined) rec.pageNo = ctx.pageNo;
    if (ctx.requestId !== undefined) rec.requestId = ctx.requestId;
    if (ctx.traceparent !== undefined) rec.traceparent = ctx.traceparent;
    this.log.push(rec);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
  }
}

function freshCounters(): Record<PortalEndpointName, SimEndpointCounter> {
  const c = {} as Record<PortalEndpointName, SimEndpointCounter>;
  for (const e of ENDPOINTS) c[e] = { calls: 0, users: 0, pages: [] };
  return c;
}
