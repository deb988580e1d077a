import { Injectable, OnModuleInit } from '@nestjs/common';
import { randomBytes, webcrypto } from 'node:crypto';
import { JWK, SignJWT, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { PortalCode, UserTokenData } from '@app/portal-contracts';
import { PortalError } from '../common/portal-error';
import { SimControl } from '../calls/sim-control.service';

/** `iss` of every user token the simulator issues. */
export const USER_TOKEN_ISSUER = 'portal-sim';
const ALG = 'RS256';

/** Claims of a simulated user token. */
export interface UserClaims {
  sub: string;
  orgId?: string;
}

/** Issues and verifies the users' RS256 JWTs; the key pair is made at start and published as a JWKS. */
@Injectable()
export class UserTokenService implements OnModuleInit {
  private privateKey!: webcrypto.CryptoKey;
  private publicKey!: webcrypto.CryptoKey;
  private jwk!: JWK;
  private readonly kid = `sim-${randomBytes(6).toString('hex')}`;

  constructor(private readonly control: SimControl) {}

  async onModuleInit(): Promise<void> {
    const pair = await generateKeyPair(ALG, { extractable: true });
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
    this.jwk = { ...(await exportJWK(pair.publicKey)), kid: this.kid, alg: ALG, use: 'sig' };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.jwk] };
  }

  async issue(claims: UserClaims): Promise<UserTokenData> {
    const ttl = this.control.userTokenTtlS;
    const now = Math.floor(Date.now() / 1000);
    const accessToken = await new SignJWT(claims.orgId ? { orgId: claims.orgId } : {})
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'JWT' })
      .setSubject(claims.sub)
      .setIssuer(USER_TOKEN_ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(this.privateKey);
    return { accessToken, expire: ttl };
  }

  /** Verifies `Authorization: Bearer <jwt>`; anything wrong (missing, bad signature, expired) is 31401. */
  async verifyBearer(authorization: string | string[] | undefined): Promise<UserClaims> {
    const value = Array.isArray(authorization) ? authorization[0] : authorization;
    const m = value ? /^Bearer\s+(\S+)$/i.exec(value) : null;
    if (!m) throw new PortalError(PortalCode.InvalidUserToken);
    try {
      const { payload } = await jwtVerify(m[1], this.publicKey, { algorithms: [ALG], issuer: USER_TOKEN_ISSUER });
      if (typeof payload.sub !== 'string') throw new Error('no sub');
      return { sub: payload.sub, orgId: typeof payload.orgId === 'string' ? payload.orgId : undefined };
    } catch {
      throw new PortalError(PortalCode.InvalidUserToken);
    }
  }
}
