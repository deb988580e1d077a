/** The portal's response envelope: `code` 0 (older deployments: 200) is success; the HTTP status of an error may be 200. */
export interface PortalEnvelope<T> {
  code: number;
  message: string;
  data: T | null;
}

/** Application Portal business codes (v2.2). */
export enum PortalCode {
  Success = 0,
  LegacySuccess = 200,
  BadRequest = 31400,
  InvalidUserToken = 31401,
  NotPermitted = 31403,
  NotFound = 31404,
  OuNotSelected = 31512,
}

/**
 * API gateway (APIM) codes. 1001-1003 and 1203 are documented; 1004 (bad signature), 1005 (gateway busy,
 * transient) and 1201 (unknown access token) are what the simulator answers where the docs are silent.
 */
export enum GatewayCode {
  RepeatedRequest = 1001,
  UnknownAppKey = 1002,
  BadEncryption = 1003,
  BadSignature = 1004,
  GatewayBusy = 1005,
  InvalidAccessToken = 1201,
  TokenExpired = 1203,
}

/** True when an envelope code means success (0, or 200 from older deployments). */
export function isSuccessCode(code: unknown): boolean {
  return code === PortalCode.Success || code === PortalCode.LegacySuccess;
}
