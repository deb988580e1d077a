import { AssetCacheOptions, AssetSetCache } from '@app/asset-cache';
import { freePort } from '../../support/ports';
import { OwnRedis, portOpen } from '../../support/redis';

/** A suite's own redis-server, which its tests kill and restart, and the caches they make on it. */
export interface KillableRedis {
  /** The server (set once the suite's beforeAll has run). */
  readonly redis: OwnRedis;
  /** A connected cache on the server with the suite's options and `extra`; closed after the test. */
  makeCache(extra?: Partial<AssetCacheOptions>): Promise<AssetSetCache>;
}

/**
 * Registers the hooks of a suite that kills Redis: its own server started once, started again before each test if a
 * test left it dead, and every cache a test made closed after it. `options` are the suite's cache options for a URL.
 */
export function useKillableRedis(options: (redisUrl: string) => Partial<AssetCacheOptions>): KillableRedis {
  let redis: OwnRedis | undefined;
  let caches: AssetSetCache[] = [];
  const server = (): OwnRedis => {
    if (!redis) throw new Error('the killable Redis is not started yet (use it inside tests)');
    return redis;
  };
  beforeAll(async () => {
    redis = new OwnRedis(await freePort());
    await redis.start();
  });
  beforeEach(async () => {
    if (!(await portOpen(server().port))) await server().start();
  });
  afterEach(async () => {
    await Promise.all(caches.map((c) => c.close()));
    caches = [];
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    get redis() {
      return server();
    },
    async makeCache(extra = {}) {
      const c = new AssetSetCache({ ...options(server().url), ...extra } as AssetCacheOptions);
      await c.connect();
      caches.push(c);
      return c;
    },
  };
}
