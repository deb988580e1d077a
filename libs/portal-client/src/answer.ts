import { isSuccessCode } from '@app/portal-contracts';
import { readAssetListData } from './asset-pages';
import { readUsersAssetListData } from './users-answer';

/** The answers whose `data` is checked as part of reading them (the large ones a worker thread may read). */
export type AnswerKind = 'assetList' | 'usersAssetList';

/**
 * Reads an answer's bytes off the calling thread (e.g. AnswerWorkers): must give what readAnswer gives for them.
 * A rejection is taken as an answer not received, and the call is tried again.
 */
export type AnswerDecoder = (kind: AnswerKind, bytes: Buffer) => Promise<unknown>;

const DATA_READERS: Record<AnswerKind, (data: unknown) => unknown> = {
  assetList: readAssetListData,
  usersAssetList: readUsersAssetListData,
};

/**
 * An answer as the client reads it: JSON.parse of its text (the text itself when it is not JSON, which has no envelope
 * code), and for a success envelope of a `kind`, its `data` checked and reduced (what readAssetListData or
 * readUsersAssetListData give: the kept shape, or a string saying why it is malformed). The same plain function runs
 * on the main thread and on worker threads, so both read an answer alike.
 */
export function readAnswer(kind: AnswerKind | undefined, raw: unknown): unknown {
  const body = parsed(raw);
  if (kind === undefined || typeof body !== 'object' || body === null || !isSuccessCode((body as { code?: unknown }).code)) return body;
  return { ...body, data: DATA_READERS[kind]((body as { data?: unknown }).data) };
}

/** JSON.parse of the answer's text; the text itself when it is not JSON (a value already parsed is kept). */
function parsed(raw: unknown): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  if (typeof text !== 'string' || text.length === 0) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
