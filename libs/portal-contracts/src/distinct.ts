import { IdSet } from './string-hash';

/**
 * Arrays known to hold each value once. A batch's 10,000 user ids pass through the controller, the cache and the
 * portal client, each of which must see every user once; folding them with a Set at each layer cost several
 * milliseconds apiece here (the table's growth into fresh memory), so the first layer folds them and the others
 * recognize its result.
 */
const DISTINCT = new WeakSet<readonly unknown[]>();

/**
 * Each value once, first occurrence wins, order kept: `items` itself when it is known to be so (made by this function
 * or marked by markDistinct), else a new array, known to be so from then on. Neither may be changed afterwards.
 */
export function distinct(items: readonly string[]): string[] {
  if (DISTINCT.has(items)) return items as string[];
  // an IdSet, not a Set: see IdSet
  const out: string[] = [];
  const seen = new IdSet(out, items.length);
  for (const x of items) seen.add(x);
  DISTINCT.add(out);
  return out;
}

/** Declares that `items`, built by the caller, holds each value once (for distinct); it must not be changed afterwards. */
export function markDistinct<T>(items: T[]): T[] {
  DISTINCT.add(items);
  return items;
}

/** Whether `items` is known to hold each value once. */
export function isDistinct(items: readonly unknown[]): boolean {
  return DISTINCT.has(items);
}
