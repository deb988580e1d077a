import type { AssetDetails } from '@app/asset-cache';
import type { AssetListItem } from '@app/portal-contracts';
import { LangPrefs, localize } from '../common/i18n';

/** An asset as the caller sees it. */
export interface AssetView {
  id: string;
  name: string;
  names: AssetDetails['names'];
}

export function view(id: string, d: AssetDetails | undefined, prefs: LangPrefs): AssetView {
  const names = d?.names ?? { default: id };
  return { id, name: localize(names, prefs) || id, names };
}

/** A page's views as JSON, '[...]' without its brackets (pages are joined with commas), encoded. */
export function pageViewsBytes(assets: readonly AssetListItem[], prefs: LangPrefs): Uint8Array {
  const views = assets.map((a) => view(a.id, { names: a.name ?? {} }, prefs));
  // The brackets are a byte each: cut from the bytes, not from the text (a slice of a 300 KB two-byte string was
  // copied whole into fresh memory to be encoded).
  const bytes = ENCODER.encode(JSON.stringify(views));
  return bytes.subarray(1, bytes.length - 1);
}
const ENCODER = new TextEncoder();
