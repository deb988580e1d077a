import { LRUCache } from 'lru-cache';
import { REFRESH_AHEAD_FRACTION } from './asset-cache.constants';
import { StoredEntry } from './entry-codec';
import { refreshAt } from './ttl';

/** Random spread of a copy's lifetime, so copies made together (a batch, a warm-up) do not all expire at once. */
const LOCAL_TTL_JITTER = 0.2;

/** A stored entry kept in process, with the OU and user it belongs to (for invalidations). */
interface LocalCopy {
  orgId: string;
  userId: string;
  entry: StoredEntry;
}

export interface LocalCopiesOptions {
  /** Lifetime of a copy in ms (0 = no copies; Infinity = until the entry's refresh point). */
  ttlMs: number;
  maxEntries: number;
  now: () => number;
  random: () => number;
}

/**
 * In-process copies of stored entries, in front of the store. A copy lives at most `ttlMs` (and never past its
 * entry's refresh point, so refresh-ahead still runs through the store): an invalidation whose pub/sub message
 * was lost is served no longer than that, since the next read checks the store's generations. Invalidations
 * seen here drop copies at once; a load that started before one must not leave a copy (see `epoch`).
 */
export class LocalCopies {
  private readonly lru?: LRUCache<string, LocalCopy>;
  private dropped = 0;

  constructor(private readonly options: LocalCopiesOptions) {
    if (options.ttlMs > 0) {
      // ttlResolution 0: staleness is judged by the injected clock at every read, never by a cached time.
      this.lru = new LRUCache<string, LocalCopy>({ max: options.maxEntries, perf: { now: options.now }, ttlResolution: 0 });
    }
  }

  /** Changes whenever copies are dropped by an invalidation: read it before a load, pass it to `keep` after. */
  get epoch(): number {
    return this.dropped;
  }

  /** Copies held (expired ones included until read or swept). */
  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** The entry's copy, while it lives. */
  get(key: string): StoredEntry | undefined {
    return this.lru?.get(key)?.entry;
  }

  /** Keeps a copy, unless copies were dropped since `epoch` (the entry may predate that invalidation). */
  keep(key: string, orgId: string, userId: string, entry: StoredEntry, epoch: number): void {
    if (!this.lru || epoch !== this.dropped) return;
    const now = this.options.now();
    const life = this.options.ttlMs * (1 - LOCAL_TTL_JITTER * this.options.random());
    const ttl = Math.floor(Math.min(life, refreshAt(entry.loadedAt, entry.freshUntil, REFRESH_AHEAD_FRACTION) - now));
    if (ttl > 0) this.lru.set(key, { orgId, userId, entry }, { ttl });
  }

  /** Drops the copies of an OU (or of one user of it). */
  drop(orgId: string, userId?: string): void {
    this.dropped++;
    if (!this.lru) return;
    const doomed: string[] = [];
    for (const [key, c] of this.lru.entries()) if (c.orgId === orgId && (userId === undefined || c.userId === userId)) doomed.push(key);
    for (const key of doomed) this.lru.delete(key);
  }

  /** Drops every copy (after a resubscription: invalidations may have been missed). */
  clear(): void {
    this.dropped++;
    this.lru?.clear();
  }

  /** Drops the expired copies (so they leave the heap even if never read again); returns how many. */
  sweep(): number {
    if (!this.lru) return 0;
    const before = this.lru.size;
    this.lru.purgeStale();
    return before - this.lru.size;
  }
}
