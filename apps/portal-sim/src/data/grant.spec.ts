import { Grant } from './grant';

describe('Grant', () => {
  it('stores windows without materializing and answers count, has and slice from them', () => {
    const g = Grant.ofWindows(
      [
        { offset: 10, count: 5 },
        { offset: 0, count: 3 },
      ],
      100,
    );
    expect(g.isWindowed).toBe(true);
    expect(g.count).toBe(8);
    expect(g.slice(0, 100)).toEqual([0, 1, 2, 10, 11, 12, 13, 14]);
    expect(g.slice(2, 5)).toEqual([2, 10, 11]);
    expect(g.slice(8, 20)).toEqual([]);
    expect(g.has(12)).toBe(true);
    expect(g.has(5)).toBe(false);
  });

  it('wraps a window past the end of the array and merges overlaps', () => {
    const g = Grant.ofWindows(
      [
        { offset: 98, count: 4 },
        { offset: 1, count: 2 },
      ],
      100,
    );
    expect(g.windowList).toEqual([
      { offset: 0, count: 3 },
      { offset: 98, count: 2 },
    ]);
    expect(g.slice(0, 10)).toEqual([0, 1, 2, 98, 99]);
  });

  it('clamps a window larger than the array and ignores empty ones', () => {
    expect(Grant.ofWindows([{ offset: 5, count: 1_000 }], 10).count).toBe(10);
    expect(Grant.ofWindows([{ offset: 5, count: 0 }], 10).count).toBe(0);
    expect(Grant.ofWindows([{ offset: 0, count: 3 }], 0).count).toBe(0);
  });

  it('materializes on the first grant or revoke, keeping ascending order', () => {
    const g = Grant.ofWindows([{ offset: 0, count: 5 }], 100);
    g.add([50, 3, 7]);
    expect(g.isWindowed).toBe(false);
    expect(g.slice(0, 100)).toEqual([0, 1, 2, 3, 4, 7, 50]);
    g.remove([0, 50, 99]);
    expect(g.slice(0, 100)).toEqual([1, 2, 3, 4, 7]);
    expect(g.has(7)).toBe(true);
    expect(g.has(0)).toBe(false);
    expect(g.count).toBe(5);
  });

  it('ofIndices dedupes and sorts', () => {
    const g = Grant.ofIndices([5, 1, 5, 3]);
    const seen: number[] = [];
    g.forEach((i) => seen.push(i));
    expect(seen).toEqual([1, 3, 5]);
  });

  it('pages over windows cover every index exactly once', () => {
    const g = Grant.ofWindows(
      [
        { offset: 900, count: 300 },
        { offset: 100, count: 250 },
      ],
      1_000,
    );
    const all: number[] = [];
    for (let p = 0; p * 7 < g.count; p++) all.push(...g.slice(p * 7, p * 7 + 7));
    expect(all).toHaveLength(g.count);
    expect(new Set(all).size).toBe(g.count);
  });
});
