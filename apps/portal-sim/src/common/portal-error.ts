import { HttpException, HttpStatus } from '@nestjs/common';
import { GatewayCode, PortalCode } from '@app/portal-contracts';

/** How an error is written on the wire: portal envelope, gateway envelope (HTTP 401) or token-service reply. */
export type ErrorWire = 'portal' | 'gateway' | 'token';

const MESSAGES: Record<number, string> = {
  [PortalCode.BadRequest]: 'Bad request',
  [PortalCode.InvalidUserToken]: 'Access Token is invalid',
  [PortalCode.NotPermitted]: 'No access to the application',
  [PortalCode.NotFound]: 'Not found',
  [PortalCode.OuNotSelected]: 'Selecting an OU is required',
  [GatewayCode.RepeatedRequest]: 'Repeated request',
  [GatewayCode.UnknownAppKey]: 'AppKey does not exist',
  [GatewayCode.BadEncryption]: 'Encryption check failed',
  [GatewayCode.BadSignature]: 'Signature check failed',
  [GatewayCode.GatewayBusy]: 'Gateway busy',
  [GatewayCode.InvalidAccessToken]: 'Access token is invalid',
  [GatewayCode.TokenExpired]: 'Access token expired',
};

/**
 * An error answered by a simulated endpoint. Portal business errors go out with HTTP 200 (as the real
 * portal often does), gateway errors with HTTP 401, token-service errors as `{status, msg, data: null}`.
 */
export class PortalError extends HttpException {
  constructor(
    readonly code: number,
    detail?: string,
    wire: ErrorWire = 'portal',
    httpStatus?: number,
  ) {
    const message = detail ?? MESSAGES[code] ?? 'Error';
    const body = wire === 'token' ? { status: code, msg: message, data: null } : { code, message, data: null };
    super(body, httpStatus ?? (wire === 'gateway' ? HttpStatus.UNAUTHORIZED : HttpStatus.OK));
  }
}

/** 31400 with a detail naming the offending field. */
export function badRequest(detail: string): PortalError {
  return new PortalError(PortalCode.BadRequest, detail);
}
