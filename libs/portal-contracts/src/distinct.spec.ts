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
});
