import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { AccessConfig } from './access.decorator';
import { AuthService } from './auth.service';

/**
 * The request pipeline's access stage, as one fastify onRequest hook: authentication (401), the rate limit (429), then
 * the route's rule against its :orgId/:userId (403), before the body is read and before any cache read or upstream
 * call. The limit comes before the rule, so a caller's refused requests count too and carry its RateLimit headers;
 * answers that count for no caller (public routes, a 401) keep the uncounted policy every answer starts with (main.ts). A fastify hook rather than Nest
 * guards: it runs once per request with no execution context to build, on every
 * route alike. Routes without a rule are fastify's own (the Swagger UI, the 404 handler): assertRouteHasAccess makes
 * sure no controller route is among them.
 */
export function accessHook(auth: AuthService, limits: RateLimitService): onRequestAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const rule = accessOf(req);
    if (rule === undefined || rule === 'public') return;
    const caller = await auth.authenticate(req);
    req.caller = caller;
    if (limits.enabled) await limits.enforce(caller, (headers) => reply.headers(headers));
    auth.authorize(caller, rule, req.params as Record<string, string | undefined>);
  };
}

/** The route's access rule (@Access or @Public), undefined on routes that are not the service's controllers'. */
export const accessOf = (req: FastifyRequest): AccessConfig['access'] => (req.routeOptions.config as AccessConfig).access;

/**
 * For fastify's onRoute: every route but the docs and CORS preflights (answered by @fastify/cors) must declare its
 * callers, or the service does not start.
 */
export function assertRouteHasAccess(route: { url: string; method: string | string[]; config?: unknown }, isDocs: (url: string) => boolean): void {
  const preflight = route.method === 'OPTIONS' || (Array.isArray(route.method) && route.method.every((m) => m === 'OPTIONS'));
  if (!preflight && !isDocs(route.url) && (route.config as AccessConfig | undefined)?.access === undefined) {
    throw new Error(`route ${String(route.method)} ${route.url} declares no callers: add @Access(...) or @Public()`);
  }
}
