import { SignJWT } from 'jose';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

interface Route {
  method: string;
  path: string;
  body?: unknown;
}

const ROUTES: Route[] = [
  { method: 'GET', path: '/v1/orgs/o1/users/u0003/assets' },
  { method: 'GET', path: '/v1/orgs/o1/users/u0003/assets/o1-a0001' },
  { method: 'POST', path: '/v1/orgs/o1/user-assets', body: { userIds: ['u0003'] } },
  { method: 'POST', path: '/v1/orgs/o1/access-checks', body: { checks: [{ userId: 'u0003', assetId: 'o1-a0001' }] } },
  { method: 'DELETE', path: '/v1/orgs/o1/users/u0003/cache' },
  { method: 'DELETE', path: '/v1/orgs/o1/cache' },
];

/** The authorization matrix: every route with every kind of wrong caller gets 401/403 and never reaches the portal. */
describe('asset-bff authorization matrix', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let otherUser: string;
  let expired: string;
  let tampered: string;
  let noneAlg: string;
  let otherOu: string;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(3) } });
    otherUser = await sim.admin.userToken('u0004', 'o1');
    otherOu = await sim.admin.userToken('u0001', 'o2');
    // 2 s, not 1: the simulator's tokens expire at a whole second (iat floored), so a 1 s login token made late
    // in a second could expire before the session/set that follows it (seen once in CI as a 31401).
    await sim.admin.setTokenTtl({ userTokenTtlS: 2 });
    expired = await sim.admin.userToken('u0003', 'o1');
    await sim.admin.setTokenTtl({ userTokenTtlS: 3600 });
    const good = await sim.admin.userToken('u0003', 'o1');
    const [h, p, s] = good.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    tampered = [h, Buffer.from(JSON.stringify({ ...claims, sub: 'u0004' })).toString('base64url'), s].join('.');
    noneAlg = [Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url'), p, ''].join('.');
    await new Promise((r) => setTimeout(r, 8000)); // past exp (at most 2 s away) + the verifier's 5 s clock tolerance
  }, 30_000);
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it('each wrong caller gets 401 or 403 on every route, and the portal sees nothing', async () => {
    const hs = await new SignJWT({ sub: 'u0003', orgId: 'o1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('guessed-secret'));
    const callers: { name: string; auth: { key?: string; token?: string; headers?: Record<string, string> }; status: number }[] = [
      { name: 'no credentials', auth: {}, status: 401 },
      { name: 'wrong key', auth: { key: 'not-a-key' }, status: 401 },
      { name: 'empty key', auth: { key: '' }, status: 401 },
      { name: 'garbage bearer', auth: { headers: { authorization: 'Bearer ...' } }, status: 401 },
      { name: 'basic auth', auth: { headers: { authorization: 'Basic dXNlcjpwYXNz' } }, status: 401 },
      { name: 'expired JWT', auth: { token: expired }, status: 401 },
      { name: 'tampered JWT', auth: { token: tampered }, status: 401 },
      { name: 'alg none JWT', auth: { token: noneAlg }, status: 401 },
      { name: 'HS256 JWT against a JWKS verifier', auth: { token: hs }, status: 401 },
      { name: 'key for another org', auth: { key: TEST_KEYS.otherOrg }, status: 403 },
      { name: 'key without the scope', auth: { key: TEST_KEYS.noScope }, status: 403 },
      { name: 'user token of another user', auth: { token: otherUser }, status: 403 },
      { name: 'user token of another OU', auth: { token: otherOu }, status: 403 },
    ];
    await sim.admin.resetCounters();
    for (const c of callers) {
      for (const r of ROUTES) {
        const res = await call(bff.url, r.method, r.path, { ...c.auth, body: r.body });
        expect({ caller: c.name, route: `${r.method} ${r.path}`, status: res.status }).toEqual({
          caller: c.name,
          route: `${r.method} ${r.path}`,
          status: c.status,
        });
        expect(res.body.code).toBe(c.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      }
    }
    // A reader key may read but not invalidate.
    for (const r of ROUTES.filter((x) => x.method === 'DELETE')) {
      expect((await call(bff.url, r.method, r.path, { key: TEST_KEYS.reader })).status).toBe(403);
    }
    // Service callers cannot use the user-only routes.
    expect((await call(bff.url, 'GET', '/v1/me/assets', { key: TEST_KEYS.admin })).status).toBe(403);
    expect((await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { key: TEST_KEYS.admin })).status).toBe(403);
    // A user reading only itself through batch routes may not slip another user in.
    const self = await sim.admin.userToken('u0003', 'o1');
    expect((await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { token: self, body: { userIds: ['u0003', 'u0004'] } })).status).toBe(403);
    expect((await call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { token: self, body: { checks: [{ userId: 'u0004', assetId: 'x' }] } })).status).toBe(403);
    expect((await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token: expired })).status).toBe(401);
    const c = await sim.admin.counters();
    expect(c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls + c.endpoints.appAssetTree.calls + c.endpoints.tokenGet.calls).toBe(0);
  });

  it('the right callers pass: reader key, admin key, the user itself', async () => {
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { key: TEST_KEYS.reader })).status).toBe(200);
    expect((await call(bff.url, 'DELETE', '/v1/orgs/o1/cache', { key: TEST_KEYS.admin })).status).toBe(204);
    const self = await sim.admin.userToken('u0003', 'o1');
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0003/assets/o1-a0001', { token: self })).status).toBe(200);
    // The scheme is case-insensitive (RFC 9110).
    expect((await call(bff.url, 'GET', '/v1/me/assets', { headers: { authorization: `bearer ${self}` } })).status).toBe(200);
    expect(
      (await call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { token: self, body: { checks: [{ userId: 'u0003', assetId: 'o1-a0001' }] } })).body.results[0]
        .allowed,
    ).toBe(true);
  });

  it('never logs a key, a token or a secret', async () => {
    const self = await sim.admin.userToken('u0003', 'o1');
    await call(bff.url, 'GET', '/v1/me/assets', { token: self });
    await call(bff.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { key: TEST_KEYS.reader });
    const out = bff.output();
    expect(out.length).toBeGreaterThan(0);
    for (const secret of [...Object.values(TEST_KEYS), self, expired, sim.appSecret]) expect(out).not.toContain(secret);
    expect(out).not.toMatch(/apim-signature|apim-accesstoken":\s*"[^r]/);
  });
});
