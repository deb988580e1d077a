import { PortalPaths } from '@app/portal-contracts';
import { SimHandle, appToken, signedCall, startSim } from '../support/sim';

describe('portal-sim: large profile', () => {
  let sim: SimHandle;
  beforeAll(async () => {
    sim = await startSim({ profile: 'large' });
  });
  afterAll(() => sim.stop());

  it('has >= 50,000 users, >= 100,000 assets and users with >= 10,000 assets', async () => {
    const orgs = await sim.admin.orgs();
    expect(orgs.reduce((n, o) => n + o.users, 0)).toBeGreaterThanOrEqual(50_000);
    expect(orgs.reduce((n, o) => n + o.assets, 0)).toBeGreaterThanOrEqual(100_000);
    const o1 = await sim.admin.org('o1');
    expect(o1.users).toBeGreaterThanOrEqual(50_000);
    expect(o1.assets).toBeGreaterThanOrEqual(100_000);
    const big = o1.userAssetCounts.filter((u) => u.assets >= 10_000);
    expect(big.length).toBeGreaterThanOrEqual(10);
    expect(big[0].userId).toBe('u00001');
  });

  it('serves the pages of a 10,000+ asset user, each asset once', async () => {
    const app = await appToken(sim);
    const first = await signedCall(sim, 'POST', PortalPaths.assetList, { body: { userId: 'u00001', orgId: 'o1' }, appToken: app });
    const total: number = first.body.data.pagination.totalElements;
    expect(total).toBeGreaterThanOrEqual(10_000);
    const ids = new Set<string>(first.body.data.assets.map((a: { id: string }) => a.id));
    for (let pageNo = 1; pageNo * 1000 < total; pageNo++) {
      const page = await signedCall(sim, 'POST', PortalPaths.assetList, {
        body: { userId: 'u00001', orgId: 'o1', pagination: { pageNo, pageSize: 1000 } },
        appToken: app,
      });
      for (const a of page.body.data.assets as { id: string }[]) ids.add(a.id);
    }
    expect(ids.size).toBe(total);
  });

  it('answers a 1,000-user batch', async () => {
    const userIds = Array.from({ length: 1000 }, (_, i) => `u${String(i + 1).padStart(5, '0')}`);
    const res = await signedCall(sim, 'POST', PortalPaths.usersAssetList, { body: { organizationId: 'o1', userIds } });
    expect(res.body.code).toBe(0);
    expect(res.body.data.usersUserAssets).toHaveLength(1000);
    expect(res.body.data.usersUserAssets[0].userAssetIds.length).toBeGreaterThanOrEqual(10_000);
  });
});
