import type { IncomingHttpHeaders } from 'node:http';
import { FastifyReply, FastifyRequest } from 'fastify';
import { CacheStatus } from '@app/asset-cache';
import { AppException } from './app.exception';
import { ErrorCode } from './error-code';
import { LangPrefs, langPrefs } from './i18n';
import { parseReadQuery } from './read-query';
import { Caller, UserCaller } from '../auth/caller';

/** What the helpers below read of a request: a fastify request, or a raw node one (the hot path's). */
type WithHeaders = { headers: IncomingHttpHeaders };

/** True when the caller sent Cache-Control: no-cache (skip the cached copy, store the fresh result). */
export function wantsBypass(req: WithHeaders): boolean {
  const cc = req.headers['cache-control'];
  return typeof cc === 'string' && cc.toLowerCase().includes('no-cache');
}

/** The caller's language preferences from a validated `lang` query or Accept-Language. */
export function prefsOf(req: FastifyRequest): LangPrefs {
  return prefsFrom(req.query as Record<string, unknown>, req);
}

/** prefsOf for a query already parsed by the caller; throws VALIDATION_FAILED naming `lang`. */
export function prefsFrom(query: Record<string, unknown>, req: WithHeaders): LangPrefs {
  const { lang } = parseReadQuery(query);
  const al = req.headers['accept-language'];
  return langPrefs(lang, typeof al === 'string' ? al : undefined);
}

/** Sets X-Cache and Age on a cached read. */
export function cacheHeaders(reply: FastifyReply, status: CacheStatus, ageS: number): void {
  reply.header('X-Cache', status);
  reply.header('Age', String(Math.max(0, Math.floor(ageS))));
}

/** The authenticated caller (set by the access hook). */
export function callerOf(req: FastifyRequest): Caller {
  if (!req.caller) throw new AppException(ErrorCode.Unauthenticated);
  return req.caller;
}

/** The authenticated user caller with an OU (for /v1/me and the tree). */
export function userCallerOf(req: FastifyRequest): UserCaller {
  const c = callerOf(req);
  if (c.kind !== 'user') throw new AppException(ErrorCode.Forbidden, 'This route is for user callers only');
  return c;
}

/** A JSON answer encoded once to bytes (fastify would otherwise measure and then encode the string). */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Sends JSON bytes (from jsonBytes, or a prepared answer); not awaited, as in sendRead. */
export function sendJsonBytes(reply: FastifyReply, body: Buffer): void {
  reply.type('application/json; charset=utf-8').send(body);
}

/** Sends a JSON answer encoded once to bytes. */
export function sendJson(reply: FastifyReply, value: unknown): void {
  sendJsonBytes(reply, jsonBytes(value));
}
