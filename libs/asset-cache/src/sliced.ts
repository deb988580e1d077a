import { setImmediate as nextTurn } from 'node:timers/promises';

/** Items the cache's long loops handle between two turns of the event loop (a big user's ids, a batch's users). */
export const SLICE_ITEMS = 1_000;

/** The last turn taken by cold work so far (see coldTurn), and how many turns are asked for and not yet taken. */
let turns: Promise<void> = Promise.resolve();
let waiting = 0;

/**
 * Resolves on a later turn of the event loop, after the cold work that yielded before it had its turn: however many
 * long loops run at once, one slice of them runs per turn, and the hot reads that arrive meanwhile are answered
 * between slices. (Plain setImmediate would not do: callbacks queued together run back to back in one check phase.)
 */
export function coldTurn(): Promise<void> {
  waiting++;
  turns = turns.then(async () => {
    await nextTurn();
    waiting--;
  });
  return turns;
}

/**
 * Resolves on a turn when no cold work waits for one, or after `maxWaitMs`: for work in the background (a big set's
 * store) that should let the answers being built go first, without being put off for ever.
 */
export async function coldIdle(maxWaitMs: number): Promise<void> {
  const until = performance.now() + maxWaitMs;
  do await nextTurn();
  while (waiting > 0 && performance.now() < until);
}

/**
 * `fn` of every item, `slice` items at a time with a cold turn between slices: hot reads that arrive meanwhile are
 * answered instead of waiting behind a 100,000-item loop. Short lists run in one go.
 */
export async function forEachSliced<T>(items: readonly T[], fn: (item: T, i: number) => void, slice = SLICE_ITEMS): Promise<void> {
  for (let from = 0; from < items.length; from += slice) {
    if (from > 0) await coldTurn();
    const to = Math.min(items.length, from + slice);
    for (let i = from; i < to; i++) fn(items[i], i);
  }
}
