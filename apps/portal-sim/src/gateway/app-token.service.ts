import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { IncomingHttpHeaders } from 'node:http';
import { ApimHeaders, GatewayCode, TokenGetRequest, TokenReply, requestSignature, signingParams, tokenEncryption } from '@app/portal-contracts';
import { SIM_CONFIG, SimConfig } from '../config/sim-config';
import { PortalError } from '../common/portal-error';
import { SimControl } from '../calls/sim-control.service';

interface IssuedToken {
  issuedAt: number;
  expiresAt: number;
}

/** The API gateway (APIM): issues app access tokens and verifies the signature of every portal call. */
@Injectable()
export class AppTokenService {
  private readonly tokens = new Map<string, IssuedToken>();
  /** Tokens issued at or before this instant count as expired (admin `tokens/expire`). */
  private expiredUpTo = 0;

  constructor(
    @Inject(SIM_CONFIG) private readonly config: SimConfig,
    private readonly control: SimControl,
  ) {}

  /** `token/get` (and `token/refresh` with `refresh`): checks appKey and encryption, issues a new token. */
  issue(body: Partial<TokenGetRequest> | undefined, refresh: boolean): TokenReply {
    const b = body ?? {};
    if (typeof b.appKey !== 'string' || b.appKey !== this.config.appKey) throw new PortalError(GatewayCode.UnknownAppKey, undefined, 'token');
    const ts = typeof b.timestamp === 'number' || typeof b.timestamp === 'string' ? b.timestamp : undefined;
    if (ts === undefined || typeof b.encryption !== 'string' || !safeEqual(b.encryption, tokenEncryption(b.appKey, ts, this.config.appSecret))) {
      throw new PortalError(GatewayCode.BadEncryption, undefined, 'token');
    }
    if (refresh && (typeof b.accessToken !== 'string' || !this.tokens.has(b.accessToken))) {
      throw new PortalError(GatewayCode.InvalidAccessToken, undefined, 'token');
    }
    if (refresh) this.tokens.delete(b.accessToken!);
    const accessToken = randomBytes(24).toString('hex');
    const ttl = this.control.appTokenTtlS;
    const now = Date.now();
    this.tokens.set(accessToken, { issuedAt: now, expiresAt: now + ttl * 1000 });
    return { status: 0, msg: 'SUCCESS', data: { accessToken, expire: ttl } };
  }

  expireAll(): void {
    this.expiredUpTo = Date.now();
  }

  reset(): void {
    this.tokens.clear();
    this.expiredUpTo = 0;
  }

  /** Verifies the apim headers of a signed call against the query and the raw body; throws the gateway error. */
  verify(headers: IncomingHttpHeaders, query: Record<string, string>, rawBody: string): void {
    const token = header(headers, ApimHeaders.accessToken);
    const issued = token ? this.tokens.get(token) : undefined;
    if (!token || !issued) throw new PortalError(GatewayCode.InvalidAccessToken, undefined, 'gateway');
    if (Date.now() >= issued.expiresAt || issued.issuedAt <= this.expiredUpTo) throw new PortalError(GatewayCode.TokenExpired, undefined, 'gateway');
    const timestamp = header(headers, ApimHeaders.timestamp);
    const signature = header(headers, ApimHeaders.signature);
    if (!timestamp || !signature) throw new PortalError(GatewayCode.BadSignature, undefined, 'gateway');
    const expected = requestSignature(token, signingParams(query, rawBody), timestamp, this.config.appSecret);
    if (!safeEqual(signature.toLowerCase(), expected)) throw new PortalError(GatewayCode.BadSignature, undefined, 'gateway');
  }
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
