/** Defaults of AssetCacheOptions and the fixed tuning numbers of the cache, in one place. */

/** Default key prefix; every key starts with it (no braces: the OU is the only hash tag). */
export const DEFAULT_KEY_PREFIX = 'abff';
/** Default TTL spread: up to 10% shorter, so keys loaded together do not expire together. */
export const DEFAULT_TTL_JITTER = 0.1;
/** Default lifetime of the in-process copy in front of Redis: short, it bounds how long a copy outlives an invalidation this instance could not hear (cut off from a Redis others reach). */
export const DEFAULT_LOCAL_TTL_MS = 1_000;
/** Default number of user sets kept in the in-process copy. */
export const DEFAULT_LOCAL_MAX_ENTRIES = 10_000;
/** Default number of keys of the in-process driver (used without Redis). */
export const DEFAULT_MEMORY_MAX_ENTRIES = 100_000;
/** Default Redis lock expiry for a cold-key load (renewed while held, at most three lifetimes; see LoadLock). */
export const DEFAULT_LOCK_TTL_MS = 5_000;
/** Default bound on one Redis command before it counts as failed. */
export const DEFAULT_REDIS_TIMEOUT_MS = 250;

/**
 * Longest wait for an invalidation's own pub/sub message to come back before it is answered as failed: well above
 * a command's timeout, since a PUBLISH whose reply timed out may still be delivered late.
 */
export const INVALIDATION_ECHO_WAIT_MS = 2_000;
/** How often a waiter looks for the lock holder's result. */
export const LOCK_POLL_MS = 25;
/**
 * A hit late in its fresh lifetime starts one background refresh: from a point between the last 10% and the last
 * 30% of it, spread per key and load (see refreshPoint), so that entries loaded together are not refreshed together.
 */
export const REFRESH_AHEAD_MIN_FRACTION = 0.1;
export const REFRESH_AHEAD_MAX_FRACTION = 0.3;
/** Redis reconnect backoff: step per attempt and cap. */
export const RECONNECT_STEP_MS = 100;
export const RECONNECT_MAX_MS = 2_000;
/** TCP connect bound for Redis (commands themselves are bounded by redisTimeoutMs). */
export const CONNECT_TIMEOUT_MS = 2_000;
/** How long close() lets a half-dead socket linger before destroying it. */
export const DISCONNECT_TIMEOUT_MS = 300;
/**
 * Generations and the OU id dictionary live this factor of (ttl + stale): longer than any entry written under them,
 * so they rarely expire under live entries (and when one does, its entries only become misses).
 */
export const GENERATION_LIFETIME_FACTOR = 2;
/** Most OUs whose id dictionary is mirrored in process. */
export const DICTIONARY_MAX_ORGS = 1_000;
/** Version tag of the entry encoding; entries of another version are misses. */
export const ENTRY_VERSION = '2';

/**
 * How long a copy stays after its lifetime, for a cheap re-check: if the store's generations are still those it was
 * loaded under, it lives on without the entry being read and decoded again (the hot set's copies all come due).
 */
export const RECHECK_GRACE_MS = 10_000;
