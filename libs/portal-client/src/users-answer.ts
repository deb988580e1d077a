import { I18nString, UserAssetInfo, UsersUserAssets } from '@app/portal-contracts';

/** A `users/assetList` answer's `data` as the client keeps it. */
export interface UsersAssetListAnswer {
  usersUserAssets: UsersUserAssets[];
  userAssets: UserAssetInfo[];
}

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
