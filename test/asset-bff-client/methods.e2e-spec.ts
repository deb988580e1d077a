import { AssetBffClient, AssetBffClientOptions, AssetBffError, FlatView, TreeView, UserAssets } from '@asset-bff/client';
import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { freePort } from '../support/ports';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

const ids = (from: number, to: number, org = 'o1') => Array.from({ length: to - from + 1 }, (_, i) => `${org}-a${String(from + i).padStart(4, '0')}`);

/** API.md section 5: every method of @asset-bff/client against the real service and simulator over HTTP. */
describe('@asset-bff/client methods', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  /** The statuses the service answered the client, in order (the real fetch, observed). */
  let statuses: number[];
  const observed: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    statuses.push(res.status);
    return res;
  };
  const client = (opts: Partial<AssetBffClientOptions> = {}) => new AssetBffClient({ baseUrl: bff.url, apiKey: TEST_KEYS.reader, fetch: observed, ...opts });
  const upstream = async () => {
    const c = await sim.admin.counters();
    return { assetList: c.endpoints.assetList.calls, usersAssetList: c.endpoints.usersAssetList.calls, tree: c.endpoints.appAssetTree.calls };
  };
  const failure = async (p: Promise<unknown>): Promise<AssetBffError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(AssetBffError);
    return e as AssetBffError;
  };

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({ sim, env: { REDIS_URL: await cleanRedisDb(12), LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });
  beforeEach(async () => {
    statuses = [];
    await sim.admin.resetCounters();
  });

  it('userAssets: every asset of the user, localized by lang', async () => {
    const c = client();
    const all = await c.userAssets('o1', 'u0005');
    expect(all).toMatchObject({ orgId: 'o1', userId: 'u0005', total: 10, complete: true });
    expect(all.assets.map((a) => a.id)).toEqual(ids(1, 10));
    const zh = await c.userAssets('o1', 'u0005', { lang: 'zh_CN' });
    expect(zh.assets[0].name).toBe(zh.assets[0].names.zh_CN);
    expect(zh.assets[0].name).not.toBe(all.assets[0].name);
  });

  it('userAssets with q keeps the matching assets; with limit it is one page with nextCursor', async () => {
    const c = client();
    const found = await c.userAssets('o1', 'u0001', { q: 'A001' });
    expect(found.total).toBe(10);
    expect(found.assets.map((a) => a.id)).toEqual(ids(10, 19));
    const page = await c.userAssets('o1', 'u0003', { limit: 300 });
    expect(page.assets).toHaveLength(300);
    expect(typeof page.nextCursor).toBe('string');
    const next = await c.userAssets('o1', 'u0003', { limit: 300, cursor: page.nextCursor! });
    expect(next.assets.map((a) => a.id)).toEqual(ids(301, 600));
  });

  it('userAssetPages walks the cursors to the end, one request per page, each only when the loop asks for it', async () => {
    const c = client();
    const sizes: number[] = [];
    const seen: string[] = [];
    for await (const page of c.userAssetPages('o1', 'u0003', { limit: 300 })) {
      expect(statuses).toHaveLength(sizes.length + 1);
      sizes.push(page.assets.length);
      seen.push(...page.assets.map((a) => a.id));
    }
    expect(sizes).toEqual([300, 300, 300, 100]);
    expect(seen).toEqual(ids(1, 1000));
    statuses = [];
    for await (const page of c.userAssetPages('o1', 'u0003', { limit: 300, q: 'a09' })) {
      expect(page.total).toBe(100);
      break;
    }
    expect(statuses).toEqual([200]);
  });

  it('myAssets and myAssetPages read the calling user with a user token', async () => {
    const c = client({ apiKey: undefined, token: await sim.admin.userToken('u0101', 'o2') });
    const mine = await c.myAssets();
    expect(mine).toMatchObject({ orgId: 'o2', userId: 'u0101', total: 5 });
    const pages: string[][] = [];
    for await (const page of c.myAssetPages({ limit: 2 })) pages.push(page.assets.map((a) => a.id));
    expect(pages).toEqual([ids(1, 2, 'o2'), ids(3, 4, 'o2'), ids(5, 5, 'o2')]);
    const byFunction = client({ apiKey: undefined, token: () => sim.admin.userToken('u0102', 'o2') });
    expect((await byFunction.myAssets({ q: 'a0007' })).assets.map((a) => a.id)).toEqual(['o2-a0007']);
  });

  it('userAsset answers an accessible asset and fails with ASSET_NOT_ACCESSIBLE otherwise', async () => {
    const c = client();
    expect(await c.userAsset('o1', 'u0005', 'o1-a0003')).toMatchObject({ id: 'o1-a0003' });
    const e = await failure(c.userAsset('o1', 'u0005', 'o1-a0011'));
    expect([e.status, e.code]).toEqual([404, 'ASSET_NOT_ACCESSIBLE']);
  });

  it('usersAssets folds duplicates: each user once in request order, each asset once', async () => {
    const c = client();
    const progress: number[][] = [];
    const r = await c.usersAssets('o1', ['u0006', 'u0005', 'u0006', 'ghost'], { onProgress: (done, total) => progress.push([done, total]) });
    expect(r.orgId).toBe('o1');
    expect(r.users).toEqual([
      { userId: 'u0006', assetIds: ids(11, 20) },
      { userId: 'u0005', assetIds: ids(1, 10) },
      { userId: 'ghost', assetIds: [] },
    ]);
    expect(r.assets.map((a) => a.id).sort()).toEqual(ids(1, 20));
    expect(r.assets[0]).toEqual(expect.objectContaining({ type: expect.any(String), typeName: expect.any(String) }));
    expect(progress).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    const typed = await c.usersAssets('o1', ['u0005'], { resourceTypes: ['meter'] });
    expect(typed.users[0].assetIds).toEqual(['o1-a0003', 'o1-a0008']);
  });

  it('checkAccess answers each check in request order', async () => {
    const r = await client().checkAccess('o1', [
      { userId: 'u0005', assetId: 'o1-a0001' },
      { userId: 'u0005', assetId: 'o1-a0011' },
      { userId: 'ghost', assetId: 'o1-a0001' },
    ]);
    expect(r.results.map((x) => x.allowed)).toEqual([true, false, false]);
  });

  it('assetTree reads the tree and the flat view with a user token', async () => {
    const c = client({ apiKey: undefined, token: await sim.admin.userToken('u0001', 'o2') });
    const tree: TreeView = await c.assetTree(sim.accessKey);
    expect(tree.root.id).toBe('o2');
    expect(tree.root.children.map((n) => n.id)).toEqual(['o2-n1', 'o2-n2']);
    const flat: FlatView = await c.assetTree(sim.accessKey, { view: 'flat', types: ['inverter'], lang: 'en_US' });
    expect(flat.nodes[0]).toMatchObject({ id: 'o2', depth: 0, path: [] });
    const assets = flat.nodes.filter((n) => n.kind === 'asset');
    expect(assets).toHaveLength(6);
    expect(assets.every((n) => n.name.startsWith('Inverter'))).toBe(true);
    // types as the HTTP API's comma list, as a caller without the type declarations may send it.
    expect(await c.assetTree(sim.accessKey, { view: 'flat', types: 'inverter', lang: 'en_US' })).toEqual(flat);
  });

  it('invalidateUser and invalidateOrg resolve to consistency tokens that later reads accept', async () => {
    const admin = client({ apiKey: TEST_KEYS.admin });
    await admin.userAssets('o1', 'u0007');
    const before = await upstream();
    const userToken = await admin.invalidateUser('o1', 'u0007');
    expect(userToken).toMatch(/\S+/);
    await admin.userAssets('o1', 'u0007', { consistencyToken: userToken });
    expect((await upstream()).assetList).toBe(before.assetList + 1);
    const orgToken = await admin.invalidateOrg('o1');
    expect(orgToken).not.toBe(userToken);
    await admin.userAssets('o1', 'u0007', { consistencyToken: orgToken });
    expect((await upstream()).assetList).toBe(before.assetList + 2);
    const e = await failure(client().invalidateOrg('o1'));
    expect([e.status, e.code]).toEqual([403, 'FORBIDDEN']);
  });

  describe('the ETag cache', () => {
    it('revalidates a re-read with If-None-Match: a 304, the kept body, and no upstream call', async () => {
      const c = client();
      const first = await c.userAssets('o2', 'u0103', { lang: 'en_US' });
      const afterFirst = await upstream();
      const again: UserAssets = await c.userAssets('o2', 'u0103', { lang: 'en_US' });
      expect(statuses).toEqual([200, 304]);
      expect(again).toEqual(first);
      expect(await upstream()).toEqual(afterFirst);
    });

    it('sends Cache-Control max-age=0 because fetch turns a bare If-None-Match into no-cache, which goes to the portal', async () => {
      const c = client();
      await c.userAssets('o2', 'u0104');
      const kept = await fetch(`${bff.url}/v1/orgs/o2/users/u0104/assets`, { headers: { 'x-api-key': TEST_KEYS.reader } });
      const etag = kept.headers.get('etag')!;
      const before = await upstream();
      const bare = await fetch(`${bff.url}/v1/orgs/o2/users/u0104/assets`, { headers: { 'x-api-key': TEST_KEYS.reader, 'if-none-match': etag } });
      expect(bare.status).toBe(304);
      expect((await upstream()).assetList).toBe(before.assetList + 1);
      await c.userAssets('o2', 'u0104');
      expect(statuses).toEqual([200, 304]);
      expect((await upstream()).assetList).toBe(before.assetList + 1);
    });

    it('gets the new body when the set changed, and keeps only etagCacheEntries answers', async () => {
      const c = client({ apiKey: TEST_KEYS.admin, etagCacheEntries: 2 });
      await c.userAssets('o2', 'u0105');
      await sim.admin.grant('o2', 'u0105', ['o2-a0030']);
      await c.invalidateUser('o2', 'u0105');
      const changed = await c.userAssets('o2', 'u0105');
      expect(changed.total).toBe(6);
      for (const u of ['u0101', 'u0102']) await c.userAssets('o2', u);
      statuses = [];
      await c.userAssets('o2', 'u0102');
      await c.userAssets('o2', 'u0101');
      await c.userAssets('o2', 'u0105');
      expect(statuses).toEqual([304, 304, 200]);
      await sim.admin.revoke('o2', 'u0105', ['o2-a0030']);
    });
  });

  describe('failures', () => {
    it('are AssetBffErrors with status, code, requestId and fields', async () => {
      const bad = await failure(client({ apiKey: 'not-a-key' }).userAssets('o1', 'u0005'));
      expect([bad.status, bad.code]).toEqual([401, 'UNAUTHENTICATED']);
      expect(bad.requestId).toMatch(/\S+/);
      const other = await failure(client().userAssets('o3', 'u0201'));
      expect([other.status, other.code]).toEqual([403, 'FORBIDDEN']);
      const invalid = await failure(client().userAssets('o1', 'u0005', { limit: 0 }));
      expect([invalid.status, invalid.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(invalid.fields.map((f) => f.field)).toEqual(['limit']);
      const missing = await failure(client().userAssets('o1', 'nobody'));
      expect([missing.status, missing.code]).toEqual([404, 'USER_NOT_FOUND']);
      const cursor = await failure(client().userAssets('o1', 'u0003', { limit: 10, cursor: 'garbage' }));
      expect(cursor.fields.map((f) => f.field)).toEqual(['cursor']);
      const token = await failure(client().userAssets('o1', 'u0005', { consistencyToken: 'forged' }));
      expect([token.status, token.code]).toEqual([400, 'VALIDATION_FAILED']);
      const tooMany = await failure(client().usersAssets('o1', ['bad id!']));
      expect([tooMany.status, tooMany.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('a token function that fails is TOKEN_ERROR with status 0, and nothing is sent', async () => {
      statuses = [];
      const e = await failure(
        client({
          apiKey: undefined,
          token: async () => {
            throw new Error('no session');
          },
        }).userAssets('o1', 'u0005'),
      );
      expect([e.status, e.code, e.message]).toEqual([0, 'TOKEN_ERROR', expect.stringContaining('no session')]);
      expect(statuses).toEqual([]);
    });

    it('a service that does not answer is NETWORK_ERROR with status 0', async () => {
      const closed = await freePort();
      const e = await failure(new AssetBffClient({ baseUrl: `http://127.0.0.1:${closed}`, apiKey: TEST_KEYS.reader }).userAssets('o1', 'u0005'));
      expect([e.status, e.code]).toEqual([0, 'NETWORK_ERROR']);
    });
  });
});
