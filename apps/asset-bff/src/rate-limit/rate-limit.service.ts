import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import DataLoader from 'dataloader';
import Redis, { Cluster, Result } from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { Caller, callerKey } from '../auth/caller';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';

const WINDOW_MS = 1000;
const REDIS_TIMEOUT_MS = 100;
const KEY_PREFIX = 'abff:rl:';
/** INCRBY and PEXPIRE as one command: one reply to read instead of a MULTI's four. */
const COUNT_SCRIPT = "local c = redis.call('INCRBY', KEYS[1], ARGV[1]) redis.call('PEXPIRE', KEYS[1], ARGV[2]) return c";

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** COUNT_SCRIPT: adds `n` to the window's count, keeps the key `ttlMs`, and returns the new count. */
    rateCount(key: string, n: number, ttlMs: number): Result<number, Context>;
  }
}

/**
 * The RateLimit headers of an answer that no caller's limit counts (public routes, fastify's own, a 401, a request
 * refused before the access stage), none with the limit off: every answer carries the policy (API.md section 3), and
 * an uncounted request leaves the whole quota. The access stage replaces them with the caller's count.
 */
export function uncountedRateLimitHeaders(limit: number): Record<string, string> {
  if (limit <= 0) return {};
  return { 'RateLimit-Limit': String(limit), 'RateLimit-Remaining': String(limit), 'RateLimit-Reset': String(WINDOW_MS / 1000) };
}

/** One request's place in its caller's window: the window's count up to it, and the seconds until the window ends. */
interface Counted {
  count: number;
  resetS: number;
}

/**
 * Fixed one-second windows per caller, counted in Redis so that every instance shares the limit. Requests are
 * counted together (DataLoader): a batch is sent at the end of the turn once the batch before it has its answer, so
 * there is one count in flight and every request that arrives meanwhile joins the next one. That is one INCRBY +
 * PEXPIRE per caller and batch instead of one per request, and each request still gets its own exact place in the
 * shared count.
 * Without Redis, or while it is down, each instance counts alone: the limit degrades to per instance rather than
 * failing requests.
 */
@Injectable()
export class RateLimitService implements OnModuleDestroy {
  private readonly logger = new Logger(RateLimitService.name);
  private readonly limit: number;
  private readonly redis?: Redis | Cluster;
  private local = new Map<string, number>();
  private localWindow = 0;
  /** The batch last sent, settled or not: the next one waits for it. */
  private lastBatch: Promise<unknown> = Promise.resolve();
  /** No cache: every load is one request to count, the same caller key many times in a batch. */
  private readonly counts = new DataLoader<string, Counted>((keys) => this.countBatch(keys), {
    cache: false,
    batchScheduleFn: (run) => void this.lastBatch.then(() => setImmediate(run)),
  });

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
    this.redis?.defineCommand('rateCount', { numberOfKeys: 1, lua: COUNT_SCRIPT });
  }

  get enabled(): boolean {
    return this.limit > 0;
  }

  /** Counts a batch of requests (caller keys, repeated once per request) in the current window, in request order. */
  private countBatch(keys: readonly string[]): Promise<Counted[]> {
    const counted = this.countInWindow(keys);
    this.lastBatch = counted.catch(() => undefined);
    return counted;
  }

  private async countInWindow(keys: readonly string[]): Promise<Counted[]> {
    const now = Date.now();
    const window = Math.floor(now / WINDOW_MS);
    const resetS = Math.max(1, Math.ceil(((window + 1) * WINDOW_MS - now) / 1000));
    const requests = new Map<string, number>();
    for (const k of keys) requests.set(k, (requests.get(k) ?? 0) + 1);
    // Each caller's next place in its window: its first request of this batch follows the count before the batch.
    const next = new Map<string, number>();
    await Promise.all([...requests].map(async ([key, n]) => next.set(key, (await this.add(key, n, window)) - n + 1)));
    return keys.map((key) => {
      const count = next.get(key) as number;
      next.set(key, count + 1);
      return { count, resetS };
    });
  }

  /** Adds `n` requests to the caller's window: in Redis when it answers, else in this instance's own count. */
  private async add(key: string, n: number, window: number): Promise<number> {
    if (this.redis && this.redis.status === 'ready') {
      try {
        const k = `${KEY_PREFIX}{${key}}:${window}`;
        const count = Number(await this.redis.rateCount(k, n, WINDOW_MS * 2));
        if (!Number.isNaN(count)) return count;
      } catch {
        this.logger.warn('rate limit: Redis unavailable, counting per instance');
      }
    }
    if (window !== this.localWindow) {
      this.local = new Map();
      this.localWindow = window;
    }
    const count = (this.local.get(key) ?? 0) + n;
    this.local.set(key, count);
    return count;
  }

  /**
   * Counts the caller's request and returns the RateLimit-Limit, -Remaining and -Reset headers of its answer
   * (draft-ietf-httpapi-ratelimit-headers); RATE_LIMITED (429, Retry-After) when over the limit.
   */
  async enforce(caller: Caller, setHeaders: (headers: Record<string, string>) => void): Promise<void> {
    if (this.limit <= 0) return;
    const w = await this.counts.load(callerKey(caller));
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
