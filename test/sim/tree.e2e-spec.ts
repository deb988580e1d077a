import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { PortalCode, PortalPaths, RawTreeNode } from '@app/portal-contracts';
import { SimHandle, appToken, signedCall, startSim } from '../support/sim';

type Envelope = { code: number; message: string; data: RawTreeNode | null };

function walk(node: RawTreeNode, fn: (n: RawTreeNode, depth: number) => void, depth = 0): void {
  fn(node, depth);
  for (const c of node.children ?? []) walk(c, fn, depth + 1);
}

function assetsOf(root: RawTreeNode): RawTreeNode[] {
  const out: RawTreeNode[] = [];
  walk(root, (n) => n.tag === 'asset' && out.push(n));
  return out;
}

describe('portal-sim: login, session and the app asset tree', () => {
  let sim: SimHandle;
  let app: string;
  beforeAll(async () => {
    sim = await startSim();
  });
  afterAll(() => sim.stop());
  beforeEach(async () => {
    await sim.admin.reset();
    app = await appToken(sim);
  });

  const tree = (userJwt: string | undefined, query: Record<string, string> = { accessKey: sim.accessKey }, associated?: boolean) =>
    signedCall<Envelope>(sim, 'GET', PortalPaths.appAssetTree, {
      query,
      token: userJwt,
      appToken: app,
      headers: associated === undefined ? {} : { needAssociatedAsset: String(associated) },
    });

  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sim.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return (await res.json()) as { code: number; data: { accessToken: string; expire: number } | null };
  };

  describe('login and session/set', () => {
    it('login issues an RS256 JWT without orgId; session/set adds orgId; both verify against the JWKS', async () => {
      const login = await post(PortalPaths.login, { account: 'u0001', password: 'demo-password' });
      expect(login.code).toBe(0);
      expect(login.data!.expire).toBe(3600);
      const jwks = createRemoteJWKSet(new URL(`${sim.url}${PortalPaths.jwks}`));
      const first = await jwtVerify(login.data!.accessToken, jwks);
      expect(first.protectedHeader).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
      expect(first.payload).toMatchObject({ sub: 'u0001', exp: expect.any(Number), iat: expect.any(Number) });
      expect(first.payload.orgId).toBeUndefined();

      const session = await post(PortalPaths.sessionSet, { orgId: 'o2' }, { authorization: `Bearer ${login.data!.accessToken}` });
      expect(session.code).toBe(0);
      const second = await jwtVerify(session.data!.accessToken, jwks);
      expect(second.payload).toMatchObject({ sub: 'u0001', orgId: 'o2' });
    });

    it('31401 for a wrong password or unknown user, 31404 for an OU the user is not in, 31401 for a bad bearer', async () => {
      expect((await post(PortalPaths.login, { account: 'u0001', password: 'nope' })).code).toBe(PortalCode.InvalidUserToken);
      expect((await post(PortalPaths.login, { account: 'ghost', password: 'demo-password' })).code).toBe(PortalCode.InvalidUserToken);
      expect((await post(PortalPaths.login, { password: 'demo-password' })).code).toBe(PortalCode.BadRequest);
      const login = await post(PortalPaths.login, { account: 'u0101', password: 'demo-password' });
      expect((await post(PortalPaths.sessionSet, { orgId: 'o1' }, { authorization: `Bearer ${login.data!.accessToken}` })).code).toBe(PortalCode.NotFound);
      expect((await post(PortalPaths.sessionSet, { orgId: 'o2' }, { authorization: 'Bearer garbage' })).code).toBe(PortalCode.InvalidUserToken);
    });

    it('userToken TTL is configurable', async () => {
      await sim.admin.setTokenTtl({ userTokenTtlS: 5 });
      const jwt = await sim.admin.userToken('u0101', 'o2');
      const claims = decodeJwt(jwt);
      expect(claims.exp! - claims.iat!).toBe(5);
    });
  });

  describe('tree', () => {
    it('accepts the seed sample and answers the documented node shapes', async () => {
      const jwt = await sim.admin.userToken('u0101', 'o2');
      const res = await tree(jwt, { accessKey: sim.accessKey, resourceTypes: 'inverter,meter,wind_turbine,auth_unit,site' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ code: 0, message: 'OK' });
      const root = res.body.data!;
      expect(root).toMatchObject({ id: 'o2', parentId: '', tag: null, tags: [], displayOrder: 0, name: 'Test OU Two', nameJson: { default: 'Test OU Two' } });
      // u0101 sees o2-a0001..a0005: all on the first site of the first region; the rest is pruned.
      expect(root.children!.map((c) => c.id)).toEqual(['o2-n1']);
      const site = root.children![0].children!;
      expect(site.map((c) => c.id)).toEqual(['o2-n1-1']);
      expect(site[0]).toMatchObject({ tag: null, parentId: 'o2-n1', tags: [{ id: 1, key: 'level', value: 'site' }] });
      const assets = site[0].children!;
      expect(assets.map((a) => a.id)).toEqual(['o2-a0001', 'o2-a0002', 'o2-a0003', 'o2-a0004', 'o2-a0005']);
      expect(assets[0]).toEqual({
        id: 'o2-a0001',
        name: 'Inverter 0001',
        nameJson: { default: 'Inverter 0001', en_US: 'Inverter 0001', zh_CN: '逆变器 0001', ja_JP: 'インバータ 0001' },
        tag: 'asset',
        parentId: 'o2-n1-1',
        displayOrder: -1,
        type: 'inverter',
        typeName: { default: 'Inverter', en_US: 'Inverter', zh_CN: '逆变器', ja_JP: 'インバータ' },
      });
      expect(root.associatedResources).toBeUndefined();
    });

    it('mounts assets only on leaves and shows every visible asset once', async () => {
      const jwt = await sim.admin.userToken('u0001', 'o1');
      const root = (await tree(jwt)).body.data!;
      const assets = assetsOf(root);
      expect(assets).toHaveLength(2500);
      expect(new Set(assets.map((a) => a.id)).size).toBe(2500);
      walk(root, (n) => {
        const kids = n.children ?? [];
        const mixed = kids.some((k) => k.tag === 'asset') && kids.some((k) => k.tag !== 'asset');
        expect(mixed).toBe(false);
        if (n.tag === 'asset') expect(n.children).toBeUndefined();
      });
      let maxDepth = 0;
      walk(root, (_n, d) => (maxDepth = Math.max(maxDepth, d)));
      expect(maxDepth).toBe(3);
    });

    it('filters by resourceTypes and keeps the root when nothing is visible', async () => {
      const jwt = await sim.admin.userToken('u0005', 'o1');
      const meters = assetsOf((await tree(jwt, { accessKey: sim.accessKey, resourceTypes: 'meter' })).body.data!);
      expect(meters.map((a) => a.id)).toEqual(['o1-a0003', 'o1-a0008']);
      const none = (await tree(jwt, { accessKey: sim.accessKey, resourceTypes: 'unknown_type' })).body.data!;
      expect(none).toMatchObject({ id: 'o1', children: [] });
      const empty = (await tree(await sim.admin.userToken('u0002', 'o1'))).body.data!;
      expect(empty).toMatchObject({ id: 'o1', children: [] });
    });

    it('associatedResources only with needAssociatedAsset: true', async () => {
      const jwt = await sim.admin.userToken('u0101', 'o2');
      const without = (await tree(jwt, undefined, false)).body.data!;
      walk(without, (n) => expect(n.associatedResources).toBeUndefined());
      const withIt = (await tree(jwt, undefined, true)).body.data!;
      expect(withIt.associatedResources).toEqual([]);
      const region = withIt.children![0];
      expect(region.associatedResources).toEqual([expect.objectContaining({ id: 'o2-a0001', tag: 'asset', parentId: 'o2-n1', type: 'inverter' })]);
    });

    it('31400 without accessKey, 31401 for a bad or missing user token, 31512 without OU, 31404 for an unknown accessKey, 31403 without permission', async () => {
      const jwt = await sim.admin.userToken('u0101', 'o2');
      const code = async (p: Promise<{ body: Envelope }>) => (await p).body.code;
      expect(await code(tree(jwt, {}))).toBe(PortalCode.BadRequest);
      expect(await code(tree('not.a.jwt'))).toBe(PortalCode.InvalidUserToken);
      expect(await code(tree(undefined))).toBe(PortalCode.InvalidUserToken);
      expect(await code(tree(await sim.admin.userToken('u0101')))).toBe(PortalCode.OuNotSelected);
      expect(await code(tree(jwt, { accessKey: 'unknown-app' }))).toBe(PortalCode.NotFound);
      await sim.admin.setAppPermission(false);
      expect(await code(tree(jwt))).toBe(PortalCode.NotPermitted);
    });

    it('31401 for an expired user token', async () => {
      // 2 s: tokens expire at a whole second (iat floored), so a 1 s token made late in a second could expire
      // before its first use; this one lives 1 to 2 s.
      await sim.admin.setTokenTtl({ userTokenTtlS: 2 });
      const jwt = await sim.admin.userToken('u0101', 'o2');
      expect((await tree(jwt)).body.code).toBe(0);
      await new Promise((r) => setTimeout(r, 2_100));
      expect((await tree(jwt)).body.code).toBe(PortalCode.InvalidUserToken);
    });

    it('quirks change the wire shape', async () => {
      const jwt = await sim.admin.userToken('u0101', 'o2');
      const q = await sim.admin.setQuirks({ displayorder: true, typeUnderData: true, legacySuccessCode: true, nullChildren: true });
      expect(q).toEqual({ displayorder: true, typeUnderData: true, legacySuccessCode: true, nullChildren: true });
      const res = await tree(jwt, undefined, true);
      expect(res.body.code).toBe(200);
      const root = res.body.data!;
      expect(root.displayOrder).toBeUndefined();
      expect(root.displayorder).toBe(0);
      expect(root.associatedResources).toBeUndefined();
      const asset = assetsOf(root)[0];
      expect(asset.type).toBeUndefined();
      expect(asset.data).toEqual({ type: 'inverter', typeName: expect.objectContaining({ default: 'Inverter' }) });
      const empty = (await tree(await sim.admin.userToken('u0002', 'o1'))).body.data!;
      expect(empty.children).toBeNull();
      // The legacy success code applies to the other portal envelopes too.
      expect((await signedCall(sim, 'POST', PortalPaths.assetList, { body: { userId: 'u0101', orgId: 'o2' }, appToken: app })).body.code).toBe(200);
      await sim.admin.setQuirks({ legacySuccessCode: false });
      expect((await tree(jwt)).body.code).toBe(0);
    });
  });
});
