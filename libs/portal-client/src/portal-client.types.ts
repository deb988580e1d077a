import type { Tracer } from '@opentelemetry/api';
import { AssetListItem, I18nString, UserAssetInfo, UsersUserAssets } from '@app/portal-contracts';

/** Everything the client needs to reach the portal; built once from the service configuration. */
export interface PortalClientOptions {
  baseUrl: string;
  appKey: string;
  appSecret: string;
  /** Per upstream call (PORTAL_TIMEOUT_MS). */
  timeoutMs: number;
  /** Most calls in flight at once (PORTAL_CONCURRENCY). */
  concurrency: number;
  /** Users per users/assetList call, 1..1000 (PORTAL_BATCH_SIZE). */
  batchSize: number;
  /** Page size of asset/list (PORTAL_PAGE_SIZE). */
  pageSize: number;
  /** Stop merging pages past this many assets (memory guard); the result then says complete: false. */
  maxAssets?: number;
  /** Micro-batch window of getUserAssetsBatched, ms. */
  batchWindowMs?: number;
  /** Retries of a transient failure (network, timeout, 5xx, gateway 1001/1005). */
  retries?: number;
  /** Consecutive failures that open the circuit, and how long it stays open before a probe. */
  circuitFailures?: number;
  circuitHalfOpenAfterMs?: number;
  /** First retry delay, ms; later ones grow exponentially with jitter (default 100). */
  retryBaseDelayMs?: number;
  /** Calls that may wait for a free slot beyond `concurrency`; past it a call fails at once with Unavailable (default 10000). */
  maxQueued?: number;
  /** Optional observer for metrics; the client never depends on a metrics library. */
  observer?: PortalClientObserver;
  /**
   * The id of the request the current code runs for, read as each call starts: sent as X-Request-Id and put in the
   * call's log lines. A call shared by several requests carries the id of the one that started it.
   */
  requestId?: () => string | undefined;
  /**
   * Given when tracing is on: each HTTP call gets a client span (child of the active context) and sends its
   * `traceparent`; a page merge is a span. Without it the client makes no span and touches no context.
   */
  tracer?: Tracer;
}

export const PORTAL_CLIENT_OPTIONS = Symbol('PORTAL_CLIENT_OPTIONS');

export type PortalCallOutcome = 'ok' | 'error' | 'timeout' | 'unavailable' | 'rejected';
export type CircuitStateName = 'closed' | 'open' | 'half-open';

export interface PortalClientObserver {
  /** One upstream HTTP call finished (each retry is a call). */
  onCall?(endpoint: string, outcome: PortalCallOutcome, durationMs: number): void;
  onCircuitState?(state: CircuitStateName): void;
  /** A single-user lookup joined a micro-batch. */
  onBatchedLookup?(batchSize: number): void;
}

/** All asset/list pages of one user, merged in upstream order, each asset once. */
export interface UserAssetsResult {
  orgId: string;
  userId: string;
  total: number;
  /** False when the data changed between pages and a re-read did not settle it, or maxAssets was reached. */
  complete: boolean;
  /** The merged ids, in upstream order. */
  assetIds: string[];
  /** The merged assets with their names, in `assetIds` order. */
  assets: AssetListItem[];
}

/** users/assetList over any number of users: each requested user once (request order), each asset once. */
export interface UsersAssetsResult {
  orgId: string;
  users: UsersUserAssets[];
  assets: UserAssetInfo[];
  /** Requested users the portal left out of its answers (not in the OU), when there are any; `users` lists them with no assets. */
  leftOut?: string[];
}

/** One user's share of a micro-batched users/assetList call. */
export interface SingleUserAssets {
  userId: string;
  assetIds: string[];
  assets: UserAssetInfo[];
  /** False when the portal left the user out of its answer (not in the OU). */
  found: boolean;
}

/** A normalized tree node; `names` comes from nameJson (or {default: name}). Children are in upstream order. */
export interface AssetTreeNode {
  id: string;
  kind: 'node' | 'asset';
  names: I18nString;
  parentId: string | null;
  order: number;
  tags: { key: string; value: string }[];
  type?: string;
  typeName?: I18nString;
  children: AssetTreeNode[];
  associatedResources?: AssetTreeNode[];
}

export interface TreeOptions {
  resourceTypes?: string[];
  associated: boolean;
}

/** What went wrong upstream, one kind per way the caller is answered. */
export enum PortalErrorKind {
  BadRequest = 'BAD_REQUEST',
  NotFound = 'NOT_FOUND',
  PermissionMissing = 'PERMISSION_MISSING',
  TokenInvalid = 'TOKEN_INVALID',
  OuNotSelected = 'OU_NOT_SELECTED',
  Timeout = 'TIMEOUT',
  Unavailable = 'UNAVAILABLE',
  BadResponse = 'BAD_RESPONSE',
}
