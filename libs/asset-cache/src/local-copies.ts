import { LRUCache } from 'lru-cache';
import { RECHECK_GRACE_MS } from './asset-cache.constants';
import { StoredEntry } from './entry-codec';
import { refreshPoint } from './ttl';

/** Random spread of a copy's lifetime, so copies made together (a batch, a warm-up) do not all expire at once. */
const LOCAL_TTL_JITTER = 0.2;

/** A stored entry kept in process, with the OU and user it belongs to (for invalidations). */
export interface LocalCopy {
  orgId: string;
  userId: string;
  entry: StoredEntry;
  /** End of the copy's lifetime (epoch ms); after it, the copy is served only once re-checked. */
  expiresAt: number;
  /** Of a fallback: the run of the store when it was kept (see CacheDriver.runId), when known. */
  run?: string | null;
  /** Of a fallback: the subscription (counted by the cache) it was kept under. */
  subscription?: number;
}

export interface LocalCopiesOptions {
  /** Lifetime of a copy in ms (0 = no copies; Infinity = until the entry's refresh point). */
  ttlMs: number;
  maxEntries: number;
  /** Keep each user's last entry as a STALE-only fallback until its stale window ends (for when Redis is gone). */
  fallbacks: boolean;
  /** How long an entry may be served STALE past its fresh lifetime. */
  staleMs: number;
  now: () => number;
  random: () => number;
  /** The run of the store as last read (see CacheDriver.runId) and the current subscription, recorded with each fallback. */
  run: () => string | null | undefined;
  subscription: () => number;
}

/** How a copy is kept. */
export interface KeepOptions {
  /**
   * The entry is past its refresh point and its refresh-ahead has started: the copy may live until the entry's
   * freshUntil, and the refresh's entry replaces it when it lands. Without this, a due user's every read would go to
   * the store until then, and a wave of users coming due together would read Redis instead of memory.
   */
  refreshing?: boolean;
}

/**
 * In-process copies of stored entries, in front of the store. A copy lives at most `ttlMs` (and never past its
 * entry's refresh point, so that the first hit past it reads the store, which shows whether another instance has
 * refreshed it already, and starts refresh-ahead otherwise; see KeepOptions): an invalidation this instance could not
 * hear is served no longer than that, since the next read checks the store's generations (the cache's
 * `recheck`: the same generations give the copy a new lifetime, without reading the entry). Invalidations
 * seen here drop copies at once; a load that started before one must not leave a copy (see `epoch`).
 *
 * Beside the copies, each user's last entry stays as a fallback until its stale window ends: never a HIT, only
 * served when the store has no current entry and the load fails (Redis gone or emptied while the portal fails).
 * Invalidations seen here drop fallbacks too; a resubscription does not (the cache checks them against the store).
 */
export class LocalCopies {
  private readonly lru?: LRUCache<string, LocalCopy>;
  private readonly fallbacks?: LRUCache<string, LocalCopy>;
  private dropped = 0;

  constructor(private readonly options: LocalCopiesOptions) {
    // ttlResolution 0: staleness is judged by the injected clock at every read, never by a cached time.
    const lruOptions = { max: options.maxEntries, perf: { now: options.now }, ttlResolution: 0 };
    if (options.ttlMs > 0) this.lru = new LRUCache<string, LocalCopy>(lruOptions);
    if (options.fallbacks) this.fallbacks = new LRUCache<string, LocalCopy>(lruOptions);
  }

  /** Changes whenever copies are dropped by an invalidation: read it before a load, pass it to `keep` after. */
  get epoch(): number {
    return this.dropped;
  }

  /** Copies held (expired ones included until their grace ends and they are swept). */
  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** The entry's copy, while it lives. */
  get(key: string): StoredEntry | undefined {
    const copy = this.lru?.get(key);
    return copy && this.options.now() < copy.expiresAt ? copy.entry : undefined;
  }

  /** The entry's copy when its lifetime is over but its grace is not (see RECHECK_GRACE_MS). */
  expired(key: string): LocalCopy | undefined {
    const copy = this.lru?.get(key);
    return copy && this.options.now() >= copy.expiresAt ? copy : undefined;
  }

  /** Fallbacks held (expired ones included until read or swept). */
  get fallbackCount(): number {
    return this.fallbacks?.size ?? 0;
  }

  /** The user's last entry while its stale window lasts (whatever the copy's lifetime). */
  fallback(key: string): LocalCopy | undefined {
    return this.fallbacks?.get(key);
  }

  /** Every fallback held, by key (expired ones skipped). */
  *allFallbacks(): Iterable<[string, LocalCopy]> {
    if (this.fallbacks) yield* this.fallbacks.entries();
  }

  /** Keeps a copy and the fallback, unless copies were dropped since `epoch` (the entry may predate that invalidation). */
  keep(key: string, orgId: string, userId: string, entry: StoredEntry, epoch: number, opts: KeepOptions = {}): void {
    if (epoch !== this.dropped) return;
    const now = this.options.now();
    const lastsMs = Math.floor(entry.freshUntil + this.options.staleMs - now);
    if (this.fallbacks && lastsMs > 0)
      this.fallbacks.set(key, { orgId, userId, entry, expiresAt: now, run: this.options.run(), subscription: this.options.subscription() }, { ttl: lastsMs });
    if (!this.lru) return;
    const life = this.options.ttlMs * (1 - LOCAL_TTL_JITTER * this.options.random());
    const end = opts.refreshing ? entry.freshUntil : refreshPoint(key, entry);
    const ttl = Math.floor(Math.min(life, end - now));
    if (ttl > 0) this.lru.set(key, { orgId, userId, entry, expiresAt: now + ttl }, { ttl: ttl + RECHECK_GRACE_MS });
  }

  /** Drops the copies and fallbacks of an OU (or of one user of it). */
  drop(orgId: string, userId?: string): void {
    this.dropped++;
    for (const lru of [this.lru, this.fallbacks]) {
      if (!lru) continue;
      const doomed: string[] = [];
      for (const [key, c] of lru.entries()) if (c.orgId === orgId && (userId === undefined || c.userId === userId)) doomed.push(key);
      for (const key of doomed) lru.delete(key);
    }
  }

  /** Drops one fallback (an invalidation this instance missed was found in the store). */
  dropFallback(key: string): void {
    this.fallbacks?.delete(key);
  }

  /** Drops every copy (after a resubscription: invalidations may have been missed); fallbacks are checked by the cache. */
  clear(): void {
    this.dropped++;
    this.lru?.clear();
  }

  /** Drops everything (on close). */
  clearAll(): void {
    this.clear();
    this.fallbacks?.clear();
  }

  /** Drops the expired copies and fallbacks (so they leave the heap even if never read again); returns how many copies. */
  sweep(): number {
    this.fallbacks?.purgeStale();
    if (!this.lru) return 0;
    const before = this.lru.size;
    this.lru.purgeStale();
    return before - this.lru.size;
  }
}
