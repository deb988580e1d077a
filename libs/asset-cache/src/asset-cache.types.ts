import { I18nString } from '@app/portal-contracts';

/** How a cached read was answered; sent to callers as X-Cache. */
export type CacheStatus = 'HIT' | 'MISS' | 'STALE';

/** Details of one asset of an OU, stored once per OU (never copied into users' entries). */
export interface AssetDetails {
  names: I18nString;
  type?: string;
  typeNames?: I18nString;
}

/** One user's accessible asset ids in upstream order. */
export interface UserAssetSet {
  assetIds: string[];
  total: number;
  complete: boolean;
}

/** Which set: the OU and the resource-type filter (undefined or empty = all types). */
export interface UserSetScope {
  orgId: string;
  types?: string[];
}

/**
 * A cached user set. `set` is null when the portal said the user is not in the OU (negative entry).
 * While an entry is served from the in-process copy, the same object instance is returned, so callers
 * may memoize derived data (serialized bytes) in a WeakMap keyed by it.
 */
export interface CachedUserSet {
  userId: string;
  set: UserAssetSet | null;
  status: CacheStatus;
  /** Seconds since the entry was fetched from the portal. */
  ageS: number;
  /** When the entry was fetched (epoch ms): the same stored entry always reports the same value, so it versions derived data. */
  loadedAt: number;
}

/** What a loader returns: sets by user id (null = not found) and the details of the assets it saw. */
export interface LoadedSets {
  /** May be a getter that builds the map when first read (a loader that gives `inOrder` too). */
  sets: Map<string, UserAssetSet | null>;
  /**
   * The same sets by position: the set of the loader's i-th requested user at i (null = not found), when the loader
   * has them so; read instead of `sets` (a batch of 10,000 users is then no lookup per user).
   */
  inOrder?: readonly (UserAssetSet | null)[];
  /** May be a getter that builds the map when first read: a large load's background store reads it only then. */
  assets: Map<string, AssetDetails>;
}

/**
 * Handed to a batch loader: it may pass a part of its answer (some users' sets, with their details) as soon
 * as that part is known, before it resolves; with `pendingStores`, the cache starts storing that part at
 * once. The loader's final answer must hold the same set objects for those users (otherwise they are
 * stored again from the final answer).
 */
export type PartSink = (part: LoadedSets) => void;

export interface ReadOptions {
  /** Cache-Control: no-cache: skip the cached copy, load, store the fresh result. */
  bypass?: boolean;
  /**
   * Batch reads only: when given, a large load's store (10,000 asset ids or more) is not awaited by getUserSets;
   * its promise is pushed here instead, and the caller must await it before answering (so that another
   * instance asked right after the answer finds the entries), doing its own work (serializing) meanwhile.
   * With `answered` too, the stores it defers are pushed here as well (and must not be awaited before answering).
   */
  pendingStores?: Promise<void>[];
  /**
   * Settles once the caller's answer has been written. A single read's large load (see getUserSet) is stored after
   * it, or after at most 2 s, so that its Redis writes do not compete with sending a 16 MB answer; other
   * instances wait on the lock meanwhile. A batch read loading 1,000 users or more with 100,000 asset ids or more in
   * all stores them after it too (or once 2 s have passed since the read began), so that encoding and writing
   * 10,000 entries does not hold up the answer (its users' in-process copies are made after it too): this
   * instance joins those users' loads until they are stored; another instance asked before then loads them
   * itself. The parts of a load of 1,000 users or more that fails are stored after the answer as well.
   */
  answered?: Promise<void>;
}

export interface AssetCacheObserver {
  onResult?(status: CacheStatus, count: number): void;
  onCoalesced?(): void;
  onLockWait?(): void;
  onRedisError?(op: string): void;
  /** In-process copies left after each sweep of the expired ones (every LOCAL_SWEEP_MS). */
  onLocalCopies?(count: number): void;
}

export interface AssetCacheOptions {
  /** REDIS_URL; when set the cache is Redis. */
  redisUrl?: string;
  /** REDIS_CLUSTER_NODES as host:port strings; when set the cache is a Redis Cluster. */
  clusterNodes?: string[];
  ttlS: number;
  staleS: number;
  negativeTtlS: number;
  /** Random spread on the TTL as a fraction (0.1 = up to 10% shorter). */
  ttlJitter?: number;
  /** Lifetime of the in-process copy in ms (0 = off); invalidated across instances by pub/sub. */
  localTtlMs?: number;
  localMaxEntries?: number;
  /** Redis lock expiry for a cold-key load, and how long waiters wait for its result. */
  lockTtlMs?: number;
  /** Bound on every Redis command before it counts as failed (cache bypass). */
  redisTimeoutMs?: number;
  keyPrefix?: string;
  observer?: AssetCacheObserver;
  /** Most keys the in-process driver keeps (only without Redis). */
  memoryMaxEntries?: number;
  /** Random source in [0, 1) for the TTL spread; injectable for tests. */
  random?: () => number;
  /** Clock in epoch ms; injectable for tests. */
  now?: () => number;
  /** Where the cache logs (Redis failures, once per burst); defaults to a Nest Logger. */
  logger?: AssetCacheLogger;
}

/** The slice of a Nest LoggerService the cache uses. */
export interface AssetCacheLogger {
  log(message: string): void;
  warn(message: string): void;
}

/** Which store backs the cache. */
export type CacheDriverKind = 'redis' | 'cluster' | 'memory';

/** Reachability of the shared store; `none` for the in-process driver. */
export type CacheHealth = 'up' | 'down' | 'none';

export const ASSET_CACHE_OPTIONS = Symbol('ASSET_CACHE_OPTIONS');
