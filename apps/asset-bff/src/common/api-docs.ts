import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ProblemDto } from './problem.dto';

const DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED: the offending fields are listed',
  401: 'UNAUTHENTICATED: missing or invalid X-Api-Key / bearer token',
  403: 'FORBIDDEN: valid credentials, wrong OU, user or scope',
  404: 'Not found (USER_NOT_FOUND, ORG_NOT_FOUND, ASSET_NOT_ACCESSIBLE)',
  409: 'OU_NOT_SELECTED: the user token has no OU',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED, with Retry-After',
  502: 'UPSTREAM_PERMISSION_MISSING, UPSTREAM_REJECTED or UPSTREAM_BAD_RESPONSE',
  503: 'UPSTREAM_UNAVAILABLE (or CACHE_UNAVAILABLE on invalidation), with Retry-After',
  504: 'UPSTREAM_TIMEOUT',
};

/** Documents the problem+json answers of a route. */
export function ApiProblems(...statuses: number[]): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(ProblemDto),
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'Error',
        content: { 'application/problem+json': { schema: { $ref: getSchemaPath(ProblemDto) } } },
      }),
    ),
  );
}

/** Documents the cache headers of a cached read and the Cache-Control request header. */
export function ApiCached(): MethodDecorator {
  return applyDecorators(
    ApiHeader({ name: 'Cache-Control', required: false, description: '`no-cache` skips the cached copy (the fresh result is stored)' }),
    ApiHeader({ name: 'Accept-Language', required: false, description: 'Used for `name` when `lang` is absent' }),
  );
}

export const READ_ERRORS = [400, 401, 403, 404, 429, 502, 503, 504];
