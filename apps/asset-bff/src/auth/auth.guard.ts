import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { ACCESS_RULE, AccessRule } from './access.decorator';
import { ApiKeyService } from './api-key.service';
import { Caller } from './caller';
import { UserTokenService } from './user-token.service';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/;

/**
 * Authenticates every request (401) and applies the route's AccessRule against its :orgId/:userId (403),
 * before any pipe, cache read or upstream call.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeyService,
    private readonly tokens: UserTokenService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.get<AccessRule | 'public' | undefined>(ACCESS_RULE, ctx.getHandler());
    if (rule === 'public') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const caller = await this.authenticate(req);
    req.caller = caller;
    if (!rule) throw new AppException(ErrorCode.Forbidden, 'This route accepts no caller');
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    if (caller.kind === 'service') {
      if (!rule.scope) throw new AppException(ErrorCode.Forbidden, 'This route is for user callers only');
      if (!caller.scopes.includes(rule.scope)) throw new AppException(ErrorCode.Forbidden, `The key lacks the ${rule.scope} scope`);
      const orgId = params.orgId;
      if (orgId !== undefined && !caller.orgs.includes('*') && !caller.orgs.includes(orgId)) {
        throw new AppException(ErrorCode.Forbidden, 'The key is not granted this OU');
      }
      return true;
    }
    if (!rule.users) throw new AppException(ErrorCode.Forbidden, 'This route is for service callers only');
    if (rule.users === 'any') return true;
    if (params.orgId !== undefined && params.orgId !== caller.orgId) throw new AppException(ErrorCode.Forbidden, 'A user may read only its own OU');
    if (rule.users === 'self' && params.userId !== undefined && params.userId !== caller.userId) {
      throw new AppException(ErrorCode.Forbidden, 'A user may read only itself');
    }
    if (caller.orgId === undefined) throw new AppException(ErrorCode.Forbidden, 'The token names no OU');
    return true;
  }

  private async authenticate(req: FastifyRequest): Promise<Caller> {
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
}
