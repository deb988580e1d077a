import { Context, Link, Span, SpanKind, SpanStatusCode, Tracer, createContextKey, propagation, trace } from '@opentelemetry/api';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { PortalCallOutcome } from './portal-client.types';
import type { PortalFailure } from './portal-error';

/** Span attributes of the client's own (not in the semantic conventions). */
const ATTR_ENDPOINT = 'abff.portal.endpoint';
const ATTR_OUTCOME = 'abff.portal.outcome';
const ATTR_CODE = 'abff.portal.code';
const ATTR_SHARED_BY = 'abff.portal.shared_by';

/** Host and port of the portal's gateway, as client spans name it. */
export interface PortalServer {
  address: string;
  port: number;
}

/** The gateway's host and port from its base URL. */
export function portalServer(baseUrl: string): PortalServer {
  const url = new URL(baseUrl);
  return { address: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
}

/** The other requests a shared call serves (their spans), carried in the context the call starts in. */
const SERVED_REQUESTS = createContextKey('abff.portal.served-requests');

/** The context with the spans of the other requests a call started in it serves (its client spans link to them). */
export function servingRequests(ctx: Context, links: Link[]): Context {
  return links.length ? ctx.setValue(SERVED_REQUESTS, links) : ctx;
}

/** A link to the active span of `ctx`, when it has a sampled or recording one. */
export function linkTo(ctx: Context): Link | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && trace.isSpanContextValid(sc) ? { context: sc } : undefined;
}

/**
 * A client span for one HTTP exchange with the portal, child of `parent`, linked to the other requests the call serves;
 * its `traceparent` is written into `headers`. Attributes name the method, the fixed path (no query: it holds keys)
 * and the endpoint, never a header value.
 */
export function startCallSpan(
  tracer: Tracer,
  parent: Context,
  call: { endpoint: string; method: string; path: string },
  server: PortalServer,
  headers: Record<string, string>,
): Span {
  const links = (parent.getValue(SERVED_REQUESTS) as Link[] | undefined) ?? [];
  const span = tracer.startSpan(
    `${call.method} ${call.endpoint}`,
    {
      kind: SpanKind.CLIENT,
      links,
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: call.method,
        [ATTR_URL_PATH]: call.path,
        [ATTR_SERVER_ADDRESS]: server.address,
        [ATTR_SERVER_PORT]: server.port,
        [ATTR_ENDPOINT]: call.endpoint,
        ...(links.length ? { [ATTR_SHARED_BY]: links.length + 1 } : {}),
      },
    },
    parent,
  );
  propagation.inject(trace.setSpan(parent, span), headers);
  return span;
}

/** Ends a call's span with what came back: HTTP status, envelope code, outcome; an error unless the portal answered. */
export function endCallSpan(span: Span, status: number | string, outcome: PortalCallOutcome, failure: PortalFailure | undefined): void {
  if (typeof status === 'number') span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
  span.setAttribute(ATTR_OUTCOME, outcome);
  if (failure && (failure.type === 'envelope' || failure.type === 'gateway')) span.setAttribute(ATTR_CODE, failure.code);
  // A business answer (31404...) is the portal working; anything else failed the call.
  if (failure && failure.type !== 'envelope') {
    span.setAttribute(ATTR_ERROR_TYPE, failure.type === 'network' ? failure.reason : failure.type);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

/** Runs `fn` in an active internal span (a page merge), ended when it settles; `fn` may add attributes. */
export function inSpan<T>(tracer: Tracer, name: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw err;
    } finally {
      span.end();
    }
  });
}
