import type { AssetDetails, CachedUserSet, UserAssetSet } from '@app/asset-cache';
import { AnswerBytes, answerBytes } from '../common/answer-bytes';

export interface BatchAssetView {
  id: string;
  name: string;
  names: AssetDetails['names'];
  type: string | null;
  typeName: string | null;
  typeNames: AssetDetails['typeNames'] | null;
}

export interface BatchResult {
  orgId: string;
  users: { userId: string; assetIds: string[] }[];
  assets: BatchAssetView[];
}

/** A user's element of the answer, `{"userId":…,"assetIds":[…]}`, as JSON.stringify writes it. */
type Element = BatchResult['users'][number];

/** `,a,b` of elements a and b: one JSON.stringify of all of them, each with its leading comma ('' for none). */
function joinedElements(elements: Element[]): string {
  // '[a,b]' -> ',a,b'
  return elements.length === 0 ? '' : `,${JSON.stringify(elements).slice(1, -1)}`;
}

/** The UTF-8 bytes of texts `parts[i]`, one after another in one buffer, and where each starts (`starts[n]` = the end). */
function packed(parts: readonly string[]): { bytes: Buffer; starts: Int32Array } {
  const joined = parts.join('');
  const bytes = Buffer.from(joined, 'utf8');
  const starts = new Int32Array(parts.length + 1);
  // an ASCII text has as many bytes as characters: the offsets are the lengths
  const ascii = bytes.length === joined.length;
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    starts[i] = at;
    at += ascii ? parts[i].length : Buffer.byteLength(parts[i], 'utf8');
  }
  starts[parts.length] = at;
  return { bytes, starts };
}

const TAIL = Buffer.from(']}');
/** Shorter ranges are copied by a loop: faster than a native copy call each. */
const LOOP_COPY_MAX = 64;

/** Bytes [from, to) of `src` into `out` at `at`; the new end. */
function copyRange(src: Buffer, from: number, to: number, out: Uint8Array, at: number): number {
  if (to - from > LOOP_COPY_MAX) return at + src.copy(out, at, from, to);
  for (let b = from; b < to; b++) out[at++] = src[b];
  return at;
}

/**
 * The elements of a `users/assetList` answer's users in answer order, each user's ids once (first occurrence, as the
 * portal client folds them), from the answer's digest, as UTF-8 bytes in a buffer of their own (never Buffer's shared
 * pool: a page worker hands it over to the main thread): what a page worker prepares for LoadedRuns, so that the main
 * thread does not serialize the users of a cold batch. The same bytes as JSON.stringify of the elements: each distinct
 * id (`,"…"`) and each user's head (`,{"userId":…,"assetIds":[`) is encoded once, and an element is copies of those
 * bytes, a run of ids that are consecutive in the answer's distinct ids (the usual case) in one copy.
 */
export function digestElements(userIds: readonly string[], ids: readonly string[], lists: Int32Array, offsets: Int32Array): Uint8Array {
  const quoted = packed(ids.map((id) => `,${JSON.stringify(id)}`));
  const heads = packed(userIds.map((userId) => `,{"userId":${JSON.stringify(userId)},"assetIds":[`));
  const qs = quoted.starts;
  // Each user's ids once (seen[j] === k + 1: id j is in user k's list already), and the answer's length.
  const seen = new Int32Array(ids.length);
  const kept = new Int32Array(lists.length);
  const ends = new Int32Array(userIds.length);
  let n = 0;
  let length = heads.starts[userIds.length] + TAIL.length * userIds.length;
  for (let k = 0; k < userIds.length; k++) {
    const first = n;
    for (let i = offsets[k]; i < offsets[k + 1]; i++) {
      const j = lists[i];
      if (seen[j] === k + 1) continue;
      seen[j] = k + 1;
      kept[n++] = j;
      length += qs[j + 1] - qs[j];
    }
    // the first id's comma is not written
    if (n > first) length--;
    ends[k] = n;
  }
  const out = new Uint8Array(new ArrayBuffer(length));
  const q = quoted.bytes;
  let at = 0;
  let m = 0;
  for (let k = 0; k < userIds.length; k++) {
    at = copyRange(heads.bytes, heads.starts[k], heads.starts[k + 1], out, at);
    let skip = 1;
    while (m < ends[k]) {
      // ids j, j + 1, …, j + r - 1 in a row: their encodings are one range
      const j = kept[m];
      let r = 1;
      while (m + r < ends[k] && kept[m + r] === j + r) r++;
      at = copyRange(q, qs[j] + skip, qs[j + r], out, at);
      skip = 0;
      m += r;
    }
    at = copyRange(TAIL, 0, TAIL.length, out, at);
  }
  return out;
}

/**
 * Each user's element of a batch answer, `,{"userId":…,"assetIds":[…]}` (with a leading comma) as bytes, made once per
 * set the cache served from its copies (HIT): a user held in process is then not serialized again for every batch
 * that names it. Sets are never changed once made (the cache hands the same object to every reader).
 */
export class UserElements {
  private readonly bySet = new WeakMap<UserAssetSet, { userId: string; bytes: Buffer }>();

  /** The element of a cached user; undefined for a user just loaded or stale (serialized with the others, once). */
  of(userId: string, entry: CachedUserSet | undefined): Buffer | undefined {
    const set = entry?.set;
    if (!set || entry.status !== 'HIT') return undefined;
    const known = this.bySet.get(set);
    if (known?.userId === userId) return known.bytes;
    const bytes = Buffer.from(`,${JSON.stringify({ userId, assetIds: set.assetIds })}`);
    this.bySet.set(set, { userId, bytes });
    return bytes;
  }
}

/** One chunk of users loaded for a request, with the sets the chunk's answer gave them, and their elements. */
interface LoadedRun {
  users: string[];
  sets: (UserAssetSet | null)[];
  /** The users' elements in order, each with its leading comma. */
  bytes: Buffer;
  /** Each id of the users' lists once, in the order the lists name them first (when the chunk's answer gave them). */
  ids?: readonly string[];
}

/**
 * The elements of one request's users/assetList chunks, serialized as each chunk's answer arrives, while the
 * later chunks are still upstream: the answer is then assembled from them instead of serializing 10,000 users
 * after the last chunk came back. A run is used only where the answer's users are the chunk's users, in its
 * order, with the very sets the chunk gave them (anything else, such as a user served STALE, is serialized
 * as before).
 */
export class LoadedRuns {
  private readonly byFirst = new Map<string, LoadedRun>();

  get size(): number {
    return this.byFirst.size;
  }

  /**
   * A chunk's users and sets; `prepared`: their elements as a page worker made them (digestElements), if it did;
   * `ids`: each id of the sets once, in first-seen order, if known.
   */
  add(users: string[], sets: (UserAssetSet | null)[], prepared?: Uint8Array, ids?: readonly string[]): void {
    if (users.length === 0) return;
    const bytes = prepared
      ? Buffer.from(prepared.buffer, prepared.byteOffset, prepared.byteLength)
      : Buffer.from(joinedElements(users.map((userId, k) => ({ userId, assetIds: sets[k]?.assetIds ?? [] }))));
    this.byFirst.set(users[0], { users, sets, bytes, ids });
  }

  /**
   * Each id of the users' sets once, in the order the users (in order) name them first, from the runs' `ids` when
   * runs with ids make up the whole answer (500,000 ids of a cold batch are then not walked again); undefined otherwise.
   */
  idsOf(users: string[], entries: Map<string, CachedUserSet>): string[] | undefined {
    if (this.byFirst.size === 0) return undefined;
    const seen = new Set<string>();
    for (let i = 0; i < users.length; ) {
      const run = this.at(users, i, entries);
      if (run?.ids === undefined) return undefined;
      for (const id of run.ids) seen.add(id);
      i += run.users.length;
    }
    return [...seen];
  }

  /** The run whose users are users[i], users[i + 1], … with the same sets in `entries`; undefined if none. */
  at(users: string[], i: number, entries: Map<string, CachedUserSet>): LoadedRun | undefined {
    const run = this.byFirst.get(users[i]);
    if (!run || i + run.users.length > users.length) return undefined;
    for (let k = 0; k < run.users.length; k++) {
      const userId = users[i + k];
      if (userId !== run.users[k] || (entries.get(userId)?.set ?? null) !== run.sets[k]) return undefined;
    }
    return run;
  }
}

/**
 * `{orgId, users, assets}` as JSON bytes (the same bytes as one JSON.stringify of it): cached users' elements from
 * UserElements, users just loaded from their chunks' LoadedRuns, each run of the other users in one JSON.stringify
 * (10,000 users are not worth 10,000 small ones), and the assets apart, since their localized names (CJK) would
 * make the whole answer a two-byte string, several times slower to build and encode than the users' ASCII. A large
 * answer (a cold batch's 10 MB) stays in its parts (answerBytes): the chunks' elements are not copied again.
 */
export function batchBytes(
  orgId: string,
  users: string[],
  entries: Map<string, CachedUserSet>,
  assets: BatchAssetView[],
  elements: UserElements,
  runs?: LoadedRuns,
): AnswerBytes {
  const parts: Buffer[] = [Buffer.from(`{"orgId":${JSON.stringify(orgId)},"users":[`)];
  let pending: Element[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    parts.push(Buffer.from(joinedElements(pending)));
    pending = [];
  };
  const withRuns = runs !== undefined && runs.size > 0;
  for (let i = 0; i < users.length; ) {
    const run = withRuns ? runs.at(users, i, entries) : undefined;
    if (run) {
      flush();
      parts.push(run.bytes);
      i += run.users.length;
      continue;
    }
    const userId = users[i++];
    const entry = entries.get(userId);
    const element = elements.of(userId, entry);
    if (element) {
      flush();
      parts.push(element);
    } else pending.push({ userId, assetIds: entry?.set?.assetIds ?? [] });
  }
  flush();
  // every element starts with a comma: the first one's goes
  if (parts.length > 1) parts[1] = parts[1].subarray(1);
  parts.push(Buffer.from(`],"assets":${JSON.stringify(assets)}}`));
  return answerBytes(parts);
}
