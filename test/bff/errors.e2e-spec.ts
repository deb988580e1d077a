import { BffHandle, call, logLines, postLarge, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { waitFor } from '../support/redis';
import { SimHandle, startSim } from '../support/sim';

const key = TEST_KEYS.reader;
const problemType = /^application\/problem\+json/;

/** Every error code of the contract's upstream table, produced through the simulator's fault and data controls. */
describe('asset-bff upstream errors', () => {
  let sim: SimHandle;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(2), PORTAL_TIMEOUT_MS: '400', CACHE_NEGATIVE_TTL_S: '30' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.reset());

  const noCache = { 'cache-control': 'no-cache' };

  describe('tree', () => {
    it('31401 on the tree: 401 UNAUTHENTICATED', async () => {
      const token = await sim.admin.userToken('u0001', 'o1');
      await sim.admin.setFault('appAssetTree', { errorCode: 31401 });
      const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token });
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ code: 'UNAUTHENTICATED', upstream: { code: 31401 } });
    });

    it('31403 on the tree: 403 FORBIDDEN', async () => {
      const token = await sim.admin.userToken('u0001', 'o1');
      await sim.admin.setFault('appAssetTree', { errorCode: 31403 });
      const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token });
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('FORBIDDEN');
    });

    it('31512 (token without OU): 409 OU_NOT_SELECTED', async () => {
      const token = await sim.admin.userToken('u0001');
      const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token });
      expect(r.status).toBe(409);
      expect(r.body).toMatchObject({ code: 'OU_NOT_SELECTED', upstream: { code: 31512 } });
    });

    it('unknown accessKey: 404', async () => {
      const token = await sim.admin.userToken('u0001', 'o1');
      const r = await call(bff.url, 'GET', '/v1/apps/no-such-app/asset-tree', { token });
      expect(r.status).toBe(404);
      expect(r.body.upstream.code).toBe(31404);
      // The route exists: the title must not say otherwise.
      expect(r.body.title).toBe('Not found');
      expect(r.body.detail).toBe('The application does not exist or the OU has not obtained it');
    });
  });

  describe('bad input never reaches the portal', () => {
    it('400 VALIDATION_FAILED naming the fields, 413 for oversized bodies, 404 for unknown routes', async () => {
      const cases: [string, string, unknown, string[], Record<string, string>?][] = [
        ['GET', '/v1/orgs/o1/users/' + 'x'.repeat(129) + '/assets', undefined, ['userId']],
        ['GET', '/v1/orgs/o1/users/u0001/assets?lang=%00', undefined, ['lang']],
        // Every offending field of one request is listed, whichever part of it (query, header, body) it is in.
        ['GET', '/v1/orgs/o1/users/u0001/assets?lang=%00&limit=0&q=', undefined, ['If-None-Match', 'limit', 'q', 'lang'], { 'if-none-match': 'bare' }],
        ['GET', '/v1/orgs/o1/users/u0001/assets/o1-a0001?lang=%00', undefined, ['lang', 'X-Consistency-Token'], { 'x-consistency-token': 'forged' }],
        ['POST', '/v1/orgs/o1/user-assets?lang=%00', { userIds: [], extra: 1 }, ['lang', 'extra', 'userIds']],
        ['POST', '/v1/orgs/o1/access-checks', { checks: [] }, ['checks', 'X-Consistency-Token'], { 'x-consistency-token': 'forged' }],
        ['POST', '/v1/orgs/o1/user-assets', { userIds: [] }, ['userIds']],
        ['POST', '/v1/orgs/o1/user-assets', { userIds: ['u1'], admin: true }, ['admin']],
        ['POST', '/v1/orgs/o1/user-assets', { userIds: 'u1' }, ['userIds']],
        ['POST', '/v1/orgs/o1/access-checks', { checks: [{ userId: 'u1' }] }, ['checks[0].assetId']],
        ['POST', '/v1/orgs/o1/access-checks', { checks: [] }, ['checks']],
      ];
      for (const [method, path, body, fields, headers] of cases) {
        const r = await call(bff.url, method, path, { key, body, headers });
        expect(r.status).toBe(400);
        expect(r.headers.get('content-type')).toMatch(problemType);
        expect(r.body.code).toBe('VALIDATION_FAILED');
        expect(r.body.fields.map((f: { field: string }) => f.field)).toEqual(fields);
      }
      const bad = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, rawBody: '{"userIds": [' });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
      const huge = await postLarge(bff.url, '/v1/orgs/o1/user-assets', JSON.stringify({ userIds: new Array(400_000).fill('abcdefghijklmnopqrstuvwxyz') }), {
        'x-api-key': key,
      });
      expect(huge.status).toBe(413);
      expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
      const unknown = await call(bff.url, 'GET', '/v2/nothing', { key });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toMatch(problemType);
      const c = await sim.admin.counters();
      expect(c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls + c.endpoints.appAssetTree.calls).toBe(0);
    });
  });

  it('31404 on a single user read: 404 USER_NOT_FOUND, cached negatively', async () => {
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/nobody/assets', { key });
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(problemType);
    expect(r.body).toMatchObject({ code: 'USER_NOT_FOUND', status: 404, upstream: { code: 31404 } });
    const again = await call(bff.url, 'GET', '/v1/orgs/o1/users/nobody/assets', { key });
    expect(again.status).toBe(404);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);
  });

  it('31404 on batch routes: 404 ORG_NOT_FOUND, cached negatively', async () => {
    const body = { userIds: ['u0001'] };
    const r = await call(bff.url, 'POST', '/v1/orgs/o-missing/user-assets', { key: TEST_KEYS.admin, body });
    expect(r.status).toBe(404);
    expect(r.body).toMatchObject({ code: 'ORG_NOT_FOUND', upstream: { code: 31404 } });
    const checks = await call(bff.url, 'POST', '/v1/orgs/o-missing/access-checks', {
      key: TEST_KEYS.admin,
      body: { checks: [{ userId: 'u1', assetId: 'a1' }] },
    });
    expect(checks.status).toBe(404);
    // The remembered 31404 is answered as the fresh one was.
    expect(checks.body).toMatchObject({ code: 'ORG_NOT_FOUND', upstream: { code: 31404 } });
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(1);
    // Cache-Control: no-cache skips the remembered answer and asks the portal again.
    const fresh = await call(bff.url, 'POST', '/v1/orgs/o-missing/user-assets', { key: TEST_KEYS.admin, body, headers: { 'cache-control': 'no-cache' } });
    expect(fresh.body).toMatchObject({ code: 'ORG_NOT_FOUND', upstream: { code: 31404 } });
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(2);
  });

  it('31403 on app-credential calls: 502 UPSTREAM_PERMISSION_MISSING', async () => {
    await sim.admin.setAppPermission(false);
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0003/assets', { key, headers: noCache });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'UPSTREAM_PERMISSION_MISSING', upstream: { code: 31403 } });
    const b = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0003'] }, headers: noCache });
    expect(b.status).toBe(502);
    expect(b.body.code).toBe('UPSTREAM_PERMISSION_MISSING');
  });

  it("31401 on app-credential calls: 502 UPSTREAM_REJECTED, never a 401 about the caller's valid key", async () => {
    await sim.admin.setFault('assetList', { errorCode: 31401 });
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key, headers: noCache });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'UPSTREAM_REJECTED', upstream: { code: 31401 } });
    await sim.admin.setFault('usersAssetList', { errorCode: 31401 });
    const b = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0006'] }, headers: noCache });
    expect(b.status).toBe(502);
    expect(b.body).toMatchObject({ code: 'UPSTREAM_REJECTED', upstream: { code: 31401 } });
  });

  it('31400: 502 UPSTREAM_REJECTED', async () => {
    await sim.admin.setFault('assetList', { errorCode: 31400 });
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0004/assets', { key, headers: noCache });
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ code: 'UPSTREAM_REJECTED', upstream: { code: 31400 } });
  });

  it('logs a failed upstream call at the default level, with the request id', async () => {
    await sim.admin.setFault('usersAssetList', { httpStatus: 500 });
    const r = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', {
      key,
      body: { userIds: ['u0011'] },
      headers: { ...noCache, 'x-request-id': 'failed-call-1' },
    });
    expect(r.status).toBe(503);
    const lines = logLines(bff.output()).filter((l) => l.requestId === 'failed-call-1' && l.context === 'PortalClient');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ level: 40, endpoint: 'usersAssetList', msg: expect.stringContaining('failed') });
    // The request's own access line gives its status.
    const accessLine = () => logLines(bff.output()).find((l) => l.requestId === 'failed-call-1' && l.msg === 'request completed');
    await waitFor(async () => accessLine() !== undefined, 5_000, 'the access line');
    expect(accessLine()).toMatchObject({
      context: 'http',
      req: { method: 'POST', url: '/v1/orgs/o1/user-assets' },
      res: { statusCode: 503 },
      responseTime: expect.any(Number),
    });
    // A success ends the run of failures, so the circuit starts the next test closed and counting from zero.
    await sim.admin.clearFaults();
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0011/assets', { key, headers: noCache })).status).toBe(200);
  });

  it('timeout: 504 UPSTREAM_TIMEOUT, also for the read whose retries open the circuit', async () => {
    await sim.admin.setFault('assetList', { latencyMs: 1500 });
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0006/assets', { key, headers: noCache });
    expect(r.status).toBe(504);
    expect(r.body.code).toBe('UPSTREAM_TIMEOUT');
    expect(r.body.detail).not.toMatch(/stack|at .*\.js/);
    // Three attempts each: the second read's second timeout is the circuit's fifth failure in a row, and its last
    // attempt finds the circuit open. Its caller still learns that the portal timed out.
    const second = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0009/assets', { key, headers: noCache });
    expect([second.status, second.body.code]).toEqual([504, 'UPSTREAM_TIMEOUT']);
    // A read arriving while the circuit is open fails fast as unavailable.
    const third = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0010/assets', { key, headers: noCache });
    expect([third.status, third.body.code]).toEqual([503, 'UPSTREAM_UNAVAILABLE']);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(5);
  });

  it('5xx: 503 UPSTREAM_UNAVAILABLE with Retry-After', async () => {
    await sim.admin.setFault('assetList', { httpStatus: 503 });
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0007/assets', { key, headers: noCache });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('dropped connections: 503 UPSTREAM_UNAVAILABLE', async () => {
    await sim.admin.setFault('usersAssetList', { drop: true });
    const r = await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0008'] }, headers: noCache });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('UPSTREAM_UNAVAILABLE');
  });
});
