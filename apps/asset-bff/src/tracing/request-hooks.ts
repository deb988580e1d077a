import { Context, ROOT_CONTEXT, Span, SpanKind, SpanStatusCode, Tracer, context, propagation, trace } from '@opentelemetry/api';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from '@opentelemetry/semantic-conventions';
import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { RequestScope, requestScopeStorage } from './request-scope';
import { Tracing } from './tracing';

/** Routes probed by orchestrators and scrapers: a span each would drown the requests worth a trace. */
const UNTRACED_ROUTES = new Set(['/health/live', '/health/ready', '/metrics']);
/** Span attributes of the service's own (not in the semantic conventions). */
export const ATTR_REQUEST_ID = 'abff.request_id';
export const ATTR_CACHE = 'abff.cache';
export const ATTR_CALLER_KIND = 'abff.caller.kind';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's scope (request id, and server span when traced), entered again where Node loses it. */
    requestScope: RequestScope | null;
  }
}

/**
 * The request scope of every request, and its server span when tracing is on. Installed first among the onRequest
 * hooks, so that the access stage, the handler and everything they call run inside it. The scope is entered
 * again before validation: a request body is read in the socket's own async context, which is not the request's.
 * The server span is named by method and route template and carries the status, the X-Cache result and the
 * caller's kind; never a URL (paths hold ids), a header, a key or a token.
 */
export function installRequestHooks(fastify: FastifyInstance, tracing: Tracing | undefined): void {
  fastify.decorateRequest('requestScope', null);
  const tracer = tracing?.tracer;
  fastify.addHook('onRequest', (req, _reply, done) => {
    const scope = tracer ? tracedScope(tracer, req) : { requestId: String(req.id) };
    req.requestScope = scope;
    enter(scope, done);
  });
  fastify.addHook('preValidation', (req, _reply, done) => {
    const scope = req.requestScope;
    if (scope === null || requestScopeStorage.getStore() === scope) done();
    else enter(scope, done);
  });
  if (!tracing) return;
  new Logger('Tracing').log(`tracing on: ${tracing.summary}`);
  fastify.addHook('onResponse', (req, reply, done) => {
    endSpan(req, reply);
    done();
  });
  fastify.addHook('onRequestAbort', (req, done) => {
    req.requestScope?.span?.setAttribute('abff.aborted', true);
    req.requestScope?.span?.end();
    done();
  });
  // Buffered spans leave before the process does.
  fastify.addHook('onClose', async () => tracing.shutdown());
}

function enter(scope: RequestScope, done: HookHandlerDoneFunction): void {
  if (scope.context) context.with(scope.context, () => requestScopeStorage.run(scope, done));
  else requestScopeStorage.run(scope, done);
}

/** A server span, child of the caller's `traceparent` when it sent one (the sampler decides on that parent). */
function tracedScope(tracer: Tracer, req: FastifyRequest): RequestScope {
  const requestId = String(req.id);
  const route = req.routeOptions.url;
  if (route !== undefined && UNTRACED_ROUTES.has(route)) return { requestId };
  const parent: Context = propagation.extract(ROOT_CONTEXT, req.headers);
  const span: Span = tracer.startSpan(
    route === undefined ? req.method : `${req.method} ${route}`,
    {
      kind: SpanKind.SERVER,
      attributes: { [ATTR_HTTP_REQUEST_METHOD]: req.method, [ATTR_HTTP_ROUTE]: route ?? 'unmatched', [ATTR_REQUEST_ID]: requestId },
    },
    parent,
  );
  return { requestId, span, context: trace.setSpan(parent, span) };
}

function endSpan(req: FastifyRequest, reply: FastifyReply): void {
  const span = req.requestScope?.span;
  if (!span) return;
  const status = reply.statusCode;
  span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  const cache = reply.getHeader('x-cache');
  if (typeof cache === 'string') span.setAttribute(ATTR_CACHE, cache);
  if (req.caller) span.setAttribute(ATTR_CALLER_KIND, req.caller.kind);
  // Server spans: 5xx only is an error (a 4xx is the caller's, per the HTTP semantic conventions).
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
