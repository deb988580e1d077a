import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { CutLink } from '../support/cut-link';
import { freePort } from '../support/ports';
import { OwnRedis, waitFor } from '../support/redis';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ids = (r: { body: { assets: { id: string }[] } }): string[] => r.body.assets.map((x) => x.id);

/**
 * After a Redis restart each instance's client reconnects on its own schedule, and one that has not yet serves its
 * in-process copies. An invalidation answered 204 by an instance that is back already must not be undone there: it
 * is answered once every instance could have reconnected (and so dropped its copies).
 */
describe('asset-bff an invalidation answered as Redis comes back', () => {
  let sim: SimHandle;
  let redis: OwnRedis;
  let link: CutLink;
  let a: BffHandle;
  let late: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    redis = new OwnRedis(await freePort());
    await redis.start();
    link = new CutLink({ host: '127.0.0.1', port: redis.port });
    await link.start();
    [a, late] = await Promise.all([
      startBff({ sim, env: { REDIS_URL: `${redis.url}/0` } }),
      // Reaches Redis through a link the test cuts: it reconnects only once the link is back.
      startBff({ sim, env: { REDIS_URL: `redis://127.0.0.1:${link.port}/0` } }),
    ]);
  });
  afterAll(async () => {
    await a?.stop();
    await late?.stop();
    await link?.cut();
    await sim?.stop();
    await redis?.stop();
  });

  const readiness = async (b: BffHandle) => (await call(b.url, 'GET', '/health/ready')).body as { redis: string };

  it('is not undone by an instance whose Redis client reconnects after the 204', async () => {
    const before = await call(late.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key });
    expect(before.status).toBe(200);
    const revoked = ids(before)[0];
    expect((await call(late.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key })).headers.get('x-cache')).toBe('HIT');

    await link.cut();
    await redis.kill();
    await waitFor(async () => (await readiness(a)).redis === 'down' && (await readiness(late)).redis === 'down', 10_000, 'redis down on both');
    await sim.admin.revoke('o1', 'u0011', [revoked]);
    // While its Redis is down the late instance answers from its copy: no invalidation can be recorded then.
    expect(ids(await call(late.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key }))).toContain(revoked);

    await redis.start();
    await waitFor(async () => (await readiness(a)).redis === 'up', 15_000, 'redis up on a');
    // The admin tool retries its 503 CACHE_UNAVAILABLE (README) until an instance answers 204.
    const deleting = (async () => {
      for (;;) {
        const r = await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0011/cache', { key });
        if (r.status !== 503) return r;
        await sleep(100);
      }
    })();
    // The late instance's link comes back after the DELETE was sent: its client reconnects within its backoff.
    await sleep(500);
    await link.start();
    expect((await deleting).status).toBe(204);

    const after = await call(late.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key });
    expect(after.status).toBe(200);
    expect(ids(after)).not.toContain(revoked);
    expect(ids(after)).toEqual(ids(before).filter((id) => id !== revoked));
  });
});
