// A worker thread of PageDecoders: digests asset/list answers (UTF-8 decoding, JSON.parse, checks, the answer's
// views serialized) so that the main thread only moves bytes while a 100-page user's pages arrive.
import { parentPort } from 'node:worker_threads';
import { LangPrefs } from '../common/i18n';
import { digestAssetList } from './page-digest';

/** A job: a copy of the answer's bytes and the caller's languages. */
export interface PageJob {
  id: number;
  bytes: Uint8Array;
  prefs?: LangPrefs;
}

/** Its result, or the error's message (the main thread then digests the page itself). */
export type PageResult = { id: number; envelope: unknown } | { id: number; error: string };

parentPort?.on('message', (job: PageJob) => {
  let result: PageResult;
  let transfer: ArrayBuffer[] = [];
  try {
    const d = digestAssetList(job.bytes, job.prefs);
    result = { id: job.id, envelope: d.envelope };
    transfer = d.transfer;
  } catch (err) {
    result = { id: job.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort?.postMessage(result, transfer);
});
