import Redis from 'ioredis';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { OwnRedis } from '../support/redis';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;
/** Small enough that the filler keeps Redis evicting the cache's own keys (generations, entries, dictionary). */
const MAXMEMORY = '3mb';
const JUNK_VALUE = 'x'.repeat(16 * 1024);
const JUNK_PER_ROUND = 8;
const FILLER_PAUSE_MS = 5;
/** The test profile's o1 users u0005..u0020 hold 10 assets each: u00k holds o1-a((k-5)*10+1) .. o1-a((k-5)*10+10). */
const USERS = Array.from({ length: 16 }, (_, i) => `u${String(i + 5).padStart(4, '0')}`);
const REVOKES_PER_USER = 9;
const firstAsset = (user: string): number => (Number(user.slice(1)) - 5) * 10 + 1;
const assetId = (n: number): string => `o1-a${String(n).padStart(4, '0')}`;

/**
 * Redis under maxmemory with allkeys-lru, kept evicting by a filler, shared by two service instances, while grants are
 * revoked in the simulator and invalidated over DELETE …/cache: no read that starts after a 204 ever shows a revoked
 * grant, on either instance, on any route.
 */
describe('asset-bff under Redis eviction (allkeys-lru): no revoked grant comes back', () => {
  let sim: SimHandle;
  let redis: OwnRedis;
  let a: BffHandle;
  let b: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    redis = new OwnRedis(await freePort(), ['--maxmemory', MAXMEMORY, '--maxmemory-policy', 'allkeys-lru']);
    await redis.start();
    const env = { REDIS_URL: `${redis.url}/0` };
    [a, b] = await Promise.all([startBff({ sim, env }), startBff({ sim, env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await sim?.stop();
    await redis?.stop();
  });

  it('reads, revokes and invalidations on two instances while Redis evicts: zero revoked grants served after a 204', async () => {
    /** Assets whose revoke was invalidated with a 204, by user: a read started after that must not show them. */
    const revoked = new Map<string, Set<string>>(USERS.map((u) => [u, new Set<string>()]));
    const violations: string[] = [];
    let reads = 0;

    /** Reads the user on one instance over one of the three routes, and checks no grant revoked before it is shown. */
    const readAndCheck = async (base: string, user: string, route: number): Promise<void> => {
      const gone = [...(revoked.get(user) ?? [])];
      let shown: string[];
      if (route === 0) {
        const r = await call(base, 'GET', `/v1/orgs/o1/users/${user}/assets`, { key });
        expect(r.status).toBe(200);
        shown = (r.body.assets as { id: string }[]).map((x) => x.id);
      } else if (route === 1) {
        const r = await call(base, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: [user] } });
        expect(r.status).toBe(200);
        shown = r.body.users[0].assetIds as string[];
      } else {
        const body = { checks: gone.map((id) => ({ userId: user, assetId: id })) };
        if (body.checks.length === 0) return;
        const r = await call(base, 'POST', '/v1/orgs/o1/access-checks', { key, body });
        expect(r.status).toBe(200);
        shown = (r.body.results as { assetId: string; allowed: boolean }[]).filter((x) => x.allowed).map((x) => x.assetId);
      }
      reads++;
      for (const id of gone) if (shown.includes(id)) violations.push(`${base} route ${route}: ${user} still shown ${id}`);
    };

    const filler = new Redis(redis.url);
    // The cache's generation keys, watched: one seen and later absent was evicted (nothing else deletes them).
    const generationKeys = ['abff:{o1}:g', ...USERS.map((u) => `abff:{o1}:ug:${u}`)];
    const seen = new Set<string>();
    let generationsEvicted = 0;
    let filling = true;
    const fill = (async () => {
      for (let n = 0; filling; n++) {
        const p = filler.pipeline();
        for (let i = 0; i < JUNK_PER_ROUND; i++) p.set(`junk:${n}:${i}`, JUNK_VALUE);
        await p.exec();
        const present = await filler.mget(generationKeys);
        generationKeys.forEach((k, i) => {
          if (present[i] !== null) seen.add(k);
          else if (seen.delete(k)) generationsEvicted++;
        });
        await new Promise((r) => setTimeout(r, FILLER_PAUSE_MS));
      }
    })();
    let reading = true;
    const background = (async () => {
      for (let n = 0; reading; n++) await readAndCheck(n % 2 ? a.url : b.url, USERS[n % USERS.length], n % 3);
    })();

    try {
      for (let round = 0; round < REVOKES_PER_USER; round++) {
        for (const [i, user] of USERS.entries()) {
          await readAndCheck(a.url, user, round % 3);
          await readAndCheck(b.url, user, (round + 1) % 3);
          const id = assetId(firstAsset(user) + round);
          await sim.admin.revoke('o1', user, [id]);
          const invalidator = i % 2 ? a : b;
          const path = i % 4 === 3 ? '/v1/orgs/o1/cache' : `/v1/orgs/o1/users/${user}/cache`;
          const d = await call(invalidator.url, 'DELETE', path, { key });
          expect(d.status).toBe(204);
          revoked.get(user)?.add(id);
          for (const route of [0, 1, 2]) {
            await readAndCheck(a.url, user, route);
            await readAndCheck(b.url, user, route);
          }
        }
      }
    } finally {
      reading = false;
      filling = false;
      await Promise.all([background, fill]);
    }
    const info = await filler.info('stats');
    filler.disconnect();
    const evicted = Number(/evicted_keys:(\d+)/.exec(info)?.[1] ?? 0);
    expect(violations).toEqual([]);
    expect(evicted).toBeGreaterThan(1_000);
    expect(generationsEvicted).toBeGreaterThan(0);
    expect(reads).toBeGreaterThan(USERS.length * REVOKES_PER_USER * 8);
  });
});
