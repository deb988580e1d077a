/**
 * @app/portal-client: the one place that talks to the EnOS Application Portal (through its API gateway).
 *
 * - `PortalClientModule.forRootAsync({ useFactory, inject, imports })` provides `PortalClient` over an
 *   HttpModule with keep-alive agents.
 * - Every call gets a gateway token (one fetch at a time, reused until min(60 s, 10% of its lifetime) before
 *   expiry, replaced once on 1203/1201), is signed per attempt, and runs through
 *   retry → circuit breaker → bulkhead → timeout (see PortalTransport).
 * - Failures are `PortalError` with a `PortalErrorKind`; messages never carry a secret, token or signature.
 * - `getUserAssets` merges every `asset/list` page. Page consistency: page 0 gives totalElements; when a later
 *   page disagrees on the total, is shorter or longer than expected, or repeats an id, every page is read once
 *   more; if that second pass is still inconsistent its merge (each id once, upstream order) is returned with
 *   `complete: false`. Hitting `maxAssets` also gives `complete: false`. Pages are merged by id as they arrive;
 *   an `AssetListDecoder` may read the answers instead of the client's JSON.parse (the service digests them on
 *   worker threads), and the merged names are then parsed only when `assets` is first read.
 * - `getUsersAssets` / `getUserAssetsBatched` use `users/assetList`; more than 1000 resourceTypes is a
 *   BadRequest raised locally, an empty list means no filter. A `UsersAssetListDecoder` may read those answers
 *   too (the service digests them on worker threads into ids and index lists, so that no string per id
 *   occurrence is made on the main thread).
 */
export * from './portal-client.types';
export { PortalError } from './portal-error';
export type { PortalNotFoundSubject } from './portal-error';
export { PortalClient } from './portal-client.service';
export type { AssetListDecoder, ChunkListener, PageListener, UserAssetsReadOptions, UsersAssetListDecoder } from './portal-client.service';
export type { AssetPage, DigestedAssetList } from './asset-pages';
export type { DigestedUsersAssetList } from './users-answer';
export { readAssetListData } from './asset-pages';
export { PortalClientModule } from './portal-client.module';
export type { PortalClientModuleAsyncOptions } from './portal-client.module';
export { PORTAL_CLIENT_DEFAULTS } from './portal-client.defaults';
export { normalizeTree } from './tree-normalizer';
