import Redis from 'ioredis';
import { AssetCacheOptions, AssetSetCache, CachedUserSet, CacheKeys, LoadedSets, scopeId } from '@app/asset-cache';
import { SlowLink } from '../support/slow-link';
import { describeCoreSuite } from './support/core-suite';
import { eventually, FakePortal, JumpClock, recordingLogger, sleep, uniquePrefix } from './support/fake-portal';
import { TEST_REDIS_PORT, TEST_REDIS_URL } from '../support/test-redis';

/** The shared Redis of the e2e suites (started by the global set-up when none runs); each test has its own key prefix. */
const SHARED_REDIS_URL = TEST_REDIS_URL;

/** Caches made by cacheOn in the running test; closed after it. */
const made: AssetSetCache[] = [];

/** Raw clients made by rawClient in the running test; disconnected after it. */
const clients: Redis[] = [];

/** Closes the caches cacheOn made and the clients rawClient made (after each test, or earlier where a test needs them gone first). */
async function closeMade(): Promise<void> {
  await Promise.all(made.splice(0).map((c) => c.close()));
  for (const c of clients.splice(0)) c.disconnect();
}

/** A plain client on the shared Redis (to look at keys behind the caches' backs); disconnected after the test. */
function rawClient(): Redis {
  const c = new Redis(SHARED_REDIS_URL);
  clients.push(c);
  return c;
}

/** A connected cache on `redisUrl` under the test's key prefix, with the suites' usual options; closed after the test. */
async function cacheOn(prefix: string, redisUrl = SHARED_REDIS_URL, extra: Partial<AssetCacheOptions> = {}): Promise<AssetSetCache> {
  const c = new AssetSetCache({ ttlS: 300, staleS: 3600, negativeTtlS: 30, ttlJitter: 0, redisTimeoutMs: 2_000, keyPrefix: prefix, logger: recordingLogger().logger, redisUrl, ...extra } as AssetCacheOptions);
  made.push(c);
  await c.connect();
  return c;
}

/**
 * A batch loader that passes its first `firstPart` users as a part, then waits until `release()` before it
 * answers every user; `parts()` counts the parts it passed.
 */
function partThenWaitLoader(portal: FakePortal, firstPart: number): { loader: (missing: string[], onPart?: (part: LoadedSets) => void) => Promise<LoadedSets>; release: () => void; parts: () => number } {
  let release!: () => void;
  const rest = new Promise<void>((r) => (release = r));
  let partsPassed = 0;
  const loader = async (missing: string[], onPart?: (part: LoadedSets) => void): Promise<LoadedSets> => {
    const all = await portal.batch(missing);
    onPart?.({ sets: new Map(missing.slice(0, firstPart).map((u) => [u, all.sets.get(u) ?? null])), assets: all.assets });
    partsPassed++;
    await rest;
    return all;
  };
  return { loader, release, parts: () => partsPassed };
}

/**
 * Expects `cache` to find every one of `users` in Redis (and returns what it found): its loader fails, which keeps a miss from being cached
 * (it would throw here) and from passing as a hit.
 */
async function expectStoredHits(cache: AssetSetCache, users: string[]): Promise<Map<string, CachedUserSet>> {
  const seen = await cache.getUserSets({ orgId: 'org-1' }, users, async () => {
    throw new Error('these users should be in Redis');
  });
  expect([...seen.values()].every((r) => r.status === 'HIT')).toBe(true);
  return seen;
}

describe('AssetSetCache on Redis', () => {
  afterEach(closeMade);

  describeCoreSuite({
    store: () => ({ redisUrl: SHARED_REDIS_URL }),
    shared: true,
    raw: () => new Redis(SHARED_REDIS_URL),
  });

  it('an instance whose replies come late loads nothing when the other instance stored the set meanwhile (double-checked lock)', async () => {
    // B's replies are 150 ms late: its first read misses, A loads (20 ms), stores and unlocks, then B takes the
    // free lock. Without a second look after taking the lock, B would call the portal again.
    const link = new SlowLink({ host: '127.0.0.1', port: TEST_REDIS_PORT }, 150);
    await link.start();
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix, `redis://127.0.0.1:${link.port}`);
    try {
      const portal = new FakePortal();
      portal.delayMs = 20;
      const [ra, rb] = await Promise.all([a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1')), b.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'))]);
      expect(portal.count).toBe(1);
      expect(ra.status).toBe('MISS');
      expect(rb.status).toBe('HIT');
      expect(rb.set?.assetIds).toEqual(ra.set?.assetIds);
    } finally {
      // The caches first: the link's sockets are theirs.
      await closeMade();
      await link.stop();
    }
  });

  it("a large single load's store waits for the caller's answer to be written (ReadOptions.answered); other instances wait on the lock, then read it", async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const raw = rawClient();
    // 12,000 assets: a large load, stored in the background
    const ids = Array.from({ length: 12_000 }, (_, i) => `big-a${i}`);
    let loads = 0;
    const load = async (): Promise<LoadedSets> => {
      loads++;
      return { sets: new Map([['u-big', { assetIds: ids, total: ids.length, complete: true }]]), assets: new Map(ids.map((id) => [id, { names: { default: id } }])) };
    };
    let written!: () => void;
    const answered = new Promise<void>((resolve) => (written = resolve));
    const first = await a.getUserSet({ orgId: 'org-1' }, 'u-big', load, { answered });
    expect(first.status).toBe('MISS');
    const keys = new CacheKeys(prefix);
    const entryKey = keys.userSet('org-1', scopeId(undefined), 'u-big');
    // The answer is not written yet: nothing stored, the lock still held, A serves its in-process copy.
    await sleep(300);
    expect(await raw.exists(entryKey)).toBe(0);
    expect(await raw.exists(keys.lock('org-1', scopeId(undefined), 'u-big'))).toBe(1);
    expect((await a.getUserSet({ orgId: 'org-1' }, 'u-big', load)).status).toBe('HIT');
    // B asks meanwhile: it waits on the lock and gets the stored entry once the answer is written.
    const fromB = b.getUserSet({ orgId: 'org-1' }, 'u-big', async () => {
      throw new Error('B must not load');
    });
    written();
    const rb = await fromB;
    expect(rb.status).toBe('HIT');
    expect(rb.set?.assetIds).toEqual(ids);
    expect(await raw.exists(entryKey)).toBe(1);
    expect(loads).toBe(1);
  });

  it('a large batch (2,500 users, stored by the caller-awaited store in SET_MANY chunks) leaves every entry with its TTL, readable by another instance', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const raw = rawClient();
    const portal = new FakePortal();
    const users = Array.from({ length: 2_500 }, (_, i) => `big-${i}`);
    const pendingStores: Promise<void>[] = [];
    await a.getUserSets({ orgId: 'org-1' }, users, portal.batch, { pendingStores });
    // 2,500 users x 50 ids: a large load, so its store was handed to the caller.
    expect(pendingStores).toHaveLength(1);
    await Promise.all(pendingStores);
    const keys = new CacheKeys(prefix);
    const ttls = await Promise.all(users.map((u) => raw.pttl(keys.userSet('org-1', scopeId(undefined), u))));
    expect(ttls.every((t) => t > 3_800_000 && t <= 3_900_000)).toBe(true);
    const again = await b.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    expect([...again.values()].every((r) => r.status === 'HIT')).toBe(true);
    expect(again.get('big-2499')?.set?.assetIds).toEqual(portal.setOf('big-2499').assetIds);
    expect(portal.count).toBe(1);
  });

  it("a batch's parts write each asset's details once and send each id to the dictionary once, though every part carries them (MONITOR)", async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const keys = new CacheKeys(prefix);
    const detailsKey = keys.assetDetails('org-1');
    const dictKey = keys.idDictionary('org-1');
    const raw = rawClient();
    const monitor = await raw.monitor();
    clients.push(monitor);
    const detailWrites = new Map<string, number>();
    const idsSent = new Map<string, number>();
    monitor.on('monitor', (_time: string, args: string[]) => {
      const cmd = String(args[0]).toLowerCase();
      if ((cmd !== 'evalsha' && cmd !== 'eval') || args[2] !== '1') return;
      if (args[3] === detailsKey) for (let i = 5; i < args.length; i += 2) detailWrites.set(args[i], (detailWrites.get(args[i]) ?? 0) + 1);
      if (args[3] === dictKey) for (const id of args.slice(4)) if (id.startsWith('asset-')) idsSent.set(id, (idsSent.get(id) ?? 0) + 1);
    });
    const portal = new FakePortal();
    const users = Array.from({ length: 300 }, (_, i) => `w-${i}`);
    const loader = async (missing: string[], onPart?: (part: LoadedSets) => void): Promise<LoadedSets> => {
      const all = await portal.batch(missing);
      // three parts of 100 users, each with every asset's details (as each users/assetList answer has)
      for (let k = 0; k < 3; k++) onPart?.({ sets: new Map(missing.slice(k * 100, k * 100 + 100).map((u) => [u, all.sets.get(u) ?? null])), assets: all.assets });
      return all;
    };
    const pendingStores: Promise<void>[] = [];
    const result = await a.getUserSets({ orgId: 'org-1' }, users, loader, { bypass: true, pendingStores });
    await Promise.all(pendingStores);
    expect(pendingStores).toHaveLength(3);
    const assetIds = new Set(users.flatMap((u) => portal.setOf(u).assetIds));
    await eventually(() => [...assetIds].every((id) => detailWrites.has(id)), 5_000, 'MONITOR to report every details write');
    expect([...assetIds].map((id) => detailWrites.get(id))).toEqual([...assetIds].map(() => 1));
    expect([...assetIds].map((id) => idsSent.get(id))).toEqual([...assetIds].map(() => 1));
    // everything is there for another instance: every user a HIT, every asset's details
    const again = await expectStoredHits(b, users);
    expect(again.get('w-299')?.set?.assetIds).toEqual(result.get('w-299')?.set?.assetIds);
    const details = await b.getAssetDetails('org-1', [...assetIds]);
    expect(details.size).toBe(assetIds.size);
  });

  it('a batch loader\'s parts are stored as they come: another instance finds the first part while the loader still waits for the rest', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const portal = new FakePortal();
    const users = Array.from({ length: 400 }, (_, i) => `p-${i}`);
    const { loader, release, parts } = partThenWaitLoader(portal, 200);
    const pendingStores: Promise<void>[] = [];
    const reading = a.getUserSets({ orgId: 'org-1' }, users, loader, { bypass: true, pendingStores });
    // The part's store is handed to the caller once the cache's own read is in.
    await eventually(() => parts() === 1 && pendingStores.length === 1, 5_000, 'the first part');
    await Promise.all(pendingStores);
    // The other instance must find the whole first half in Redis.
    await expectStoredHits(b, users.slice(0, 200));
    expect(parts()).toBe(1);
    release();
    const result = await reading;
    await Promise.all(pendingStores);
    expect([...result.values()].every((r) => r.status === 'MISS')).toBe(true);
    expect(result.get('p-399')?.set?.assetIds).toEqual(portal.setOf('p-399').assetIds);
    // Two stores in all: the part's, then the rest's (200 users x 50 ids: large, so left to the caller too).
    expect(pendingStores).toHaveLength(2);
    const again = await b.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    expect([...again.values()].every((r) => r.status === 'HIT')).toBe(true);
    expect(portal.count).toBe(1);
  });

  it('a batch read loading 1,000 users or more and 100,000 ids, given `answered`, stores them after the answer: joined here meanwhile, then found by another instance', async () => {
    const prefix = uniquePrefix('core');
    // No in-process copies: what this instance serves before the store comes from the load it joins.
    const a = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 0 });
    const b = await cacheOn(prefix);
    const raw = rawClient();
    const keys = new CacheKeys(prefix);
    const portal = new FakePortal();
    // 2,000 users x 50 ids
    const users = Array.from({ length: 2_000 }, (_, i) => `d-${i}`);
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const result = await a.getUserSets({ orgId: 'org-1' }, users, portal.batch, { answered });
    expect([...result.values()].every((r) => r.status === 'MISS')).toBe(true);
    // Answered before anything was stored
    const lastKey = keys.userSet('org-1', scopeId(undefined), 'd-1999');
    await sleep(100);
    expect(await raw.exists(keys.userSet('org-1', scopeId(undefined), 'd-0'), lastKey)).toBe(0);
    // This instance joins the load it holds for those users instead of calling the portal again (batch and single).
    const joined = await a.getUserSets({ orgId: 'org-1' }, users.slice(0, 10), portal.batch);
    expect(joined.get('d-3')?.set?.assetIds).toEqual(portal.setOf('d-3').assetIds);
    expect((await a.getUserSet({ orgId: 'org-1' }, 'd-7', portal.single('d-7'))).set?.assetIds).toEqual(portal.setOf('d-7').assetIds);
    expect(portal.count).toBe(1);
    answer();
    await eventually(async () => (await raw.exists(lastKey)) === 1, 5_000, 'the deferred store');
    const again = await expectStoredHits(b, users);
    expect(again.get('d-1999')?.set?.assetIds).toEqual(result.get('d-1999')?.set?.assetIds);
    expect((await b.getAssetDetails('org-1', portal.setOf('d-1999').assetIds)).size).toBe(50);
    expect(portal.count).toBe(1);
  });

  it('such a read makes its in-process copies after the answer too, and none when the OU was invalidated before the answer', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const portal = new FakePortal();
    const users = Array.from({ length: 2_000 }, (_, i) => `c-${i}`);
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    const copiesBefore = a.localCopies;
    const result = await a.getUserSets({ orgId: 'org-1' }, users, portal.batch, { answered });
    expect(a.localCopies).toBe(copiesBefore);
    expect(a.peekUserSet({ orgId: 'org-1' }, 'c-0')).toBeUndefined();
    answer();
    await eventually(() => a.localCopies === copiesBefore + 2_000, 5_000, 'the copies after the answer');
    const copy = a.peekUserSet({ orgId: 'org-1' }, 'c-1999');
    expect(copy?.status).toBe('HIT');
    expect(copy?.set).toBe(result.get('c-1999')?.set);

    // invalidated between the read and its answer: no copy of the old lists is made
    const others = Array.from({ length: 2_000 }, (_, i) => `e-${i}`);
    let answer2!: () => void;
    const answered2 = new Promise<void>((r) => (answer2 = r));
    await a.getUserSets({ orgId: 'org-2' }, others, portal.batch, { answered: answered2 });
    await a.invalidateOrg('org-2');
    const copiesThen = a.localCopies;
    answer2();
    await sleep(200);
    expect(a.localCopies).toBe(copiesThen);
    expect(a.peekUserSet({ orgId: 'org-2' }, 'e-0')).toBeUndefined();
    expect(portal.count).toBe(2);
  });

  it('a smaller batch read stores before it resolves, `answered` or not; a deferred store starts anyway 2 s after the read began', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const raw = rawClient();
    const keys = new CacheKeys(prefix);
    const portal = new FakePortal();
    const never = new Promise<void>(() => undefined);
    // 999 users of 50 ids (too few users), 1,000 users of 50 ids (too few ids in all)
    await a.getUserSets({ orgId: 'org-1' }, Array.from({ length: 999 }, (_, i) => `s-${i}`), portal.batch, { answered: never });
    expect(await raw.exists(keys.userSet('org-1', scopeId(undefined), 's-998'))).toBe(1);
    await a.getUserSets({ orgId: 'org-1' }, Array.from({ length: 1_000 }, (_, i) => `r-${i}`), portal.batch, { answered: never });
    expect(await raw.exists(keys.userSet('org-1', scopeId(undefined), 'r-999'))).toBe(1);
    await a.getUserSets({ orgId: 'org-1' }, Array.from({ length: 2_000 }, (_, i) => `t-${i}`), portal.batch, { answered: never });
    const lastKey = keys.userSet('org-1', scopeId(undefined), 't-1999');
    // still waiting for the answer a second later, then stored without it
    await sleep(1_000);
    expect(await raw.exists(lastKey)).toBe(0);
    await eventually(async () => (await raw.exists(lastKey)) === 1, 6_000, 'the store after the longest deferral');
  });

  it('a batch read under 1,000 users, given `answered`, stores each part as it comes and resolves once every store is done', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const raw = rawClient();
    const keys = new CacheKeys(prefix);
    const portal = new FakePortal();
    const users = Array.from({ length: 400 }, (_, i) => `q-${i}`);
    const { loader, release, parts } = partThenWaitLoader(portal, 200);
    const never = new Promise<void>(() => undefined);
    const reading = a.getUserSets({ orgId: 'org-1' }, users, loader, { bypass: true, answered: never });
    await eventually(async () => parts() === 1 && (await raw.exists(keys.userSet('org-1', scopeId(undefined), 'q-199'))) === 1, 5_000, 'the first part in Redis');
    await expectStoredHits(b, users.slice(0, 200));
    release();
    await reading;
    // resolved with the rest stored too
    expect(await raw.exists(keys.userSet('org-1', scopeId(undefined), 'q-399'))).toBe(1);
    expect(portal.count).toBe(1);
  });

  it("the parts of a deferred batch load that failed are stored after the answer, so that the caller's retry loads only the rest", async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const raw = rawClient();
    const keys = new CacheKeys(prefix);
    const portal = new FakePortal();
    const users = Array.from({ length: 1_200 }, (_, i) => `f-${i}`);
    // The first 1,000 users' chunk answers; the second fails.
    const loader = async (missing: string[], onPart?: (part: LoadedSets) => void): Promise<LoadedSets> => {
      const all = await portal.batch(missing);
      onPart?.({ sets: new Map(missing.slice(0, 1_000).map((u) => [u, all.sets.get(u) ?? null])), assets: all.assets });
      throw new Error('the second chunk timed out');
    };
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    await expect(a.getUserSets({ orgId: 'org-1' }, users, loader, { bypass: true, answered })).rejects.toThrow('the second chunk timed out');
    const firstKey = keys.userSet('org-1', scopeId(undefined), 'f-0');
    expect(await raw.exists(firstKey)).toBe(0);
    answer();
    await eventually(async () => (await raw.exists(keys.userSet('org-1', scopeId(undefined), 'f-999'))) === 1, 5_000, "the part's store");
    expect(await raw.exists(keys.userSet('org-1', scopeId(undefined), 'f-1000'))).toBe(0);
    portal.calls.length = 0;
    const retry = await a.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    expect(portal.calls).toEqual([users.slice(1_000)]);
    expect(retry.get('f-5')?.status).toBe('HIT');
    expect(retry.get('f-1100')?.status).toBe('MISS');
  });

  it('an in-process copy past 70% of its lifetime is re-checked in the background: kept while current, dropped when the store moved on (a lost invalidation)', async () => {
    const prefix = uniquePrefix('core');
    const clock = new JumpClock();
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 10_000, now: clock.now, random: () => 0 });
    const raw = rawClient();
    const portal = new FakePortal();
    const first = await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect(first.status).toBe('MISS');
    const copy = await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    // 8 s of a 10 s copy: still served in process, and re-checked in the background (the store agrees),
    // which gives it a new lifetime from 8 s: to 18 s, re-checked again from 15 s.
    clock.advance(8_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toBe(copy);
    await sleep(500); // the re-check (one Redis read) finishes while the clock stands at 8 s
    // Past the original 10 s the re-checked copy lives on: same object, no load.
    clock.advance(4_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toBe(copy);
    expect(portal.count).toBe(1);
    // The store moves on without telling this instance (an invalidation whose pub/sub message was lost).
    await raw.incr(new CacheKeys(prefix).userGeneration('org-1', 'u1'));
    // At 16 s the copy is still alive (to 18 s) and due for a re-check, which finds the store moved on.
    clock.advance(4_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toBe(copy); // served once more while the re-check runs
    await eventually(() => cache.peekUserSet({ orgId: 'org-1' }, 'u1') === undefined, 2_000, 'the copy to be dropped');
    const next = await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect(next.status).toBe('MISS');
    expect(portal.count).toBe(2);
  });

  it("copies that come due in one turn are re-checked with one store read (MONITOR); a copy whose entry moved on is dropped, the others kept", async () => {
    const prefix = uniquePrefix('core');
    const clock = new JumpClock();
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 10_000, now: clock.now, random: () => 0 });
    const raw = rawClient();
    const keys = new CacheKeys(prefix);
    const portal = new FakePortal();
    const users = Array.from({ length: 40 }, (_, i) => `rc-${i}`);
    await cache.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    const copies = users.map((u) => cache.peekUserSet({ orgId: 'org-1' }, u));
    expect(copies.every((c) => c?.status === 'HIT')).toBe(true);
    // Another instance reloaded rc-7 meanwhile (a new load time under the same generations): its copy must go.
    const other = await cacheOn(prefix);
    await other.getUserSet({ orgId: 'org-1' }, 'rc-7', portal.single('rc-7'), { bypass: true });
    const monitor = await raw.monitor();
    clients.push(monitor);
    const reads: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (String(args[0]).toLowerCase() === 'mget' && args.some((a) => a.startsWith(prefix))) reads.push(args.slice(1));
    });
    await sleep(100); // MONITOR is on before the re-checks
    // 8 s of a 10 s copy: every copy is served in process and comes due in this same turn.
    clock.advance(8_000);
    for (let i = 0; i < users.length; i++) expect(cache.peekUserSet({ orgId: 'org-1' }, users[i])).toBe(copies[i]);
    await eventually(() => cache.peekUserSet({ orgId: 'org-1' }, 'rc-7') === undefined, 2_000, "rc-7's copy to be dropped");
    await sleep(100);
    // One MGET: the OU's generation, then each user's generation and entry.
    expect(reads).toEqual([[keys.orgGeneration('org-1'), ...users.map((u) => keys.userGeneration('org-1', u)), ...users.map((u) => keys.userSet('org-1', scopeId(undefined), u))]]);
    // Past the first lifetime (10 s) the re-checked copies live on; rc-7 is read from the store again (a HIT, no portal call).
    clock.advance(4_000);
    for (let i = 0; i < users.length; i++) if (i !== 7) expect(cache.peekUserSet({ orgId: 'org-1' }, users[i])).toBe(copies[i]);
    const calls = portal.count;
    expect((await cache.getUserSet({ orgId: 'org-1' }, 'rc-7', portal.single('rc-7'))).status).toBe('HIT');
    expect(portal.count).toBe(calls);
  });

  it('in-process copies past their lifetime leave the heap: dropped when read, and by the sweep when never read again', async () => {
    const clock = new JumpClock();
    const counts: number[] = [];
    const cache = await cacheOn(uniquePrefix('core'), SHARED_REDIS_URL, { localTtlMs: 10_000, now: clock.now, random: () => 0, observer: { onLocalCopies: (n) => counts.push(n) } });
    const portal = new FakePortal();
    const users = ['u1', 'u2', 'u3', 'u4'];
    await cache.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    expect(cache.localCopies).toBe(4);
    // Nothing has expired: the sweep drops nothing and reports the four.
    expect(cache.purgeExpiredLocal()).toBe(0);
    expect(counts).toEqual([4]);
    // 6 s later u4 is loaded again under a new generation: its copy is younger than the others'.
    clock.advance(6_000);
    await cache.invalidateUser('org-1', 'u4');
    await cache.getUserSet({ orgId: 'org-1' }, 'u4', portal.single('u4'));
    expect(portal.count).toBe(2);
    // Past the first copies' 10 s: reading u1 drops its copy at once (then reads Redis, which still holds it).
    clock.advance(5_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toBeUndefined();
    expect(cache.localCopies).toBe(3);
    // The sweep drops u2 and u3, never read again, and keeps u4's copy, which has 5 s to go.
    expect(cache.purgeExpiredLocal()).toBe(2);
    expect(cache.localCopies).toBe(1);
    expect(counts).toEqual([4, 1]);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u4')).toBeDefined();
    // The dropped copies were only copies: the entries are still in Redis, no load.
    const again = await cache.getUserSets({ orgId: 'org-1' }, ['u1', 'u2', 'u3'], portal.batch);
    expect([...again.values()].map((r) => r.status)).toEqual(['HIT', 'HIT', 'HIT']);
    expect(portal.count).toBe(2);
  });

  afterAll(async () => {
    // Leave the shared Redis as found: drop every key the suite's unique prefixes created.
    const raw = new Redis(SHARED_REDIS_URL);
    const stream = raw.scanStream({ match: `t-core-${process.pid}-*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await raw.unlink(...keys);
    raw.disconnect();
  });
});
