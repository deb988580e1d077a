import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Caller, callerKey } from '../auth/caller';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';

const WINDOW_MS = 1000;
const REDIS_TIMEOUT_MS = 100;
const KEY_PREFIX = 'abff:rl:';

/**
 * Fixed one-second windows per caller, counted in Redis so that every instance shares the limit
 * (INCR + PEXPIRE in one round trip). Without Redis, or while it is down, each instance counts alone:
 * the limit degrades to per instance rather than failing requests.
 */
@Injectable()
export class RateLimitService implements OnModuleDestroy {
  private readonly logger = new Logger(RateLimitService.name);
  private readonly limit: number;
  private readonly redis?: Redis | Cluster;
  private local = new Map<string, number>();
  private localWindow = 0;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.limit = config.RATE_LIMIT_PER_S;
    if (this.limit <= 0) return;
    const common = { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: REDIS_TIMEOUT_MS, lazyConnect: false };
    if (config.REDIS_CLUSTER_NODES?.length) {
      this.redis = new Cluster(
        config.REDIS_CLUSTER_NODES.map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })),
        { redisOptions: common },
      );
    } else if (config.REDIS_URL) {
      this.redis = new Redis(config.REDIS_URL, common);
    }
    this.redis?.on('error', () => undefined);
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Counts one request of `key` in the current window: the window's count and the seconds until it ends. */
  private async count(key: string): Promise<{ count: number; resetS: number }> {
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    const retryAfterS = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    let count: number | undefined;
    if (this.redis && this.redis.status === 'ready') {
      try {
        const k = `${KEY_PREFIX}{${key}}:${window}`;
        const res = await this.redis
          .multi()
          .incr(k)
          .pexpire(k, WINDOW_MS * 2)
          .exec();
        count = Number(res?.[0]?.[1]);
      } catch {
        this.logger.warn('rate limit: Redis unavailable, counting per instance');
      }
    }
    if (count === undefined || Number.isNaN(count)) {
      if (window !== this.localWindow) {
        this.local = new Map();
        this.localWindow = window;
      }
      count = (this.local.get(key) ?? 0) + 1;
      this.local.set(key, count);
    }
    return { count, resetS: retryAfterS };
  }

  /**
   * Counts the caller's request and returns the RateLimit-Limit, -Remaining and -Reset headers of its answer
   * (draft-ietf-httpapi-ratelimit-headers); RATE_LIMITED (429, Retry-After) when over the limit.
   */
  async enforce(caller: Caller, setHeaders: (headers: Record<string, string>) => void): Promise<void> {
    if (this.limit <= 0) return;
    const w = await this.count(callerKey(caller));
    setHeaders({
      'RateLimit-Limit': String(this.limit),
      'RateLimit-Remaining': String(Math.max(0, this.limit - w.count)),
      'RateLimit-Reset': String(w.resetS),
    });
    if (w.count > this.limit) {
      throw new AppException(ErrorCode.RateLimited, `More than the allowed requests per second; retry in ${w.resetS}s`, { retryAfterS: w.resetS });
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.redis?.disconnect();
  }
}
