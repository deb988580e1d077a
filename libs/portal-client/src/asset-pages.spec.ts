import { AssetPage, mergePages, pagesToRead } from './asset-pages';

const page = (pageNo: number, total: number, ids: string[]): AssetPage => ({ pageNo, totalElements: total, assets: ids.map((id) => ({ id, name: { default: id } })) });
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `a${from + i}`);

describe('pagesToRead', () => {
  it('reads one page for an empty set and enough pages for the rest', () => {
    expect(pagesToRead(0, 1000)).toBe(1);
    expect(pagesToRead(1000, 1000)).toBe(1);
    expect(pagesToRead(10_500, 1000)).toBe(11);
    expect(pagesToRead(10_500, 1000, 2500)).toBe(3);
  });
});

describe('mergePages', () => {
  it('merges consistent pages in order', () => {
    const m = mergePages([page(0, 5, ids(0, 2)), page(1, 5, ids(2, 4)), page(2, 5, ids(4, 5))], 2);
    expect(m).toMatchObject({ total: 5, consistent: true, capped: false });
    expect(m.assets.map((a) => a.id)).toEqual(ids(0, 5));
  });

  it('flags a total that changed between pages', () => {
    expect(mergePages([page(0, 4, ids(0, 2)), page(1, 5, ids(2, 4))], 2).consistent).toBe(false);
  });

  it('flags a short page', () => {
    expect(mergePages([page(0, 4, ids(0, 2)), page(1, 4, ids(2, 3))], 2).consistent).toBe(false);
    expect(mergePages([page(0, 4, ids(0, 1)), page(1, 4, ids(2, 4))], 2).consistent).toBe(false);
  });

  it('flags an id seen twice and keeps it once', () => {
    const m = mergePages([page(0, 4, ['a', 'b']), page(1, 4, ['b', 'c'])], 2);
    expect(m.consistent).toBe(false);
    expect(m.assets.map((a) => a.id)).toEqual(['a', 'b', 'c']);
  });

  it('caps at maxAssets', () => {
    const m = mergePages([page(0, 5, ids(0, 2)), page(1, 5, ids(2, 4))], 2, 3);
    expect(m).toMatchObject({ consistent: true, capped: true });
    expect(m.assets.map((a) => a.id)).toEqual(ids(0, 3));
  });

  it('accepts an empty set', () => {
    expect(mergePages([page(0, 0, [])], 1000)).toEqual({ total: 0, assets: [], consistent: true, capped: false });
  });
});
