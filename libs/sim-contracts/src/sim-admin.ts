import { PortalEndpointName } from '@app/portal-contracts';

/**
 * The simulator's admin API under `/__sim/` (tests and benchmarks only; never part of the real portal).
 *
 * GET    /__sim/counters                 -> SimCounters
 * POST   /__sim/counters/reset           -> 204 (counters and call log only)
 * POST   /__sim/reset                    -> 204 (counters, faults, quirks, app permission and data back to the seed)
 * PUT    /__sim/faults/:endpoint         body SimFault, endpoint a PortalEndpointName or '*'  -> 204
 * DELETE /__sim/faults                   -> 204
 * PUT    /__sim/quirks                   body Partial<SimQuirks> -> SimQuirks
 * PUT    /__sim/app-permission           body { granted: boolean } -> 204 (false: 31403 on app-credential calls)
 * GET    /__sim/orgs                     -> SimOrgSummary[]
 * GET    /__sim/orgs/:orgId              -> SimOrgDetail
 * POST   /__sim/orgs                     body SimCreateOrg -> SimOrgSummary (creates an OU with `assetCount` generated assets)
 * POST   /__sim/orgs/:orgId/users        body SimCreateUser -> 204 (adds or replaces a user with a grant)
 * DELETE /__sim/orgs/:orgId/users/:userId -> 204
 * POST   /__sim/orgs/:orgId/users/:userId/grant   body { assetIds: string[] } -> 204
 * POST   /__sim/orgs/:orgId/users/:userId/revoke  body { assetIds: string[] } -> 204
 * PUT    /__sim/orgs/:orgId/users/:userId/page-drift  body SimPageDrift -> 204 (asset/list pages of the user disagree
 *                                        until DELETE or /__sim/reset)
 * DELETE /__sim/orgs/:orgId/users/:userId/page-drift  -> 204
 * POST   /__sim/token-ttl                body { appTokenTtlS?: number, userTokenTtlS?: number } -> 204
 * POST   /__sim/tokens/expire            -> 204 (every app token issued so far is expired: the next signed call gets 1203)
 */
export interface SimEndpointCounter {
  calls: number;
  /** Sum of userIds over all calls (users/assetList). */
  users: number;
  /** pageNo of every asset/list call, in arrival order. */
  pages: number[];
}

/** One call as the simulator saw it; times are epoch ms (fractional, from performance.timeOrigin + now()). */
export interface SimCallRecord {
  endpoint: PortalEndpointName;
  startedAt: number;
  finishedAt: number;
  orgId?: string;
  userId?: string;
  userCount?: number;
  pageNo?: number;
  /** The call's X-Request-Id and W3C traceparent headers, when it sent them. */
  requestId?: string;
  traceparent?: string;
  /** The envelope/gateway code answered, or the HTTP status for injected 5xx/drops (-1 for a dropped connection). */
  outcome: number;
}

export interface SimCounters {
  endpoints: Record<PortalEndpointName, SimEndpointCounter>;
  /** The most recent calls (bounded, newest last). */
  log: SimCallRecord[];
}

/** A fault on one endpoint (or '*'). Fields combine: latency is applied before the error/hang/drop. */
export interface SimFault {
  /** Fixed latency added to every matching call. */
  latencyMs?: number;
  /** Extra random latency, uniform in [0, latencyJitterMs). */
  latencyJitterMs?: number;
  /**
   * Where the latency sits. 'request' (the default): the call waits, then is verified and answered from the data
   * as it is then. 'answer': the call is verified and answered on arrival, and its answer sent once the latency has
   * passed since the arrival, so that the simulator's own work for concurrent calls overlaps their latency, as on a
   * portal that serves calls in parallel (the simulator is one thread: with 'request', calls whose latency ends
   * together are answered one after another). A call that fails, hangs or drops takes its latency first either way.
   */
  latencyAt?: 'request' | 'answer';
  /** Probability in [0,1] that a call fails with errorCode or httpStatus (default 1 when either is set). */
  errorRate?: number;
  /** Answer this portal/gateway code in the envelope (HTTP 200). */
  errorCode?: number;
  /** Answer this HTTP status (e.g. 503) with an empty envelope. */
  httpStatus?: number;
  /** Never answer (the socket stays open until the client gives up). */
  hang?: boolean;
  /** Destroy the connection without an answer. */
  drop?: boolean;
  /**
   * Send the answer's head (with the whole answer's Content-Length) and only its first N bytes, then destroy the
   * connection: an answer cut off in transit. Applies to answers that succeed.
   */
  cutAfterBytes?: number;
  /** Apply to the next N matching calls only, then clear itself. */
  times?: number;
}

/** Quirk switches seen in real deployments (all off by default). */
export interface SimQuirks {
  /** Spell `displayorder` instead of `displayOrder` in the tree. */
  displayorder: boolean;
  /** Put `type`/`typeName` of tree assets under `data`. */
  typeUnderData: boolean;
  /** Answer success with envelope code 200 instead of 0. */
  legacySuccessCode: boolean;
  /** Omit `children`/`associatedResources` or send them as null where empty. */
  nullChildren: boolean;
}

/**
 * How a user's `asset/list` pages disagree, on every call, as if the grant changed between pages:
 * - `total`: pages after page 0 say `totalElements` one higher than page 0 does;
 * - `shift`: pages after page 0 start one asset earlier (as after an insertion before them), so the last asset of
 *   page n-1 comes again first on page n, and the last page is one asset longer.
 * Page 0 and the set of assets listed stay as they are, so a client's best merge is still the user's whole grant.
 */
export interface SimPageDrift {
  mode: 'total' | 'shift';
}

export interface SimOrgSummary {
  orgId: string;
  users: number;
  assets: number;
}

export interface SimOrgDetail extends SimOrgSummary {
  /** Every user with the number of assets granted, in seed order. */
  userAssetCounts: { userId: string; assets: number }[];
  resourceTypes: string[];
}

export interface SimCreateOrg {
  orgId: string;
  assetCount: number;
  /** Number of generated users, each granted `assetsPerUser` assets (default 0 users). */
  userCount?: number;
  assetsPerUser?: number;
}

export interface SimCreateUser {
  userId: string;
  /** Grant these asset ids, or (with assetCount) the first N assets of the OU; assetOffset shifts that window. */
  assetIds?: string[];
  assetCount?: number;
  assetOffset?: number;
}
