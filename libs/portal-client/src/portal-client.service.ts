import { HttpService } from '@nestjs/axios';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import DataLoader from 'dataloader';
import {
  AssetListRequest,
  distinct,
  PortalLimits,
  PortalPaths,
  UserAssetInfo,
  UsersAssetListRequest,
  UsersUserAssets,
} from '@app/portal-contracts';
import { AssetPage, DigestedAssetList, MergedPages, PageMerge, pageFromDigest, pageOf, pagesToRead, readAssetListData } from './asset-pages';
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
import { PortalFailure, toPortalError } from './portal-error';
import { BodyDecoder, PortalTransport } from './portal-transport';
import { MalformedTreeError, normalizeTree } from './tree-normalizer';
import { DigestedUsersAssetList, UsersAssetListAnswer, readUsersAssetListData } from './users-answer';

/**
 * Told of every `asset/list` page as it arrives (pass 0, then 1 if the pages were read again), so a caller can
 * do per-page work while the other pages are still on their way; the merged result is what counts.
 */
export type PageListener = (pass: number, page: AssetPage) => void;

/**
 * Reads an `asset/list` answer's bytes in place of the client's own JSON.parse, e.g. on a worker thread: it gives
 * what JSON.parse would (the text itself when it is not JSON), except that a success envelope's `data` is the
 * page digested (DigestedAssetList, checked with readAssetListData). The client still reads the envelope.
 */
export type AssetListDecoder = BodyDecoder;

/**
 * The same for `users/assetList` answers: a success envelope's `data` is the answer digested
 * (DigestedUsersAssetList, checked with readUsersAssetListData), so that no per-occurrence id string is made here.
 */
export type UsersAssetListDecoder = BodyDecoder;

/** How getUserAssets reads the pages: told of each page as it arrives, and who decodes them. */
export interface UserAssetsReadOptions {
  onPage?: PageListener;
  decode?: AssetListDecoder;
}

/**
 * Told of every `users/assetList` chunk as its answer arrives: the chunk's users in request order (an empty
 * list for a user the portal left out) and that answer's asset details. A user's list here is the very array
 * of the merged result unless another answer named the user too. `prepared`: what the decoder prepared from
 * the answer (DigestedUsersAssetList), given only when the answer named exactly these users in this order, each once;
 * then `ids` too: each id of the users' lists once, in the order the lists name them first.
 */
export type ChunkListener = (chunk: {
  users: UsersUserAssets[];
  /** Where the chunk's first user is in the result's `users` (the chunk's users follow it there, in this order). */
  offset: number;
  assets: UserAssetInfo[];
  prepared?: Uint8Array;
  ids?: readonly string[];
}) => void;

/** True when `answered` is `chunk` (the same users, in the same order, none twice: the chunk has no repeats). */
function sameUsers(answered: readonly string[], chunk: readonly string[]): boolean {
  if (answered.length !== chunk.length) return false;
  for (let i = 0; i < chunk.length; i++) if (answered[i] !== chunk[i]) return false;
  return true;
}

/** One users/assetList answer as getUsersAssets merges it: its chunk's users by position, or (an unusual answer) lists by user. */
interface ChunkAnswer {
  users?: UsersUserAssets[];
  lists?: Map<string, string[]>;
  userAssets: UserAssetInfo[];
}

/** Loaders kept at most; past it the oldest idle (org, types) loader is dropped (it holds no cache). */
const MAX_LOADERS = 1_000;

function malformed(endpoint: string, reason: string): never {
  throw toPortalError({ type: 'malformed', reason } satisfies PortalFailure, endpoint);
}

/**
 * Asset ids of many users' lists, each id string kept once: JSON.parse gives every occurrence its own
 * string, and 10,000 users x 500 ids held in process as 5,000,000 strings instead of 5,000 weighed on
 * memory and garbage collection. `stamp` marks the list an id was last seen in, which folds repeats too.
 */
class IdTable {
  private readonly ids = new Map<string, IdEntry>();
  private stamp = 0;

  /** The list with each id once (first occurrence wins, order kept), every id the table's own string. */
  uniqueList(items: readonly string[]): string[] {
    const stamp = ++this.stamp;
    // Made at its largest size and cut to the ids kept, as in uniqueAt.
    const out = new Array<string>(items.length);
    let n = 0;
    for (const x of items) {
      const e = this.entry(x);
      if (e.stamp === stamp) continue;
      e.stamp = stamp;
      out[n++] = e.id;
    }
    out.length = n;
    return out;
  }

  /** The table's entries of these ids (each looked up once), for uniqueAt. */
  entriesOf(items: readonly string[]): IdEntry[] {
    return items.map((x) => this.entry(x));
  }

  /** uniqueList of the ids at `entries[lists[i]]` for i in [from, to): no string is looked up again. */
  uniqueAt(entries: readonly IdEntry[], lists: Int32Array, from: number, to: number): string[] {
    const stamp = ++this.stamp;
    // Made at its largest size and cut to the ids kept (in place): grown by push, a list of 50 ids took three backing
    // stores (17, 41 and 77 slots), 10 MB for a cold batch's 10,000 users that all outlive the batch's scavenges.
    const out = new Array<string>(to - from);
    let n = 0;
    for (let i = from; i < to; i++) {
      const e = entries[lists[i]];
      if (e.stamp === stamp) continue;
      e.stamp = stamp;
      out[n++] = e.id;
    }
    out.length = n;
    return out;
  }

  private entry(x: string): IdEntry {
    let e = this.ids.get(x);
    if (e === undefined) this.ids.set(x, (e = { id: x, stamp: 0 }));
    return e;
  }
}

interface IdEntry {
  id: string;
  stamp: number;
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
  private readonly loaders = new Map<string, DataLoader<string, SingleUserAssets>>();

  constructor(@Inject(PORTAL_CLIENT_OPTIONS) options: PortalClientOptions, private readonly http: HttpService) {
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
    let merged = await this.readAllPages(orgId, userId, 0, opts);
    if (!merged.consistent) {
      this.logger.debug(`asset/list pages changed while being read (org ${orgId}); reading again`);
      merged = await this.readAllPages(orgId, userId, 1, opts);
      if (!merged.consistent) this.logger.warn(`asset/list pages still inconsistent for a user of org ${orgId}; answering complete: false`);
    }
    const m = merged;
    return {
      orgId,
      userId,
      total: m.total,
      complete: m.consistent && !m.capped,
      assetIds: m.ids,
      // Read when asked for: with decoded pages, the names stay serialized until then.
      get assets() {
        return m.assets;
      },
    };
  }

  /**
   * `users/assetList` for any number of users: chunks of at most batchSize users sent concurrently within the
   * bulkhead, merged so that each requested user appears once in request order (an empty list when the portal
   * leaves a user out) and each asset's details once. Duplicate types are folded, an empty list means no filter;
   * more than 1000 distinct resourceTypes is a BadRequest raised before any call (the portal's own limit).
   */
  async getUsersAssets(orgId: string, userIds: string[], resourceTypes?: string[], onChunk?: ChunkListener, decode?: UsersAssetListDecoder): Promise<UsersAssetsResult> {
    const endpoint = 'usersAssetList';
    // An empty filter means no filter (as the portal reads it); it is left out of the body.
    const types = resourceTypes?.length ? distinct(resourceTypes) : undefined;
    if (types && types.length > PortalLimits.maxResourceTypes) {
      throw toPortalError({ type: 'invalidArgument', reason: `more than ${PortalLimits.maxResourceTypes} resourceTypes` }, endpoint);
    }
    const ids = distinct(userIds);
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += this.o.batchSize) chunks.push(ids.slice(i, i + this.o.batchSize));
    const table = new IdTable();
    // Each answer's lists as it arrives (told to onChunk for its chunk's users), merged in chunk order below.
    const answers = await Promise.all(
      chunks.map(async (chunk, c): Promise<ChunkAnswer> => {
        const offset = c * this.o.batchSize;
        const answer = await this.usersAssetListCall(orgId, chunk, types, decode);
        if ('digest' in answer && sameUsers(answer.userIds, chunk)) {
          // The usual answer (the chunk's users, in order, each once): the lists by position, no map of them; these
          // very objects are the result's users unless an unusual answer comes along (see below).
          const entries = table.entriesOf(answer.ids);
          const users = chunk.map((userId, k) => ({ userId, userAssetIds: table.uniqueAt(entries, answer.lists, answer.offsets[k], answer.offsets[k + 1]) }));
          const prepared = answer.prepared;
          onChunk?.({ users, offset, assets: answer.userAssets, prepared, ids: prepared ? answer.ids : undefined });
          return { users, userAssets: answer.userAssets };
        }
        const lists = new Map<string, string[]>();
        if ('digest' in answer) {
          const entries = table.entriesOf(answer.ids);
          answer.userIds.forEach((userId, k) => {
            const seen = lists.get(userId);
            const own = table.uniqueAt(entries, answer.lists, answer.offsets[k], answer.offsets[k + 1]);
            lists.set(userId, seen ? table.uniqueList([...seen, ...own]) : own);
          });
        } else {
          for (const u of answer.usersUserAssets) {
            const seen = lists.get(u.userId);
            lists.set(u.userId, table.uniqueList(seen ? [...seen, ...u.userAssetIds] : u.userAssetIds));
          }
        }
        onChunk?.({ users: chunk.map((userId) => ({ userId, userAssetIds: lists.get(userId) ?? [] })), offset, assets: answer.userAssets });
        return { lists, userAssets: answer.userAssets };
      }),
    );

    const assets = new Map<string, UserAssetInfo>();
    for (const answer of answers) for (const a of answer.userAssets) if (!assets.has(a.id)) assets.set(a.id, a);
    // Every answer named just its chunk's users: the result is the chunks' users one after another.
    if (answers.every((a) => a.users)) return { orgId, users: answers.flatMap((a) => a.users ?? []), assets: [...assets.values()] };
    const byUser = new Map<string, string[]>();
    for (const answer of answers) {
      const lists = answer.lists ?? new Map(answer.users?.map((u) => [u.userId, u.userAssetIds]));
      for (const [userId, ids] of lists) {
        const list = byUser.get(userId);
        // A user in one answer only (the rule) keeps the very list its chunk was told.
        byUser.set(userId, list ? table.uniqueList([...list, ...ids]) : ids);
      }
    }
    const users: UsersUserAssets[] = ids.map((userId) => ({ userId, userAssetIds: byUser.get(userId) ?? [] }));
    return { orgId, users, assets: [...assets.values()] };
  }

  /**
   * One user's share of a micro-batched `users/assetList`: lookups for the same OU and type filter arriving
   * within batchWindowMs become one call (at most batchSize users); each caller gets only its own ids and
   * those assets' details. A failure of the batch (e.g. 31404 for the OU) rejects every caller in it.
   */
  getUserAssetsBatched(orgId: string, userId: string, resourceTypes?: string[]): Promise<SingleUserAssets> {
    // Sorted so that the same filter in any order shares one loader (and one call).
    const types = resourceTypes?.length ? [...new Set(resourceTypes)].sort() : undefined;
    return this.loaderFor(orgId, types).load(userId);
  }

  /**
   * The user's asset tree for an app (`user/app/asset/tree`), sent with the user's own token and normalized
   * (quirky spellings, null children, type under data). A tree that cannot be normalized is a BadResponse.
   * The user token is never logged nor put in an error.
   */
  async getAppAssetTree(userToken: string, accessKey: string, opts: TreeOptions): Promise<AssetTreeNode> {
    const endpoint = 'appAssetTree';
    if (opts.resourceTypes && distinct(opts.resourceTypes).length > PortalLimits.maxResourceTypes) {
      throw toPortalError({ type: 'invalidArgument', reason: `more than ${PortalLimits.maxResourceTypes} resourceTypes` }, endpoint);
    }
    const data = await this.transport.call({
      endpoint,
      method: 'GET',
      path: PortalPaths.appAssetTree,
      query: { accessKey, resourceTypes: opts.resourceTypes?.length ? distinct(opts.resourceTypes).join(',') : undefined },
      headers: { authorization: `Bearer ${userToken}`, needAssociatedAsset: String(opts.associated) },
    });
    try {
      return normalizeTree(data);
    } catch (err) {
      if (err instanceof MalformedTreeError) malformed(endpoint, err.message);
      throw err;
    }
  }

  /** Circuit state and whether the last upstream call got a proper answer (null before the first), for readiness. */
  state(): { circuit: CircuitStateName; lastCallOk: boolean | null } {
    return this.transport.state();
  }

  /** Drops the loaders and closes the keep-alive sockets so that the process can exit. */
  onModuleDestroy(): void {
    this.loaders.clear();
    const defaults = this.http.axiosRef.defaults as { httpAgent?: { destroy?: () => void }; httpsAgent?: { destroy?: () => void } };
    defaults.httpAgent?.destroy?.();
    defaults.httpsAgent?.destroy?.();
  }

  private async readAllPages(orgId: string, userId: string, pass: number, opts: UserAssetsReadOptions): Promise<MergedPages> {
    const merge = new PageMerge(this.o.pageSize, this.o.maxAssets);
    const page = async (pageNo: number): Promise<AssetPage> => {
      const p = await this.assetListPage(orgId, userId, pageNo, opts.decode);
      merge.add(pageNo, p);
      opts.onPage?.(pass, p);
      return p;
    };
    const first = await page(0);
    const count = pagesToRead(first.totalElements, this.o.pageSize, this.o.maxAssets);
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => page(i + 1)));
    return merge.result();
  }

  private async assetListPage(orgId: string, userId: string, pageNo: number, decode?: AssetListDecoder): Promise<AssetPage> {
    const endpoint = 'assetList';
    const body: AssetListRequest = { userId, orgId, pagination: { pageNo, pageSize: this.o.pageSize } };
    const data = await this.transport.call({ endpoint, method: 'POST', path: PortalPaths.assetList, body, decode });
    if (decode) {
      const d = data as DigestedAssetList | undefined;
      if (d?.digest === 'page') return pageFromDigest(pageNo, d);
      malformed(endpoint, d?.digest === 'malformed' ? d.reason : 'data without pagination/assets');
    }
    const page = readAssetListData(data);
    if (typeof page === 'string') malformed(endpoint, page);
    return pageOf(pageNo, page.totalElements, page.assets);
  }

  private async usersAssetListCall(
    orgId: string,
    userIds: string[],
    resourceTypes: string[] | undefined,
    decode: UsersAssetListDecoder | undefined,
  ): Promise<UsersAssetListAnswer | Extract<DigestedUsersAssetList, { digest: 'users' }>> {
    const endpoint = 'usersAssetList';
    const body: UsersAssetListRequest = { organizationId: orgId, userIds };
    if (resourceTypes !== undefined) body.resourceTypes = resourceTypes;
    const data = await this.transport.call({ endpoint, method: 'POST', path: PortalPaths.usersAssetList, body, decode });
    if (decode) {
      const d = data as DigestedUsersAssetList | undefined;
      if (d?.digest === 'users') return d;
      malformed(endpoint, d?.digest === 'malformed' ? d.reason : 'data is not an object');
    }
    const answer = readUsersAssetListData(data);
    if (typeof answer === 'string') malformed(endpoint, answer);
    return answer;
  }

  private loaderFor(orgId: string, types: string[] | undefined): DataLoader<string, SingleUserAssets> {
    const key = JSON.stringify([orgId, types ?? null]);
    let loader = this.loaders.get(key);
    if (loader) {
      // Re-insert so the map stays in least-recently-used order.
      this.loaders.delete(key);
      this.loaders.set(key, loader);
      return loader;
    }
    loader = new DataLoader<string, SingleUserAssets>((userIds) => this.loadBatch(orgId, userIds, types), {
      cache: false,
      maxBatchSize: this.o.batchSize,
      batchScheduleFn: (run) => setTimeout(run, this.o.batchWindowMs),
    });
    this.loaders.set(key, loader);
    if (this.loaders.size > MAX_LOADERS) this.loaders.delete(this.loaders.keys().next().value as string);
    return loader;
  }

  private async loadBatch(orgId: string, userIds: readonly string[], types: string[] | undefined): Promise<SingleUserAssets[]> {
    this.o.observer?.onBatchedLookup?.(userIds.length);
    const result = await this.getUsersAssets(orgId, [...userIds], types);
    const ids = new Map(result.users.map((u) => [u.userId, u.userAssetIds]));
    const details = new Map(result.assets.map((a) => [a.id, a]));
    return userIds.map((userId) => {
      const assetIds = ids.get(userId) ?? [];
      const assets: UserAssetInfo[] = [];
      for (const id of assetIds) {
        const a = details.get(id);
        if (a) assets.push(a);
      }
      return { userId, assetIds, assets };
    });
  }
}
