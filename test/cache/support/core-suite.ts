import Redis, { Cluster } from 'ioredis';
import { AssetCacheOptions, AssetSetCache, CacheKeys, LoadedSets, scopeId } from '@app/asset-cache';
import { countingObserver, eventually, FakePortal, JumpClock, recordingLogger, sleep, uniquePrefix } from './fake-portal';

/** What the shared suite runs against. */
export interface CoreTarget {
  /** Store options (redisUrl / clusterNodes / none), read when a test starts. */
  store: () => Partial<AssetCacheOptions>;
  /** True when instances share the store (Redis, Cluster): cross-instance tests run too. */
  shared: boolean;
  /** A raw client on the store, for planting locks and measuring memory (shared stores only). */
  raw?: () => Redis | Cluster;
}

const ORG = 'org-1';
/** redisTimeoutMs is generous here: the suites share two cores with other work, and a timeout would be a (correct) miss. */
const BASE = { ttlS: 300, staleS: 3600, negativeTtlS: 30, ttlJitter: 0, redisTimeoutMs: 1_000 };

/** The behaviour every driver must show, asserted with exact load counts. */
export function describeCoreSuite(target: CoreTarget): void {
  let caches: AssetSetCache[] = [];
  let prefix: string;
  let portal: FakePortal;

  /** A loader of user 'big', 60,000 assets (stored after its answer, in the background), counting its calls. */
  function bigSet(): { load: () => Promise<LoadedSets>; loads: () => number } {
    const ids = Array.from({ length: 60_000 }, (_, i) => `big-${i}`);
    let loads = 0;
    const load = async (): Promise<LoadedSets> => {
      loads++;
      return {
        sets: new Map([['big', { assetIds: ids, total: ids.length, complete: true }]]),
        assets: new Map(ids.map((id) => [id, { names: { default: `${id} v${loads}` } }])),
      };
    };
    return { load, loads: () => loads };
  }

  /** A connected cache on the target store; every cache made here shares `prefix` and is closed after the test. */
  async function makeCache(extra: Partial<AssetCacheOptions> = {}): Promise<AssetSetCache> {
    const c = new AssetSetCache({ ...BASE, keyPrefix: prefix, logger: recordingLogger().logger, ...target.store(), ...extra } as AssetCacheOptions);
    await c.connect();
    caches.push(c);
    return c;
  }

  beforeEach(() => {
    prefix = uniquePrefix('core');
    portal = new FakePortal();
  });

  afterEach(async () => {
    await Promise.all(caches.map((c) => c.close()));
    caches = [];
  });

  it('answers a cold read from the loader (MISS), then a repeated read is a HIT with no further load', async () => {
    const cache = await makeCache();
    const first = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(first.status).toBe('MISS');
    expect(first.set).toEqual(portal.setOf('u1'));
    const again = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(again.status).toBe('HIT');
    expect(again.set).toEqual(portal.setOf('u1'));
    expect(again.ageS).toBe(0);
    expect(portal.count).toBe(1);
  });

  it('gives each hit of the in-process copy its own result object, sharing the set and the load time it versions', async () => {
    const cache = await makeCache({ localTtlMs: 60_000 });
    const first = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const a = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const b = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(a.status).toBe('HIT');
    expect(b).not.toBe(a);
    expect(b.set).toBe(a.set);
    expect([a.loadedAt, b.loadedAt]).toEqual([first.loadedAt, first.loadedAt]);
    // a caller changing its result changes nobody else's
    a.status = 'STALE';
    a.ageS = 99;
    expect(await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).toMatchObject({ status: 'HIT', ageS: 0 });
    expect(portal.count).toBe(1);
  });

  it('keeps type filters apart: each scope is its own entry', async () => {
    const cache = await makeCache();
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const typed = await cache.getUserSet({ orgId: ORG, types: ['inverter'] }, 'u1', portal.single('u1', 10));
    expect(typed.status).toBe('MISS');
    expect(typed.set?.assetIds).toHaveLength(10);
    const typedAgain = await cache.getUserSet({ orgId: ORG, types: ['inverter', 'inverter'] }, 'u1', portal.single('u1', 10));
    expect(typedAgain.status).toBe('HIT');
    expect(portal.count).toBe(2);
  });

  it('coalesces 500 concurrent cold reads of one key into one load', async () => {
    const { counts, observer } = countingObserver();
    const cache = await makeCache({ observer });
    portal.delayMs = 50;
    const all = await Promise.all(Array.from({ length: 500 }, () => cache.getUserSet({ orgId: ORG }, 'hot', portal.single('hot'))));
    expect(portal.count).toBe(1);
    expect(all.every((r) => r.status === 'MISS' && r.set?.assetIds.length === 50)).toBe(true);
    expect(counts.coalesced).toBe(499);
    expect(counts.MISS).toBe(500);
  });

  it('caches "user not found" as a negative entry for negativeTtlS', async () => {
    const clock = new JumpClock();
    const cache = await makeCache({ now: clock.now, negativeTtlS: 30 });
    portal.unknown.add('ghost');
    const first = await cache.getUserSet({ orgId: ORG }, 'ghost', portal.single('ghost'));
    expect(first).toMatchObject({ status: 'MISS', set: null });
    const again = await cache.getUserSet({ orgId: ORG }, 'ghost', portal.single('ghost'));
    expect(again).toMatchObject({ status: 'HIT', set: null });
    expect(portal.count).toBe(1);
    clock.advance(31_000);
    const later = await cache.getUserSet({ orgId: ORG }, 'ghost', portal.single('ghost'));
    expect(later).toMatchObject({ status: 'MISS', set: null });
    expect(portal.count).toBe(2);
  });

  it('serves STALE past the TTL when the loader fails, and rethrows the loader error past ttl + stale', async () => {
    const clock = new JumpClock();
    const cache = await makeCache({ now: clock.now, ttlS: 1, staleS: 2 });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const boom = new Error('portal down');
    portal.failWith = boom;
    clock.advance(1_500);
    const stale = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(stale.status).toBe('STALE');
    expect(stale.ageS).toBe(1);
    expect(stale.set).toEqual(portal.setOf('u1'));
    clock.advance(2_000);
    await expect(cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
    expect(portal.count).toBe(3);
  });

  it('rethrows the loader error unchanged when nothing is cached', async () => {
    const cache = await makeCache();
    const boom = new Error('31400');
    portal.failWith = boom;
    await expect(cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).rejects.toBe(boom);
    portal.failWith = undefined;
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
  });

  it('bypass skips the cached copy and stores the fresh result', async () => {
    const cache = await makeCache();
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    portal.version = 1;
    const fresh = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'), { bypass: true });
    expect(fresh.status).toBe('MISS');
    expect(fresh.set).toEqual(portal.setOf('u1'));
    const next = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(next.status).toBe('HIT');
    expect(next.set).toEqual(portal.setOf('u1'));
    expect(portal.count).toBe(2);
  });

  it('refreshes a hit in the last 10-30% of its TTL once in the background, so the key never goes cold', async () => {
    const clock = new JumpClock();
    const cache = await makeCache({ now: clock.now, ttlS: 100 });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    clock.advance(50_000);
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
    expect(portal.count).toBe(1);
    clock.advance(45_000);
    portal.delayMs = 30;
    const near = await Promise.all([1, 2, 3].map(() => cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))));
    expect(near.map((r) => r.status)).toEqual(['HIT', 'HIT', 'HIT']);
    await eventually(() => portal.count === 2, 5_000, 'background refresh');
    await sleep(100);
    expect(portal.count).toBe(2);
    clock.advance(10_000);
    const after = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    expect(after.status).toBe('HIT');
    expect(after.ageS).toBe(10);
    expect(portal.count).toBe(2);
  });

  it('spreads TTLs with the injected random source', async () => {
    const clock = new JumpClock();
    const cache = await makeCache({ now: clock.now, ttlS: 100, ttlJitter: 0.5, random: () => 0.99 });
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    clock.advance(52_000);
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    expect(portal.count).toBe(2);
  });

  it('invalidateUser makes the next read of every scope of that user a MISS, and leaves other users cached', async () => {
    const cache = await makeCache();
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await cache.getUserSet({ orgId: ORG, types: ['inverter'] }, 'u1', portal.single('u1', 10));
    await cache.getUserSet({ orgId: ORG }, 'u2', portal.single('u2'));
    await cache.invalidateUser(ORG, 'u1');
    expect((await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: ORG, types: ['inverter'] }, 'u1', portal.single('u1', 10))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: ORG }, 'u2', portal.single('u2'))).status).toBe('HIT');
    expect(portal.count).toBe(5);
  });

  it('invalidateOrg makes the next read of every user of the OU a MISS, other OUs stay cached', async () => {
    const cache = await makeCache();
    for (const u of ['u1', 'u2']) await cache.getUserSet({ orgId: ORG }, u, portal.single(u));
    await cache.getUserSet({ orgId: 'org-2' }, 'u1', portal.single('u1'));
    await cache.invalidateOrg(ORG);
    for (const u of ['u1', 'u2']) expect((await cache.getUserSet({ orgId: ORG }, u, portal.single(u))).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: 'org-2' }, 'u1', portal.single('u1'))).status).toBe('HIT');
    expect(portal.count).toBe(5);
  });

  it('batch: 5,000 users after 3,000 were cached calls loadMissing once with exactly the 2,000 others', async () => {
    const { counts, observer } = countingObserver();
    const cache = await makeCache({ observer });
    const users = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
    const first = await cache.getUserSets({ orgId: ORG }, users.slice(0, 3000), portal.batch);
    expect(first.size).toBe(3000);
    expect(portal.calls).toEqual([users.slice(0, 3000)]);
    const all = await cache.getUserSets({ orgId: ORG }, users, portal.batch);
    expect(portal.count).toBe(2);
    expect(portal.calls[1]).toEqual(users.slice(3000));
    expect([...all.keys()]).toEqual(users);
    expect([...all.values()].filter((r) => r.status === 'HIT')).toHaveLength(3000);
    expect([...all.values()].filter((r) => r.status === 'MISS')).toHaveLength(2000);
    expect(all.get('user-4321')?.set).toEqual(portal.setOf('user-4321'));
    const again = await cache.getUserSets({ orgId: ORG }, users, portal.batch);
    expect(portal.count).toBe(2);
    expect([...again.values()].every((r) => r.status === 'HIT')).toBe(true);
    expect(counts).toMatchObject({ HIT: 8000, MISS: 5000, STALE: 0 });
  });

  it('batch: folds duplicate ids, caches not-found users, and waits for a single load already in flight', async () => {
    const cache = await makeCache();
    portal.unknown.add('ghost');
    portal.delayMs = 100;
    const single = cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    await sleep(20);
    const batch = await cache.getUserSets({ orgId: ORG }, ['u2', 'u1', 'ghost', 'u2'], portal.batch);
    expect(portal.calls).toEqual([['u1'], ['u2', 'ghost']]);
    expect([...batch.keys()]).toEqual(['u2', 'u1', 'ghost']);
    expect(batch.get('u1')).toMatchObject({ status: 'MISS', set: portal.setOf('u1') });
    expect(batch.get('ghost')).toMatchObject({ status: 'MISS', set: null });
    expect((await single).status).toBe('MISS');
    const again = await cache.getUserSets({ orgId: ORG }, ['ghost', 'u1'], portal.batch);
    expect(again.get('ghost')).toMatchObject({ status: 'HIT', set: null });
    expect(portal.count).toBe(2);
  });

  it('batch: every user is stored as the loader answered; a user the loader left out is cached as not found', async () => {
    const cache = await makeCache();
    portal.unknown.add('ghost');
    const users = ['u1', 'ghost', 'u2', 'u3'];
    const r = await cache.getUserSets({ orgId: ORG }, [...users, 'u1'], portal.batch);
    expect(portal.calls).toEqual([users]);
    expect([...r.keys()]).toEqual(users);
    for (const u of users) expect(r.get(u)).toMatchObject({ status: 'MISS', set: u === 'ghost' ? null : portal.setOf(u) });
    // stored as answered: the next read is a HIT of the same sets, no load
    const again = await cache.getUserSets({ orgId: ORG }, users, portal.batch);
    expect(portal.count).toBe(1);
    for (const u of users) expect(again.get(u)).toMatchObject({ status: 'HIT', set: u === 'ghost' ? null : portal.setOf(u) });
    // a loader that answers for u4 only: u5 is "not found", and cached so
    const leavesOut = async (missing: string[]): Promise<LoadedSets> => {
      const all = await portal.batch(missing);
      all.sets.delete('u5');
      return all;
    };
    const short = await cache.getUserSets({ orgId: ORG }, ['u4', 'u5'], leavesOut, { bypass: true });
    expect(short.get('u4')).toMatchObject({ status: 'MISS', set: portal.setOf('u4') });
    expect(short.get('u5')).toMatchObject({ status: 'MISS', set: null });
    expect((await cache.getUserSets({ orgId: ORG }, ['u5'], portal.batch)).get('u5')).toMatchObject({ status: 'HIT', set: null });
    expect(portal.count).toBe(2);
  });

  it("batch: a single read joins a batch load's user; after invalidateUser (or invalidateOrg) a read of that user loads anew, the others still join", async () => {
    const cache = await makeCache();
    portal.delayMs = 150;
    const users = Array.from({ length: 50 }, (_, i) => `j-${i}`);
    const batch = cache.getUserSets({ orgId: ORG }, users, portal.batch);
    await sleep(30);
    const joined = cache.getUserSet({ orgId: ORG }, 'j-7', portal.single('j-7'));
    await cache.invalidateUser(ORG, 'j-9');
    const afterUser = cache.getUserSet({ orgId: ORG }, 'j-9', portal.single('j-9'));
    const stillJoined = cache.getUserSets({ orgId: ORG }, ['j-10', 'j-11'], portal.batch);
    await cache.invalidateOrg('org-elsewhere');
    const otherOu = cache.getUserSet({ orgId: ORG }, 'j-12', portal.single('j-12'));
    const [b, j7, j9, j1011, j12] = await Promise.all([batch, joined, afterUser, stillJoined, otherOu]);
    // the batch, then j-9 alone: the joiners (single and batch) and the other OU's invalidation called nothing
    expect(portal.calls).toEqual([users, ['j-9']]);
    expect(j7.set).toBe(b.get('j-7')?.set);
    expect(j1011.get('j-11')?.set).toBe(b.get('j-11')?.set);
    expect(j12.set).toBe(b.get('j-12')?.set);
    expect(j9).toMatchObject({ status: 'MISS', set: portal.setOf('j-9') });

    const second = cache.getUserSets({ orgId: ORG }, users, portal.batch, { bypass: true });
    await sleep(30);
    await cache.invalidateOrg(ORG);
    const afterOrg = cache.getUserSet({ orgId: ORG }, 'j-20', portal.single('j-20'));
    await Promise.all([second, afterOrg]);
    expect(portal.calls.slice(2)).toEqual([users, ['j-20']]);
  });

  it('batch: concurrent batches share the in-flight loads of the users they have in common', async () => {
    const cache = await makeCache();
    portal.delayMs = 50;
    const [a, b] = await Promise.all([
      cache.getUserSets({ orgId: ORG }, ['u1', 'u2', 'u3'], portal.batch),
      cache.getUserSets({ orgId: ORG }, ['u2', 'u3', 'u4'], portal.batch),
    ]);
    expect(portal.calls).toEqual([['u1', 'u2', 'u3'], ['u4']]);
    expect(b.get('u3')?.set).toEqual(a.get('u3')?.set);
  });

  it('batch with bypass: a failing load serves the stored copies as STALE, else rethrows', async () => {
    const cache = await makeCache();
    await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch);
    const boom = new Error('upstream 503');
    portal.failWith = boom;
    const stale = await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch, { bypass: true });
    expect([...stale.values()].map((r) => r.status)).toEqual(['STALE', 'STALE']);
    expect(stale.get('u2')?.set?.assetIds).toEqual(portal.setOf('u2').assetIds);
    await expect(cache.getUserSets({ orgId: ORG }, ['u1', 'u3'], portal.batch, { bypass: true })).rejects.toBe(boom);
    expect(portal.calls).toEqual([
      ['u1', 'u2'],
      ['u1', 'u2'],
      ['u1', 'u3'],
    ]);
  });

  it('batch: serves STALE copies when loadMissing fails and every missing user has one, else rethrows', async () => {
    const clock = new JumpClock();
    const cache = await makeCache({ now: clock.now, ttlS: 1, staleS: 5 });
    await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch);
    clock.advance(2_000);
    const boom = new Error('upstream 503');
    portal.failWith = boom;
    const stale = await cache.getUserSets({ orgId: ORG }, ['u1', 'u2'], portal.batch);
    expect([...stale.values()].map((r) => r.status)).toEqual(['STALE', 'STALE']);
    await expect(cache.getUserSets({ orgId: ORG }, ['u1', 'u3'], portal.batch)).rejects.toBe(boom);
    expect(portal.calls).toEqual([
      ['u1', 'u2'],
      ['u1', 'u2'],
      ['u1', 'u3'],
    ]);
  });

  it('stores asset details once per OU; typed details are never replaced by untyped ones', async () => {
    const cache = await makeCache();
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
    const ids = portal.setOf('u1').assetIds;
    let d = await cache.getAssetDetails(ORG, [ids[0], 'no-such-asset']);
    expect(d.size).toBe(1);
    expect(d.get(ids[0])).toEqual({ names: { default: `name ${ids[0]} v0` } });
    await cache.getUserSets({ orgId: ORG }, ['u1'], portal.batch, { bypass: true });
    d = await cache.getAssetDetails(ORG, ids);
    expect(d.size).toBe(50);
    expect(d.get(ids[0])).toEqual({ names: { default: `typed ${ids[0]}`, zh_CN: `资产 ${ids[0]}` }, type: 'inverter', typeNames: { default: 'Inverter' } });
    portal.version = 7;
    await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'), { bypass: true });
    const fresh = portal.setOf('u1').assetIds;
    d = await cache.getAssetDetails(ORG, [...ids, ...fresh]);
    expect(d.get(ids[0])?.type).toBe('inverter');
    const untouched = fresh.find((id) => !ids.includes(id)) as string;
    expect(d.get(untouched)).toEqual({ names: { default: `name ${untouched} v7` } });
  });

  it('caches "OU not found" until invalidated or expired; a mark read before an invalidation does not count after it', async () => {
    const cache = await makeCache({ negativeTtlS: 1 });
    const missing = async (): Promise<boolean> => (await cache.orgMark('gone')).missing;
    expect(await missing()).toBe(false);
    await cache.markOrgMissing('gone', await cache.orgMark('gone'));
    expect(await missing()).toBe(true);
    await cache.invalidateOrg('gone');
    expect(await missing()).toBe(false);
    // A portal call that began before the invalidation and answers "not found" after its 204.
    const before = await cache.orgMark('gone');
    await cache.invalidateOrg('gone');
    await cache.markOrgMissing('gone', before);
    expect(await missing()).toBe(false);
    await cache.markOrgMissing('gone', await cache.orgMark('gone'));
    expect(await missing()).toBe(true);
    await sleep(1_100);
    expect(await missing()).toBe(false);
  });

  it('reports its driver and health', async () => {
    const cache = await makeCache();
    expect(cache.driver).toBe(target.shared ? (target.store().clusterNodes ? 'cluster' : 'redis') : 'memory');
    expect(cache.health()).toBe(target.shared ? 'up' : 'none');
  });

  if (!target.shared) return;

  describe('across instances sharing the store', () => {
    it('a second instance answers from the store: HIT, no load', async () => {
      const a = await makeCache();
      const b = await makeCache();
      await a.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      const r = await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      expect(r.status).toBe('HIT');
      expect(r.set).toEqual(portal.setOf('u1'));
      expect(portal.count).toBe(1);
      const batch = await b.getUserSets({ orgId: ORG }, ['u1'], portal.batch);
      expect(batch.get('u1')?.status).toBe('HIT');
      expect(portal.count).toBe(1);
    });

    it('invalidateUser on one instance makes the next read a MISS on the other, whose in-process copy is dropped', async () => {
      const a = await makeCache({ localTtlMs: 60_000 });
      const b = await makeCache({ localTtlMs: 60_000 });
      await a.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      const held = await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      expect(held.status).toBe('HIT');
      const copy = await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      expect(copy).toMatchObject({ status: 'HIT', loadedAt: held.loadedAt });
      expect(copy.set).toBe(held.set);
      await a.invalidateUser(ORG, 'u1');
      await sleep(50);
      const after = await b.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
      expect(after.status).toBe('MISS');
      expect(portal.count).toBe(2);
      expect((await a.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'))).status).toBe('HIT');
      expect(portal.count).toBe(2);
    });

    it('invalidateOrg on one instance makes the next read of every user a MISS on the other', async () => {
      const a = await makeCache({ localTtlMs: 60_000 });
      const b = await makeCache({ localTtlMs: 60_000 });
      await a.getUserSets({ orgId: ORG }, ['u1', 'u2', 'u3'], portal.batch);
      const held = await b.getUserSets({ orgId: ORG }, ['u1', 'u2', 'u3'], portal.batch);
      expect([...held.values()].every((r) => r.status === 'HIT')).toBe(true);
      await a.invalidateOrg(ORG);
      await sleep(50);
      const after = await b.getUserSets({ orgId: ORG }, ['u1', 'u2', 'u3'], portal.batch);
      expect([...after.values()].map((r) => r.status)).toEqual(['MISS', 'MISS', 'MISS']);
      expect(portal.calls).toEqual([
        ['u1', 'u2', 'u3'],
        ['u1', 'u2', 'u3'],
      ]);
    });

    it('500 concurrent cold reads split over two instances load once (Redis lock; the other instance waits)', async () => {
      const ca = countingObserver();
      const cb = countingObserver();
      const a = await makeCache({ observer: ca.observer });
      const b = await makeCache({ observer: cb.observer });
      portal.delayMs = 100;
      const all = await Promise.all(Array.from({ length: 500 }, (_, i) => (i % 2 ? a : b).getUserSet({ orgId: ORG }, 'hot', portal.single('hot'))));
      expect(portal.count).toBe(1);
      expect(all.every((r) => r.set?.assetIds.length === 50 && r.status !== 'STALE')).toBe(true);
      expect(ca.counts.lockWaits + cb.counts.lockWaits).toBe(1);
      expect(ca.counts.coalesced + cb.counts.coalesced).toBe(498);
    });

    it('a very large set answers before it is stored; the other instance waits on the lock and loads nothing', async () => {
      const a = await makeCache();
      const b = await makeCache();
      const ids = Array.from({ length: 12_000 }, (_, i) => `huge-${i}`);
      let loads = 0;
      const load = async () => {
        loads++;
        return {
          sets: new Map([['huge', { assetIds: ids, total: ids.length, complete: true }]]),
          assets: new Map(ids.map((id) => [id, { names: { default: `name ${id}` } }])),
        };
      };
      const first = await a.getUserSet({ orgId: ORG }, 'huge', load);
      expect(first.status).toBe('MISS');
      expect(first.set?.assetIds).toHaveLength(12_000);
      // Asked at once, while the first instance's writes may still be running: it waits, then reads them.
      const second = await b.getUserSet({ orgId: ORG }, 'huge', load);
      expect(second.status).toBe('HIT');
      expect(second.set?.assetIds).toEqual(ids);
      expect(loads).toBe(1);
      const details = await b.getAssetDetails(ORG, ids.slice(-3));
      expect([...details.values()].map((d) => d.names.default)).toEqual(ids.slice(-3).map((id) => `name ${id}`));
    });

    it('a dead lock holder (lock left in Redis) blocks the key at most lockTtlMs, then a waiter loads', async () => {
      const { counts, observer } = countingObserver();
      const cache = await makeCache({ lockTtlMs: 600, observer });
      const raw = (target.raw as () => Redis | Cluster)();
      try {
        const keys = new CacheKeys(prefix);
        await raw.set(keys.lock(ORG, scopeId(undefined), 'u1'), 'dead-instance', 'PX', 600);
        const started = Date.now();
        const r = await cache.getUserSet({ orgId: ORG }, 'u1', portal.single('u1'));
        const waited = Date.now() - started;
        expect(r.status).toBe('MISS');
        expect(portal.count).toBe(1);
        expect(counts.lockWaits).toBe(1);
        expect(waited).toBeGreaterThanOrEqual(450);
        expect(waited).toBeLessThan(600 + 400);
        expect(await raw.get(keys.lock(ORG, scopeId(undefined), 'u1'))).toBeNull();
      } finally {
        raw.disconnect();
      }
    });

    it('a load longer than lockTtlMs keeps its lock (renewed): the other instance waits for its result and loads nothing', async () => {
      const a = await makeCache({ lockTtlMs: 1_000 });
      const b = await makeCache({ lockTtlMs: 1_000 });
      const raw = (target.raw as () => Redis | Cluster)();
      const lock = new CacheKeys(prefix).lock(ORG, scopeId(undefined), 'slow');
      try {
        // Two and a half lifetimes of the lock (a holder keeps it for at most three).
        portal.delayMs = 2_500;
        const started = Date.now();
        const first = a.getUserSet({ orgId: ORG }, 'slow', portal.single('slow'));
        await eventually(async () => (await raw.exists(lock)) === 1, 5_000, 'the lock taken by A');
        const second = b.getUserSet({ orgId: ORG }, 'slow', portal.single('slow'));
        await sleep(Math.max(0, 1_600 - (Date.now() - started)));
        // Past the lock's first lifetime, its holder still holds it.
        expect(await raw.pttl(lock)).toBeGreaterThan(0);
        const [r1, r2] = await Promise.all([first, second]);
        expect(portal.count).toBe(1);
        expect(r1.status).toBe('MISS');
        expect(r2.set?.assetIds).toEqual(r1.set?.assetIds);
        expect(r2.status).not.toBe('STALE');
        // Released once stored: no renewal brings it back.
        await sleep(700);
        expect(await raw.exists(lock)).toBe(0);
      } finally {
        raw.disconnect();
      }
    });

    it('a read asking for data newer than the stored entry waits on the lock of the load storing it, and loads nothing', async () => {
      const clock = new JumpClock();
      const a = await makeCache({ now: clock.now, ttlS: 100 });
      const b = await makeCache({ now: clock.now, ttlS: 100 });
      // A set stored after its answer (in the background, under the lock), big enough that its store takes a while.
      const { load, loads } = bigSet();
      const first = await a.getUserSet({ orgId: ORG }, 'big', load);
      expect((await b.getUserSet({ orgId: ORG }, 'big', load)).status).toBe('HIT');
      // Past its refresh point, a hit on A reloads it under the lock and keeps the new entry as A's copy at once.
      clock.advance(95_000);
      await a.getUserSet({ orgId: ORG }, 'big', load);
      await eventually(async () => (await a.getUserSet({ orgId: ORG }, 'big', load)).loadedAt > first.loadedAt, 5_000, 'refresh on A');
      const newer = await a.getUserSet({ orgId: ORG }, 'big', load);
      expect(loads()).toBe(2);
      // B is asked for data at least as new as A's (a consistency token) while A still stores it: B waits, then reads it.
      const r = await b.getUserSet({ orgId: ORG }, 'big', load, { notBefore: newer.loadedAt });
      expect(r.loadedAt).toBe(newer.loadedAt);
      expect(loads()).toBe(2);
    });

    it('a bypass load holds the lock when it is free: a read with its token elsewhere waits for what it stores', async () => {
      const a = await makeCache();
      const b = await makeCache();
      const { load, loads } = bigSet();
      await a.getUserSet({ orgId: ORG }, 'big', load);
      expect((await b.getUserSet({ orgId: ORG }, 'big', load)).status).toBe('HIT');
      // The first load's store has released its lock.
      const raw = (target.raw as () => Redis | Cluster)();
      try {
        const lock = new CacheKeys(prefix).lock(ORG, scopeId(undefined), 'big');
        await eventually(async () => (await raw.exists(lock)) === 0, 5_000, 'the first store done');
      } finally {
        raw.disconnect();
      }
      const fresh = await a.getUserSet({ orgId: ORG }, 'big', load, { bypass: true });
      expect(loads()).toBe(2);
      const r = await b.getUserSet({ orgId: ORG }, 'big', load, { notBefore: fresh.loadedAt });
      expect(r.loadedAt).toBe(fresh.loadedAt);
      expect(loads()).toBe(2);
    });

    it('a cached user costs Redis less than 1/10 of the full JSON answer (names stored once per OU)', async () => {
      const cache = await makeCache();
      await cache.getUserSet({ orgId: ORG }, 'big', portal.single('big', 500));
      const answer = JSON.stringify({
        orgId: ORG,
        userId: 'big',
        total: 500,
        assets: portal.setOf('big', 500).assetIds.map((id) => ({ id, name: `name ${id} v0`, names: { default: `name ${id} v0` } })),
      });
      const raw = (target.raw as () => Redis | Cluster)();
      try {
        const key = new CacheKeys(prefix).userSet(ORG, scopeId(undefined), 'big');
        const bytes = Number(await raw.call('MEMORY', 'USAGE', key));
        expect(bytes).toBeGreaterThan(0);
        expect(bytes).toBeLessThan(Buffer.byteLength(answer) / 10);
      } finally {
        raw.disconnect();
      }
    });
  });
}
