import { AssetListItem, I18nString, IdSet, stringHash } from '@app/portal-contracts';

/**
 * One `asset/list` page as read. `ids` is always at hand; `assets` (ids with their names) may be built only
 * when first read, e.g. from a page digested on a worker thread whose names stay serialized until needed.
 */
export interface AssetPage {
  pageNo: number;
  totalElements: number;
  ids: readonly string[];
  readonly assets: AssetListItem[];
  /** Bytes the page's decoder prepared for the caller (AssetListDecoder), passed through untouched. */
  prepared?: Uint8Array;
  /** Each id's idHash, when the decoder computed them (on a page worker), for the merge's IdSet. */
  hashes?: Int32Array;
}

/** The merge of one pass over the pages. */
export interface MergedPages {
  total: number;
  ids: string[];
  /** Each merged id with its name, in `ids` order; built on first read. */
  readonly assets: AssetListItem[];
  /** Every page agreed on the total, was as long as it should be and no id repeated. */
  consistent: boolean;
  /** maxAssets stopped the merge before the end. */
  capped: boolean;
}

/**
 * `data` of an `asset/list` answer digested by an AssetListDecoder (off the main thread): the ids, the names
 * as one JSON array in id order, UTF-8 encoded (bytes cross threads handed over; a string of names in other scripts
 * is copied twice, two bytes a char), and whatever the decoder prepared for its caller. `malformed` says why the
 * data is not a page (the same reasons the client gives when it reads the page itself).
 */
export type DigestedAssetList =
  | { digest: 'page'; totalElements: number; ids: string[]; namesJson: Uint8Array; prepared?: Uint8Array; hashes?: Int32Array }
  | { digest: 'malformed'; reason: string };

const NAMES_DECODER = new TextDecoder();

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

/** A page from a digest: the names are parsed from their JSON only when `assets` is first read. */
export function pageFromDigest(pageNo: number, d: Extract<DigestedAssetList, { digest: 'page' }>): AssetPage {
  let assets: AssetListItem[] | undefined;
  return {
    pageNo,
    totalElements: d.totalElements,
    ids: d.ids,
    prepared: d.prepared,
    hashes: d.hashes?.length === d.ids.length ? d.hashes : undefined,
    get assets(): AssetListItem[] {
      if (assets === undefined) {
        const names = JSON.parse(NAMES_DECODER.decode(d.namesJson)) as I18nString[];
        assets = d.ids.map((id, i) => ({ id, name: names[i] ?? {} }));
      }
      return assets;
    },
  };
}

/** A page read on this thread. */
export function pageOf(pageNo: number, totalElements: number, assets: AssetListItem[]): AssetPage {
  return { pageNo, totalElements, ids: assets.map((a) => a.id), assets };
}

/** Number of pages to read for `total` assets, at least one, no more than needed for `maxAssets`. */
export function pagesToRead(total: number, pageSize: number, maxAssets?: number): number {
  const wanted = maxAssets === undefined ? total : Math.min(total, maxAssets);
  return Math.max(1, Math.ceil(wanted / pageSize));
}

/**
 * Merges the pages of one pass into one list, each asset once, and says whether the data held still while being
 * read. Pages are added as they arrive, in any order: each is folded in once every page before it is, so that when
 * the last page of a 100-page user arrives only its own ids are left to check. Works on the ids; the pages'
 * `assets` are read only when the merge's `assets` is.
 */
/** Most ids an IdSet is sized for up front (a table of 2^21 slots, 8 MB). */
const EXPECTED_IDS_MAX = 1 << 20;

/** An id's hash for the merge's IdSet: FNV-1a over its UTF-16 code units. */
export const idHash = stringHash;

/** Each id's idHash (what a page worker hands the merge with a page's ids). */
export function idHashes(ids: readonly string[]): Int32Array {
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = idHash(ids[i]);
  return out;
}

export class PageMerge {
  private readonly pages: AssetPage[] = [];
  private readonly ids: string[] = [];
  private readonly seen = new IdSet(this.ids);
  private folded = 0;
  private total = 0;
  private consistent = true;
  /** Where each kept id is: [page, index] pairs, recorded only once an id repeats (until then, every id is kept). */
  private kept: number[] | undefined;

  constructor(
    private readonly pageSize: number,
    private readonly maxAssets?: number,
  ) {}

  /** The page at position `i` of the pass (its page number). */
  add(i: number, page: AssetPage): void {
    this.pages[i] = page;
    while (this.pages[this.folded] !== undefined) this.fold(this.folded++);
  }

  /** The merge of the pages added; every position up to the last must have been added. */
  result(): MergedPages {
    if (this.folded !== this.pages.length) throw new Error(`page ${this.folded} of ${this.pages.length} was not added`);
    const { pages, ids, kept, maxAssets } = this;
    const capped = maxAssets !== undefined && this.total > maxAssets;
    if (capped && ids.length > maxAssets) ids.length = maxAssets;
    let assets: AssetListItem[] | undefined;
    return {
      total: this.total,
      ids,
      get assets(): AssetListItem[] {
        if (assets === undefined) {
          if (kept === undefined) assets = pages.flatMap((p) => p.assets);
          else {
            assets = [];
            for (let k = 0; k < kept.length; k += 2) assets.push(pages[kept[k]].assets[kept[k + 1]]);
          }
          assets.length = ids.length;
        }
        return assets;
      },
      consistent: this.consistent,
      capped,
    };
  }

  private fold(i: number): void {
    const page = this.pages[i];
    if (i === 0) {
      this.total = page.totalElements;
      // the table is grown past this, should there be more ids (a total as large as the portal likes is not trusted)
      this.seen.expect(Math.min(page.totalElements, this.maxAssets ?? Infinity, EXPECTED_IDS_MAX));
    }
    const total = this.total;
    const lastPageOfTotal = Math.max(0, Math.ceil(total / this.pageSize) - 1);
    if (page.totalElements !== total) this.consistent = false;
    const expected = i < lastPageOfTotal ? this.pageSize : i === lastPageOfTotal ? total - i * this.pageSize : 0;
    if (page.ids.length !== expected) this.consistent = false;
    const { seen } = this;
    const hashes = page.hashes;
    for (let j = 0; j < page.ids.length; j++) {
      if (!seen.add(page.ids[j], hashes?.[j])) {
        this.consistent = false;
        this.kept ??= keptSoFar(this.pages, i, j);
        continue;
      }
      this.kept?.push(i, j);
    }
  }
}

/** [page, index] of every id before position j of page i (all of them were kept). */
function keptSoFar(pages: AssetPage[], i: number, j: number): number[] {
  const out: number[] = [];
  for (let p = 0; p <= i; p++) {
    const n = p < i ? pages[p].ids.length : j;
    for (let k = 0; k < n; k++) out.push(p, k);
  }
  return out;
}
