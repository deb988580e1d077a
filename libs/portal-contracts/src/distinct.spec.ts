import fc from 'fast-check';
import { distinct, isDistinct, markDistinct } from './distinct';

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

  it('folds as a Set does, for any strings (repeats, empty, non-ASCII, lone surrogates) (property)', () => {
    const pool = fc.oneof(fc.string({ maxLength: 4 }), fc.fullUnicodeString({ maxLength: 3 }), fc.constantFrom('', 'a', 'A', '\ud800', 'é', 'e\u0301'));
    fc.assert(
      fc.property(fc.array(pool, { maxLength: 200 }), (items) => {
        expect(distinct(items)).toEqual([...new Set(items)]);
      }),
      { numRuns: 500 },
    );
  });

  it('folds large arrays (70,000 strings with repeats), then smaller ones', () => {
    const big = Array.from({ length: 70_000 }, (_, i) => `user-${i % 65_000}`);
    const once = distinct(big);
    expect(once).toHaveLength(65_000);
    expect(once).toEqual([...new Set(big)]);
    const batch = Array.from({ length: 30_000 }, (_, i) => `u${(i * 7) % 20_000}`);
    expect(distinct(batch)).toEqual([...new Set(batch)]);
    expect(distinct(['b', 'a', 'b'])).toEqual(['b', 'a']);
    expect(distinct([])).toEqual([]);
  });
});
