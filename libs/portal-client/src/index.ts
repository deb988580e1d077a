/**
 * @app/portal-client: the one place that talks to the EnOS Application Portal (through its API gateway).
 *
 * - `PortalClientModule.forRootAsync({ useFactory, inject, imports })` provides `PortalClient` over an
 *   HttpModule with keep-alive agents.
 * - Every call gets a gateway token (one fetch at a time, reused until min(60 s, 10% of its lifetime) before
 *   expiry, replaced once on 1203/1201), is signed per attempt, and runs through
 *   retry → circuit breaker → bulkhead → timeout (see PortalTransport).
 * - Failures are `PortalError` with a `PortalErrorKind`; messages never carry a secret, token or signature.
 * - Answers are read in one place (readAnswer: JSON.parse, then the shape checks of the answers whose data is
 *   kept); an `AnswerDecoder` such as `AnswerWorkers` runs that same function on worker threads.
 * - `getUserAssets` merges every `asset/list` page. Page consistency: page 0 gives totalElements; when a later
 *   page disagrees on the total, is shorter or longer than expected, or repeats an id, every page is read once
 *   more; if that second pass is still inconsistent its merge (each id once, upstream order) is returned with
 *   `complete: false`. Hitting `maxAssets` also gives `complete: false`.
 * - `getUsersAssets` / `getUserAssetsBatched` use `users/assetList`; more than 1000 resourceTypes is a
 *   BadRequest raised locally, an empty list means no filter.
 */
export * from './portal-client.types';
export { PortalError } from './portal-error';
export type { PortalNotFoundSubject } from './portal-error';
export { PortalClient } from './portal-client.service';
export type { ChunkListener, UserAssetsReadOptions } from './portal-client.service';
export { readAssetListData } from './asset-pages';
export { readUsersAssetListData } from './users-answer';
export type { AnswerDecoder, AnswerKind } from './answer';
export { readAnswer } from './answer';
export { ANSWER_WORKER_FILE, AnswerWorkers, WORKER_MIN_BYTES } from './answer-workers';
export { PortalClientModule } from './portal-client.module';
export type { PortalClientModuleAsyncOptions } from './portal-client.module';
export { PORTAL_CLIENT_DEFAULTS } from './portal-client.defaults';
export { normalizeTree } from './tree-normalizer';
