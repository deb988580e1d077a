import fc from 'fast-check';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { rawCall } from '../support/raw-http';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

interface Asset {
  id: string;
  name: string;
}

/** API.md section 3, "Large answers": limit, cursor, q and complete on the list reads, from the cached set. */
describe("pages and search of a user's assets", () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let other: BffHandle;
  const key = TEST_KEYS.reader;
  /** Users of o1 by the size of their set (p1 and p999 are created by the suite). */
  const users: Record<number, string> = { 0: 'u0002', 1: 'p1', 999: 'p999', 1000: 'u0003', 1001: 'u0004', 2500: 'u0001' };
  const path = (userId: string, query = '') => `/v1/orgs/o1/users/${userId}/assets${query}`;
  const upstreamCalls = async () => {
    const c = await sim.admin.counters();
    return c.endpoints.assetList.calls + c.endpoints.usersAssetList.calls;
  };

  /** Follows nextCursor from the first page to null; every page checked against the limit. */
  async function walk(b: BffHandle, userId: string, limit: number, extra = ''): Promise<{ ids: string[]; totals: number[]; pages: number }> {
    const ids: string[] = [];
    const totals: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = `?limit=${limit}${extra}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const r = await call(b.url, 'GET', path(userId, q), { key });
      expect(r.status).toBe(200);
      expect(r.body.assets.length).toBeLessThanOrEqual(limit);
      expect(r.body.complete).toBe(true);
      expect(Object.keys(r.body)).toEqual(['orgId', 'userId', 'total', 'complete', 'nextCursor', 'assets']);
      ids.push(...r.body.assets.map((a: Asset) => a.id));
      totals.push(r.body.total);
      cursor = r.body.nextCursor;
      if (cursor !== null) expect(r.body.assets).toHaveLength(limit);
      pages++;
    } while (cursor !== null);
    return { ids, totals, pages };
  }

  const full = async (userId: string, query = ''): Promise<Asset[]> => (await call(bff.url, 'GET', path(userId, query), { key })).body.assets;

  beforeAll(async () => {
    sim = await startSim();
    const redisUrl = await cleanRedisDb(4);
    [bff, other] = await Promise.all([startBff({ sim, env: { REDIS_URL: redisUrl } }), startBff({ sim, env: { REDIS_URL: redisUrl } })]);
    await sim.admin.createUser('o1', { userId: 'p1', assetCount: 1 });
    await sim.admin.createUser('o1', { userId: 'p999', assetCount: 999, assetOffset: 3 });
  });
  afterAll(async () => {
    await bff?.stop();
    await other?.stop();
    await sim?.stop();
  });

  it('walks sets of 0, 1, 999, 1,000, 1,001 and 2,500 assets with several limits: every asset once, in upstream order, no upstream read per page', async () => {
    for (const [size, userId] of Object.entries(users)) {
      const all = (await full(userId)).map((a) => a.id);
      expect(all).toHaveLength(Number(size));
      const before = await upstreamCalls();
      for (const limit of [1, 7, 999, 1000, 10000]) {
        if (limit === 1 && all.length > 1000) continue;
        // Pages alternate between two instances: the cursor holds on any instance of the deployment.
        const { ids, totals, pages } = await walk(limit % 2 ? bff : other, userId, limit);
        expect(ids).toEqual(all);
        expect(new Set(totals)).toEqual(new Set([Number(size)]));
        expect(pages).toBe(Math.max(1, Math.ceil(all.length / limit)));
      }
      expect(await upstreamCalls()).toBe(before);
    }
  });

  it('walks with random limits to the same list (property)', async () => {
    const all = new Map<string, string[]>();
    for (const userId of Object.values(users))
      all.set(
        userId,
        (await full(userId)).map((a) => a.id),
      );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.values(users)), fc.integer({ min: 1, max: 3000 }), async (userId, limit) => {
        fc.pre(limit > 20 || (all.get(userId) as string[]).length <= 200);
        expect((await walk(bff, userId, limit)).ids).toEqual(all.get(userId));
      }),
      { numRuns: 20 },
    );
  });

  it('searches id or localized name case-insensitively, total counting the matches, and pages the matches', async () => {
    const zh = await full('u0001', '?lang=zh_CN');
    for (const q of ['O1-A00', 'a25', '0042', 'Inverter 01', '逆变器', 'no-such-thing']) {
      const needle = q.toLowerCase();
      const expected = zh.filter((a) => a.id.toLowerCase().includes(needle) || a.name.toLowerCase().includes(needle));
      const r = await call(bff.url, 'GET', path('u0001', `?lang=zh_CN&q=${encodeURIComponent(q)}`), { key });
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(expected.length);
      expect(r.body.assets).toEqual(expected);
      const paged = await walk(other, 'u0001', 13, `&lang=zh_CN&q=${encodeURIComponent(q)}`);
      expect(paged.ids).toEqual(expected.map((a) => a.id));
      expect(new Set(paged.totals)).toEqual(new Set([expected.length]));
    }
    const en = await call(bff.url, 'GET', path('u0001', '?lang=en_US&q=inverter'), { key });
    expect(en.body.total).toBe(500);
  });

  it("refuses a cursor of another user, OU or query, or a tampered one, with a 400 naming cursor, never another user's data", async () => {
    const first = await call(bff.url, 'GET', path('u0001', '?limit=10'), { key });
    const cursor: string = first.body.nextCursor;
    const [head, offset, sig] = cursor.split('.');
    const flip = (s: string) => s.slice(0, -1) + (s.endsWith('A') ? 'B' : 'A');
    const cases: [string, string][] = [
      [path('u0003', `?limit=10&cursor=${cursor}`), 'other user'],
      [`/v1/orgs/o2/users/u0001/assets?limit=10&cursor=${cursor}`, 'other OU'],
      [path('u0001', `?limit=10&q=a&cursor=${cursor}`), 'other query'],
      [path('u0001', `?limit=10&cursor=${head}.${offset}.${flip(sig)}`), 'tampered signature'],
      [path('u0001', `?limit=10&cursor=${head}.${(Number.parseInt(offset, 36) + 1).toString(36)}.${sig}`), 'tampered offset'],
      [path('u0001', `?limit=10&cursor=${(Number.parseInt(head, 36) + 1).toString(36)}.${offset}.${sig}`), 'tampered version'],
      [path('u0001', '?limit=10&cursor=not-a-cursor'), 'malformed'],
      [path('u0001', `?limit=10&cursor=${'x'.repeat(500)}`), 'too long'],
    ];
    for (const [p, what] of cases) {
      const r = await call(bff.url, 'GET', p, { key });
      expect({ what, status: r.status, fields: r.body.fields?.map((f: { field: string }) => f.field) }).toEqual({ what, status: 400, fields: ['cursor'] });
      expect(r.text).not.toContain('o1-a0011');
    }
  });

  it('answers 409 CURSOR_STALE when the set changed since the cursor was cut', async () => {
    await sim.admin.createUser('o1', { userId: 'pstale', assetCount: 30 });
    const first = await call(bff.url, 'GET', path('pstale', '?limit=10'), { key });
    expect(first.body.total).toBe(30);
    await sim.admin.revoke('o1', 'pstale', ['o1-a0001']);
    expect((await call(bff.url, 'DELETE', '/v1/orgs/o1/users/pstale/cache', { key: TEST_KEYS.admin })).status).toBe(204);
    const next = await call(other.url, 'GET', path('pstale', `?limit=10&cursor=${first.body.nextCursor}`), { key });
    expect(next.status).toBe(409);
    expect(next.body.code).toBe('CURSOR_STALE');
    expect(next.body.detail).toBe("the user's assets changed since this cursor was issued: read again from the first page");
    const again = await call(bff.url, 'GET', path('pstale', '?limit=10'), { key });
    expect(again.body.total).toBe(29);
  });

  it('keeps a cursor valid across a reload that brings the same set back, on either instance', async () => {
    await sim.admin.createUser('o1', { userId: 'preload', assetCount: 30 });
    const first = await call(bff.url, 'GET', path('preload', '?limit=10'), { key });
    const ids: string[] = first.body.assets.map((a: { id: string }) => a.id);
    await sim.admin.resetCounters();
    // Cache-Control: no-cache reloads the set from the portal: the same 30 assets, so the walk goes on.
    const second = await call(other.url, 'GET', path('preload', `?limit=10&cursor=${first.body.nextCursor}`), {
      key,
      headers: { 'cache-control': 'no-cache' },
    });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect((await sim.admin.counters()).endpoints.assetList.calls).toBe(1);
    ids.push(...second.body.assets.map((a: { id: string }) => a.id));
    // An invalidation reloads it too, and so does a search's cursor after one.
    expect((await call(bff.url, 'DELETE', '/v1/orgs/o1/users/preload/cache', { key: TEST_KEYS.admin })).status).toBe(204);
    const third = await call(bff.url, 'GET', path('preload', `?limit=10&cursor=${second.body.nextCursor}`), { key });
    expect([third.status, third.body.nextCursor]).toEqual([200, null]);
    ids.push(...third.body.assets.map((a: { id: string }) => a.id));
    expect(ids).toEqual((await full('preload')).map((a) => a.id));
    const found = await call(bff.url, 'GET', path('preload', '?limit=2&q=o1-a000'), { key });
    expect((await call(bff.url, 'DELETE', '/v1/orgs/o1/users/preload/cache', { key: TEST_KEYS.admin })).status).toBe(204);
    const more = await call(other.url, 'GET', path('preload', `?limit=2&q=o1-a000&cursor=${found.body.nextCursor}`), { key });
    expect(more.status).toBe(200);
    expect(more.body.assets.map((a: { id: string }) => a.id)).toEqual((await full('preload', '?q=o1-a000')).map((a) => a.id).slice(2, 4));
  });

  it('gives each page its own ETag, and 304 on an unchanged page', async () => {
    const a = await call(bff.url, 'GET', path('u0001', '?limit=100'), { key });
    const b = await call(bff.url, 'GET', path('u0001', `?limit=100&cursor=${a.body.nextCursor}`), { key });
    expect(b.status).toBe(200);
    expect(a.headers.get('etag')).not.toBe(b.headers.get('etag'));
    // node:http, not fetch: fetch adds Cache-Control: no-cache to a conditional request, which reloads the set.
    const c = await rawCall(other.url + path('u0001', `?limit=100&cursor=${a.body.nextCursor}`), 'GET', {
      'x-api-key': key,
      'if-none-match': b.headers.get('etag') as string,
    });
    expect(c.status).toBe(304);
  });

  it('refuses a bad limit, q or cursor with a 400 naming it, before any upstream call', async () => {
    const foreign: string = (await call(bff.url, 'GET', path('u0001', '?limit=10'), { key })).body.nextCursor;
    const before = await upstreamCalls();
    for (const [query, field] of [
      ['?limit=0', 'limit'],
      ['?limit=10001', 'limit'],
      ['?limit=abc', 'limit'],
      ['?limit=1.5', 'limit'],
      ['?limit=-1', 'limit'],
      ['?limit=1&limit=2', 'limit'],
      ['?q=', 'q'],
      [`?q=${'a'.repeat(129)}`, 'q'],
      ['?q=a&q=b', 'q'],
      ['?cursor=', 'cursor'],
      ['?cursor=a&cursor=b', 'cursor'],
      // u0010 is never read: a cursor that does not verify must not cost its load first
      ['?limit=10&cursor=not-a-cursor', 'cursor'],
      [`?limit=10&cursor=${foreign}`, 'cursor'],
      [`?q=${encodeURIComponent('\u{1F50D}'.repeat(129))}`, 'q'],
    ]) {
      const r = await call(bff.url, 'GET', path('u0010', query), { key });
      expect({ query, status: r.status, fields: r.body.fields?.map((f: { field: string }) => f.field) }).toEqual({ query, status: 400, fields: [field] });
    }
    expect(await upstreamCalls()).toBe(before);
  });

  it('counts q in characters: 128 of them pass even where each takes two UTF-16 units', async () => {
    const r = await call(bff.url, 'GET', path('u0001', `?q=${encodeURIComponent('\u{1F50D}'.repeat(128))}`), { key });
    expect(r.status).toBe(200);
    expect(r.body.total).toBe(0);
  });

  it('says complete: true in the whole answer when the portal pages agreed', async () => {
    const r = await call(bff.url, 'GET', path('u0005'), { key });
    expect(Object.keys(r.body)).toEqual(['orgId', 'userId', 'total', 'complete', 'assets']);
    expect(r.body.complete).toBe(true);
  });
});
