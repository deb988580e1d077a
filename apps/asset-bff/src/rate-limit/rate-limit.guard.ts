import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { FastifyRequest } from 'fastify';
import { callerKey } from '../auth/caller';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { RateLimitService } from './rate-limit.service';

/** RATE_LIMIT_PER_S per caller (API key id or user), after authentication; 429 with Retry-After. */
@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(private readonly limits: RateLimitService) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (!this.limits.enabled) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    if (!req.caller) return true;
    const wait = await this.limits.hit(callerKey(req.caller));
    if (wait > 0) throw new AppException(ErrorCode.RateLimited, `More than the allowed requests per second; retry in ${wait}s`, { retryAfterS: wait });
    return true;
  }
}
