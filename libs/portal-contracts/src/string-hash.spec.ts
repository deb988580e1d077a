import fc from 'fast-check';
import { IdSet, stringHash } from './string-hash';

describe('IdSet', () => {
  it('keeps each id once in first-seen order, like a Set, whatever it was sized for (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6, unit: 'grapheme' }), { maxLength: 300 }), fc.nat(400), (items, expected) => {
        const ids: string[] = [];
        const set = new IdSet(ids);
        set.expect(expected);
        const firstTimes = items.map((x) => set.add(x));
        const seen = new Set<string>();
        expect(firstTimes).toEqual(items.map((x) => !seen.has(x) && !!seen.add(x)));
        expect(ids).toEqual([...seen]);
      }),
    );
  });

  it('grows past the size it was given (100,000 ids in a set sized for 10)', () => {
    const ids: string[] = [];
    const set = new IdSet(ids, 10);
    for (let i = 0; i < 100_000; i++) expect(set.add(`o1-a${i}`)).toBe(true);
    for (let i = 0; i < 100_000; i += 997) expect(set.add(`o1-a${i}`)).toBe(false);
    expect(ids).toHaveLength(100_000);
    expect(ids[99_999]).toBe('o1-a99999');
  });
});

describe('stringHash', () => {
  it('is FNV-1a over the UTF-16 code units (over the bytes, for an ASCII string)', () => {
    // FNV-1a 32 of "a" is 0xe40c292c, of "" the offset basis
    expect(stringHash('a') >>> 0).toBe(0xe40c292c);
    expect(stringHash('') >>> 0).toBe(0x811c9dc5);
  });
});
