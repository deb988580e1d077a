import type { components, operations } from './generated/api';

/** The schemas of the service's OpenAPI document (generated from it: see scripts/client-openapi.js). */
type Schemas = components['schemas'];

export type Asset = Schemas['AssetDto'];
export type UserAssets = Schemas['UserAssetsDto'];
export type UserAssetIds = Schemas['UserAssetIdsDto'];
export type Check = Schemas['CheckDto'];
export type CheckResult = Schemas['CheckResultDto'];
export type AccessChecks = Schemas['AccessChecksResultDto'];
export type TreeNode = Schemas['TreeNodeDto'];
export type TreeView = Schemas['TreeViewDto'];
export type FlatNode = Schemas['FlatNodeDto'];
export type FlatView = Schemas['FlatViewDto'];
export type Problem = Schemas['ProblemDto'];
export type ErrorCode = Problem['code'];
export type FieldProblem = Schemas['FieldProblemDto'];

export type BatchAsset = Schemas['BatchAssetDto'];
export type UsersAssets = Schemas['BatchUserAssetsDto'];

type Query<Op extends keyof operations> = NonNullable<operations[Op]['parameters']['query']>;

/** Options every read takes: a language and the consistency token of an earlier write or read. */
export interface ReadOptions {
  /** Locale key of the localized `name` (`zh_CN`, `en_US`...). */
  lang?: string;
  /** `X-Consistency-Token` of an earlier invalidation or read: the answer is at least as fresh. */
  consistencyToken?: string;
}

export type UserAssetsOptions = ReadOptions & Omit<Query<'AssetsController_list'>, 'lang'>;
export type UserAssetPagesOptions = ReadOptions & Omit<Query<'AssetsController_list'>, 'lang' | 'cursor'>;

export interface UsersAssetsOptions extends ReadOptions {
  resourceTypes?: string[];
  /** Called after each user line of the stream with the users done so far and the number requested. */
  onProgress?: (done: number, total: number) => void;
}

export interface AssetTreeOptions extends Omit<Query<'TreeController_tree'>, 'lang' | 'types'> {
  lang?: string;
  /** Asset types: a list, or a comma list as the HTTP API takes it. */
  types?: string[] | string;
}

/** One line of `POST .../user-assets` read as `application/x-ndjson`. */
export type NdjsonLine =
  { asset: BatchAsset } | { user: UserAssetIds } | { end: { users: number; assets: number; cache: 'HIT' | 'MISS' | 'STALE' } } | { error: Problem };
