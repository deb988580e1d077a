import SwaggerParser from '@apidevtools/swagger-parser';
import Redis from 'ioredis';
import { CacheKeys, scopeId } from '@app/asset-cache';
import { eventually } from '../cache/support/fake-portal';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** Every route of API.md section 3, success shapes and localization, against the real simulator. */
describe('asset-bff routes', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let redisUrl: string;
  const key = TEST_KEYS.reader;

  beforeAll(async () => {
    sim = await startSim();
    redisUrl = await cleanRedisDb(1);
    bff = await startBff({ sim, env: { REDIS_URL: redisUrl } });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.reset());

  it('GET .../users/{userId}/assets merges every page in upstream order, each asset once', async () => {
    const r = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0001/assets', { key, headers: { 'cache-control': 'no-cache' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.body).toMatchObject({ orgId: 'o1', userId: 'u0001', total: 2500 });
    expect(r.body.assets).toHaveLength(2500);
    expect(r.body.assets[0]).toEqual({ id: 'o1-a0001', name: expect.any(String), names: expect.objectContaining({ default: expect.any(String) }) });
    expect(r.body.assets.map((a: { id: string }) => a.id)).toEqual(Array.from({ length: 2500 }, (_, i) => `o1-a${String(i + 1).padStart(4, '0')}`));
    const c = await sim.admin.counters();
    expect(c.endpoints.assetList.calls).toBe(3); // 2,500 assets at page size 1,000
  });

  it('a cold read (its body built page by page as asset/list pages arrive) answers the same bytes as a cached read serializes', async () => {
    const path = '/v1/orgs/o1/users/u0001/assets?lang=zh_CN';
    const cold = await call(bff.url, 'GET', path, { key, headers: { 'cache-control': 'no-cache' } });
    expect(cold.status).toBe(200);
    expect(cold.headers.get('x-cache')).toBe('MISS');
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(3);
    // Another instance on the same Redis reads the stored entry and serializes it the ordinary way.
    const other = await startBff({ sim, env: { REDIS_URL: redisUrl } });
    try {
      const cached = await call(other.url, 'GET', path, { key });
      expect(cached.headers.get('x-cache')).toBe('HIT');
      expect(cached.text).toBe(cold.text);
      expect(cold.body.assets[3].name).toBe(cold.body.assets[3].names.zh_CN);
      expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(3);
    } finally {
      await other.stop();
    }
  });

  it('localizes name by lang, then Accept-Language (exact, then language alone), then default', async () => {
    const base = '/v1/orgs/o2/users/u0101/assets';
    const zh = await call(bff.url, 'GET', `${base}?lang=zh_CN`, { key });
    const a0 = zh.body.assets[0];
    expect(a0.name).toBe(a0.names.zh_CN);
    const byHeader = await call(bff.url, 'GET', base, { key, headers: { 'accept-language': 'fr-FR;q=0.9, zh;q=0.8' } });
    expect(byHeader.body.assets[0].name).toBe(a0.names.zh_CN);
    const en = await call(bff.url, 'GET', base, { key, headers: { 'accept-language': 'en' } });
    expect(en.body.assets[0].name).toBe(a0.names.en_US);
    const none = await call(bff.url, 'GET', base, { key });
    expect(none.body.assets[0].name).toBe(a0.names.default);
    // zh_CN is "" for asset index 10 (i % 11 == 10): an empty value falls back to default.
    const o1 = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets?lang=zh_CN', { key });
    const eleventh = (await call(bff.url, 'GET', '/v1/orgs/o1/users/u0001/assets?lang=zh_CN', { key })).body.assets[10];
    expect(eleventh.names.zh_CN).toBe('');
    expect(eleventh.name).toBe(eleventh.names.default);
    expect(o1.status).toBe(200);
  });

  it('GET .../assets/{assetId}: 200 when accessible, 404 ASSET_NOT_ACCESSIBLE when not', async () => {
    const ok = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets/o1-a0003?lang=en_US', { key });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ id: 'o1-a0003', name: expect.any(String), names: expect.any(Object) });
    expect(ok.headers.get('x-cache')).toMatch(/HIT|MISS/);
    const no = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0005/assets/o1-a0011', { key });
    expect(no.status).toBe(404);
    expect(no.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(no.body).toMatchObject({ status: 404, code: 'ASSET_NOT_ACCESSIBLE', requestId: expect.any(String) });
  });

  it('POST user-assets: each user once in request order, each asset once, with types', async () => {
    const r = await call(bff.url, 'POST', '/v1/orgs/o2/user-assets?lang=en_US', {
      key,
      body: { userIds: ['u0102', 'u0101', 'u0102', 'nobody'] },
      headers: { 'cache-control': 'no-cache' },
    });
    expect(r.status).toBe(200);
    expect(r.body.orgId).toBe('o2');
    expect(r.body.users.map((u: { userId: string }) => u.userId)).toEqual(['u0102', 'u0101', 'nobody']);
    expect(r.body.users[0].assetIds).toEqual(['o2-a0006', 'o2-a0007', 'o2-a0008', 'o2-a0009', 'o2-a0010']);
    expect(r.body.users[2].assetIds).toEqual([]);
    const ids = r.body.assets.map((a: { id: string }) => a.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(10);
    expect(r.body.assets[0]).toEqual({
      id: expect.any(String),
      name: expect.any(String),
      names: expect.any(Object),
      type: expect.any(String),
      typeName: expect.any(String),
      typeNames: expect.any(Object),
    });
    const c = await sim.admin.counters();
    expect(c.endpoints.usersAssetList.calls).toBe(1);
  });

  it('POST user-assets of 2,000 users x 50 assets (stored after the answer) leaves every user and asset for another instance', async () => {
    await sim.admin.createOrg({ orgId: 'o-large', assetCount: 500, userCount: 2_000, assetsPerUser: 50 });
    const userIds = (await sim.admin.org('o-large')).userAssetCounts.map((u) => u.userId);
    await sim.admin.resetCounters();
    const first = await call(bff.url, 'POST', '/v1/orgs/o-large/user-assets?lang=zh_CN', { key: TEST_KEYS.admin, body: { userIds } });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(2);
    // The store runs after the answer: wait until the last user's entry is in Redis.
    const redis = new Redis(redisUrl);
    const lastKey = new CacheKeys().userSet('o-large', scopeId(undefined), userIds[userIds.length - 1]);
    try {
      await eventually(async () => (await redis.exists(lastKey)) === 1, 5_000, "the last user's entry");
    } finally {
      redis.disconnect();
    }
    const other = await startBff({ sim, env: { REDIS_URL: redisUrl } });
    try {
      await sim.admin.resetCounters();
      const second = await call(other.url, 'POST', '/v1/orgs/o-large/user-assets?lang=zh_CN', { key: TEST_KEYS.admin, body: { userIds } });
      expect(second.headers.get('x-cache')).toBe('HIT');
      expect(second.text).toBe(first.text);
      expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('POST user-assets reloads only the users whose cached assets lack a type (read before through asset/list)', async () => {
    for (const u of ['u0104', 'u0105']) expect((await call(bff.url, 'DELETE', `/v1/orgs/o2/users/${u}/cache`, { key: TEST_KEYS.admin })).status).toBe(204);
    // u0104 cached with types (users/assetList), u0105 with names only (asset/list)
    expect((await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: ['u0104'] } })).status).toBe(200);
    expect((await call(bff.url, 'GET', '/v1/orgs/o2/users/u0105/assets', { key })).status).toBe(200);
    await sim.admin.resetCounters();
    const r = await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: ['u0105', 'u0104'] } });
    expect(r.status).toBe(200);
    const c = await sim.admin.counters();
    expect(c.endpoints.usersAssetList.calls).toBe(1);
    expect(c.endpoints.usersAssetList.users).toBe(1);
    expect(c.endpoints.assetList.calls).toBe(0);
    expect(r.body.users.map((u: { userId: string; assetIds: string[] }) => [u.userId, u.assetIds.length])).toEqual([
      ['u0105', 5],
      ['u0104', 5],
    ]);
    expect(r.body.assets).toHaveLength(10);
    for (const a of r.body.assets) expect(typeof a.type).toBe('string');
    // both now cached with types: no call at all
    await sim.admin.resetCounters();
    expect((await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: ['u0104', 'u0105'] } })).status).toBe(200);
    expect((await sim.admin.counters()).endpoints.usersAssetList.calls).toBe(0);
  });

  it('POST user-assets filters by resourceTypes', async () => {
    const r = await call(bff.url, 'POST', '/v1/orgs/o2/user-assets', { key, body: { userIds: ['u0001'], resourceTypes: ['meter'] } });
    expect(r.status).toBe(200);
    expect(r.body.assets.length).toBe(6); // 30 assets, every 5th is a meter
    expect(r.body.assets.every((a: { type: string }) => a.type === 'meter')).toBe(true);
    expect(r.body.users[0].assetIds).toHaveLength(6);
  });

  it('POST access-checks answers in request order; an unknown user is allowed: false', async () => {
    const checks = [
      { userId: 'u0101', assetId: 'o2-a0001' },
      { userId: 'u0101', assetId: 'o2-a0006' },
      { userId: 'u0102', assetId: 'o2-a0006' },
      { userId: 'ghost', assetId: 'o2-a0001' },
    ];
    const r = await call(bff.url, 'POST', '/v1/orgs/o2/access-checks', { key, body: { checks } });
    expect(r.status).toBe(200);
    expect(r.body.results).toEqual([
      { ...checks[0], allowed: true },
      { ...checks[1], allowed: false },
      { ...checks[2], allowed: true },
      { ...checks[3], allowed: false },
    ]);
  });

  it('GET /v1/me/assets answers for the calling user', async () => {
    const token = await sim.admin.userToken('u0103', 'o2');
    const r = await call(bff.url, 'GET', '/v1/me/assets', { token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ orgId: 'o2', userId: 'u0103', total: 5 });
    expect(r.body.assets.map((a: { id: string }) => a.id)).toEqual(['o2-a0011', 'o2-a0012', 'o2-a0013', 'o2-a0014', 'o2-a0015']);
    const spelled = await call(bff.url, 'GET', '/v1/orgs/o2/users/u0103/assets', { token });
    expect(spelled.status).toBe(200);
  });

  describe('asset tree', () => {
    let token: string;
    beforeAll(async () => {
      token = await sim.admin.userToken('u0001', 'o2');
    });

    it('view=tree keeps the OU root, sorts children by order then name, normalizes nodes', async () => {
      const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree?lang=en_US`, { token });
      expect(r.status).toBe(200);
      expect(r.body.accessKey).toBe(sim.accessKey);
      const root = r.body.root;
      expect(root).toMatchObject({ id: 'o2', kind: 'node', parentId: null, tags: expect.any(Array), children: expect.any(Array) });
      expect(root.associatedResources).toBeUndefined();
      const walk = (n: any): void => {
        const orders = n.children.map((c: any) => [c.order, c.name]);
        const sorted = [...orders].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
        expect(orders).toEqual(sorted);
        // Exactly the node shape of API.md section 3.
        const shape = ['id', 'kind', 'name', 'names', 'parentId', 'order', 'tags', 'type', 'typeName', 'children', 'associatedResources'];
        expect(Object.keys(n).filter((k) => !shape.includes(k))).toEqual([]);
        if (n.kind === 'asset') {
          expect(n.children).toEqual([]);
          expect(typeof n.type).toBe('string');
          expect(typeof n.typeName).toBe('string');
        }
        expect(typeof n.name).toBe('string');
        n.children.forEach(walk);
      };
      walk(root);
      const site = root.children[0].children[0];
      expect(site.children.every((c: any) => c.kind === 'asset' && c.parentId === site.id)).toBe(true);
    });

    it('associated=true adds associated resources; types filters assets', async () => {
      const assoc = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree?associated=true`, { token });
      expect(assoc.status).toBe(200);
      const region = assoc.body.root.children[0];
      expect(region.associatedResources.length).toBeGreaterThan(0);
      expect(region.associatedResources[0]).toMatchObject({ kind: 'asset', name: expect.any(String), children: [] });
      const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree?types=meter`, { token });
      expect(r.status).toBe(200);
      const assets: any[] = [];
      const collect = (n: any): void => {
        if (n.kind === 'asset') assets.push(n);
        n.children.forEach(collect);
      };
      collect(r.body.root);
      expect(assets.length).toBe(6);
      expect(assets.every((a) => a.type === 'meter')).toBe(true);
    });

    it('view=flat lists nodes depth-first with depth and ancestor path', async () => {
      const tree = (await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree`, { token })).body.root;
      const r = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree?view=flat`, { token });
      expect(r.status).toBe(200);
      const expected: any[] = [];
      const dfs = (n: any, depth: number, path: string[]): void => {
        expected.push({ id: n.id, kind: n.kind, name: n.name, parentId: n.parentId, depth, path });
        n.children.forEach((c: any) => dfs(c, depth + 1, [...path, n.id]));
      };
      dfs(tree, 0, []);
      expect(r.body).toEqual({ accessKey: sim.accessKey, nodes: expected });
      expect(r.body.nodes[0]).toMatchObject({ id: 'o2', depth: 0, path: [] });
      expect(r.body.nodes.length).toBe(1 + 2 + 6 + 30);
    });

    it('every simulator quirk switched on gives the identical normalized tree', async () => {
      const clean = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree?associated=true`, { token });
      await sim.admin.setQuirks({ displayorder: true, typeUnderData: true, legacySuccessCode: true, nullChildren: true });
      const quirky = await call(bff.url, 'GET', `/v1/apps/${sim.accessKey}/asset-tree?associated=true`, { token });
      expect(quirky.status).toBe(200);
      expect(quirky.body).toEqual(clean.body);
    });
  });

  it('echoes a valid X-Request-Id and replaces an invalid one', async () => {
    const mine = await call(bff.url, 'GET', '/health/live', { headers: { 'x-request-id': 'req-123.abc' } });
    expect(mine.headers.get('x-request-id')).toBe('req-123.abc');
    const bad = await call(bff.url, 'GET', '/v1/orgs/o1/users/u0001/assets', { headers: { 'x-request-id': 'x'.repeat(300) } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(bad.body.requestId).toBe(bad.headers.get('x-request-id'));
  });

  it('health, metrics and docs', async () => {
    expect((await call(bff.url, 'GET', '/health/live')).status).toBe(200);
    const ready = await call(bff.url, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ok', redis: 'up', upstream: 'up' });
    await call(bff.url, 'GET', '/v1/orgs/o2/users/u0101/assets', { key });
    const metrics = await call(bff.url, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    for (const name of [
      'abff_http_request_duration_seconds_bucket',
      'abff_cache_results_total',
      'abff_upstream_calls_total',
      'abff_cache_coalesced_total',
      'abff_upstream_circuit_state',
      'abff_cache_local_copies',
    ]) {
      expect(metrics.text).toContain(name);
    }
    expect(metrics.text).toMatch(
      /abff_http_request_duration_seconds_count\{method="GET",route="\/v1\/orgs\/:orgId\/users\/:userId\/assets",status="200"\} \d+/,
    );
    const ui = await fetch(`${bff.url}/docs`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain('swagger');
  });

  it('/docs-json is a valid OpenAPI 3 document listing every route of the contract', async () => {
    const doc = (await call(bff.url, 'GET', '/docs-json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    const validated: any = await SwaggerParser.validate(JSON.parse(JSON.stringify(doc)));
    const paths = Object.keys(validated.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/orgs/{orgId}/users/{userId}/assets',
        '/v1/me/assets',
        '/v1/orgs/{orgId}/users/{userId}/assets/{assetId}',
        '/v1/orgs/{orgId}/user-assets',
        '/v1/orgs/{orgId}/access-checks',
        '/v1/apps/{accessKey}/asset-tree',
        '/v1/orgs/{orgId}/users/{userId}/cache',
        '/v1/orgs/{orgId}/cache',
        '/health/live',
        '/health/ready',
        '/metrics',
      ]),
    );
    expect(validated.paths['/v1/orgs/{orgId}/user-assets'].post.responses['400'].content['application/problem+json']).toBeDefined();
    expect(validated.components.securitySchemes).toHaveProperty('apiKey');
  });
});
