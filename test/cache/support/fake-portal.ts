import { AssetDetails, LoadedSets, UserAssetSet } from '@app/asset-cache';

/** Assets per OU in the fake portal; users see windows of them. */
export const OU_ASSETS = 500;

/** A portal stand-in: deterministic sets, counted calls, optional delay and failure. */
export class FakePortal {
  /** Every loader call, with the users it asked for. */
  readonly calls: string[][] = [];
  delayMs = 0;
  failWith?: Error;
  /** Users the portal does not know (loaders answer null for them). */
  readonly unknown = new Set<string>();
  /** Asset ids of the OU, in upstream order. */
  readonly assetIds = Array.from({ length: OU_ASSETS }, (_, i) => `asset-${i.toString().padStart(4, '0')}`);
  /** Bumped to make the next answers differ from the cached ones. */
  version = 0;

  get count(): number {
    return this.calls.length;
  }

  /** The user's set: a window of 50 assets that depends on the user id and `version`. */
  setOf(userId: string, size = 50): UserAssetSet {
    let h = this.version;
    for (const c of userId) h = (h * 31 + c.charCodeAt(0)) >>> 0;
    const start = size >= OU_ASSETS ? 0 : h % (OU_ASSETS - size);
    const assetIds = this.assetIds.slice(start, start + size);
    return { assetIds, total: assetIds.length, complete: true };
  }

  /** A single-user loader (like asset/list: names only, no type). */
  single(userId: string, size = 50): () => Promise<LoadedSets> {
    return async () => {
      this.calls.push([userId]);
      await this.pause();
      const sets = new Map<string, UserAssetSet | null>();
      const assets = new Map<string, AssetDetails>();
      if (this.unknown.has(userId)) {
        sets.set(userId, null);
      } else {
        const set = this.setOf(userId, size);
        sets.set(userId, set);
        for (const id of set.assetIds) assets.set(id, { names: { default: `name ${id} v${this.version}` } });
      }
      return { sets, assets };
    };
  }

  /** A batch loader (like users/assetList: names and types). */
  readonly batch = async (userIds: string[]): Promise<LoadedSets> => {
    this.calls.push([...userIds]);
    await this.pause();
    const sets = new Map<string, UserAssetSet | null>();
    const assets = new Map<string, AssetDetails>();
    for (const u of userIds) {
      if (this.unknown.has(u)) {
        sets.set(u, null);
        continue;
      }
      const set = this.setOf(u);
      sets.set(u, set);
      for (const id of set.assetIds)
        assets.set(id, { names: { default: `typed ${id}`, zh_CN: `资产 ${id}` }, type: 'inverter', typeNames: { default: 'Inverter' } });
    }
    return { sets, assets };
  };

  private async pause(): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
  }
}

/** A clock that runs in real time and can jump ahead. */
export class JumpClock {
  offsetMs = 0;
  readonly now = (): number => Date.now() + this.offsetMs;
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/** Counts observer calls. */
export function countingObserver() {
  const c = { HIT: 0, MISS: 0, STALE: 0, coalesced: 0, lockWaits: 0, redisErrors: 0 };
  return {
    counts: c,
    observer: {
      onResult: (s: 'HIT' | 'MISS' | 'STALE', n: number) => {
        c[s] += n;
      },
      onCoalesced: () => {
        c.coalesced++;
      },
      onLockWait: () => {
        c.lockWaits++;
      },
      onRedisError: () => {
        c.redisErrors++;
      },
    },
  };
}

/** A logger that records instead of printing. */
export function recordingLogger() {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    logger: {
      log: (message: string) => lines.push({ level: 'log', message }),
      warn: (message: string) => lines.push({ level: 'warn', message }),
    },
  };
}

/** A key prefix no other test uses. */
export function uniquePrefix(tag: string): string {
  return `t-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until the check holds (or fails the test after timeoutMs). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}
