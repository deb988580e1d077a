import { GatewayCode, PortalCode } from '@app/portal-contracts';
import { PortalErrorKind } from './portal-client.types';

/** Which entity a 31404 most likely refers to (best effort, from the endpoint). */
export type PortalNotFoundSubject = 'user' | 'org' | 'app' | 'resource';

/** The one error the client throws: what went wrong upstream, never carrying a secret, token or signature. */
export class PortalError extends Error {
  override readonly name = 'PortalError';
  readonly kind: PortalErrorKind;
  /** Envelope or gateway code, when the portal answered one. */
  readonly upstreamCode?: number;
  /** The portal's own message for that code. */
  readonly upstreamMessage?: string;
  /** Logical endpoint name, e.g. 'assetList'. */
  readonly endpoint: string;
  readonly notFound?: PortalNotFoundSubject;
  /** Seconds after which a retry may succeed (Unavailable only). */
  readonly retryAfterS?: number;
  /** HTTP status of the upstream answer, when there was one. */
  readonly httpStatus?: number;

  constructor(init: {
    kind: PortalErrorKind;
    endpoint: string;
    message: string;
    upstreamCode?: number;
    upstreamMessage?: string;
    notFound?: PortalNotFoundSubject;
    retryAfterS?: number;
    httpStatus?: number;
  }) {
    super(init.message);
    this.kind = init.kind;
    this.endpoint = init.endpoint;
    this.upstreamCode = init.upstreamCode;
    this.upstreamMessage = init.upstreamMessage;
    this.notFound = init.notFound;
    this.retryAfterS = init.retryAfterS;
    this.httpStatus = init.httpStatus;
  }
}

/**
 * Every way an upstream call can fail, as observed by the transport, before it becomes a PortalError.
 * Carries only non-secret facts (codes, statuses, a short reason).
 */
export type PortalFailure =
  | { type: 'envelope'; code: number; message?: string; httpStatus: number }
  | { type: 'gateway'; code: number; message?: string; httpStatus: number }
  | { type: 'http'; httpStatus: number; retryAfterS?: number }
  | { type: 'network'; reason: string }
  | { type: 'timeout'; timeoutMs: number }
  | { type: 'circuitOpen'; retryAfterS: number }
  | { type: 'bulkheadFull' }
  | { type: 'malformed'; reason: string; httpStatus?: number }
  | { type: 'invalidArgument'; reason: string };

/** Default Retry-After hint for transient failures that do not say otherwise. */
export const DEFAULT_RETRY_AFTER_S = 1;

/** Best-effort subject of a 31404 per endpoint (documented error tables of the portal). */
function notFoundSubject(endpoint: string): PortalNotFoundSubject {
  switch (endpoint) {
    case 'assetList':
      return 'user';
    case 'usersAssetList':
      return 'org';
    case 'appAssetTree':
      return 'app';
    default:
      return 'resource';
  }
}

/** Upstream messages are echoed to callers; keep them short and single-line. */
function clip(text: string | undefined): string | undefined {
  if (text === undefined || text === null) return undefined;
  const one = String(text).replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

/** True for failures worth another attempt: network, timeout, HTTP 5xx, gateway 1001/1005. */
export function isTransientFailure(f: PortalFailure): boolean {
  switch (f.type) {
    case 'network':
    case 'timeout':
      return true;
    case 'http':
      return f.httpStatus >= 500;
    case 'gateway':
      return f.code === GatewayCode.RepeatedRequest || f.code === GatewayCode.GatewayBusy;
    case 'envelope':
    case 'circuitOpen':
    case 'bulkheadFull':
    case 'malformed':
    case 'invalidArgument':
      return false;
    default:
      return assertNever(f);
  }
}

function assertNever(x: never): never {
  throw new Error(`unhandled portal failure ${JSON.stringify(x)}`);
}

/** The single mapping from an observed failure to the PortalError callers see. */
export function toPortalError(f: PortalFailure, endpoint: string): PortalError {
  const at = `portal ${endpoint}`;
  switch (f.type) {
    case 'envelope': {
      const base = { endpoint, upstreamCode: f.code, upstreamMessage: clip(f.message), httpStatus: f.httpStatus };
      switch (f.code) {
        case PortalCode.BadRequest:
          return new PortalError({ ...base, kind: PortalErrorKind.BadRequest, message: `${at} rejected the request parameters (31400)` });
        case PortalCode.InvalidUserToken:
          return new PortalError({ ...base, kind: PortalErrorKind.TokenInvalid, message: `${at}: user token invalid (31401)` });
        case PortalCode.NotPermitted:
          return new PortalError({ ...base, kind: PortalErrorKind.PermissionMissing, message: `${at}: not permitted (31403)` });
        case PortalCode.NotFound:
          return new PortalError({ ...base, kind: PortalErrorKind.NotFound, notFound: notFoundSubject(endpoint), message: `${at}: not found (31404)` });
        case PortalCode.OuNotSelected:
          return new PortalError({ ...base, kind: PortalErrorKind.OuNotSelected, message: `${at}: no OU selected (31512)` });
        default:
          return new PortalError({ ...base, kind: PortalErrorKind.BadResponse, message: `${at} answered unknown code ${f.code}` });
      }
    }
    case 'gateway': {
      const base = { endpoint, upstreamCode: f.code, upstreamMessage: clip(f.message), httpStatus: f.httpStatus };
      switch (f.code) {
        case GatewayCode.RepeatedRequest:
        case GatewayCode.GatewayBusy:
        case GatewayCode.TokenExpired:
        case GatewayCode.InvalidAccessToken:
          return new PortalError({
            ...base,
            kind: PortalErrorKind.Unavailable,
            retryAfterS: DEFAULT_RETRY_AFTER_S,
            message: `${at}: gateway refused the call (${f.code})`,
          });
        case GatewayCode.UnknownAppKey:
        case GatewayCode.BadEncryption:
        case GatewayCode.BadSignature:
          return new PortalError({
            ...base,
            kind: PortalErrorKind.Unavailable,
            retryAfterS: DEFAULT_RETRY_AFTER_S,
            message: `${at}: gateway rejected the app credentials (${f.code}); check PORTAL_APP_KEY/PORTAL_APP_SECRET`,
          });
        default:
          return new PortalError({ ...base, kind: PortalErrorKind.BadResponse, message: `${at}: unknown gateway code ${f.code}` });
      }
    }
    case 'http':
      if (f.httpStatus >= 500) {
        return new PortalError({
          endpoint,
          kind: PortalErrorKind.Unavailable,
          httpStatus: f.httpStatus,
          retryAfterS: f.retryAfterS ?? DEFAULT_RETRY_AFTER_S,
          message: `${at} answered HTTP ${f.httpStatus}`,
        });
      }
      return new PortalError({
        endpoint,
        kind: PortalErrorKind.BadResponse,
        httpStatus: f.httpStatus,
        message: `${at} answered HTTP ${f.httpStatus} without an envelope`,
      });
    case 'network':
      return new PortalError({ endpoint, kind: PortalErrorKind.Unavailable, retryAfterS: DEFAULT_RETRY_AFTER_S, message: `${at} unreachable (${f.reason})` });
    case 'timeout':
      return new PortalError({ endpoint, kind: PortalErrorKind.Timeout, message: `${at} timed out after ${f.timeoutMs} ms` });
    case 'circuitOpen':
      return new PortalError({ endpoint, kind: PortalErrorKind.Unavailable, retryAfterS: f.retryAfterS, message: `${at} skipped: circuit open` });
    case 'bulkheadFull':
      return new PortalError({
        endpoint,
        kind: PortalErrorKind.Unavailable,
        retryAfterS: DEFAULT_RETRY_AFTER_S,
        message: `${at} skipped: too many calls queued`,
      });
    case 'malformed':
      return new PortalError({
        endpoint,
        kind: PortalErrorKind.BadResponse,
        httpStatus: f.httpStatus,
        message: `${at} answered a malformed body (${f.reason})`,
      });
    case 'invalidArgument':
      return new PortalError({ endpoint, kind: PortalErrorKind.BadRequest, message: `${at} not called: ${f.reason}` });
    default:
      return assertNever(f);
  }
}

/** Thrown inside the resilience pipeline so that policies can tell transient failures apart. */
export class PortalFailureSignal extends Error {
  constructor(readonly failure: PortalFailure) {
    super(failure.type);
  }
}
