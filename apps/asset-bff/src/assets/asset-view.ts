import type { AssetDetails } from '@app/asset-cache';
import { LangPrefs, localize } from '../common/i18n';

/** An asset as the caller sees it. */
export interface AssetView {
  id: string;
  name: string;
  names: AssetDetails['names'];
}

/** An asset of a batch answer: the view with its type. */
export interface BatchAssetView extends AssetView {
  type: string | null;
  typeName: string | null;
  typeNames: AssetDetails['typeNames'] | null;
}

/** The asset's view for these languages; an asset without details is named by its id. */
export function view(id: string, d: AssetDetails | undefined, prefs: LangPrefs): AssetView {
  const names = d?.names ?? { default: id };
  return { id, name: localize(names, prefs) || id, names };
}

/** The asset's view with its type, as a batch answer gives it. */
export function batchView(id: string, d: AssetDetails | undefined, prefs: LangPrefs): BatchAssetView {
  return { ...view(id, d, prefs), type: d?.type ?? null, typeName: d?.typeNames ? localize(d.typeNames, prefs) : null, typeNames: d?.typeNames ?? null };
}
