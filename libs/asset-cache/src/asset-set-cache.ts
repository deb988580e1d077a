import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Attributes, trace } from '@opentelemetry/api';
import {
  DEFAULT_KEY_PREFIX,
  DEFAULT_LOCAL_MAX_ENTRIES,
  DEFAULT_LOCAL_TTL_MS,
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_MEMORY_MAX_ENTRIES,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_TTL_JITTER,
  GENERATION_LIFETIME_FACTOR,
  CONNECT_TIMEOUT_MS,
  RECONNECT_MAX_MS,
} from './asset-cache.constants';
import { CacheUnavailableError } from './asset-cache.errors';
import {
  ASSET_CACHE_OPTIONS,
  AssetCacheLogger,
  AssetCacheObserver,
  AssetCacheOptions,
  AssetDetails,
  CachedUserSet,
  CacheDriverKind,
  CacheHealth,
  CacheStatus,
  LoadedSets,
  OrgMark,
  ReadOptions,
  UserAssetSet,
  UserSetScope,
} from './asset-cache.types';
import { CacheDriver, DriverReporter } from './drivers/cache-driver';
import { MemoryDriver } from './drivers/memory.driver';
import { RedisDriver } from './drivers/redis.driver';
import { Generations, StoredEntry } from './entry-codec';
import { EntryKey, EntryRead, EntryStore, StoredDetails, survivesGeneration } from './entry-store';
import { describe, FailureLog } from './failure-log';
import { Flights } from './flights';
import { Invalidation, InvalidationBus } from './invalidation-bus';
import { CacheKeys, scopeId } from './keys';
import { LoadLock } from './load-lock';
import { KeepOptions, LocalCopies, LocalCopy } from './local-copies';
import { coldIdle, forEachSliced } from './sliced';
import { jitteredTtlMs, refreshPoint } from './ttl';

/** How often expired in-process copies are dropped (one read after its end drops a copy at once). */
export const LOCAL_SWEEP_MS = 10_000;
/**
 * A single set of this many asset ids or more is stored after the caller is answered (its Redis writes take a while);
 * the lock stays held until it is stored, so other instances wait for it instead of loading it again.
 */
const BACKGROUND_STORE_MIN_ASSETS = 10_000;
/** Longest a background store waits for the other cold work to finish its turns (see coldIdle). */
const BACKGROUND_STORE_MAX_DELAY_MS = 1_000;
/** Generations of an entry loaded while the store was unreachable: it is never stored, so they never count. */
const UNSTORED: Generations = { og: '-', ug: '-' };
const MS_PER_S = 1000;
/** Pause between fallback checks while Redis does not answer yet (its client reconnects at most this far apart). */
const FALLBACK_CHECK_RETRY_MS = RECONNECT_MAX_MS;

/**
 * A step of a read that is not a local hit, as an event of the request's span (with tracing off there is no active
 * span and this does nothing; the hot path, a local hit, never calls it).
 */
const mark = (name: string, attributes?: Attributes): void => void trace.getActiveSpan()?.addEvent(name, attributes);

/** One user set of one scope. */
interface UserKey extends EntryKey {
  scopeId: string;
}

/** True for an entry loaded before a notBefore: never the answer, not even as STALE. */
const olderThan = (entry: StoredEntry | undefined, notBefore: number): boolean => entry !== undefined && entry.loadedAt < notBefore;

/** What a read found, without its entry when that is older than notBefore (the generations stay, to store under). */
const notOlderThan = (found: EntryRead | undefined, notBefore: number): EntryRead | undefined =>
  found && olderThan(found.entry, notBefore) ? { gens: found.gens, entry: undefined } : found;

/**
 * What a read may be answered from, from its ReadOptions: a bypass takes no stored entry and waits on no peer's lock;
 * a notBefore (-Infinity when none is asked) takes no older entry and joins no load in flight.
 */
interface ReadBounds {
  bypass: boolean;
  notBefore: number;
}

const boundsOf = (opts: ReadOptions): ReadBounds => ({ bypass: opts.bypass === true, notBefore: opts.notBefore ?? Number.NEGATIVE_INFINITY });

/** A single read's loaders: its own, and the one a background refresh-ahead takes. */
interface Loads {
  load: () => Promise<LoadedSets>;
  refresh: () => Promise<LoadedSets>;
}

/** A cold user of a batch read and what the read found for it (undefined when the store failed). */
interface ColdUser {
  k: UserKey;
  found?: EntryRead;
}

/** A load's entry, and whether another instance loaded it (then it is served as a HIT). */
interface LoadResult {
  entry: StoredEntry;
  fromPeer: boolean;
}

/** The lock a load holds, released once its entry is stored. */
interface Lease {
  key: string;
  token: string;
}

/**
 * Read-through cache of users' asset sets per OU and type filter, with the OU's asset details stored once per OU.
 *
 * A read tries the in-process copy (LocalCopies), then the store (EntryStore: Redis, Redis Cluster or in-process),
 * then loads. Concurrent loads of one key share one promise in a process (Flights) and one upstream call across
 * instances (LoadLock). Invalidations bump a generation in the store and reach other instances' copies over pub/sub
 * (InvalidationBus). A store failure is a miss, never an error; a failing loader is answered from a STALE entry, or,
 * when the store has none (Redis gone or emptied), from the last entry this instance served (see `fallbackResult`).
 */
@Injectable()
export class AssetSetCache implements OnModuleInit, OnModuleDestroy {
  /** Which store backs the cache. */
  readonly driver: CacheDriverKind;
  private readonly store: CacheDriver;
  private readonly keys: CacheKeys;
  private readonly entries: EntryStore;
  private readonly local: LocalCopies;
  private readonly lock: LoadLock;
  private readonly bus: InvalidationBus;
  /** Whole reads in flight (so 500 concurrent readers of a key make one store read) and loads in flight. */
  private readonly reads = new Flights<CachedUserSet>();
  private readonly loads = new Flights<StoredEntry>();
  private readonly refreshing = new Set<string>();
  /** The end of the current event-loop turn, while reads wait for it (see turnDone). */
  private turnEnd?: Promise<void>;
  private readonly observer: AssetCacheObserver;
  private readonly logger: AssetCacheLogger;
  private readonly now: () => number;
  private readonly random: () => number;
  /** See AssetCacheOptions.isAnswer. */
  private readonly isAnswer: (err: unknown) => boolean;
  private readonly ttlS: number;
  private readonly ttlJitter: number;
  private readonly staleMs: number;
  private readonly negativeTtlMs: number;
  private readonly sweepTimer?: ReturnType<typeof setInterval>;
  /** Counts (re)subscriptions: a fallback check gives way to the next one. */
  private resyncs = 0;
  /**
   * The run of the store (CacheDriver.runId) as the check after the last subscription read it; undefined before, and
   * from a lost subscription until the check after the next one.
   */
  private storeRun: string | null | undefined;
  private closed = false;

  constructor(@Inject(ASSET_CACHE_OPTIONS) options: AssetCacheOptions) {
    this.observer = options.observer ?? {};
    this.logger = options.logger ?? new Logger(AssetSetCache.name);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.isAnswer = options.isAnswer ?? (() => false);
    this.ttlS = options.ttlS;
    this.ttlJitter = options.ttlJitter ?? DEFAULT_TTL_JITTER;
    this.staleMs = options.staleS * MS_PER_S;
    this.negativeTtlMs = options.negativeTtlS * MS_PER_S;
    this.keys = new CacheKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
    this.store = makeDriver(options, new FailureLog(this.logger, this.observer), this.now);
    this.driver = this.store.kind;
    const longLifeMs = GENERATION_LIFETIME_FACTOR * (options.ttlS + options.staleS) * MS_PER_S;
    this.entries = new EntryStore(this.store, this.keys, { longLifeMs, staleMs: this.staleMs, rememberDetails: this.store.shared, now: this.now });
    this.lock = new LoadLock(this.store, options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS, () => this.observer.onLockWait?.());
    const settleMs = RECONNECT_MAX_MS + Math.max(CONNECT_TIMEOUT_MS, options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS);
    this.bus = new InvalidationBus(this.store, this.keys.invalidationChannel(), this.logger, settleMs);
    // Without Redis nothing else changes the store, so a copy may live until its entry's refresh point.
    const ttlMs = options.localTtlMs ?? (this.store.shared ? DEFAULT_LOCAL_TTL_MS : Number.POSITIVE_INFINITY);
    this.local = new LocalCopies({
      ttlMs,
      maxEntries: options.localMaxEntries ?? DEFAULT_LOCAL_MAX_ENTRIES,
      // Without Redis the store is this process: it cannot be lost while the process lives, so no fallbacks.
      fallbacks: this.store.shared,
      staleMs: this.staleMs,
      now: this.now,
      random: this.random,
      run: () => this.storeRun,
      subscription: () => this.resyncs,
    });
    if (ttlMs > 0) {
      this.sweepTimer = setInterval(() => this.purgeExpiredLocal(), LOCAL_SWEEP_MS);
      this.sweepTimer.unref();
    }
  }

  /** Connects to the store and subscribes to invalidations (Nest lifecycle). */
  async onModuleInit(): Promise<void> {
    await this.connect();
  }

  /** Disconnects (Nest lifecycle). */
  async onModuleDestroy(): Promise<void> {
    await this.close();
  }

  /** Connects to the store and subscribes to invalidations; a Redis that is down is not an error (it is retried). */
  async connect(): Promise<void> {
    await this.store.connect();
    await this.bus.subscribe(
      (inv) => this.forget(inv),
      () => {
        // Invalidations may have been missed: no copy, and no read or load in flight from before, answers again.
        this.local.clear();
        this.reads.clear();
        this.loads.clear();
        this.entries.forgetMirrors();
        void this.checkFallbacks(++this.resyncs);
      },
      // Redis may restart before this instance is subscribed again: its run is unknown until the check reads it.
      () => (this.storeRun = undefined),
    );
  }

  /** Disconnects from the store. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.lock.close();
    this.closed = true;
    await this.store.close();
    this.local.clearAll();
  }

  /** Reachability of Redis: 'up', 'down', or 'none' for the in-process driver. */
  health(): CacheHealth {
    return this.store.health();
  }

  /** In-process copies held right now (expired ones included until the next sweep or read). */
  get localCopies(): number {
    return this.local.size;
  }

  /** Fallbacks held right now: users' last entries kept for when Redis and the portal fail together. */
  get localFallbacks(): number {
    return this.local.fallbackCount;
  }

  /** Drops the expired in-process copies and returns how many (runs every LOCAL_SWEEP_MS); tells the observer how many are left. */
  purgeExpiredLocal(): number {
    const dropped = this.local.sweep();
    this.observer.onLocalCopies?.(this.local.size);
    return dropped;
  }

  /** The in-process copy of a user set, synchronously, when one lives and `usable` accepts it (then it counts as a HIT); for inspection, it does not wait as reads do (turnDone). */
  peekUserSet(scope: UserSetScope, userId: string, usable: (r: CachedUserSet) => boolean = () => true): CachedUserSet | undefined {
    const k = this.userKey(scope.orgId, scopeId(scope.types), userId);
    const copy = this.local.get(k.key);
    const r = copy && resultOf(k, copy, 'HIT', this.now());
    if (!r || !usable(r)) return undefined;
    return this.reported(r);
  }

  /**
   * Resolves once this turn of the event loop has handled all the I/O it received: a read takes no copy and joins
   * no read in flight before then. An invalidation message that reached this process before a read's request may
   * still be handled after it within one turn (the kernel does not hand over ready sockets in arrival order), and
   * setImmediate callbacks run after all of a turn's I/O. Every read of one turn shares one wait.
   */
  private turnDone(): Promise<void> {
    this.turnEnd ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.turnEnd = undefined;
        resolve();
      }),
    );
    return this.turnEnd;
  }

  /**
   * Whether in-process copies and reads in flight may answer: while subscribed (no invalidation passes this instance
   * unseen), or while Redis does not answer at all (then no invalidation can be answered 204, see invariant 7).
   * Between a lost subscription and the next, with Redis answering, reads go to Redis.
   */
  private copiesUsable(): boolean {
    return this.bus.listening || this.store.health() === 'down';
  }

  /** One user's set, read through the cache; `load` runs at most once per cold key across instances. */
  async getUserSet(scope: UserSetScope, userId: string, load: () => Promise<LoadedSets>, opts: ReadOptions = {}): Promise<CachedUserSet> {
    const k = this.userKey(scope.orgId, scopeId(scope.types), userId);
    const { bypass, notBefore } = boundsOf(opts);
    // Copies and reads in flight are looked at only once this turn's I/O is handled (see turnDone).
    if (!bypass && this.store.shared) await this.turnDone();
    const copies = !bypass && this.copiesUsable();
    if (copies) {
      const copy = this.local.get(k.key);
      if (copy && copy.loadedAt >= notBefore) return this.reported(resultOf(k, copy, 'HIT', this.now()));
      // A read in flight may bring older data than a notBefore asks for: such a read goes its own way.
      const joined = opts.notBefore === undefined ? this.reads.get(k.key) : undefined;
      if (joined) {
        mark('cache.joined');
        this.observer.onCoalesced?.();
        return this.reported({ ...(await joined) });
      }
    }
    const expired = copies ? this.local.expired(k.key) : undefined;
    const loads: Loads = { load, refresh: opts.refreshLoad ?? load };
    const reading =
      expired && expired.entry.loadedAt >= notBefore ? this.recheck(k, expired.entry, loads, notBefore) : this.resolveOne(k, loads, { bypass, notBefore });
    if (!bypass && opts.notBefore === undefined) this.reads.add(k, reading);
    return this.reported(await reading);
  }

  /** Many users' sets: one store read, then one `loadMissing` call with only the users neither cached nor in flight. */
  async getUserSets(
    scope: UserSetScope,
    userIds: readonly string[],
    loadMissing: (missing: string[]) => Promise<LoadedSets>,
    opts: ReadOptions = {},
  ): Promise<Map<string, CachedUserSet>> {
    const sid = scopeId(scope.types);
    const users = [...new Set(userIds)].map((u) => this.userKey(scope.orgId, sid, u));
    const bounds = boundsOf(opts);
    if (!bounds.bypass && this.store.shared) await this.turnDone();
    const hits = new Map<string, CachedUserSet>();
    const now = this.now();
    const copies = !bounds.bypass && this.copiesUsable();
    const pending = users.filter((k) => {
      const local = copies ? this.local.get(k.key) : undefined;
      const copy = local && local.loadedAt >= bounds.notBefore ? local : undefined;
      if (copy) hits.set(k.userId, resultOf(k, copy, 'HIT', now));
      return !copy;
    });
    const resolved = pending.length > 0 ? await this.resolveMany(scope.orgId, pending, loadMissing, bounds) : undefined;
    const ordered = new Map(users.map((k) => [k.userId, (hits.get(k.userId) ?? resolved?.get(k.userId)) as CachedUserSet]));
    const counts: Record<CacheStatus, number> = { HIT: 0, MISS: 0, STALE: 0 };
    for (const r of ordered.values()) counts[r.status]++;
    for (const status of ['HIT', 'MISS', 'STALE'] as const) if (counts[status] > 0) this.observer.onResult?.(status, counts[status]);
    return ordered;
  }

  /** Details of the OU's assets among `ids` (one HMGET); unknown ids are absent from the map. */
  getAssetDetails(orgId: string, ids: readonly string[]): Promise<Map<string, AssetDetails>> {
    return this.entries.details(orgId, ids);
  }

  /** getAssetDetails with a digest of what the store holds for them, to tell that nothing changed without decoding it. */
  getStoredAssetDetails(orgId: string, ids: readonly string[]): Promise<StoredDetails> {
    return this.entries.storedDetails(orgId, ids);
  }

  /**
   * Makes the next read of every scope of the user a miss, on every instance; throws CacheUnavailableError if Redis
   * did not take it or its pub/sub message did not come back (other instances' copies may not have heard of it).
   */
  async invalidateUser(orgId: string, userId: string): Promise<void> {
    this.forget({ orgId, userId });
    await this.announce({ orgId, userId }, await this.entries.invalidateUser(orgId, userId));
  }

  /** Makes the next read of every user of the OU a miss, on every instance, in O(1); throws as invalidateUser does. */
  async invalidateOrg(orgId: string): Promise<void> {
    this.forget({ orgId });
    await this.announce({ orgId }, await this.entries.invalidateOrg(orgId));
  }

  /** Publishes an invalidation (also one the store did not record: instances that hear it drop their copies); throws unless recorded and heard. */
  private async announce(inv: Invalidation, recorded: boolean): Promise<void> {
    const heard = await this.bus.publish(inv, { awaitEcho: recorded });
    if (!recorded || !heard) throw new CacheUnavailableError();
  }

  /** Remembers for negativeTtlS that the portal does not know the OU; `mark` is orgMark's, read before the portal said so. */
  markOrgMissing(orgId: string, mark: OrgMark): Promise<void> {
    return this.entries.markOrgMissing(orgId, mark, this.negativeTtlMs);
  }

  /** Whether a "OU not found" is cached (and not invalidated since), and what markOrgMissing needs. */
  orgMark(orgId: string): Promise<OrgMark> {
    return this.entries.orgMark(orgId, this.negativeTtlMs);
  }

  // ---- one user ----------------------------------------------------------------------------------------------

  private async resolveOne(k: UserKey, { load, refresh }: Loads, bounds: ReadBounds): Promise<CachedUserSet> {
    const { bypass, notBefore } = bounds;
    const epoch = this.local.epoch;
    const found = (await this.entries.read(k.orgId, [k], { entries: !bypass }))?.[0];
    const cached = found?.entry;
    const now = this.now();
    const tooOld = olderThan(cached, notBefore);
    mark('cache.read', {
      'abff.cache.found': cached !== undefined,
      'abff.cache.fresh': cached !== undefined && now < cached.freshUntil,
      'abff.cache.bypass': bypass,
    });
    if (!bypass && !tooOld && found && cached && now < cached.freshUntil) {
      const due = now >= refreshPoint(k.key, cached);
      if (due) this.refreshAhead(k, refresh, found.gens);
      return this.result(k, cached, 'HIT', epoch, { refreshing: due });
    }
    try {
      // A stored entry older than notBefore is loaded again under the lock: a peer holding it may be storing a newer
      // one (a big set is stored after its answer), and only an entry not older than notBefore is taken from it.
      const { entry, fromPeer } = await this.loadOne(k, load, found?.gens, bounds);
      return this.result(k, entry, fromPeer ? 'HIT' : 'MISS', epoch);
    } catch (err) {
      // A bypass read only the generations: the entry it may fall back on is read now.
      if (this.isAnswer(err)) throw err;
      const prev = bypass && found ? (await this.entries.read(k.orgId, [k]))?.[0] : found;
      const stale = this.staleOf(k, prev, notBefore);
      if (stale) {
        mark('cache.stale', { 'abff.cache.age_s': stale.ageS });
        return stale;
      }
      throw err;
    }
  }

  /**
   * A copy whose lifetime is over, kept as a HIT when the store's generations of the OU and user are still those it
   * was loaded under (no invalidation since, none evicted) and it is before its refresh point: two small keys read
   * instead of the entry and its ids. Otherwise, or when the store does not answer, the full read.
   */
  private async recheck(k: UserKey, entry: StoredEntry, loads: Loads, notBefore: number): Promise<CachedUserSet> {
    // A copy past its refresh point cannot live again (a refresh wave's copies end there): no round trip for nothing.
    const bounds = { bypass: false, notBefore };
    if (this.now() >= refreshPoint(k.key, entry)) return this.resolveOne(k, loads, bounds);
    const epoch = this.local.epoch;
    const stored = await this.entries.storedGenerations(k.orgId, [k.userId]);
    const same = stored !== undefined && stored.og === entry.gens.og && stored.ugs[0] === entry.gens.ug;
    if (same && this.now() < refreshPoint(k.key, entry)) return this.result(k, entry, 'HIT', epoch);
    return this.resolveOne(k, loads, bounds);
  }

  /** A load of the key, shared with any load of it already in flight here (single or batch) that the read may share. */
  private async loadOne(k: UserKey, load: () => Promise<LoadedSets>, gens: Generations | undefined, bounds: ReadBounds): Promise<LoadResult> {
    const flight = this.sharedLoad(k, bounds.notBefore);
    if (flight) {
      mark('cache.joined_load');
      this.observer.onCoalesced?.();
      return { entry: await flight, fromPeer: false };
    }
    const loading = this.lockedLoad(k, load, gens, bounds);
    this.loads.add(
      k,
      loading.then((r) => r.entry),
    );
    return loading;
  }

  /**
   * The key's load in flight here, if a read may share it: not with a notBefore (that load may have read the portal
   * before it), nor while an invalidation could pass unseen (copiesUsable: the load may predate it).
   */
  private sharedLoad(k: UserKey, notBefore: number): Promise<StoredEntry> | undefined {
    return notBefore === Number.NEGATIVE_INFINITY && this.copiesUsable() ? this.loads.get(k.key) : undefined;
  }

  /** Loads under the cross-instance lock, or takes the result its holder stored meanwhile. */
  private async lockedLoad(k: UserKey, load: () => Promise<LoadedSets>, gens: Generations | undefined, { bypass, notBefore }: ReadBounds): Promise<LoadResult> {
    // Without generations (store down) or a shared store there is nothing to wait on.
    if (!gens || !this.store.shared) return { entry: await this.loadAndStore(k, load, gens), fromPeer: false };
    const lockKey = this.keys.lock(k.orgId, k.scopeId, k.userId);
    if (bypass) {
      // A bypass never waits, but holds the lock when it is free: reads elsewhere then wait for what it stores.
      const token = await this.lock.take(lockKey);
      return { entry: await this.loadAndStore(k, load, gens, token ? { key: lockKey, token } : undefined), fromPeer: false };
    }
    const got = await this.lock.waitOrTake(lockKey, () => this.freshEntry(k, notBefore));
    if ('found' in got) {
      mark('cache.loaded_by_peer');
      return { entry: got.found, fromPeer: true };
    }
    const lease = got.token === undefined ? undefined : { key: lockKey, token: got.token };
    return { entry: await this.loadAndStore(k, load, gens, lease), fromPeer: false };
  }

  /** Loads and stores one entry (not stored without generations), then releases the lease. */
  private async loadAndStore(k: UserKey, load: () => Promise<LoadedSets>, gens: Generations | undefined, lease?: Lease): Promise<StoredEntry> {
    const release = async (): Promise<void> => {
      if (lease) await this.lock.release(lease.key, lease.token);
    };
    // An entry is as old as the start of its load: the portal may have been read at once, long before the load ended.
    const loadedAt = this.now();
    let loaded: LoadedSets;
    try {
      loaded = await load();
    } catch (err) {
      await release();
      throw err;
    }
    const entry = this.newEntry(loaded.sets.get(k.userId) ?? null, gens, loadedAt);
    const store = (): Promise<void> =>
      (gens ? this.entries.write(k.orgId, [[k, entry]], loaded.assets) : this.entries.rememberOnly(k.orgId, loaded.assets)).finally(release);
    if ((entry.set?.assetIds.length ?? 0) < BACKGROUND_STORE_MIN_ASSETS) {
      await store();
      return entry;
    }
    // Started once the cold work waiting for turns is done (the caller's answer is built in such turns): encoding the
    // writes takes a while, and the answer goes first.
    void coldIdle(BACKGROUND_STORE_MAX_DELAY_MS)
      .then(store)
      .catch((err: unknown) => this.logger.warn(`storing a large set failed, it will be loaded again: ${describe(err)}`));
    return entry;
  }

  /** The key's entry when the store holds a fresh one, not older than notBefore. */
  private async freshEntry(k: UserKey, notBefore: number): Promise<StoredEntry | undefined> {
    const entry = (await this.entries.read(k.orgId, [k]))?.[0]?.entry;
    return entry && this.now() < entry.freshUntil && !olderThan(entry, notBefore) ? entry : undefined;
  }

  /**
   * One background reload of a hot key near expiry, under the lock; skipped when a load of it runs anywhere. The new
   * entry becomes this instance's copy at once, instead of being read back from the store by the next hit.
   */
  private refreshAhead(k: UserKey, load: () => Promise<LoadedSets>, gens: Generations): void {
    if (this.refreshing.has(k.key) || this.loads.has(k.key)) return;
    this.refreshing.add(k.key);
    const epoch = this.local.epoch;
    this.refresh(k, load, gens)
      .then((entry) => entry && this.local.keep(k.key, k.orgId, k.userId, entry, epoch))
      .catch((err: unknown) => this.logger.warn(`background refresh failed, the entry stays until it expires: ${describe(err)}`))
      .finally(() => this.refreshing.delete(k.key));
  }

  /** The refreshed entry; undefined when another instance holds the key's lock (it refreshes it). */
  private async refresh(k: UserKey, load: () => Promise<LoadedSets>, gens: Generations): Promise<StoredEntry | undefined> {
    if (!this.store.shared) return this.loadAndStore(k, load, gens);
    const key = this.keys.lock(k.orgId, k.scopeId, k.userId);
    const token = await this.lock.take(key);
    return token ? this.loadAndStore(k, load, gens, { key, token }) : undefined;
  }

  // ---- many users --------------------------------------------------------------------------------------------

  /**
   * Reads the users' entries in one MGET; the cold ones join loads in flight here or go to one `loadMissing`
   * call, stored before this resolves. Batches are not locked across instances: one lock per user of a
   * 5,000-user batch costs more than the duplicate portal call it might save. Resolves every user's result, by user.
   */
  private async resolveMany(
    orgId: string,
    pending: UserKey[],
    loadMissing: (missing: string[]) => Promise<LoadedSets>,
    { bypass, notBefore }: ReadBounds,
  ): Promise<Map<string, CachedUserSet>> {
    const results = new Map<string, CachedUserSet>();
    const epoch = this.local.epoch;
    // A bypass serves none of the stored entries: it reads only the generations to store under.
    const read = await this.entries.read(orgId, pending, { entries: !bypass });
    const now = this.now();
    const cold: ColdUser[] = [];
    pending.forEach((k, i) => {
      const found = notOlderThan(read?.[i], notBefore);
      if (!bypass && found?.entry && now < found.entry.freshUntil) results.set(k.userId, this.result(k, found.entry, 'HIT', epoch));
      else cold.push({ k, found });
    });
    const joins = cold.map((c) => ({ c, flight: bypass ? undefined : this.sharedLoad(c.k, notBefore) }));
    const toLoad = joins.filter((j) => !j.flight).map((j) => j.c);
    mark('cache.read', { 'abff.cache.users': pending.length, 'abff.cache.cold': cold.length, 'abff.cache.load': toLoad.length, 'abff.cache.bypass': bypass });
    let failure: { err: unknown } | undefined;
    const settle = (c: ColdUser, entry?: StoredEntry, err?: unknown): void => {
      const r = entry ? this.result(c.k, entry, 'MISS', epoch) : this.isAnswer(err) ? undefined : this.staleOf(c.k, c.found, notBefore);
      if (r) results.set(c.k.userId, r);
      else failure ??= { err };
    };
    // Every joined flight gets its handlers now: one that fails while another is awaited would be an unhandled rejection.
    const joined = joins.flatMap(({ c, flight }) => {
      if (!flight) return [];
      this.observer.onCoalesced?.();
      return [
        flight.then(
          (e) => settle(c, e),
          (err: unknown) => settle(c, undefined, err),
        ),
      ];
    });
    if (toLoad.length > 0) {
      const batch = this.loadBatch(orgId, toLoad, loadMissing);
      this.loads.addBatch(
        toLoad.map((c) => c.k),
        batch,
      );
      await batch.then(
        (entries) => forEachSliced(entries, (e, i) => settle(toLoad[i], e)),
        async (err: unknown) => {
          // A bypass read only the generations: the entries it may fall back on are read now.
          const again = bypass
            ? await this.entries.read(
                orgId,
                toLoad.map((c) => c.k),
              )
            : undefined;
          toLoad.forEach((c, i) => settle(again ? { k: c.k, found: again[i] } : c, undefined, err));
        },
      );
    }
    await Promise.all(joined);
    if (failure) throw failure.err;
    return results;
  }

  /** Loads the users and stores their entries (when the read found their generations); a user the loader omits is "not found". */
  private async loadBatch(orgId: string, cold: ColdUser[], loadMissing: (missing: string[]) => Promise<LoadedSets>): Promise<StoredEntry[]> {
    const loadedAt = this.now();
    const loaded = await loadMissing(cold.map((c) => c.k.userId));
    const entries = cold.map((c) => this.newEntry(loaded.sets.get(c.k.userId) ?? null, c.found?.gens, loadedAt));
    if (cold.every((c) => c.found))
      await this.entries.write(
        orgId,
        cold.map((c, i) => [c.k, entries[i]] as const),
        loaded.assets,
      );
    else await this.entries.rememberOnly(orgId, loaded.assets);
    return entries;
  }

  // ---- results -----------------------------------------------------------------------------------------------

  private userKey(orgId: string, sid: string, userId: string): UserKey {
    return { key: this.keys.userSet(orgId, sid, userId), orgId, userId, scopeId: sid };
  }

  private newEntry(set: UserAssetSet | null, gens: Generations | undefined, loadedAt: number): StoredEntry {
    // A merge the portal's pages never agreed on (complete: false) is kept no longer than a negative entry.
    const lifeMs = set?.complete ? jitteredTtlMs(this.ttlS, this.ttlJitter, this.random) : this.negativeTtlMs;
    return { gens: gens ?? UNSTORED, loadedAt, freshUntil: loadedAt + lifeMs, set };
  }

  /** A HIT or MISS of this entry, kept in process too (unless an invalidation came since `epoch`); see LocalCopies.keep for `opts`. */
  private result(k: UserKey, e: StoredEntry, status: 'HIT' | 'MISS', epoch: number, opts?: KeepOptions): CachedUserSet {
    this.local.keep(k.key, k.orgId, k.userId, e, epoch, opts);
    return resultOf(k, e, status, this.now());
  }

  /**
   * The answer of a failed load: what the store gave (`found`) as STALE, else this instance's fallback. Data older
   * than the read's notBefore (a consistency token) is never the answer, from either.
   */
  private staleOf(k: UserKey, found: EntryRead | undefined, notBefore: number): CachedUserSet | undefined {
    const current = notOlderThan(found, notBefore);
    return this.staleResult(k, current?.entry, notBefore) ?? this.fallbackResult(k, current, notBefore);
  }

  /** The previous entry as STALE while it is younger than its TTL + staleS, unless it is older than notBefore. */
  private staleResult(k: UserKey, prev: StoredEntry | undefined, notBefore: number): CachedUserSet | undefined {
    const now = this.now();
    return prev && !olderThan(prev, notBefore) && now < prev.freshUntil + this.staleMs ? resultOf(k, prev, 'STALE', now) : undefined;
  }

  /**
   * The user's last entry served here, as STALE within staleS, when the store has no current entry (`found` says what
   * the read found; undefined when Redis did not answer). While Redis does not answer, no invalidation can be answered
   * 204 (it must be recorded there first), and those recorded before reached this instance over pub/sub. Once Redis
   * answers, the entry must survive the stored generations (`survivesGeneration`); one that does not is dropped.
   */
  private fallbackResult(k: UserKey, found: EntryRead | undefined, notBefore: number): CachedUserSet | undefined {
    if (found?.entry) return undefined;
    const last = this.local.fallback(k.key);
    if (!last) return undefined;
    if (found && !this.survives(last, found.gens.og, found.gens.ug)) {
      this.local.dropFallback(k.key);
      return undefined;
    }
    return this.staleResult(k, last.entry, notBefore);
  }

  /**
   * After every (re)subscription: drops the fallbacks an invalidation recorded while this instance was not subscribed
   * has made wrong, soon, before Redis may evict its generation. Retried until Redis answers or the next resubscription.
   */
  private async checkFallbacks(resync: number): Promise<void> {
    while (resync === this.resyncs && !this.closed && !(await this.dropInvalidatedFallbacks())) await sleep(FALLBACK_CHECK_RETRY_MS);
  }

  /** One pass of checkFallbacks; false when Redis did not answer for some OU. */
  private async dropInvalidatedFallbacks(): Promise<boolean> {
    const run = await this.store.runId();
    if (run === undefined) return false;
    this.storeRun = run;
    const byOrg = new Map<string, [string, LocalCopy][]>();
    for (const [key, c] of this.local.allFallbacks()) {
      const list = byOrg.get(c.orgId) ?? [];
      list.push([key, c]);
      byOrg.set(c.orgId, list);
    }
    for (const [orgId, list] of byOrg) {
      const stored = await this.entries.storedGenerations(
        orgId,
        list.map(([, c]) => c.userId),
      );
      if (!stored) return false;
      list.forEach(([key, c], i) => {
        if (!this.survives(c, stored.og, stored.ugs[i])) this.local.dropFallback(key);
      });
    }
    return true;
  }

  /** Whether a fallback may still be served while the store holds these OU and user generations (null: absent). */
  private survives(fallback: LocalCopy, og: string | null, ug: string | null): boolean {
    const strict = this.mayHaveMissed(fallback);
    return survivesGeneration(fallback.entry.gens.og, og, strict) && survivesGeneration(fallback.entry.gens.ug, ug, strict);
  }

  /**
   * Whether a generation lost since the fallback was kept may have been an invalidation's (evicted): only if this
   * instance may have missed its message (it was not subscribed throughout) and Redis has not restarted since (same
   * run_id: a restart empties Redis, so a loss then is no invalidation). Subscribed throughout, it heard every
   * invalidation, and each dropped the fallback.
   */
  private mayHaveMissed(fallback: LocalCopy): boolean {
    const heardAll = fallback.subscription === this.resyncs && this.bus.listening;
    return !heardAll && this.storeRun != null && fallback.run === this.storeRun;
  }

  private reported(r: CachedUserSet): CachedUserSet {
    this.observer.onResult?.(r.status, 1);
    return r;
  }

  /** Drops in-process copies and flights of an OU (or one user of it), so no later read is served older data. */
  private forget(inv: Invalidation): void {
    this.local.drop(inv.orgId, inv.userId);
    this.reads.drop(inv.orgId, inv.userId);
    this.loads.drop(inv.orgId, inv.userId);
  }
}

/** The store the options ask for: a Redis Cluster, a Redis, or in-process. */
function makeDriver(options: AssetCacheOptions, reporter: DriverReporter, now: () => number): CacheDriver {
  const timeoutMs = options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
  if (options.clusterNodes && options.clusterNodes.length > 0) return new RedisDriver({ nodes: options.clusterNodes }, timeoutMs, reporter);
  if (options.redisUrl) return new RedisDriver({ url: options.redisUrl }, timeoutMs, reporter);
  return new MemoryDriver(options.memoryMaxEntries ?? DEFAULT_MEMORY_MAX_ENTRIES, now);
}

/** A fresh result object for a stored entry, its age as of `now`. */
function resultOf(k: UserKey, e: StoredEntry, status: CacheStatus, now: number): CachedUserSet {
  return { userId: k.userId, set: e.set, status, ageS: Math.max(0, Math.floor((now - e.loadedAt) / MS_PER_S)), loadedAt: e.loadedAt };
}
