import { I18nString } from './i18n';

/** Body of `POST user/users/assetList`. */
export interface UsersAssetListRequest {
  organizationId: string;
  userIds: string[];
  resourceTypes?: string[];
}

/** One user's asset ids in a `users/assetList` answer. */
export interface UsersUserAssets {
  userId: string;
  userAssetIds: string[];
}

/** One entry of the shared asset dictionary of a `users/assetList` answer. */
export interface UserAssetInfo {
  id: string;
  name: I18nString;
  type: string;
  typeName: I18nString;
}

/** `data` of a `users/assetList` answer. */
export interface UsersAssetListData {
  usersUserAssets: UsersUserAssets[];
  userAssets: UserAssetInfo[];
}

/** Pagination of `asset/list`; pageNo is 0-based. */
export interface PaginationRequest {
  pageNo: number;
  pageSize: number;
}

/** Body of `POST user/asset/list`. */
export interface AssetListRequest {
  userId: string;
  orgId: string;
  pagination?: PaginationRequest;
}

/** One asset of an `asset/list` page. */
export interface AssetListItem {
  id: string;
  name: I18nString;
}

/** `data` of an `asset/list` answer. */
export interface AssetListData {
  pagination: { pageNo: number; pageSize: number; totalElements: number };
  assets: AssetListItem[];
}
