// A worker thread of PageDecoders: digests asset/list answers (UTF-8 decoding, JSON.parse, checks, the answer's
// views serialized) so that the main thread only moves bytes while a 100-page user's pages arrive, and
// users/assetList answers (the same, then each user's ids as indexes into the answer's distinct ids).
import { parentPort } from 'node:worker_threads';
import { LangPrefs } from '../common/i18n';
import { AnswerKind, digestAnswerOf } from './page-digest';

/** A job: a copy of the answer's bytes, what it is, and for a page the caller's languages. */
export interface PageJob {
  id: number;
  kind: AnswerKind;
  bytes: Uint8Array;
  prefs?: LangPrefs;
}

/** Its result, or the error's message (the main thread then digests the page itself). */
export type PageResult = { id: number; envelope: unknown } | { id: number; error: string };

parentPort?.on('message', (job: PageJob) => {
  let result: PageResult;
  let transfer: ArrayBuffer[] = [];
  try {
    const d = digestAnswerOf(job.kind, job.bytes, job.prefs);
    result = { id: job.id, envelope: d.envelope };
    transfer = d.transfer;
  } catch (err) {
    result = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(result, transfer);
});
