import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { OwnRedis, waitFor } from '../support/redis';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stale copies when the portal fails after the TTL', () => {
  let sim: SimHandle;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(5), CACHE_TTL_S: '1', CACHE_STALE_S: '3', PORTAL_TIMEOUT_MS: '300' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it('serves STALE within CACHE_STALE_S, then the contract error', async () => {
    const fresh = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0013/assets', { key });
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    const batch = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0014'] } });
    expect(batch.status).toBe(200);
    await sleep(1500);
    await sim.admin.setFault('*', { httpStatus: 503 });
    const stale = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0013/assets', { key });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('x-cache')).toBe('STALE');
    expect(Number(stale.headers.get('age'))).toBeGreaterThanOrEqual(1);
    expect(stale.body).toEqual(fresh.body);
    const staleBatch = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0014'] } });
    expect(staleBatch.status).toBe(200);
    expect(staleBatch.headers.get('x-cache')).toBe('STALE');
    await sleep(3500);
    const gone = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0013/assets', { key });
    expect(gone.status).toBe(503);
    expect(gone.body.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(gone.headers.get('retry-after')).toBeTruthy();
    await sim.admin.clearFaults();
  }, 30_000);

  it('recovers by itself when the portal comes back (circuit closes)', async () => {
    await sim.admin.setFault('*', { httpStatus: 503 });
    for (let i = 0; i < 8; i++) await call(bff.url, 'GET', `/v1/orgs/o1/users/u00${15 + (i % 3)}/assets`, { key, headers: { 'cache-control': 'no-cache' } });
    const ready = await call(bff.url, 'GET', '/health/ready');
    expect(ready.body).toMatchObject({ status: 'degraded', upstream: 'down' });
    await sim.admin.clearFaults();
    // With no read at all, readiness finds the portal back by itself (a probe once the circuit's open period is over).
    await waitFor(async () => (await call(bff.url, 'GET', '/health/ready')).body.upstream === 'up', 15_000, 'readiness up without traffic');
    // waitFor fails the test if the circuit has not let a call through within 15 s.
    await waitFor(
      async () => (await call(bff.url, 'GET', '/v1/orgs/o1/users/u0018/assets', { key, headers: { 'cache-control': 'no-cache' } })).status === 200,
      15_000,
      'first success',
    );
    expect((await call(bff.url, 'GET', '/health/ready')).body).toEqual({ status: 'ok', redis: 'up', upstream: 'up' });
  }, 30_000);
});

describe('a portal never reached', () => {
  it('readiness says so before any read: degraded, upstream down', async () => {
    const closed = await freePort();
    const bff = await startBff({
      env: { REDIS_URL: await cleanRedisDb(5), PORTAL_BASE_URL: `http://127.0.0.1:${closed}`, PORTAL_APP_KEY: 'k', PORTAL_APP_SECRET: 's' },
    });
    try {
      const ready = await call(bff.url, 'GET', '/health/ready');
      expect([ready.status, ready.body]).toEqual([200, { status: 'degraded', redis: 'up', upstream: 'down' }]);
    } finally {
      await bff.stop();
    }
  });
});

describe('Redis stopped in the middle of a run', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let redis: OwnRedis;

  beforeAll(async () => {
    sim = await startSim();
    redis = new OwnRedis(await freePort());
    await redis.start();
    bff = await startBff({ sim, env: { REDIS_URL: redis.url, CACHE_LOCAL_TTL_MS: '1000' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  it('serves every request from the portal while Redis is down, and hits again once it is back', async () => {
    expect((await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key })).headers.get('x-cache')).toBe('MISS');
    await redis.kill();
    await sleep(1500); // past the in-process copy's lifetime
    await sim.admin.resetCounters();
    const users = ['u0101', 'u0102', 'u0103', 'u0104', 'u0105'];
    for (let round = 0; round < 3; round++) {
      for (const u of users) {
        const r = await call(bff.url, 'GET', `/v1/orgs/o2/users/${u}/assets`, { key });
        expect(r.status).toBe(200);
        expect(r.body.assets).toHaveLength(5);
      }
      const batch = await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: users } });
      expect(batch.status).toBe(200);
      const checks = await call(bff.url, 'POST', '/v1/orgs/o2/access-checks', { key, body: { checks: [{ userId: 'u0101', assetId: 'o2-a0001' }] } });
      expect(checks.body.results[0].allowed).toBe(true);
    }
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBeGreaterThanOrEqual(5);
    const inval = await call(bff.url, 'DELETE', '/v1/orgs/o2/users/u0101/cache', { key });
    expect(inval.status).toBe(503);
    expect(inval.body.code).toBe('CACHE_UNAVAILABLE');
    expect(inval.headers.get('retry-after')).toBeTruthy();
    const degraded = await call(bff.url, 'GET', '/health/ready');
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({ status: 'degraded', redis: 'down' });

    await redis.start();
    await waitFor(async () => (await call(bff.url, 'GET', '/health/ready')).body.redis === 'up', 15_000, 'redis up again');
    await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key });
    await sim.admin.resetCounters();
    const hit = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    await sleep(1200); // past the in-process copy: the hit comes from Redis
    const redisHit = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key });
    expect(redisHit.headers.get('x-cache')).toBe('HIT');
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(0);
  }, 60_000);
});
