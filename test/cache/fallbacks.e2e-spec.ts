import Redis from 'ioredis';
import { CacheKeys } from '@app/asset-cache';
import { CutLink } from '../support/cut-link';
import { useKillableRedis } from './support/killable-redis';
import { eventually, FakePortal, JumpClock, recordingLogger, uniquePrefix } from './support/fake-portal';

const ORG = 'org-fb';
const BASE = { ttlS: 60, staleS: 600, negativeTtlS: 30, ttlJitter: 0, redisTimeoutMs: 200 };

/**
 * The last entry each user was served with stays in process as a STALE-only fallback: when Redis is gone (or came
 * back empty) and the portal fails together, users this instance has served are still answered; an invalidation
 * answered 204 is never undone by one.
 */
describe('AssetSetCache fallbacks when Redis and the portal fail together', () => {
  const boom = new Error('portal down');
  let portal: FakePortal;
  // No in-process copies (localTtlMs 0): every read reaches the store, as after a copy's lifetime.
  const killable = useKillableRedis((redisUrl) => ({ ...BASE, redisUrl, localTtlMs: 0, logger: recordingLogger().logger }));

  beforeEach(() => {
    portal = new FakePortal();
  });

  /** Two instances on one key prefix: A on Redis, B through a link the test can cut. */
  async function cutOffPair() {
    const prefix = uniquePrefix('fb');
    const link = new CutLink({ host: '127.0.0.1', port: killable.redis.port });
    await link.start();
    const a = await killable.makeCache({ keyPrefix: prefix });
    const b = await killable.makeCache({ keyPrefix: prefix, redisUrl: `redis://127.0.0.1:${link.port}` });
    return { prefix, link, a, b };
  }

  it('Redis killed while the portal fails: served users are answered STALE until ttl + stale; unseen users get the error', async () => {
    const clock = new JumpClock();
    const cache = await killable.makeCache({ keyPrefix: uniquePrefix('fb'), now: clock.now });
    const first = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await cache.getUserSets({ orgId: ORG }, ['u2', 'u3'], portal.batch);
    await killable.redis.kill();
    await eventually(() => cache.health() === 'down', 5_000, 'health down');
    portal.failWith = boom;
    clock.advance(120_000);
    const one = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(one).toMatchObject({ status: 'STALE', loadedAt: first.loadedAt, set: portal.setOf('u1') });
    const many = await cache.getUserSets({ orgId: ORG }, ['u2', 'u3'], portal.batch);
    expect([...many.values()].map((r) => r.status)).toEqual(['STALE', 'STALE']);
    expect(many.get('u3')?.set).toEqual(portal.setOf('u3'));
    await expect(cache.getUserSet({ orgId: ORG }, 'never', portal.single('never'))).rejects.toBe(boom);
    await expect(cache.getUserSets({ orgId: ORG }, ['u2', 'never'], portal.batch)).rejects.toBe(boom);
    clock.advance(600_000);
    await expect(cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
  });

  it("a fallback older than the read's notBefore is never its answer, with Redis gone or back empty (single and batch)", async () => {
    const cache = await killable.makeCache({ keyPrefix: uniquePrefix('fb') });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await cache.getUserSets({ orgId: ORG }, ['u2', 'u3'], portal.batch);
    // A token from a read (on any instance) after these loads: this instance's fallbacks are older than it.
    const notBefore = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    portal.failWith = boom;
    const tooOld = async (): Promise<void> => {
      await expect(cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'), { notBefore })).rejects.toBe(boom);
      await expect(cache.getUserSets({ orgId: ORG }, ['u2', 'u3'], portal.batch, { notBefore })).rejects.toBe(boom);
      // Without the notBefore the same fallbacks are the STALE answer.
      expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('STALE');
      const many = await cache.getUserSets({ orgId: ORG }, ['u2', 'u3'], portal.batch);
      expect([...many.values()].map((r) => r.status)).toEqual(['STALE', 'STALE']);
    };
    await killable.redis.kill();
    await eventually(() => cache.health() === 'down', 5_000, 'health down');
    await tooOld();
    await killable.redis.start();
    await eventually(() => cache.health() === 'up', 10_000, 'health up');
    await tooOld();
  });

  it('Redis came back empty while the portal fails: still STALE; once the portal answers, a MISS then HITs', async () => {
    const cache = await killable.makeCache({ keyPrefix: uniquePrefix('fb') });
    const first = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await killable.redis.kill();
    await killable.redis.start();
    await eventually(() => cache.health() === 'up', 10_000, 'health up');
    portal.failWith = boom;
    const stale = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(stale).toMatchObject({ status: 'STALE', loadedAt: first.loadedAt });
    portal.failWith = undefined;
    portal.version = 1;
    const fresh = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(fresh).toMatchObject({ status: 'MISS', set: portal.setOf('u1') });
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
  });

  it('an invalidation answered by another instance drops the fallback: never served again, even once Redis lost the generations', async () => {
    const prefix = uniquePrefix('fb');
    const a = await killable.makeCache({ keyPrefix: prefix });
    const b = await killable.makeCache({ keyPrefix: prefix });
    await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await b.getUserSets({ orgId: ORG }, ['u2'], portal.batch);
    await a.invalidateUser(ORG, 'u1');
    await killable.redis.kill();
    await eventually(() => b.health() === 'down', 5_000, 'health down');
    portal.failWith = boom;
    await expect(b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
    expect((await b.getUserSet({ orgId: ORG }, 'u2', portal.single('u2'))).status).toBe('STALE');
    await killable.redis.start();
    await eventually(() => b.health() === 'up', 10_000, 'health up');
    await expect(b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
    expect((await b.getUserSet({ orgId: ORG }, 'u2', portal.single('u2'))).status).toBe('STALE');
  });

  it('an invalidation recorded while this instance was cut off from Redis drops its fallbacks when it resubscribes, before the generation can be lost', async () => {
    const { prefix, link, a, b } = await cutOffPair();
    try {
      await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      await b.getUserSet({ orgId: ORG }, 'u2', portal.single('u2'));
      await link.cut();
      await eventually(() => b.health() === 'down', 5_000, 'b down');
      await a.invalidateUser(ORG, 'u1');
      await link.start();
      await eventually(() => b.health() === 'up', 10_000, 'b up');
      // The resubscription's check drops u1's fallback and keeps u2's.
      await eventually(() => b.localFallbacks === 1, 10_000, 'the check after resubscribing');
      // Redis then loses the users' generations (evicted, the same Redis run): whether an invalidation wrote them is
      // unknown, so neither fallback is served again, u1's (dropped) nor u2's.
      const raw = new Redis(killable.redis.url);
      await raw.del(new CacheKeys(prefix).userGeneration(ORG, 'u1'));
      await raw.del(new CacheKeys(prefix).userGeneration(ORG, 'u2'));
      raw.disconnect();
      portal.failWith = boom;
      await expect(b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
      await expect(b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
      await expect(b.getUserSet({ orgId: ORG }, 'u2', portal.single('u2'))).rejects.toBe(boom);
    } finally {
      await link.cut();
    }
  });

  it('an invalidation missed while cut off whose generation is evicted before the resubscription check still drops the fallback', async () => {
    const { prefix, link, a, b } = await cutOffPair();
    try {
      await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      await link.cut();
      await eventually(() => b.health() === 'down', 5_000, 'b down');
      await a.invalidateUser(ORG, 'u1');
      // Evicted before b can see it: the generation b finds is missing, not the invalidation's.
      const raw = new Redis(killable.redis.url);
      await raw.del(new CacheKeys(prefix).userGeneration(ORG, 'u1'));
      raw.disconnect();
      await link.start();
      await eventually(() => b.health() === 'up', 10_000, 'b up');
      await eventually(() => b.localFallbacks === 0, 10_000, 'the check after resubscribing');
      portal.failWith = boom;
      await expect(b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
    } finally {
      await link.cut();
    }
  });

  it('an instance subscribed throughout keeps serving a fallback whose generation was evicted: it heard every invalidation', async () => {
    const prefix = uniquePrefix('fb');
    const cache = await killable.makeCache({ keyPrefix: prefix });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const raw = new Redis(killable.redis.url);
    await raw.del(new CacheKeys(prefix).userGeneration(ORG, 'u1'));
    raw.disconnect();
    portal.failWith = boom;
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('STALE');
  });

  it('a fallback meeting an invalidated generation at a read is dropped, and stays dropped once the generation is lost', async () => {
    const prefix = uniquePrefix('fb');
    const keys = new CacheKeys(prefix);
    const cache = await killable.makeCache({ keyPrefix: prefix });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const raw = new Redis(killable.redis.url);
    // An invalidation this instance did not hear of (written behind its back): the entry no longer counts.
    await raw.set(keys.userGeneration(ORG, 'u1'), 'invalidatedToken');
    portal.failWith = boom;
    await expect(cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
    await raw.del(keys.userGeneration(ORG, 'u1'));
    raw.disconnect();
    await expect(cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
  });
});
