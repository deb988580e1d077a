import { Inject, Injectable, Logger } from '@nestjs/common';
import { Readable } from 'node:stream';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, LoadedSets, OrgMark } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { PortalCode, UserAssetInfo } from '@app/portal-contracts';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { problemOf } from '../common/problem';
import { slicedJsonBytes } from '../common/sliced-json';
import { logIfInternal, toAppException } from '../common/problem.filter';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { LangPrefs } from '../common/i18n';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';
import { BatchAssetView, batchView } from './asset-view';
import { PageDecoders } from './page-decoders';

/** Aggregate cache status of many entries: STALE if any is stale, else MISS if any was loaded, else HIT. */
export function aggregateStatus(entries: Iterable<CachedUserSet>): { status: CacheStatus; ageS: number; loadedAt: number } {
  let status: CacheStatus = 'HIT';
  let ageS = 0;
  // The newest load among the entries: the consistency token of the answer.
  let loadedAt = 0;
  for (const e of entries) {
    if (e.loadedAt > loadedAt) loadedAt = e.loadedAt;
    if (e.status === 'STALE') status = 'STALE';
    else if (e.status === 'MISS' && status === 'HIT') status = 'MISS';
    if (e.ageS > ageS) ageS = e.ageS;
  }
  return { status, ageS, loadedAt };
}

/** How much a status says about the whole answer: one STALE entry makes it STALE, one loaded entry a MISS. */
const STATUS_RANK: Record<CacheStatus, number> = { HIT: 0, MISS: 1, STALE: 2 };

/** 404 ORG_NOT_FOUND of an OU the portal said it does not know (31404), remembered for CACHE_NEGATIVE_TTL_S. */
const rememberedOrgNotFound = (): AppException =>
  new AppException(ErrorCode.OrgNotFound, 'The OU is not found', {
    upstream: { code: PortalCode.NotFound, message: 'The organization is not found' },
  });

/** Sorted, de-duplicated resource types; undefined for "all types". */
export function typesKey(types: string[] | undefined): string[] | undefined {
  if (!types || types.length === 0) return undefined;
  return [...new Set(types)].sort();
}

/**
 * Many users' asset sets in one OU (users/assetList in chunks), read through the cache: cached users
 * come from one pipelined read, only the others reach the portal.
 */
@Injectable()
export class BatchAssetsService {
  /** Users per chunk of a streamed batch (one users/assetList call's worth). */
  private readonly chunkSize: number;
  private readonly logger = new Logger(BatchAssetsService.name);

  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly decoders: PageDecoders,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.chunkSize = config.PORTAL_BATCH_SIZE;
  }

  /** Each requested user once in request order (duplicates folded), each asset once. */
  async usersAssets(
    orgId: string,
    userIds: string[],
    resourceTypes: string[] | undefined,
    prefs: LangPrefs,
    bypass: boolean,
    notBefore?: number,
  ): Promise<{ body: Buffer; status: CacheStatus; ageS: number; loadedAt: number }> {
    const users = [...new Set(userIds)];
    const { entries, ids, details } = await this.chunk(orgId, users, typesKey(resourceTypes), bypass, notBefore);
    const answer: BatchAnswer = {
      orgId,
      users: users.map((userId) => ({ userId, assetIds: entries.get(userId)?.set?.assetIds ?? [] })),
      assets: ids.map((id) => batchView(id, details.get(id), prefs)),
    };
    return { body: await slicedJsonBytes(answer), ...aggregateStatus(entries.values()) };
  }

  /**
   * The same as NDJSON lines (API.md section 3), PORTAL_BATCH_SIZE users at a time: each chunk's asset lines (the
   * assets not written before), then its user lines, written once the chunk is read, pulled as the caller reads. The
   * first chunk is read before this resolves, so a failure before the first line is an ordinary error answer; a later
   * one ends the stream with an `error` line and no `end` line. `newestLoad`, read once the lines are written, is the
   * newest load among all chunks' entries: what the JSON answer of the same batch names in its consistency token.
   */
  async streamUsersAssets(
    orgId: string,
    userIds: string[],
    resourceTypes: string[] | undefined,
    prefs: LangPrefs,
    opts: { bypass: boolean; notBefore?: number; requestId: string },
  ): Promise<{ lines: Readable; newestLoad: () => number }> {
    const users = [...new Set(userIds)];
    const types = typesKey(resourceTypes);
    const written = new Set<string>();
    let cache: CacheStatus = 'HIT';
    let loadedAt = 0;
    const linesOf = async (chunkUsers: string[]): Promise<Buffer> => {
      const { entries, ids, details } = await this.chunk(orgId, chunkUsers, types, opts.bypass, opts.notBefore);
      let out = '';
      for (const id of ids) {
        if (written.has(id)) continue;
        written.add(id);
        out += `${JSON.stringify({ asset: batchView(id, details.get(id), prefs) })}\n`;
      }
      for (const userId of chunkUsers) out += `${JSON.stringify({ user: { userId, assetIds: entries.get(userId)?.set?.assetIds ?? [] } })}\n`;
      // Only the aggregate status and newest load are kept across chunks, never the chunks' entries.
      const seen = aggregateStatus(entries.values());
      if (STATUS_RANK[seen.status] > STATUS_RANK[cache]) cache = seen.status;
      if (seen.loadedAt > loadedAt) loadedAt = seen.loadedAt;
      return Buffer.from(out);
    };
    const size = this.chunkSize;
    const log = this.logger;
    const first = await linesOf(users.slice(0, size));
    async function* lines(): AsyncGenerator<Buffer> {
      yield first;
      for (let i = size; i < users.length; i += size) {
        try {
          yield await linesOf(users.slice(i, i + size));
        } catch (err) {
          const e = toAppException(err);
          logIfInternal(err, e, opts.requestId, log);
          yield Buffer.from(`${JSON.stringify({ error: problemOf(e, opts.requestId) })}\n`);
          return;
        }
      }
      const end = { users: users.length, assets: written.size, cache };
      yield Buffer.from(`${JSON.stringify({ end })}\n`);
    }
    return { lines: Readable.from(lines(), { objectMode: false }), newestLoad: () => loadedAt };
  }

  /**
   * The sets, asset ids (each once, in user order) and details of some users. Entries filled by asset/list know
   * names but not types: the users whose assets lack a type are reloaded. Each distinct id is looked at once (5,000,
   * not the 50,000 of 1,000 users' lists); usually none lacks one.
   */
  private async chunk(
    orgId: string,
    users: string[],
    types: string[] | undefined,
    bypass: boolean,
    notBefore?: number,
  ): Promise<{ entries: Map<string, CachedUserSet>; ids: string[]; details: Map<string, AssetDetails> }> {
    // Details this request's own loads brought back need not be read back from the cache.
    const loaded = new Map<string, AssetDetails>();
    const read = { loaded };
    const entries = await this.sets(orgId, users, types, bypass, false, read, notBefore);
    let ids = collectIds(users, entries);
    let details = await this.detailsOf(orgId, ids, loaded);
    const untyped = new Set(ids.filter((id) => details.get(id)?.type === undefined));
    const incomplete = untyped.size === 0 ? [] : users.filter((u) => entries.get(u)?.set?.assetIds.some((id) => untyped.has(id)));
    if (incomplete.length && !bypass) {
      const fresh = await this.sets(orgId, incomplete, types, true, false, read);
      for (const [u, e] of fresh) entries.set(u, e);
      ids = collectIds(users, entries);
      details = await this.detailsOf(orgId, ids, loaded);
    }
    return { entries, ids, details };
  }

  /**
   * Cached sets of these users; missing ones loaded with users/assetList. OU not found is cached negatively.
   * With `read`: the details the loads bring back go to `loaded`.
   */
  async sets(
    orgId: string,
    users: string[],
    types: string[] | undefined,
    bypass: boolean,
    batched = false,
    read?: { loaded: Map<string, AssetDetails> },
    notBefore?: number,
  ): Promise<Map<string, CachedUserSet>> {
    // Cache-Control: no-cache asks the portal again, for an OU it did not know too.
    const mark = await this.cache.orgMark(orgId);
    if (!bypass && mark.missing) throw rememberedOrgNotFound();
    const loader = async (missing: string[]): Promise<LoadedSets> => {
      // Batched: through the micro-batcher, so that concurrent requests' missing users share upstream calls.
      const r = batched ? await loadUsersBatched(this.portal, orgId, missing, types) : await this.load(orgId, missing, types);
      if (read) for (const [id, d] of r.assets) read.loaded.set(id, d);
      return r;
    };
    try {
      const entries = await this.cache.getUserSets({ orgId, types }, users, loader, { bypass, notBefore });
      if (mark.missingStale && users.every((u) => knownOnlyAsGone(entries.get(u), mark))) throw rememberedOrgNotFound();
      return entries;
    } catch (err) {
      // The mapper answers a 31404 with ORG_NOT_FOUND and the portal's own words; it is remembered for the next read.
      if (isNotFound(err)) await this.cache.markOrgMissing(orgId, mark);
      throw mapUpstreamError(err, 'batch');
    }
  }

  /** Details of the ids: those this request loaded, the rest from the OU's dictionary in the cache. */
  private async detailsOf(orgId: string, ids: string[], loaded: Map<string, AssetDetails>): Promise<Map<string, AssetDetails>> {
    const missing = ids.filter((id) => !loaded.has(id));
    const details = missing.length ? await this.cache.getAssetDetails(orgId, missing) : new Map<string, AssetDetails>();
    for (const id of ids) {
      const d = loaded.get(id);
      if (d) details.set(id, d);
    }
    return details;
  }

  /** users/assetList in chunks, their answers read on the page workers when there are some. */
  private async load(orgId: string, users: string[], types: string[] | undefined): Promise<LoadedSets> {
    const r = await this.portal.getUsersAssets(orgId, users, types, undefined, this.decoders.decoder);
    const sets: LoadedSets['sets'] = new Map(r.users.map((u) => [u.userId, { assetIds: u.userAssetIds, total: u.userAssetIds.length, complete: true }]));
    // A user the portal left out is not in the OU: cached as not found, so a single-user read answers 404.
    for (const userId of r.leftOut ?? []) sets.set(userId, null);
    return { sets, assets: detailsMap(r.assets) };
  }
}

/**
 * Users loaded through the portal client's micro-batcher (users/assetList shared with other lookups of the OU made
 * within `windowMs`); a user the portal left out is not found (null).
 */
export async function loadUsersBatched(
  portal: PortalClient,
  orgId: string,
  users: string[],
  types: string[] | undefined,
  opts: { windowMs?: number } = {},
): Promise<LoadedSets> {
  const results = await Promise.all(users.map((u) => portal.getUserAssetsBatched(orgId, u, types, opts)));
  const sets: LoadedSets['sets'] = new Map();
  const assets = new Map<string, AssetDetails>();
  for (const r of results) {
    sets.set(r.userId, r.found ? { assetIds: r.assetIds, total: r.assetIds.length, complete: true } : null);
    for (const a of r.assets) if (!assets.has(a.id)) assets.set(a.id, detailsOfAsset(a));
  }
  return { sets, assets };
}

/** What the cache keeps of a users/assetList asset. */
function detailsOfAsset(a: UserAssetInfo): AssetDetails {
  return { names: a.name ?? {}, type: a.type, typeNames: a.typeName ?? undefined };
}

function detailsMap(assets: UserAssetInfo[]): Map<string, AssetDetails> {
  const out = new Map<string, AssetDetails>();
  for (const a of assets) out.set(a.id, detailsOfAsset(a));
  return out;
}

/**
 * The portal could not be asked, and all that is known of the user is a "not found" from no later than the OU's own:
 * a user left out by the portal after the OU came back is not in a known OU, and is not counted here.
 */
function knownOnlyAsGone(e: CachedUserSet | undefined, mark: OrgMark): boolean {
  return e !== undefined && e.set === null && e.status === 'STALE' && e.loadedAt <= (mark.markedAt ?? 0);
}

function collectIds(users: string[], entries: Map<string, CachedUserSet>): string[] {
  const seen = new Set<string>();
  for (const u of users) for (const id of entries.get(u)?.set?.assetIds ?? []) seen.add(id);
  return [...seen];
}

/** The batch answer's shape; its key order is the serialized order. */
interface BatchAnswer {
  orgId: string;
  users: { userId: string; assetIds: string[] }[];
  assets: BatchAssetView[];
}
