import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_POLL_MS } from './asset-cache.constants';
import { CacheDriver } from './drivers/cache-driver';

/** Bytes of randomness in a lock token. */
const LOCK_TOKEN_BYTES = 12;
/**
 * Lifetimes of the lock a holder keeps renewing it for, and a waiter waits on it: a load that has run this long is
 * taken to be stuck, and the key goes to whoever asks next. Long enough for a big user from a slow portal, short
 * enough that a read which could answer STALE is not held up for minutes behind a load that is failing.
 */
const LOCK_HOLD_LIFETIMES = 3;
/** Longest pause between a waiter's looks at the store: a long wait does not decode the entry 40 times a second. */
const LOCK_POLL_MAX_MS = 250;

/** What waiting for a key's lock came to: the holder's result, or the right to load (with the lock when `token` is set). */
export type LockOutcome<T> = { found: T } | { token?: string };

/**
 * The cross-instance load lock (SET NX PX, compare-and-delete release): one upstream load per cold key across
 * instances sharing the store. A holder renews its lock every third of `ttlMs` until it releases it, for at most
 * LOCK_HOLD_LIFETIMES lifetimes, so a load that takes longer than `ttlMs` (a big user from a slow portal) keeps it and
 * waiters keep waiting for its result. A caller that finds the lock held polls for the holder's result (ever less
 * often) and takes the lock itself once it is free without one; a dead holder stops renewing, so it blocks the key at
 * most `ttlMs`.
 */
export class LoadLock {
  /** The renewal timer of each lock held here, by token. */
  private readonly renewals = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly store: CacheDriver,
    private readonly ttlMs: number,
    private readonly onWait: () => void,
  ) {}

  /** Takes the lock: its token; false when someone holds it; undefined when the store failed. Held until release. */
  async take(key: string): Promise<string | false | undefined> {
    const token = randomBytes(LOCK_TOKEN_BYTES).toString('base64url');
    const got = await this.store.tryLock(key, token, this.ttlMs);
    if (got && !this.closed) this.renew(key, token);
    return got === undefined ? undefined : got && token;
  }

  /**
   * Waits until this caller may load the key, or `find` sees the result another holder stored. `find` runs again
   * right after the lock is taken: a holder may have stored and released between the caller's first read and now.
   */
  async waitOrTake<T>(key: string, find: () => Promise<T | undefined>): Promise<LockOutcome<T>> {
    const deadline = Date.now() + LOCK_HOLD_LIFETIMES * this.ttlMs;
    for (let polls = 0; ; polls++) {
      const token = await this.take(key);
      if (token === undefined) return {};
      if (token) return this.recheck(key, token, find);
      if (polls === 0) this.onWait();
      if (Date.now() >= deadline) return {};
      await sleep(Math.min(LOCK_POLL_MAX_MS, LOCK_POLL_MS * 2 ** Math.floor(polls / 4)));
      const found = await find();
      if (found !== undefined) return { found };
    }
  }

  /** Releases the lock if `token` still holds it. */
  async release(key: string, token: string): Promise<void> {
    this.stopRenewing(token);
    await this.store.unlock(key, token);
  }

  /** Stops renewing every lock held here (the instance is closing; the locks expire by themselves). */
  close(): void {
    this.closed = true;
    for (const token of [...this.renewals.keys()]) this.stopRenewing(token);
  }

  /** Extends the lock every third of its lifetime until released, lost (another holder took it) or held too long. */
  private renew(key: string, token: string): void {
    const until = Date.now() + LOCK_HOLD_LIFETIMES * this.ttlMs;
    const timer = setInterval(
      () => {
        if (Date.now() >= until) return this.stopRenewing(token);
        // A failed store is not a loss: the next renewal tries again, and the lock expires by itself if it stays down.
        void this.store.extendLock(key, token, this.ttlMs).then((held) => held === false && this.stopRenewing(token));
      },
      Math.max(1, Math.floor(this.ttlMs / 3)),
    );
    // A lock being renewed never keeps the process alive.
    timer.unref();
    this.renewals.set(token, timer);
  }

  private stopRenewing(token: string): void {
    clearInterval(this.renewals.get(token));
    this.renewals.delete(token);
  }

  private async recheck<T>(key: string, token: string, find: () => Promise<T | undefined>): Promise<LockOutcome<T>> {
    const found = await find();
    if (found === undefined) return { token };
    await this.release(key, token);
    return { found };
  }
}
