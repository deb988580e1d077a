import { createHash, createHmac, createSecretKey, KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * Signs values the service hands to callers and takes back (cursors, consistency tokens) with an HMAC whose key is
 * derived from PORTAL_APP_SECRET and a purpose label: every instance of a deployment derives the same key, and no
 * value signed for one purpose verifies for another. The secret itself never leaves this class.
 */
export class Signer {
  private readonly key: KeyObject;

  constructor(secret: string, label: string) {
    this.key = createSecretKey(createHash('sha256').update(`asset-bff ${label} v1`).update('\u0000').update(secret).digest());
  }

  /** The base64url HMAC-SHA256 of `data` (43 characters). */
  sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }

  /** True when `signature` is this deployment's signature of `data` (compared in constant time). */
  verify(data: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(data));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}
