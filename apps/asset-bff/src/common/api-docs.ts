import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiQuery, ApiResponse, getSchemaPath, OpenAPIObject } from '@nestjs/swagger';
import type { HeaderObject, OperationObject, ParameterObject, ReferenceObject, SchemaObject } from '@nestjs/swagger';
import { MAX_CURSOR_LENGTH, MAX_PAGE_LIMIT, MAX_QUERY_LENGTH } from '../assets/page-query';
import { ID_PATTERN } from './ids';
import { LANG_TAG_PATTERN } from './i18n';
import { MAX_LANG } from './read-query';
import { ProblemDto } from './problem.dto';

/** What validation enforces on every id (path parameters, ids in bodies), as a schema. */
export const ID_SCHEMA = { type: 'string' as const, pattern: ID_PATTERN.source, minLength: 1, maxLength: 128 };

const DESCRIPTIONS: Record<number, string> = {
  400: 'VALIDATION_FAILED: the offending fields are listed',
  401: 'UNAUTHENTICATED: missing or invalid X-Api-Key / bearer token',
  403: 'FORBIDDEN: valid credentials, wrong OU, user or scope',
  404: 'Not found (USER_NOT_FOUND, ORG_NOT_FOUND, ASSET_NOT_ACCESSIBLE)',
  409: 'CURSOR_STALE (list reads: the set changed since the cursor was cut; read again from the first page) or OU_NOT_SELECTED (the portal answered 31512)',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED, with Retry-After',
  502: 'UPSTREAM_PERMISSION_MISSING, UPSTREAM_REJECTED or UPSTREAM_BAD_RESPONSE',
  503: 'UPSTREAM_UNAVAILABLE (or CACHE_UNAVAILABLE on invalidation, SHUTTING_DOWN while the instance closes), with Retry-After',
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

/** Documents If-None-Match and the 304 of a GET read route (its 200 and 304 headers are added by finishApiDocument). */
export function ApiConditional(): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description: 'ETags of copies the caller holds (a list, or `*`; weak comparison): 304 when one is current',
    }),
    ApiResponse({ status: 304, description: 'Not Modified: the ETag named in If-None-Match is current; no body' }),
  );
}

/** Documents the X-Consistency-Token request header of a read. */
export function ApiConsistent(): MethodDecorator {
  return ApiHeader({
    name: 'X-Consistency-Token',
    required: false,
    description: 'The token of an earlier answer or invalidation: the answer is made only from data at least as fresh (400 when malformed or forged)',
  });
}

/** Documents the `lang` query of the reads, as parseReadQuery checks it. */
export function ApiLang(): MethodDecorator {
  return ApiQuery({
    name: 'lang',
    required: false,
    schema: { type: 'string', maxLength: MAX_LANG, pattern: LANG_TAG_PATTERN },
    description: 'Language of `name`, e.g. zh_CN or en (else Accept-Language, then the default name)',
  });
}

/** Documents limit, cursor and q of the list reads. */
export function ApiPaged(): MethodDecorator {
  return applyDecorators(
    ApiQuery({
      name: 'limit',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: MAX_PAGE_LIMIT },
      description: 'Page size: the answer then holds nextCursor',
    }),
    ApiQuery({
      name: 'cursor',
      required: false,
      schema: { type: 'string', minLength: 1, maxLength: MAX_CURSOR_LENGTH },
      description: 'nextCursor of the previous page (bound to the OU, user and query; 409 CURSOR_STALE when the set changed)',
    }),
    ApiQuery({
      name: 'q',
      required: false,
      schema: { type: 'string', minLength: 1, maxLength: MAX_QUERY_LENGTH },
      description: 'Keep only assets whose id or localized name contains it (case-insensitive); total counts them',
    }),
  );
}

/** Response headers of the service, referenced from components.headers. */
const HEADERS: Record<string, HeaderObject> = {
  'X-Request-Id': { description: "The caller's X-Request-Id when it is a sane token, else a new one", schema: { type: 'string' } },
  'RateLimit-Limit': { description: 'Requests per second allowed to the caller (with RATE_LIMIT_PER_S)', schema: { type: 'integer' } },
  'RateLimit-Remaining': { description: 'Requests left in the current window', schema: { type: 'integer', minimum: 0 } },
  'RateLimit-Reset': { description: 'Seconds until the window ends', schema: { type: 'integer', minimum: 0 } },
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 1 } },
  ETag: { description: 'Weak entity tag of the answer: the same body has the same tag on every instance and in every coding', schema: { type: 'string' } },
  'Cache-Control': { description: '`private, no-cache`: keep, but revalidate with If-None-Match', schema: { type: 'string' } },
  Vary: { description: '`Accept-Encoding, Accept-Language`', schema: { type: 'string' } },
  'X-Cache': {
    description: 'How the cached read was answered (the tree is never cached: MISS; a batch: its least fresh user); not on an NDJSON stream',
    schema: { type: 'string', enum: ['HIT', 'MISS', 'STALE'] },
  },
  Age: { description: 'Seconds since the data was read from the portal; not on an NDJSON stream', schema: { type: 'integer', minimum: 0 } },
  'X-Consistency-Token': {
    description: 'Send it back as X-Consistency-Token to read data at least as fresh as this answer (or invalidation)',
    schema: { type: 'string' },
  },
  'Content-Encoding': {
    description: '`br` or `gzip` when Accept-Encoding allows one and the body is at least 1 KB; absent (identity) otherwise',
    schema: { type: 'string', enum: ['br', 'gzip'] },
  },
  Trailer: {
    description: '`X-Consistency-Token` on an NDJSON stream: the exact token follows the last line as an HTTP trailer',
    schema: { type: 'string' },
  },
};
/** The Accept-Encoding request header, on every operation (any answer of at least 1 KB is compressed). */
const ACCEPT_ENCODING: ParameterObject = {
  name: 'Accept-Encoding',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'br and gzip are offered, by q-value (br on a tie); unknown codings are ignored',
};
const RATE_LIMIT = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'];
const METHODS = ['get', 'post', 'delete'] as const;

const isRef = (v: object): v is ReferenceObject => '$ref' in v;

/**
 * Completes the generated document with what decorators cannot say once for all routes: the response headers each
 * answer carries, id schemas of path parameters, `additionalProperties: false` on request bodies (unknown fields are
 * rejected), explicit `security: []` on public routes and a server.
 */
export function finishApiDocument(doc: OpenAPIObject): OpenAPIObject {
  const components = (doc.components ??= {});
  components.headers = { ...HEADERS };
  const schemas = components.schemas ?? {};
  doc.servers = [{ url: '/', description: 'this service' }];
  for (const item of Object.values(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) finishOperation(op, method, schemas);
    }
  }
  return doc;
}

function finishOperation(op: OperationObject, method: (typeof METHODS)[number], schemas: Record<string, SchemaObject | ReferenceObject>): void {
  const isPublic = op.security === undefined;
  if (isPublic) op.security = [];
  op.parameters = [...(op.parameters ?? []), { ...ACCEPT_ENCODING }];
  const params = op.parameters.filter((p): p is ParameterObject => !isRef(p));
  for (const p of params) if (p.in === 'path') p.schema = { ...ID_SCHEMA };
  const headerParams = new Set(params.filter((p) => p.in === 'header').map((p) => p.name));
  for (const [status, response] of Object.entries(op.responses)) {
    if (!response || isRef(response)) continue;
    // RateLimit-* are on every answer while a limit is set, public routes' included (uncounted there).
    const names = ['X-Request-Id', ...RATE_LIMIT];
    if (status === '429' || status === '503') names.push('Retry-After');
    const ok = status === '200' || status === '304';
    // Every conditional GET carries X-Cache and Age (API.md), the tree's too, though it is never cached (always MISS).
    if (ok && headerParams.has('If-None-Match')) names.push('ETag', 'Cache-Control', 'Vary', 'X-Cache', 'Age');
    else if (ok && headerParams.has('Cache-Control')) names.push('X-Cache', 'Age');
    if ((ok && headerParams.has('X-Consistency-Token')) || (status === '204' && method === 'delete')) names.push('X-Consistency-Token');
    // A body of at least 1 KB may come compressed, errors included (a 304 and a 204 have none).
    if (status !== '304' && status !== '204') names.push('Content-Encoding');
    // The NDJSON form is lines of text, not the JSON answer's object (the lines are described on the response).
    const lines = response.content?.['application/x-ndjson'];
    if (lines) {
      lines.schema = { type: 'string', description: 'One JSON object per line: {"asset": …}, {"user": …}, then {"end": …} or {"error": …}' };
      names.push('Trailer');
    }
    response.headers = { ...(response.headers ?? {}), ...Object.fromEntries(names.map((n) => [n, { $ref: `#/components/headers/${n}` }])) };
  }
  const body = op.requestBody && !isRef(op.requestBody) ? op.requestBody.content['application/json']?.schema : undefined;
  if (body) closeSchema(schemas, body, new Set());
}

/** Sets additionalProperties: false on a request body's object schemas, following $refs and array items. */
function closeSchema(schemas: Record<string, SchemaObject | ReferenceObject>, schema: SchemaObject | ReferenceObject, seen: Set<object>): void {
  const target = isRef(schema) ? schemas[schema.$ref.split('/').pop() as string] : schema;
  if (!target || isRef(target) || seen.has(target)) return;
  seen.add(target);
  if (target.type === 'object' || target.properties) target.additionalProperties = false;
  for (const p of Object.values(target.properties ?? {})) closeSchema(schemas, p, seen);
  if (target.items) closeSchema(schemas, target.items, seen);
}
