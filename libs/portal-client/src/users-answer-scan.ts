import { isSuccessCode } from '@app/portal-contracts';
import { grown, JsonBytes, NOT_USUAL, NULL, SCAN } from './json-scan';
import { DigestedUsersAssetList, readUsersAssetListData } from './users-answer';

// this module's own constants (see SCAN)
const { BACKSLASH, CLOSE_LIST, COMMA, FNV_OFFSET, FNV_PRIME, isSpace, NOT_ASCII, OPEN_LIST, PRINTABLE, QUOTE } = SCAN;

/**
 * A `users/assetList` answer read from its bytes, for the usual answer: its `usersUserAssets` scanned byte by byte
 * (each id occurrence compared with the id it most likely is, else hashed and looked up by its bytes; a string made
 * only for each distinct id and each user), the rest of the envelope (the `userAssets` details, the code) decoded
 * and parsed as usual with `[]` in the users' place.
 * Decoding a whole answer makes one string of ~1 MB (two bytes a char as soon as one name is not ASCII), and its
 * JSON.parse a string per id occurrence (50,000 for 1,000 users of 50): ~10 ms per MB on this project's VM, against
 * ~1-2 ms for the scan.
 *
 * It reads the answer exactly as JSON.parse then digestUsersAssetListData would, or not at all: undefined for
 * anything else than a success envelope whose `data.usersUserAssets` is a list of `{userId, userAssetIds}` objects
 * (in any order, `userAssetIds` absent or null for none) with ids and user ids of printable ASCII without escapes,
 * each key once; the caller then reads the answer the usual way. What it replaces with `[]` is a complete JSON value at
 * a value's place, so the rest parses as the whole would, and is what decides whether the answer is JSON at all.
 */
export function scanUsersAssetListAnswer(bytes: Uint8Array): { envelope: unknown } | undefined {
  try {
    return scanAnswer(bytes);
  } finally {
    trimScratch();
  }
}

function scanAnswer(bytes: Uint8Array): { envelope: unknown } | undefined {
  const users = new UsersScan(bytes);
  const at = users.locate();
  if (!at) return undefined;
  const rest = `${DECODER.decode(bytes.subarray(0, at.start))}[]${DECODER.decode(bytes.subarray(at.end))}`;
  let body: unknown;
  try {
    body = JSON.parse(rest);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null || !isSuccessCode((body as { code?: unknown }).code)) return undefined;
  const dict = readUsersAssetListData((body as { data?: unknown }).data);
  if (typeof dict === 'string') return undefined;
  const data: DigestedUsersAssetList = { digest: 'users', ...users.result(), userAssets: dict.userAssets };
  return { envelope: { ...(body as object), data } };
}

const DECODER = new TextDecoder();

const KEY_USERS = Buffer.from('usersUserAssets');
const KEY_USER_ID = Buffer.from('userId');
const KEY_IDS = Buffer.from('userAssetIds');

/**
 * Scratch arrays kept from answer to answer (a worker thread digests many): memory touched before costs nothing to
 * write again, where fresh memory costs a page fault per 4 KB. Only the results are copied out, at their size.
 */
const freshScratch = () => ({
  lists: new Int32Array(1 << 16),
  /** Open addressing: slot -> distinct id index + 1 (0 = free). */
  table: new Int32Array(1 << 14),
  idStart: new Int32Array(1 << 13),
  idEnd: new Int32Array(1 << 13),
  idHash: new Int32Array(1 << 13),
  userStart: new Int32Array(1 << 11),
  userEnd: new Int32Array(1 << 11),
  offsets: new Int32Array(1 << 11),
});
let scratch = freshScratch();
/** Past this many entries (4 MB) a scratch array is not kept after the answer that grew it (a rare huge answer). */
const SCRATCH_KEPT_MAX = 1 << 20;

/** Drops scratch arrays a huge answer grew past SCRATCH_KEPT_MAX, so that a thread does not hold them for good. */
function trimScratch(): void {
  if (Object.values(scratch).some((a) => a.length > SCRATCH_KEPT_MAX)) scratch = freshScratch();
}

/** One answer's scan: where its users' list is, and (once located) the users and their ids as indexes. */
class UsersScan extends JsonBytes {
  private users = 0;
  private occurrences = 0;
  private distinct = 0;
  private mask = 0;
  /** The distinct index of the previous list's first id (-1: none yet). */
  private firstOfLast = -1;

  /** Where the value of `data.usersUserAssets` starts and ends, all of it scanned; undefined for an answer not of the usual shape. */
  locate(): { start: number; end: number } | undefined {
    return this.usualDataList(KEY_USERS, () => this.usersList());
  }

  /** The users (answer order, repeats kept) and each one's ids as indexes into the distinct ids, at their size. */
  result(): Pick<Extract<DigestedUsersAssetList, { digest: 'users' }>, 'userIds' | 'ids' | 'lists' | 'offsets'> {
    const buf = Buffer.from(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    const userIds = new Array<string>(this.users);
    for (let k = 0; k < this.users; k++) userIds[k] = buf.toString('latin1', scratch.userStart[k], scratch.userEnd[k]);
    const ids = new Array<string>(this.distinct);
    for (let j = 0; j < this.distinct; j++) ids[j] = buf.toString('latin1', scratch.idStart[j], scratch.idEnd[j]);
    const offsets = scratch.offsets.slice(0, this.users + 1);
    offsets[this.users] = this.occurrences;
    return { userIds, ids, lists: scratch.lists.slice(0, this.occurrences), offsets };
  }

  /**
   * `[{…}, …]` of users: each user's id range and its ids' indexes recorded. The same loop as members', written out:
   * one sequence helper for both, with the item as a callback, cost ~1.2 ms more per 1,000-user answer.
   */
  private usersList(): void {
    const b = this.b;
    if (b[this.i++] !== OPEN_LIST) throw NOT_USUAL;
    this.space();
    if (b[this.i] === CLOSE_LIST) {
      this.i++;
      return;
    }
    for (;;) {
      this.user();
      this.space();
      const c = b[this.i++];
      if (c === CLOSE_LIST) return;
      if (c !== COMMA) throw NOT_USUAL;
    }
  }

  private user(): void {
    const k = this.users;
    if (k + 2 > scratch.userStart.length) {
      scratch.userStart = grown(scratch.userStart, k + 2);
      scratch.userEnd = grown(scratch.userEnd, k + 2);
      scratch.offsets = grown(scratch.offsets, k + 2);
    }
    scratch.offsets[k] = this.occurrences;
    let userId: { start: number; end: number } | undefined;
    let sawIds = false;
    this.members((key) => {
      this.space();
      if (this.is(key, KEY_USER_ID)) {
        if (userId) throw NOT_USUAL;
        userId = this.plainString();
      } else if (this.is(key, KEY_IDS)) {
        if (sawIds) throw NOT_USUAL;
        sawIds = true;
        // repeats of this user's ids recorded too (the users' lists are folded later, as for a parsed answer)
        if (this.b[this.i] === OPEN_LIST) this.idList();
        else if (!this.literal(NULL)) throw NOT_USUAL;
      } else {
        throw NOT_USUAL;
      }
    });
    if (!userId) throw NOT_USUAL;
    scratch.userStart[k] = userId.start;
    scratch.userEnd[k] = userId.end;
    this.users = k + 1;
  }

  /**
   * `["…", …]` of ids: each occurrence's distinct index appended to the lists. The one loop that sees every byte.
   * An id is first compared with the one it most likely is, without hashing it: the id after the previous one's in
   * the distinct ids, or for a list's first id the previous list's first. Users granted the same assets in the same
   * order (lists that repeat one another, the usual answer) are then read at a comparison per id. That is tried
   * only while it holds: an id found by its hash predicts the next only if it was itself the next of its predecessor,
   * so that lists in no such order pay one comparison per list, not one per id.
   */
  private idList(): void {
    const b = this.b;
    const n = b.length;
    const listStart = this.occurrences;
    let i = this.i + 1;
    while (i < n && isSpace(b[i])) i++;
    if (b[i] === CLOSE_LIST) {
      this.i = i + 1;
      return;
    }
    let run = false;
    for (;;) {
      if (b[i] !== QUOTE) throw NOT_USUAL;
      const start = ++i;
      const at = this.occurrences;
      if (at >= scratch.lists.length) scratch.lists = grown(scratch.lists, at + 1);
      const first = at === listStart;
      let j: number = first || run ? this.predicted(start, first ? this.firstOfLast : scratch.lists[at - 1] + 1) : -1;
      if (j >= 0) {
        // i at the closing quote, as after the hashing loop
        i = start + scratch.idEnd[j] - scratch.idStart[j];
        run = true;
      } else {
        let h = FNV_OFFSET;
        let c = 0;
        while (i < n) {
          c = b[i];
          if (c === QUOTE || c === BACKSLASH || c < PRINTABLE || c >= NOT_ASCII) break;
          h = Math.imul(h ^ c, FNV_PRIME);
          i++;
        }
        if (c !== QUOTE || i >= n) throw NOT_USUAL;
        j = this.indexOf(start, i, h);
        run = !first && j === scratch.lists[at - 1] + 1;
      }
      scratch.lists[at] = j;
      this.occurrences = at + 1;
      i++;
      while (i < n && isSpace(b[i])) i++;
      const c = b[i++];
      if (c === CLOSE_LIST) break;
      if (c !== COMMA) throw NOT_USUAL;
      while (i < n && isSpace(b[i])) i++;
    }
    this.firstOfLast = scratch.lists[listStart];
    this.i = i;
  }

  /**
   * `p` when the string at `start` is distinct id p (its bytes, then a closing quote), else -1. Bytes equal to an id
   * already read are checked bytes of an id.
   */
  private predicted(start: number, p: number): number {
    if (p < 0 || p >= this.distinct) return -1;
    const b = this.b;
    const from = scratch.idStart[p];
    const len = scratch.idEnd[p] - from;
    if (start + len >= b.length || b[start + len] !== QUOTE) return -1;
    for (let d = 0; d < len; d++) if (b[start + d] !== b[from + d]) return -1;
    return p;
  }

  /** The distinct index of the id at bytes [start, end) with hash h, a new one for an id not seen before. */
  private indexOf(start: number, end: number, h: number): number {
    if (2 * (this.distinct + 1) > this.mask + 1 || this.mask === 0) this.rehash();
    const b = this.b;
    const len = end - start;
    const { table, idStart, idEnd, idHash } = scratch;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const e = table[s];
      if (e === 0) {
        const j = this.distinct;
        table[s] = j + 1;
        idStart[j] = start;
        idEnd[j] = end;
        idHash[j] = h;
        this.distinct = j + 1;
        return j;
      }
      const j = e - 1;
      if (idHash[j] !== h || idEnd[j] - idStart[j] !== len) continue;
      let d = 0;
      const o = idStart[j] - start;
      while (d < len && b[start + d] === b[start + d + o]) d++;
      if (d === len) return j;
    }
  }

  /** A table for twice the ids seen so far (at least 2^12 slots), the ids' arrays grown to match. */
  private rehash(): void {
    const need = Math.max(1 << 12, 4 * (this.distinct + 1));
    let size = 1 << 12;
    while (size < need) size *= 2;
    if (scratch.table.length < size) scratch.table = new Int32Array(size);
    const table = scratch.table;
    table.fill(0, 0, size);
    this.mask = size - 1;
    const cap = size / 2;
    scratch.idStart = grown(scratch.idStart, cap);
    scratch.idEnd = grown(scratch.idEnd, cap);
    scratch.idHash = grown(scratch.idHash, cap);
    for (let j = 0; j < this.distinct; j++) {
      let s = scratch.idHash[j] & this.mask;
      while (table[s] !== 0) s = (s + 1) & this.mask;
      table[s] = j + 1;
    }
  }
}
