import { I18nString, UserAssetInfo, UsersUserAssets } from '@app/portal-contracts';

/** A `users/assetList` answer's `data` as the client keeps it. */
export interface UsersAssetListAnswer {
  usersUserAssets: UsersUserAssets[];
  userAssets: UserAssetInfo[];
}

/**
 * `data` of a `users/assetList` answer digested by a UsersAssetListDecoder (off the main thread), in a form that
 * crosses threads cheaply: each distinct asset id once (`ids`), and each user's list as indexes into it. User k
 * of `userIds` (answer order, repeats kept) has the ids at `lists[offsets[k]..offsets[k + 1])`. `malformed` says
 * why the data is not an answer (the same reasons the client gives when it reads the answer itself). `prepared` is
 * whatever the decoder made of the answer for its caller: the client hands it to the chunk's listener untouched
 * when the answer names exactly the chunk's users, in request order, each once (see ChunkListener).
 */
export type DigestedUsersAssetList =
  | { digest: 'users'; userIds: string[]; ids: string[]; lists: Int32Array; offsets: Int32Array; userAssets: UserAssetInfo[]; prepared?: Uint8Array }
  | { digest: 'malformed'; reason: string };

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const i18nOf = (v: unknown): I18nString => (isObject(v) ? (v as I18nString) : {});

/** A `users/assetList` answer's `data` checked and reduced to what the client keeps; a string says why it is malformed. */
export function readUsersAssetListData(data: unknown): UsersAssetListAnswer | string {
  if (!isObject(data)) return 'data is not an object';
  const rawUsers = data.usersUserAssets ?? [];
  const rawAssets = data.userAssets ?? [];
  if (!Array.isArray(rawUsers) || !Array.isArray(rawAssets)) return 'usersUserAssets/userAssets are not lists';
  const usersUserAssets: UsersUserAssets[] = [];
  for (const u of rawUsers as unknown[]) {
    if (!isObject(u) || typeof u.userId !== 'string') return 'user entry without userId';
    const ids = u.userAssetIds ?? [];
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) return 'userAssetIds is not a list of ids';
    usersUserAssets.push({ userId: u.userId, userAssetIds: ids as string[] });
  }
  const userAssets: UserAssetInfo[] = [];
  for (const a of rawAssets as unknown[]) {
    if (!isObject(a) || typeof a.id !== 'string') return 'asset entry without id';
    userAssets.push({ id: a.id, name: i18nOf(a.name), type: typeof a.type === 'string' ? a.type : '', typeName: i18nOf(a.typeName) });
  }
  return { usersUserAssets, userAssets };
}

/** The answer checked as readUsersAssetListData does, then indexed (see DigestedUsersAssetList). */
export function digestUsersAssetListData(data: unknown): DigestedUsersAssetList {
  const answer = readUsersAssetListData(data);
  if (typeof answer === 'string') return { digest: 'malformed', reason: answer };
  const users = answer.usersUserAssets;
  const indexOf = new Map<string, number>();
  const ids: string[] = [];
  const offsets = new Int32Array(users.length + 1);
  let n = 0;
  for (const u of users) n += u.userAssetIds.length;
  const lists = new Int32Array(n);
  let at = 0;
  users.forEach((u, k) => {
    offsets[k] = at;
    for (const id of u.userAssetIds) {
      let i = indexOf.get(id);
      if (i === undefined) {
        i = ids.length;
        indexOf.set(id, i);
        ids.push(id);
      }
      lists[at++] = i;
    }
  });
  offsets[users.length] = at;
  return { digest: 'users', userIds: users.map((u) => u.userId), ids, lists, offsets, userAssets: answer.userAssets };
}
