import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyRequest } from 'fastify';
import { ACCESS_RULE, AccessRule } from './access.decorator';
import { AuthService } from './auth.service';
import { Caller } from './caller';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

/**
 * Authenticates every request (401) and applies the route's AccessRule against its :orgId/:userId (403),
 * before any pipe, cache read or upstream call.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const rule = this.reflector.get<AccessRule | 'public' | undefined>(ACCESS_RULE, ctx.getHandler());
    if (rule === 'public') return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    const caller = await this.auth.authenticate(req);
    req.caller = caller;
    this.auth.authorize(caller, rule, (req.params ?? {}) as Record<string, string | undefined>);
    return true;
  }
}
