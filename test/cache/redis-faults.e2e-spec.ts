import Redis from 'ioredis';
import { useKillableRedis } from './support/killable-redis';
import { countingObserver, eventually, FakePortal, recordingLogger, uniquePrefix } from './support/fake-portal';

const ORG = 'org-f';
const BASE = { ttlS: 300, staleS: 3600, negativeTtlS: 30, ttlJitter: 0, redisTimeoutMs: 200 };

describe('AssetSetCache when Redis fails', () => {
  let portal: FakePortal;
  const killable = useKillableRedis((redisUrl) => ({ ...BASE, redisUrl, keyPrefix: uniquePrefix('faults') }));

  beforeEach(() => {
    portal = new FakePortal();
  });

  it('Redis killed mid-run: every read is answered by the loader, health is down, errors are logged once; restarted: HITs again', async () => {
    const { counts, observer } = countingObserver();
    const { lines, logger } = recordingLogger();
    const cache = await killable.makeCache({ localTtlMs: 0, observer, logger });
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
    expect(cache.health()).toBe('up');

    await killable.redis.kill();
    await eventually(() => cache.health() === 'down', 5_000, 'health down');
    for (let i = 0; i < 20; i++) {
      const r = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      expect(r).toMatchObject({ status: 'MISS', set: portal.setOf('u1') });
    }
    const batch = await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch);
    expect([...batch.values()].map((r) => r.status)).toEqual(['MISS', 'MISS']);
    expect(await cache.getAssetDetails(ORG, ['asset-0001'])).toEqual(new Map());
    expect(await cache.orgMark(ORG)).toEqual({ missing: false });
    expect(portal.count).toBe(22);
    expect(counts.redisErrors).toBeGreaterThan(0);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).not.toContain('redis://');

    await killable.redis.start();
    await eventually(() => cache.health() === 'up', 10_000, 'health up');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
    expect(portal.count).toBe(23);
    expect(lines.filter((l) => l.level === 'log' && /back/.test(l.message))).toHaveLength(1);
  });

  it('a slow Redis (blocked past redisTimeoutMs) is a cache bypass, not a failed or slow call', async () => {
    const { counts, observer } = countingObserver();
    const cache = await killable.makeCache({ localTtlMs: 0, observer, logger: recordingLogger().logger });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const blocker = new Redis(killable.redis.url);
    await blocker.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const started = Date.now();
    const r = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const tookMs = Date.now() - started;
    expect(r.status).toBe('MISS');
    expect(portal.count).toBe(2);
    expect(tookMs).toBeLessThan(1_000);
    expect(counts.redisErrors).toBeGreaterThan(0);
    expect(cache.health()).toBe('down');
    blocker.disconnect();
    await eventually(async () => (await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status === 'HIT', 5_000, 'HIT after Redis unblocks');
    expect(cache.health()).toBe('up');
  });

  it('while Redis is down the in-process copy still serves within its short lifetime', async () => {
    const cache = await killable.makeCache({ localTtlMs: 60_000, logger: recordingLogger().logger });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const held = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await killable.redis.kill();
    await eventually(() => cache.health() === 'down', 5_000, 'health down');
    const served = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(served).toMatchObject({ status: 'HIT', loadedAt: held.loadedAt });
    expect(served.set).toBe(held.set);
    expect(portal.count).toBe(1);
  });

  it('starts with Redis down (no failure), serves from the loader, and uses Redis once it appears', async () => {
    await killable.redis.kill();
    const cache = await killable.makeCache({ localTtlMs: 0, logger: recordingLogger().logger });
    expect(cache.health()).toBe('down');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    await expect(cache.invalidateUser(ORG, 'u1')).rejects.toMatchObject({ code: 'CACHE_UNAVAILABLE' });
    await killable.redis.start();
    await eventually(() => cache.health() === 'up', 10_000, 'health up');
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
    expect(portal.count).toBe(3);
  });

  it('after a restart emptied Redis, invalidations still reach other instances (subscription restored)', async () => {
    const shared = { keyPrefix: uniquePrefix('faults'), localTtlMs: 60_000, logger: recordingLogger().logger };
    const a = await killable.makeCache(shared);
    const b = await killable.makeCache(shared);
    await killable.redis.kill();
    await killable.redis.start();
    await eventually(() => a.health() === 'up' && b.health() === 'up', 10_000, 'both up');
    await a.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const held = await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(held.status).toBe('HIT');
    await eventually(
      async () => {
        await a.invalidateUser(ORG, 'u1');
        await new Promise((r) => setTimeout(r, 50));
        return (await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status === 'MISS';
      },
      5_000,
      'b drops its copy',
    );
  });
});
