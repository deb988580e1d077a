import { Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { AccessRule } from './access.decorator';
import { ApiKeyService } from './api-key.service';
import { Caller } from './caller';
import { UserTokenService } from './user-token.service';

/** The Authorization header of a user caller; the scheme is case-insensitive (RFC 9110 section 11.1). */
const BEARER = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i;

/** Authentication (401) and route-level authorization (403) of a request, for the access hook. */
@Injectable()
export class AuthService {
  constructor(
    private readonly keys: ApiKeyService,
    private readonly tokens: UserTokenService,
  ) {}

  /** The caller of a request, or UNAUTHENTICATED. */
  async authenticate(req: FastifyRequest): Promise<Caller> {
    const key = req.headers['x-api-key'];
    if (key !== undefined) {
      const caller = typeof key === 'string' ? this.keys.verify(key) : undefined;
      if (!caller) throw new AppException(ErrorCode.Unauthenticated, 'The API key is not valid');
      return caller;
    }
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = BEARER.exec(auth);
      const caller = m ? await this.tokens.verify(m[1]) : undefined;
      if (!caller) throw new AppException(ErrorCode.Unauthenticated, 'The bearer token is not valid');
      return caller;
    }
    throw new AppException(ErrorCode.Unauthenticated, 'Send X-Api-Key (services) or Authorization: Bearer <token> (users)');
  }

  /** Applies a route's rule to the caller and the route's :orgId/:userId; throws FORBIDDEN. */
  authorize(caller: Caller, rule: AccessRule | undefined, params: Record<string, string | undefined>): void {
    if (!rule) throw new AppException(ErrorCode.Forbidden, 'This route accepts no caller');
    if (caller.kind === 'service') {
      if (!rule.scope) throw new AppException(ErrorCode.Forbidden, 'This route is for user callers only');
      if (!caller.scopes.includes(rule.scope)) throw new AppException(ErrorCode.Forbidden, `The key lacks the ${rule.scope} scope`);
      const orgId = params.orgId;
      if (orgId !== undefined && !caller.orgs.includes('*') && !caller.orgs.includes(orgId)) {
        throw new AppException(ErrorCode.Forbidden, 'The key is not granted this OU');
      }
      return;
    }
    if (!rule.users) throw new AppException(ErrorCode.Forbidden, 'This route is for service callers only');
    if (rule.users === 'any') return;
    if (params.orgId !== undefined && params.orgId !== caller.orgId) throw new AppException(ErrorCode.Forbidden, 'A user may read only its own OU');
    if (rule.users === 'self' && params.userId !== undefined && params.userId !== caller.userId) {
      throw new AppException(ErrorCode.Forbidden, 'A user may read only itself');
    }
    if (caller.orgId === undefined) throw new AppException(ErrorCode.Forbidden, 'The token names no OU');
  }
}
