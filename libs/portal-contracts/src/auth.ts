import { createHash } from 'node:crypto';

/** The gateway headers every signed API call carries. */
export const ApimHeaders = {
  accessToken: 'apim-accesstoken',
  timestamp: 'apim-timestamp',
  signature: 'apim-signature',
} as const;

/** Body of `token/get` (and, with `accessToken`, of `token/refresh`). */
export interface TokenGetRequest {
  appKey: string;
  encryption: string;
  timestamp: number;
  accessToken?: string;
}

/** The gateway's own reply envelope for token calls. */
export interface TokenReply {
  status: number;
  msg: string;
  data: { accessToken: string; expire: number } | null;
}

/** Lower-case hex SHA-256 of a UTF-8 string. */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** `encryption` of a token request: sha256_hex(appKey + timestamp + appSecret). */
export function tokenEncryption(appKey: string, timestamp: number | string, appSecret: string): string {
  return sha256Hex(`${appKey}${timestamp}${appSecret}`);
}

/**
 * `paramsData` of a signature: the query parameters sorted by name (ASCII order), each written as
 * name+value with no separator, followed by the JSON body exactly as sent (empty when there is none).
 */
export function signingParams(query: Record<string, string | undefined>, bodyText: string | undefined): string {
  const names = Object.keys(query)
    .filter((n) => query[n] !== undefined)
    .sort();
  let out = '';
  for (const n of names) out += n + String(query[n]);
  return out + (bodyText ?? '');
}

/** `apim-signature`: sha256_hex(accessToken + paramsData + timestamp + appSecret). */
export function requestSignature(accessToken: string, paramsData: string, timestamp: number | string, appSecret: string): string {
  return sha256Hex(`${accessToken}${paramsData}${timestamp}${appSecret}`);
}
