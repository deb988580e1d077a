import { PortalErrorKind } from './portal-client.types';
import { PortalFailure, isTransientFailure, toPortalError } from './portal-error';

describe('toPortalError', () => {
  const envelope = (code: number, httpStatus = 200): PortalFailure => ({ type: 'envelope', code, message: `msg ${code}`, httpStatus });
  const gateway = (code: number, httpStatus = 401): PortalFailure => ({ type: 'gateway', code, message: `gw ${code}`, httpStatus });

  const table: [string, PortalFailure, PortalErrorKind, boolean][] = [
    ['31400', envelope(31400), PortalErrorKind.BadRequest, false],
    ['31401', envelope(31401), PortalErrorKind.TokenInvalid, false],
    ['31403', envelope(31403), PortalErrorKind.PermissionMissing, false],
    ['31404', envelope(31404), PortalErrorKind.NotFound, false],
    ['31512', envelope(31512), PortalErrorKind.OuNotSelected, false],
    ['unknown envelope code', envelope(31999), PortalErrorKind.BadResponse, false],
    ['timeout', { type: 'timeout', timeoutMs: 100 }, PortalErrorKind.Timeout, true],
    ['network', { type: 'network', reason: 'ECONNREFUSED' }, PortalErrorKind.Unavailable, true],
    ['HTTP 503', { type: 'http', httpStatus: 503 }, PortalErrorKind.Unavailable, true],
    ['HTTP 404 without envelope', { type: 'http', httpStatus: 404 }, PortalErrorKind.BadResponse, false],
    ['open circuit', { type: 'circuitOpen', retryAfterS: 5 }, PortalErrorKind.Unavailable, false],
    ['bulkhead full', { type: 'bulkheadFull' }, PortalErrorKind.Unavailable, false],
    ['malformed body', { type: 'malformed', reason: 'no envelope code' }, PortalErrorKind.BadResponse, false],
    ['gateway 1001 repeated request', gateway(1001), PortalErrorKind.Unavailable, true],
    ['gateway 1002 unknown appKey', gateway(1002), PortalErrorKind.Unavailable, false],
    ['gateway 1003 bad encryption', gateway(1003), PortalErrorKind.Unavailable, false],
    ['gateway 1005 busy', gateway(1005), PortalErrorKind.Unavailable, true],
    ['gateway 1203 after renewal', gateway(1203), PortalErrorKind.Unavailable, false],
    ['unknown gateway code', gateway(1777), PortalErrorKind.BadResponse, false],
    ['local argument check', { type: 'invalidArgument', reason: 'too many' }, PortalErrorKind.BadRequest, false],
  ];

  it.each(table)('%s → kind and transience', (_name, failure, kind, transient) => {
    const e = toPortalError(failure, 'assetList');
    expect(e.kind).toBe(kind);
    expect(e.endpoint).toBe('assetList');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('PortalError');
    expect(isTransientFailure(failure)).toBe(transient);
    if (kind === PortalErrorKind.Unavailable) expect(e.retryAfterS).toBeGreaterThanOrEqual(1);
  });

  it('keeps the upstream code and message of an envelope error', () => {
    const e = toPortalError(envelope(31403), 'usersAssetList');
    expect(e.upstreamCode).toBe(31403);
    expect(e.upstreamMessage).toBe('msg 31403');
    expect(e.httpStatus).toBe(200);
  });

  it('names the subject of a 31404 per endpoint', () => {
    expect(toPortalError(envelope(31404), 'assetList').notFound).toBe('user');
    expect(toPortalError(envelope(31404), 'usersAssetList').notFound).toBe('org');
    expect(toPortalError(envelope(31404), 'appAssetTree').notFound).toBe('app');
  });

  it('uses the Retry-After hint of a 5xx and the half-open delay of an open circuit', () => {
    expect(toPortalError({ type: 'http', httpStatus: 503, retryAfterS: 7 }, 'x').retryAfterS).toBe(7);
    expect(toPortalError({ type: 'circuitOpen', retryAfterS: 5 }, 'x').retryAfterS).toBe(5);
  });

  it('never treats a portal business error as transient (no retry, circuit untouched)', () => {
    for (const code of [31400, 31401, 31403, 31404, 31512]) expect(isTransientFailure(envelope(code, 500))).toBe(false);
  });
});
