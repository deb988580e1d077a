import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { distinct, markDistinct } from '@app/portal-contracts';
import {
  DEFAULT_KEY_PREFIX,
  DEFAULT_LOCAL_MAX_ENTRIES,
  DEFAULT_LOCAL_TTL_MS,
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_MEMORY_MAX_ENTRIES,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_TTL_JITTER,
  GENERATION_LIFETIME_FACTOR,
  LOCK_POLL_MS,
  REFRESH_AHEAD_FRACTION,
} from './asset-cache.constants';
import { CacheUnavailableError } from './asset-cache.errors';

/** Random spread of the in-process copy's lifetime, as a fraction. */
const LOCAL_TTL_JITTER = 0.2;
/**
 * Fraction of the in-process copy's lifetime after which a hit also re-checks the entry in the store, in
 * the background: a copy still current there lives on, so a hot key does not drop out of process (and send
 * its next read through Redis and a re-serialization) every CACHE_LOCAL_TTL_MS.
 */
const LOCAL_REVALIDATE_FRACTION = 0.7;
/** How often in-process copies past their lifetime are dropped (one read after its end drops a copy at once). */
export const LOCAL_SWEEP_MS = 10_000;

/** Loads of at least this many asset ids (one large set, or a batch of users) are stored after the caller is answered. */
const BACKGROUND_STORE_MIN_ASSETS = 10_000;
/**
 * Slices of a background store: new dictionary ids, detail fields and entries written per round trip, with a
 * turn of the event loop between slices, so the answer being written meanwhile (megabytes) is not held up.
 */
const STORE_SLICE_IDS = 2_000;
const STORE_SLICE_DETAILS = 2_000;
const STORE_SLICE_ENTRIES = 1_000;
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Longest wait for a caller's answer to be written before a background store starts anyway. */
const BACKGROUND_STORE_MAX_DEFER_MS = 2_000;
/**
 * Batch reads given `answered` that load at least this many users, bringing at least this many asset ids, store after
 * the caller is answered: 10,000 users of 50 assets are ~100 ms of encoding and Redis writes on the two cores the
 * answer is built on. Smaller loads are stored before the read resolves, as without `answered`.
 */
const DEFERRED_STORE_MIN_USERS = 1_000;
const DEFERRED_STORE_MIN_ASSETS = 100_000;

/** Settles when `answered` does (fulfilled or not), or after `maxMs`, whichever is first; never keeps the process up. */
function afterAnswer(answered: Promise<void>, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, maxMs);
    timer.unref();
    answered.then(resolve, resolve).finally(() => clearTimeout(timer));
  });
}

/** Longest wait for this instance's own invalidation message to come back through Redis pub/sub. */
const INVALIDATION_ECHO_WAIT_MS = 250;
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
  PartSink,
  ReadOptions,
  UserAssetSet,
  UserSetScope,
} from './asset-cache.types';
import { AssetIdDictionary, DictionaryView } from './asset-id-dictionary';
import { CacheDriver, DriverReporter, WriteOp } from './drivers/cache-driver';
import { MemoryDriver } from './drivers/memory.driver';
import { RedisDriver } from './drivers/redis.driver';
import { decodeDetails, decodeEntry, encodeDetails, encodeEntry, RawEntry, StoredEntry } from './entry-codec';
import { CacheKeys, scopeId } from './keys';
import { jitteredTtlMs, refreshAt } from './ttl';

/** One user set of one scope: what every step of a read needs to know. */
interface KeyCtx {
  orgId: string;
  userId: string;
  scopeId: string;
  /** The user-set key; also the key of in-process flights and of the in-process copy. */
  key: string;
  /** ReadOptions.answered of the read that runs the load. */
  answered?: Promise<void>;
}

/** An in-process copy: the very object handed to callers on a hit, until `expiresAt`. */
interface LocalEntry {
  value: CachedUserSet;
  loadedAt: number;
  expiresAt: number;
  /** From here on, a hit also re-checks the entry in the store in the background (see revalidateLocal). */
  revalidateAt: number;
  /** The entry's own refresh point: the copy never lives past it (refresh-ahead then runs through the store). */
  refreshAt: number;
  orgId: string;
  userId: string;
  scopeId: string;
}

/** A load (or read) in flight in this process, joined by concurrent callers of the same key. */
interface Flight<T> {
  orgId: string;
  userId: string;
  readonly promise: Promise<T>;
}

/** A user's flight in a batch load: its promise is made only if a reader joins it (most users' never is). */
class BatchFlight implements Flight<StoredEntry> {
  private joined?: Promise<StoredEntry>;

  constructor(
    readonly orgId: string,
    readonly userId: string,
    private readonly batch: Promise<readonly StoredEntry[]>,
    private readonly at: number,
  ) {}

  get promise(): Promise<StoredEntry> {
    return (this.joined ??= this.batch.then((entries) => entries[this.at]));
  }
}

/**
 * A batch load's users, joinable by key while it runs (see flightOf): one registration for the whole batch instead
 * of a map entry per user (10,000 users' entries were ~9 ms of a cold batch's event loop, and no reader joined most of
 * them). Its index of users is made when a reader first looks for a key under its head.
 */
class BatchLoad {
  private index?: Map<string, number>;
  /** Users whose flight was dropped (dropLocal of the user): no reader joins this load for them any more. */
  private readonly dropped = new Set<string>();

  constructor(
    readonly orgId: string,
    /** What every key of the load starts with (the OU and scope's userSetHead). */
    readonly head: string,
    private readonly users: readonly string[],
    private readonly batch: Promise<readonly StoredEntry[]>,
  ) {}

  /** The user's flight in this load, or undefined when the user is not in it (or was dropped from it). */
  flight(userId: string): BatchFlight | undefined {
    this.index ??= new Map(this.users.map((u, i) => [u, i]));
    const at = this.index.get(userId);
    if (at === undefined || this.dropped.has(userId)) return undefined;
    return new BatchFlight(this.orgId, userId, this.batch, at);
  }

  drop(userId: string): void {
    this.dropped.add(userId);
  }
}

/** The encoded entry decoded when it was written under these generations of its OU and user; undefined otherwise. */
function currentEntry(value: string | null, og: number, ug: number): RawEntry | undefined {
  const raw = decodeEntry(value);
  return raw && raw.og === og && raw.ug === ug ? raw : undefined;
}

/** An in-process copy waiting for its re-check, and its key. */
interface LocalCheck {
  key: string;
  local: LocalEntry;
}

/** Keys per store read of the copies' re-checks. */
const RECHECK_CHUNK = 500;

/** Generations of the OU and of each user, as read just before a load. */
interface ReadResult {
  og: number;
  ugs: number[];
  entries: (StoredEntry | undefined)[];
}

type LoadMode = 'wait' | 'bypass';

const noop = (): void => undefined;
/** Bytes of randomness in a lock token. */
const LOCK_TOKEN_BYTES = 12;
const MS_PER_S = 1000;

/**
 * Read-through cache of users' asset sets per OU and type filter, with the OU's asset details stored once per OU.
 *
 * Layers: an in-process copy (short lifetime, dropped on pub/sub invalidations), then the store (Redis, Redis
 * Cluster, or an in-process LRU). Cold keys are loaded once: concurrent callers in a process share one promise,
 * and instances sharing Redis wait on a short lock for the holder's result. A store failure is a miss, never an
 * error: the loaders answer instead. Fresh hits in the last 10% of their lifetime refresh in the background.
 */
@Injectable()
export class AssetSetCache implements OnModuleInit, OnModuleDestroy {
  /** Which store backs the cache. */
  readonly driver: CacheDriverKind;
  private readonly store: CacheDriver;
  private readonly keys: CacheKeys;
  private readonly dict: AssetIdDictionary;
  private readonly local?: LRUCache<string, LocalEntry>;
  private readonly localTtlMs: number;
  private readonly loads = new Map<string, Flight<StoredEntry>>();
  /** Batch loads in flight, joinable like `loads` (flightOf). */
  private readonly batchLoads = new Set<BatchLoad>();
  private readonly reads = new Map<string, Flight<CachedUserSet>>();
  private readonly refreshing = new Set<string>();
  private readonly revalidating = new Set<string>();
  /** Copies due for a re-check, by OU, gathered over one turn of the event loop and read together (recheckDue). */
  private readonly dueChecks = new Map<string, LocalCheck[]>();
  private dueFlush?: ReturnType<typeof setImmediate>;
  /** Entries another instance loaded while this one waited on the lock: served as cache hits, not misses. */
  private readonly fromPeer = new WeakSet<StoredEntry>();
  /** Invalidations this instance published and is waiting to receive back. */
  private readonly echoes = new Map<string, () => void>();
  private readonly observer: AssetCacheObserver;
  private readonly logger: AssetCacheLogger;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly ttlS: number;
  private readonly staleMs: number;
  private readonly negativeTtlMs: number;
  private readonly ttlJitter: number;
  private readonly lockTtlMs: number;
  /** Lifetime of generation counters, the id dictionary and the details hash: longer than any entry's. */
  private readonly longLifeMs: number;
  private sweepTimer?: ReturnType<typeof setInterval>;
  /** Bumped by every invalidation seen here: a load that started before one must not fill the in-process copy. */
  private localEpoch = 0;
  /** Errors of the current Redis failure burst (undefined while healthy): logged once per burst. */
  private burst?: { count: number };

  constructor(@Inject(ASSET_CACHE_OPTIONS) options: AssetCacheOptions) {
    this.observer = options.observer ?? {};
    this.logger = options.logger ?? new Logger(AssetSetCache.name);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.ttlS = options.ttlS;
    this.staleMs = options.staleS * MS_PER_S;
    this.negativeTtlMs = options.negativeTtlS * MS_PER_S;
    this.ttlJitter = options.ttlJitter ?? DEFAULT_TTL_JITTER;
    this.lockTtlMs = options.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
    this.longLifeMs = GENERATION_LIFETIME_FACTOR * (options.ttlS + options.staleS) * MS_PER_S;
    this.keys = new CacheKeys(options.keyPrefix ?? DEFAULT_KEY_PREFIX);

    const timeoutMs = options.redisTimeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
    const reporter: DriverReporter = { error: (op, err) => this.onStoreError(op, err), ok: () => this.onStoreOk() };
    if (options.clusterNodes && options.clusterNodes.length > 0) {
      this.store = new RedisDriver({ nodes: options.clusterNodes }, timeoutMs, reporter);
    } else if (options.redisUrl) {
      this.store = new RedisDriver({ url: options.redisUrl }, timeoutMs, reporter);
    } else {
      this.store = new MemoryDriver(options.memoryMaxEntries ?? DEFAULT_MEMORY_MAX_ENTRIES, this.now);
    }
    this.driver = this.store.kind;
    this.dict = new AssetIdDictionary(this.store, this.keys);

    // Without Redis nothing else can change the store, so the in-process copy may live as long as the entry.
    this.localTtlMs = options.localTtlMs ?? (this.store.shared ? DEFAULT_LOCAL_TTL_MS : Number.POSITIVE_INFINITY);
    if (this.localTtlMs > 0) {
      this.local = new LRUCache<string, LocalEntry>({ max: options.localMaxEntries ?? DEFAULT_LOCAL_MAX_ENTRIES });
      // Without the sweep an expired copy (10,000 users x 500 ids after a warm-up) stays on the heap until the
      // LRU evicts it, which may be never; the GC then marks it on every major collection.
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
    await this.store.subscribe(
      this.keys.invalidationChannel(),
      (msg) => this.onInvalidationMessage(msg),
      () => this.dropAllLocal(),
    );
  }

  /** Disconnects from the store. */
  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    if (this.dueFlush) clearImmediate(this.dueFlush);
    this.dueFlush = undefined;
    this.dueChecks.clear();
    await this.store.close();
    this.local?.clear();
  }

  /**
   * Drops the in-process copies whose lifetime is over and returns how many; runs every LOCAL_SWEEP_MS on its
   * own. Tells the observer how many copies are left.
   */
  purgeExpiredLocal(): number {
    if (!this.local) return 0;
    const now = this.now();
    const dropped = this.deleteLocalWhere((l) => l.expiresAt <= now);
    this.observer.onLocalCopies?.(this.local.size);
    return dropped;
  }

  /** Deletes the in-process copies that `doomed` picks (collected first: no deletion while iterating); returns how many. */
  private deleteLocalWhere(doomed: (l: LocalEntry) => boolean): number {
    if (!this.local) return 0;
    const keys: string[] = [];
    for (const [k, v] of this.local.entries()) if (doomed(v)) keys.push(k);
    for (const k of keys) this.local.delete(k);
    return keys.length;
  }

  /** In-process copies held right now (expired ones included until the next sweep or read). */
  get localCopies(): number {
    return this.local?.size ?? 0;
  }

  /** Reachability of Redis: 'up', 'down', or 'none' for the in-process driver. */
  health(): CacheHealth {
    return this.store.health();
  }

  /**
   * The in-process copy of a user set, synchronously, when one is fresh and `usable` accepts it (then it
   * counts as a HIT); undefined otherwise (then call getUserSet).
   */
  peekUserSet(scope: UserSetScope, userId: string, usable: (entry: CachedUserSet) => boolean = () => true): CachedUserSet | undefined {
    const hit = this.localHit(this.keys.userSet(scope.orgId, scopeId(scope.types), userId));
    if (!hit || !usable(hit)) return undefined;
    this.observer.onResult?.('HIT', 1);
    return hit;
  }

  /** One user's set, read through the cache; `load` runs at most once per cold key across instances. */
  async getUserSet(scope: UserSetScope, userId: string, load: () => Promise<LoadedSets>, opts?: ReadOptions): Promise<CachedUserSet> {
    const sid = scopeId(scope.types);
    const key = this.keys.userSet(scope.orgId, sid, userId);
    const bypass = opts?.bypass === true;
    if (!bypass) {
      const hit = this.localHit(key);
      if (hit) {
        this.observer.onResult?.('HIT', 1);
        return hit;
      }
      const joined = this.reads.get(key);
      if (joined) {
        this.observer.onCoalesced?.();
        return this.reported(await joined.promise);
      }
    }
    const ctx: KeyCtx = { orgId: scope.orgId, userId, scopeId: sid, key, answered: opts?.answered };
    const promise = this.resolveOne(ctx, load, bypass);
    if (!bypass) this.track(this.reads, key, { orgId: scope.orgId, userId, promise });
    return this.reported(await promise);
  }

  /** Many users' sets: one read round trip, then one `loadMissing` call with only the users neither cached nor in flight. */
  async getUserSets(
    scope: UserSetScope,
    userIds: string[],
    loadMissing: (missing: string[], onPart?: PartSink) => Promise<LoadedSets>,
    opts?: ReadOptions,
  ): Promise<Map<string, CachedUserSet>> {
    const { orgId } = scope;
    const sid = scopeId(scope.types);
    const bypass = opts?.bypass === true;
    const results = new Map<string, CachedUserSet>();
    // Each user once (a batch's users come folded already: see distinct).
    const order = distinct(userIds);
    const pending: KeyCtx[] = [];
    // The keys' common head built once (a 1,000-check request names ~1,000 users).
    const head = this.keys.userSetHead(orgId, sid);
    for (const userId of order) {
      const key = head + userId;
      const hit = bypass ? undefined : this.localHit(key);
      if (hit) results.set(userId, hit);
      else pending.push({ orgId, userId, scopeId: sid, key });
    }

    if (pending.length > 0) {
      const epoch = this.localEpoch;
      // Under bypass every user goes upstream anyway: the load starts together with the read, which then only
      // supplies the generations to store under; the copies to serve STALE are read (and decoded) only if the
      // load fails (decoding 10,000 entries it is about to replace held a batch's first answers up ~0.1 s).
      // With pendingStores, parts the loader passes early are stored at once (they queue until the read is in). With
      // `answered` and many users to load, they wait: a large load is stored whole after the answer (see loadBatch).
      const answeredAt = opts?.answered && pending.length >= DEFERRED_STORE_MIN_USERS ? afterAnswer(opts.answered, BACKGROUND_STORE_MAX_DEFER_MS) : undefined;
      const deferred = answeredAt?.then(yieldToIo);
      // Given `answered` (and no pendingStores), the stores of parts and of large loads are this read's own: awaited
      // here before it resolves, unless deferred.
      const own = !opts?.pendingStores && opts?.answered ? [] : undefined;
      const stores = opts?.pendingStores ?? own;
      const parts = stores ? new PartStores(stores) : undefined;
      const early = bypass ? loadMissing(markDistinct(pending.map((c) => c.userId)), parts?.sink) : undefined;
      early?.catch(noop);
      // A large load's upstream calls leave first: the read of 10,000 users' generations (a 10,001-key MGET built
      // and written on this thread) waits a turn of the event loop, as the store it serves waits for the load anyway.
      if (early && pending.length >= DEFERRED_STORE_MIN_USERS) await yieldToIo();
      const read = await this.readMany(orgId, pending, !bypass);
      const now = this.now();
      const cold: { ctx: KeyCtx; prev?: StoredEntry; ug?: number }[] = [];
      pending.forEach((ctx, i) => {
        const entry = read?.entries[i];
        if (!bypass && entry && now < entry.freshUntil) results.set(ctx.userId, this.hitResult(ctx, entry, epoch, now));
        else cold.push({ ctx, prev: entry, ug: read?.ugs[i] });
      });

      const toLoad: typeof cold = [];
      const joined: { c: (typeof cold)[number]; promise: Promise<StoredEntry> }[] = [];
      for (const c of cold) {
        const flight = early ? undefined : this.flightOf(c.ctx.key);
        if (flight) {
          this.observer.onCoalesced?.();
          joined.push({ c, promise: flight.promise });
        } else {
          toLoad.push(c);
        }
      }

      let failure: { err: unknown } | undefined;
      // Such a read's loaded users get their in-process copies once the answer is written, too (10,000 entries of the
      // LRU are several milliseconds the answer need not wait for); until then a reader joins the load's flight.
      const copies: [KeyCtx, StoredEntry][] | undefined = answeredAt ? [] : undefined;
      const settle = (c: (typeof cold)[number], entry: StoredEntry | undefined, err?: unknown, now = this.now()): void => {
        if (entry) {
          results.set(c.ctx.userId, this.missResult(c.ctx, entry, epoch, copies, now));
          return;
        }
        const stale = this.staleResult(c.ctx, c.prev);
        if (stale) results.set(c.ctx.userId, stale);
        else failure ??= { err };
      };

      if (toLoad.length > 0) {
        const batch = this.loadBatch(orgId, toLoad, read, early ? () => early : (missing) => loadMissing(missing, parts?.sink), stores, parts?.entries, parts?.writes, deferred);
        if (parts && read) {
          const storer = this.partStorer(orgId, toLoad, read, parts.writes);
          if (!deferred) parts.start(storer);
          else {
            // A load that succeeds is stored whole after the answer (loadBatch): its parts are not stored too. Parts
            // of a load that failed are, after the answer, so that the caller's retry finds them.
            batch.then(() => parts.discard(), noop);
            void deferred.then(() => parts.start(storer));
          }
        }
        // Deferred stores: the users stay joinable here until they are in the store (the load is over by the time
        // the answer is written, so every store of this read has been started once `deferred` settles).
        const stored = deferred && stores ? batch.then(() => deferred.then(() => Promise.all(stores))).then(noop, noop) : undefined;
        // Joinable while it runs, as one registration (BatchLoad): a user's flight and its promise are made only if a
        // reader joins it (10,000 users' promises and their reactions were ~4 ms after a cold batch's last answer).
        const load = new BatchLoad(orgId, head, toLoad.map((c) => c.ctx.userId), batch);
        this.batchLoads.add(load);
        const land = (): void => void this.batchLoads.delete(load);
        void (stored ?? batch).then(land, land);
        try {
          const loaded = await batch;
          const settledAt = this.now();
          toLoad.forEach((c, i) => settle(c, loaded[i], undefined, settledAt));
        } catch (err) {
          if (bypass) await this.readStaleCopies(orgId, toLoad);
          for (const c of toLoad) settle(c, undefined, err);
        }
      }
      for (const j of joined) {
        try {
          settle(j.c, await j.promise);
        } catch (err) {
          settle(j.c, undefined, err);
        }
      }
      if (answeredAt && copies?.length) void answeredAt.then(() => this.rememberLoaded(copies, epoch));
      // A store that failed was logged; the read stands (those users load again next time).
      if (own && !deferred) await Promise.all(own);
      if (failure) throw failure.err;
    }

    // Usually (a cold batch: every user loaded in request order) the results are in order already.
    const ordered = keysAre(results, order) ? results : new Map(order.map((userId) => [userId, results.get(userId) as CachedUserSet]));
    const counts: Record<CacheStatus, number> = { HIT: 0, MISS: 0, STALE: 0 };
    for (const r of ordered.values()) counts[r.status]++;
    for (const status of ['HIT', 'MISS', 'STALE'] as const) if (counts[status] > 0) this.observer.onResult?.(status, counts[status]);
    return ordered;
  }

  /** Details of the OU's assets among `ids` (one HMGET); unknown ids are absent from the map. */
  async getAssetDetails(orgId: string, ids: string[]): Promise<Map<string, AssetDetails>> {
    const out = new Map<string, AssetDetails>();
    const unique = [...new Set(ids)];
    if (unique.length === 0) return out;
    const values = await this.store.hmget(this.keys.assetDetails(orgId), unique);
    if (!values) return out;
    unique.forEach((id, i) => {
      const d = decodeDetails(values[i]);
      if (d) out.set(id, d);
    });
    return out;
  }

  /** Makes the next read of every scope of the user a miss, on every instance; throws CacheUnavailableError if Redis did not take it. */
  async invalidateUser(orgId: string, userId: string): Promise<void> {
    this.dropLocal(orgId, userId);
    const ok = await this.store.write([{ op: 'incr', key: this.keys.userGeneration(orgId, userId), ttlMs: this.longLifeMs }]);
    await this.broadcast({ o: orgId, u: userId });
    if (!ok) throw new CacheUnavailableError();
  }

  /** Makes the next read of every user of the OU a miss, on every instance, in O(1) (generation bump); throws CacheUnavailableError if Redis did not take it. */
  async invalidateOrg(orgId: string): Promise<void> {
    this.dropLocal(orgId);
    const ok = await this.store.write([
      { op: 'incr', key: this.keys.orgGeneration(orgId), ttlMs: this.longLifeMs },
      { op: 'del', key: this.keys.orgMissing(orgId) },
    ]);
    await this.broadcast({ o: orgId });
    if (!ok) throw new CacheUnavailableError();
  }

  /** Remembers for negativeTtlS that the portal does not know the OU. */
  async markOrgMissing(orgId: string): Promise<void> {
    await this.store.write([{ op: 'set', key: this.keys.orgMissing(orgId), value: '1', ttlMs: this.negativeTtlMs }]);
  }

  /** True while a "OU not found" is cached. */
  async isOrgMissing(orgId: string): Promise<boolean> {
    const r = await this.store.mget([this.keys.orgMissing(orgId)]);
    return r !== undefined && r[0] !== null;
  }

  // ---- single-key path -------------------------------------------------------------------------------------

  private async resolveOne(ctx: KeyCtx, load: () => Promise<LoadedSets>, bypass: boolean): Promise<CachedUserSet> {
    const epoch = this.localEpoch;
    const read = await this.readMany(ctx.orgId, [ctx]);
    const cached = read?.entries[0];
    const now = this.now();
    if (!bypass && cached && now < cached.freshUntil) {
      if (read && now >= refreshAt(cached.loadedAt, cached.freshUntil, REFRESH_AHEAD_FRACTION)) this.refreshAhead(ctx, load, read);
      return this.hitResult(ctx, cached, epoch, now);
    }
    try {
      const entry = await this.loadOne(ctx, load, read, bypass ? 'bypass' : 'wait');
      return this.fromPeer.has(entry) ? this.hitResult(ctx, entry, epoch, this.now()) : this.missResult(ctx, entry, epoch);
    } catch (err) {
      const stale = this.staleResult(ctx, cached);
      if (stale) return stale;
      throw err;
    }
  }

  /** A load of one key, shared with any load of that key already in flight here (single or batch). */
  private loadOne(ctx: KeyCtx, load: () => Promise<LoadedSets>, read: ReadResult | undefined, mode: LoadMode): Promise<StoredEntry> {
    const flight = this.flightOf(ctx.key);
    if (flight) {
      this.observer.onCoalesced?.();
      return flight.promise;
    }
    const promise = this.lockedLoad(ctx, load, read, mode);
    this.track(this.loads, ctx.key, { orgId: ctx.orgId, userId: ctx.userId, promise });
    return promise;
  }

  /**
   * Loads under the Redis lock. A caller that finds the lock taken waits for the holder's result (polling the
   * entry) and loads itself only if the lock is released without a result or lockTtlMs passes (a dead holder).
   */
  private async lockedLoad(ctx: KeyCtx, load: () => Promise<LoadedSets>, read: ReadResult | undefined, mode: LoadMode): Promise<StoredEntry> {
    const lockKey = this.keys.lock(ctx.orgId, ctx.scopeId, ctx.userId);
    let token: string | undefined;
    if (this.store.shared && read && mode === 'wait') {
      const deadline = Date.now() + this.lockTtlMs;
      let waited = false;
      for (;;) {
        const candidate = randomBytes(LOCK_TOKEN_BYTES).toString('base64url');
        const got = await this.store.tryLock(lockKey, candidate, this.lockTtlMs);
        if (got === true) {
          token = candidate;
          // Double-checked: a holder may have stored the entry and released the lock between our first
          // read and this acquisition (an instance busy accepting a burst reaches here late), so look again
          // before loading. One Redis round trip per cold load, against a second upstream call.
          const again = await this.readMany(ctx.orgId, [ctx]);
          const entry = again?.entries[0];
          if (entry && this.now() < entry.freshUntil) {
            await this.store.unlock(lockKey, token);
            this.fromPeer.add(entry);
            return entry;
          }
          if (again) read = again;
          break;
        }
        if (got !== false) break;
        if (!waited) {
          waited = true;
          this.observer.onLockWait?.();
        }
        const peer = await this.waitForPeer(ctx, deadline);
        if (peer.entry) {
          this.fromPeer.add(peer.entry);
          return peer.entry;
        }
        if (peer.timedOut) break;
      }
    }
    let loaded: { entry: StoredEntry; stored: Promise<void>; background: boolean };
    try {
      loaded = await this.loadAndStore(ctx, load, read);
    } catch (err) {
      if (token) await this.store.unlock(lockKey, token);
      throw err;
    }
    // The lock is held until the entry is stored, so other instances wait for it instead of loading again.
    if (token && loaded.background) void loaded.stored.finally(() => this.store.unlock(lockKey, token)).catch(noop);
    else if (token) await this.store.unlock(lockKey, token);
    return loaded.entry;
  }

  /** Polls the entry until the lock holder stored it, released the lock without it, or the deadline passed. */
  private async waitForPeer(ctx: KeyCtx, deadline: number): Promise<{ entry?: StoredEntry; timedOut?: boolean }> {
    const keys = [
      this.keys.orgGeneration(ctx.orgId),
      this.keys.userGeneration(ctx.orgId, ctx.userId),
      ctx.key,
      this.keys.lock(ctx.orgId, ctx.scopeId, ctx.userId),
    ];
    while (Date.now() < deadline) {
      await sleep(Math.min(LOCK_POLL_MS, Math.max(1, deadline - Date.now())));
      const r = await this.store.mget(keys);
      if (!r) return { timedOut: true };
      const entry = (await this.validEntries(ctx.orgId, Number(r[0] ?? 0), [Number(r[1] ?? 0)], [r[2]]))[0];
      if (entry && this.now() < entry.freshUntil) return { entry };
      if (r[3] === null) return {};
    }
    return { timedOut: true };
  }

  /**
   * Loads and stores one entry (unless the generations are unknown: store down). `stored` settles when the entry is in the store: already for ordinary sets;
   * for a set of BACKGROUND_STORE_MIN_ASSETS or more (100,000 assets take ~1.5 s of Redis writes) the caller
   * is answered first and the writes run in slices from the next turn of the event loop (this instance serves
   * the set from its in-process copy meanwhile, other instances wait on the lock).
   */
  private async loadAndStore(
    ctx: KeyCtx,
    load: () => Promise<LoadedSets>,
    read: ReadResult | undefined,
  ): Promise<{ entry: StoredEntry; stored: Promise<void>; background: boolean }> {
    const loaded = await load();
    const entry = this.newEntry(loaded.sets.get(ctx.userId) ?? null, read?.og ?? 0, read?.ugs[0] ?? 0);
    if (!read) return { entry, stored: Promise.resolve(), background: false };
    if ((entry.set?.assetIds.length ?? 0) < BACKGROUND_STORE_MIN_ASSETS) {
      await this.storeEntries(ctx.orgId, [[ctx.key, entry]], loaded.assets);
      return { entry, stored: Promise.resolve(), background: false };
    }
    return { entry, stored: this.storeInBackground(ctx.orgId, [[ctx.key, entry]], loaded, ctx.answered), background: true };
  }

  /** One background refresh of a hot key near expiry, under the lock; skipped if a load is already running anywhere. */
  private refreshAhead(ctx: KeyCtx, load: () => Promise<LoadedSets>, read: ReadResult): void {
    if (this.refreshing.has(ctx.key) || this.flightOf(ctx.key)) return;
    this.refreshing.add(ctx.key);
    const lockKey = this.keys.lock(ctx.orgId, ctx.scopeId, ctx.userId);
    const token = randomBytes(LOCK_TOKEN_BYTES).toString('base64url');
    const run = async (): Promise<void> => {
      if (this.store.shared && (await this.store.tryLock(lockKey, token, this.lockTtlMs)) !== true) return;
      try {
        await (await this.loadAndStore(ctx, load, read)).stored;
      } finally {
        if (this.store.shared) await this.store.unlock(lockKey, token);
      }
    };
    run()
      .catch((err: unknown) => this.logger.warn(`background refresh failed, the entry stays until it expires: ${describe(err)}`))
      .finally(() => this.refreshing.delete(ctx.key));
  }

  // ---- batch path ------------------------------------------------------------------------------------------

  private async loadBatch(
    orgId: string,
    cold: { ctx: KeyCtx; ug?: number }[],
    read: ReadResult | undefined,
    loadMissing: (missing: string[]) => Promise<LoadedSets>,
    pendingStores?: Promise<void>[],
    stored?: Map<string, StoredEntry>,
    writes?: BatchWrites,
    deferred?: Promise<void>,
  ): Promise<StoredEntry[]> {
    const loaded = await loadMissing(markDistinct(cold.map((c) => c.ctx.userId)));
    // The entries by position in `cold`.
    const out = new Array<StoredEntry>(cold.length);
    const items: [string, StoredEntry][] = [];
    const loadedAt = this.now();
    const inOrder = loaded.inOrder?.length === cold.length ? loaded.inOrder : undefined;
    const early = stored?.size ? stored : undefined;
    cold.forEach((c, i) => {
      const set = inOrder ? inOrder[i] : (loaded.sets.get(c.ctx.userId) ?? null);
      // Stored already from a part of the answer (the very same set): nothing more to write for this user.
      const part = early?.get(c.ctx.key);
      if (part && part.set === set) {
        out[i] = part;
        return;
      }
      // A user the loader did not answer for is treated as not found (the portal omits unknown users).
      const entry = this.newEntry(set, read?.og ?? 0, c.ug ?? 0, loadedAt);
      out[i] = entry;
      items.push([c.ctx.key, entry]);
    });
    if (!read || items.length === 0) return out;
    // Users stored from parts took their details along: only the rest's are written again.
    const assets = items.length === cold.length ? loaded.assets : detailsOf(items, loaded.assets);
    let ids = 0;
    for (const [, e] of items) ids += e.set?.assetIds.length ?? 0;
    const failed = (err: unknown): void => this.logger.warn(`storing a batch failed, its users will be loaded again: ${describe(err)}`);
    if (deferred && pendingStores && ids >= DEFERRED_STORE_MIN_ASSETS) {
      // After the answer, in slices (other requests are served between them).
      pendingStores.push(deferred.then(() => this.storeSliced(orgId, items, assets)).catch(failed));
    } else if (!deferred && pendingStores && ids >= BACKGROUND_STORE_MIN_ASSETS) {
      // A large batch (10,000 users of 50 assets: half a million ids) leaves its store to the caller to await
      // before it answers, so the store's Redis round trips overlap the caller's serializing.
      pendingStores.push(this.storeEntries(orgId, items, assets, writes).catch(failed));
    } else await this.storeEntries(orgId, items, assets, writes);
    return out;
  }

  /** Makes entries for each part of a batch loader's answer and stores them at once (the caller awaits it with the others). */
  private partStorer(orgId: string, cold: { ctx: KeyCtx; ug?: number }[], read: ReadResult, writes: BatchWrites): (part: LoadedSets) => { items: [string, StoredEntry][]; stored: Promise<void> } {
    // Made on the first part stored: a large load that succeeds stores no parts (see getUserSets), and 10,000 users'
    // map was ~9 ms of the event loop while the first wave's answers came in.
    let byUser: Map<string, { ctx: KeyCtx; ug?: number }> | undefined;
    return (part) => {
      byUser ??= new Map(cold.map((c) => [c.ctx.userId, c]));
      const items: [string, StoredEntry][] = [];
      const loadedAt = this.now();
      for (const [userId, set] of part.sets) {
        const c = byUser.get(userId);
        if (c) items.push([c.ctx.key, this.newEntry(set, read.og, c.ug ?? 0, loadedAt)]);
      }
      const stored = this.storeEntries(orgId, items, part.assets, writes).catch((err: unknown) => this.logger.warn(`storing part of a batch failed, its users will be loaded again: ${describe(err)}`));
      return { items, stored };
    };
  }

  // ---- store access ----------------------------------------------------------------------------------------

  /**
   * Generations and valid entries of users of one OU in one MGET (generations only, every entry undefined,
   * when `withEntries` is false); undefined when the store failed.
   */
  private async readMany(orgId: string, ctxs: KeyCtx[], withEntries = true): Promise<ReadResult | undefined> {
    const r = await this.readStored(orgId, ctxs, withEntries);
    if (!r) return undefined;
    const entries = withEntries ? await this.validEntries(orgId, r.og, r.ugs, r.values) : new Array<StoredEntry | undefined>(ctxs.length);
    return { og: r.og, ugs: r.ugs, entries };
  }

  /** One MGET: the OU's and the users' generations and (withEntries) the users' encoded entries; undefined when the store failed. */
  private async readStored(orgId: string, ctxs: KeyCtx[], withEntries: boolean): Promise<{ og: number; ugs: number[]; values: (string | null)[] } | undefined> {
    const keys = new Array<string>(1 + (withEntries ? 2 : 1) * ctxs.length);
    keys[0] = this.keys.orgGeneration(orgId);
    ctxs.forEach((c, i) => {
      keys[1 + i] = this.keys.userGeneration(orgId, c.userId);
      if (withEntries) keys[1 + ctxs.length + i] = c.key;
    });
    const r = await this.store.mget(keys);
    if (!r) return undefined;
    return { og: Number(r[0] ?? 0), ugs: ctxs.map((_, i) => Number(r[1 + i] ?? 0)), values: withEntries ? r.slice(1 + ctxs.length) : [] };
  }

  /**
   * For re-checks: each entry's head (generations, load time, fresh lifetime) when it was written under the current
   * generations and for the dictionary this instance mirrors, without resolving its ids (the copy being re-checked
   * holds them, resolved from this same load); undefined for each other one (a copy of it is dropped, and the next
   * read takes the full path), and in all when the store failed.
   */
  private async readHeads(orgId: string, ctxs: KeyCtx[]): Promise<(RawEntry | undefined)[] | undefined> {
    const r = await this.readStored(orgId, ctxs, true);
    if (!r) return undefined;
    const epoch = this.dict.mirroredEpoch(orgId);
    return r.values.map((v, i) => {
      const raw = currentEntry(v, r.og, r.ugs[i]);
      return raw && (raw.negative || raw.epoch === epoch) ? raw : undefined;
    });
  }

  /** After a bypassing batch load failed: the users' stored copies, to serve STALE (a store failure leaves them unset). */
  private async readStaleCopies(orgId: string, cold: { ctx: KeyCtx; prev?: StoredEntry }[]): Promise<void> {
    const read = await this.readMany(orgId, cold.map((c) => c.ctx)).catch(() => undefined);
    cold.forEach((c, i) => (c.prev = read?.entries[i]));
  }

  /** Decodes entries and keeps those written under the current generations, with their ids resolved. */
  private async validEntries(orgId: string, og: number, ugs: number[], values: (string | null)[]): Promise<(StoredEntry | undefined)[]> {
    const raws: RawEntry[] = [];
    const at: number[] = [];
    values.forEach((v, i) => {
      const raw = currentEntry(v, og, ugs[i]);
      if (raw) {
        raws.push(raw);
        at.push(i);
      }
    });
    const out = new Array<StoredEntry | undefined>(values.length);
    if (raws.length === 0) return out;
    const ids = await this.dict.resolve(orgId, raws);
    raws.forEach((raw, k) => {
      const assetIds = ids[k];
      if (!assetIds) return;
      const set: UserAssetSet | null = raw.negative ? null : { assetIds, total: raw.total, complete: raw.complete };
      out[at[k]] = { og: raw.og, ug: raw.ug, loadedAt: raw.loadedAt, freshUntil: raw.freshUntil, set };
    });
    return out;
  }

  /**
   * Stores on a later turn of the event loop (once `answered` settles, when given), in slices (dictionary ids,
   * details, entries), so that the caller's answer goes out first and is not held up while it is written; a
   * failure is logged (the users load again).
   */
  private storeInBackground(orgId: string, items: [string, StoredEntry][], loaded: LoadedSets, answered?: Promise<void>): Promise<void> {
    const start = answered ? afterAnswer(answered, BACKGROUND_STORE_MAX_DEFER_MS).then(yieldToIo) : yieldToIo();
    // loaded.assets read only now: a loader may build its details lazily.
    const stored = start.then(() => this.storeSliced(orgId, items, loaded.assets));
    stored.catch((err: unknown) => this.logger.warn(`storing a large load failed, it will be loaded again: ${describe(err)}`));
    return stored;
  }

  /** storeEntries in slices with a turn of the event loop between them; nothing is stored if the dictionary changed epoch meanwhile. */
  private async storeSliced(orgId: string, items: [string, StoredEntry][], assets: Map<string, AssetDetails>): Promise<void> {
    const unique = new Set<string>();
    for (let i = 0; i < items.length; i += STORE_SLICE_ENTRIES) {
      for (let k = i; k < Math.min(items.length, i + STORE_SLICE_ENTRIES); k++) for (const id of items[k][1].set?.assetIds ?? []) unique.add(id);
      await yieldToIo();
    }
    const ids = [...unique];
    let dict: DictionaryView | undefined = { epoch: '', indexOf: new Map() };
    for (let i = 0; i < ids.length; i += STORE_SLICE_IDS) {
      const slice = await this.dict.assign(orgId, ids.slice(i, i + STORE_SLICE_IDS), this.longLifeMs);
      // A dictionary recreated between slices would mix epochs in one entry: store nothing (a later read loads again).
      if (!slice || (i > 0 && slice.epoch !== dict?.epoch)) return;
      dict = slice;
      await yieldToIo();
    }
    // Encoded slice by slice too (100,000 details are ~100 ms of JSON.stringify).
    const all = [...assets];
    for (let i = 0; i < all.length; i += STORE_SLICE_DETAILS) {
      const fields = all.slice(i, i + STORE_SLICE_DETAILS).map(([id, d]): [string, string] => [id, encodeDetails(d)]);
      if (!(await this.store.write([{ op: 'details', key: this.keys.assetDetails(orgId), ttlMs: this.longLifeMs, fields }]))) return;
      await yieldToIo();
    }
    for (let i = 0; i < items.length; i += STORE_SLICE_ENTRIES) {
      if (!(await this.store.write(this.entryWrites(items.slice(i, i + STORE_SLICE_ENTRIES), dict)))) return;
      await yieldToIo();
    }
  }

  /**
   * Writes entries (one pipeline) after merging the asset details and assigning dictionary indexes (one more).
   * With `writes` (the parts of one batch), details an earlier part wrote are not written again and ids it
   * assigned are not sent again: the parts come from one load, and an OU's 5,000 assets recur in every
   * 1,000-user chunk.
   */
  private async storeEntries(orgId: string, items: [string, StoredEntry][], assets: Map<string, AssetDetails>, writes?: BatchWrites): Promise<void> {
    const ids = new Set<string>();
    for (const [, e] of items) if (e.set) for (const id of e.set.assetIds) ids.add(id);
    const fields: [string, string][] = [];
    for (const [id, d] of assets) {
      if (writes?.details.has(id)) continue;
      writes?.details.add(id);
      fields.push([id, encodeDetails(d)]);
    }
    const details: WriteOp[] = fields.length > 0 ? [{ op: 'details', key: this.keys.assetDetails(orgId), ttlMs: this.longLifeMs, fields }] : [];
    const [dict] = await Promise.all([this.indexesFor(orgId, [...ids], writes), this.store.write(details)]);
    if (!dict) return;
    await this.store.write(this.entryWrites(items, dict));
  }

  /** Dictionary indexes of the ids; within one batch, only the ids earlier parts did not assign go to the store. */
  private indexesFor(orgId: string, ids: string[], writes?: BatchWrites): Promise<DictionaryView | undefined> {
    if (ids.length === 0) return Promise.resolve({ epoch: '', indexOf: new Map<string, number>() });
    if (!writes) return this.dict.assign(orgId, ids, this.longLifeMs);
    const before = writes.dict;
    const next = (async (): Promise<DictionaryView | undefined> => {
      const prev = before && (await before);
      const missing = prev ? ids.filter((id) => !prev.indexOf.has(id)) : ids;
      if (prev && missing.length === 0) return prev;
      const got = await this.dict.assign(orgId, missing, this.longLifeMs);
      // The dictionary was recreated (a new epoch) since the earlier part: assign every id of this part anew.
      if (got && prev && got.epoch !== prev.epoch) return this.dict.assign(orgId, ids, this.longLifeMs);
      return got;
    })();
    // A part whose assignment failed stores nothing; the next part assigns all of its ids again.
    writes.dict = next.catch(() => undefined);
    return next;
  }

  /** SET operations of encoded entries, each living until its stale window ends. */
  private entryWrites(items: [string, StoredEntry][], dict: DictionaryView): WriteOp[] {
    const now = this.now();
    return items.map(([key, e]) => ({ op: 'set', key, value: encodeEntry(e, dict.epoch, dict.indexOf), ttlMs: Math.max(1, e.freshUntil + this.staleMs - now) }));
  }

  // ---- results and the in-process copy ---------------------------------------------------------------------

  private newEntry(set: UserAssetSet | null, og: number, ug: number, loadedAt = this.now()): StoredEntry {
    const lifeMs = set ? jitteredTtlMs(this.ttlS, this.ttlJitter, this.random) : this.negativeTtlMs;
    return { og, ug, loadedAt, freshUntil: loadedAt + lifeMs, set };
  }

  private localHit(key: string): CachedUserSet | undefined {
    const l = this.local?.get(key);
    if (l === undefined) return undefined;
    const now = this.now();
    if (l.expiresAt <= now) {
      this.local?.delete(key);
      return undefined;
    }
    if (now >= l.revalidateAt) this.revalidateLocal(key, l);
    l.value.ageS = ageS(l.loadedAt, now);
    return l.value;
  }

  /**
   * Queues the copy for a background re-check (once per key at a time): if the store still holds the same load
   * under the current generations, the copy gets a new lifetime; otherwise it is dropped, so the next read takes
   * the full path. An invalidation seen meanwhile wins (the copy is not extended). The copy's staleness stays
   * bounded by its lifetime: a lost pub/sub message is caught here, by the generations in the store. The copies
   * that come due in one turn of the event loop are re-checked together (recheckDue): copies made together (a
   * warm-up, a batch) come due together, and one store read each cost the hot reads of those seconds a fifth of
   * their throughput.
   */
  private revalidateLocal(key: string, l: LocalEntry): void {
    if (this.revalidating.has(key)) return;
    this.revalidating.add(key);
    let due = this.dueChecks.get(l.orgId);
    if (due === undefined) this.dueChecks.set(l.orgId, (due = []));
    due.push({ key, local: l });
    this.dueFlush ??= setImmediate(() => this.recheckDue());
  }

  /** The re-checks queued since the last turn: one store read per OU (per RECHECK_CHUNK keys). */
  private recheckDue(): void {
    this.dueFlush = undefined;
    const epoch = this.localEpoch;
    for (const [orgId, due] of this.dueChecks) {
      for (let i = 0; i < due.length; i += RECHECK_CHUNK) this.recheck(orgId, due.slice(i, i + RECHECK_CHUNK), epoch);
    }
    this.dueChecks.clear();
  }

  private recheck(orgId: string, due: LocalCheck[], epoch: number): void {
    const ctxs = due.map(({ key, local }): KeyCtx => ({ orgId, userId: local.userId, scopeId: local.scopeId, key }));
    this.readHeads(orgId, ctxs)
      .then((heads) => {
        if (epoch !== this.localEpoch) return;
        const now = this.now();
        due.forEach(({ key, local: l }, i) => {
          if (this.local?.peek(key) !== l) return;
          const e = heads?.[i];
          if (!e || e.loadedAt !== l.loadedAt || now >= e.freshUntil) {
            // A store that failed (heads undefined) proves nothing either way: the copy runs out its lifetime.
            if (heads) this.local?.delete(key);
            return;
          }
          const { expiresAt, revalidateAt } = this.localLifetime(now, l.refreshAt);
          l.expiresAt = expiresAt;
          l.revalidateAt = revalidateAt;
        });
      })
      .catch((err: unknown) => this.logger.warn(`re-checking in-process copies failed: ${describe(err)}`))
      .finally(() => {
        for (const { key } of due) this.revalidating.delete(key);
      });
  }

  /** Lifetime of an in-process copy made or re-checked at `now`, never past the entry's refresh point. */
  private localLifetime(now: number, refreshAtMs: number): { expiresAt: number; revalidateAt: number } {
    // Up to LOCAL_TTL_JITTER shorter at random, so copies made together (a batch, a warm-up) do not all
    // expire in the same instant and send every user back to Redis at once.
    const localTtl = this.localTtlMs * (1 - LOCAL_TTL_JITTER * this.random());
    const expiresAt = Math.min(now + localTtl, refreshAtMs);
    return { expiresAt, revalidateAt: Math.min(now + localTtl * LOCAL_REVALIDATE_FRACTION, expiresAt) };
  }

  /** A HIT from the store; kept in process so repeated hits return this same object. */
  private hitResult(ctx: KeyCtx, e: StoredEntry, epoch: number, now: number): CachedUserSet {
    const value = resultOf(ctx, e, 'HIT', now);
    this.remember(ctx, e, value, epoch, now);
    return value;
  }

  /** A freshly loaded entry: MISS for this caller, a HIT object for the in-process copy (made now, or given `later`, by rememberLoaded). */
  private missResult(ctx: KeyCtx, e: StoredEntry, epoch: number, later?: [KeyCtx, StoredEntry][], now = this.now()): CachedUserSet {
    if (later) later.push([ctx, e]);
    else this.remember(ctx, e, resultOf(ctx, e, 'HIT', now), epoch, now);
    return resultOf(ctx, e, 'MISS', now);
  }

  /** The in-process copies of entries loaded by a read of `epoch` (none if the copies were dropped since). */
  private rememberLoaded(loaded: [KeyCtx, StoredEntry][], epoch: number): void {
    const now = this.now();
    for (const [ctx, e] of loaded) this.remember(ctx, e, resultOf(ctx, e, 'HIT', now), epoch, now);
  }

  /** The previous entry as STALE when it is younger than its TTL + staleS; undefined otherwise. */
  private staleResult(ctx: KeyCtx, prev: StoredEntry | undefined): CachedUserSet | undefined {
    const now = this.now();
    if (!prev || now >= prev.freshUntil + this.staleMs) return undefined;
    return resultOf(ctx, prev, 'STALE', now);
  }

  /** Keeps the object in process until the local lifetime ends or the refresh-ahead window opens, whichever first. */
  private remember(ctx: KeyCtx, e: StoredEntry, value: CachedUserSet, epoch: number, now: number): void {
    if (!this.local || epoch !== this.localEpoch) return;
    const refreshAtMs = refreshAt(e.loadedAt, e.freshUntil, REFRESH_AHEAD_FRACTION);
    const { expiresAt, revalidateAt } = this.localLifetime(now, refreshAtMs);
    if (expiresAt > now) {
      this.local.set(ctx.key, { value, loadedAt: e.loadedAt, expiresAt, revalidateAt, refreshAt: refreshAtMs, orgId: ctx.orgId, userId: ctx.userId, scopeId: ctx.scopeId });
    }
  }

  private reported(r: CachedUserSet): CachedUserSet {
    this.observer.onResult?.(r.status, 1);
    return r;
  }

  /** The load of this key in flight here (a single load, or a user of a batch load), if any. */
  private flightOf(key: string): Flight<StoredEntry> | undefined {
    const single = this.loads.get(key);
    if (single || this.batchLoads.size === 0) return single;
    // the newest load first, as a later load's flights used to replace an earlier one's
    for (const b of [...this.batchLoads].reverse()) {
      if (!key.startsWith(b.head)) continue;
      const f = b.flight(key.slice(b.head.length));
      if (f) return f;
    }
    return undefined;
  }

  /** Keeps the flight under its key until its promise settles (or, given, `until` does). */
  private track<T>(map: Map<string, Flight<T>>, key: string, flight: Flight<T>, until?: Promise<void>): void {
    map.set(key, flight);
    const done = (): void => untrack(map, key, flight);
    if (until) void until.then(done);
    else flight.promise.then(done, done);
  }

  // ---- invalidation ----------------------------------------------------------------------------------------

  /** Drops in-process copies and flights of an OU (or one user of it), so no later read joins older data. */
  private dropLocal(orgId: string, userId?: string): void {
    this.localEpoch++;
    const matches = (f: { orgId: string; userId: string }): boolean => f.orgId === orgId && (userId === undefined || f.userId === userId);
    this.deleteLocalWhere(matches);
    for (const map of [this.loads, this.reads] as Map<string, Flight<unknown>>[]) {
      for (const [k, f] of map) if (matches(f)) map.delete(k);
    }
    for (const b of this.batchLoads) {
      if (b.orgId !== orgId) continue;
      if (userId === undefined) this.batchLoads.delete(b);
      else b.drop(userId);
    }
  }

  /** After a (re)subscription, messages may have been missed: forget every in-process copy. */
  private dropAllLocal(): void {
    this.localEpoch++;
    this.local?.clear();
    this.dict.clear();
  }

  /**
   * Publishes an invalidation and waits (at most INVALIDATION_ECHO_WAIT_MS) until this instance's own
   * subscriber receives it back: by then Redis has handed it to every subscriber (in a cluster, the bus has
   * carried it to this subscriber's node), so a read sent to another instance after the DELETE answered
   * does not find the old in-process copy.
   */
  private async broadcast(payload: { o: string; u?: string }): Promise<void> {
    const nonce = randomBytes(8).toString('hex');
    const echoed = new Promise<void>((resolve) => this.echoes.set(nonce, resolve));
    const sent = await this.store.publish(this.keys.invalidationChannel(), JSON.stringify({ ...payload, n: nonce }));
    if (sent && this.driver !== 'memory') await Promise.race([echoed, sleep(INVALIDATION_ECHO_WAIT_MS)]);
    this.echoes.delete(nonce);
  }

  private onInvalidationMessage(message: string): void {
    try {
      const m = JSON.parse(message) as { o?: unknown; u?: unknown; n?: unknown };
      if (typeof m.o !== 'string') throw new Error('no OU');
      this.dropLocal(m.o, typeof m.u === 'string' ? m.u : undefined);
      if (typeof m.n === 'string') this.echoes.get(m.n)?.();
    } catch (err) {
      this.logger.warn(`ignored a malformed invalidation message: ${describe(err)}`);
    }
  }

  // ---- store failures --------------------------------------------------------------------------------------

  private onStoreError(op: string, err: unknown): void {
    this.observer.onRedisError?.(op);
    if (this.burst) {
      this.burst.count++;
      return;
    }
    this.burst = { count: 0 };
    this.logger.warn(`Redis ${op} failed; reads bypass the cache until it recovers: ${describe(err)}`);
  }

  private onStoreOk(): void {
    if (!this.burst) return;
    this.logger.log(`Redis is back (${this.burst.count} further errors were not logged)`);
    this.burst = undefined;
  }
}

/**
 * Parts of a batch loader's answer, stored as they come: parts passed before the cache's read is in wait in a
 * queue; each part's entries are remembered (by key) so the final answer does not store them again, and
 * each part's store joins the caller's pendingStores.
 */
class PartStores {
  readonly entries = new Map<string, StoredEntry>();
  /** Shared by the stores of the parts and of the rest of the answer. */
  readonly writes: BatchWrites = { details: new Set() };
  private queue: LoadedSets[] = [];
  private discarded = false;
  private store?: (part: LoadedSets) => { items: [string, StoredEntry][]; stored: Promise<void> };

  constructor(private readonly pendingStores: Promise<void>[]) {}

  readonly sink: PartSink = (part) => {
    if (this.discarded) return;
    if (this.store) this.take(part);
    else this.queue.push(part);
  };

  /** Drops the queued parts and any later one: the whole answer is stored instead. */
  discard(): void {
    this.discarded = true;
    this.queue = [];
  }

  /** From now on parts are stored with `store`; queued ones first. Nothing after discard(). */
  start(store: (part: LoadedSets) => { items: [string, StoredEntry][]; stored: Promise<void> }): void {
    if (this.discarded) return;
    this.store = store;
    const queued = this.queue;
    this.queue = [];
    for (const part of queued) this.take(part);
  }

  private take(part: LoadedSets): void {
    const { items, stored } = (this.store as NonNullable<PartStores['store']>)(part);
    for (const [key, e] of items) this.entries.set(key, e);
    this.pendingStores.push(stored);
  }
}

/** What the stores of one batch's parts have done so far (see storeEntries). */
interface BatchWrites {
  /** Asset ids whose details a part wrote (or is writing). */
  details: Set<string>;
  /** The indexes of the ids parts assigned so far (the latest part's). */
  dict?: Promise<DictionaryView | undefined>;
}

/** The details of the entries' assets, out of `all`. */
function detailsOf(items: [string, StoredEntry][], all: Map<string, AssetDetails>): Map<string, AssetDetails> {
  const out = new Map<string, AssetDetails>();
  for (const [, e] of items) {
    for (const id of e.set?.assetIds ?? []) {
      const d = all.get(id);
      if (d !== undefined) out.set(id, d);
    }
  }
  return out;
}

/** Drops the key's flight, unless another has taken its place since. */
function untrack<T>(map: Map<string, Flight<T>>, key: string, flight: Flight<T>): void {
  if (map.get(key) === flight) map.delete(key);
}

/** Whether the map's keys are `order`, in that order. */
function keysAre(map: Map<string, unknown>, order: readonly string[]): boolean {
  if (map.size !== order.length) return false;
  let i = 0;
  for (const k of map.keys()) if (k !== order[i++]) return false;
  return true;
}

/** A stored entry as a read's result with this status, its age as of `now`. */
function resultOf(ctx: KeyCtx, e: StoredEntry, status: CacheStatus, now: number): CachedUserSet {
  return { userId: ctx.userId, set: e.set, status, ageS: ageS(e.loadedAt, now), loadedAt: e.loadedAt };
}

/** Whole seconds since `loadedAt` (never negative: instances' clocks differ slightly). */
function ageS(loadedAt: number, now: number): number {
  return Math.max(0, Math.floor((now - loadedAt) / MS_PER_S));
}

/** An error's message without credentials that a Redis URL might carry. */
function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\/\/[^@/\s]*@/g, '//***@');
}
