import fc from 'fast-check';
import { distinct, idHash, isDistinct, markDistinct } from './distinct';

describe('distinct', () => {
  it('folds repeats (first occurrence wins, order kept) into a new array known to be distinct', () => {
    const given = ['b', 'a', 'b', 'c', 'a'];
    const once = distinct(given);
    expect(once).toEqual(['b', 'a', 'c']);
    expect(once).not.toBe(given);
    expect(given).toEqual(['b', 'a', 'b', 'c', 'a']);
    expect(isDistinct(once)).toBe(true);
    expect(isDistinct(given)).toBe(false);
  });

  it('gives back an array it made, or one marked by its builder, as it is', () => {
    const once = distinct(['x', 'y']);
    expect(distinct(once)).toBe(once);
    const built = markDistinct(['p', 'q']);
    expect(distinct(built)).toBe(built);
    // an unmarked array without repeats is still a new array (it is not looked at twice)
    const plain = ['p', 'q'];
    expect(distinct(plain)).not.toBe(plain);
    expect(distinct(plain)).toEqual(plain);
  });

  it('folds a batch of strings in its table exactly as a Set does (fast-check), colliding hashes and unicode included', () => {
    const small = fc.constantFrom('u1', 'u2', 'ü', '中文', '', 'a'.repeat(40), '😀');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string({ maxLength: 6 }), fc.fullUnicodeString({ maxLength: 4 }), small), { minLength: 0, maxLength: 400 }), (items) => {
        expect(distinct(items)).toEqual([...new Set(items)]);
      }),
      { numRuns: 300 },
    );
    // 10,000 users, each twice, in two orders
    const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    expect(distinct([...users, ...users.slice().reverse()])).toEqual(users);
  });

  it('folds other values (or strings mixed with them) with a Set', () => {
    const mixed: unknown[] = Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? i % 7 : `s${i % 5}`));
    mixed.push(NaN, NaN, 0, -0);
    expect(distinct(mixed)).toEqual([...new Set(mixed)]);
  });

  it('folds a batch past the table it keeps, then small ones again', () => {
    const many = Array.from({ length: 300_000 }, (_, i) => `id-${i % 200_000}`);
    const once = distinct(many);
    expect(once.length).toBe(200_000);
    expect(once[199_999]).toBe('id-199999');
    const again = Array.from({ length: 100 }, (_, i) => `x${i % 10}`);
    expect(distinct(again)).toEqual(Array.from({ length: 10 }, (_, i) => `x${i}`));
  });

  it('idHash is FNV-1a over UTF-16 code units', () => {
    expect(idHash('')).toBe(0x811c9dc5 | 0);
    expect(idHash('a')).toBe(Math.imul((0x811c9dc5 | 0) ^ 0x61, 0x01000193));
    expect(idHash('ab')).not.toBe(idHash('ba'));
  });
});
