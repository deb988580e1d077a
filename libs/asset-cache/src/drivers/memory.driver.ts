import { LRUCache } from 'lru-cache';
import { CacheHealth } from '../asset-cache.types';
import { isTypedDetails } from '../entry-codec';
import {
  CacheDriver,
  DETAILS_VERSION_FIELD,
  DICT_COUNTER_FIELD,
  DICT_EPOCH_FIELD,
  dictIdField,
  dictIndexField,
  SubscriptionHandlers,
  WriteOp,
} from './cache-driver';

type Slot = { kind: 's'; value: string; expiresAt: number } | { kind: 'h'; value: Map<string, string>; expiresAt: number };

/**
 * In-process store with the same semantics as the Redis driver (expiring strings and hashes, NX locks),
 * bounded by an LRU. Used when neither REDIS_URL nor REDIS_CLUSTER_NODES is set: one instance, no sharing.
 */
export class MemoryDriver implements CacheDriver {
  readonly kind = 'memory' as const;
  readonly shared = false;
  private readonly store: LRUCache<string, Slot>;
  private readonly channels = new Map<string, ((message: string) => void)[]>();

  constructor(
    maxEntries: number,
    private readonly now: () => number,
  ) {
    this.store = new LRUCache<string, Slot>({ max: maxEntries });
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {
    this.store.clear();
    this.channels.clear();
  }

  health(): CacheHealth {
    return 'none';
  }

  async runId(): Promise<null> {
    return null;
  }

  async mget(keys: string[]): Promise<(string | null)[]> {
    return keys.map((k) => this.str(k));
  }

  async hmget(key: string, fields: string[]): Promise<(string | null)[]> {
    const h = this.hash(key, false);
    return fields.map((f) => h?.get(f) ?? null);
  }

  async getOrCreate(keys: string[], candidates: string[], ttlMs: number): Promise<string[]> {
    return keys.map((key, i) => {
      const v = this.str(key);
      if (v !== null) return v;
      this.store.set(key, { kind: 's', value: candidates[i], expiresAt: this.now() + ttlMs });
      return candidates[i];
    });
  }

  async write(ops: WriteOp[]): Promise<boolean> {
    const now = this.now();
    for (const o of ops) {
      switch (o.op) {
        case 'set':
          this.store.set(o.key, { kind: 's', value: o.value, expiresAt: now + o.ttlMs });
          break;
        case 'del':
          this.store.delete(o.key);
          break;
        case 'touch':
          for (const key of o.keys) this.expire(key, now + o.ttlMs);
          break;
        case 'details': {
          // As MERGE_DETAILS_SCRIPT.
          const h = this.hash(o.key, true) as Map<string, string>;
          let changed = false;
          for (const [id, v] of o.fields) {
            const cur = h.get(id);
            if (cur !== v && (isTypedDetails(v) || cur === undefined || !isTypedDetails(cur))) {
              h.set(id, v);
              changed = true;
            }
          }
          if (changed || !h.has(DETAILS_VERSION_FIELD)) h.set(DETAILS_VERSION_FIELD, o.version);
          this.expire(o.key, now + o.ttlMs);
          break;
        }
      }
    }
    return true;
  }

  async assignIndexes(key: string, epochCandidate: string, ids: string[], ttlMs: number): Promise<string[]> {
    const h = this.hash(key, true) as Map<string, string>;
    let epoch = h.get(DICT_EPOCH_FIELD);
    if (epoch === undefined) h.set(DICT_EPOCH_FIELD, (epoch = epochCandidate));
    const out = [epoch];
    for (const id of ids) {
      let idx = h.get(dictIdField(id));
      if (idx === undefined) {
        const n = Number(h.get(DICT_COUNTER_FIELD) ?? 0) + 1;
        h.set(DICT_COUNTER_FIELD, String(n));
        idx = String(n);
        h.set(dictIdField(id), idx);
        h.set(dictIndexField(n), id);
      }
      out.push(idx);
    }
    this.expire(key, this.now() + ttlMs);
    return out;
  }

  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.str(key) !== null) return false;
    this.store.set(key, { kind: 's', value: token, expiresAt: this.now() + ttlMs });
    return true;
  }

  async unlock(key: string, token: string): Promise<void> {
    if (this.str(key) === token) this.store.delete(key);
  }

  async extendLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    if (this.str(key) !== token) return false;
    this.expire(key, this.now() + ttlMs);
    return true;
  }

  async publish(channel: string, message: string): Promise<boolean> {
    for (const fn of this.channels.get(channel) ?? []) fn(message);
    return true;
  }

  async subscribe(channel: string, on: SubscriptionHandlers): Promise<void> {
    this.channels.set(channel, [...(this.channels.get(channel) ?? []), on.message]);
  }

  private live(key: string): Slot | undefined {
    const s = this.store.get(key);
    if (s && s.expiresAt <= this.now()) {
      this.store.delete(key);
      return undefined;
    }
    return s;
  }

  private str(key: string): string | null {
    const s = this.live(key);
    return s?.kind === 's' ? s.value : null;
  }

  private hash(key: string, create: boolean): Map<string, string> | undefined {
    const s = this.live(key);
    if (s?.kind === 'h') return s.value;
    if (!create) return undefined;
    const value = new Map<string, string>();
    this.store.set(key, { kind: 'h', value, expiresAt: Number.POSITIVE_INFINITY });
    return value;
  }

  private expire(key: string, at: number): void {
    const s = this.store.get(key);
    if (s) s.expiresAt = at;
  }
}
