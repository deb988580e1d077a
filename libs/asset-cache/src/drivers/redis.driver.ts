import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { CONNECT_TIMEOUT_MS, DISCONNECT_TIMEOUT_MS, RECONNECT_MAX_MS, RECONNECT_STEP_MS } from '../asset-cache.constants';
import { CacheHealth } from '../asset-cache.types';
import { CacheDriver, DriverReporter, SubscriptionHandlers, WriteOp } from './cache-driver';
import {
  ASSIGN_INDEXES_SCRIPT,
  EXTEND_LOCK_SCRIPT,
  GET_OR_CREATE_SCRIPT,
  MERGE_DETAILS_SCRIPT,
  SET_MANY_SCRIPT,
  TOUCH_MANY_SCRIPT,
  UNLOCK_SCRIPT,
} from './lua-scripts';

type Client = Redis | Cluster;

/** The custom commands defined from lua-scripts.ts. */
interface ScriptCommands {
  abffUnlock(key: string, token: string): Promise<number>;
  abffExtendLock(key: string, token: string, ttlMs: number): Promise<number>;
  /** Arrays are flattened into arguments by ioredis (no spread: OUs may have 100k assets). */
  abffAssign(key: string, ttlMs: number, epochCandidate: string, ids: string[]): Promise<string[]>;
  /** numberOfKeys first, then the keys, ttlMs and one candidate per key. */
  abffGetOrCreate(numberOfKeys: number, keys: string[], ttlMs: number, candidates: string[]): Promise<string[]>;
}
interface ScriptPipeline {
  abffMergeDetails(key: string, ttlMs: number, version: string, pairs: string[]): unknown;
  /** numberOfKeys first (the script takes any number of keys), then the keys, then value/ttl pairs. */
  abffSetMany(numberOfKeys: number, ...args: (string | number)[]): unknown;
  abffTouchMany(numberOfKeys: number, ...args: (string | number)[]): unknown;
}

/** Most keys per SET_MANY call. */
const SET_MANY_MAX_KEYS = 1_000;

/** The hash tag of a key (`{...}`, as Redis Cluster reads it), or undefined. */
function hashTag(key: string): string | undefined {
  const open = key.indexOf('{');
  if (open < 0) return undefined;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : undefined;
}

/** Where to connect: a single Redis URL or the seed nodes of a cluster. */
export type RedisTarget = { url: string } | { nodes: string[] };

/** Reconnect forever with a capped linear backoff: Redis coming back must heal the cache without a restart. */
const reconnectDelay = (attempt: number): number => Math.min(attempt * RECONNECT_STEP_MS, RECONNECT_MAX_MS);

/**
 * Redis and Redis Cluster behind CacheDriver. Every command is bounded by `commandTimeout`, nothing queues
 * while disconnected (`enableOfflineQueue: false`), and failures are reported, never thrown.
 */
export class RedisDriver implements CacheDriver {
  readonly kind: 'redis' | 'cluster';
  readonly shared = true;
  private readonly client: Client;
  private subscriber?: Client;
  /** Set by a failed command, cleared by the next success: a reachable but timing-out Redis is 'down' too. */
  private failing = false;
  private closed = false;

  constructor(
    target: RedisTarget,
    timeoutMs: number,
    private readonly reporter: DriverReporter,
  ) {
    const redisOptions: RedisOptions = {
      commandTimeout: timeoutMs,
      connectTimeout: Math.max(CONNECT_TIMEOUT_MS, timeoutMs),
      disconnectTimeout: DISCONNECT_TIMEOUT_MS,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: reconnectDelay,
      lazyConnect: true,
      enableAutoPipelining: true,
    };
    if ('url' in target) {
      this.kind = 'redis';
      this.client = new Redis(target.url, redisOptions);
    } else {
      this.kind = 'cluster';
      const options: ClusterOptions = {
        lazyConnect: true,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        clusterRetryStrategy: reconnectDelay,
        redisOptions: {
          commandTimeout: timeoutMs,
          connectTimeout: redisOptions.connectTimeout,
          disconnectTimeout: DISCONNECT_TIMEOUT_MS,
          maxRetriesPerRequest: 0,
        },
      };
      this.client = new Cluster(target.nodes.map(parseNode), options);
    }
    this.client.defineCommand('abffUnlock', { numberOfKeys: 1, lua: UNLOCK_SCRIPT });
    this.client.defineCommand('abffExtendLock', { numberOfKeys: 1, lua: EXTEND_LOCK_SCRIPT });
    this.client.defineCommand('abffAssign', { numberOfKeys: 1, lua: ASSIGN_INDEXES_SCRIPT });
    this.client.defineCommand('abffMergeDetails', { numberOfKeys: 1, lua: MERGE_DETAILS_SCRIPT });
    this.client.defineCommand('abffSetMany', { lua: SET_MANY_SCRIPT });
    this.client.defineCommand('abffTouchMany', { lua: TOUCH_MANY_SCRIPT });
    this.client.defineCommand('abffGetOrCreate', { lua: GET_OR_CREATE_SCRIPT });
    this.client.on('error', (err) => this.fail('connection', err));
    this.client.on('ready', () => this.succeed());
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      // Not fatal: the client keeps reconnecting and the cache bypasses Redis until it is back.
      this.fail('connect', err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscriber?.disconnect();
    this.client.disconnect();
  }

  health(): CacheHealth {
    return this.client.status === 'ready' && !this.failing ? 'up' : 'down';
  }

  async runId(): Promise<string | null | undefined> {
    if (this.client instanceof Cluster) return null;
    const info = await this.run('info', () => this.client.info('server'));
    return info === undefined ? undefined : (/^run_id:(\w+)/m.exec(info)?.[1] ?? null);
  }

  async mget(keys: string[]): Promise<(string | null)[] | undefined> {
    return this.run('mget', () => this.client.mget(keys));
  }

  async hmget(key: string, fields: string[]): Promise<(string | null)[] | undefined> {
    if (fields.length === 0) return [];
    return this.run('hmget', () => (this.client.hmget as unknown as (k: string, f: string[]) => Promise<(string | null)[]>)(key, fields));
  }

  async getOrCreate(keys: string[], candidates: string[], ttlMs: number): Promise<string[] | undefined> {
    if (keys.length === 0) return [];
    return this.run('getOrCreate', () => (this.client as unknown as ScriptCommands).abffGetOrCreate(keys.length, keys, ttlMs, candidates));
  }

  async write(ops: WriteOp[]): Promise<boolean> {
    if (ops.length === 0) return true;
    const done = await this.run('write', async () => {
      const p = this.client.pipeline();
      // Runs of SETs of one hash tag (one OU's entries) go as one script call per SET_MANY_MAX_KEYS keys:
      // 10,000 users cost ten commands, not 10,000 (ioredis' per-command work dominated a cold batch).
      let run: { tag: string; keys: string[]; args: (string | number)[] } | undefined;
      const flush = (): void => {
        if (!run) return;
        (p as unknown as ScriptPipeline).abffSetMany(run.keys.length, ...run.keys, ...run.args);
        run = undefined;
      };
      for (const o of ops) {
        const tag = o.op === 'set' ? hashTag(o.key) : undefined;
        if (run && (tag !== run.tag || run.keys.length >= SET_MANY_MAX_KEYS)) flush();
        switch (o.op) {
          case 'set': {
            if (tag === undefined) {
              p.set(o.key, o.value, 'PX', o.ttlMs);
              break;
            }
            run ??= { tag, keys: [], args: [] };
            run.keys.push(o.key);
            run.args.push(o.value, o.ttlMs);
            break;
          }
          case 'del':
            p.del(o.key);
            break;
          case 'touch':
            if (o.keys.length > 0) (p as unknown as ScriptPipeline).abffTouchMany(o.keys.length, ...o.keys, o.ttlMs);
            break;
          case 'details':
            (p as unknown as ScriptPipeline).abffMergeDetails(o.key, o.ttlMs, o.version, o.fields.flat());
            break;
        }
      }
      flush();
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      return true;
    });
    return done === true;
  }

  async assignIndexes(key: string, epochCandidate: string, ids: string[], ttlMs: number): Promise<string[] | undefined> {
    return this.run('assign', () => (this.client as unknown as ScriptCommands).abffAssign(key, ttlMs, epochCandidate, ids));
  }

  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean | undefined> {
    const r = await this.run('lock', () => this.client.set(key, token, 'PX', ttlMs, 'NX'));
    return r === undefined ? undefined : r === 'OK';
  }

  async unlock(key: string, token: string): Promise<void> {
    await this.run('unlock', () => (this.client as unknown as ScriptCommands).abffUnlock(key, token));
  }

  async extendLock(key: string, token: string, ttlMs: number): Promise<boolean | undefined> {
    const r = await this.run('lock', () => (this.client as unknown as ScriptCommands).abffExtendLock(key, token, ttlMs));
    return r === undefined ? undefined : r === 1;
  }

  async publish(channel: string, message: string): Promise<boolean> {
    return (await this.run('publish', () => this.client.publish(channel, message))) !== undefined;
  }

  async subscribe(channel: string, on: SubscriptionHandlers): Promise<void> {
    // A dedicated connection (subscribers cannot run commands). It (re)subscribes on every ready, and each
    // (re)connect may have missed messages, so the cache resyncs once subscribed. SUBSCRIBE has no timeout: a
    // reply taken as lost would leave the instance unsubscribed on a live connection.
    const overrides = { enableOfflineQueue: true, lazyConnect: false, autoResubscribe: false, maxRetriesPerRequest: null, commandTimeout: undefined };
    const sub =
      this.client instanceof Cluster
        ? this.client.duplicate(undefined, {
            ...overrides,
            redisOptions: { ...this.client.options.redisOptions, maxRetriesPerRequest: null, commandTimeout: undefined },
          })
        : this.client.duplicate({ ...overrides, enableAutoPipelining: false });
    this.subscriber = sub;
    let first: () => void = () => undefined;
    const subscribed = new Promise<void>((resolve) => (first = resolve));
    sub.on('error', (err) => this.fail('subscriber', err));
    // From here until the next subscription, invalidations published elsewhere pass this instance unseen.
    sub.on('close', () => on.lost());
    sub.on('ready', () => {
      sub.subscribe(channel).then(
        () => {
          on.resync();
          first();
        },
        (err: unknown) => this.fail('subscribe', err),
      );
    });
    sub.on('message', (ch: string, msg: string) => {
      if (ch === channel) on.message(msg);
    });
    // Start-up waits for the subscription (bounded): reads before it could miss invalidations.
    const timer = setTimeout(first, CONNECT_TIMEOUT_MS);
    await subscribed;
    clearTimeout(timer);
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.closed) return undefined;
    try {
      const r = await fn();
      if (this.failing) this.succeed();
      return r;
    } catch (err) {
      this.fail(op, err);
      return undefined;
    }
  }

  private fail(op: string, err: unknown): void {
    if (this.closed) return;
    this.failing = true;
    this.reporter.error(op, err);
  }

  private succeed(): void {
    this.failing = false;
    this.reporter.ok();
  }
}

/** `host:port` (or `redis://host:port`) to an ioredis cluster node. */
function parseNode(node: string): { host: string; port: number } {
  const bare = node.trim().replace(/^rediss?:\/\//, '');
  const at = bare.lastIndexOf(':');
  return { host: bare.slice(0, at), port: Number(bare.slice(at + 1)) };
}
