import { Injectable } from '@nestjs/common';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, LoadedSets, UserAssetSet } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { PortalCode } from '@app/portal-contracts';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, localize, prefsKey } from '../common/i18n';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';

/** What the portal said when the negative entry was stored. */
const NOT_FOUND_UPSTREAM = { code: PortalCode.NotFound, message: 'The user is not found, or not in the organization' };

/** A cached read as the controller sends it: the body already serialized, plus the X-Cache and Age headers. */
export interface CachedBody {
  body: string;
  status: CacheStatus;
  ageS: number;
}

/** An asset as the caller sees it. */
export interface AssetView {
  id: string;
  name: string;
  names: AssetDetails['names'];
}

/**
 * One user's assets in one OU (asset/list, all pages merged), read through the cache. Serialized bodies
 * are memoized per cached entry object and language, so a hot hit costs a map lookup, not a JSON.stringify.
 */
@Injectable()
export class AssetsService {
  private readonly bodies = new WeakMap<CachedUserSet, Map<string, string>>();
  private readonly indexes = new WeakMap<CachedUserSet, Set<string>>();

  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
  ) {}

  /** The user's whole asset list, serialized for the caller's languages. */
  async listBody(orgId: string, userId: string, prefs: LangPrefs, bypass: boolean): Promise<CachedBody> {
    const entry = await this.userSet(orgId, userId, bypass);
    const key = prefsKey(prefs);
    let byLang = this.bodies.get(entry);
    const memo = byLang?.get(key);
    if (memo !== undefined) return { body: memo, status: entry.status, ageS: entry.ageS };
    const set = entry.set as UserAssetSet;
    const details = await this.details(orgId, userId, set, bypass);
    const assets = set.assetIds.map((id) => view(id, details.get(id), prefs));
    const body = JSON.stringify({ orgId, userId, total: set.total, assets });
    if (!byLang) this.bodies.set(entry, (byLang = new Map()));
    byLang.set(key, body);
    return { body, status: entry.status, ageS: entry.ageS };
  }

  /** One asset of the user's list, or ASSET_NOT_ACCESSIBLE. */
  async one(orgId: string, userId: string, assetId: string, prefs: LangPrefs, bypass: boolean): Promise<{ asset: AssetView; status: CacheStatus; ageS: number }> {
    const entry = await this.userSet(orgId, userId, bypass);
    const set = entry.set as UserAssetSet;
    let index = this.indexes.get(entry);
    if (!index) this.indexes.set(entry, (index = new Set(set.assetIds)));
    if (!index.has(assetId)) throw new AppException(ErrorCode.AssetNotAccessible, 'The user cannot access this asset, or it does not exist');
    const details = await this.cache.getAssetDetails(orgId, [assetId]);
    return { asset: view(assetId, details.get(assetId), prefs), status: entry.status, ageS: entry.ageS };
  }

  private async userSet(orgId: string, userId: string, bypass: boolean): Promise<CachedUserSet> {
    let entry: CachedUserSet;
    try {
      entry = await this.cache.getUserSet({ orgId }, userId, () => this.load(orgId, userId), { bypass });
    } catch (err) {
      throw mapUpstreamError(err, 'user');
    }
    if (entry.set === null) throw new AppException(ErrorCode.UserNotFound, 'The user is not found in this OU', { upstream: NOT_FOUND_UPSTREAM });
    return entry;
  }

  /** Asset details for a set; if the OU dictionary lost some (evicted), the user's entry is reloaded once. */
  private async details(orgId: string, userId: string, set: UserAssetSet, bypass: boolean): Promise<Map<string, AssetDetails>> {
    const details = await this.cache.getAssetDetails(orgId, set.assetIds);
    if (details.size === new Set(set.assetIds).size || bypass) return details;
    const fresh = await this.userSet(orgId, userId, true);
    return this.cache.getAssetDetails(orgId, (fresh.set as UserAssetSet).assetIds);
  }

  private async load(orgId: string, userId: string): Promise<LoadedSets> {
    try {
      const r = await this.portal.getUserAssets(orgId, userId);
      const assets = new Map<string, AssetDetails>();
      for (const a of r.assets) assets.set(a.id, { names: a.name ?? {} });
      return { sets: new Map([[userId, { assetIds: r.assets.map((a) => a.id), total: r.total, complete: r.complete }]]), assets };
    } catch (err) {
      if (isNotFound(err)) return { sets: new Map([[userId, null]]), assets: new Map() };
      throw err;
    }
  }
}

function view(id: string, d: AssetDetails | undefined, prefs: LangPrefs): AssetView {
  const names = d?.names ?? { default: id };
  return { id, name: localize(names, prefs) || id, names };
}
