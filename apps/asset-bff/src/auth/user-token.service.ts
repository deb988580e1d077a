import { Inject, Injectable } from '@nestjs/common';
import { createRemoteJWKSet, JWTPayload, jwtVerify, JWTVerifyGetKey } from 'jose';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { isId } from '../common/ids';
import { UserCaller } from './caller';

const MAX_TOKEN_LENGTH = 8192;
const JWKS_COOLDOWN_MS = 30_000;
const CLOCK_TOLERANCE_S = 5;

/** User callers by bearer JWT, verified locally: HS256 with JWT_SECRET, or RS256/ES256 from JWT_JWKS_URL. */
@Injectable()
export class UserTokenService {
  private readonly secret?: Uint8Array;
  private readonly jwks?: JWTVerifyGetKey;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    if (config.JWT_SECRET) this.secret = new TextEncoder().encode(config.JWT_SECRET);
    if (config.JWT_JWKS_URL) this.jwks = createRemoteJWKSet(new URL(config.JWT_JWKS_URL), { cooldownDuration: JWKS_COOLDOWN_MS });
  }

  /** The caller this token names, or undefined when it is not a valid token (expired, wrong key, algorithm, issuer, audience...). */
  async verify(token: string): Promise<UserCaller | undefined> {
    if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
    const options = { issuer: this.config.JWT_ISSUER, audience: this.config.JWT_AUDIENCE, clockTolerance: CLOCK_TOLERANCE_S };
    let payload: JWTPayload;
    try {
      if (this.secret) payload = (await jwtVerify(token, this.secret, { ...options, algorithms: ['HS256'] })).payload;
      else if (this.jwks) payload = (await jwtVerify(token, this.jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
      else return undefined;
    } catch {
      return undefined;
    }
    const userId = payload[this.config.JWT_USER_CLAIM];
    const orgId = payload[this.config.JWT_ORG_CLAIM];
    if (!isId(userId)) return undefined;
    return { kind: 'user', id: userId, userId, orgId: isId(orgId) ? orgId : undefined, token };
  }
}
