import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.admin;
const userIds = (org: string, from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => `${org}-u${String(from + i).padStart(4, '0')}`);

/**
 * The cache's behaviour over HTTP, against two service instances sharing one cache backend and the real
 * simulator: hits, invalidation across instances, stampede protection, partial batches.
 * `cacheEnv` configures the backend (a Redis database, or a Redis Cluster).
 */
export function describeSharedCache(
  name: string,
  cacheEnv: () => Promise<Record<string, string | undefined>>,
  cleanup: () => Promise<void> = async () => undefined,
): void {
  describe(name, () => {
    let sim: SimHandle;
    let a: BffHandle;
    let b: BffHandle;

    beforeAll(async () => {
      sim = await startSim();
      // The checks test sends two requests at once to one instance: each reads its users' entries in Redis (a
      // cluster's three masters) before it asks the micro-batcher, and on a loaded machine the two can reach it
      // more than the default 5 ms apart. A wider window makes their sharing one call a property, not a race.
      const env = { ...(await cacheEnv()), PORTAL_BATCH_WINDOW_MS: '250' };
      [a, b] = await Promise.all([startBff({ sim, env }), startBff({ sim, env })]);
      await sim.admin.createOrg({ orgId: 'big', assetCount: 500, userCount: 5000, assetsPerUser: 5 });
    }, 60_000);
    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await sim?.stop();
      await cleanup();
    });
    beforeEach(() => sim.admin.resetCounters());

    const assetListCalls = async () => (await sim.admin.counters()).endpoints.assetList.calls;

    it('a repeated read is a HIT with no further upstream call, on either instance', async () => {
      const first = await call(a.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key });
      expect(first.status).toBe(200);
      expect(first.headers.get('x-cache')).toBe('MISS');
      for (const inst of [a, b, a, b]) {
        const r = await call(inst.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key });
        expect(r.headers.get('x-cache')).toBe('HIT');
        expect(Number(r.headers.get('age'))).toBeGreaterThanOrEqual(0);
        expect(r.body).toEqual(first.body);
      }
      expect(await assetListCalls()).toBe(1);
    });

    it('Cache-Control: no-cache refetches and stores the fresh result', async () => {
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0006/assets', { key });
      await sim.admin.grant('o1', 'u0006', ['o1-a2000']);
      const fresh = await call(a.url, 'GET', '/v1/orgs/o1/users/u0006/assets', { key, headers: { 'cache-control': 'no-cache' } });
      expect(fresh.headers.get('x-cache')).toBe('MISS');
      expect(fresh.body.assets.map((x: { id: string }) => x.id)).toContain('o1-a2000');
      const after = await call(b.url, 'GET', '/v1/orgs/o1/users/u0006/assets', { key });
      expect(after.headers.get('x-cache')).toBe('HIT');
      expect(after.body.assets.map((x: { id: string }) => x.id)).toContain('o1-a2000');
      expect(await assetListCalls()).toBe(2);
    });

    it('DELETE user cache: the next read is a MISS on both instances', async () => {
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key });
      await call(b.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key });
      expect(await assetListCalls()).toBe(1);
      await sim.admin.revoke('o1', 'u0007', ['o1-a0061']);
      expect((await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0007/cache', { key })).status).toBe(204);
      const rb = await call(b.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key });
      expect(rb.headers.get('x-cache')).toBe('MISS');
      expect(rb.body.assets.map((x: { id: string }) => x.id)).not.toContain('o1-a0061');
      const ra = await call(a.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key });
      expect(ra.headers.get('x-cache')).toBe('HIT');
      expect(ra.body).toEqual(rb.body);
      expect(await assetListCalls()).toBe(2);
    });

    it('DELETE OU cache: every user of the OU is a MISS next, on both instances', async () => {
      await call(a.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key });
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key });
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0009/assets', { key });
      await call(b.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: 'u0010', assetId: 'o1-a0051' }] } });
      await call(b.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key });
      expect((await call(b.url, 'DELETE', '/v1/orgs/o1/cache', { key })).status).toBe(204);
      await sim.admin.resetCounters();
      expect((await call(a.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key })).headers.get('x-cache')).toBe('MISS');
      expect((await call(b.url, 'GET', '/v1/orgs/o1/users/u0009/assets', { key })).headers.get('x-cache')).toBe('MISS');
      expect(
        (await call(a.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: 'u0010', assetId: 'o1-a0051' }] } })).headers.get('x-cache'),
      ).toBe('MISS');
      const c = await sim.admin.counters();
      expect(c.endpoints.assetList.calls).toBe(2);
      expect(c.endpoints.usersAssetList.calls).toBe(1);
      // The reloaded user is cached again, and other OUs are untouched.
      expect((await call(a.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key })).headers.get('x-cache')).toBe('HIT');
      expect((await call(a.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key })).headers.get('x-cache')).toBe('HIT');
    });

    it('500 concurrent cold reads of one user on one instance make 1 upstream read', async () => {
      await sim.admin.setFault('assetList', { latencyMs: 100 });
      const rs = await Promise.all(Array.from({ length: 500 }, () => call(a.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key })));
      await sim.admin.clearFaults();
      expect(rs.every((r) => r.status === 200)).toBe(true);
      expect(rs.filter((r) => r.headers.get('x-cache') === 'MISS').length).toBeGreaterThanOrEqual(1);
      expect(new Set(rs.map((r) => r.text)).size).toBe(1);
      expect(await assetListCalls()).toBe(1);
    });

    it('500 concurrent cold reads spread over two instances make 1 upstream read', async () => {
      await sim.admin.setFault('assetList', { latencyMs: 150 });
      const rs = await Promise.all(Array.from({ length: 500 }, (_, i) => call((i % 2 ? a : b).url, 'GET', '/v1/orgs/o1/users/u0012/assets', { key })));
      await sim.admin.clearFaults();
      expect(rs.every((r) => r.status === 200)).toBe(true);
      expect(new Set(rs.map((r) => r.text)).size).toBe(1);
      expect(await assetListCalls()).toBe(1);
    });

    it('a batch of 5,000 users after 3,000 of them were cached asks the portal only for the 2,000 others', async () => {
      const first = await call(a.url, 'POST', '/v1/orgs/big/user-assets', { key, body: { userIds: userIds('big', 1, 3000) } });
      expect(first.status).toBe(200);
      let c = await sim.admin.counters();
      expect(c.endpoints.usersAssetList).toMatchObject({ calls: 3, users: 3000 });
      await sim.admin.resetCounters();
      const all = await call(b.url, 'POST', '/v1/orgs/big/user-assets', { key, body: { userIds: userIds('big', 1, 5000) } });
      expect(all.status).toBe(200);
      expect(all.headers.get('x-cache')).toBe('MISS');
      expect(all.body.users).toHaveLength(5000);
      expect(all.body.users[4999]).toEqual({ userId: 'big-u5000', assetIds: ['big-a0001', 'big-a0002', 'big-a0003', 'big-a0004', 'big-a0005'] });
      c = await sim.admin.counters();
      expect(c.endpoints.usersAssetList).toMatchObject({ calls: 2, users: 2000 });
      await sim.admin.resetCounters();
      const again = await call(a.url, 'POST', '/v1/orgs/big/user-assets', { key, body: { userIds: userIds('big', 1, 5000) } });
      expect(again.headers.get('x-cache')).toBe('HIT');
      expect(again.body).toEqual(all.body);
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(0);
    });

    it('access checks reuse cached sets and fetch only missing users, micro-batched', async () => {
      const checks = userIds('big', 4001, 4100).map((u) => ({ userId: u, assetId: 'big-a0001' }));
      const r = await call(a.url, 'POST', '/v1/orgs/big/access-checks', { key, body: { checks } });
      expect(r.status).toBe(200);
      expect(r.body.results.every((x: { allowed: boolean }) => x.allowed)).toBe(true);
      const c = await sim.admin.counters();
      // big-u4001..4100 were cached by the previous test: nothing reaches the portal.
      expect(c.endpoints.usersAssetList.calls).toBe(0);
      const cold = userIds('big', 1, 100).map((u) => ({ userId: `x${u}`, assetId: 'big-a0001' }));
      await Promise.all([
        call(a.url, 'POST', '/v1/orgs/big/access-checks', { key, body: { checks: cold.slice(0, 50) } }),
        call(a.url, 'POST', '/v1/orgs/big/access-checks', { key, body: { checks: cold.slice(50) } }),
      ]);
      expect((await sim.admin.counters()).endpoints.usersAssetList).toMatchObject({ calls: 1, users: 100 });
    });
  });
}
