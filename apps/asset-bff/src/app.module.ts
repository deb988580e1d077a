import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AssetCacheModule, AssetCacheOptions, DEFAULT_LOCK_TTL_MS } from '@app/asset-cache';
import { PortalClientModule, PortalClientOptions } from '@app/portal-client';
import { AccessController } from './access/access.controller';
import { AccessService } from './access/access.service';
import { AssetsController } from './assets/assets.controller';
import { AssetsService } from './assets/assets.service';
import { BatchAssetsService } from './assets/batch-assets.service';
import { PageDecoders } from './assets/page-decoders';
import { ApiKeyService } from './auth/api-key.service';
import { AuthService } from './auth/auth.service';
import { UserTokenService } from './auth/user-token.service';
import { CacheAdminController } from './cache-admin/cache-admin.controller';
import { CacheAdminService } from './cache-admin/cache-admin.service';
import { ProblemFilter } from './common/problem.filter';
import { APP_CONFIG, AppConfig } from './config/app-config';
import { CoreModule } from './core.module';
import { ConsistencyTokens } from './common/consistency';
import { HealthController } from './health/health.controller';
import { MetricsController } from './metrics/metrics.controller';
import { MetricsService } from './metrics/metrics.service';
import { RateLimitService } from './rate-limit/rate-limit.service';
import { TreeController } from './tree/tree.controller';
import { TreeService } from './tree/tree.service';
import { currentRequestId } from './tracing/request-scope';
import { tracerOf } from './tracing/tracing';
import { loggedPath } from './common/logged-path';
import { isNotFound } from './upstream/portal-error.mapper';

/** Headers that carry credentials: never logged. */
const REDACT = ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'];

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config),
        LoggerModule.forRoot({
          // No per-request middleware: its AsyncLocalStorage turns on async hooks for every promise and socket
          // write of the process, a cost every hot read would pay. Requests are logged by
          // a fastify onResponse hook (main.ts) with their request id; errors carry the request id explicitly.
          forRoutes: [],
          pinoHttp: {
            level: config.LOG_LEVEL,
            redact: { paths: REDACT, censor: '[redacted]' },
            // Only what identifies a request; headers (credentials) and bodies are never logged.
            serializers: {
              req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: loggedPath(req.url) }),
              res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
            },
            customProps: (req: { id?: unknown }) => ({ requestId: req.id }),
            quietReqLogger: true,
          },
        }),
        TerminusModule.forRoot({ logger: false }),
        PortalClientModule.forRootAsync({
          inject: [APP_CONFIG, MetricsService],
          useFactory: (c: AppConfig, m: MetricsService): PortalClientOptions => ({
            baseUrl: c.PORTAL_BASE_URL,
            appKey: c.PORTAL_APP_KEY,
            appSecret: c.PORTAL_APP_SECRET,
            timeoutMs: c.PORTAL_TIMEOUT_MS,
            concurrency: c.PORTAL_CONCURRENCY,
            batchSize: c.PORTAL_BATCH_SIZE,
            batchWindowMs: c.PORTAL_BATCH_WINDOW_MS,
            pageSize: c.PORTAL_PAGE_SIZE,
            observer: m.portalObserver,
            requestId: currentRequestId,
            tracer: tracerOf(c),
          }),
        }),
        AssetCacheModule.forRootAsync({
          inject: [APP_CONFIG, MetricsService],
          useFactory: (c: AppConfig, m: MetricsService): AssetCacheOptions => ({
            redisUrl: c.REDIS_URL,
            clusterNodes: c.REDIS_CLUSTER_NODES,
            ttlS: c.CACHE_TTL_S,
            staleS: c.CACHE_STALE_S,
            negativeTtlS: c.CACHE_NEGATIVE_TTL_S,
            localTtlMs: c.CACHE_LOCAL_TTL_MS,
            localMaxEntries: c.CACHE_LOCAL_MAX_ENTRIES,
            redisTimeoutMs: c.REDIS_TIMEOUT_MS,
            // At least the portal timeout, so a slow but live holder is not taken for a dead one.
            lockTtlMs: Math.max(DEFAULT_LOCK_TTL_MS, c.PORTAL_TIMEOUT_MS * 2),
            observer: m.cacheObserver,
            // The portal's "not found" is an answer: an OU it no longer knows is not served STALE.
            isAnswer: isNotFound,
          }),
        }),
      ],
      controllers: [AssetsController, AccessController, TreeController, CacheAdminController, HealthController, MetricsController],
      providers: [
        ApiKeyService,
        UserTokenService,
        AuthService,
        PageDecoders,
        AssetsService,
        BatchAssetsService,
        AccessService,
        TreeService,
        CacheAdminService,
        RateLimitService,
        ConsistencyTokens,
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
