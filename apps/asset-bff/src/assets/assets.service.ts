import { Inject, Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, forEachSliced, LoadedSets, OrgMark, UserAssetSet } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { PortalCode } from '@app/portal-contracts';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, prefsKey } from '../common/i18n';
import { Coding } from '../common/compression';
import { etagOfSliced, PreparedAnswer } from '../common/read-answer';
import { MappedList, slicedJsonBytes } from '../common/sliced-json';
import { Signer } from '../common/signer';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { CursorPosition, Cursors, CursorScope, listVersion, offsetIn } from './cursor';
import { PageQuery } from './page-query';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';
import { assetIndexOf } from './asset-index';
import { AssetView, view } from './asset-view';
import { PageDecoders } from './page-decoders';
import { loadUsersBatched } from './batch-assets.service';

/**
 * How long after it was made a whole list's answer may serve newer loads with the same print. An older release's
 * details merge changes values without renewing the details version (a rolling deploy): this bounds how long a name it
 * changed can be missed, at the cost of one answer made per user and hour.
 */
const PREPARED_REUSE_MAX_MS = 3_600_000;

/** Memory bound of the prepared answers kept for hot reads, and the bookkeeping counted per answer. */
const PREPARED_MAX_BYTES = 128 * 1024 * 1024;
const PREPARED_OVERHEAD_BYTES = 200;

/**
 * How long a background refresh waits for others of its OU to share one users/assetList call: the entry it renews is
 * still fresh and no caller waits, while users warmed together come due over a stretch of time, a few a second.
 */
const REFRESH_BATCH_WINDOW_MS = 1_000;

/** Sets whose version is kept for paging (see setVersion). */
const SET_VERSIONS_MAX = 10_000;
/** The bounds of an answer that is not paged: the whole list, no cursor. */
const WHOLE = { from: 0, to: Number.MAX_SAFE_INTEGER, next: null };

/** What the portal said when the negative entry was stored. */
const NOT_FOUND_UPSTREAM = { code: PortalCode.NotFound, message: 'The user is not found, or not in the organization' };

/** A prepared answer, the entry load it serves, and for a whole list the digest of what it was made from. */
interface Prepared {
  /** Updated when a newer load of the entry turns out to hold the same answer (see prepare). */
  loadedAt: number;
  answer: PreparedAnswer;
  /** A whole list's set and stored details (total, complete, StoredDetails.print); undefined for pages and searches. */
  madeFrom?: string;
  /** When the answer was made (epoch ms): it serves newer loads for PREPARED_REUSE_MAX_MS at most. */
  madeAt: number;
}

/** A cached read as the controller sends it: the answer already prepared, plus the X-Cache and Age headers. */
export interface CachedAnswer {
  answer: PreparedAnswer;
  status: CacheStatus;
  ageS: number;
  loadedAt: number;
}

/**
 * One user's assets in one OU (asset/list, all pages merged), read through the cache. Each answer is prepared once
 * per entry load and language (serialized and encoded), so a hot hit costs a cache lookup and a map lookup.
 */
@Injectable()
export class AssetsService {
  /** Prepared answers (identity, br and gzip bytes) by OU, user and languages, versioned by the entry's loadedAt; bounded in bytes. */
  private readonly prepared = new LRUCache<string, Prepared>({
    maxSize: PREPARED_MAX_BYTES,
    sizeCalculation: (v) => v.answer.size + PREPARED_OVERHEAD_BYTES,
  });

  private readonly cursors: Cursors;
  /** listVersion of the sets being paged, by OU, user and entry load. */
  private readonly setVersions = new LRUCache<string, number>({ max: SET_VERSIONS_MAX });

  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly decoders: PageDecoders,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cursors = new Cursors(new Signer(config.PORTAL_APP_SECRET, 'cursor'));
  }

  /**
   * The user's asset list for the caller's languages, or one page of it (`limit`, `cursor`) and only the assets
   * matching `q`: every page is cut from the cached set (one version of it), never from a new upstream read.
   */
  async listBody(orgId: string, userId: string, prefs: LangPrefs, bypass: boolean, page: PageQuery = {}, notBefore?: number): Promise<CachedAnswer> {
    const scope: CursorScope = { orgId, userId, q: page.q, prefs };
    const position = page.cursor === undefined ? undefined : this.cursors.open(page.cursor, scope);
    let loaded: LoadedSets | undefined;
    const entry = await this.userSet(orgId, userId, bypass, (r) => (loaded = r), notBefore);
    // A kept page was made for this cursor (its version and offset) from this load, so it passed the version check.
    const key = preparedKey(orgId, userId, prefs, page, position);
    const kept = this.prepared.get(key);
    const answer = kept?.loadedAt === entry.loadedAt ? kept : await this.prepare(key, kept, { entry, scope, page, position, loadedDetails: loaded?.assets });
    return { answer: answer.answer, status: entry.status, ageS: entry.ageS, loadedAt: entry.loadedAt };
  }

  /**
   * The answer of an entry load that has none kept yet. A whole list that is not served from the load this request ran
   * is checked first against the answer kept for an older load: when the stored set and details are the same (a
   * refresh that changed nothing), that answer serves the newer load as it is, not decoded, serialized and hashed
   * again. Pages are made anew for each load (a version check and fresh details are cheap next to a whole list).
   */
  private async prepare(key: string, kept: Prepared | undefined, { entry, scope, page, position, loadedDetails }: ListRead): Promise<Prepared> {
    const set = entry.set as UserAssetSet;
    let details = loadedDetails;
    let madeFrom: string | undefined;
    if (!details && isWholeList(page)) {
      const stored = await this.cache.getStoredAssetDetails(scope.orgId, set.assetIds);
      madeFrom = stored.print === undefined ? undefined : `${set.total}|${set.complete}|${stored.print}`;
      if (kept && madeFrom !== undefined && kept.madeFrom === madeFrom && Date.now() - kept.madeAt < PREPARED_REUSE_MAX_MS) {
        kept.loadedAt = entry.loadedAt;
        this.metrics.preparedAnswers.inc({ outcome: 'reused' });
        return kept;
      }
      details = await this.completed(scope.orgId, scope.userId, set.assetIds, stored.details());
    }
    const body = await slicedJsonBytes(await this.listAnswer(entry, set, scope, page, position, details));
    this.metrics.preparedAnswers.inc({ outcome: 'made' });
    return this.keep(key, { loadedAt: entry.loadedAt, madeFrom, madeAt: Date.now() }, body, await etagOfSliced(body));
  }

  /**
   * The list answer (or page) of a set; `known` are details already at hand (else they are read from the OU's hash).
   * A page is cut from a version of its list (listVersion): the set, or its matches of `q`; a cursor of another version
   * is 409 CURSOR_STALE.
   */
  private async listAnswer(
    entry: CachedUserSet,
    set: UserAssetSet,
    scope: CursorScope,
    page: PageQuery,
    position: CursorPosition | undefined,
    known?: Map<string, AssetDetails>,
  ): Promise<ListBody> {
    const { orgId, userId, prefs } = scope;
    const paged = page.limit !== undefined || page.cursor !== undefined;
    /** The page's bounds in a list of `length` items of version `version`, and the cursor of the page after it. */
    const cutPage = (version: number, length: number): { from: number; to: number; next: string | null } => {
      const from = offsetIn(position, version);
      const to = page.limit === undefined ? length : Math.min(length, from + page.limit);
      return { from, to, next: to < length ? this.cursors.cut(scope, version, to) : null };
    };
    let total = set.total;
    let assets: ListBody['assets'];
    let next: string | null = null;
    if (page.q === undefined) {
      const { from, to, next: after } = paged ? cutPage(await this.setVersion(scope, entry.loadedAt, set.assetIds), set.assetIds.length) : WHOLE;
      // Only the page's details are read: a page of 50 of 100,000 assets costs 50 lookups.
      const ids = paged ? set.assetIds.slice(from, to) : set.assetIds;
      const details = known ?? (await this.details(orgId, userId, ids));
      assets = new MappedList(ids, (id) => view(id, details.get(id), prefs));
      next = after;
    } else {
      const details = known ?? (await this.details(orgId, userId, set.assetIds));
      const needle = page.q.toLowerCase();
      const matching = set.assetIds
        .map((id) => view(id, details.get(id), prefs))
        .filter((a) => a.id.toLowerCase().includes(needle) || a.name.toLowerCase().includes(needle));
      total = matching.length;
      const { from, to, next: after } = cutPage(await listVersion(matching.map((a) => a.id)), matching.length);
      assets = matching.slice(from, to);
      next = after;
    }
    // Key order is the serialized order: nextCursor before the (long) asset list.
    return paged ? { orgId, userId, total, complete: set.complete, nextCursor: next, assets } : { orgId, userId, total, complete: set.complete, assets };
  }

  /** listVersion of a user's set, computed once per entry load: every page of a walk needs it. */
  private async setVersion(scope: CursorScope, loadedAt: number, ids: readonly string[]): Promise<number> {
    const key = `${scope.orgId}\u0000${scope.userId}\u0000${loadedAt}`;
    let version = this.setVersions.get(key);
    if (version === undefined) this.setVersions.set(key, (version = await listVersion(ids)));
    return version;
  }

  /**
   * Keeps a prepared answer. Made here, not in prepare: a closure shares its function's context, so one made there
   * would keep the details of the whole upstream load alive as long as the answer.
   */
  private keep(key: string, made: Omit<Prepared, 'answer'>, body: Buffer, etag: string): Prepared {
    const grown = (coding: Coding): void => {
      this.metrics.preparedCodings.inc({ coding });
      this.recount(key, prepared);
    };
    const prepared: Prepared = { ...made, answer: new PreparedAnswer(body, grown, etag) };
    this.prepared.set(key, prepared);
    return prepared;
  }

  /** Counts a coding added to a kept answer against the memory bound (set again, unless it was replaced meanwhile). */
  private recount(key: string, p: Prepared): void {
    if (this.prepared.peek(key) === p) this.prepared.set(key, p);
  }

  /** One asset of the user's list, or ASSET_NOT_ACCESSIBLE. */
  async one(
    orgId: string,
    userId: string,
    assetId: string,
    prefs: LangPrefs,
    bypass: boolean,
    notBefore?: number,
  ): Promise<{ asset: AssetView; status: CacheStatus; ageS: number; loadedAt: number }> {
    const entry = await this.userSet(orgId, userId, bypass, undefined, notBefore);
    const set = entry.set as UserAssetSet;
    if (!assetIndexOf(set).has(assetId)) throw new AppException(ErrorCode.AssetNotAccessible, 'The user cannot access this asset, or it does not exist');
    const details = await this.cache.getAssetDetails(orgId, [assetId]);
    return { asset: view(assetId, details.get(assetId), prefs), status: entry.status, ageS: entry.ageS, loadedAt: entry.loadedAt };
  }

  /** The user's cached set. When this call runs the load, `onLoaded` gets what it loaded: the sets and the details. */
  private async userSet(orgId: string, userId: string, bypass: boolean, onLoaded?: (loaded: LoadedSets) => void, notBefore?: number): Promise<CachedUserSet> {
    let entry: CachedUserSet;
    let orgUnknown: OrgMark | undefined;
    try {
      entry = await this.cache.getUserSet(
        { orgId },
        userId,
        async () => {
          const r = await this.load(orgId, userId);
          if (r.sets.get(userId) === null) orgUnknown = await this.isOrgUnknown(orgId, userId);
          onLoaded?.(r);
          return r;
        },
        { bypass, notBefore, refreshLoad: () => loadUsersBatched(this.portal, orgId, [userId], undefined, { windowMs: REFRESH_BATCH_WINDOW_MS }) },
      );
      // Marked once the user's negative entry is stored, so the mark outlives it: the batch routes then say ORG_NOT_FOUND.
      if (orgUnknown) await this.cache.markOrgMissing(orgId, orgUnknown);
    } catch (err) {
      throw mapUpstreamError(err, 'user');
    }
    if (entry.set === null) throw new AppException(ErrorCode.UserNotFound, 'The user is not found in this OU', { upstream: NOT_FOUND_UPSTREAM });
    return entry;
  }

  /**
   * Asset details of a set's ids from the OU's dictionary. Ids it lacks are asked once more (a slow read), and
   * if the dictionary really lost them (evicted), the user is reloaded once and the loaded details used.
   */
  private async details(orgId: string, userId: string, ids: string[]): Promise<Map<string, AssetDetails>> {
    return this.completed(orgId, userId, ids, await this.cache.getAssetDetails(orgId, ids));
  }

  /** `details` read for the ids, completed as `details` does. */
  private async completed(orgId: string, userId: string, ids: string[], details: Map<string, AssetDetails>): Promise<Map<string, AssetDetails>> {
    let missing = ids.filter((id) => !details.has(id));
    if (missing.length === 0) return details;
    for (const [id, d] of await this.cache.getAssetDetails(orgId, missing)) details.set(id, d);
    missing = missing.filter((id) => !details.has(id));
    if (missing.length === 0) return details;
    let loaded: LoadedSets | undefined;
    await this.userSet(orgId, userId, true, (r) => (loaded = r));
    for (const [id, d] of loaded?.assets ?? new Map<string, AssetDetails>()) details.set(id, d);
    return details;
  }

  /**
   * Whether the OU is unknown to the portal, after asset/list answered 31404 (said alike of an unknown OU and an
   * unknown user): users/assetList tells them apart, once per negative entry, and not when the OU is already marked.
   * The mark to write when it is unknown, read before users/assetList is asked (see markOrgMissing).
   */
  private async isOrgUnknown(orgId: string, userId: string): Promise<OrgMark | undefined> {
    const mark = await this.cache.orgMark(orgId);
    if (mark.missing) return undefined;
    try {
      await this.portal.getUsersAssets(orgId, [userId]);
      return undefined;
    } catch (err) {
      if (isNotFound(err)) return mark;
      throw err;
    }
  }

  /** The user's pages read and merged, for the cache. */
  private async load(orgId: string, userId: string): Promise<LoadedSets> {
    try {
      const r = await this.portal.getUserAssets(orgId, userId, { decode: this.decoders.decoder });
      const assets = new Map<string, AssetDetails>();
      await forEachSliced(r.assets, (a) => assets.set(a.id, { names: a.name ?? {} }));
      return { sets: new Map([[userId, { assetIds: r.assetIds, total: r.total, complete: r.complete }]]), assets };
    } catch (err) {
      if (isNotFound(err)) return { sets: new Map([[userId, null]]), assets: new Map() };
      throw err;
    }
  }
}

/** One list read whose answer is to be made: the entry, the caller's scope and page, and the details its load brought. */
interface ListRead {
  entry: CachedUserSet;
  scope: CursorScope;
  page: PageQuery;
  position: CursorPosition | undefined;
  /** The details of the load this request ran (none when the entry came from the cache). */
  loadedDetails?: Map<string, AssetDetails>;
}

/** The list answer's shape; its key order is the serialized order. */
interface ListBody {
  orgId: string;
  userId: string;
  total: number;
  complete: boolean;
  nextCursor?: string | null;
  /** Views made as they are serialized (MappedList), or already made to be filtered by q. */
  assets: AssetView[] | MappedList<string, AssetView>;
}

/** A read of the whole list: no page, no search. */
const isWholeList = (page: PageQuery): boolean => page.limit === undefined && page.cursor === undefined && page.q === undefined;

/** Key of a prepared answer: OU, user, languages and page (ids cannot contain the separator; q comes last, it may). */
const preparedKey = (orgId: string, userId: string, prefs: LangPrefs, page: PageQuery, position: CursorPosition | undefined): string =>
  `${orgId}\u0000${userId}\u0000${prefsKey(prefs)}\u0000${page.limit ?? ''}\u0000${position === undefined ? '' : `${position.version}.${position.offset}`}\u0000${page.q ?? ''}`;
