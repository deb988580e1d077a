import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { rawCall } from '../support/raw-http';
import { OwnRedis, waitFor } from '../support/redis';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;

/**
 * Redis and the portal down together, with real processes: users this instance has served are answered with their
 * last known set as STALE (also once Redis came back empty, until the portal answers again); a user it never saw gets
 * 503 with Retry-After; an invalidation it could not record answers 503 CACHE_UNAVAILABLE and its user is not served
 * from the fallback after it.
 */
describe('asset-bff when Redis and the portal fail together', () => {
  let sim: SimHandle;
  let redis: OwnRedis;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    redis = new OwnRedis(await freePort());
    await redis.start();
    // Copies live 300 ms here: past that every read asks Redis, as after CACHE_LOCAL_TTL_MS in production.
    bff = await startBff({ sim, env: { REDIS_URL: `${redis.url}/0`, CACHE_LOCAL_TTL_MS: '300', REDIS_TIMEOUT_MS: '200', PORTAL_TIMEOUT_MS: '500' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  const single = (user: string) => call(bff.url, 'GET', `/v1/orgs/o1/users/${user}/assets`, { key });
  const batch = (users: string[]) => call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: users } });
  const checks = (user: string, assetId: string) => call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: user, assetId }] } });
  const readiness = async () => (await call(bff.url, 'GET', '/health/ready')).body as { redis: string; upstream: string };
  /** Polls until a read of the user is answered STALE (its in-process copy has expired), and returns that answer. */
  const staleRead = async (read: () => ReturnType<typeof call>) => {
    let last: Awaited<ReturnType<typeof call>> | undefined;
    await waitFor(
      async () => {
        last = await read();
        return last.headers.get('x-cache') === 'STALE';
      },
      10_000,
      'a STALE answer',
    );
    return last!;
  };

  it('served users stay answered STALE; unseen users get 503 with Retry-After; after Redis came back empty too; then MISS once the portal is back', async () => {
    const fresh = await single('u0005');
    expect(fresh.status).toBe(200);
    const freshBatch = await batch(['u0006', 'u0007']);
    expect(freshBatch.status).toBe(200);
    expect((await checks('u0008', 'o1-a0031')).body.results[0].allowed).toBe(true);

    await redis.kill();
    await sim.admin.setFault('*', { httpStatus: 503 });
    await waitFor(async () => (await readiness()).redis === 'down', 10_000, 'redis down');

    const stale = await staleRead(() => single('u0005'));
    expect(stale.status).toBe(200);
    expect(stale.body).toEqual(fresh.body);
    const staleBatch = await staleRead(() => batch(['u0006', 'u0007']));
    expect(staleBatch.body).toEqual(freshBatch.body);
    const staleCheck = await staleRead(() => checks('u0008', 'o1-a0031'));
    expect(staleCheck.body.results[0].allowed).toBe(true);
    const unseen = await single('u0009');
    expect(unseen.status).toBe(503);
    expect(unseen.body.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(Number(unseen.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await batch(['u0006', 'u0010'])).status).toBe(503);

    // Redis back, empty; the portal still failing: the same users are still answered.
    await redis.start();
    await waitFor(async () => (await readiness()).redis === 'up', 15_000, 'redis up');
    const afterRestart = await single('u0005');
    expect(afterRestart.status).toBe(200);
    expect(afterRestart.headers.get('x-cache')).toBe('STALE');
    expect(afterRestart.body).toEqual(fresh.body);
    expect((await batch(['u0006', 'u0007'])).headers.get('x-cache')).toBe('STALE');
    expect((await single('u0009')).status).toBe(503);

    // The portal answers again: a fresh load, then HITs.
    await sim.admin.clearFaults();
    await waitFor(async () => (await single('u0005')).headers.get('x-cache') === 'MISS', 15_000, 'a MISS once the portal answers');
    expect((await single('u0005')).headers.get('x-cache')).toBe('HIT');
  });

  it('an invalidation this instance could not record answers 503 CACHE_UNAVAILABLE, and that user is no longer served from the fallback', async () => {
    expect((await single('u0011')).status).toBe(200);
    expect((await single('u0012')).status).toBe(200);
    await redis.kill();
    await sim.admin.setFault('*', { httpStatus: 503 });
    await waitFor(async () => (await readiness()).redis === 'down', 10_000, 'redis down');
    const dropped = await call(bff.url, 'DELETE', '/v1/orgs/o1/users/u0011/cache', { key });
    expect(dropped.status).toBe(503);
    expect(dropped.body.code).toBe('CACHE_UNAVAILABLE');
    expect((await staleRead(() => single('u0012'))).status).toBe(200);
    const after = await single('u0011');
    expect(after.status).toBe(503);
    expect(after.body.code).toBe('UPSTREAM_UNAVAILABLE');
    await sim.admin.clearFaults();
    await redis.start();
  });

  it('answers served users STALE on the other read routes too: one asset, /v1/me/assets, the NDJSON batch', async () => {
    // The previous test's failures opened the circuit: wait until the portal is reachable again.
    await waitFor(async () => (await readiness()).redis === 'up' && (await readiness()).upstream === 'up', 15_000, 'redis and the portal up');
    const token = await sim.admin.userToken('u0014', 'o1');
    const asset = () => call(bff.url, 'GET', '/v1/orgs/o1/users/u0013/assets/o1-a0081', { key });
    const mine = () => call(bff.url, 'GET', '/v1/me/assets', { token });
    const lines = async () => {
      const r = await rawCall(
        `${bff.url}/v1/orgs/o1/user-assets`,
        'POST',
        { 'x-api-key': key, accept: 'application/x-ndjson' },
        JSON.stringify({ userIds: ['u0015', 'u0016'] }),
      );
      expect(r.status).toBe(200);
      return r.decoded
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    };
    const freshAsset = await asset();
    const freshMine = await mine();
    const freshLines = await lines();
    expect([freshAsset.status, freshMine.status, freshLines.at(-1).end.cache]).toEqual([200, 200, 'MISS']);

    await redis.kill();
    await sim.admin.setFault('*', { httpStatus: 503 });
    await waitFor(async () => (await readiness()).redis === 'down', 10_000, 'redis down');
    expect((await staleRead(asset)).body).toEqual(freshAsset.body);
    expect((await staleRead(mine)).body).toEqual(freshMine.body);
    let staleLines: Awaited<ReturnType<typeof lines>> = [];
    await waitFor(
      async () => {
        staleLines = await lines();
        return staleLines.at(-1)?.end?.cache === 'STALE';
      },
      10_000,
      'a STALE stream',
    );
    // The same lines as before, but for the end line's cache status.
    expect(staleLines.slice(0, -1)).toEqual(freshLines.slice(0, -1));
    await sim.admin.clearFaults();
    await redis.start();
  });
});
