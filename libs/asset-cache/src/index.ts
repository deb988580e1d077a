export * from './asset-cache.types';
export * from './asset-cache.errors';
export * from './asset-cache.module';
export { AssetSetCache } from './asset-set-cache';
export type { StoredDetails } from './entry-store';
export { CacheKeys, scopeId } from './keys';
export { coldTurn, forEachSliced, hashSliced, SLICE_ITEMS } from './sliced';
export {
  DEFAULT_KEY_PREFIX,
  DEFAULT_LOCAL_MAX_ENTRIES,
  DEFAULT_LOCAL_TTL_MS,
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_REDIS_TIMEOUT_MS,
  DEFAULT_TTL_JITTER,
  GENERATION_LIFETIME_FACTOR,
  INVALIDATION_ECHO_WAIT_MS,
  RECHECK_GRACE_MS,
} from './asset-cache.constants';
