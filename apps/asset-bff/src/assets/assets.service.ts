import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, LoadedSets, UserAssetSet } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { PortalCode } from '@app/portal-contracts';
import { AnswerBytes } from '../common/answer-bytes';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, prefsKey } from '../common/i18n';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';
import { assetIndexOf } from './asset-index';
import { AssetView, view } from './asset-view';
import { PageDecoders } from './page-decoders';

/** Memory bound of the serialized bodies kept for hot reads, and the bookkeeping counted per body. */
const BODY_MEMO_BYTES = 128 * 1024 * 1024;
const BODY_MEMO_OVERHEAD = 200;

/** What the portal said when the negative entry was stored. */
const NOT_FOUND_UPSTREAM = { code: PortalCode.NotFound, message: 'The user is not found, or not in the organization' };

/** What a load of one user brings back: the sets and details for the cache, and the answer body when it was built from the pages. */
type Loaded = LoadedSets & { body?: AnswerBytes };

/** A memoized body and the entry load it was made from. */
interface BodyMemo {
  loadedAt: number;
  body: AnswerBytes;
}

/** A cached read as the controller sends it: the body already serialized, plus the X-Cache and Age headers. */
export interface CachedBody {
  body: AnswerBytes;
  status: CacheStatus;
  ageS: number;
}

/**
 * One user's assets in one OU (asset/list, all pages merged), read through the cache. Serialized bodies
 * are memoized per cached entry object and language, so a hot hit costs a map lookup, not a JSON.stringify.
 */
@Injectable()
export class AssetsService {
  /** Serialized bodies by OU, user and languages, versioned by the entry's loadedAt; bounded in bytes. */
  private readonly bodies = new LRUCache<string, BodyMemo>({
    maxSize: BODY_MEMO_BYTES,
    sizeCalculation: (v) => v.body.length + BODY_MEMO_OVERHEAD,
  });
  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly decoders: PageDecoders,
  ) {}

  /**
   * The user's whole asset list, serialized for the caller's languages. `answered` settles once the caller's
   * answer is written: a large load's background store waits for it (ReadOptions.answered).
   */
  async listBody(orgId: string, userId: string, prefs: LangPrefs, bypass: boolean, answered?: Promise<void>): Promise<CachedBody> {
    let loaded: Loaded | undefined;
    const entry = await this.userSet(orgId, userId, bypass, (r) => (loaded = r), prefs, answered);
    const prebuilt = loaded?.body;
    const key = memoKey(orgId, userId, prefs);
    const memo = this.bodies.get(key);
    if (memo !== undefined && memo.loadedAt === entry.loadedAt) return { body: memo.body, status: entry.status, ageS: entry.ageS };
    if (prebuilt !== undefined) {
      this.bodies.set(key, { loadedAt: entry.loadedAt, body: prebuilt });
      return { body: prebuilt, status: entry.status, ageS: entry.ageS };
    }
    const set = entry.set as UserAssetSet;
    // The request that ran the load already holds every asset's details: no need to read them back.
    const details = loaded?.assets ?? (await this.details(orgId, userId, set));
    const assets = set.assetIds.map((id) => view(id, details.get(id), prefs));
    // Encoded once: sending a Buffer spares fastify a second pass over a (often two-byte, CJK) string.
    const body = Buffer.from(JSON.stringify({ orgId, userId, total: set.total, assets } satisfies ListBody));
    this.bodies.set(key, { loadedAt: entry.loadedAt, body });
    return { body, status: entry.status, ageS: entry.ageS };
  }

  /** One asset of the user's list, or ASSET_NOT_ACCESSIBLE. */
  async one(orgId: string, userId: string, assetId: string, prefs: LangPrefs, bypass: boolean): Promise<{ asset: AssetView; status: CacheStatus; ageS: number }> {
    const entry = await this.userSet(orgId, userId, bypass);
    const set = entry.set as UserAssetSet;
    if (!assetIndexOf(set).has(assetId)) throw new AppException(ErrorCode.AssetNotAccessible, 'The user cannot access this asset, or it does not exist');
    const details = await this.cache.getAssetDetails(orgId, [assetId]);
    return { asset: view(assetId, details.get(assetId), prefs), status: entry.status, ageS: entry.ageS };
  }

  /**
   * The user's cached set. When this call runs the load, `onLoaded` gets what it loaded: the sets, the details and,
   * given `prefs`, the whole answer body for those languages, serialized page by page while later pages were still
   * on their way.
   */
  private async userSet(
    orgId: string,
    userId: string,
    bypass: boolean,
    onLoaded?: (loaded: Loaded) => void,
    prefs?: LangPrefs,
    answered?: Promise<void>,
  ): Promise<CachedUserSet> {
    let entry: CachedUserSet;
    try {
      entry = await this.cache.getUserSet(
        { orgId },
        userId,
        async () => {
          const r = await this.load(orgId, userId, prefs);
          onLoaded?.(r);
          return r;
        },
        { bypass, answered },
      );
    } catch (err) {
      throw mapUpstreamError(err, 'user');
    }
    if (entry.set === null) throw new AppException(ErrorCode.UserNotFound, 'The user is not found in this OU', { upstream: NOT_FOUND_UPSTREAM });
    return entry;
  }

  /**
   * Asset details for a set from the OU's dictionary. Ids it lacks are asked once more (a slow read), and
   * if the dictionary really lost them (evicted), the user is reloaded once and the loaded details used.
   */
  private async details(orgId: string, userId: string, set: UserAssetSet): Promise<Map<string, AssetDetails>> {
    const details = await this.cache.getAssetDetails(orgId, set.assetIds);
    let missing = set.assetIds.filter((id) => !details.has(id));
    if (missing.length === 0) return details;
    for (const [id, d] of await this.cache.getAssetDetails(orgId, missing)) details.set(id, d);
    missing = missing.filter((id) => !details.has(id));
    if (missing.length === 0) return details;
    let loaded: Loaded | undefined;
    await this.userSet(orgId, userId, true, (r) => (loaded = r));
    for (const [id, d] of loaded?.assets ?? new Map<string, AssetDetails>()) details.set(id, d);
    return details;
  }

  /** The user's pages read and merged, for the cache. `_prefs` is not used: the answer is serialized by listBody. */
  private async load(orgId: string, userId: string, _prefs?: LangPrefs): Promise<Loaded> {
    try {
      const r = await this.portal.getUserAssets(orgId, userId, { decode: this.decoders.decoder });
      const assets = new Map<string, AssetDetails>();
      for (const a of r.assets) assets.set(a.id, { names: a.name ?? {} });
      return { sets: new Map([[userId, { assetIds: r.assetIds, total: r.total, complete: r.complete }]]), assets };
    } catch (err) {
      if (isNotFound(err)) return { sets: new Map([[userId, null]]), assets: new Map() };
      throw err;
    }
  }
}

/** The list answer's shape; its key order is the serialized order. */
interface ListBody {
  orgId: string;
  userId: string;
  total: number;
  assets: AssetView[];
}

/** Key of a memoized body (ids cannot contain the separator). */
const memoKey = (orgId: string, userId: string, prefs: LangPrefs): string => `${orgId}\u0000${userId}\u0000${prefsKey(prefs)}`;
