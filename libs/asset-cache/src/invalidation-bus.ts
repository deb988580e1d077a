import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { INVALIDATION_ECHO_WAIT_MS } from './asset-cache.constants';
import { AssetCacheLogger } from './asset-cache.types';
import { CacheDriver } from './drivers/cache-driver';

/** Bytes of randomness that tell this instance's messages apart. */
const NONCE_BYTES = 8;

/** What an invalidation concerns: an OU, or one user of it. */
export interface Invalidation {
  orgId: string;
  userId?: string;
}

/** The message on the wire (short field names: every instance receives every message). */
interface Message {
  o: string;
  u?: string;
  n: string;
}

/**
 * Invalidations carried to every instance's in-process copies over pub/sub. A publisher waits for its own message
 * to come back: by then Redis has handed it to every subscriber, so a read sent to another instance after the
 * DELETE answered finds no old copy. Without the echo nothing says the others heard it, so the DELETE fails.
 */
export class InvalidationBus {
  /** Invalidations this instance published and is waiting to receive back, by nonce. */
  private readonly echoes = new Map<string, () => void>();
  private subscribed = false;
  /** Past start-up, a subscription is a resubscription: Redis was lost and is back (see settled). */
  private started = false;
  private resubscribedAt = Number.NEGATIVE_INFINITY;

  /**
   * `settleMs`: the longest another instance's Redis client may take to reconnect after this one did (its reconnect
   * backoff's cap plus a connect's bound).
   */
  constructor(
    private readonly store: CacheDriver,
    private readonly channel: string,
    private readonly logger: AssetCacheLogger,
    private readonly settleMs = 0,
  ) {}

  /** True while every invalidation published reaches this instance: subscribed (or no shared store: nothing to miss). */
  get listening(): boolean {
    return !this.store.shared || this.subscribed;
  }

  /**
   * Calls `onInvalidation` for every message; `onResync` when (re)subscribed, since messages may have been missed;
   * `onLost` when the subscription's connection drops.
   */
  async subscribe(onInvalidation: (inv: Invalidation) => void, onResync: () => void, onLost: () => void = () => undefined): Promise<void> {
    await this.store.subscribe(this.channel, {
      message: (raw) => this.receive(raw, onInvalidation),
      resync: () => {
        this.subscribed = true;
        if (this.started) this.resubscribedAt = Date.now();
        onResync();
      },
      lost: () => {
        this.subscribed = false;
        onLost();
      },
    });
    this.started = true;
  }

  /**
   * Publishes and waits (at most INVALIDATION_ECHO_WAIT_MS) for the echo: true once it came back, false when it did
   * not or `awaitEcho` is false. The wait does not depend on PUBLISH's reply: one that timed out here may still reach
   * Redis and the others later. Without a shared store there is no one to wait for.
   */
  async publish(inv: Invalidation, { awaitEcho = true }: { awaitEcho?: boolean } = {}): Promise<boolean> {
    const nonce = randomBytes(NONCE_BYTES).toString('hex');
    const echoed = new Promise<boolean>((resolve) => this.echoes.set(nonce, () => resolve(true)));
    const message: Message = { o: inv.orgId, u: inv.userId, n: nonce };
    await this.store.publish(this.channel, JSON.stringify(message));
    const heard = !this.store.shared || (awaitEcho && (await withinEchoWait(echoed)));
    this.echoes.delete(nonce);
    if (heard) await this.settled();
    return heard;
  }

  /**
   * Waits until settleMs have passed since this instance resubscribed. While an instance's Redis client is down it
   * serves its in-process copies (no invalidation can be recorded then); once Redis is back, each instance reconnects
   * on its own schedule, and one that has not yet still serves them. An invalidation answered 204 before every
   * instance could have reconnected might be undone there, so it is answered once that time has passed.
   */
  private async settled(): Promise<void> {
    const waitMs = this.resubscribedAt + this.settleMs - Date.now();
    if (waitMs > 0) await sleep(waitMs);
  }

  private receive(raw: string, onInvalidation: (inv: Invalidation) => void): void {
    let m: Partial<Record<keyof Message, unknown>>;
    try {
      m = JSON.parse(raw) as typeof m;
    } catch {
      m = {};
    }
    if (typeof m.o !== 'string') {
      this.logger.warn('ignored a malformed invalidation message');
      return;
    }
    onInvalidation({ orgId: m.o, userId: typeof m.u === 'string' ? m.u : undefined });
    if (typeof m.n === 'string') this.echoes.get(m.n)?.();
  }
}

/** Whether `echoed` resolved within INVALIDATION_ECHO_WAIT_MS; the timer is cancelled then, so it holds no closing process. */
async function withinEchoWait(echoed: Promise<boolean>): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([echoed, sleep(INVALIDATION_ECHO_WAIT_MS, false, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}
