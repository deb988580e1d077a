import { CacheKeys, scopeId } from './keys';

/** The slot-defining part of a key, as Redis Cluster computes it (first {…} with content). */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  const close = key.indexOf('}', open + 1);
  return key.slice(open + 1, close);
}

describe('CacheKeys', () => {
  const keys = new CacheKeys('abff');

  it('puts every key of an OU under the same hash tag, so multi-key commands stay in one cluster slot', () => {
    const all = [
      keys.orgGeneration('o1'),
      keys.userGeneration('o1', 'u1'),
      keys.userSet('o1', '*', 'u1'),
      keys.lock('o1', '*', 'u1'),
      keys.assetDetails('o1'),
      keys.idDictionary('o1'),
      keys.orgMissing('o1'),
    ];
    expect(new Set(all.map(hashTag))).toEqual(new Set(['o1']));
    expect(new Set(all).size).toBe(all.length);
    expect(all.every((k) => k.startsWith('abff:{o1}:'))).toBe(true);
  });

  it('keeps OUs, users and scopes apart, including ids with colons', () => {
    expect(keys.userSet('o1', '*', 'a:b')).not.toBe(keys.userSet('o1', 'a', 'b'));
    expect(keys.userSet('o1', '*', 'u')).not.toBe(keys.userSet('o2', '*', 'u'));
    expect(keys.userGeneration('o1', 'u1')).not.toBe(keys.userGeneration('o1', 'u2'));
  });

  it('escapes braces in ids and prefixes so the OU stays the only hash tag', () => {
    expect(hashTag(keys.userSet('o{x}', '*', 'u'))).toBe('o%7bx%7d');
    expect(new CacheKeys('p{1}').orgGeneration('o1')).toBe('p_1_:{o1}:g');
  });

  it('names the invalidation channel after the prefix', () => {
    expect(keys.invalidationChannel()).toBe('abff:inv');
  });
});

describe('scopeId', () => {
  it('is * for no filter, and the same digest for the same set of types in any order or multiplicity', () => {
    expect(scopeId(undefined)).toBe('*');
    expect(scopeId([])).toBe('*');
    expect(scopeId(['b', 'a'])).toBe(scopeId(['a', 'b', 'a']));
    expect(scopeId(['a'])).not.toBe(scopeId(['b']));
    expect(scopeId(['a'])).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });
});
