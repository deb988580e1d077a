import { AssetDetails, CacheKeys, scopeId, SLICE_ITEMS } from '@app/asset-cache';
import { CacheDriver } from '@app/asset-cache/drivers/cache-driver';
import { RedisDriver } from '@app/asset-cache/drivers/redis.driver';
import { StoredEntry } from '@app/asset-cache/entry-codec';
import { EntryKey, EntryStore } from '@app/asset-cache/entry-store';
import { uniquePrefix } from './support/fake-portal';
import Redis from 'ioredis';
import { TEST_REDIS_URL } from '../support/test-redis';

const ORG = 'org-w';
const HOUR_MS = 3_600_000;

/** The real Redis driver, its calls counted by name (the store under test talks to Redis through it). */
function counted(driver: CacheDriver): { driver: CacheDriver; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(driver, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.set(String(prop), (calls.get(String(prop)) ?? 0) + 1);
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { driver: proxy, calls };
}

describe('EntryStore on Redis: writes of one OU in one turn', () => {
  let redis: RedisDriver;
  let calls: Map<string, number>;
  let store: EntryStore;
  let keys: CacheKeys;

  beforeEach(async () => {
    redis = new RedisDriver({ url: TEST_REDIS_URL }, 2_000, { error: () => undefined, ok: () => undefined });
    await redis.connect();
    const c = counted(redis);
    calls = c.calls;
    keys = new CacheKeys(uniquePrefix('store'));
    store = storeOn(c.driver);
  });

  afterEach(() => redis.close());

  /** An instance's store on `driver`, under the test's keys. */
  const storeOn = (driver: CacheDriver): EntryStore =>
    new EntryStore(driver, keys, { longLifeMs: HOUR_MS, staleMs: HOUR_MS, rememberDetails: false, now: Date.now });

  const userKey = (userId: string): EntryKey => ({ key: keys.userSet(ORG, scopeId(undefined), userId), orgId: ORG, userId });

  /** An entry of these asset ids, under the generations a read found for the user. */
  async function entryOf(userId: string, assetIds: string[]): Promise<StoredEntry> {
    const found = await store.read(ORG, [userKey(userId)], { entries: false });
    const now = Date.now();
    return { gens: found![0].gens, loadedAt: now, freshUntil: now + HOUR_MS, set: { assetIds, total: assetIds.length, complete: true } };
  }

  const named = (ids: string[], d: (id: string) => AssetDetails): Map<string, AssetDetails> => new Map(ids.map((id) => [id, d(id)]));

  it('are stored as one: one dictionary script and one details merge for all, and every entry reads back', async () => {
    const sets = { a: ['x1', 'x2', 'x3'], b: ['x2', 'x3', 'x4'], c: ['x5'] };
    const entries = Object.fromEntries(await Promise.all(Object.entries(sets).map(async ([u, ids]) => [u, await entryOf(u, ids)] as const)));
    calls.clear();
    // three callers in the same turn, as the users of one users/assetList answer
    await Promise.all(
      Object.entries(sets).map(([u, ids]) =>
        store.write(
          ORG,
          [[userKey(u), entries[u]]],
          named(ids, (id) => ({ names: { default: `name ${id}` } })),
        ),
      ),
    );
    expect(calls.get('assignIndexes')).toBe(1);
    // one write of the details, one of the entries
    expect(calls.get('write')).toBe(2);

    const read = await store.read(ORG, ['a', 'b', 'c'].map(userKey));
    expect(read!.map((r) => r.entry?.set?.assetIds)).toEqual([sets.a, sets.b, sets.c]);
    const details = await store.details(ORG, ['x1', 'x4', 'x5']);
    expect([...details.keys()].sort()).toEqual(['x1', 'x4', 'x5']);
  });

  it('a join with a set bigger than a slice stores every entry and every detail', async () => {
    const big = Array.from({ length: SLICE_ITEMS * 2 + 500 }, (_, i) => `b${i}`);
    const [bigEntry, smallEntry] = await Promise.all([entryOf('big', big), entryOf('small', ['b1', 's1'])]);
    calls.clear();
    await Promise.all([
      store.write(
        ORG,
        [[userKey('big'), bigEntry]],
        named(big, (id) => ({ names: { default: id } })),
      ),
      store.write(
        ORG,
        [[userKey('small'), smallEntry]],
        named(['b1', 's1'], (id) => ({ names: { default: id } })),
      ),
    ]);
    expect(calls.get('assignIndexes')).toBe(1);
    const read = await store.read(ORG, [userKey('big'), userKey('small')]);
    expect(read!.map((r) => r.entry?.set?.assetIds)).toEqual([big, ['b1', 's1']]);
    const details = await store.details(ORG, [...big, 's1']);
    expect(details.size).toBe(big.length + 1);
  });

  it("renews the OU's and the user's generation with each entry written under them", async () => {
    const entry = await entryOf('g', ['g1']);
    const raw = new Redis(TEST_REDIS_URL);
    try {
      const gens = [keys.orgGeneration(ORG), keys.userGeneration(ORG, 'g')];
      // Generations near their end, as after a long run of writes under them.
      for (const k of gens) expect(await raw.pexpire(k, 5_000)).toBe(1);
      await store.write(
        ORG,
        [[userKey('g'), entry]],
        named(['g1'], () => ({ names: {} })),
      );
      for (const k of gens) expect(await raw.pttl(k)).toBeGreaterThan(HOUR_MS - 60_000);
      // An entry written under them still counts.
      expect((await store.read(ORG, [userKey('g')]))![0].entry?.set?.assetIds).toEqual(['g1']);
    } finally {
      raw.disconnect();
    }
  });

  it('a write in a later turn is stored on its own', async () => {
    const first = await entryOf('a', ['y1']);
    const second = await entryOf('b', ['y2']);
    calls.clear();
    await store.write(
      ORG,
      [[userKey('a'), first]],
      named(['y1'], () => ({ names: {} })),
    );
    await store.write(
      ORG,
      [[userKey('b'), second]],
      named(['y2'], () => ({ names: {} })),
    );
    expect(calls.get('assignIndexes')).toBe(2);
  });

  it('typed details joined with untyped ones of the same asset keep their type, in either order', async () => {
    const entries = await Promise.all(['a', 'b', 'c', 'd'].map((u) => entryOf(u, ['z1', 'z2'])));
    const typed = (id: string): AssetDetails => ({ names: { default: `typed ${id}` }, type: 'inverter', typeNames: { default: 'Inverter' } });
    const untyped = (id: string): AssetDetails => ({ names: { default: `plain ${id}` } });
    await Promise.all([
      store.write(ORG, [[userKey('a'), entries[0]]], named(['z1'], typed)),
      store.write(ORG, [[userKey('b'), entries[1]]], named(['z1'], untyped)),
      store.write(ORG, [[userKey('c'), entries[2]]], named(['z2'], untyped)),
      store.write(ORG, [[userKey('d'), entries[3]]], named(['z2'], typed)),
    ]);
    const details = await store.details(ORG, ['z1', 'z2']);
    expect(details.get('z1')).toEqual(typed('z1'));
    expect(details.get('z2')).toEqual(typed('z2'));
  });

  it('storedDetails: the same ids and stored details give the same print; a changed, missing, lost or reordered one does not', async () => {
    const entry = await entryOf('a', ['d1', 'd2']);
    const namedAs = (v: string) => new Map<string, AssetDetails>(['d1', 'd2'].map((id) => [id, { names: { default: `${id} ${v}` } }]));
    // A second instance's store: it remembers nothing of what the first one sent, so it sends every value.
    const peer = storeOn(redis);
    await store.write(ORG, [[userKey('a'), entry]], namedAs('v1'));
    const first = await store.storedDetails(ORG, ['d1', 'd2']);
    expect(first.print).toEqual(expect.any(String));
    expect((await store.storedDetails(ORG, ['d1', 'd2'])).print).toBe(first.print);
    expect(first.details().get('d2')).toEqual({ names: { default: 'd2 v1' } });
    expect((await store.storedDetails(ORG, ['d2', 'd1'])).print).not.toBe(first.print);

    // The same details merged again by another instance: the version stays.
    await peer.write(ORG, [[userKey('a'), entry]], namedAs('v1'));
    expect((await peer.storedDetails(ORG, ['d1', 'd2'])).print).toBe(first.print);

    // Renamed by another instance: the first one's next print differs.
    await peer.write(ORG, [[userKey('a'), entry]], namedAs('v2'));
    const renamed = await store.storedDetails(ORG, ['d1', 'd2']);
    expect(renamed.print).not.toBe(first.print);
    expect(renamed.details().get('d2')).toEqual({ names: { default: 'd2 v2' } });

    // No ids: a print without asking the store.
    calls.clear();
    expect((await store.storedDetails(ORG, [])).print).toEqual(expect.any(String));
    expect(calls.size).toBe(0);

    const missing = await store.storedDetails(ORG, ['d1', 'unknown']);
    expect(missing.print).toBeUndefined();
    expect([...missing.details().keys()]).toEqual(['d1']);

    // The hash lost (evicted), then merged again with the first details: a new version, never one the hash had before.
    const raw = new Redis(TEST_REDIS_URL);
    await raw.del(keys.assetDetails(ORG));
    await raw.quit();
    expect((await store.storedDetails(ORG, ['d1', 'd2'])).print).toBeUndefined();
    await storeOn(redis).write(ORG, [[userKey('a'), entry]], namedAs('v1'));
    const rewritten = await store.storedDetails(ORG, ['d1', 'd2']);
    expect(rewritten.print).toEqual(expect.any(String));
    expect([first.print, renamed.print]).not.toContain(rewritten.print);
  });
});
