/** Thrown by an invalidation that Redis did not record (unreachable or slow): the caller should answer 503 and retry. */
export class CacheUnavailableError extends Error {
  readonly code = 'CACHE_UNAVAILABLE';

  constructor() {
    super('The shared cache is unreachable; the invalidation was applied to this instance only');
    this.name = 'CacheUnavailableError';
  }
}
