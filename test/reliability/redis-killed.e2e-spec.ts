import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { OwnRedis, waitFor } from '../support/redis';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;
/** Test profile: o1's u0005..u0020 hold 10 assets each, one asset/list page. */
const users = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `u${String(from + i).padStart(4, '0')}`);
const WARM = users(5, 10);
const COLD = users(11, 20);
const CLIENTS = 8;
const ROUNDS = 4;

/**
 * Redis killed under load with the portal healthy, with real processes: no request fails, each user is loaded from
 * the portal at most once while Redis is gone (the warm ones not at all), and at most once more after it came back
 * empty (its copies are dropped then: invalidations may have been missed), then HITs.
 */
describe('asset-bff when Redis is killed and restarted empty, the portal healthy', () => {
  let sim: SimHandle;
  let redis: OwnRedis;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    redis = new OwnRedis(await freePort());
    await redis.start();
    bff = await startBff({ sim, env: { REDIS_URL: `${redis.url}/0` } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
    await redis?.stop();
  });

  const readiness = async () => (await call(bff.url, 'GET', '/health/ready')).body as { redis: string };
  const assetListCalls = async () => (await sim.admin.counters()).endpoints.assetList.calls;
  /** CLIENTS concurrent readers, each reading every user ROUNDS times in its own order; returns the statuses seen. */
  const readAll = async (ids: string[]): Promise<Record<string, number>> => {
    const statuses: Record<string, number> = {};
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < ids.length; i++) {
            const r = await call(bff.url, 'GET', `/v1/orgs/o1/users/${ids[(i + c) % ids.length]}/assets`, { key });
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            expect(r.body.assets).toHaveLength(10);
          }
        }
      }),
    );
    return statuses;
  };

  it('answers every read, loading each user at most once during the outage and once after the empty restart', async () => {
    expect(await readAll(WARM)).toEqual({ 200: CLIENTS * ROUNDS * WARM.length });
    await redis.kill();
    await waitFor(async () => (await readiness()).redis === 'down', 10_000, 'redis down');
    await sim.admin.resetCounters();
    const all = [...WARM, ...COLD];
    expect(await readAll(all)).toEqual({ 200: CLIENTS * ROUNDS * all.length });
    // The warm users from their in-process copies, each cold user loaded once.
    expect(await assetListCalls()).toBe(COLD.length);
    const batch = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: all } });
    expect(batch.status).toBe(200);
    expect(batch.body.users.map((u: { assetIds: string[] }) => u.assetIds.length)).toEqual(all.map(() => 10));

    await redis.start();
    await waitFor(async () => (await readiness()).redis === 'up', 15_000, 'redis up');
    await sim.admin.resetCounters();
    expect(await readAll(all)).toEqual({ 200: CLIENTS * ROUNDS * all.length });
    expect(await assetListCalls()).toBeLessThanOrEqual(all.length);
    const again = await call(bff.url, 'GET', `/v1/orgs/o1/users/${COLD[0]}/assets`, { key });
    expect(again.headers.get('x-cache')).toBe('HIT');
  });
});
