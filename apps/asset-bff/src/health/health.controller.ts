import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { FastifyReply } from 'fastify';
import { AssetSetCache } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { Public } from '../auth/access.decorator';
import { LifecycleService } from './lifecycle.service';

/** Liveness and readiness. Readiness is 200 while degraded: the service still serves what it can. */
@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly lifecycle: LifecycleService,
  ) {}

  @Get('live')
  @Public()
  @ApiOperation({ summary: '200 while the process runs' })
  @ApiOkResponse({ schema: { example: { status: 'ok' } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @Public()
  @ApiOperation({ summary: '200 ok|degraded with redis and upstream state; 503 while starting or draining' })
  @ApiOkResponse({ schema: { example: { status: 'ok', redis: 'up', upstream: 'up' } } })
  @ApiServiceUnavailableResponse({ schema: { example: { status: 'draining', redis: 'up', upstream: 'up' } } })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: string; redis: string; upstream: string }> {
    const redis = this.cache.health();
    const upstream = (await this.portal.reachable()) ? 'up' : 'down';
    // Terminus runs the indicators; the contract's flat shape is what callers get.
    const result = await this.health
      .check([
        async () => (redis === 'down' ? this.indicators.check('redis').down() : this.indicators.check('redis').up({ mode: redis })),
        async () => (upstream === 'down' ? this.indicators.check('upstream').down() : this.indicators.check('upstream').up()),
      ])
      .catch(() => ({ status: 'error' as const }));
    if (this.lifecycle.state !== 'ready') {
      reply.status(503);
      return { status: this.lifecycle.state, redis, upstream };
    }
    return { status: result.status === 'ok' ? 'ok' : 'degraded', redis, upstream };
  }
}
