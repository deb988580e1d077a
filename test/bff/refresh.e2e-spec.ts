import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** CACHE_TTL_S of this suite: short, so that the refresh-ahead window (the last 10% to 30% of it) comes within the test. */
const TTL_S = 10;
/** When the users are read again: past most refresh points (from 0.63 of the TTL), before any entry's end (0.9 at the earliest). */
const READ_AT_MS = TTL_S * 1000 * 0.87;

describe('background refresh-ahead', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  const users = Array.from({ length: 40 }, (_, i) => `rf-${String(i).padStart(2, '0')}`);
  const path = (u: string) => `/v1/orgs/o1/users/${u}/assets`;

  beforeAll(async () => {
    sim = await startSim();
    for (const userId of users) await sim.admin.createUser('o1', { userId, assetCount: 20 });
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(8), CACHE_TTL_S: String(TTL_S) } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it('renews the users that came due together with one users/assetList call and no asset/list call', async () => {
    // Loaded one by one (asset/list), as single reads load them.
    const warmed = Date.now();
    const before = new Map<string, { token: string | null; body: unknown }>();
    for (const u of users) {
      const r = await call(bff.url, 'GET', path(u), { key });
      expect(r.headers.get('x-cache')).toBe('MISS');
      before.set(u, { token: r.headers.get('x-consistency-token'), body: r.body });
    }
    await sleep(warmed + READ_AT_MS - Date.now());
    await sim.admin.resetCounters();
    // Every read is answered from the cache at once; those past their refresh point start a refresh behind it.
    for (const u of users) {
      const r = await call(bff.url, 'GET', path(u), { key });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-cache')).toBe('HIT');
    }
    await sleep(2_500);
    const c = await sim.admin.counters();
    // A renewed user is a HIT of a newer load; one that was not yet due has expired by now (a MISS, after the count).
    const renewed = [];
    for (const u of users) {
      const r = await call(bff.url, 'GET', path(u), { key });
      if (r.headers.get('x-cache') !== 'HIT' || r.headers.get('x-consistency-token') === before.get(u)?.token) continue;
      renewed.push(u);
      // The same answer as the one loaded from asset/list: both roads give one set, in one order, with the same names.
      expect(r.body).toEqual(before.get(u)?.body);
    }
    expect(renewed.length).toBeGreaterThan(0);
    expect(c.endpoints.assetList.calls).toBe(0);
    expect(c.endpoints.usersAssetList.calls).toBe(1);
    expect(c.endpoints.usersAssetList.users).toBe(renewed.length);
  }, 30_000);

  it('keeps the answer of a user whose refresh changed nothing, and makes a new one for a user whose grants changed', async () => {
    const org = 'o2';
    const many = Array.from({ length: 20 }, (_, i) => `rp-${String(i).padStart(2, '0')}`);
    for (const userId of many) await sim.admin.createUser(org, { userId, assetCount: 20 });
    const warmed = Date.now();
    // Loaded together (users/assetList, as refreshes load them), then read one by one: each answer made from the store.
    expect((await call(bff.url, 'POST', `/v1/orgs/${org}/user-assets`, { key, body: { userIds: many } })).status).toBe(200);
    const before = new Map<string, { token: string | null; etag: string | null; body: { assets: { id: string }[] } }>();
    for (const u of many) {
      const r = await call(bff.url, 'GET', `/v1/orgs/${org}/users/${u}/assets`, { key });
      expect(r.headers.get('x-cache')).toBe('HIT');
      before.set(u, { token: r.headers.get('x-consistency-token'), etag: r.headers.get('etag'), body: r.body as { assets: { id: string }[] } });
    }
    const changed = many[3];
    const revoked = before.get(changed)!.body.assets[0].id;
    await sim.admin.revoke(org, changed, [revoked]);
    const counted = await preparedCounts();
    await sleep(warmed + READ_AT_MS - Date.now());
    for (const u of many) expect((await call(bff.url, 'GET', `/v1/orgs/${org}/users/${u}/assets`, { key })).status).toBe(200);
    await sleep(2_500);
    const renewed: string[] = [];
    // A user not yet due at the first read has expired by now: it is loaded again (a MISS), and its answer made anew.
    let misses = 0;
    for (const u of many) {
      const r = await call(bff.url, 'GET', `/v1/orgs/${org}/users/${u}/assets`, { key });
      if (r.headers.get('x-cache') === 'MISS') misses++;
      if (r.headers.get('x-cache') !== 'HIT' || r.headers.get('x-consistency-token') === before.get(u)?.token) continue;
      renewed.push(u);
      const ids = (r.body as { assets: { id: string }[] }).assets.map((a) => a.id);
      if (u === changed) {
        expect(ids).not.toContain(revoked);
        expect(r.headers.get('etag')).not.toBe(before.get(u)?.etag);
      } else {
        expect(r.body).toEqual(before.get(u)?.body);
        expect(r.headers.get('etag')).toBe(before.get(u)?.etag);
      }
    }
    expect(renewed.length).toBeGreaterThan(1);
    const after = await preparedCounts();
    const changedRenewed = renewed.includes(changed) ? 1 : 0;
    expect(after.reused - counted.reused).toBe(renewed.length - changedRenewed);
    expect(after.made - counted.made).toBe(changedRenewed + misses);
    // Renewed or reloaded by now, the user whose grant was revoked is answered without it, whichever way it came.
    const last = await call(bff.url, 'GET', `/v1/orgs/${org}/users/${changed}/assets`, { key });
    expect((last.body as { assets: { id: string }[] }).assets.map((a) => a.id)).not.toContain(revoked);
  }, 30_000);

  /** abff_prepared_answers_total by outcome, from /metrics. */
  async function preparedCounts(): Promise<{ made: number; reused: number }> {
    const text = (await call(bff.url, 'GET', '/metrics')).text;
    const count = (outcome: string): number => Number(new RegExp(`^abff_prepared_answers_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { made: count('made'), reused: count('reused') };
  }
});
