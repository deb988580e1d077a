import { createHash } from 'node:crypto';
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

/**
 * SHA-256 of `count` items, each given as its texts (`partsOf`), every text with its length before it so that no two
 * sequences hash the same text. SLICE_ITEMS items per cold turn and one hash update per slice (not per item): a big
 * user's 100,000 items are not hashed at once, and a refresh wave digests every user.
 */
export async function hashSliced(count: number, partsOf: (i: number) => string[]): Promise<Buffer> {
  const hash = createHash('sha256');
  for (let from = 0; from < count; from += SLICE_ITEMS) {
    if (from > 0) await coldTurn();
    let text = '';
    for (let i = from; i < Math.min(count, from + SLICE_ITEMS); i++) for (const part of partsOf(i)) text += `${part.length}:${part}`;
    hash.update(text);
  }
  return hash.digest();
}
