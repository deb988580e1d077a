import { AssetListItem, I18nString } from '@app/portal-contracts';

/** One `asset/list` page as read. */
export interface AssetPage {
  pageNo: number;
  totalElements: number;
  assets: AssetListItem[];
}

/** The merge of one pass over the pages. */
export interface MergedPages {
  total: number;
  ids: string[];
  /** Each merged id with its name, in `ids` order. */
  assets: AssetListItem[];
  /** Every page agreed on the total, was as long as it should be and no id repeated. */
  consistent: boolean;
  /** maxAssets stopped the merge before the end. */
  capped: boolean;
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An `asset/list` answer's `data` checked and reduced to what the client keeps; a string says why it is malformed. */
export function readAssetListData(data: unknown): { totalElements: number; assets: AssetListItem[] } | string {
  if (!isObject(data) || !isObject(data.pagination) || !Array.isArray(data.assets)) return 'data without pagination/assets';
  const totalElements = data.pagination.totalElements;
  if (typeof totalElements !== 'number' || !Number.isInteger(totalElements) || totalElements < 0) return 'bad totalElements';
  const assets: AssetListItem[] = [];
  for (const a of data.assets as unknown[]) {
    if (!isObject(a) || typeof a.id !== 'string' || !a.id) return 'asset without id';
    assets.push({ id: a.id, name: isObject(a.name) ? (a.name as I18nString) : {} });
  }
  return { totalElements, assets };
}

/** A page as read. */
export function pageOf(pageNo: number, totalElements: number, assets: AssetListItem[]): AssetPage {
  return { pageNo, totalElements, assets };
}

/** Number of pages to read for `total` assets, at least one, no more than needed for `maxAssets`. */
export function pagesToRead(total: number, pageSize: number, maxAssets?: number): number {
  const wanted = maxAssets === undefined ? total : Math.min(total, maxAssets);
  return Math.max(1, Math.ceil(wanted / pageSize));
}

/**
 * Merges the pages of one pass into one list, each asset once (its first occurrence, upstream order), and says whether
 * the data held still while being read. Pages may be added in any order; the merge runs once all are in.
 */
export class PageMerge {
  private readonly pages: AssetPage[] = [];

  constructor(
    private readonly pageSize: number,
    private readonly maxAssets?: number,
  ) {}

  /** The page at position `i` of the pass (its page number). */
  add(i: number, page: AssetPage): void {
    this.pages[i] = page;
  }

  /** The merge of the pages added; every position up to the last must have been added. */
  result(): MergedPages {
    const { pages, pageSize, maxAssets } = this;
    const missing = pages.findIndex((p) => p === undefined);
    if (missing >= 0 || pages.length === 0) throw new Error(`page ${Math.max(0, missing)} of ${pages.length} was not added`);
    const total = pages[0].totalElements;
    const lastPageOfTotal = Math.max(0, Math.ceil(total / pageSize) - 1);
    let consistent = true;
    const byId = new Map<string, AssetListItem>();
    pages.forEach((page, i) => {
      const expected = i < lastPageOfTotal ? pageSize : i === lastPageOfTotal ? total - i * pageSize : 0;
      if (page.totalElements !== total || page.assets.length !== expected) consistent = false;
      for (const a of page.assets) {
        if (byId.has(a.id)) consistent = false;
        else byId.set(a.id, a);
      }
    });
    const capped = maxAssets !== undefined && total > maxAssets;
    const assets = [...byId.values()];
    if (capped && assets.length > maxAssets) assets.length = maxAssets;
    return { total, ids: assets.map((a) => a.id), assets, consistent, capped };
  }
}
