/** The tree's path segment that holds the application's accessKey (a credential of the app, per the portal). */
const ACCESS_KEY_SEGMENT = /^(\/v1\/apps\/)([^/?]+)/;
/** Characters of an accessKey a log line keeps: enough to tell apps apart, too few to use. */
const SHOWN_KEY_CHARS = 4;

/** A request URL as logs show it: no query string, and an accessKey in the path shortened (STYLE: never a full key). */
export function loggedPath(url: string | undefined): string | undefined {
  const path = url?.split('?')[0];
  return path?.replace(ACCESS_KEY_SEGMENT, (_, prefix: string, key: string) => `${prefix}${key.slice(0, SHOWN_KEY_CHARS)}…`);
}
