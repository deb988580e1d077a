import type { DigestedAssetList } from '@app/portal-client';
// The one module of the client the worker thread needs: its index would load Nest, axios and the policies.
import { readAssetListData } from '@app/portal-client/asset-pages';
import { isSuccessCode } from '@app/portal-contracts';
import { LangPrefs } from '../common/i18n';
import { pageViewsBytes } from './asset-view';

/** What digesting an answer gives: the value the portal client reads its envelope from, and the buffers to hand over with it. */
export interface Digest {
  envelope: unknown;
  transfer: ArrayBuffer[];
}

const DECODER = new TextDecoder();

/**
 * One `asset/list` answer's bytes read the way the portal client would read them (AssetListDecoder): JSON.parse of
 * the text (the text itself when it is not JSON), and for a success envelope its `data` digested: the ids, the
 * names as one JSON array, and with `prefs` the page's answer views already serialized (what PageBodies joins).
 */
export function digestAssetList(bytes: Uint8Array, prefs: LangPrefs | undefined): Digest {
  const text = DECODER.decode(bytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { envelope: text, transfer: [] };
  }
  if (typeof body !== 'object' || body === null || !isSuccessCode((body as { code?: unknown }).code)) return { envelope: body, transfer: [] };
  const page = readAssetListData((body as { data?: unknown }).data);
  let data: DigestedAssetList;
  const transfer: ArrayBuffer[] = [];
  if (typeof page === 'string') data = { digest: 'malformed', reason: page };
  else {
    const prepared = prefs && pageViewsBytes(page.assets, prefs);
    if (prepared) transfer.push(prepared.buffer as ArrayBuffer);
    data = { digest: 'page', totalElements: page.totalElements, ids: page.assets.map((a) => a.id), namesJson: JSON.stringify(page.assets.map((a) => a.name)), prepared };
  }
  return { envelope: { ...(body as object), data }, transfer };
}
