/** Every error code a caller can receive, with its HTTP status (API.md section 3). */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  Unauthenticated = 'UNAUTHENTICATED',
  Forbidden = 'FORBIDDEN',
  NotFound = 'NOT_FOUND',
  AssetNotAccessible = 'ASSET_NOT_ACCESSIBLE',
  UserNotFound = 'USER_NOT_FOUND',
  OrgNotFound = 'ORG_NOT_FOUND',
  MethodNotAllowed = 'METHOD_NOT_ALLOWED',
  OuNotSelected = 'OU_NOT_SELECTED',
  CursorStale = 'CURSOR_STALE',
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited = 'RATE_LIMITED',
  Internal = 'INTERNAL',
  UpstreamPermissionMissing = 'UPSTREAM_PERMISSION_MISSING',
  UpstreamRejected = 'UPSTREAM_REJECTED',
  UpstreamBadResponse = 'UPSTREAM_BAD_RESPONSE',
  UpstreamUnavailable = 'UPSTREAM_UNAVAILABLE',
  ShuttingDown = 'SHUTTING_DOWN',
  CacheUnavailable = 'CACHE_UNAVAILABLE',
  UpstreamTimeout = 'UPSTREAM_TIMEOUT',
}

/** HTTP status and title of each code: one exhaustive switch, so a new code cannot go unmapped. */
export function describeCode(code: ErrorCode): { status: number; title: string } {
  switch (code) {
    case ErrorCode.ValidationFailed:
      return { status: 400, title: 'Request validation failed' };
    case ErrorCode.Unauthenticated:
      return { status: 401, title: 'Missing or invalid credentials' };
    case ErrorCode.Forbidden:
      return { status: 403, title: 'Not allowed' };
    case ErrorCode.NotFound:
      return { status: 404, title: 'Not found' };
    case ErrorCode.AssetNotAccessible:
      return { status: 404, title: 'The user cannot access this asset' };
    case ErrorCode.UserNotFound:
      return { status: 404, title: 'User not found in the OU' };
    case ErrorCode.OrgNotFound:
      return { status: 404, title: 'OU not found' };
    case ErrorCode.MethodNotAllowed:
      return { status: 405, title: 'Method not allowed' };
    case ErrorCode.OuNotSelected:
      return { status: 409, title: 'The user has not selected an OU' };
    case ErrorCode.CursorStale:
      return { status: 409, title: 'The asset set changed since the cursor was cut' };
    case ErrorCode.PayloadTooLarge:
      return { status: 413, title: 'Request body too large' };
    case ErrorCode.UnsupportedMediaType:
      return { status: 415, title: 'Unsupported media type' };
    case ErrorCode.RateLimited:
      return { status: 429, title: 'Too many requests' };
    case ErrorCode.Internal:
      return { status: 500, title: 'Internal error' };
    case ErrorCode.UpstreamPermissionMissing:
      return { status: 502, title: 'The application lacks a portal permission' };
    case ErrorCode.UpstreamRejected:
      return { status: 502, title: 'The portal rejected the request' };
    case ErrorCode.UpstreamBadResponse:
      return { status: 502, title: 'The portal answered something unreadable' };
    case ErrorCode.UpstreamUnavailable:
      return { status: 503, title: 'The portal is unavailable' };
    case ErrorCode.ShuttingDown:
      return { status: 503, title: 'The service is shutting down' };
    case ErrorCode.CacheUnavailable:
      return { status: 503, title: 'The shared cache is unavailable; the invalidation was not recorded' };
    case ErrorCode.UpstreamTimeout:
      return { status: 504, title: 'The portal did not answer in time' };
  }
}
