import { AssetListItem } from '@app/portal-contracts';

/** One `asset/list` page as read. */
export interface AssetPage {
  pageNo: number;
  totalElements: number;
  assets: AssetListItem[];
}

/** The merge of one pass over the pages. */
export interface MergedPages {
  total: number;
  assets: AssetListItem[];
  /** Every page agreed on the total, was as long as it should be and no id repeated. */
  consistent: boolean;
  /** maxAssets stopped the merge before the end. */
  capped: boolean;
}

/** Number of pages to read for `total` assets, at least one, no more than needed for `maxAssets`. */
export function pagesToRead(total: number, pageSize: number, maxAssets?: number): number {
  const wanted = maxAssets === undefined ? total : Math.min(total, maxAssets);
  return Math.max(1, Math.ceil(wanted / pageSize));
}

/** Merges pages (in page order) into one list, each asset once, and says whether the data held still while being read. */
export function mergePages(pages: AssetPage[], pageSize: number, maxAssets?: number): MergedPages {
  const total = pages[0]?.totalElements ?? 0;
  const lastPageOfTotal = Math.max(0, Math.ceil(total / pageSize) - 1);
  let consistent = true;
  const seen = new Set<string>();
  const assets: AssetListItem[] = [];
  pages.forEach((page, i) => {
    if (page.totalElements !== total) consistent = false;
    const expected = i < lastPageOfTotal ? pageSize : i === lastPageOfTotal ? total - i * pageSize : 0;
    if (page.assets.length !== expected) consistent = false;
    for (const a of page.assets) {
      if (seen.has(a.id)) {
        consistent = false;
        continue;
      }
      seen.add(a.id);
      assets.push(a);
    }
  });
  const capped = maxAssets !== undefined && total > maxAssets;
  if (capped && assets.length > maxAssets) assets.length = maxAssets;
  return { total, assets, consistent, capped };
}
