import { ApimHeaders, requestSignature, signingParams } from '@app/portal-contracts';

/** A request ready to send: the body is serialized once and that exact text is signed and sent. */
export interface SignedRequest {
  /** Path plus encoded query string, e.g. `/x?a=1&b=2`. */
  url: string;
  bodyText?: string;
  headers: Record<string, string>;
}

/** Query values as sent; undefined entries are left out of both the URL and the signature. */
export type QueryParams = Record<string, string | undefined>;

/** Encodes the query in name order, so the URL and the signature agree on what was sent. */
export function buildQueryString(query: QueryParams | undefined): string {
  if (!query) return '';
  const names = Object.keys(query)
    .filter((n) => query[n] !== undefined)
    .sort();
  return names.map((n) => `${encodeURIComponent(n)}=${encodeURIComponent(query[n] as string)}`).join('&');
}

/**
 * Signs one attempt: apim-signature = sha256_hex(accessToken + paramsData + timestamp + appSecret), where
 * paramsData is the sorted query (name+value) followed by the body text exactly as sent.
 */
export function signRequest(input: {
  path: string;
  query?: QueryParams;
  bodyText?: string;
  accessToken: string;
  appSecret: string;
  timestamp: number;
}): SignedRequest {
  const qs = buildQueryString(input.query);
  const paramsData = signingParams(input.query ?? {}, input.bodyText);
  const headers: Record<string, string> = {
    [ApimHeaders.accessToken]: input.accessToken,
    [ApimHeaders.timestamp]: String(input.timestamp),
    [ApimHeaders.signature]: requestSignature(input.accessToken, paramsData, input.timestamp, input.appSecret),
  };
  if (input.bodyText !== undefined) headers['content-type'] = 'application/json';
  return { url: qs ? `${input.path}?${qs}` : input.path, bodyText: input.bodyText, headers };
}
