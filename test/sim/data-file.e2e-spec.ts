import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortalPaths } from '@app/portal-contracts';
import { SimDataFile } from '@app/sim-contracts';
import { SimHandle, signedCall, startSim } from '../support/sim';

describe('portal-sim: SIM_DATA_FILE and custom credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'portal-sim-'));
  let sim: SimHandle;
  const file: SimDataFile = {
    resourceTypes: [{ code: 'pump', typeName: { default: 'Pump', zh_CN: '泵' } }],
    orgs: [
      {
        orgId: 'acme',
        name: { default: 'ACME' },
        assets: [
          { id: 'p1', name: { default: 'Pump 1' }, type: 'pump' },
          { id: 'p2', name: { default: 'Pump 2', en_US: '' }, type: 'pump' },
        ],
        tree: [{ id: 'acme-site', name: { default: 'Site' }, tags: [{ id: 9, key: 'k', value: 'v' }], displayOrder: 3, assetIds: ['p1', 'p2'] }],
        users: [{ userId: 'alice', assetIds: ['p2'] }],
      },
    ],
  };

  beforeAll(async () => {
    const path = join(dir, 'data.json');
    writeFileSync(path, JSON.stringify(file));
    sim = await startSim({ env: { SIM_DATA_FILE: path, SIM_APP_KEY: 'k1', SIM_APP_SECRET: 's1', SIM_ACCESS_KEY: 'ak1', SIM_USER_PASSWORD: 'pw' } });
  });
  afterAll(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the file data with the configured credentials', async () => {
    expect(sim).toMatchObject({ appKey: 'k1', appSecret: 's1', accessKey: 'ak1' });
    expect(await sim.admin.orgs()).toEqual([{ orgId: 'acme', users: 1, assets: 2 }]);
    const batch = await signedCall(sim, 'POST', PortalPaths.usersAssetList, { body: { organizationId: 'acme', userIds: ['alice'] } });
    expect(batch.body.data).toEqual({
      usersUserAssets: [{ userId: 'alice', userAssetIds: ['p2'] }],
      userAssets: [{ id: 'p2', name: { default: 'Pump 2', en_US: '' }, type: 'pump', typeName: { default: 'Pump', zh_CN: '泵' } }],
    });
    const jwt = await sim.admin.userToken('alice', 'acme');
    const tree = await signedCall(sim, 'GET', PortalPaths.appAssetTree, { query: { accessKey: 'ak1' }, token: jwt });
    expect(tree.body.data.children[0]).toMatchObject({ id: 'acme-site', displayOrder: 3, tags: [{ id: 9, key: 'k', value: 'v' }] });
    expect(tree.body.data.children[0].children.map((a: { id: string }) => a.id)).toEqual(['p2']);
  });
});
