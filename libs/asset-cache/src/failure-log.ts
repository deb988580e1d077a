import { AssetCacheLogger, AssetCacheObserver } from './asset-cache.types';
import { DriverReporter } from './drivers/cache-driver';

/**
 * Store failures, told to the observer each and logged once per burst (a Redis outage is thousands of failed
 * commands): the first failure is logged, and the recovery with how many were not.
 */
export class FailureLog implements DriverReporter {
  /** Failures of the current burst after the first (undefined while healthy). */
  private unlogged?: number;

  constructor(
    private readonly logger: AssetCacheLogger,
    private readonly observer: AssetCacheObserver,
  ) {}

  error(op: string, err: unknown): void {
    this.observer.onRedisError?.(op);
    if (this.unlogged !== undefined) {
      this.unlogged++;
      return;
    }
    this.unlogged = 0;
    this.logger.warn(`Redis ${op} failed; reads bypass the cache until it recovers: ${describe(err)}`);
  }

  ok(): void {
    if (this.unlogged === undefined) return;
    this.logger.log(`Redis is back (${this.unlogged} further errors were not logged)`);
    this.unlogged = undefined;
  }
}

/** An error's message without credentials that a Redis URL might carry. */
export function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\/\/[^@/\s]*@/g, '//***@');
}
