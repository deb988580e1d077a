import { GatewayCode, PortalCode, PortalPaths } from '@app/portal-contracts';
import { SimCallRecord } from '@app/sim-contracts';
import { SimHandle, appToken, signedCall, signedFetch, startSim } from '../support/sim';

describe('portal-sim: admin API (counters, faults, data)', () => {
  let sim: SimHandle;
  let app: string;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());
  beforeEach(async () => {
    await sim.admin.reset();
    app = await appToken(sim);
    await sim.admin.resetCounters();
  });

  const list = (body: unknown, signal?: AbortSignal) => signedCall(sim, 'POST', PortalPaths.assetList, { body, appToken: app, signal });
  const batch = (userIds: string[]) => signedCall(sim, 'POST', PortalPaths.usersAssetList, { body: { organizationId: 'o1', userIds }, appToken: app });

  /** The log entries of one endpoint, waiting briefly for calls whose connection is still closing. */
  async function logOf(endpoint: SimCallRecord['endpoint'], n: number): Promise<SimCallRecord[]> {
    for (let i = 0; i < 40; i++) {
      const entries = (await sim.admin.counters()).log.filter((r) => r.endpoint === endpoint);
      if (entries.length >= n) return entries;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`fewer than ${n} ${endpoint} log entries`);
  }

  describe('counters', () => {
    it('count every portal call exactly (rejected ones too), users per batch, pages in order; never admin calls', async () => {
      await batch(['u0001', 'u0002', 'u0003']);
      await batch(['u0004', 'ghost']);
      await signedCall(sim, 'POST', PortalPaths.usersAssetList, { body: { organizationId: 'o1', userIds: ['u0001'] }, appToken: 'bogus' });
      for (const pageNo of [0, 2, 1]) await list({ userId: 'u0001', orgId: 'o1', pagination: { pageNo, pageSize: 1000 } });
      await list({ userId: 'u0001', orgId: 'o1' });
      await sim.admin.orgs();
      await sim.admin.org('o1');
      const c = await sim.admin.counters();
      expect(c.endpoints.usersAssetList).toEqual({ calls: 3, users: 6, pages: [] });
      expect(c.endpoints.assetList).toEqual({ calls: 4, users: 0, pages: [0, 2, 1, 0] });
      expect(c.endpoints.tokenGet.calls).toBe(0);
      expect(c.endpoints.appAssetTree.calls).toBe(0);
      expect(c.log.map((r) => [r.endpoint, r.outcome])).toEqual([
        ['usersAssetList', 0],
        ['usersAssetList', 0],
        ['usersAssetList', GatewayCode.InvalidAccessToken],
        ['assetList', 0],
        ['assetList', 0],
        ['assetList', 0],
        ['assetList', 0],
      ]);
      expect(c.log[0]).toMatchObject({ orgId: 'o1', userCount: 3 });
      expect(c.log[4]).toMatchObject({ orgId: 'o1', userId: 'u0001', pageNo: 2 });
      for (const r of c.log) expect(r.finishedAt).toBeGreaterThanOrEqual(r.startedAt);
      await sim.admin.resetCounters();
      expect((await sim.admin.counters()).endpoints.assetList).toEqual({ calls: 0, users: 0, pages: [] });
    });

    it('count a call rejected by its JSON parser', async () => {
      const res = await fetch(`${sim.url}${PortalPaths.usersAssetList}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      expect(res.status).toBe(400);
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(1);
    });
  });

  describe('faults', () => {
    const body = { userId: 'u0005', orgId: 'o1' };

    it('latency is added to the matching endpoint only, and the log spans it', async () => {
      await sim.admin.setFault('assetList', { latencyMs: 300, latencyJitterMs: 50 });
      const t0 = Date.now();
      expect((await list(body)).body.code).toBe(0);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
      const t1 = Date.now();
      await batch(['u0005']);
      expect(Date.now() - t1).toBeLessThan(280);
      const [rec] = await logOf('assetList', 1);
      expect(rec.finishedAt - rec.startedAt).toBeGreaterThanOrEqual(295);
      expect(rec.finishedAt - rec.startedAt).toBeLessThan(1_000);
    });

    const idsOf = (r: { body: { data: { usersUserAssets: { userAssetIds: string[] }[] } } }): string[] => r.body.data.usersUserAssets[0].userAssetIds;
    /** A users/assetList call of u0005 under 500 ms latency, with o1-a2000 granted once the call came in. */
    async function grantDuringLatency(latencyAt?: 'request' | 'answer'): Promise<string[]> {
      await sim.admin.setFault('usersAssetList', { latencyMs: 500, latencyAt });
      const pending = batch(['u0005']);
      // Counted as it comes in; with 'answer' its answer is made on the next turn of the sim's loop, long before the grant.
      for (let i = 0; (await sim.admin.counters()).endpoints.usersAssetList.calls < 1; i++) {
        if (i > 100) throw new Error('the call never reached the simulator');
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 100));
      await sim.admin.grant('o1', 'u0005', ['o1-a2000']);
      const ids = idsOf(await pending);
      const [rec] = await logOf('usersAssetList', 1);
      expect(rec.finishedAt - rec.startedAt).toBeGreaterThanOrEqual(495);
      await sim.admin.clearFaults();
      expect(idsOf(await batch(['u0005']))).toContain('o1-a2000');
      return ids;
    }

    it("latencyAt 'answer' answers from the data as the call came in, once the latency has passed", async () => {
      expect(await grantDuringLatency('answer')).not.toContain('o1-a2000');
    });

    it("latencyAt 'request' (the default) answers from the data as the latency ends", async () => {
      expect(await grantDuringLatency()).toContain('o1-a2000');
      await sim.admin.reset();
      expect(await grantDuringLatency('request')).toContain('o1-a2000');
    });

    it('a latencyAt other than request or answer is refused', async () => {
      const res = await fetch(`${sim.url}/__sim/faults/usersAssetList`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ latencyMs: 5, latencyAt: 'later' }),
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('latencyAt');
    });

    it('cutAfterBytes sends the head with the whole length and only the first bytes of the answer, then closes the connection', async () => {
      const whole = await signedFetch(sim, 'POST', PortalPaths.usersAssetList, { body: { organizationId: 'o1', userIds: ['u0001', 'u0002'] }, appToken: app });
      const length = (await whole.arrayBuffer()).byteLength;
      expect(length).toBeGreaterThan(2_000);
      await sim.admin.setFault('usersAssetList', { cutAfterBytes: 1_000, times: 1 });
      const res = await signedFetch(sim, 'POST', PortalPaths.usersAssetList, { body: { organizationId: 'o1', userIds: ['u0001', 'u0002'] }, appToken: app });
      expect(res.status).toBe(200);
      expect(Number(res.headers.get('content-length'))).toBe(length);
      const reader = res.body!.getReader();
      let got = 0;
      await expect(
        (async () => {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            got += value.length;
          }
        })(),
      ).rejects.toThrow();
      expect(got).toBe(1_000);
      expect((await logOf('usersAssetList', 2)).map((r) => r.outcome)).toEqual([0, -1]);
      // once only (times: 1), and refused when not a whole number of bytes
      expect((await batch(['u0001'])).status).toBe(200);
      for (const bad of [-1, 1.5, 'x']) {
        const r = await fetch(`${sim.url}/__sim/faults/usersAssetList`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ cutAfterBytes: bad }),
        });
        expect(r.status).toBe(400);
        expect(await r.text()).toContain('cutAfterBytes');
      }
    });

    it('errorCode answers that code in the envelope with HTTP 200', async () => {
      await sim.admin.setFault('usersAssetList', { errorCode: PortalCode.NotPermitted });
      const res = await batch(['u0001']);
      expect(res).toEqual({ status: 200, body: { code: PortalCode.NotPermitted, message: expect.any(String), data: null } });
      expect((await logOf('usersAssetList', 1))[0].outcome).toBe(PortalCode.NotPermitted);
    });

    it('httpStatus answers a 5xx', async () => {
      await sim.admin.setFault('assetList', { httpStatus: 503 });
      const res = await list(body);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ code: 503, data: null });
      expect((await logOf('assetList', 1))[0].outcome).toBe(503);
    });

    it('times: the fault applies to the next N calls only', async () => {
      await sim.admin.setFault('assetList', { httpStatus: 502, times: 2 });
      expect((await list(body)).status).toBe(502);
      expect((await list(body)).status).toBe(502);
      expect((await list(body)).status).toBe(200);
      expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(3);
    });

    it('errorRate 0 never fails; clearFaults removes every fault', async () => {
      await sim.admin.setFault('assetList', { errorRate: 0, errorCode: 31400 });
      for (let i = 0; i < 5; i++) expect((await list(body)).body.code).toBe(0);
      await sim.admin.setFault('assetList', { errorCode: 31400 });
      expect((await list(body)).body.code).toBe(31400);
      await sim.admin.clearFaults();
      expect((await list(body)).body.code).toBe(0);
    });

    it("'*' applies to every endpoint, token service included (in its own envelope)", async () => {
      await sim.admin.setFault('*', { errorCode: GatewayCode.GatewayBusy });
      expect((await list(body)).body.code).toBe(GatewayCode.GatewayBusy);
      await expect(appToken(sim)).rejects.toThrow(/1005/);
    });

    it('hang: the call never answers until the client gives up', async () => {
      await sim.admin.setFault('assetList', { hang: true });
      const t0 = Date.now();
      await expect(list(body, AbortSignal.timeout(300))).rejects.toThrow();
      expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
      const [rec] = await logOf('assetList', 1);
      expect(rec.outcome).toBe(-1);
      expect(rec.finishedAt - rec.startedAt).toBeGreaterThanOrEqual(250);
      await sim.admin.clearFaults();
      expect((await list(body)).body.code).toBe(0);
    });

    it('drop: the connection is destroyed without an answer', async () => {
      await sim.admin.setFault('assetList', { drop: true, times: 1 });
      await expect(list(body)).rejects.toThrow(/fetch failed/);
      expect((await logOf('assetList', 1))[0].outcome).toBe(-1);
      expect((await list(body)).body.code).toBe(0);
    });

    it('replay (1001) only through fault injection', async () => {
      const same = { body, appToken: app };
      expect((await signedCall(sim, 'POST', PortalPaths.assetList, same)).body.code).toBe(0);
      expect((await signedCall(sim, 'POST', PortalPaths.assetList, same)).body.code).toBe(0);
      await sim.admin.setFault('assetList', { errorCode: GatewayCode.RepeatedRequest, times: 1 });
      expect((await signedCall(sim, 'POST', PortalPaths.assetList, same)).body.code).toBe(GatewayCode.RepeatedRequest);
    });
  });

  describe('data', () => {
    it('lists orgs and details of the test profile', async () => {
      expect(await sim.admin.orgs()).toEqual([
        { orgId: 'o1', users: 20, assets: 2500 },
        { orgId: 'o2', users: 6, assets: 30 },
        { orgId: 'o3', users: 1, assets: 0 },
      ]);
      const o1 = await sim.admin.org('o1');
      expect(o1.userAssetCounts.slice(0, 5)).toEqual([
        { userId: 'u0001', assets: 2500 },
        { userId: 'u0002', assets: 0 },
        { userId: 'u0003', assets: 1000 },
        { userId: 'u0004', assets: 1001 },
        { userId: 'u0005', assets: 10 },
      ]);
      expect(o1.resourceTypes).toEqual(['inverter', 'wind_turbine', 'meter', 'auth_unit', 'site']);
    });

    it('creates an OU with users, adds/replaces and deletes users; reset restores the seed', async () => {
      expect(await sim.admin.createOrg({ orgId: 'big', assetCount: 1200, userCount: 3, assetsPerUser: 1100 })).toEqual({
        orgId: 'big',
        users: 3,
        assets: 1200,
      });
      const page = await list({ userId: 'big-u0002', orgId: 'big', pagination: { pageNo: 1, pageSize: 1000 } });
      expect(page.body.data.pagination.totalElements).toBe(1100);
      expect(page.body.data.assets).toHaveLength(100);

      await sim.admin.createUser('big', { userId: 'w', assetCount: 5, assetOffset: 1198 });
      const wrapped = await list({ userId: 'w', orgId: 'big' });
      expect(wrapped.body.data.assets.map((a: { id: string }) => a.id)).toEqual(['big-a0001', 'big-a0002', 'big-a0003', 'big-a1199', 'big-a1200']);
      await sim.admin.createUser('big', { userId: 'w', assetIds: ['big-a0010'] });
      expect((await list({ userId: 'w', orgId: 'big' })).body.data.pagination.totalElements).toBe(1);

      await sim.admin.deleteUser('big', 'w');
      expect((await list({ userId: 'w', orgId: 'big' })).body.code).toBe(PortalCode.NotFound);
      await expect(sim.admin.deleteUser('big', 'w')).rejects.toThrow(/404/);
      await expect(sim.admin.grant('o1', 'u0005', ['no-such-asset'])).rejects.toThrow(/400/);

      await sim.admin.reset();
      expect((await sim.admin.orgs()).map((o) => o.orgId)).toEqual(['o1', 'o2', 'o3']);
    });

    it("page-drift makes one user's asset/list pages disagree (total or shifted by one) until cleared; page 0 stays true", async () => {
      const pages = async (userId: string) => {
        const out: { total: number; ids: string[] }[] = [];
        for (const pageNo of [0, 1, 2]) {
          const r = await list({ userId, orgId: 'o1', pagination: { pageNo, pageSize: 4 } });
          out.push({ total: r.body.data.pagination.totalElements, ids: r.body.data.assets.map((a: { id: string }) => a.id.slice(3)) });
        }
        return out;
      };
      const agreed = [
        { total: 10, ids: ['a0001', 'a0002', 'a0003', 'a0004'] },
        { total: 10, ids: ['a0005', 'a0006', 'a0007', 'a0008'] },
        { total: 10, ids: ['a0009', 'a0010'] },
      ];
      await sim.admin.setPageDrift('o1', 'u0005', 'shift');
      expect(await pages('u0005')).toEqual([
        { total: 10, ids: ['a0001', 'a0002', 'a0003', 'a0004'] },
        { total: 10, ids: ['a0004', 'a0005', 'a0006', 'a0007'] },
        { total: 10, ids: ['a0008', 'a0009', 'a0010'] },
      ]);
      // Another user of the OU is not affected.
      expect((await pages('u0006'))[1]).toEqual({ total: 10, ids: ['a0015', 'a0016', 'a0017', 'a0018'] });
      await sim.admin.setPageDrift('o1', 'u0005', 'total');
      expect(await pages('u0005')).toEqual(agreed.map((p, i) => ({ ...p, total: i === 0 ? 10 : 11 })));
      await sim.admin.clearPageDrift('o1', 'u0005');
      expect(await pages('u0005')).toEqual(agreed);
      await sim.admin.setPageDrift('o1', 'u0005', 'shift');
      await sim.admin.reset();
      expect(await pages('u0005')).toEqual(agreed);
      await expect(sim.admin.setPageDrift('o1', 'ghost', 'shift')).rejects.toThrow(/404/);
      await expect(sim.admin.setPageDrift('o1', 'u0005', 'sideways' as 'shift')).rejects.toThrow(/400/);
    });

    it('a new user can log in and see the tree of a new OU', async () => {
      await sim.admin.createOrg({ orgId: 'fresh', assetCount: 120 });
      await sim.admin.createUser('fresh', { userId: 'newbie', assetCount: 60 });
      const jwt = await sim.admin.userToken('newbie', 'fresh');
      const res = await signedCall(sim, 'GET', PortalPaths.appAssetTree, { query: { accessKey: sim.accessKey }, token: jwt, appToken: app });
      expect(res.body.code).toBe(0);
      expect(res.body.data.id).toBe('fresh');
      const ids: string[] = [];
      const walk = (n: { tag?: string | null; id: string; children?: unknown[] | null }): void => {
        if (n.tag === 'asset') ids.push(n.id);
        (n.children ?? []).forEach((c) => walk(c as typeof n));
      };
      walk(res.body.data);
      expect(ids).toHaveLength(60);
    });
  });
});
