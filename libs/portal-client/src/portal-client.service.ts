import { setImmediate as nextTurn } from 'node:timers/promises';
import { HttpService } from '@nestjs/axios';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Context, Link, context } from '@opentelemetry/api';
import DataLoader from 'dataloader';
import { AssetListRequest, PortalLimits, PortalPaths, UserAssetInfo, UsersAssetListRequest, UsersUserAssets } from '@app/portal-contracts';
import { AnswerDecoder } from './answer';
import { AssetPage, MergedPages, PageMerge, pageOf, pagesToRead, readAssetListData } from './asset-pages';
import { ResolvedPortalClientOptions, resolvePortalClientOptions } from './portal-client.defaults';
import {
  AssetTreeNode,
  CircuitStateName,
  PORTAL_CLIENT_OPTIONS,
  PortalClientOptions,
  SingleUserAssets,
  TreeOptions,
  UserAssetsResult,
  UsersAssetsResult,
} from './portal-client.types';
import { inSpan, linkTo, servingRequests } from './call-tracing';
import { PortalFailure, toPortalError } from './portal-error';
import { PortalTransport } from './portal-transport';
import { MalformedTreeError, normalizeTree } from './tree-normalizer';
import { UsersAssetListAnswer, readUsersAssetListData } from './users-answer';

/** How getUserAssets reads the pages: `decode` reads each answer's bytes off the main thread (AnswerWorkers). */
export interface UserAssetsReadOptions {
  decode?: AnswerDecoder;
}

/**
 * Told of every `users/assetList` chunk as its answer arrives: the chunk's users in request order (an empty
 * list for a user the portal left out) and that answer's asset details. A user's list here is the very array
 * of the merged result unless another answer named the user too.
 */
export type ChunkListener = (chunk: {
  users: UsersUserAssets[];
  /** Where the chunk's first user is in the result's `users` (the chunk's users follow it there, in this order). */
  offset: number;
  assets: UserAssetInfo[];
}) => void;

/** One lookup of the micro-batcher: the user, and (tracing on) the context of the request that asked. */
interface BatchedLookup {
  userId: string;
  caller?: Context;
}

/** Loaders kept at most; past it the oldest idle (org, types) loader is dropped (it holds no cache). */
const MAX_LOADERS = 1_000;

function malformed(endpoint: string, reason: string): never {
  throw toPortalError({ type: 'malformed', reason } satisfies PortalFailure, endpoint);
}

/** Links to the requests of a batch's lookups but the active one (the batch is its), each request once. */
function otherCallers(lookups: readonly BatchedLookup[]): Link[] {
  const own = linkTo(context.active())?.context.spanId;
  const links = new Map<string, Link>();
  for (const l of lookups) {
    const link = l.caller && linkTo(l.caller);
    if (link && link.context.spanId !== own) links.set(link.context.spanId, link);
  }
  return [...links.values()];
}

/** Each id once, first occurrence wins, order kept (the very list when it has no duplicate). */
function unique(ids: readonly string[]): string[] {
  const set = new Set(ids);
  return set.size === ids.length ? (ids as string[]) : [...set];
}

/**
 * The one place that talks to the Application Portal: gateway token and signing, envelopes and errors,
 * retries, circuit breaker and bulkhead, asset/list pagination, users/assetList chunking and micro-batching.
 * It knows nothing of callers or caching. Every method throws PortalError on failure.
 */
@Injectable()
export class PortalClient implements OnModuleDestroy {
  private readonly logger = new Logger(PortalClient.name);
  private readonly o: ResolvedPortalClientOptions;
  private readonly transport: PortalTransport;
  private readonly loaders = new Map<string, DataLoader<BatchedLookup, SingleUserAssets>>();

  constructor(
    @Inject(PORTAL_CLIENT_OPTIONS) options: PortalClientOptions,
    private readonly http: HttpService,
  ) {
    this.o = resolvePortalClientOptions(options);
    this.transport = new PortalTransport(http.axiosRef, this.o);
  }

  /**
   * Every asset the user can access in the OU (`asset/list`), all pages merged in upstream order, each asset once.
   * Page 0 gives totalElements; the other pages are read concurrently within the bulkhead. When the data
   * changes between pages (a page disagrees on the total, is shorter or longer than it should be, or
   * repeats an id) every page is read once more; if that pass is inconsistent too, its merge is returned
   * with `complete: false`. Reaching `maxAssets` also yields `complete: false` (and at most maxAssets assets).
   */
  async getUserAssets(orgId: string, userId: string, opts: UserAssetsReadOptions = {}): Promise<UserAssetsResult> {
    const tracer = this.o.tracer;
    if (!tracer) return this.mergedUserAssets(orgId, userId, opts);
    return inSpan(tracer, 'asset/list page merge', async (span) => {
      const r = await this.mergedUserAssets(orgId, userId, opts);
      span.setAttributes({ 'abff.assets.total': r.total, 'abff.assets.merged': r.assetIds.length, 'abff.pages.complete': r.complete });
      return r;
    });
  }

  private async mergedUserAssets(orgId: string, userId: string, opts: UserAssetsReadOptions): Promise<UserAssetsResult> {
    let merged = await this.readAllPages(orgId, userId, opts);
    if (!merged.consistent) {
      this.logger.debug({ requestId: this.o.requestId?.() }, `asset/list pages changed while being read (org ${orgId}); reading again`);
      merged = await this.readAllPages(orgId, userId, opts);
      if (!merged.consistent) {
        this.logger.warn({ requestId: this.o.requestId?.() }, `asset/list pages still inconsistent for a user of org ${orgId}; answering complete: false`);
      }
    }
    return { orgId, userId, total: merged.total, complete: merged.consistent && !merged.capped, assetIds: merged.ids, assets: merged.assets };
  }

  /**
   * `users/assetList` for any number of users: chunks of at most batchSize users sent concurrently within the
   * bulkhead, merged so that each requested user appears once in request order (an empty list when the portal
   * leaves a user out) and each asset's details once. Duplicate types are folded, an empty list means no filter;
   * more than 1000 distinct resourceTypes is a BadRequest raised before any call (the portal's own limit).
   */
  async getUsersAssets(
    orgId: string,
    userIds: string[],
    resourceTypes?: string[],
    onChunk?: ChunkListener,
    decode?: AnswerDecoder,
  ): Promise<UsersAssetsResult> {
    const endpoint = 'usersAssetList';
    // An empty filter means no filter (as the portal reads it); it is left out of the body.
    const types = resourceTypes?.length ? unique(resourceTypes) : undefined;
    if (types && types.length > PortalLimits.maxResourceTypes) {
      throw toPortalError({ type: 'invalidArgument', reason: `more than ${PortalLimits.maxResourceTypes} resourceTypes` }, endpoint);
    }
    const ids = unique(userIds);
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += this.o.batchSize) chunks.push(ids.slice(i, i + this.o.batchSize));
    // Answers that arrive together are handled one per turn of the event loop (a chain of turns): hot reads are
    // answered between them, instead of waiting for all of them.
    let turns = Promise.resolve();
    // Each answer's lists by user as it arrives (told to onChunk for its chunk's users), merged in chunk order below.
    const answers = await Promise.all(
      chunks.map(async (chunk, c) => {
        const answer = await this.usersAssetListCall(orgId, chunk, types, decode);
        await (turns = turns.then(() => nextTurn()));
        const lists = new Map<string, string[]>();
        for (const u of answer.usersUserAssets) {
          const seen = lists.get(u.userId);
          lists.set(u.userId, unique(seen ? [...seen, ...u.userAssetIds] : u.userAssetIds));
        }
        onChunk?.({
          users: chunk.map((userId) => ({ userId, userAssetIds: lists.get(userId) ?? [] })),
          offset: c * this.o.batchSize,
          assets: answer.userAssets,
        });
        return { lists, userAssets: answer.userAssets };
      }),
    );
    const byUser = new Map<string, string[]>();
    const assets = new Map<string, UserAssetInfo>();
    for (const answer of answers) {
      for (const [userId, list] of answer.lists) {
        const seen = byUser.get(userId);
        // A user in one answer only (the rule) keeps the very list its chunk was told.
        byUser.set(userId, seen ? unique([...seen, ...list]) : list);
      }
      for (const a of answer.userAssets) if (!assets.has(a.id)) assets.set(a.id, a);
    }
    const users: UsersUserAssets[] = ids.map((userId) => ({ userId, userAssetIds: byUser.get(userId) ?? [] }));
    const leftOut = ids.filter((userId) => !byUser.has(userId));
    return { orgId, users, assets: [...assets.values()], ...(leftOut.length > 0 ? { leftOut } : {}) };
  }

  /**
   * One user's share of a micro-batched `users/assetList`: lookups for the same OU and type filter arriving
   * within batchWindowMs become one call (at most batchSize users); each caller gets only its own ids and
   * those assets' details. A failure of the batch (e.g. 31404 for the OU) rejects every caller in it. `windowMs`
   * (batchWindowMs by default) lets a caller that is in no hurry wait longer, so that more lookups share the call.
   */
  getUserAssetsBatched(orgId: string, userId: string, resourceTypes?: string[], { windowMs = this.o.batchWindowMs } = {}): Promise<SingleUserAssets> {
    // Sorted so that the same filter in any order shares one loader (and one call).
    const types = resourceTypes?.length ? [...new Set(resourceTypes)].sort() : undefined;
    return this.loaderFor(orgId, types, windowMs).load(this.o.tracer ? { userId, caller: context.active() } : { userId });
  }

  /**
   * The user's asset tree for an app (`user/app/asset/tree`), sent with the user's own token and normalized
   * (quirky spellings, null children, type under data). A tree that cannot be normalized is a BadResponse.
   * The user token is never logged nor put in an error.
   */
  async getAppAssetTree(userToken: string, accessKey: string, opts: TreeOptions): Promise<AssetTreeNode> {
    const endpoint = 'appAssetTree';
    const types = opts.resourceTypes?.length ? unique(opts.resourceTypes) : undefined;
    if (types && types.length > PortalLimits.maxResourceTypes) {
      throw toPortalError({ type: 'invalidArgument', reason: `more than ${PortalLimits.maxResourceTypes} resourceTypes` }, endpoint);
    }
    const data = await this.transport.call({
      endpoint,
      method: 'GET',
      path: PortalPaths.appAssetTree,
      query: { accessKey, resourceTypes: types?.join(',') },
      headers: { authorization: `Bearer ${userToken}`, needAssociatedAsset: String(opts.associated) },
    });
    try {
      return normalizeTree(data);
    } catch (err) {
      if (err instanceof MalformedTreeError) malformed(endpoint, err.message);
      throw err;
    }
  }

  /** Circuit state and whether the last upstream call got a proper answer (null before the first). */
  state(): { circuit: CircuitStateName; lastCallOk: boolean | null } {
    return this.transport.state();
  }

  /** Whether the portal is reachable, for readiness (see PortalTransport.reachable). */
  reachable(): Promise<boolean> {
    return this.transport.reachable();
  }

  /** Drops the loaders and closes the keep-alive sockets so that the process can exit. */
  onModuleDestroy(): void {
    this.loaders.clear();
    const defaults = this.http.axiosRef.defaults as { httpAgent?: { destroy?: () => void }; httpsAgent?: { destroy?: () => void } };
    defaults.httpAgent?.destroy?.();
    defaults.httpsAgent?.destroy?.();
  }

  private async readAllPages(orgId: string, userId: string, opts: UserAssetsReadOptions): Promise<MergedPages> {
    const merge = new PageMerge(this.o.pageSize, this.o.maxAssets);
    const page = async (pageNo: number): Promise<AssetPage> => {
      const p = await this.assetListPage(orgId, userId, pageNo, opts.decode);
      merge.add(pageNo, p);
      return p;
    };
    const first = await page(0);
    const count = pagesToRead(first.totalElements, this.o.pageSize, this.o.maxAssets);
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => page(i + 1)));
    return merge.result();
  }

  private async assetListPage(orgId: string, userId: string, pageNo: number, decode?: AnswerDecoder): Promise<AssetPage> {
    const endpoint = 'assetList';
    const body: AssetListRequest = { userId, orgId, pagination: { pageNo, pageSize: this.o.pageSize } };
    // `data` comes checked by readAnswer (readAssetListData), on this thread or the decoder's.
    const page = (await this.transport.call({ endpoint, method: 'POST', path: PortalPaths.assetList, body, read: endpoint, decode })) as ReturnType<
      typeof readAssetListData
    >;
    if (typeof page === 'string') malformed(endpoint, page);
    return pageOf(pageNo, page.totalElements, page.assets);
  }

  private async usersAssetListCall(
    orgId: string,
    userIds: string[],
    resourceTypes: string[] | undefined,
    decode: AnswerDecoder | undefined,
  ): Promise<UsersAssetListAnswer> {
    const endpoint = 'usersAssetList';
    const body: UsersAssetListRequest = { organizationId: orgId, userIds };
    if (resourceTypes !== undefined) body.resourceTypes = resourceTypes;
    // `data` comes checked by readAnswer (readUsersAssetListData), on this thread or the decoder's.
    const answer = (await this.transport.call({ endpoint, method: 'POST', path: PortalPaths.usersAssetList, body, read: endpoint, decode })) as ReturnType<
      typeof readUsersAssetListData
    >;
    if (typeof answer === 'string') malformed(endpoint, answer);
    return answer;
  }

  private loaderFor(orgId: string, types: string[] | undefined, windowMs: number): DataLoader<BatchedLookup, SingleUserAssets> {
    const key = JSON.stringify([orgId, types ?? null, windowMs]);
    let loader = this.loaders.get(key);
    if (loader) {
      // Re-insert so the map stays in least-recently-used order.
      this.loaders.delete(key);
      this.loaders.set(key, loader);
      return loader;
    }
    loader = new DataLoader<BatchedLookup, SingleUserAssets>((lookups) => this.loadBatch(orgId, lookups, types), {
      cache: false,
      maxBatchSize: this.o.batchSize,
      batchScheduleFn: (run) => setTimeout(run, windowMs),
    });
    this.loaders.set(key, loader);
    if (this.loaders.size > MAX_LOADERS) this.loaders.delete(this.loaders.keys().next().value as string);
    return loader;
  }

  /**
   * One micro-batch's call. It runs in the context of the request whose lookup opened the batch (DataLoader schedules
   * it from that lookup); with tracing on, its client spans link to the other requests it serves.
   */
  private async loadBatch(orgId: string, lookups: readonly BatchedLookup[], types: string[] | undefined): Promise<SingleUserAssets[]> {
    const userIds = lookups.map((l) => l.userId);
    this.o.observer?.onBatchedLookup?.(userIds.length);
    const load = () => this.getUsersAssets(orgId, userIds, types);
    const result = this.o.tracer ? await context.with(servingRequests(context.active(), otherCallers(lookups)), load) : await load();
    const ids = new Map(result.users.map((u) => [u.userId, u.userAssetIds]));
    // `users` lists every requested user, those the portal left out too (with no assets): those are not found.
    const leftOut = new Set(result.leftOut);
    const details = new Map(result.assets.map((a) => [a.id, a]));
    return userIds.map((userId) => {
      const assetIds = ids.get(userId) ?? [];
      const assets: UserAssetInfo[] = [];
      for (const id of assetIds) {
        const a = details.get(id);
        if (a) assets.push(a);
      }
      return { userId, assetIds, assets, found: !leftOut.has(userId) };
    });
  }
}
