import type { ErrorCode, FieldProblem, Problem } from './types';

/** Codes the client itself gives to failures that never reached a problem+json answer. */
export type ClientErrorCode = 'NETWORK_ERROR' | 'BAD_RESPONSE' | 'STREAM_INCOMPLETE' | 'TOKEN_ERROR';

/** Every failure of the client: a problem+json answer of the service, or one of the client's own codes (status 0 then). */
export class AssetBffError extends Error {
  override readonly name = 'AssetBffError';
  readonly status: number;
  readonly code: ErrorCode | ClientErrorCode;
  readonly requestId: string | undefined;
  readonly fields: FieldProblem[];
  /** Seconds the service asked to wait (`Retry-After`), when it did. */
  readonly retryAfterS: number | undefined;
  readonly upstream: Problem['upstream'];

  constructor(init: {
    status: number;
    code: ErrorCode | ClientErrorCode;
    message: string;
    requestId?: string;
    fields?: FieldProblem[];
    retryAfterS?: number;
    upstream?: Problem['upstream'];
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.fields = init.fields ?? [];
    this.retryAfterS = init.retryAfterS;
    this.upstream = init.upstream;
  }

  /** The error of a problem+json body (or of a non-problem answer, as BAD_RESPONSE). */
  static fromProblem(problem: Partial<Problem> | undefined, status: number, headers?: Headers): AssetBffError {
    const retryAfter = headers?.get('retry-after');
    const seconds = retryAfter != null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    return new AssetBffError({
      status,
      code: problem?.code ?? 'BAD_RESPONSE',
      message: problem?.detail ?? problem?.title ?? `HTTP ${status}`,
      requestId: problem?.requestId ?? headers?.get('x-request-id') ?? undefined,
      fields: problem?.fields,
      retryAfterS: seconds,
      upstream: problem?.upstream,
    });
  }
}
