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
 * A read's result: a fresh object per call, never changed after it is returned. `set` is shared between results of
 * the same stored entry and must not be mutated; derived data (serialized bodies) is memoized on (key, loadedAt).
 */
export interface CachedUserSet {
  userId: string;
  /** Null when the portal said the user is not in the OU (negative entry). */
  set: UserAssetSet | null;
  status: CacheStatus;
  /** Whole seconds since the entry was fetched from the portal. */
  ageS: number;
  /** When the entry was fetched (epoch ms): the same stored entry always reports the same value, so it versions derived data. */
  loadedAt: number;
}

/** What a loader returns: sets by user id (null or absent = not found) and the details of the assets it saw. */
export interface LoadedSets {
  sets: Map<string, UserAssetSet | null>;
  assets: Map<string, AssetDetails>;
}

export interface ReadOptions {
  /** Cache-Control: no-cache: skip the cached copy, load, store the fresh result. */
  bypass?: boolean;
  /** Only data loaded at or after this time (epoch ms) answers: older copies, in process or stored, are reloaded. */
  notBefore?: number;
  /**
   * How a background refresh-ahead of the user loads (getUserSet; the read's own loader when absent): no caller
   * waits for it, so it may take a slower, shared road such as a batched call.
   */
  refreshLoad?: () => Promise<LoadedSets>;
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
  /** Redis lock expiry for a cold-key load, renewed while its holder loads; waiters wait at most three of it. */
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
  /**
   * Whether a loader's error is the upstream's answer (such as "the OU is not found") rather than a failure: no STALE
   * copy stands in for an answer, so what the upstream no longer grants is not served for CACHE_STALE_S more.
   */
  isAnswer?: (err: unknown) => boolean;
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

/** Whether the portal's "OU not found" is remembered, and the OU generation a new one is remembered under (unknown when the store failed). */
export interface OrgMark {
  /** Within negativeTtlS of the portal's "not found", under the OU's current generation. */
  missing: boolean;
  /** Past negativeTtlS but within staleS of it, under the current generation: true only if the portal cannot be asked. */
  missingStale?: boolean;
  /** When the portal's "not found" was remembered (epoch ms). */
  markedAt?: number;
  generation?: string;
}
