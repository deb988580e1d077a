import type { CachedUserSet, CacheStatus, UserAssetSet } from '@app/asset-cache';
import { batchBytes, BatchResult, UserElements } from './batch-assets.service';

describe('batchBytes', () => {
  const names = { default: 'Site "1"', zh_CN: '场站 \u2028 1', ja_JP: 'サイト \ud83d\ude00', odd: 'lone \ud800 surrogate \\ </script>' };
  const set = (assetIds: string[]): UserAssetSet => ({ assetIds, total: assetIds.length, complete: true });
  const entry = (userId: string, s: UserAssetSet | null, status: CacheStatus): CachedUserSet => ({ userId, set: s, status, ageS: 0, loadedAt: 0 });
  const assets: BatchResult['assets'] = [
    { id: 'a1', name: names.zh_CN, names, type: 'site', typeName: '场站', typeNames: { default: 'Site', zh_CN: '场站' } },
    { id: 'a2', name: 'a2', names: { default: 'a2' }, type: null, typeName: null, typeNames: null },
    { id: 'a\u00e9', name: names.odd, names, type: '', typeName: null, typeNames: null },
  ];
  const expected = (orgId: string, users: string[], entries: Map<string, CachedUserSet>, a: BatchResult['assets']): string =>
    JSON.stringify({ orgId, users: users.map((userId) => ({ userId, assetIds: entries.get(userId)?.set?.assetIds ?? [] })), assets: a } satisfies BatchResult);

  it('gives the bytes of one JSON.stringify of the answer: cached users, just loaded ones, unknown ones, in any mix', () => {
    const elements = new UserElements();
    const all = [
      entry('u1', set(['a1', 'a2']), 'HIT'),
      entry('u2', set(['a\u00e9', 'a1']), 'MISS'),
      entry('u3', set(['a2']), 'HIT'),
      entry('u4', null, 'HIT'),
      entry('u5', set(['a1']), 'STALE'),
      entry('u6', set([]), 'HIT'),
    ];
    const entries = new Map(all.map((e) => [e.userId, e]));
    const cases: [string, string[]][] = [
      ['o1', []],
      ['o1', ['u4']],
      ['o1', ['u1']],
      ['o1', ['u2']],
      ['org.with:chars-_', ['u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'ghost']],
      ['o1', ['ghost', 'u3', 'u1', 'u2', 'u5']],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [orgId, users] of cases) {
        for (const a of [[], assets]) expect(batchBytes(orgId, users, entries, a, elements).toString('utf8')).toBe(expected(orgId, users, entries, a));
      }
    }
  });

  it('serializes a cached set once, never a just-loaded one, and never gives one user the element made for another', () => {
    const elements = new UserElements();
    const s = set(['a1', 'a2']);
    const first = elements.of('u1', entry('u1', s, 'HIT'));
    expect(first?.toString()).toBe(',{"userId":"u1","assetIds":["a1","a2"]}');
    expect(elements.of('u1', entry('u1', s, 'HIT'))).toBe(first);
    expect(elements.of('u1', entry('u1', set(['a1', 'a2']), 'HIT'))).not.toBe(first);
    expect(elements.of('u2', entry('u2', s, 'HIT'))?.toString()).toBe(',{"userId":"u2","assetIds":["a1","a2"]}');
    expect(elements.of('u1', entry('u1', set(['a1']), 'MISS'))).toBeUndefined();
    expect(elements.of('u1', entry('u1', null, 'HIT'))).toBeUndefined();
    expect(elements.of('u1', undefined)).toBeUndefined();
  });
});
