import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { MuteLink } from '../support/mute-link';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';
import { TEST_REDIS_PORT } from '../support/test-redis';

/** API.md section 3, "Consistency tokens": across two instances sharing one Redis, against the simulator. */
describe('consistency tokens', () => {
  let sim: SimHandle;
  let a: BffHandle;
  let b: BffHandle;
  /** An instance whose pub/sub messages can be lost (MuteLink) while its subscription looks alive. */
  let deaf: BffHandle;
  const link = new MuteLink({ host: '127.0.0.1', port: TEST_REDIS_PORT });
  const key = TEST_KEYS.reader;
  const admin = TEST_KEYS.admin;
  const TOKEN = /^[0-9a-z]{1,12}\.[A-Za-z0-9_-]{43}$/;
  const ids = (r: { body: { assets: { id: string }[] } }) => r.body.assets.map((x) => x.id);
  const calls = async () => {
    const c = await sim.admin.counters();
    return { assetList: c.endpoints.assetList.calls, usersAssetList: c.endpoints.usersAssetList.calls };
  };

  beforeAll(async () => {
    sim = await startSim();
    const redisUrl = await cleanRedisDb(5);
    await link.start();
    const linkedUrl = `redis://127.0.0.1:${link.port}${new URL(redisUrl).pathname}`;
    [a, b, deaf] = await Promise.all([
      startBff({ sim, env: { REDIS_URL: redisUrl } }),
      startBff({ sim, env: { REDIS_URL: redisUrl } }),
      startBff({ sim, env: { REDIS_URL: linkedUrl } }),
    ]);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await deaf?.stop();
    await link.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.reset());

  it('puts a token on both DELETE …/cache 204s and on every 200 of the read routes', async () => {
    const user = await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0005/cache', { key: admin });
    expect(user.status).toBe(204);
    expect(user.headers.get('x-consistency-token')).toMatch(TOKEN);
    const org = await call(a.url, 'DELETE', '/v1/orgs/o2/cache', { key: admin });
    expect(org.status).toBe(204);
    expect(org.headers.get('x-consistency-token')).toMatch(TOKEN);
    const reads = [
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key }),
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0005/assets?limit=3', { key }),
      await call(a.url, 'GET', '/v1/orgs/o1/users/u0005/assets/o1-a0001', { key }),
      await call(a.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0005', 'u0006'] } }),
      await call(a.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: 'u0005', assetId: 'o1-a0001' }] } }),
    ];
    for (const r of reads) {
      expect(r.status).toBe(200);
      expect(r.headers.get('x-consistency-token')).toMatch(TOKEN);
    }
  });

  it('after an invalidation, its token gets fresh data on the other instance, and each named user is read upstream once', async () => {
    const before = await call(b.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key });
    expect(ids(before)).toContain('o1-a0021');
    await sim.admin.revoke('o1', 'u0007', ['o1-a0021']);
    const del = await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0007/cache', { key: admin });
    const token = del.headers.get('x-consistency-token') as string;
    await sim.admin.resetCounters();
    const after = await call(b.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key, headers: { 'x-consistency-token': token } });
    expect(after.status).toBe(200);
    expect(ids(after)).not.toContain('o1-a0021');
    const check = await call(b.url, 'POST', '/v1/orgs/o1/access-checks', {
      key,
      body: { checks: [{ userId: 'u0007', assetId: 'o1-a0021' }] },
      headers: { 'x-consistency-token': token },
    });
    expect(check.body.results[0].allowed).toBe(false);
    // The token is satisfied by the reload: reading again with it costs no upstream call.
    await call(a.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key, headers: { 'x-consistency-token': token } });
    expect((await calls()).assetList).toBe(1);
  });

  it("an invalidation's token gets fresh data from an instance that lost its pub/sub message; without it, that instance answers its old copy", async () => {
    const before = await call(deaf.url, 'GET', '/v1/orgs/o1/users/u0010/assets', { key });
    expect(before.status).toBe(200);
    const revoked = ids(before)[0];
    link.mute();
    try {
      await sim.admin.revoke('o1', 'u0010', [revoked]);
      const del = await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0010/cache', { key: admin });
      expect(del.status).toBe(204);
      const token = del.headers.get('x-consistency-token') as string;
      await sim.admin.resetCounters();
      // The message never reached it: its in-process copy still answers (what a token exists to rule out).
      const stale = await call(deaf.url, 'GET', '/v1/orgs/o1/users/u0010/assets', { key });
      expect([stale.headers.get('x-cache'), ids(stale)]).toEqual(['HIT', ids(before)]);
      expect(await calls()).toEqual({ assetList: 0, usersAssetList: 0 });
      // With the token it skips the copy and loads the user once, on every read route.
      const fresh = await call(deaf.url, 'GET', '/v1/orgs/o1/users/u0010/assets', { key, headers: { 'x-consistency-token': token } });
      expect(fresh.status).toBe(200);
      expect(ids(fresh)).not.toContain(revoked);
      expect(ids(fresh)).toEqual(ids(before).filter((id) => id !== revoked));
      expect((await calls()).assetList).toBe(1);
      const one = await call(deaf.url, 'GET', `/v1/orgs/o1/users/u0010/assets/${revoked}`, { key, headers: { 'x-consistency-token': token } });
      expect([one.status, one.body.code]).toEqual([404, 'ASSET_NOT_ACCESSIBLE']);
      const check = await call(deaf.url, 'POST', '/v1/orgs/o1/access-checks', {
        key,
        body: { checks: [{ userId: 'u0010', assetId: revoked }] },
        headers: { 'x-consistency-token': token },
      });
      expect(check.body.results[0].allowed).toBe(false);
      const batch = await call(deaf.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0010'] }, headers: { 'x-consistency-token': token } });
      expect(batch.body.users[0].assetIds).not.toContain(revoked);
      // The reload satisfied the token: it stays the only upstream read of the user's assets.
      expect((await calls()).assetList).toBe(1);
    } finally {
      link.unmute();
    }
  });

  it('a load in flight across a lost and renewed subscription is not joined by a read after an invalidation it missed', async () => {
    // The portal computes the answer on arrival and sends it 1.5 s later: the load in flight holds the old grants.
    await sim.admin.setFault('assetList', { latencyMs: 1500, latencyAt: 'answer' });
    const first = call(deaf.url, 'GET', '/v1/orgs/o1/users/u0012/assets', { key });
    await new Promise((r) => setTimeout(r, 300));
    await sim.admin.revoke('o1', 'u0012', ['o1-a0071']);
    // The instance misses the invalidation's message while the load runs, then loses its subscription and renews it.
    link.mute();
    try {
      expect((await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0012/cache', { key: admin })).status).toBe(204);
    } finally {
      link.unmute();
    }
    link.dropSubscribers();
    await new Promise((r) => setTimeout(r, 500));
    const after = await call(deaf.url, 'GET', '/v1/orgs/o1/users/u0012/assets', { key });
    expect(after.status).toBe(200);
    expect(ids(after)).not.toContain('o1-a0071');
    // The load that began before the invalidation answers its own caller only.
    expect(ids(await first)).toContain('o1-a0071');
  });

  it("a read's token never gets older data, even from an instance whose in-process copy no message ever reached", async () => {
    // b keeps an in-process copy; a reload on a (Cache-Control: no-cache) stores newer data and tells no one.
    const old = await call(b.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key });
    expect(ids(old)).toContain('o1-a0031');
    await sim.admin.revoke('o1', 'u0008', ['o1-a0031']);
    const fresh = await call(a.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key, headers: { 'cache-control': 'no-cache' } });
    expect(ids(fresh)).not.toContain('o1-a0031');
    const token = fresh.headers.get('x-consistency-token') as string;
    // Without the token b answers from its copy (the stale view a token exists to rule out)...
    expect(ids(await call(b.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key }))).toContain('o1-a0031');
    await sim.admin.resetCounters();
    // ...with it, b skips the copy and takes the stored newer entry, without an upstream call.
    const withToken = await call(b.url, 'GET', '/v1/orgs/o1/users/u0008/assets', { key, headers: { 'x-consistency-token': token } });
    expect(ids(withToken)).toEqual(ids(fresh));
    const batch = await call(b.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0008'] }, headers: { 'x-consistency-token': token } });
    expect(batch.body.users[0].assetIds).not.toContain('o1-a0031');
    // The single read took the stored entry; the batch at most one users/assetList call (for the assets' types).
    const c = await calls();
    expect(c.assetList).toBe(0);
    expect(c.usersAssetList).toBeLessThanOrEqual(1);
  });

  it('refuses a malformed or forged token with a 400 naming X-Consistency-Token, before any upstream call', async () => {
    const real = (await call(a.url, 'DELETE', '/v1/orgs/o1/users/u0009/cache', { key: admin })).headers.get('x-consistency-token') as string;
    const [time, sig] = real.split('.');
    const future = (Date.now() + 3_600_000).toString(36);
    await sim.admin.resetCounters();
    for (const bad of [
      'abc',
      '',
      `${time}.${sig.slice(1)}`,
      `${time}.${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`,
      `${future}.${sig}`,
      `${time}x.${sig}`,
      real + real,
    ]) {
      for (const [method, path, body] of [
        ['GET', '/v1/orgs/o1/users/u0009/assets', undefined],
        ['GET', '/v1/orgs/o1/users/u0009/assets/o1-a0041', undefined],
        ['POST', '/v1/orgs/o1/user-assets', { userIds: ['u0009'] }],
        ['POST', '/v1/orgs/o1/access-checks', { checks: [{ userId: 'u0009', assetId: 'o1-a0041' }] }],
      ] as const) {
        const r = await call(b.url, method, path, { key, body, headers: { 'x-consistency-token': bad } });
        expect({ bad, path, status: r.status, fields: r.body?.fields?.map((f: { field: string }) => f.field) }).toEqual({
          bad,
          path,
          status: 400,
          fields: ['X-Consistency-Token'],
        });
      }
    }
    expect(await calls()).toEqual({ assetList: 0, usersAssetList: 0 });
  });
});
