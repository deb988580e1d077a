import { AssetPage, MergedPages, PageMerge, pageOf, pagesToRead, readAssetListData } from './asset-pages';

const page = (pageNo: number, total: number, ids: string[]): AssetPage =>
  pageOf(
    pageNo,
    total,
    ids.map((id) => ({ id, name: { default: id } })),
  );
/** The pages of a pass added in page order. */
function mergePages(pages: AssetPage[], pageSize: number, maxAssets?: number): MergedPages {
  const merge = new PageMerge(pageSize, maxAssets);
  pages.forEach((p, i) => merge.add(i, p));
  return merge.result();
}
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `a${from + i}`);

describe('pagesToRead', () => {
  it('reads one page for an empty set and enough pages for the rest', () => {
    expect(pagesToRead(0, 1000)).toBe(1);
    expect(pagesToRead(1000, 1000)).toBe(1);
    expect(pagesToRead(10_500, 1000)).toBe(11);
    expect(pagesToRead(10_500, 1000, 2500)).toBe(3);
  });
});

describe('PageMerge in page order', () => {
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
    expect(mergePages([page(0, 0, [])], 1000)).toEqual({ total: 0, ids: [], assets: [], consistent: true, capped: false });
  });

  it('keeps each kept id with its own name when an id repeats, and caps names with the ids', () => {
    const named = (pageNo: number, total: number, list: [string, string][]) =>
      pageOf(
        pageNo,
        total,
        list.map(([id, n]) => ({ id, name: { default: n } })),
      );
    const m = mergePages(
      [
        named(0, 6, [
          ['a', 'A'],
          ['b', 'B'],
          ['c', 'C'],
        ]),
        named(1, 6, [
          ['b', 'B2'],
          ['d', 'D'],
          ['e', 'E'],
        ]),
      ],
      3,
      4,
    );
    expect(m.ids).toEqual(['a', 'b', 'c', 'd']);
    expect(m.assets).toEqual([
      { id: 'a', name: { default: 'A' } },
      { id: 'b', name: { default: 'B' } },
      { id: 'c', name: { default: 'C' } },
      { id: 'd', name: { default: 'D' } },
    ]);
  });

  it('gives the same merge whatever order the pages arrive in, and refuses a result with a page missing', () => {
    const pages = [page(0, 7, ['a', 'b', 'c']), page(1, 7, ['d', 'b', 'e']), page(2, 7, ['f'])];
    const merge = new PageMerge(3);
    merge.add(2, pages[2]);
    merge.add(0, pages[0]);
    expect(() => merge.result()).toThrow('page 1 of 3 was not added');
    merge.add(1, pages[1]);
    const m = merge.result();
    const whole = mergePages(pages, 3);
    expect({ ...m, assets: m.assets }).toEqual({ ...whole, assets: whole.assets });
    expect(m).toMatchObject({ total: 7, ids: ['a', 'b', 'c', 'd', 'e', 'f'], consistent: false });
  });
});

describe('readAssetListData', () => {
  it('keeps ids and names, and names what is malformed', () => {
    expect(
      readAssetListData({
        pagination: { totalElements: 1 },
        assets: [
          { id: 'a', name: { default: 'A' }, extra: 1 },
          { id: 'b', name: null },
        ],
      }),
    ).toEqual({
      totalElements: 1,
      assets: [
        { id: 'a', name: { default: 'A' } },
        { id: 'b', name: {} },
      ],
    });
    expect(readAssetListData(null)).toBe('data without pagination/assets');
    expect(readAssetListData({ pagination: {}, assets: [] })).toBe('bad totalElements');
    expect(readAssetListData({ pagination: { totalElements: -1 }, assets: [] })).toBe('bad totalElements');
    expect(readAssetListData({ pagination: { totalElements: 1 }, assets: [{ id: '' }] })).toBe('asset without id');
  });
});
