import { UserAssetSet } from '@app/asset-cache';

/** Membership sets, one per cached set object (the same object while served from the in-process copy). */
const indexes = new WeakMap<UserAssetSet, Set<string>>();

/** The set's asset ids as a Set, built once per cached set object (single-asset reads and access checks). */
export function assetIndexOf(set: UserAssetSet): Set<string> {
  let index = indexes.get(set);
  if (!index) indexes.set(set, (index = new Set(set.assetIds)));
  return index;
}
