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
 * the data held still while being read. Pages may be added in any order; each is folded in as soon as every page
 * before it is in, so that little is left to do once the last one arrives.
 */
export class PageMerge {
  /** Pages added and not yet folded in (those past a gap); folded ones are dropped. */
  private readonly pages: (AssetPage | null | undefined)[] = [];
  /** Pages before this position are folded in. */
  private folded = 0;
  private total = 0;
  private consistent = true;
  private readonly seen = new Set<string>();
  private readonly ids: string[] = [];
  private readonly assets: AssetListItem[] = [];

  constructor(
    private readonly pageSize: number,
    private readonly maxAssets?: number,
  ) {}

  /** The page at position `i` of the pass (its page number). */
  add(i: number, page: AssetPage): void {
    this.pages[i] = page;
    for (let next = this.pages[this.folded]; next; next = this.pages[this.folded]) {
      this.fold(this.folded, next);
      this.pages[this.folded++] = null;
    }
  }

  /** The merge of the pages added; every position up to the last must have been added. */
  result(): MergedPages {
    if (this.folded < this.pages.length || this.pages.length === 0) throw new Error(`page ${this.folded} of ${this.pages.length} was not added`);
    const { total, maxAssets } = this;
    const capped = maxAssets !== undefined && total > maxAssets;
    return { total, ids: this.ids, assets: this.assets, consistent: this.consistent, capped };
  }

  /** Checks page `i` against the first page's total and keeps its ids not seen before (up to maxAssets). */
  private fold(i: number, page: AssetPage): void {
    const { pageSize, maxAssets } = this;
    if (i === 0) this.total = page.totalElements;
    const total = this.total;
    const lastPageOfTotal = Math.max(0, Math.ceil(total / pageSize) - 1);
    const expected = i < lastPageOfTotal ? pageSize : i === lastPageOfTotal ? total - i * pageSize : 0;
    if (page.totalElements !== total || page.assets.length !== expected) this.consistent = false;
    for (const a of page.assets) {
      if (this.seen.has(a.id)) {
        this.consistent = false;
        continue;
      }
      this.seen.add(a.id);
      if (maxAssets !== undefined && this.assets.length >= maxAssets) continue;
      this.ids.push(a.id);
      this.assets.push(a);
    }
  }
}
