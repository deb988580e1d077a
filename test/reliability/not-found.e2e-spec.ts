import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** The admin key reads every OU, known to the portal or not. */
const key = TEST_KEYS.admin;

/** A simulator and a service on Redis database `db` with `env`, started before the describe's tests, stopped after. */
function useService(db: number, env: Record<string, string>): { sim: SimHandle; bff: BffHandle } {
  const s = {} as { sim: SimHandle; bff: BffHandle };
  beforeAll(async () => {
    s.sim = await startSim();
    s.bff = await startBff({ sim: s.sim, env: { REDIS_URL: await cleanRedisDb(db), ...env } });
  });
  afterAll(async () => {
    await s.bff?.stop();
    await s.sim?.stop();
  });
  return s;
}

/**
 * An unknown OU answers 404 ORG_NOT_FOUND on the batch routes and USER_NOT_FOUND on the single-user routes (the
 * portal's 31404 on asset/list does not say which is unknown), an unknown user of a known OU 404 USER_NOT_FOUND on the
 * single-user routes and no assets / allowed: false on the batch routes: whichever route cached it first, with the
 * simulator's counters showing what reached the portal.
 */
describe('asset-bff unknown OU and unknown user, whatever was cached first', () => {
  const s = useService(9, { CACHE_NEGATIVE_TTL_S: '60' });
  beforeEach(() => s.sim.admin.resetCounters());

  const calls = async (): Promise<{ list: number; batch: number }> => {
    const c = await s.sim.admin.counters();
    return { list: c.endpoints.assetList.calls, batch: c.endpoints.usersAssetList.calls };
  };
  const single = (org: string, user: string) => call(s.bff.url, 'GET', `/v1/orgs/${org}/users/${user}/assets`, { key });
  const oneAsset = (org: string, user: string) => call(s.bff.url, 'GET', `/v1/orgs/${org}/users/${user}/assets/${org}-a0001`, { key });
  const batch = (org: string, users: string[]) => call(s.bff.url, 'POST', `/v1/orgs/${org}/user-assets`, { key, body: { userIds: users } });
  const checks = (org: string, users: string[]) =>
    call(s.bff.url, 'POST', `/v1/orgs/${org}/access-checks`, { key, body: { checks: users.map((userId) => ({ userId, assetId: `${org}-a0001` })) } });

  it('unknown OU read first by a single user: every route answers 404, the batch routes ORG_NOT_FOUND, with no further portal call', async () => {
    expect((await single('o-gone-1', 'u0001')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect(await calls()).toEqual({ list: 1, batch: 1 });
    expect((await batch('o-gone-1', ['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    expect((await batch('o-gone-1', ['u0001', 'u0002'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    // As NDJSON too: refused before the first line, an ordinary problem answer.
    const lines = await call(s.bff.url, 'POST', '/v1/orgs/o-gone-1/user-assets', {
      key,
      body: { userIds: ['u0001'] },
      headers: { accept: 'application/x-ndjson' },
    });
    expect([lines.status, lines.headers.get('content-type'), lines.body.code]).toEqual([404, 'application/problem+json; charset=utf-8', 'ORG_NOT_FOUND']);
    expect((await checks('o-gone-1', ['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    expect((await single('o-gone-1', 'u0001')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await oneAsset('o-gone-1', 'u0001')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect(await calls()).toEqual({ list: 1, batch: 1 });
  });

  it('unknown OU read first by a batch route: the other batch route ORG_NOT_FOUND with no call, single reads USER_NOT_FOUND', async () => {
    expect((await batch('o-gone-2', ['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    expect(await calls()).toEqual({ list: 0, batch: 1 });
    expect((await checks('o-gone-2', ['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    expect((await single('o-gone-2', 'u0001')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await oneAsset('o-gone-2', 'u0001')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await batch('o-gone-2', ['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    expect(await calls()).toEqual({ list: 1, batch: 1 });
  });

  it('a user the portal leaves out of a batch answer: no assets there, then 404 USER_NOT_FOUND on the single routes with no call', async () => {
    const r = await batch('o1', ['u0005', 'ghost-1']);
    expect(r.status).toBe(200);
    expect(r.body.users).toEqual([
      { userId: 'u0005', assetIds: expect.arrayContaining(['o1-a0001']) },
      { userId: 'ghost-1', assetIds: [] },
    ]);
    expect(await calls()).toEqual({ list: 0, batch: 1 });
    expect((await single('o1', 'ghost-1')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await oneAsset('o1', 'ghost-1')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await checks('o1', ['ghost-1'])).body).toEqual({ results: [{ userId: 'ghost-1', assetId: 'o1-a0001', allowed: false }] });
    expect(await calls()).toEqual({ list: 0, batch: 1 });
  });

  it('a user the portal leaves out of an access check: allowed false, then 404 USER_NOT_FOUND on the single routes with no call', async () => {
    expect((await checks('o1', ['ghost-3'])).body).toEqual({ results: [{ userId: 'ghost-3', assetId: 'o1-a0001', allowed: false }] });
    expect(await calls()).toEqual({ list: 0, batch: 1 });
    expect((await single('o1', 'ghost-3')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await oneAsset('o1', 'ghost-3')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await batch('o1', ['ghost-3'])).body.users).toEqual([{ userId: 'ghost-3', assetIds: [] }]);
    expect(await calls()).toEqual({ list: 0, batch: 1 });
  });

  it('an unknown user of a known OU read first by a single user: the batch routes answer 200 (no assets, allowed: false) with no further call', async () => {
    expect((await single('o1', 'ghost-2')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect(await calls()).toEqual({ list: 1, batch: 1 });
    const r = await batch('o1', ['ghost-2']);
    expect(r.status).toBe(200);
    expect(r.body.users).toEqual([{ userId: 'ghost-2', assetIds: [] }]);
    expect((await checks('o1', ['ghost-2'])).body).toEqual({ results: [{ userId: 'ghost-2', assetId: 'o1-a0001', allowed: false }] });
    expect((await oneAsset('o1', 'ghost-2')).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect(await calls()).toEqual({ list: 1, batch: 1 });
  });
});

/**
 * The portal's 31404 is an answer, not a failure: an OU it no longer knows is not served STALE from an entry past its
 * TTL (that would grant its assets for CACHE_STALE_S more), while a failing portal still is.
 */
describe('asset-bff an OU the portal stops knowing, after the TTL', () => {
  const s = useService(10, { CACHE_TTL_S: '1', CACHE_STALE_S: '60' });

  const batch = (org: string, users: string[]) => call(s.bff.url, 'POST', `/v1/orgs/${org}/user-assets`, { key, body: { userIds: users } });

  it('answers 404 ORG_NOT_FOUND on the batch routes instead of the old grants as STALE; a 5xx still gets STALE', async () => {
    expect((await batch('o1', ['u0005'])).headers.get('x-cache')).toBe('MISS');
    expect((await batch('o2', ['u0101'])).headers.get('x-cache')).toBe('MISS');
    // Past the 1 s TTL: every read goes to the portal.
    await new Promise((r) => setTimeout(r, 1500));
    await s.sim.admin.setFault('usersAssetList', { httpStatus: 503 });
    const failing = await batch('o2', ['u0101']);
    expect([failing.status, failing.headers.get('x-cache')]).toEqual([200, 'STALE']);
    await s.sim.admin.setFault('usersAssetList', { errorCode: 31404 });
    const gone = await batch('o1', ['u0005']);
    expect(gone.body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND', upstream: { code: 31404 } });
    const checked = await call(s.bff.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: 'u0005', assetId: 'o1-a0001' }] } });
    expect(checked.body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    await s.sim.admin.clearFaults();
  });
});

/**
 * An OU the portal did not know, past CACHE_NEGATIVE_TTL_S, with the portal failing: its users' "not found" entries
 * are served STALE, and the batch routes still say the OU is not found (not 200 with users of no assets).
 */
describe('asset-bff an unknown OU past its negative TTL, the portal failing', () => {
  const s = useService(11, { CACHE_NEGATIVE_TTL_S: '1', CACHE_STALE_S: '60' });

  it('answers 404 ORG_NOT_FOUND on the batch routes and USER_NOT_FOUND on the single ones, from what it knew', async () => {
    const single = () => call(s.bff.url, 'GET', '/v1/orgs/o-gone-4/users/u0001/assets', { key });
    const batch = (users: string[]) => call(s.bff.url, 'POST', '/v1/orgs/o-gone-4/user-assets', { key, body: { userIds: users } });
    const checks = () =>
      call(s.bff.url, 'POST', '/v1/orgs/o-gone-4/access-checks', { key, body: { checks: [{ userId: 'u0001', assetId: 'o-gone-4-a0001' }] } });
    expect((await single()).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    expect((await batch(['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
    await new Promise((r) => setTimeout(r, 1500));
    await s.sim.admin.setFault('usersAssetList', { httpStatus: 503 });
    await s.sim.admin.setFault('assetList', { httpStatus: 503 });
    try {
      expect((await batch(['u0001'])).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
      expect((await checks()).body).toMatchObject({ status: 404, code: 'ORG_NOT_FOUND' });
      expect((await single()).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
      // A user never seen in that OU is not known to be gone: the failing portal is the answer.
      expect((await batch(['u0002'])).status).toBe(503);
    } finally {
      await s.sim.admin.clearFaults();
    }
  });
});

/** The same mark, for an OU the portal knows again: the users it leaves out since are users unknown to a known OU. */
describe('asset-bff an OU the portal knows again, the portal failing', () => {
  const s = useService(12, { CACHE_NEGATIVE_TTL_S: '1', CACHE_STALE_S: '60' });

  it('does not say ORG_NOT_FOUND from users the portal left out after the OU came back', async () => {
    const batch = () => call(s.bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u-never'] } });
    // The portal says it does not know o1 for a while, and the service marks it.
    await s.sim.admin.setFault('assetList', { errorCode: 31404 });
    await s.sim.admin.setFault('usersAssetList', { errorCode: 31404 });
    expect((await call(s.bff.url, 'GET', '/v1/orgs/o1/users/u-gone/assets', { key })).body).toMatchObject({ status: 404, code: 'USER_NOT_FOUND' });
    await s.sim.admin.clearFaults();
    await new Promise((r) => setTimeout(r, 1500));
    // o1 is back: a user it leaves out is cached as not in a known OU.
    const known = await batch();
    expect([known.status, known.body.users]).toEqual([200, [{ userId: 'u-never', assetIds: [] }]]);
    await new Promise((r) => setTimeout(r, 1500));
    await s.sim.admin.setFault('usersAssetList', { httpStatus: 503 });
    try {
      const stale = await batch();
      expect([stale.status, stale.headers.get('x-cache'), stale.body.users]).toEqual([200, 'STALE', [{ userId: 'u-never', assetIds: [] }]]);
    } finally {
      await s.sim.admin.clearFaults();
    }
  });
});
