// A worker thread of PageDecoders: digests asset/list answers (UTF-8 decoding, JSON.parse, checks, the answer's
// views serialized) so that the main thread only moves bytes while a 100-page user's pages arrive, and
// users/assetList answers (the same, then each user's ids as indexes into the answer's distinct ids).
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { LangPrefs } from '../common/i18n';
import { AnswerKind, digestAnswerOf } from './page-digest';

/**
 * A job: what the answer is, for a page the caller's languages, and the answer's bytes: the first `length` bytes of
 * `shared`, a buffer of the pool's that it lends for the job (see SharedSlots; read, never kept past the answer).
 */
export interface PageJob {
  id: number;
  kind: AnswerKind;
  shared: SharedArrayBuffer;
  length: number;
  prefs?: LangPrefs;
}

/** Its result, or the error's message (the main thread then digests the page itself). */
export type PageResult = { id: number; envelope: unknown } | { id: number; error: string };

/** The page workers' nice value (the main thread keeps the process's, 0 by default). */
export const PAGE_WORKER_NICE = 10;

/**
 * Lowers this thread's scheduling priority (Linux: a thread is a task with its own id, /proc/thread-self names it):
 * while a wave of answers arrives, the main thread reading them and sending the next requests must not wait for
 * a core behind a worker digesting the previous ones; the workers' results are needed only once every page is in.
 * Elsewhere (no /proc, not allowed) the thread keeps the process's priority.
 */
function yieldCoresToMainThread(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, PAGE_WORKER_NICE);
  } catch {
    /* keeps the process's priority */
  }
}
if (parentPort) yieldCoresToMainThread();

parentPort?.on('message', (job: PageJob) => {
  let result: PageResult;
  let transfer: ArrayBuffer[] = [];
  try {
    const d = digestAnswerOf(job.kind, new Uint8Array(job.shared, 0, job.length), job.prefs);
    result = { id: job.id, envelope: d.envelope };
    transfer = d.transfer;
  } catch (err) {
    result = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(result, transfer);
});
