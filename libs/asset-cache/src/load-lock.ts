import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_POLL_MS } from './asset-cache.constants';
import { CacheDriver } from './drivers/cache-driver';

/** Bytes of randomness in a lock token. */
const LOCK_TOKEN_BYTES = 12;

/** What waiting for a key's lock came to: the holder's result, or the right to load (with the lock when `token` is set). */
export type LockOutcome<T> = { found: T } | { token?: string };

/**
 * The cross-instance load lock (SET NX PX, compare-and-delete release): one upstream load per cold key across
 * instances sharing the store. A caller that finds the lock held polls for the holder's result and takes the lock
 * itself once it is free without one; a dead holder blocks the key at most `ttlMs`.
 */
export class LoadLock {
  constructor(
    private readonly store: CacheDriver,
    private readonly ttlMs: number,
    private readonly onWait: () => void,
  ) {}

  /** Takes the lock: its token; false when someone holds it; undefined when the store failed. */
  async take(key: string): Promise<string | false | undefined> {
    const token = randomBytes(LOCK_TOKEN_BYTES).toString('base64url');
    const got = await this.store.tryLock(key, token, this.ttlMs);
    return got === undefined ? undefined : got && token;
  }

  /**
   * Waits until this caller may load the key, or `find` sees the result another holder stored. `find` runs again
   * right after the lock is taken: a holder may have stored and released between the caller's first read and now.
   */
  async waitOrTake<T>(key: string, find: () => Promise<T | undefined>): Promise<LockOutcome<T>> {
    const deadline = Date.now() + this.ttlMs;
    for (let waited = false; ; waited = true) {
      const token = await this.take(key);
      if (token === undefined) return {};
      if (token) return this.recheck(key, token, find);
      if (!waited) this.onWait();
      if (Date.now() >= deadline) return {};
      await sleep(LOCK_POLL_MS);
      const found = await find();
      if (found !== undefined) return { found };
    }
  }

  /** Releases the lock if `token` still holds it. */
  async release(key: string, token: string): Promise<void> {
    await this.store.unlock(key, token);
  }

  private async recheck<T>(key: string, token: string, find: () => Promise<T | undefined>): Promise<LockOutcome<T>> {
    const found = await find();
    if (found === undefined) return { token };
    await this.release(key, token);
    return { found };
  }
}
