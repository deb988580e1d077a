import { setImmediate as nextTurn } from 'node:timers/promises';

/** Items the cache's long loops handle between two turns of the event loop (a big user's ids, a batch's users). */
export const SLICE_ITEMS = 1_000;

/**
 * `fn` of every item, `slice` items at a time with a turn of the event loop between slices: hot reads that arrive
 * meanwhile are answered instead of waiting behind a 100,000-item loop. Short lists run in one go.
 */
export async function forEachSliced<T>(items: readonly T[], fn: (item: T, i: number) => void, slice = SLICE_ITEMS): Promise<void> {
  for (let from = 0; from < items.length; from += slice) {
    if (from > 0) await nextTurn();
    const to = Math.min(items.length, from + slice);
    for (let i = from; i < to; i++) fn(items[i], i);
  }
}

/** `items.map(fn)`, sliced as forEachSliced. */
export async function mapSliced<T, U>(items: readonly T[], fn: (item: T, i: number) => U, slice = SLICE_ITEMS): Promise<U[]> {
  const out = new Array<U>(items.length);
  await forEachSliced(items, (item, i) => (out[i] = fn(item, i)), slice);
  return out;
}
