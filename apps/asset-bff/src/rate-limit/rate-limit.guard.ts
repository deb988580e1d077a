import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { RateLimitService } from './rate-limit.service';

/** RATE_LIMIT_PER_S per caller (API key id or user), after authentication; 429 with Retry-After. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimitService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (req.caller) await this.limits.enforce(req.caller);
    return true;
  }
}
