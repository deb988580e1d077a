import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { AppException } from './app.exception';
import { ErrorCode } from './error-code';
import { PROBLEM_CONTENT_TYPE, problemOf } from './problem';

/** HTTP statuses of framework errors (routing, body parsing) mapped to the contract's codes. */
function codeForStatus(status: number, fastifyCode?: string): ErrorCode {
  if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) return ErrorCode.PayloadTooLarge;
  if (status === 415) return ErrorCode.UnsupportedMediaType;
  if (status === 404) return ErrorCode.NotFound;
  if (status === 405) return ErrorCode.MethodNotAllowed;
  if (status === 401) return ErrorCode.Unauthenticated;
  if (status === 403) return ErrorCode.Forbidden;
  if (status === 429) return ErrorCode.RateLimited;
  if (status >= 400 && status < 500) return ErrorCode.ValidationFailed;
  return ErrorCode.Internal;
}

/** Fastify's URL errors (handed over by its `frameworkErrors` option): the path, never echoed. */
const URL_ERRORS: Record<string, string> = {
  FST_ERR_BAD_URL: 'is not a valid URL (bad percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'has a path parameter far over the id length limit',
};

/** What is wrong with a body fastify could not parse, from its (input-free) message. */
function bodyProblem(message: string): string {
  if (/empty/i.test(message)) return 'must not be empty';
  return /JSON/i.test(message) ? 'is not valid JSON' : 'is not a readable request body';
}

/** A 400 naming one field (the framework's own 4xx for a body or a URL it could not read). */
const fieldProblem = (field: string, problem: string) => AppException.validation([{ field, problems: [problem] }]);

/** Any thrown value as the AppException the caller will see. */
export function toAppException(err: unknown): AppException {
  if (err instanceof AppException) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && URL_ERRORS[e.code]) return fieldProblem('path', URL_ERRORS[e.code]);
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = codeForStatus(status);
    // Nest wraps fastify's body parser errors (invalid or empty JSON, bad Content-Length) in an HttpException.
    if (code === ErrorCode.ValidationFailed) return fieldProblem('body', bodyProblem(err.message));
    return new AppException(code, code === ErrorCode.NotFound ? 'No such route' : undefined);
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = codeForStatus(e.statusCode, typeof e.code === 'string' ? e.code : undefined);
    // Body errors fastify raises itself (a bad Content-Length...): say what is wrong with the body, never echo it.
    if (code === ErrorCode.ValidationFailed) return fieldProblem('body', bodyProblem(typeof e.message === 'string' ? e.message : ''));
    return new AppException(code);
  }
  return new AppException(ErrorCode.Internal);
}

/** Logs an error that became INTERNAL, with its stack: the caller sees only its request id, so the log must say the rest. */
export function logIfInternal(err: unknown, e: AppException, requestId: string, logger: Logger): void {
  if (e.code !== ErrorCode.Internal) return;
  logger.error({ requestId, err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err) }, 'unhandled error');
}

/** Writes a problem+json answer (and Retry-After where it applies). */
export function sendProblem(err: unknown, req: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const e = toAppException(err);
  const body = problemOf(e, String(req.id));
  logIfInternal(err, e, String(req.id), logger);
  if (e.extra.retryAfterS !== undefined) reply.header('Retry-After', String(e.extra.retryAfterS));
  // Also for errors raised before the request-id hook ran (fastify's framework errors).
  reply.header('X-Request-Id', String(req.id));
  void reply.status(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/** The one exception filter: every error becomes the contract's application/problem+json. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemFilter');

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendProblem(err, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}
