import { AssetTreeNode, PortalClient, PortalError, PortalErrorKind } from '@app/portal-client';
import { startSim } from '../support/sim';
import { buildClient, captureLogs, clientOptions, failure } from './client-harness';

type Sim = Awaited<ReturnType<typeof startSim>>;

function count(n: AssetTreeNode, kind: 'node' | 'asset'): number {
  return (n.kind === kind ? 1 : 0) + [...n.children, ...(n.associatedResources ?? [])].reduce((s, c) => s + count(c, kind), 0);
}

describe('PortalClient app asset tree (real simulator)', () => {
  let sim: Sim;
  let client: PortalClient;
  let close: () => Promise<void>;
  let orgId: string;
  let userToken: string;
  let logs: ReturnType<typeof captureLogs>;

  beforeAll(async () => {
    sim = await startSim({ profile: 'test' });
    ({ client, close } = await buildClient(clientOptions(sim)));
    // After compile(): the testing module installs its own logger while compiling.
    logs = captureLogs();
    const orgs = await sim.admin.orgs();
    orgId = orgs[0].orgId;
    const detail = await sim.admin.org(orgId);
    const user = [...detail.userAssetCounts].sort((a, b) => b.assets - a.assets)[0];
    userToken = await sim.admin.userToken(user.userId, orgId);
  });

  afterAll(async () => {
    logs?.restore();
    await close?.();
    await sim?.stop();
  });

  afterEach(() => {
    expect(logs.lines.join('\n')).not.toContain(userToken);
  });

  beforeEach(async () => {
    await sim.admin.clearFaults();
    await sim.admin.setQuirks({ displayorder: false, typeUnderData: false, legacySuccessCode: false, nullChildren: false });
    await sim.admin.resetCounters();
  });

  it('normalizes a tree with every quirk on exactly like the clean one', async () => {
    const clean = await client.getAppAssetTree(userToken, sim.accessKey, { associated: true });
    expect(count(clean, 'asset')).toBeGreaterThan(0);
    expect(clean.parentId).toBeNull();
    await sim.admin.setQuirks({ displayorder: true, typeUnderData: true, legacySuccessCode: true, nullChildren: true });
    const quirky = await client.getAppAssetTree(userToken, sim.accessKey, { associated: true });
    expect(quirky).toEqual(clean);
    const counters = await sim.admin.counters();
    expect(counters.endpoints.appAssetTree.calls).toBe(2);
    expect(counters.log.filter((c) => c.endpoint === 'appAssetTree').map((c) => c.outcome)).toEqual([0, 200]);
  });

  it('sends resourceTypes and needAssociatedAsset', async () => {
    const detail = await sim.admin.org(orgId);
    const type = detail.resourceTypes[0];
    const filtered = await client.getAppAssetTree(userToken, sim.accessKey, { associated: false, resourceTypes: [type] });
    const assets: AssetTreeNode[] = [];
    const walk = (n: AssetTreeNode) => {
      if (n.kind === 'asset') assets.push(n);
      n.children.forEach(walk);
      n.associatedResources?.forEach(walk);
    };
    walk(filtered);
    expect(assets.length).toBeGreaterThan(0);
    expect(assets.every((a) => a.type === type)).toBe(true);
    const full = await client.getAppAssetTree(userToken, sim.accessKey, { associated: false });
    expect(count(filtered, 'asset')).toBeLessThan(count(full, 'asset'));
    // needAssociatedAsset: associated resources only when asked for.
    const associated = (n: AssetTreeNode): number => (n.associatedResources?.length ?? 0) + n.children.reduce((s, c) => s + associated(c), 0);
    expect(associated(full)).toBe(0);
    expect(associated(await client.getAppAssetTree(userToken, sim.accessKey, { associated: true }))).toBeGreaterThan(0);
  });

  it('maps a bad user token to TokenInvalid without the token in the error', async () => {
    const bad = 'not-a-real-token-0123456789';
    const err = await failure(client.getAppAssetTree(bad, sim.accessKey, { associated: false }));
    expect(err).toBeInstanceOf(PortalError);
    expect(err.kind).toBe(PortalErrorKind.TokenInvalid);
    expect(`${err.message} ${err.stack} ${JSON.stringify(err)}`).not.toContain(bad);
    expect(logs.lines.join('\n')).not.toContain(bad);
    expect(logs.lines.some((l) => /^GET \/app-portal-service\/v2\.2\/user\/app\/asset\/tree 200 /.test(l))).toBe(true);
    expect((await sim.admin.counters()).endpoints.appAssetTree.calls).toBe(1);
  });

  it('maps an unknown accessKey to NotFound (app)', async () => {
    await expect(client.getAppAssetTree(userToken, 'no-such-app', { associated: false })).rejects.toMatchObject({
      kind: PortalErrorKind.NotFound,
      notFound: 'app',
    });
  });
});
