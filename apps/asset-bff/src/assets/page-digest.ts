import type { DigestedAssetList } from '@app/portal-client';
// The modules of the client the worker thread needs: its index would load Nest, axios and the policies.
import { scanAssetListAnswer, ScannedAssets } from '@app/portal-client/asset-page-scan';
import { idHashes, readAssetListData } from '@app/portal-client/asset-pages';
import { DigestedUsersAssetList, digestUsersAssetListData } from '@app/portal-client/users-answer';
import { scanUsersAssetListAnswer } from '@app/portal-client/users-answer-scan';
import { isSuccessCode } from '@app/portal-contracts';
import { LangPrefs } from '../common/i18n';
import { pageNamesBytes, pageViewsBytes, scannedNamesBytes, scannedViewsBytes } from './asset-view';
import { digestElements } from './batch-bytes';

/** What an answer is: an `asset/list` page or a `users/assetList` answer. */
export type AnswerKind = 'page' | 'users';

/** What digesting an answer gives: the value the portal client reads its envelope from, and the buffers to hand over with it. */
export interface Digest {
  envelope: unknown;
  transfer: ArrayBuffer[];
}

const DECODER = new TextDecoder();

/**
 * An answer's bytes read the way the portal client reads them: JSON.parse of the text (the text itself when it
 * is not JSON), and for a success envelope its `data` replaced by what `digestData` makes of it.
 */
function digestAnswer(bytes: Uint8Array, digestData: (data: unknown) => { data: unknown; transfer: ArrayBuffer[] }): Digest {
  const text = DECODER.decode(bytes);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { envelope: text, transfer: [] };
  }
  if (typeof body !== 'object' || body === null || !isSuccessCode((body as { code?: unknown }).code)) return { envelope: body, transfer: [] };
  const { data, transfer } = digestData((body as { data?: unknown }).data);
  return { envelope: { ...(body as object), data }, transfer };
}

/**
 * One `asset/list` answer as an AssetListDecoder gives it: a page's `data` digested into the ids, the names as one
 * JSON array, and with `prefs` the page's answer views already serialized (what PageBodies joins). The usual page is
 * read from its bytes (scanAssetListAnswer: the same digest, its bytes copied from the page's); any other is decoded
 * and parsed.
 */
export function digestAssetList(bytes: Uint8Array, prefs: LangPrefs | undefined): Digest {
  const scanned = scanAssetListAnswer(bytes);
  if (scanned) return digestScanned(scanned.envelope, scanned.totalElements, scanned.assets, prefs);
  return parseAssetList(bytes, prefs);
}

/** digestAssetList by decoding and parsing the answer (any answer; exported for the tests that compare the two). */
export function parseAssetList(bytes: Uint8Array, prefs: LangPrefs | undefined): Digest {
  return digestAnswer(bytes, (raw) => {
    const page = readAssetListData(raw);
    if (typeof page === 'string') return { data: { digest: 'malformed', reason: page } satisfies DigestedAssetList, transfer: [] };
    const prepared = prefs && pageViewsBytes(page.assets, prefs);
    const namesJson = pageNamesBytes(page.assets);
    const ids = page.assets.map((a) => a.id);
    // the ids' hashes for the main thread's merge (PageMerge), made here on the worker
    const hashes = idHashes(ids);
    return pageDigest(page.totalElements, ids, namesJson, prepared, hashes);
  });
}

/** A scanned page's digest: what the usual reading gives for it, built from its bytes. */
function digestScanned(envelope: object, totalElements: number, s: ScannedAssets, prefs: LangPrefs | undefined): Digest {
  const prepared = prefs && scannedViewsBytes(s, prefs);
  const { data, transfer } = pageDigest(totalElements, s.ids, scannedNamesBytes(s), prepared, s.hashes);
  return { envelope: { ...envelope, data }, transfer };
}

function pageDigest(totalElements: number, ids: string[], namesJson: Uint8Array, prepared: Uint8Array | undefined, hashes: Int32Array): { data: DigestedAssetList; transfer: ArrayBuffer[] } {
  const data: DigestedAssetList = { digest: 'page', totalElements, ids, namesJson, prepared, hashes };
  const transfer = [namesJson.buffer as ArrayBuffer, hashes.buffer as ArrayBuffer];
  if (prepared) transfer.push(prepared.buffer as ArrayBuffer);
  return { data, transfer };
}

/** A users answer's digest with its users' elements of the batch answer (`prepared`), and the buffers to hand over. */
function withElements(data: DigestedUsersAssetList): { data: DigestedUsersAssetList; transfer: ArrayBuffer[] } {
  if (data.digest !== 'users') return { data, transfer: [] };
  const prepared = digestElements(data.userIds, data.ids, data.lists, data.offsets);
  return { data: { ...data, prepared }, transfer: [data.lists.buffer as ArrayBuffer, data.offsets.buffer as ArrayBuffer, prepared.buffer as ArrayBuffer] };
}

/**
 * One `users/assetList` answer as a UsersAssetListDecoder gives it: each distinct id once and the users' lists as
 * indexes (handed over, not copied), so that the main thread makes no string per id occurrence, and the users'
 * elements of the batch answer already serialized (`prepared`, handed over too: see LoadedRuns). The usual answer is
 * scanned from its bytes (scanUsersAssetListAnswer); any other is decoded and parsed, with the same result.
 */
export function digestUsersAssetList(bytes: Uint8Array): Digest {
  const scanned = scanUsersAssetListAnswer(bytes);
  if (!scanned) return digestAnswer(bytes, (raw) => withElements(digestUsersAssetListData(raw)));
  const envelope = scanned.envelope as { data: DigestedUsersAssetList };
  const { data, transfer } = withElements(envelope.data);
  return { envelope: { ...envelope, data }, transfer };
}

/** The digest of an answer of this kind (what a worker thread and the main thread's fallback both run). */
export function digestAnswerOf(kind: AnswerKind, bytes: Uint8Array, prefs: LangPrefs | undefined): Digest {
  return kind === 'users' ? digestUsersAssetList(bytes) : digestAssetList(bytes, prefs);
}
