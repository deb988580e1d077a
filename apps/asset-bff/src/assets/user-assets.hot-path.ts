import { Logger } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessRule } from '../auth/access.decorator';
import { AuthService } from '../auth/auth.service';
import { endWith } from '../common/answer-bytes';
import { answeredOf, callerOf, prefsFrom, prefsOf, wantsBypass } from '../common/http';
import { LangPrefs } from '../common/i18n';
import { sendProblem } from '../common/problem.filter';
import { isId } from '../common/ids';
import { Problems } from '../common/validation';
import { RateLimitService } from '../rate-limit/rate-limit.service';
import { AssetsService, CachedBody } from './assets.service';

/** Who may read one user's assets: a key with assets:read for the OU, or the user itself. */
export const USER_ASSETS_RULE: AccessRule = { scope: 'assets:read', users: 'self' };
/** Who may read /v1/me/assets: user callers only. */
export const MY_ASSETS_RULE: AccessRule = { users: 'self' };

const USER_ASSETS_ROUTE = '/v1/orgs/:orgId/users/:userId/assets';
const MY_ASSETS_ROUTE = '/v1/me/assets';
export const JSON_TYPE = 'application/json; charset=utf-8';
/** The user-assets path spelled out; anything else (percent-escapes, other characters) takes the router. */
const USER_ASSETS_PATH = /^\/v1\/orgs\/([A-Za-z0-9_.:-]{1,128})\/users\/([A-Za-z0-9_.:-]{1,128})\/assets$/;

/** content-type and `security`, then X-Request-Id, X-Cache, Age and Content-Length with their values left empty. */
function answerHeaderList(security: Record<string, string>): string[] {
  return ['content-type', JSON_TYPE, ...Object.entries(security).flat(), 'x-request-id', '', 'x-cache', '', 'age', '', 'content-length', ''];
}

/** What the raw path reports of each answer it wrote (the metrics and access log of fastify's onResponse hook). */
export type HotAnswered = (req: IncomingMessage, route: string, status: number, ms: number) => void;

/**
 * The hot read, answered from a Fastify onRequest hook instead of the Nest pipeline: the same
 * authentication and authorization (AuthService), rate limit, validation, service call and problem+json
 * errors as the controller, without the per-request framework work (router context, guards, pipes,
 * middleware) that would otherwise dominate a cached read. Requests with an Origin header (CORS) go
 * through the full pipeline.
 */
export class UserAssetsHotPath {
  private readonly logger = new Logger('UserAssetsHotPath');
  private securityHeaders: Record<string, string> = {};
  /**
   * An answer's headers as a flat [name, value, ...] list for writeHead: content-type and the security headers, built
   * once, then X-Request-Id, X-Cache, Age and Content-Length, whose values writeAnswerHead fills in for each answer.
   */
  private answerHeaders = answerHeaderList({});

  constructor(
    private readonly auth: AuthService,
    private readonly limits: RateLimitService,
    private readonly assets: AssetsService,
  ) {}

  /** Registers the hook; it must run before the other onRequest hooks (request id, helmet, CORS). */
  install(fastify: FastifyInstance): void {
    fastify.addHook('onRequest', (req, reply, done) => {
      const route = req.routeOptions.url;
      if (req.method !== 'GET' || (route !== USER_ASSETS_ROUTE && route !== MY_ASSETS_ROUTE) || req.headers.origin !== undefined) {
        done();
        return;
      }
      void this.serve(req, reply, route === MY_ASSETS_ROUTE);
    });
  }

  /**
   * The hottest case, answered before fastify routes the request at all (from the HTTP server's request
   * handler): a GET of one user's assets by a service caller with a valid API key, allowed by the route's
   * rule, rate limit off, no Cache-Control: no-cache, whose serialized body is in process (a HIT). It runs the
   * same key check, access rule, id and `lang` validation and body lookup as serve(), then writes the same
   * headers and bytes. Any other case (an error, a bearer token, a miss, CORS, HEAD, an odd URL) returns
   * false having written nothing, and the request takes the ordinary route, which answers it in full.
   */
  tryRaw(raw: IncomingMessage, res: ServerResponse, requestId: (raw: IncomingMessage) => string, answered: HotAnswered): boolean {
    if (raw.method !== 'GET' || this.limits.enabled || raw.headers.origin !== undefined) return false;
    const key = raw.headers['x-api-key'];
    if (typeof key !== 'string' || wantsBypass(raw)) return false;
    const url = raw.url ?? '';
    const q = url.indexOf('?');
    const m = USER_ASSETS_PATH.exec(q < 0 ? url : url.slice(0, q));
    if (!m) return false;
    const started = performance.now();
    const caller = this.auth.verifyKey(key);
    if (!caller) return false;
    const orgId = m[1];
    const userId = m[2];
    let prefs: LangPrefs;
    try {
      this.auth.authorize(caller, USER_ASSETS_RULE, { orgId, userId });
      prefs = prefsFrom(q < 0 ? {} : parseQuery(url.slice(q + 1)), raw);
    } catch {
      return false;
    }
    const r = this.assets.peekBody(orgId, userId, prefs);
    if (!r) return false;
    this.writeAnswerHead(res, requestId(raw), r);
    endWith(res, r.body);
    answered(raw, USER_ASSETS_ROUTE, 200, performance.now() - started);
    return true;
  }

  /** The security headers the full pipeline adds (captured from it once at start-up), added to every hot answer. */
  useSecurityHeaders(headers: Record<string, string>): void {
    this.securityHeaders = headers;
    this.answerHeaders = answerHeaderList(headers);
  }

  /** A 200's head: the headers list filled in place (writeHead reads it and keeps nothing of it). */
  private writeAnswerHead(res: ServerResponse, id: string, r: CachedBody): void {
    const out = this.answerHeaders;
    const at = out.length - 8;
    out[at + 1] = id;
    out[at + 3] = r.status;
    out[at + 5] = String(Math.max(0, Math.floor(r.ageS)));
    out[at + 7] = String(r.body.length);
    res.writeHead(200, out);
  }

  private async serve(req: FastifyRequest, reply: FastifyReply, mine: boolean): Promise<void> {
    try {
      const params = (req.params ?? {}) as Record<string, string | undefined>;
      req.caller = this.auth.authenticateKey(req) ?? (await this.auth.authenticate(req));
      this.auth.authorize(req.caller, mine ? MY_ASSETS_RULE : USER_ASSETS_RULE, params);
      if (this.limits.enabled) await this.limits.enforce(req.caller);
      let orgId: string;
      let userId: string;
      if (mine) {
        const me = callerOf(req);
        orgId = me.kind === 'user' ? (me.orgId as string) : '';
        userId = me.kind === 'user' ? me.userId : '';
      } else {
        if (!isId(params.orgId) || !isId(params.userId)) {
          const p = new Problems();
          p.id(params.orgId, 'orgId');
          p.id(params.userId, 'userId');
          p.throwIfAny();
        }
        orgId = params.orgId as string;
        userId = params.userId as string;
      }
      const prefs = prefsOf(req);
      const bypass = wantsBypass(req);
      const r = (!bypass && this.assets.peekBody(orgId, userId, prefs)) || (await this.assets.listBody(orgId, userId, prefs, bypass, answeredOf(reply)));
      // Written straight to the socket's response: the headers are known and the body is bytes already, so
      // fastify's send path (header merging, onSend, serialization checks) has nothing to add. onResponse
      // hooks (metrics, access log) still run on 'finish'.
      reply.hijack();
      this.writeAnswerHead(reply.raw, String(req.id), r);
      endWith(reply.raw, r.body);
    } catch (err) {
      reply.header('X-Request-Id', req.id);
      reply.headers(this.securityHeaders);
      sendProblem(err, req, reply, this.logger);
    }
  }
}
