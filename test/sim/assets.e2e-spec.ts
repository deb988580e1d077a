import { PortalCode, PortalPaths } from '@app/portal-contracts';
import { SimHandle, appToken, signedCall, startSim } from '../support/sim';

describe('portal-sim: users/assetList and asset/list', () => {
  let sim: SimHandle;
  let token: string;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());
  beforeEach(async () => {
    await sim.admin.reset();
    token = await appToken(sim);
  });

  const usersAssetList = (body: unknown) => signedCall(sim, 'POST', PortalPaths.usersAssetList, { body, appToken: token });
  const assetList = (body: unknown) => signedCall(sim, 'POST', PortalPaths.assetList, { body, appToken: token });

  describe('users/assetList', () => {
    it('accepts the seed samples (with and without resourceTypes) and answers the documented shape', async () => {
      const old = await usersAssetList({ organizationId: 'o2', userIds: ['u0101', 'u0102', 'u0103'] });
      expect(old.status).toBe(200);
      expect(old.body).toMatchObject({ code: 0, message: 'OK' });
      expect(old.body.data.usersUserAssets).toEqual([
        { userId: 'u0101', userAssetIds: ['o2-a0001', 'o2-a0002', 'o2-a0003', 'o2-a0004', 'o2-a0005'] },
        { userId: 'u0102', userAssetIds: ['o2-a0006', 'o2-a0007', 'o2-a0008', 'o2-a0009', 'o2-a0010'] },
        { userId: 'u0103', userAssetIds: ['o2-a0011', 'o2-a0012', 'o2-a0013', 'o2-a0014', 'o2-a0015'] },
      ]);
      expect(old.body.data.userAssets).toHaveLength(15);
      expect(old.body.data.userAssets[0]).toEqual({
        id: 'o2-a0001',
        name: { default: 'Inverter 0001', en_US: 'Inverter 0001', zh_CN: '逆变器 0001', ja_JP: 'インバータ 0001' },
        type: 'inverter',
        typeName: { default: 'Inverter', en_US: 'Inverter', zh_CN: '逆变器', ja_JP: 'インバータ' },
      });

      const typed = await usersAssetList({ organizationId: 'o2', userIds: ['u0101', 'u0102', 'u0103'], resourceTypes: ['inverter', 'meter'] });
      expect(typed.body.code).toBe(0);
      expect(typed.body.data.usersUserAssets.map((u: { userAssetIds: string[] }) => u.userAssetIds)).toEqual([
        ['o2-a0001', 'o2-a0003'],
        ['o2-a0006', 'o2-a0008'],
        ['o2-a0011', 'o2-a0013'],
      ]);
      expect(new Set(typed.body.data.userAssets.map((a: { type: string }) => a.type))).toEqual(new Set(['inverter', 'meter']));
    });

    it('omits users not in the OU, answers duplicates once, shares one asset dictionary', async () => {
      const res = await usersAssetList({ organizationId: 'o1', userIds: ['u0005', 'ghost', 'u0006', 'u0005', 'u0002'] });
      expect(res.body.data.usersUserAssets.map((u: { userId: string }) => u.userId)).toEqual(['u0005', 'u0006', 'u0002']);
      expect(res.body.data.usersUserAssets[2].userAssetIds).toEqual([]);
      expect(res.body.data.userAssets).toHaveLength(20);
      expect(new Set(res.body.data.userAssets.map((a: { id: string }) => a.id)).size).toBe(20);
    });

    it('answers a grant or revoke made after an earlier answer, the same lists as the filtered path with every type', async () => {
      type Users = { userId: string; userAssetIds: string[] }[];
      const userIds = ['ghost', 'u0005', 'u0006', 'u0005'];
      const first = await usersAssetList({ organizationId: 'o1', userIds });
      const before: Users = first.body.data.usersUserAssets;
      expect(before.map((u) => u.userId)).toEqual(['u0005', 'u0006']);
      await sim.admin.grant('o1', 'u0005', ['o1-a2500', 'o1-a0100']);
      await sim.admin.revoke('o1', 'u0005', ['o1-a0002']);
      const again = await usersAssetList({ organizationId: 'o1', userIds });
      const after: Users = again.body.data.usersUserAssets;
      const expected = [...before[0].userAssetIds.filter((id) => id !== 'o1-a0002'), 'o1-a0100', 'o1-a2500'].sort();
      expect(after[0].userAssetIds).toEqual(expected);
      expect(after[1]).toEqual(before[1]);
      expect(again.body.data.userAssets.map((a: { id: string }) => a.id).sort()).toEqual([...expected, ...before[1].userAssetIds].sort());
      // the filtered path, given every type the users' assets have, lists the same
      const types = [...new Set(again.body.data.userAssets.map((a: { type: string }) => a.type))];
      const typed = await usersAssetList({ organizationId: 'o1', userIds, resourceTypes: types });
      expect(typed.body.data).toEqual(again.body.data);
    });

    it('a user with all 2,500 assets and the I18n gaps of the test profile', async () => {
      const res = await usersAssetList({ organizationId: 'o1', userIds: ['u0001'] });
      expect(res.body.data.usersUserAssets[0].userAssetIds).toHaveLength(2500);
      const a7 = res.body.data.userAssets[6];
      expect(a7.id).toBe('o1-a0007');
      expect(a7.name.ja_JP).toBeUndefined();
      expect(res.body.data.userAssets[10].name.zh_CN).toBe('');
    });

    it.each([
      ['no organizationId', { userIds: ['u0001'] }],
      ['empty userIds', { organizationId: 'o1', userIds: [] }],
      ['missing userIds', { organizationId: 'o1' }],
      ['userIds not a list', { organizationId: 'o1', userIds: 'u0001' }],
      ['a non-string user id', { organizationId: 'o1', userIds: [42] }],
      ['1,001 userIds', { organizationId: 'o1', userIds: Array.from({ length: 1001 }, (_, i) => `u${i}`) }],
      ['1,001 resourceTypes', { organizationId: 'o1', userIds: ['u0001'], resourceTypes: Array.from({ length: 1001 }, (_, i) => `t${i}`) }],
      ['resourceTypes not a list', { organizationId: 'o1', userIds: ['u0001'], resourceTypes: 'inverter' }],
      ['a JSON array body', [1, 2]],
    ])('31400 for %s', async (_what, body) => {
      const res = await usersAssetList(body);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: PortalCode.BadRequest, message: expect.any(String), data: null });
    });

    it('accepts exactly 1,000 userIds', async () => {
      const res = await usersAssetList({ organizationId: 'o1', userIds: Array.from({ length: 1000 }, (_, i) => `x${i}`) });
      expect(res.body.code).toBe(0);
      expect(res.body.data.usersUserAssets).toEqual([]);
    });

    it('31404 for an unknown OU, 31403 when the app permission is revoked', async () => {
      expect((await usersAssetList({ organizationId: 'nope', userIds: ['u0001'] })).body.code).toBe(PortalCode.NotFound);
      await sim.admin.setAppPermission(false);
      expect((await usersAssetList({ organizationId: 'o1', userIds: ['u0001'] })).body).toEqual({
        code: PortalCode.NotPermitted,
        message: expect.any(String),
        data: null,
      });
      await sim.admin.setAppPermission(true);
      expect((await usersAssetList({ organizationId: 'o1', userIds: ['u0001'] })).body.code).toBe(0);
    });
  });

  describe('asset/list', () => {
    it('accepts the seed sample and answers the documented shape', async () => {
      const res = await assetList({ userId: 'u0005', orgId: 'o1', pagination: { pageNo: 0, pageSize: 1000 } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ code: 0, data: { pagination: { pageNo: 0, pageSize: 1000, totalElements: 10 } } });
      expect(res.body.data.assets).toHaveLength(10);
      expect(res.body.data.assets[0]).toEqual({ id: 'o1-a0001', name: expect.objectContaining({ default: 'Inverter 0001' }) });
      expect(Object.keys(res.body.data.assets[0]).sort()).toEqual(['id', 'name']);
    });

    it('defaults to page 0 of 1000', async () => {
      const res = await assetList({ userId: 'u0001', orgId: 'o1' });
      expect(res.body.data.pagination).toEqual({ pageNo: 0, pageSize: 1000, totalElements: 2500 });
      expect(res.body.data.assets).toHaveLength(1000);
    });

    it.each([
      ['u0001', 2500, 1000],
      ['u0001', 2500, 97],
      ['u0003', 1000, 1000],
      ['u0004', 1001, 1000],
      ['u0002', 0, 1000],
    ])('pages of %s (%i assets, pageSize %i) cover every asset exactly once', async (userId, total, pageSize) => {
      const seen: string[] = [];
      const pages = Math.max(1, Math.ceil(total / pageSize));
      for (let pageNo = 0; pageNo <= pages; pageNo++) {
        const res = await assetList({ userId, orgId: 'o1', pagination: { pageNo, pageSize } });
        expect(res.body.data.pagination).toEqual({ pageNo, pageSize, totalElements: total });
        const expected = pageNo < pages ? Math.min(pageSize, total - pageNo * pageSize) : 0;
        expect(res.body.data.assets).toHaveLength(Math.max(0, expected));
        seen.push(...res.body.data.assets.map((a: { id: string }) => a.id));
      }
      expect(seen).toHaveLength(total);
      expect(new Set(seen).size).toBe(total);
      if (total) expect(seen[0]).toBe('o1-a0001');
    });

    it('keeps a stable order after grants and revokes (materialized grant)', async () => {
      await sim.admin.grant('o1', 'u0005', ['o1-a2500', 'o1-a0100']);
      await sim.admin.revoke('o1', 'u0005', ['o1-a0002']);
      const res = await assetList({ userId: 'u0005', orgId: 'o1' });
      const ids = res.body.data.assets.map((a: { id: string }) => a.id);
      expect(res.body.data.pagination.totalElements).toBe(11);
      expect(ids).toEqual([...ids].sort());
      expect(ids).toContain('o1-a2500');
      expect(ids).not.toContain('o1-a0002');
      const again = await assetList({ userId: 'u0005', orgId: 'o1' });
      expect(again.body.data.assets.map((a: { id: string }) => a.id)).toEqual(ids);
    });

    it.each([
      ['missing userId', { orgId: 'o1' }],
      ['missing orgId', { userId: 'u0001' }],
      ['pageSize 0', { userId: 'u0001', orgId: 'o1', pagination: { pageNo: 0, pageSize: 0 } }],
      ['pageSize 1001', { userId: 'u0001', orgId: 'o1', pagination: { pageNo: 0, pageSize: 1001 } }],
      ['negative pageNo', { userId: 'u0001', orgId: 'o1', pagination: { pageNo: -1, pageSize: 10 } }],
      ['string pageNo', { userId: 'u0001', orgId: 'o1', pagination: { pageNo: '1', pageSize: 10 } }],
    ])('31400 for %s', async (_what, body) => {
      expect((await assetList(body)).body).toEqual({ code: PortalCode.BadRequest, message: expect.any(String), data: null });
    });

    it('31404 for an unknown OU or a user not in the OU; 31403 without permission', async () => {
      expect((await assetList({ userId: 'u0001', orgId: 'nope' })).body.code).toBe(PortalCode.NotFound);
      expect((await assetList({ userId: 'u0101', orgId: 'o1' })).body.code).toBe(PortalCode.NotFound);
      await sim.admin.setAppPermission(false);
      expect((await assetList({ userId: 'u0001', orgId: 'o1' })).body.code).toBe(PortalCode.NotPermitted);
    });
  });
});
