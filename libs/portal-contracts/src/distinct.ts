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
export function distinct<T>(items: readonly T[]): T[] {
  if (DISTINCT.has(items)) return items as T[];
  const out = (items.length >= TABLE_FROM && distinctStrings(items)) || [...new Set(items)];
  DISTINCT.add(out);
  return out;
}

/** FNV-1a over the string's UTF-16 code units (an int32): the hash of the id tables (distinct, the merge's IdSet). */
export function idHash(s: string): number {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** From this many items, strings are folded in the table below rather than a Set. */
const TABLE_FROM = 64;
/** Largest table kept between calls (2^18 slots, 1 MB: a 50,000-user batch needs 2^17). */
const TABLE_KEPT_MAX = 1 << 18;
/**
 * Open addressing, slot -> position in the result + 1, kept from call to call. A Set of a batch's 10,000 user ids
 * grew its table into memory never touched before, 7.5 ms of a cold batch before its first upstream call here
 * (profiled); this table is memory touched before, and cleared only as far as a call uses it.
 */
let table = new Int32Array(1 << 15);

/** Each string once, in order; undefined when an item is not a string (the Set then folds them). */
function distinctStrings<T>(items: readonly T[]): T[] | undefined {
  const n = items.length;
  let size = 16;
  while (size < n * 2) size *= 2;
  if (table.length < size) table = new Int32Array(size);
  else table.fill(0, 0, size);
  const mask = size - 1;
  const out: T[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = items[i];
      if (typeof s !== 'string') return undefined;
      for (let slot = idHash(s) & mask; ; slot = (slot + 1) & mask) {
        const at = table[slot];
        if (at === 0) {
          table[slot] = out.push(s);
          break;
        }
        if (out[at - 1] === s) break;
      }
    }
    return out;
  } finally {
    if (table.length > TABLE_KEPT_MAX) table = new Int32Array(1 << 15);
  }
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
