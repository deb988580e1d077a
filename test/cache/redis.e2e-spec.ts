import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import {
  AssetCacheOptions,
  AssetDetails,
  AssetSetCache,
  CachedUserSet,
  CacheKeys,
  CacheUnavailableError,
  GENERATION_LIFETIME_FACTOR,
  INVALIDATION_ECHO_WAIT_MS,
  LoadedSets,
  RECHECK_GRACE_MS,
  scopeId,
  SLICE_ITEMS,
} from '@app/asset-cache';
import { refreshPoint } from '@app/asset-cache/ttl';
import { SlowLink } from '../support/slow-link';
import { describeCoreSuite } from './support/core-suite';
import { eventually, FakePortal, JumpClock, recordingLogger, uniquePrefix } from './support/fake-portal';
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

/** Client ids in the output of CLIENT LIST. */
function pubsubClientIds(list: string): string[] {
  return [...list.matchAll(/^id=(\d+) /gm)].map((m) => m[1]);
}

/** A plain client on the shared Redis (to look at keys behind the caches' backs); disconnected after the test. */
function rawClient(): Redis {
  const c = new Redis(SHARED_REDIS_URL);
  clients.push(c);
  return c;
}

/** A connected cache on `redisUrl` under the test's key prefix, with the suites' usual options; closed after the test. */
async function cacheOn(prefix: string, redisUrl = SHARED_REDIS_URL, extra: Partial<AssetCacheOptions> = {}): Promise<AssetSetCache> {
  const c = new AssetSetCache({
    ttlS: 300,
    staleS: 3600,
    negativeTtlS: 30,
    ttlJitter: 0,
    redisTimeoutMs: 2_000,
    keyPrefix: prefix,
    logger: recordingLogger().logger,
    redisUrl,
    ...extra,
  } as AssetCacheOptions);
  made.push(c);
  await c.connect();
  return c;
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
      const [ra, rb] = await Promise.all([
        a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1')),
        b.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1')),
      ]);
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

  it('an invalidation resolves only once its pub/sub message came back: a PUBLISH that Redis takes late still reaches the other instance first', async () => {
    // B's PUBLISH reaches Redis 600 ms late (its reply times out after 250 ms); A keeps an in-process copy.
    const link = new SlowLink({ host: '127.0.0.1', port: TEST_REDIS_PORT }, 0, { pattern: /publish/i, ms: 600 });
    await link.start();
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 60_000 });
    const b = await cacheOn(prefix, `redis://127.0.0.1:${link.port}`, { redisTimeoutMs: 250 });
    try {
      const portal = new FakePortal();
      const before = await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
      expect((await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'))).status).toBe('HIT');
      portal.version++;
      await b.invalidateUser('org-1', 'u1');
      // No pause: the next read after the invalidation resolved must not find A's copy.
      const after = await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
      expect(after.status).toBe('MISS');
      expect(after.set?.assetIds).toEqual(portal.setOf('u1').assetIds);
      expect(after.set?.assetIds).not.toEqual(before.set?.assetIds);
      expect(portal.count).toBe(2);
    } finally {
      await closeMade();
      await link.stop();
    }
  });

  it('a read takes no copy before the I/O of its turn is handled: an invalidation handled later in that turn drops the copy first', async () => {
    // An invalidation message that reached the process before a read's request may be handled after it in the
    // same turn of the event loop; invalidateUser drops this instance's copy synchronously, as that handler does.
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 60_000 });
    const portal = new FakePortal();
    const before = await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect((await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'))).status).toBe('HIT');
    portal.version++;
    const read = a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    const invalidated = a.invalidateUser('org-1', 'u1');
    const after = await read;
    await invalidated;
    expect(after.status).toBe('MISS');
    expect(after.set?.assetIds).toEqual(portal.setOf('u1').assetIds);
    expect(after.set?.assetIds).not.toEqual(before.set?.assetIds);
    // A batch read waits the same way.
    const batchRead = a.getUserSets({ orgId: 'org-1' }, ['u1'], portal.batch);
    const again = a.invalidateUser('org-1', 'u1');
    const batch = await batchRead;
    await again;
    expect(batch.get('u1')?.status).toBe('MISS');
    expect(portal.count).toBe(3);
  });

  it('an instance whose subscription dropped answers from Redis, not from its copies, until it is subscribed again', async () => {
    const prefix = uniquePrefix('core');
    const raw = rawClient();
    const a = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 60_000 });
    // The pub/sub connections open now: a's (and none of b's, made after).
    const aSubscribers = pubsubClientIds(String(await raw.call('CLIENT', 'LIST', 'TYPE', 'pubsub')));
    const b = await cacheOn(prefix);
    const portal = new FakePortal();
    const before = await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    portal.version++;
    for (const id of aSubscribers) await raw.call('CLIENT', 'KILL', 'ID', id);
    // a sees its connection close at once and subscribes again only after its reconnect delay (100 ms).
    await sleep(30);
    await b.invalidateUser('org-1', 'u1');
    const after = await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect(after.status).toBe('MISS');
    expect(after.set?.assetIds).toEqual(portal.setOf('u1').assetIds);
    expect(after.set?.assetIds).not.toEqual(before.set?.assetIds);
    // Subscribed again, a answers from its copy again: a read that sends no MGET.
    const mgets = async (): Promise<number> => Number(/cmdstat_mget:calls=(\d+)/.exec(String(await raw.info('commandstats')))?.[1] ?? 0);
    await eventually(
      async () => {
        await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
        const n = await mgets();
        await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
        return (await mgets()) === n;
      },
      5_000,
      'a read answered from the copy',
    );
    expect(portal.count).toBe(2);
  });

  it('an invalidation whose pub/sub message does not come back in time throws CacheUnavailableError (never claims every instance heard it)', async () => {
    const link = new SlowLink({ host: '127.0.0.1', port: TEST_REDIS_PORT }, 0, { pattern: /publish/i, ms: INVALIDATION_ECHO_WAIT_MS + 1_000 });
    await link.start();
    const prefix = uniquePrefix('core');
    const b = await cacheOn(prefix, `redis://127.0.0.1:${link.port}`, { redisTimeoutMs: 250 });
    try {
      await expect(b.invalidateUser('org-1', 'u1')).rejects.toBeInstanceOf(CacheUnavailableError);
      await expect(b.invalidateOrg('org-1')).rejects.toBeInstanceOf(CacheUnavailableError);
    } finally {
      await closeMade();
      await link.stop();
    }
  });

  it('a large single load is stored under the held lock (never a moment with neither entry nor lock); another instance waits for it, then reads it', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const raw = rawClient();
    // 12,000 assets: a large load, stored in the background
    const ids = Array.from({ length: 12_000 }, (_, i) => `big-a${i}`);
    let loads = 0;
    const load = async (): Promise<LoadedSets> => {
      loads++;
      return {
        sets: new Map([['u-big', { assetIds: ids, total: ids.length, complete: true }]]),
        assets: new Map(ids.map((id) => [id, { names: { default: id } }])),
      };
    };
    const keys = new CacheKeys(prefix);
    const entryKey = keys.userSet('org-1', scopeId(undefined), 'u-big');
    const lockKey = keys.lock('org-1', scopeId(undefined), 'u-big');
    // Whenever the entry is not in Redis yet, the lock is still held (never a moment with neither).
    const watched: { entry: number; lock: number }[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [[, entry], [, lock]] = (await raw.multi().exists(entryKey).exists(lockKey).exec()) as [[null, number], [null, number]];
        watched.push({ entry, lock });
        if (entry === 1) return;
      }
    })();
    const first = await a.getUserSet({ orgId: 'org-1' }, 'u-big', load);
    expect(first.status).toBe('MISS');
    expect((await a.getUserSet({ orgId: 'org-1' }, 'u-big', load)).status).toBe('HIT');
    const rb = await b.getUserSet({ orgId: 'org-1' }, 'u-big', async () => {
      throw new Error('B must not load');
    });
    expect(rb.status).toBe('HIT');
    expect(rb.set?.assetIds).toEqual(ids);
    await eventually(async () => (await raw.exists(entryKey)) === 1, 5_000, 'the background store');
    watching = false;
    await watch;
    const locked = watched.findIndex((w) => w.lock === 1);
    expect(locked).toBeGreaterThanOrEqual(0);
    expect(watched.slice(locked).filter((w) => w.entry === 0 && w.lock === 0)).toEqual([]);
    expect(await raw.exists(lockKey)).toBe(0);
    expect(loads).toBe(1);
  });

  it('a large batch (2,500 users, written in SET_MANY chunks) is stored before the read resolves: every entry with its TTL, readable by another instance', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const raw = rawClient();
    const portal = new FakePortal();
    const users = Array.from({ length: 2_500 }, (_, i) => `big-${i}`);
    await a.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    const keys = new CacheKeys(prefix);
    const ttls = await Promise.all(users.map((u) => raw.pttl(keys.userSet('org-1', scopeId(undefined), u))));
    expect(ttls.every((t) => t > 3_800_000 && t <= 3_900_000)).toBe(true);
    const again = await b.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    expect([...again.values()].every((r) => r.status === 'HIT')).toBe(true);
    expect(again.get('big-2499')?.set?.assetIds).toEqual(portal.setOf('big-2499').assetIds);
    expect(portal.count).toBe(1);
  });

  it('a bypass reads only the generations (MONITOR), and if its load fails another instance still serves the stored entries as STALE', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const keys = new CacheKeys(prefix);
    const portal = new FakePortal();
    const users = ['u1', 'u2', 'u3'];
    await a.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    const monitor = await rawClient().monitor();
    clients.push(monitor);
    const mgets: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (String(args[0]).toLowerCase() === 'mget') mgets.push(args.slice(1));
    });
    // b has no copy and no fallback of its own: a STALE answer can only come from the store.
    portal.failWith = new Error('portal down');
    const stale = await b.getUserSets({ orgId: 'org-1' }, users, portal.batch, { bypass: true });
    expect([...stale.values()].map((r) => r.status)).toEqual(['STALE', 'STALE', 'STALE']);
    expect(stale.get('u3')?.set?.assetIds).toEqual(portal.setOf('u3').assetIds);
    const one = await b.getUserSet({ orgId: 'org-1' }, 'u2', portal.single('u2'), { bypass: true });
    expect(one.status).toBe('STALE');
    expect(one.set?.assetIds).toEqual(portal.setOf('u2').assetIds);
    const entryKeys = new Set(users.map((u) => keys.userSet('org-1', scopeId(undefined), u)));
    await eventually(() => mgets.length >= 4, 5_000, 'MONITOR to report the four reads');
    // The batch: generations only, then (its load failed) the entries; the same for the single read.
    expect(mgets.map((m) => m.filter((k) => entryKeys.has(k)).length)).toEqual([0, 3, 0, 1]);
    expect(mgets[0]).toEqual([keys.orgGeneration('org-1'), ...users.map((u) => keys.userGeneration('org-1', u))]);
  });

  it('a bypass whose load fails never answers STALE with data older than its notBefore (single and batch)', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const portal = new FakePortal();
    await a.getUserSets({ orgId: 'org-1' }, ['u1', 'u2'], portal.batch);
    const notBefore = Date.now() + 1;
    await new Promise((r) => setTimeout(r, 5));
    const boom = new Error('portal down');
    portal.failWith = boom;
    await expect(b.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'), { bypass: true, notBefore })).rejects.toBe(boom);
    await expect(b.getUserSets({ orgId: 'org-1' }, ['u1', 'u2'], portal.batch, { bypass: true, notBefore })).rejects.toBe(boom);
    // Without the notBefore the same stored entries are the STALE answer.
    expect((await b.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'), { bypass: true })).status).toBe('STALE');
  });

  it('an entry is as old as the start of its load: a slow load never passes for newer than a faster, later one (single and batch)', async () => {
    const prefix = uniquePrefix('core');
    const a = await cacheOn(prefix);
    const b = await cacheOn(prefix);
    const portal = new FakePortal();
    // b's load reads the portal at once (version 0), then takes long to finish.
    const old = portal.setOf('u1');
    let release = (): void => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const slow = async (): Promise<LoadedSets> => {
      await gate;
      return { sets: new Map([['u1', old]]), assets: new Map(old.assetIds.map((id) => [id, { names: { default: id } }])) };
    };
    const slowRead = b.getUserSet({ orgId: 'org-1' }, 'u1', slow, { bypass: true });
    await new Promise((r) => setTimeout(r, 5));
    // Meanwhile the grants change and a reads them: its token is the time its load started.
    portal.version = 1;
    const fresh = await a.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'), { bypass: true });
    await new Promise((r) => setTimeout(r, 5));
    release();
    const late = await slowRead;
    // b's load ended last and stored last, yet it counts as older than a's.
    expect(late.set).toEqual(old);
    expect(late.loadedAt).toBeLessThan(fresh.loadedAt);
    const notBefore = fresh.loadedAt;
    for (const cache of [a, b]) {
      expect((await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'), { notBefore })).set).toEqual(portal.setOf('u1'));
      const many = await cache.getUserSets({ orgId: 'org-1' }, ['u1'], portal.batch, { notBefore });
      expect(many.get('u1')?.set?.assetIds).toEqual(portal.setOf('u1').assetIds);
    }
  });

  it("a batch store writes each asset's details once and sends each id to the dictionary once, though many users share them (MONITOR)", async () => {
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
      // The details script's arguments: ttlMs, version, then id/value pairs.
      if (args[3] === detailsKey) for (let i = 6; i < args.length; i += 2) detailWrites.set(args[i], (detailWrites.get(args[i]) ?? 0) + 1);
      if (args[3] === dictKey) for (const id of args.slice(4)) if (id.startsWith('asset-')) idsSent.set(id, (idsSent.get(id) ?? 0) + 1);
    });
    const portal = new FakePortal();
    const users = Array.from({ length: 300 }, (_, i) => `w-${i}`);
    const result = await a.getUserSets({ orgId: 'org-1' }, users, portal.batch, { bypass: true });
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

  it('details merged unchanged are not sent again for half their lifetime; changed, lost and aged ones are (MONITOR)', async () => {
    const prefix = uniquePrefix('core');
    const clock = new JumpClock();
    const a = await cacheOn(prefix, SHARED_REDIS_URL, { now: clock.now });
    const detailsKey = new CacheKeys(prefix).assetDetails('org-1');
    const raw = rawClient();
    const monitor = await raw.monitor();
    clients.push(monitor);
    const sent = new Map<string, number>();
    let pings = 0;
    monitor.on('monitor', (_time: string, args: string[]) => {
      const cmd = String(args[0]).toLowerCase();
      if (cmd === 'echo' && args[1] === prefix) pings++;
      if ((cmd !== 'evalsha' && cmd !== 'eval') || args[2] !== '1' || args[3] !== detailsKey) return;
      for (let i = 6; i < args.length; i += 2) sent.set(args[i], (sent.get(args[i]) ?? 0) + 1);
    });
    // Everything sent before it has been reported once MONITOR reports this ECHO.
    const reported = async (): Promise<Map<string, number>> => {
      const want = pings + 1;
      await raw.echo(prefix);
      await eventually(() => pings >= want, 5_000, 'MONITOR to catch up');
      return new Map(sent);
    };
    const portal = new FakePortal();
    const users = Array.from({ length: 40 }, (_, i) => `d-${i}`);
    const assetIds = [...new Set(users.flatMap((u) => portal.setOf(u).assetIds))];
    const load = (): Promise<Map<string, CachedUserSet>> => a.getUserSets({ orgId: 'org-1' }, users, portal.batch, { bypass: true });
    const counts = (m: Map<string, number>): number[] => assetIds.map((id) => m.get(id) ?? 0);

    await load();
    expect(counts(await reported())).toEqual(assetIds.map(() => 1));
    // the same details again: nothing sent
    await load();
    expect(counts(await reported())).toEqual(assetIds.map(() => 1));
    // a field the store lost (evicted) is seen missing by a read, and sent again by the next load
    const [lost, renamed] = assetIds;
    await raw.hdel(detailsKey, lost);
    expect((await a.getAssetDetails('org-1', [lost])).get(lost)?.names.default).toBe(`typed ${lost}`);
    // a renamed asset is sent again
    const renaming = async (ids: string[]): Promise<LoadedSets> => {
      const r = await portal.batch(ids);
      r.assets.set(renamed, { names: { default: 'renamed' }, type: 'inverter', typeNames: { default: 'Inverter' } });
      return r;
    };
    await a.getUserSets({ orgId: 'org-1' }, users, renaming, { bypass: true });
    expect(counts(await reported())).toEqual(assetIds.map((id) => (id === lost || id === renamed ? 2 : 1)));
    expect((await a.getAssetDetails('org-1', [lost, renamed])).get(renamed)?.names.default).toBe('renamed');
    // half the hash's lifetime later, every value is sent again (each merge renews the hash's lifetime)
    clock.advance((GENERATION_LIFETIME_FACTOR * (300 + 3600) * 1000) / 2 + 1);
    await load();
    expect(counts(await reported())).toEqual(assetIds.map((id) => (id === lost || id === renamed ? 3 : 2)));
    expect(await raw.hget(detailsKey, renamed)).not.toContain('renamed');
  });

  it('a store yields every SLICE_ITEMS assets looked at, also when their details are unchanged and nothing is sent', async () => {
    const a = await cacheOn(uniquePrefix('core'));
    const ids = Array.from({ length: 5 * SLICE_ITEMS }, (_, i) => `big-${i}`);
    // Each details read by the store notes the event-loop turn it happened in (a setImmediate ticker counts turns).
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    let seen: number[] = [];
    const detailsOf = (id: string): AssetDetails =>
      Object.defineProperty({} as AssetDetails, 'names', {
        enumerable: true,
        get: () => {
          seen.push(turn);
          return { default: id };
        },
      });
    const load = async (): Promise<LoadedSets> => ({
      sets: new Map([['big', { assetIds: ids, total: ids.length, complete: true }]]),
      assets: new Map(ids.map((id) => [id, detailsOf(id)])),
    });
    for (const round of ['first (all sent)', 'again (all unchanged)']) {
      seen = [];
      tick();
      await a.getUserSets({ orgId: 'org-1' }, ['big'], load, { bypass: true });
      ticking = false;
      const perTurn = new Map<number, number>();
      for (const t of seen) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
      expect({ round, read: seen.length >= ids.length, most: Math.max(...perTurn.values()) <= SLICE_ITEMS }).toEqual({ round, read: true, most: true });
      await new Promise((r) => setImmediate(r));
      ticking = true;
    }
  });

  it('an in-process copy lives at most localTtlMs: a lost invalidation is served until then, never after', async () => {
    const prefix = uniquePrefix('core');
    const clock = new JumpClock();
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 10_000, now: clock.now, random: () => 0 });
    const raw = rawClient();
    const portal = new FakePortal();
    const first = await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect(first.status).toBe('MISS');
    // The store moves on without telling this instance (an invalidation whose pub/sub message was lost).
    await raw.set(new CacheKeys(prefix).userGeneration('org-1', 'u1'), 'moved-on');
    clock.advance(9_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toMatchObject({ status: 'HIT', loadedAt: first.loadedAt });
    clock.advance(1_001);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toBeUndefined();
    const next = await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect(next.status).toBe('MISS');
    expect(portal.count).toBe(2);
  });

  it("past its copy's lifetime a current entry is read from the store again: a HIT of the same load time, no load", async () => {
    const prefix = uniquePrefix('core');
    const clock = new JumpClock();
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 10_000, now: clock.now, random: () => 0 });
    const portal = new FakePortal();
    const users = Array.from({ length: 40 }, (_, i) => `rc-${i}`);
    const loaded = await cache.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    clock.advance(12_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'rc-7')).toBeUndefined();
    const again = await cache.getUserSets({ orgId: 'org-1' }, users, portal.batch);
    for (const u of users) expect(again.get(u)).toMatchObject({ status: 'HIT', loadedAt: loaded.get(u)?.loadedAt, ageS: 12 });
    // and kept in process again
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'rc-7')).toMatchObject({ status: 'HIT', loadedAt: loaded.get('rc-7')?.loadedAt });
    expect(portal.count).toBe(1);
  });

  it('a background refresh keeps its new entry as the in-process copy: the next hit is served without reading the store', async () => {
    const clock = new JumpClock();
    const cache = await cacheOn(uniquePrefix('core'), SHARED_REDIS_URL, { ttlS: 100, localTtlMs: 60_000, now: clock.now, random: () => 0 });
    const portal = new FakePortal();
    const first = await cache.getUserSet({ orgId: 'org-1' }, 'rf-1', portal.single('rf-1'));
    clock.advance(95_000);
    // past any refresh point (the last 10-30% of the TTL): the copy is gone, the stored entry answers and is refreshed
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'rf-1')).toBeUndefined();
    expect(await cache.getUserSet({ orgId: 'org-1' }, 'rf-1', portal.single('rf-1'))).toMatchObject({ status: 'HIT', loadedAt: first.loadedAt });
    await eventually(() => (cache.peekUserSet({ orgId: 'org-1' }, 'rf-1')?.loadedAt ?? 0) > first.loadedAt, 5_000, 'the refreshed copy');
    const copy = cache.peekUserSet({ orgId: 'org-1' }, 'rf-1');
    expect(copy).toMatchObject({ status: 'HIT', ageS: 0 });
    expect(copy?.loadedAt).toBeGreaterThanOrEqual(first.loadedAt + 95_000);
    expect(portal.count).toBe(2);
  });

  it('while a refresh-ahead runs, reads of the due user are served from the in-process copy, not from the store', async () => {
    const clock = new JumpClock();
    const prefix = uniquePrefix('core');
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { ttlS: 100, localTtlMs: 60_000, now: clock.now, random: () => 0 });
    const portal = new FakePortal();
    const first = await cache.getUserSet({ orgId: 'org-1' }, 'rw-1', portal.single('rw-1'));
    clock.advance(95_000);
    portal.delayMs = 300;
    // past its refresh point: this read finds the entry in the store and starts the refresh, which takes 300 ms
    expect(await cache.getUserSet({ orgId: 'org-1' }, 'rw-1', portal.single('rw-1'))).toMatchObject({ status: 'HIT', loadedAt: first.loadedAt });
    // The entry leaves the store behind the cache's back: a read that went there now would load the user again.
    await rawClient().del(new CacheKeys(prefix).userSet('org-1', scopeId(undefined), 'rw-1'));
    for (let i = 0; i < 3; i++) {
      expect(await cache.getUserSet({ orgId: 'org-1' }, 'rw-1', portal.single('rw-1'))).toMatchObject({ status: 'HIT', loadedAt: first.loadedAt });
    }
    expect(portal.count).toBe(2);
    // the refresh lands and replaces the copy
    await eventually(() => (cache.peekUserSet({ orgId: 'org-1' }, 'rw-1')?.loadedAt ?? 0) > first.loadedAt, 5_000, 'the refreshed copy');
    expect(await cache.getUserSet({ orgId: 'org-1' }, 'rw-1', portal.single('rw-1'))).toMatchObject({ status: 'HIT', ageS: 0 });
    expect(portal.count).toBe(2);
  });

  it('in-process copies past their lifetime and re-check grace leave the heap: the sweep drops those never read again', async () => {
    const clock = new JumpClock();
    const counts: number[] = [];
    const cache = await cacheOn(uniquePrefix('core'), SHARED_REDIS_URL, {
      localTtlMs: 10_000,
      now: clock.now,
      random: () => 0,
      observer: { onLocalCopies: (n) => counts.push(n) },
    });
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
    // Past the first copies' 10 s: u1's copy is no longer served as it is, but stays for its re-check.
    clock.advance(5_000);
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u1')).toBeUndefined();
    expect(cache.purgeExpiredLocal()).toBe(0);
    // Past their grace too: the sweep drops u1, u2 and u3, never read again, and keeps u4's copy (in its grace).
    clock.advance(RECHECK_GRACE_MS);
    expect(cache.purgeExpiredLocal()).toBe(3);
    expect(cache.localCopies).toBe(1);
    expect(counts).toEqual([4, 4, 1]);
    // The dropped copies were only copies: the entries are still in Redis, no load.
    const again = await cache.getUserSets({ orgId: 'org-1' }, ['u1', 'u2', 'u3'], portal.batch);
    expect([...again.values()].map((r) => r.status)).toEqual(['HIT', 'HIT', 'HIT']);
    expect(portal.count).toBe(2);
  });

  it("a batch joining another batch's load that fails while its own load runs settles it: no unhandled rejection", async () => {
    const cache = await cacheOn(uniquePrefix('core'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): number => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let failA: ((err: Error) => void) | undefined;
      const a = cache.getUserSets({ orgId: 'org-1' }, ['u1', 'u2'], () => new Promise<LoadedSets>((_, reject) => (failA = reject)));
      await eventually(() => failA !== undefined, 10_000, "A's load");
      let finishB: ((r: LoadedSets) => void) | undefined;
      const asked: string[][] = [];
      const b = cache.getUserSets({ orgId: 'org-1' }, ['u1', 'u3'], (missing) => {
        asked.push(missing);
        return new Promise<LoadedSets>((resolve) => (finishB = resolve));
      });
      await eventually(() => finishB !== undefined, 10_000, "B's load");
      // B joined A's load of u1 and loads only u3; A's load fails while B's is still running.
      expect(asked).toEqual([['u3']]);
      (failA as (err: Error) => void)(new Error('portal down'));
      await expect(a).rejects.toThrow('portal down');
      await new Promise((r) => setImmediate(r));
      (finishB as (r: LoadedSets) => void)({ sets: new Map([['u3', { assetIds: ['a1'], total: 1, complete: true }]]), assets: new Map() });
      // u1 has nothing to answer STALE from: B fails with A's error, and nothing was left unhandled.
      await expect(b).rejects.toThrow('portal down');
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a copy past its lifetime is re-checked by its generations alone: kept when they hold, reloaded when another instance invalidated', async () => {
    const clock = new JumpClock();
    const prefix = uniquePrefix('core');
    const keys = new CacheKeys(prefix);
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { localTtlMs: 10_000, now: clock.now, random: () => 0 });
    const portal = new FakePortal();
    await cache.getUserSets({ orgId: 'org-1' }, ['u1', 'u2'], portal.batch);
    expect(portal.count).toBe(1);
    clock.advance(11_000);
    // u1 invalidated elsewhere, its pub/sub message lost: only its generation in Redis says so.
    const raw = rawClient();
    await raw.set(keys.userGeneration('org-1', 'u1'), 'invalidated-elsewhere');
    const monitor = await rawClient().monitor();
    // A connection of its own: disconnected after the test, also when it fails.
    clients.push(monitor);
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(prefix))) commands.push(args);
    });
    const u2 = await cache.getUserSet({ orgId: 'org-1' }, 'u2', portal.single('u2'));
    expect(u2.status).toBe('HIT');
    await eventually(() => commands.length >= 1, 10_000, 'the re-check at Redis');
    // One MGET of the OU's and the user's generations: the entry itself is not read.
    expect(commands).toEqual([['mget', keys.orgGeneration('org-1'), keys.userGeneration('org-1', 'u2')]]);
    // Re-checked, the copy lives again: served with no store read.
    expect(cache.peekUserSet({ orgId: 'org-1' }, 'u2')?.status).toBe('HIT');
    const u1 = await cache.getUserSet({ orgId: 'org-1' }, 'u1', portal.single('u1'));
    expect(u1.status).toBe('MISS');
    expect(portal.count).toBe(2);
  });

  it('a copy past its refresh point is read in full at once: no re-check of its generations first', async () => {
    const clock = new JumpClock();
    const prefix = uniquePrefix('core');
    const keys = new CacheKeys(prefix);
    // The copy's lifetime (120 s) is longer than the time to the entry's refresh point: the copy ends there.
    const cache = await cacheOn(prefix, SHARED_REDIS_URL, { ttlS: 100, localTtlMs: 120_000, now: clock.now, random: () => 0 });
    const portal = new FakePortal();
    const first = await cache.getUserSet({ orgId: 'org-1' }, 'rp-1', portal.single('rp-1'));
    const userKey = keys.userSet('org-1', scopeId(undefined), 'rp-1');
    // With random() 0 the fresh lifetime is the whole TTL.
    clock.advance(refreshPoint(userKey, { loadedAt: first.loadedAt, freshUntil: first.loadedAt + 100_000 }) - first.loadedAt + 1);
    const monitor = await rawClient().monitor();
    // A connection of its own: disconnected after the test, also when it fails.
    clients.push(monitor);
    const commands: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(prefix))) commands.push(args);
    });
    expect(await cache.getUserSet({ orgId: 'org-1' }, 'rp-1', portal.single('rp-1'))).toMatchObject({ status: 'HIT', loadedAt: first.loadedAt });
    await eventually(() => portal.count === 2 && commands.length >= 2, 10_000, 'the refresh at Redis');
    // The first command is the read of the generations with the entry; no generations-only MGET anywhere.
    expect(commands[0]).toEqual(['mget', keys.orgGeneration('org-1'), keys.userGeneration('org-1', 'rp-1'), userKey]);
    expect(commands.filter((c) => c[0] === 'mget' && !c.includes(userKey))).toEqual([]);
  });

  afterAll(async () => {
    // Leave the shared Redis as found: drop every key the suite's unique prefixes created.
    const raw = new Redis(SHARED_REDIS_URL);
    const stream = raw.scanStream({ match: `t-core-${process.pid}-*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length) await raw.unlink(...keys);
    raw.disconnect();
  });
});
