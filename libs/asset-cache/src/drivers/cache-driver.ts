import { CacheDriverKind, CacheHealth } from '../asset-cache.types';

/** One write of a batch; a batch goes to Redis as one pipeline. */
export type WriteOp =
  | { op: 'set'; key: string; value: string; ttlMs: number }
  /**
   * Merge asset details into an OU hash: typed details always win, untyped ones never replace typed ones. The hash's
   * DETAILS_VERSION_FIELD becomes `version` when a value changed, or when it has none.
   */
  | { op: 'details'; key: string; ttlMs: number; version: string; fields: [string, string][] }
  | { op: 'del'; key: string }
  /** Renew the lifetime of the keys (all of one OU) that exist; the same lifetime counted from now never shortens one. */
  | { op: 'touch'; keys: string[]; ttlMs: number };

/**
 * The store behind the cache (Redis, Redis Cluster or in-process). Methods never throw for store failures:
 * they report them (observer + burst log) and answer `undefined` / `false`, which the cache treats as a miss.
 */
export interface CacheDriver {
  readonly kind: CacheDriverKind;
  /** True when other processes see the same data (locks and pub/sub matter). */
  readonly shared: boolean;
  connect(): Promise<void>;
  close(): Promise<void>;
  health(): CacheHealth;
  /**
   * Which run of the store this is (Redis's run_id, new at every start): within one run a missing key was evicted,
   * expired or deleted, never lost to a restart. null when the store cannot tell (a Cluster, whose nodes each have
   * their own; in process); undefined when it did not answer.
   */
  runId(): Promise<string | null | undefined>;
  /** Values of the keys (null when absent); undefined when the store failed. */
  mget(keys: string[]): Promise<(string | null)[] | undefined>;
  /** Values of the hash fields; undefined when the store failed. */
  hmget(key: string, fields: string[]): Promise<(string | null)[] | undefined>;
  /**
   * The value of each key, first setting it to the matching `candidates` entry (expiring after `ttlMs`) when the key
   * is absent, atomically per key: two callers creating one key both get the value that was stored. Undefined when
   * the store failed.
   */
  getOrCreate(keys: string[], candidates: string[], ttlMs: number): Promise<string[] | undefined>;
  /** Applies the ops in one round trip; false when the store failed. */
  write(ops: WriteOp[]): Promise<boolean>;
  /**
   * Gives each id its stable small integer in the OU dictionary (creating it with `epochCandidate` when absent)
   * and refreshes its expiry. Answers [epoch, index, index, …]; undefined when the store failed.
   */
  assignIndexes(key: string, epochCandidate: string, ids: string[], ttlMs: number): Promise<string[] | undefined>;
  /** SET NX PX: true when taken, false when held by someone else, undefined when the store failed. */
  tryLock(key: string, token: string, ttlMs: number): Promise<boolean | undefined>;
  /** Releases the lock only if `token` still owns it (compare-and-delete). */
  unlock(key: string, token: string): Promise<void>;
  /** Gives the lock `ttlMs` more if `token` still owns it: true when it did, false when not, undefined when the store failed. */
  extendLock(key: string, token: string, ttlMs: number): Promise<boolean | undefined>;
  /** Broadcasts to every subscriber; false when the store failed. */
  publish(channel: string, message: string): Promise<boolean>;
  /** Subscribes and keeps the subscription (see SubscriptionHandlers). */
  subscribe(channel: string, on: SubscriptionHandlers): Promise<void>;
}

/** What a subscription reports: each message; `resync` once (re)subscribed, since messages may have been missed; `lost` when its connection drops. */
export interface SubscriptionHandlers {
  message: (message: string) => void;
  resync: () => void;
  lost: () => void;
}

/** Field names of the OU id dictionary hash (asset ids never start with '@'). */
export const DICT_EPOCH_FIELD = '@e';
export const DICT_COUNTER_FIELD = '@n';
/**
 * Field of the details hash that names its content: a new token whenever a value changes. The service's ids never
 * start with '@' (ID_PATTERN); the portal's asset ids, stored as fields beside it, are not checked.
 */
export const DETAILS_VERSION_FIELD = '@v';
/** Field of an id's index. */
export const dictIdField = (id: string): string => `i:${id}`;
/** Field of an index's id. */
export const dictIndexField = (index: number): string => `x:${index.toString(36)}`;

/** Receives store failures and successes; the cache turns them into observer calls and burst logs. */
export interface DriverReporter {
  error(op: string, err: unknown): void;
  ok(): void;
}
