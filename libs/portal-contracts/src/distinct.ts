import { stringHash } from './string-hash';

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
  const out = folded(items);
  DISTINCT.add(out);
  return out;
}

/** The open-addressing table `folded` hashes into, kept from call to call (memory touched before). */
let table = new Int32Array(1 << 12);
/** A table grown past this many slots (2^17, 512 KB: 65,536 strings) is not kept. */
const TABLE_KEPT_MAX = 1 << 17;

/**
 * The strings once each, first occurrence wins: each one's stringHash into a table of positions in the result (an
 * Int32Array of at least twice as many slots, reused), compared with === where hashes share a slot. A Set of a
 * batch's 10,000 fresh ids took 3-4 ms here, mostly its table growing into fresh memory; this ~0.5 ms.
 */
function folded(items: readonly string[]): string[] {
  const n = items.length;
  let size = 16;
  while (size < 2 * n) size *= 2;
  const t = size <= table.length ? table : new Int32Array(size);
  if (t !== table && size <= TABLE_KEPT_MAX) table = t;
  t.fill(0, 0, size);
  const mask = size - 1;
  const out = new Array<string>(n);
  let m = 0;
  for (let i = 0; i < n; i++) {
    const x = items[i];
    for (let s = stringHash(x) & mask; ; s = (s + 1) & mask) {
      const e = t[s];
      if (e === 0) {
        t[s] = m + 1;
        out[m++] = x;
        break;
      }
      if (out[e - 1] === x) break;
    }
  }
  out.length = m;
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
