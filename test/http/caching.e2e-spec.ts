import { BffHandle, startBff, TEST_KEYS } from '../support/bff';
import { rawCall } from '../support/raw-http';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** API.md section 3, "HTTP caching and compression": ETags, 304s, Cache-Control/Vary, content codings, RateLimit headers. */
describe('HTTP caching and compression', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let other: BffHandle;
  let redisUrl: string;
  const key = TEST_KEYS.reader;
  const list = '/v1/orgs/o1/users/u0001/assets';
  const get = (b: BffHandle, path: string, headers: Record<string, string> = {}) => rawCall(b.url + path, 'GET', { 'x-api-key': key, ...headers });
  const upstreamCalls = async () => {
    const c = await sim.admin.counters();
    return c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls + c.endpoints.appAssetTree.calls;
  };

  beforeAll(async () => {
    sim = await startSim();
    redisUrl = await cleanRedisDb(2);
    [bff, other] = await Promise.all([startBff({ sim, env: { REDIS_URL: redisUrl } }), startBff({ sim, env: { REDIS_URL: redisUrl } })]);
  });
  afterAll(async () => {
    await bff?.stop();
    await other?.stop();
    await sim?.stop();
  });

  it('compresses a prepared answer once per coding: its compressed HITs are the kept bytes, made by no read after the first', async () => {
    const codings = async (b: BffHandle): Promise<Record<string, number>> => {
      const text = (await rawCall(`${b.url}/metrics`, 'GET', {})).decoded.toString();
      const count = (c: string): number => Number(new RegExp(`^abff_prepared_codings_total\\{coding="${c}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { br: count('br'), gzip: count('gzip') };
    };
    const path = '/v1/orgs/o1/users/u0004/assets';
    expect((await get(other, path)).status).toBe(200);
    const before = await codings(other);
    const bodies: Record<string, Buffer[]> = { br: [], gzip: [] };
    for (let i = 0; i < 3; i++) {
      for (const coding of ['br', 'gzip'] as const) {
        const r = await get(other, path, { 'accept-encoding': coding });
        expect([r.status, r.headers['x-cache'], r.headers['content-encoding']]).toEqual([200, 'HIT', coding]);
        bodies[coding].push(r.raw);
      }
    }
    expect(await codings(other)).toEqual({ br: before.br + 1, gzip: before.gzip + 1 });
    for (const coding of ['br', 'gzip']) for (const raw of bodies[coding]) expect(raw.equals(bodies[coding][0])).toBe(true);
  });

  it('gives the same weak ETag on two instances and in every coding, each coding decoding byte for byte to the identity answer', async () => {
    const identity = await get(bff, list);
    expect(identity.status).toBe(200);
    expect(identity.headers['content-encoding']).toBeUndefined();
    const etag = identity.headers.etag as string;
    expect(etag).toMatch(/^W\/"[^"]+"$/);
    expect(identity.headers['cache-control']).toBe('private, no-cache');
    expect(identity.headers.vary).toBe('Accept-Encoding, Accept-Language');
    for (const b of [bff, other]) {
      for (const [ae, coding] of [
        ['br', 'br'],
        ['gzip', 'gzip'],
        ['gzip, deflate, br', 'br'],
        ['br;q=0.5, gzip', 'gzip'],
        ['br;q=0, gzip;q=0.1', 'gzip'],
        ['*', 'br'],
        ['identity', undefined],
        ['zstd, deflate', undefined],
        ['*;q=0', undefined],
        ['br;q=0, gzip;q=0', undefined],
      ] as const) {
        const r = await get(b, list, { 'accept-encoding': ae });
        expect(r.status).toBe(200);
        expect(r.headers['content-encoding']).toBe(coding);
        expect(r.headers.etag).toBe(etag);
        expect(r.decoded.equals(identity.raw)).toBe(true);
        if (coding) expect(r.raw.length).toBeLessThan(identity.raw.length);
      }
    }
  });

  it('answers a read that loads with the bytes a hit of the stored set gives: small and large sets, whole, in another language, searched', async () => {
    // The loading read builds its answer with the details it loaded; the other instance with those of the store.
    await sim.admin.createOrg({ orgId: 'o-big', assetCount: 12_000, userCount: 1, assetsPerUser: 12_000 });
    const bigUser = (await sim.admin.org('o-big')).userAssetCounts[0].userId;
    const admin = { 'x-api-key': TEST_KEYS.admin };
    for (const [org, user] of [
      ['o1', 'u0005'],
      ['o-big', bigUser],
    ]) {
      for (const query of ['', '?lang=zh_CN', '?lang=ja_JP&q=inverter']) {
        const path = `/v1/orgs/${org}/users/${user}/assets${query}`;
        // invalidated, so that this read loads under the lock and the other instance waits for its store
        expect((await rawCall(`${bff.url}/v1/orgs/${org}/users/${user}/cache`, 'DELETE', admin)).status).toBe(204);
        const loaded = await rawCall(bff.url + path, 'GET', admin);
        expect(loaded.status).toBe(200);
        expect(loaded.headers['x-cache']).toBe('MISS');
        const hit = await rawCall(other.url + path, 'GET', admin);
        expect(hit.headers['x-cache']).toBe('HIT');
        expect(hit.raw.equals(loaded.raw)).toBe(true);
        expect(hit.headers.etag).toBe(loaded.headers.etag);
      }
    }
    expect(JSON.parse((await rawCall(`${bff.url}/v1/orgs/o-big/users/${bigUser}/assets`, 'GET', admin)).raw.toString()).total).toBe(12_000);
  });

  it('sends an answer of megabytes whole with its Content-Length, from a load and from a hit, and HEAD the same head with no body', async () => {
    await sim.admin.createOrg({ orgId: 'o-mb', assetCount: 15_000, userCount: 1, assetsPerUser: 15_000 });
    const user = (await sim.admin.org('o-mb')).userAssetCounts[0].userId;
    const path = `/v1/orgs/o-mb/users/${user}/assets`;
    const admin = { 'x-api-key': TEST_KEYS.admin };
    const loaded = await rawCall(bff.url + path, 'GET', admin);
    const hit = await rawCall(other.url + path, 'GET', admin);
    for (const [name, r, cache] of [
      ['load', loaded, 'MISS'],
      ['hit', hit, 'HIT'],
    ] as const) {
      expect({ name, status: r.status, cache: r.headers['x-cache'], chunked: r.headers['transfer-encoding'] }).toEqual({
        name,
        status: 200,
        cache,
        chunked: undefined,
      });
      expect(r.raw.length).toBeGreaterThan(2 * 1024 * 1024);
      expect(Number(r.headers['content-length'])).toBe(r.raw.length);
      expect(r.json().assets).toHaveLength(15_000);
    }
    expect(hit.raw.equals(loaded.raw)).toBe(true);
    const head = await rawCall(other.url + path, 'HEAD', admin);
    expect({ status: head.status, length: head.headers['content-length'], etag: head.headers.etag, body: head.raw.length }).toEqual({
      status: 200,
      length: String(hit.raw.length),
      etag: hit.headers.etag,
      body: 0,
    });
  });

  it('gives another ETag to another body (language), and the same one to a re-read', async () => {
    const a = await get(bff, `${list}?lang=zh_CN`);
    const b = await get(bff, `${list}?lang=en_US`);
    const c = await get(other, list, { 'accept-language': 'zh-CN' });
    expect(a.headers.etag).not.toBe(b.headers.etag);
    expect(c.headers.etag).toBe(a.headers.etag);
    expect(c.raw.equals(a.raw)).toBe(true);
  });

  it('answers 304 with ETag, X-Cache and Age and no body when If-None-Match names the tag (lists, *, weak comparison)', async () => {
    const first = await get(bff, list);
    const etag = first.headers.etag as string;
    const strong = etag.slice(2);
    for (const inm of [etag, strong, `"nope", ${etag}`, `W/"x" ,, ${strong}`, '*']) {
      const r = await get(other, list, { 'if-none-match': inm, 'accept-encoding': 'br' });
      expect(r.status).toBe(304);
      expect(r.raw.length).toBe(0);
      expect(r.headers.etag).toBe(etag);
      expect(r.headers['x-cache']).toMatch(/^(HIT|MISS|STALE)$/);
      expect(r.headers.age).toMatch(/^\d+$/);
      expect(r.headers['content-encoding']).toBeUndefined();
    }
    const miss = await get(bff, list, { 'if-none-match': 'W/"something-else"' });
    expect(miss.status).toBe(200);
    expect(miss.raw.equals(first.raw)).toBe(true);
  });

  it('decides a 304 only after authentication, authorization and validation, and refuses a malformed If-None-Match before any upstream call', async () => {
    const inm = { 'if-none-match': '*' };
    expect((await rawCall(bff.url + list, 'GET', inm)).status).toBe(401);
    expect((await rawCall(bff.url + list, 'GET', { ...inm, 'x-api-key': 'wrong-key-000000000000000000000' })).status).toBe(401);
    expect((await rawCall(bff.url + '/v1/orgs/o-x/users/u0001/assets', 'GET', { ...inm, 'x-api-key': key })).status).toBe(403);
    expect((await get(bff, `${list}?lang=!!`, inm)).status).toBe(400);
    await sim.admin.resetCounters();
    for (const bad of ['abc', 'W/abc', '"a" "b"', 'W/"a', '*, W/"a"', ',']) {
      const r = await get(bff, '/v1/orgs/o1/users/u0003/assets', { 'if-none-match': bad });
      expect(r.status).toBe(400);
      expect(r.json().fields.map((f: { field: string }) => f.field)).toEqual(['If-None-Match']);
    }
    expect(await upstreamCalls()).toBe(0);
  });

  it('gives one asset and the tree an ETag too, and 304 on it', async () => {
    const one = await get(bff, '/v1/orgs/o1/users/u0001/assets/o1-a0001');
    expect(one.status).toBe(200);
    expect(one.headers.etag).toMatch(/^W\//);
    expect(one.headers['cache-control']).toBe('private, no-cache');
    expect((await get(other, '/v1/orgs/o1/users/u0001/assets/o1-a0001', { 'if-none-match': one.headers.etag as string })).status).toBe(304);
    const token = await sim.admin.userToken('u0001', 'o1');
    const tree = (headers: Record<string, string> = {}) =>
      rawCall(`${bff.url}/v1/apps/${sim.accessKey}/asset-tree?view=flat`, 'GET', { authorization: `Bearer ${token}`, ...headers });
    const t = await tree({ 'accept-encoding': 'gzip' });
    expect(t.status).toBe(200);
    expect(t.headers['content-encoding']).toBe('gzip');
    const plain = await tree();
    expect(plain.headers.etag).toBe(t.headers.etag);
    expect(t.decoded.equals(plain.raw)).toBe(true);
    const again = await tree({ 'if-none-match': t.headers.etag as string });
    expect(again.status).toBe(304);
    expect(again.raw.length).toBe(0);
    // The tree is read from the portal every time: a MISS of age 0, on the 200 and on the 304 alike.
    for (const r of [t, again]) expect([r.headers['x-cache'], r.headers.age]).toEqual(['MISS', '0']);
  });

  it('compresses every other answer of 1 KB or more (batch, checks, errors, docs), never a smaller one, never without Accept-Encoding', async () => {
    const post = (path: string, body: unknown, ae?: string) =>
      // One request id throughout, so that error bodies (which quote it) are comparable byte for byte.
      rawCall(bff.url + path, 'POST', { 'x-api-key': key, 'x-request-id': 'same-request-id', ...(ae ? { 'accept-encoding': ae } : {}) }, JSON.stringify(body));
    const batch = { userIds: ['u0003', 'u0005'] };
    const checks = { checks: Array.from({ length: 200 }, (_, i) => ({ userId: 'u0005', assetId: `o1-a${String(i + 1).padStart(4, '0')}` })) };
    const invalid = { checks: Array.from({ length: 30 }, () => ({ userId: 'not valid!', assetId: 'not valid either!' })) };
    for (const [path, body, status] of [
      ['/v1/orgs/o1/user-assets', batch, 200],
      ['/v1/orgs/o1/access-checks', checks, 200],
      ['/v1/orgs/o1/access-checks', invalid, 400],
    ] as const) {
      const plain = await post(path, body);
      expect(plain.status).toBe(status);
      expect(plain.raw.length).toBeGreaterThanOrEqual(1024);
      // The batch routes' answers are read answers too: revalidated before use, and varying as the GETs' do.
      if (status === 200) {
        expect(plain.headers['cache-control']).toBe('private, no-cache');
        expect(plain.headers.vary).toBe(path.endsWith('user-assets') ? 'Accept-Encoding, Accept-Language, Accept' : 'Accept-Encoding, Accept-Language');
      }
      expect(plain.headers['content-encoding']).toBeUndefined();
      for (const coding of ['br', 'gzip']) {
        const r = await post(path, body, coding);
        expect(r.status).toBe(status);
        expect(r.headers['content-encoding']).toBe(coding);
        expect(r.headers.vary).toContain('Accept-Encoding');
        expect(r.decoded.equals(plain.raw)).toBe(true);
      }
    }
    const small = await post('/v1/orgs/o1/access-checks', { checks: [{ userId: 'u0005', assetId: 'o1-a0001' }] }, 'br');
    expect(small.raw.length).toBeLessThan(1024);
    expect(small.headers['content-encoding']).toBeUndefined();
    const docs = await rawCall(`${bff.url}/docs-json`, 'GET', { 'accept-encoding': 'gzip' });
    expect(docs.headers['content-encoding']).toBe('gzip');
    expect(docs.json().openapi).toMatch(/^3\./);
  });
});

describe('RateLimit headers', () => {
  let sim: SimHandle;
  let bff: BffHandle;

  beforeAll(async () => {
    sim = await startSim();
    bff = await startBff({
      sim,
      env: { REDIS_URL: await cleanRedisDb(3), RATE_LIMIT_PER_S: '3', CORS_ORIGINS: 'https://app.example.test', BODY_LIMIT_BYTES: '1024' },
    });
  });
  afterAll(async () => {
    await bff?.stop();
    await sim?.stop();
  });

  it('puts RateLimit-Limit, -Remaining and -Reset on every answer, and Retry-After on a 429', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => rawCall(`${bff.url}/v1/orgs/o1/users/u0005/assets`, 'GET', { 'x-api-key': TEST_KEYS.reader })),
    );
    for (const r of answers) {
      expect(r.headers['ratelimit-limit']).toBe('3');
      expect(Number(r.headers['ratelimit-remaining'])).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers['ratelimit-remaining'])).toBeLessThanOrEqual(2);
      expect(Number(r.headers['ratelimit-reset'])).toBeGreaterThanOrEqual(1);
    }
    const limited = answers.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const r of limited) {
      expect(r.headers['ratelimit-remaining']).toBe('0');
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(r.json().code).toBe('RATE_LIMITED');
    }
    for (const r of answers.filter((a) => a.status === 200)) expect(r.headers['retry-after']).toBeUndefined();
  });

  it("counts a caller's refused requests (403) too, and puts the headers on them", async () => {
    // Start of a one-second window, so that the four requests share it.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (const org of ['o1', 'o2', 'o-other', 'o-other']) {
      const r = await rawCall(`${bff.url}/v1/orgs/${org}/users/u0005/assets`, 'GET', { 'x-api-key': TEST_KEYS.otherOrg });
      statuses.push(r.status);
      remaining.push(String(r.headers['ratelimit-remaining']));
      expect(r.headers['ratelimit-limit']).toBe('3');
    }
    expect(statuses.slice(0, 2)).toEqual([403, 403]);
    expect(statuses[3]).toBe(429);
    expect(remaining).toEqual(['2', '1', '0', '0']);
  });

  it('puts the policy, uncounted, on answers that count for no caller: 401s, public routes, the docs, unknown routes, refusals before access', async () => {
    const origin = 'https://app.example.test';
    const answers = [
      await rawCall(`${bff.url}/v1/orgs/o1/users/u0005/assets`, 'GET', {}),
      await rawCall(`${bff.url}/v1/orgs/o1/users/u0005/assets`, 'GET', { 'x-api-key': 'not-a-key' }),
      await rawCall(`${bff.url}/health/ready`, 'GET', {}),
      await rawCall(`${bff.url}/metrics`, 'GET', {}),
      await rawCall(`${bff.url}/docs-json`, 'GET', {}),
      await rawCall(`${bff.url}/v1/nothing-here`, 'GET', { 'x-api-key': TEST_KEYS.reader }),
      // A browser's preflight, answered by the CORS stage before any other.
      await rawCall(`${bff.url}/v1/orgs/o1/users/u0005/assets`, 'OPTIONS', {
        origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-api-key',
      }),
      // A declared body over BODY_LIMIT_BYTES, refused before the access stage.
      await rawCall(`${bff.url}/v1/orgs/o1/user-assets`, 'POST', { 'x-api-key': TEST_KEYS.reader }, JSON.stringify({ userIds: Array(200).fill('u0005') })),
      // A path fastify cannot decode, refused before routing.
      await rawCall(`${bff.url}/v1/orgs/%E0%A4%A/users/u0005/assets`, 'GET', { 'x-api-key': TEST_KEYS.reader }),
    ];
    expect(answers.map((r) => r.status)).toEqual([401, 401, 200, 200, 200, 404, 204, 413, 400]);
    for (const r of answers) {
      expect(r.headers['x-request-id']).toBeDefined();
      expect([r.headers['ratelimit-limit'], r.headers['ratelimit-remaining'], r.headers['ratelimit-reset']]).toEqual(['3', '3', '1']);
    }
  });
});
