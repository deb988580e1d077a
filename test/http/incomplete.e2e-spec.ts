import Redis from 'ioredis';
import { BffHandle, call, startBff, TEST_KEYS } from '../support/bff';
import { cleanRedisDb } from '../support/redis-db';
import { SimHandle, startSim } from '../support/sim';

/** The asset ids `o1-a<from>`..`o1-a<to>` of the test profile. */
const o1Ids = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `o1-a${String(from + i).padStart(4, '0')}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * API.md section 3, "Large answers": `complete: false` when the portal's asset/list pages never agree during the
 * merge (the simulator's page-drift knob), the best merge answered, its entry fresh no longer than CACHE_NEGATIVE_TTL_S.
 */
describe('complete: false when the asset/list pages never agree', () => {
  let sim: SimHandle;
  let bff: BffHandle;
  let redis: Redis;
  const key = TEST_KEYS.reader;
  const NEGATIVE_TTL_S = 2;
  const CACHE_TTL_S = 300;
  /** u0005 and u0006 hold 10 assets each: three pages of 4 (4, 4, 2). */
  const PAGE_SIZE = 4;
  const read = (userId: string, headers: Record<string, string> = {}) => call(bff.url, 'GET', `/v1/orgs/o1/users/${userId}/assets`, { key, headers });
  const assetListCounter = async () => (await sim.admin.counters()).endpoints.assetList;

  /** The user's cached entry as stored in Redis (`2|og|ug|loadedAt|freshUntil|total|complete|epoch|indexes`). */
  async function entryOf(userId: string): Promise<{ loadedAt: number; freshUntil: number; total: number; complete: boolean }> {
    const keys = await redis.keys(`abff:{o1}:u:*:${userId}`);
    expect(keys).toHaveLength(1);
    const p = ((await redis.get(keys[0])) as string).split('|');
    return { loadedAt: Number(p[3]), freshUntil: Number(p[4]), total: Number(p[5]), complete: p[6] === '1' };
  }

  /** Waits until the entry is no longer fresh: a wait the test controls, not a claim about speed. */
  async function outliveFreshness(userId: string): Promise<void> {
    const { freshUntil } = await entryOf(userId);
    await sleep(Math.max(0, freshUntil - Date.now()) + 50);
  }

  /** abff_upstream_calls_total{endpoint="assetList",outcome="ok"} of the service. */
  async function okAssetListCalls(): Promise<number> {
    const text = (await call(bff.url, 'GET', '/metrics')).text;
    const m = /^abff_upstream_calls_total\{endpoint="assetList",outcome="ok"\} (\d+)$/m.exec(text);
    return m ? Number(m[1]) : 0;
  }

  beforeAll(async () => {
    sim = await startSim();
    const redisUrl = await cleanRedisDb(12);
    redis = new Redis(redisUrl);
    bff = await startBff({
      sim,
      env: { REDIS_URL: redisUrl, PORTAL_PAGE_SIZE: String(PAGE_SIZE), CACHE_NEGATIVE_TTL_S: String(NEGATIVE_TTL_S), CACHE_TTL_S: String(CACHE_TTL_S) },
    });
  });
  afterAll(async () => {
    redis?.disconnect();
    await bff?.stop();
    await sim?.stop();
  });
  beforeEach(() => sim.admin.reset());

  it('answers the best merge with complete: false, keeps it fresh only CACHE_NEGATIVE_TTL_S, and complete: true once the pages agree', async () => {
    await sim.admin.setPageDrift('o1', 'u0005', 'shift');
    const okBefore = await okAssetListCalls();

    const first = await read('u0005', { 'x-request-id': 'drift-shift-1' });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    // Pages 1 and 2 start one asset earlier (a0004 twice, page 2 one longer): every id is still there, once.
    expect({ ...first.body, assets: first.body.assets.map((a: { id: string }) => a.id) }).toEqual({
      orgId: 'o1',
      userId: 'u0005',
      total: 10,
      complete: false,
      assets: o1Ids(1, 10),
    });
    // One pass and its re-read, page 0 first in each: 6 asset/list calls.
    const c1 = await assetListCounter();
    expect(c1.calls).toBe(6);
    expect([c1.pages[0], c1.pages[3]]).toEqual([0, 0]);
    expect([...c1.pages].sort()).toEqual([0, 0, 1, 1, 2, 2]);
    expect((await okAssetListCalls()) - okBefore).toBe(6);
    const warning = bff
      .output()
      .split('\n')
      .filter((l) => l.includes('"requestId":"drift-shift-1"') && l.includes('still inconsistent'));
    expect(warning).toHaveLength(1);
    expect(JSON.parse(warning[0])).toMatchObject({ level: 40, msg: expect.stringContaining('answering complete: false') });

    const stored = await entryOf('u0005');
    expect(stored).toMatchObject({ total: 10, complete: false });
    expect(stored.freshUntil - stored.loadedAt).toBe(NEGATIVE_TTL_S * 1000);

    // Within the window the incomplete entry is reused: no upstream call.
    const again = await read('u0005');
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(again.body).toEqual(first.body);
    expect((await assetListCounter()).calls).toBe(6);

    // After it, the next read loads again (the pages still disagree).
    await outliveFreshness('u0005');
    const reloaded = await read('u0005');
    expect(reloaded.headers.get('x-cache')).toBe('MISS');
    expect(reloaded.body).toEqual(first.body);
    expect((await assetListCounter()).calls).toBe(12);

    // The pages agree again: the next load (once the entry is no longer fresh) is complete, read in one pass.
    await sim.admin.clearPageDrift('o1', 'u0005');
    await outliveFreshness('u0005');
    const settled = await read('u0005');
    expect(settled.headers.get('x-cache')).toBe('MISS');
    expect(settled.body).toEqual({ ...first.body, complete: true });
    expect((await assetListCounter()).calls).toBe(15);
    const complete = await entryOf('u0005');
    expect(complete.complete).toBe(true);
    // A complete merge gets the ordinary TTL (up to 10% shorter at random).
    expect(complete.freshUntil - complete.loadedAt).toBeGreaterThanOrEqual(CACHE_TTL_S * 1000 * 0.9);
    expect((await read('u0005')).headers.get('x-cache')).toBe('HIT');
    expect((await assetListCounter()).calls).toBe(15);
  });

  it('says complete: false when the pages disagree on the total, and complete: true on the first load after the knob is off', async () => {
    await sim.admin.setPageDrift('o1', 'u0006', 'total');
    const drifting = await read('u0006');
    expect(drifting.status).toBe(200);
    // The total of page 0 is the answer's; the pages after it said 11.
    expect({ ...drifting.body, assets: drifting.body.assets.map((a: { id: string }) => a.id) }).toEqual({
      orgId: 'o1',
      userId: 'u0006',
      total: 10,
      complete: false,
      assets: o1Ids(11, 20),
    });
    expect((await assetListCounter()).calls).toBe(6);
    expect(await entryOf('u0006')).toMatchObject({ complete: false });

    await sim.admin.clearPageDrift('o1', 'u0006');
    // Cache-Control: no-cache loads now rather than after the window.
    const fresh = await read('u0006', { 'cache-control': 'no-cache' });
    expect(fresh.headers.get('x-cache')).toBe('MISS');
    expect(fresh.body).toEqual({ ...drifting.body, complete: true });
    expect((await assetListCounter()).calls).toBe(9);
  });
});
