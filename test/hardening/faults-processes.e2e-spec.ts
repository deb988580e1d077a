import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { waitFor } from '../support/redis';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';
import { PROBLEM_TYPE, RestartableSim, sleep } from './support';

/**
 * Faults as processes, complementing test/bff/faults.e2e-spec.ts (stale copies, circuit recovery, Redis
 * kill/restart): a hanging portal, 5xx bursts, the app's permission revoked and granted again, the portal
 * process killed and restarted on the same port, and SIGTERM under load. Stale copies are turned off
 * (CACHE_STALE_S=0) so that every failure is visible to the caller.
 */

const key = TEST_KEYS.admin;
const noCache = { 'cache-control': 'no-cache' };
const TIMEOUT_MS = 500;
/** Attempts per upstream call: the portal client's default retries (2) plus the first. */
const ATTEMPTS = 3;
/** "No request hangs": generous, derived from the configuration, not a speed claim. */
const HANG_BOUND_MS = ATTEMPTS * TIMEOUT_MS * 3 + 2000;
/** The portal client's circuit stays open this long before a probe (libs/portal-client defaults). */
const CIRCUIT_HALF_OPEN_MS = 5000;
/** How long a SIGTERMed service may take to exit once its drain is over. */
const EXIT_BOUND_MS = 10_000;

type Res = Awaited<ReturnType<typeof call>>;

/** The answer is the contract's 503 UPSTREAM_UNAVAILABLE with a positive Retry-After. */
function expectUnavailable(r: Res, what: string): void {
  const got = {
    what,
    status: r.status,
    code: r.body?.code,
    retryAfter: Number(r.headers.get('retry-after')) > 0,
    problem: PROBLEM_TYPE.test(r.headers.get('content-type') ?? ''),
  };
  expect(got).toEqual({ what, status: 503, code: 'UPSTREAM_UNAVAILABLE', retryAfter: true, problem: true });
}

const o1Users = Array.from({ length: 16 }, (_, i) => `u${String(5 + i).padStart(4, '0')}`); // u0005..u0020: 10 assets each

describe('portal faults: hang, 5xx bursts, permission flips', () => {
  let sim: SimHandle;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(10), PORTAL_TIMEOUT_MS: String(TIMEOUT_MS), CACHE_STALE_S: '0', LOG_LEVEL: 'warn' } });
  }, 30_000);
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });
  afterEach(async () => {
    await sim.admin.clearFaults();
    await sim.admin.setAppPermission(true);
  });

  /** Waits until the service answers a fresh read again (the circuit may be open for CIRCUIT_HALF_OPEN_MS). */
  async function recovered(): Promise<number> {
    const started = Date.now();
    // A MISS, not a STALE fallback: the answer came from the portal.
    const fresh = async () => {
      const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0020/assets', { key, headers: noCache });
      return r.status === 200 && r.headers.get('x-cache') === 'MISS';
    };
    await waitFor(fresh, CIRCUIT_HALF_OPEN_MS + 5000, 'recovery');
    return Date.now() - started;
  }

  it(`a hanging portal: 504 UPSTREAM_TIMEOUT within ${HANG_BOUND_MS} ms on every route, also 10 at once; then recovery`, async () => {
    // An app token first, so that the hang hits the data endpoints themselves.
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0004/assets', { key })).status).toBe(200);
    await sim.admin.resetCounters();
    for (const e of ['assetList', 'usersAssetList', 'appAssetTree'] as const) await sim.admin.setFault(e, { hang: true });
    let t = Date.now();
    const first = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key, headers: noCache });
    expect(Date.now() - t).toBeLessThan(HANG_BOUND_MS);
    expect(first.status).toBe(504);
    expect(first.body).toMatchObject({ code: 'UPSTREAM_TIMEOUT', status: 504 });
    expect(first.headers.get('content-type')).toMatch(PROBLEM_TYPE);
    // Each attempt reached the portal (and was given up on): the timeout is per attempt, the attempts are bounded.
    const afterFirst = await sim.admin.counters();
    expect(afterFirst.endpoints.assetList.calls).toBeGreaterThanOrEqual(1);
    expect(afterFirst.endpoints.assetList.calls).toBeLessThanOrEqual(ATTEMPTS);
    expect(afterFirst.log.every((l) => l.outcome !== 0)).toBe(true);

    // Every other route, and ten at once: each ends within the bound as a timeout, or as 503 once the circuit opened.
    const token = await sim.admin.userToken('u0003', 'o1');
    const requests: [string, () => Promise<Res>][] = [
      ['user-assets', () => call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0006'] }, headers: noCache })],
      [
        'access-checks',
        () => call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: 'u0007', assetId: 'o1-a0001' }] }, headers: noCache }),
      ],
      ['tree', () => call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token })],
      ['one asset', () => call(bff.url, 'GET', '/v1/orgs/o1/users/u0008/assets/o1-a0071', { key, headers: noCache })],
      ...o1Users
        .slice(4, 14)
        .map((u): [string, () => Promise<Res>] => [`concurrent ${u}`, () => call(bff.url, 'GET', `/v1/orgs/o1/users/${u}/assets`, { key, headers: noCache })]),
    ];
    t = Date.now();
    const results = await Promise.all(requests.map(async ([what, f]) => ({ what, r: await f(), ms: Date.now() - t })));
    for (const { what, r, ms } of results) {
      expect({ what, inBound: ms < HANG_BOUND_MS }).toEqual({ what, inBound: true });
      if (r.status === 503) expectUnavailable(r, what);
      else expect({ what, status: r.status, code: r.body?.code }).toEqual({ what, status: 504, code: 'UPSTREAM_TIMEOUT' });
    }

    // A hanging token service is bounded too (a new token is needed once the app tokens expire).
    await sim.admin.clearFaults();
    await recovered();
    await sim.admin.expireAppTokens();
    await sim.admin.setFault('tokenGet', { hang: true });
    t = Date.now();
    const noToken = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0015/assets', { key, headers: noCache });
    expect(Date.now() - t).toBeLessThan(HANG_BOUND_MS);
    expect([503, 504]).toContain(noToken.status);
    expect(noToken.headers.get('content-type')).toMatch(PROBLEM_TYPE);

    await sim.admin.clearFaults();
    await sim.admin.resetCounters();
    expect(await recovered()).toBeLessThan(CIRCUIT_HALF_OPEN_MS + 3000);
    for (const u of o1Users.slice(0, 5)) expect((await call(bff.url, 'GET', `/v1/orgs/o1/users/${u}/assets`, { key, headers: noCache })).status).toBe(200);
    const c = await sim.admin.counters();
    expect(c.endpoints.assetList.calls).toBeGreaterThanOrEqual(6);
    expect(c.log.filter((l) => l.endpoint === 'assetList').every((l) => l.outcome === 0)).toBe(true);
  }, 60_000);

  it('5xx bursts (errorRate 0.5 on every endpoint): each answer is 200 or 503 with Retry-After, never 500; then all 200', async () => {
    await sim.admin.resetCounters();
    await sim.admin.setFault('*', { httpStatus: 500, errorRate: 0.5 });
    const answers: { what: string; r: Res }[] = [];
    const jobs = Array.from({ length: 60 }, (_, i) => {
      const u = o1Users[i % o1Users.length];
      if (i % 3 === 0) return { what: `list ${u}`, f: () => call(bff.url, 'GET', `/v1/orgs/o1/users/${u}/assets`, { key, headers: noCache }) };
      if (i % 3 === 1)
        return { what: `batch ${u}`, f: () => call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: [u, 'u0003'] }, headers: noCache }) };
      return {
        what: `checks ${u}`,
        f: () => call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: u, assetId: 'o1-a0001' }] }, headers: noCache }),
      };
    });
    for (let i = 0; i < jobs.length; i += 6) {
      const wave = await Promise.all(jobs.slice(i, i + 6).map(async (j) => ({ what: j.what, r: await j.f() })));
      answers.push(...wave);
    }
    for (const { what, r } of answers) {
      if (r.status === 200) continue;
      expectUnavailable(r, what);
    }
    const during = await sim.admin.counters();
    expect(during.log.some((l) => l.outcome === 500)).toBe(true); // the faults did hit
    expect(answers.some((a) => a.r.status === 200)).toBe(true);

    await sim.admin.clearFaults();
    await recovered();
    await sim.admin.resetCounters();
    const after = await Promise.all(jobs.slice(0, 18).map((j) => j.f()));
    expect(after.map((r) => `${r.status} ${r.headers.get('x-cache')}`)).toEqual(after.map(() => '200 MISS'));
    const c = await sim.admin.counters();
    expect(c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls).toBeGreaterThanOrEqual(6);
    expect(c.log.every((l) => l.outcome === 0)).toBe(true);
  }, 60_000);

  it('31403 flips: the app loses its permission (502 UPSTREAM_PERMISSION_MISSING), gets it back, and the next request succeeds without a restart', async () => {
    await sim.admin.resetCounters();
    await sim.admin.setAppPermission(false);
    const denied = [
      await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key, headers: noCache }),
      await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: ['u0102'] }, headers: noCache }),
      await call(bff.url, 'POST', '/v1/orgs/o2/access-checks', { key, body: { checks: [{ userId: 'u0103', assetId: 'o2-a0011' }] }, headers: noCache }),
      await call(bff.url, 'GET', '/v1/orgs/o2/users/u0104/assets/o2-a0016', { key, headers: noCache }),
    ];
    expect(denied.map((r) => `${r.status} ${r.body?.code} ${r.headers.get('x-cache')}`)).toEqual(denied.map(() => '502 UPSTREAM_PERMISSION_MISSING null'));
    for (const r of denied) expect(r.body).toMatchObject({ code: 'UPSTREAM_PERMISSION_MISSING', upstream: { code: 31403 } });
    const c1 = await sim.admin.counters();
    expect(c1.log.filter((l) => l.outcome === 31403).length).toBeGreaterThanOrEqual(4);
    // A permission answer is definitive: no retries storm, and it must not open the circuit.
    expect(c1.endpoints.assetList.calls + c1.endpoints.usersAssetList.calls).toBeLessThanOrEqual(4 * ATTEMPTS);

    await sim.admin.setAppPermission(true);
    await sim.admin.resetCounters();
    const t = Date.now();
    const back = [
      await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key, headers: noCache }),
      await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: ['u0102'] }, headers: noCache }),
      await call(bff.url, 'POST', '/v1/orgs/o2/access-checks', { key, body: { checks: [{ userId: 'u0103', assetId: 'o2-a0011' }] }, headers: noCache }),
    ];
    expect(back.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(back.map((r) => r.headers.get('x-cache'))).toEqual(['MISS', 'MISS', 'MISS']);
    expect(Date.now() - t).toBeLessThan(2000);
    expect(back[0].body.assets).toHaveLength(5);
    expect(back[1].body.users[0].assetIds).toHaveLength(5);
    expect(back[2].body.results[0].allowed).toBe(true); // u0103 holds o2-a0011..a0015
    const c2 = await sim.admin.counters();
    expect(c2.log.every((l) => l.outcome === 0)).toBe(true);
    expect(c2.endpoints.assetList.calls).toBeGreaterThanOrEqual(1);
    expect(c2.endpoints.usersAssetList.calls).toBeGreaterThanOrEqual(1);
  }, 30_000);
});

describe('the portal process killed and restarted on the same port', () => {
  let sim: RestartableSim;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = new RestartableSim(await freePort());
    await sim.start();
    bff = await startBff({
      sim: sim.handle,
      env: { REDIS_URL: await cleanRedisDb(11), PORTAL_TIMEOUT_MS: String(TIMEOUT_MS), CACHE_STALE_S: '0', LOG_LEVEL: 'warn' },
    });
  }, 30_000);
  afterAll(async () => {
    await bff?.stop();
    await sim?.kill();
  });

  it('connection refused: 503 with Retry-After (fast); after the restart the first success comes within seconds', async () => {
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key })).status).toBe(200);
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);

    await sim.kill();
    for (const u of o1Users.slice(1, 7)) {
      const t = Date.now();
      const r = await call(bff.url, 'GET', `/v1/orgs/o1/users/${u}/assets`, { key, headers: noCache });
      expectUnavailable(r, `${u} while the portal is down`);
      expect(Date.now() - t).toBeLessThan(HANG_BOUND_MS);
    }
    expectUnavailable(await call(bff.url, 'POST', '/v1/orgs/o1/user-assets', { key, body: { userIds: ['u0012'] } }), 'batch while down');
    const ready = await call(bff.url, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', upstream: 'down' });
    // What was cached before the crash is still served (within its TTL).
    expect((await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets', { key })).headers.get('x-cache')).toBe('HIT');

    await sim.start();
    const restarted = Date.now();
    let first: Res | undefined;
    await waitFor(
      async () => {
        first = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0013/assets', { key, headers: noCache });
        if (first.status !== 200) expectUnavailable(first, 'while recovering');
        return first.status === 200;
      },
      CIRCUIT_HALF_OPEN_MS + 5000,
      'first success after the restart',
    );
    const recoveryMs = Date.now() - restarted;
    expect(recoveryMs).toBeLessThan(CIRCUIT_HALF_OPEN_MS + 2000);
    expect(first!.body.assets).toHaveLength(10);
    // The new process has never seen the old app token: the service got a new one and read through it.
    const c = await sim.admin.counters();
    expect(c.endpoints.tokenGet.calls).toBeGreaterThanOrEqual(1);
    expect(c.endpoints.assetList.calls).toBeGreaterThanOrEqual(1);
    const rs = await Promise.all(o1Users.slice(1, 7).map((u) => call(bff.url, 'GET', `/v1/orgs/o1/users/${u}/assets`, { key })));
    expect(rs.map((r) => r.status)).toEqual(rs.map(() => 200));
    await waitFor(async () => (await call(bff.url, 'GET', '/health/ready')).body.upstream === 'up', 5000, 'readiness up');
  }, 60_000);
});

describe('SIGTERM under load', () => {
  let sim: SimHandle;

  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  /** 50 slow requests (300 ms upstream latency, some needing several rounds of the bulkhead), SIGTERM once they are under way. */
  async function sigtermUnderLoad(
    drainMs: number,
    db: number,
  ): Promise<{ failures: string[]; exitCode: number | string | null; upstreamCalls: number; output: string }> {
    const bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(db), SHUTDOWN_DRAIN_MS: String(drainMs), LOG_LEVEL: 'warn' } });
    try {
      await sim.admin.setFault('assetList', { latencyMs: 300 });
      await sim.admin.setFault('usersAssetList', { latencyMs: 300 });
      await sim.admin.resetCounters();
      const o2Users = ['u0101', 'u0102', 'u0103', 'u0104', 'u0105'];
      const jobs = Array.from({ length: 50 }, (_, i) => {
        const u = o1Users[i % o1Users.length];
        if (i % 5 === 3) return call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: [o2Users[i % 5], 'u0001'] }, headers: noCache });
        if (i % 5 === 4)
          return call(bff.url, 'POST', '/v1/orgs/o1/access-checks', { key, body: { checks: [{ userId: u, assetId: 'o1-a0001' }] }, headers: noCache });
        return call(bff.url, 'GET', `/v1/orgs/o1/users/${u}/assets`, { key, headers: noCache });
      }).map((p) => p.catch((e: Error & { cause?: { code?: string } }) => ({ status: -1, body: { code: e.cause?.code ?? e.message } }) as unknown as Res));
      // Every request is on the wire and the portal has started answering before the signal.
      await waitFor(async () => (await sim.admin.counters()).log.length > 0, 5000, 'upstream calls under way');
      await sleep(100);
      const exit = bff.stop('SIGTERM');
      const results = await Promise.all(jobs);
      const failures = results.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body?.code}`);
      expect(results.filter((r) => r.body?.userId).every((r) => r.body.assets.length === 10)).toBe(true);
      const c = await sim.admin.counters();
      const exitCode = await Promise.race([exit, sleep(EXIT_BOUND_MS).then(() => `still running ${EXIT_BOUND_MS} ms after SIGTERM`)]);
      return { failures, exitCode, upstreamCalls: c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls, output: bff.output() };
    } finally {
      await bff.stop('SIGKILL');
      await sim.admin.clearFaults();
    }
  }

  it('SHUTDOWN_DRAIN_MS longer than the work in flight (2 s): all 50 complete with 200, exit 0', async () => {
    const r = await sigtermUnderLoad(2000, 12);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.upstreamCalls).toBeGreaterThanOrEqual(10);
    expect(r.output).not.toMatch(/unhandled error/);
  }, 30_000);

  it('a drain shorter than the work in flight (200 ms): requests accepted before SIGTERM still complete with 200, exit 0', async () => {
    const r = await sigtermUnderLoad(200, 13);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.upstreamCalls).toBeGreaterThanOrEqual(10);
  }, 30_000);
});
