/** Thrown by an invalidation that Redis did not record or did not confirm to every instance (unreachable or slow): answer 503, retry. */
export class CacheUnavailableError extends Error {
  readonly code = 'CACHE_UNAVAILABLE';

  constructor() {
    super('The shared cache did not record the invalidation, or did not confirm it reached every instance');
    this.name = 'CacheUnavailableError';
  }
}
