// A worker thread of PageDecoders: digests asset/list answers (UTF-8 decoding, JSON.parse, checks, the answer's
// views serialized) so that the main thread only moves bytes while a 100-page user's pages arrive, and
// users/assetList answers (the same, then each user's ids as indexes into the answer's distinct ids).
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
