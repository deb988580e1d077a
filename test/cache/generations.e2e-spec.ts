import Redis from 'ioredis';
import { AssetCacheOptions, AssetSetCache, CacheKeys, scopeId } from '@app/asset-cache';
import { TEST_REDIS_URL } from '../support/test-redis';
import { FakePortal, recordingLogger, uniquePrefix } from './support/fake-portal';

const ORG = 'org-g';

/**
 * Under `maxmemory` with `allkeys-lru` Redis may evict a generation key while entries written under it survive. A
 * missing generation must then mean "unknown: reload", never "the first one": an invalidated (revoked) entry must
 * never count again. Eviction is simulated by deleting the generation key.
 */
describe('AssetSetCache generations when Redis evicts them', () => {
  let prefix: string;
  let keys: CacheKeys;
  let portal: FakePortal;
  let cache: AssetSetCache;
  let raw: Redis;

  beforeEach(async () => {
    prefix = uniquePrefix('gens');
    keys = new CacheKeys(prefix);
    portal = new FakePortal();
    // No in-process copies: every read goes to Redis.
    cache = new AssetSetCache({
      ttlS: 300,
      staleS: 3600,
      negativeTtlS: 30,
      ttlJitter: 0,
      redisTimeoutMs: 2_000,
      localTtlMs: 0,
      keyPrefix: prefix,
      logger: recordingLogger().logger,
      redisUrl: TEST_REDIS_URL,
    } as AssetCacheOptions);
    await cache.connect();
    raw = new Redis(TEST_REDIS_URL);
  });

  afterEach(async () => {
    await cache.close();
    const left = await raw.keys(`${prefix}:*`);
    if (left.length) await raw.unlink(...left);
    raw.disconnect();
  });

  const entryKey = (userId: string): string => keys.userSet(ORG, scopeId(undefined), userId);

  it("a user's invalidated entry is not served after the user's generation is evicted: the read reloads", async () => {
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
    const revoked = await raw.get(entryKey('u1'));
    portal.version = 1;
    await cache.invalidateUser(ORG, 'u1');
    await raw.del(keys.userGeneration(ORG, 'u1'));
    // the invalidated entry is still in Redis, word for word
    expect(await raw.get(entryKey('u1'))).toBe(revoked);
    const after = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(after.status).toBe('MISS');
    expect(after.set).toEqual(portal.setOf('u1'));
    expect(portal.count).toBe(2);
    // the reloaded entry counts again under the generation created by that read
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
    expect(portal.count).toBe(2);
  });

  it("an OU's invalidated entries are not served after the OU's generation is evicted (single and batch reads)", async () => {
    await cache.getUserSets({ orgId: ORG }, ['u1', 'u2', 'u3'], portal.batch);
    portal.version = 1;
    await cache.invalidateOrg(ORG);
    await raw.del(keys.orgGeneration(ORG));
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    const batch = await cache.getUserSets({ orgId: ORG }, ['u2', 'u3'], portal.batch);
    expect([...batch.values()].map((r) => r.status)).toEqual(['MISS', 'MISS']);
    expect(batch.get('u3')?.set).toEqual(portal.setOf('u3'));
    expect(portal.calls).toEqual([['u1', 'u2', 'u3'], ['u1'], ['u2', 'u3']]);
  });

  it('an evicted generation is never taken for the first one, even without an invalidation: the entries written under the lost one reload', async () => {
    await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch);
    await raw.del(keys.userGeneration(ORG, 'u1'), keys.orgGeneration(ORG));
    const r = await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch);
    expect([...r.values()].map((x) => x.status)).toEqual(['MISS', 'MISS']);
    expect(portal.count).toBe(2);
  });

  it('two instances reading a lost generation at once agree on the one created (both then serve the same entries)', async () => {
    const other = new AssetSetCache({
      ttlS: 300,
      staleS: 3600,
      negativeTtlS: 30,
      ttlJitter: 0,
      redisTimeoutMs: 2_000,
      localTtlMs: 0,
      keyPrefix: prefix,
      logger: recordingLogger().logger,
      redisUrl: TEST_REDIS_URL,
    } as AssetCacheOptions);
    await other.connect();
    try {
      await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      await raw.del(keys.orgGeneration(ORG));
      portal.delayMs = 50;
      const [a, b] = await Promise.all([
        cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1')),
        other.getUserSet({ orgId: ORG }, 'u1', portal.single('u1')),
      ]);
      // one reload across both (the lock), the other instance finds it under the same new generation
      expect([a.status, b.status].sort()).toEqual(['HIT', 'MISS']);
      expect(portal.count).toBe(2);
      expect((await other.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
      expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
      expect(portal.count).toBe(2);
    } finally {
      await other.close();
    }
  });
});
