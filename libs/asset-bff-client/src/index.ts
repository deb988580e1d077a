export { AssetBffClient, MAX_CHECKS_PER_REQUEST, MAX_USERS_PER_REQUEST } from './asset-bff-client';
export type { AssetBffClientOptions } from './asset-bff-client';
export { AssetBffError } from './asset-bff-error';
export type { ClientErrorCode } from './asset-bff-error';
export type * from './types';
export type { components, operations, paths } from './generated/api';
