import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, LoadedSets, UserAssetSet } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { PortalCode } from '@app/portal-contracts';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, prefsKey } from '../common/i18n';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';
import { assetIndexOf } from './asset-index';
import { AssetView, view } from './asset-view';
import { PageDecoders } from './page-decoders';

/** Memory bound of the prepared answers kept for hot reads, and the bookkeeping counted per answer. */
const PREPARED_MAX_BYTES = 128 * 1024 * 1024;
const PREPARED_OVERHEAD_BYTES = 200;

/** What the portal said when the negative entry was stored. */
const NOT_FOUND_UPSTREAM = { code: PortalCode.NotFound, message: 'The user is not found, or not in the organization' };

/** A prepared answer and the entry load it was made from. */
interface Prepared {
  loadedAt: number;
  body: Buffer;
}

/** A cached read as the controller sends it: the body already serialized, plus the X-Cache and Age headers. */
export interface CachedBody {
  body: Buffer;
  status: CacheStatus;
  ageS: number;
}

/**
 * One user's assets in one OU (asset/list, all pages merged), read through the cache. Each answer is prepared once
 * per entry load and language (serialized and encoded), so a hot hit costs a cache lookup and a map lookup.
 */
@Injectable()
export class AssetsService {
  /** Prepared answers by OU, user and languages, versioned by the entry's loadedAt; bounded in bytes. */
  private readonly prepared = new LRUCache<string, Prepared>({
    maxSize: PREPARED_MAX_BYTES,
    sizeCalculation: (v) => v.body.length + PREPARED_OVERHEAD_BYTES,
  });

  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly decoders: PageDecoders,
  ) {}

  /** The user's whole asset list, serialized for the caller's languages. */
  async listBody(orgId: string, userId: string, prefs: LangPrefs, bypass: boolean): Promise<CachedBody> {
    let loaded: LoadedSets | undefined;
    const entry = await this.userSet(orgId, userId, bypass, (r) => (loaded = r));
    const key = preparedKey(orgId, userId, prefs);
    let answer = this.prepared.get(key);
    if (answer === undefined || answer.loadedAt !== entry.loadedAt) {
      const set = entry.set as UserAssetSet;
      // The request that ran the load already holds every asset's details: no need to read them back.
      const details = loaded?.assets ?? (await this.details(orgId, userId, set));
      const assets = set.assetIds.map((id) => view(id, details.get(id), prefs));
      // Encoded once: sending a Buffer spares fastify a second pass over a (often two-byte, CJK) string.
      answer = { loadedAt: entry.loadedAt, body: Buffer.from(JSON.stringify({ orgId, userId, total: set.total, assets } satisfies ListBody)) };
      this.prepared.set(key, answer);
    }
    return { body: answer.body, status: entry.status, ageS: entry.ageS };
  }

  /** One asset of the user's list, or ASSET_NOT_ACCESSIBLE. */
  async one(
    orgId: string,
    userId: string,
    assetId: string,
    prefs: LangPrefs,
    bypass: boolean,
  ): Promise<{ asset: AssetView; status: CacheStatus; ageS: number }> {
    const entry = await this.userSet(orgId, userId, bypass);
    const set = entry.set as UserAssetSet;
    if (!assetIndexOf(set).has(assetId)) throw new AppException(ErrorCode.AssetNotAccessible, 'The user cannot access this asset, or it does not exist');
    const details = await this.cache.getAssetDetails(orgId, [assetId]);
    return { asset: view(assetId, details.get(assetId), prefs), status: entry.status, ageS: entry.ageS };
  }

  /** The user's cached set. When this call runs the load, `onLoaded` gets what it loaded: the sets and the details. */
  private async userSet(orgId: string, userId: string, bypass: boolean, onLoaded?: (loaded: LoadedSets) => void): Promise<CachedUserSet> {
    let entry: CachedUserSet;
    let orgUnknown = false;
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
        { bypass },
      );
      // Marked once the user's negative entry is stored, so the mark outlives it: the batch routes then say ORG_NOT_FOUND.
      if (orgUnknown) await this.cache.markOrgMissing(orgId);
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
    let loaded: LoadedSets | undefined;
    await this.userSet(orgId, userId, true, (r) => (loaded = r));
    for (const [id, d] of loaded?.assets ?? new Map<string, AssetDetails>()) details.set(id, d);
    return details;
  }

  /**
   * Whether the OU is unknown to the portal, after asset/list answered 31404 (said alike of an unknown OU and an
   * unknown user): users/assetList tells them apart, once per negative entry, and not when the OU is already marked.
   */
  private async isOrgUnknown(orgId: string, userId: string): Promise<boolean> {
    if (await this.cache.isOrgMissing(orgId)) return false;
    try {
      await this.portal.getUsersAssets(orgId, [userId]);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }

  /** The user's pages read and merged, for the cache. */
  private async load(orgId: string, userId: string): Promise<LoadedSets> {
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

/** Key of a prepared answer (ids cannot contain the separator). */
const preparedKey = (orgId: string, userId: string, prefs: LangPrefs): string => `${orgId}\u0000${userId}\u0000${prefsKey(prefs)}`;
