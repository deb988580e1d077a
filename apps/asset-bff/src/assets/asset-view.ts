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
  return ENCODER.encode(JSON.stringify(views).slice(1, -1));
}
const ENCODER = new TextEncoder();
