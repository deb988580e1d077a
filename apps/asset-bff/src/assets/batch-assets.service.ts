import { Injectable } from '@nestjs/common';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, LoadedSets, PartSink, UserAssetSet } from '@app/asset-cache';
import { PortalClient } from '@app/portal-client';
import { UserAssetInfo, UsersUserAssets } from '@app/portal-contracts';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, localize } from '../common/i18n';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';
import { PageDecoders } from './page-decoders';

export interface BatchAssetView {
  id: string;
  name: string;
  names: AssetDetails['names'];
  type: string | null;
  typeName: string | null;
  typeNames: AssetDetails['typeNames'] | null;
}

export interface BatchResult {
  orgId: string;
  users: { userId: string; assetIds: string[] }[];
  assets: BatchAssetView[];
}

/** Aggregate cache status of many entries: STALE if any is stale, else MISS if any was loaded, else HIT. */
export function aggregateStatus(entries: Iterable<CachedUserSet>): { status: CacheStatus; ageS: number } {
  let status: CacheStatus = 'HIT';
  let ageS = 0;
  for (const e of entries) {
    if (e.status === 'STALE') status = 'STALE';
    else if (e.status === 'MISS' && status === 'HIT') status = 'MISS';
    if (e.ageS > ageS) ageS = e.ageS;
  }
  return { status, ageS };
}

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
  /** Users' answer elements by set: a set held in process answers many batches. */
  private readonly elements = new UserElements();

  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly decoders: PageDecoders,
  ) {}

  /** Each requested user once in request order (duplicates folded), each asset once. */
  async usersAssets(orgId: string, userIds: string[], resourceTypes: string[] | undefined, prefs: LangPrefs, bypass: boolean): Promise<{ body: Buffer; status: CacheStatus; ageS: number }> {
    const users = [...new Set(userIds)];
    const types = typesKey(resourceTypes);
    // Details this request's own loads brought back need not be read back from the cache.
    const loaded = new Map<string, AssetDetails>();
    // Stores of large loads still writing to Redis: awaited after serializing, before the answer goes out.
    const pendingStores: Promise<void>[] = [];
    const entries = await this.sets(orgId, users, types, bypass, false, loaded, pendingStores);
    let ids = collectIds(users, entries);
    let details = await this.detailsOf(orgId, ids, loaded);
    // Entries filled by asset/list know names but not types: reload the users whose assets lack a type. Each
    // distinct id is looked at once (5,000, not the 50,000 of 1,000 users' lists); usually none lacks one.
    const untyped = new Set(ids.filter((id) => details.get(id)?.type === undefined));
    const incomplete = untyped.size === 0 ? [] : users.filter((u) => entries.get(u)?.set?.assetIds.some((id) => untyped.has(id)));
    if (incomplete.length && !bypass) {
      const fresh = await this.sets(orgId, incomplete, types, true, false, loaded, pendingStores);
      for (const [u, e] of fresh) entries.set(u, e);
      ids = collectIds(users, entries);
      details = await this.detailsOf(orgId, ids, loaded);
    }
    const assets = ids.map((id) => batchView(id, details.get(id), prefs));
    const body = batchBytes(orgId, users, entries, assets, this.elements);
    // A store that failed was logged by the cache; the answer stands (those users load again next time).
    await Promise.all(pendingStores);
    return { body, ...aggregateStatus(entries.values()) };
  }

  /** Cached sets of these users; missing ones loaded with users/assetList. OU not found is cached negatively. */
  async sets(
    orgId: string,
    users: string[],
    types: string[] | undefined,
    bypass: boolean,
    batched = false,
    loadedDetails?: Map<string, AssetDetails>,
    pendingStores?: Promise<void>[],
  ): Promise<Map<string, CachedUserSet>> {
    if (await this.cache.isOrgMissing(orgId)) throw new AppException(ErrorCode.OrgNotFound, 'The OU is not found');
    const loader = async (missing: string[], onPart?: PartSink): Promise<LoadedSets> => {
      const r = batched ? await this.loadBatched(orgId, missing, types) : await this.load(orgId, missing, types, onPart);
      if (loadedDetails) for (const [id, d] of r.assets) loadedDetails.set(id, d);
      return r;
    };
    try {
      return await this.cache.getUserSets({ orgId, types }, users, loader, { bypass, pendingStores });
    } catch (err) {
      if (isNotFound(err)) {
        await this.cache.markOrgMissing(orgId);
        throw new AppException(ErrorCode.OrgNotFound, 'The OU is not found');
      }
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

  /**
   * users/assetList in chunks, their answers digested on the page workers; each chunk's sets are passed to `onPart`
   * as it arrives (the cache stores them at once).
   */
  private async load(orgId: string, users: string[], types: string[] | undefined, onPart?: PartSink): Promise<LoadedSets> {
    const sets: LoadedSets['sets'] = new Map();
    const setOf = (u: UsersUserAssets): UserAssetSet => {
      // The set a part was given is the set of the final answer, while its list is the same (see PartSink).
      const known = sets.get(u.userId);
      if (known && known.assetIds === u.userAssetIds) return known;
      const set = { assetIds: u.userAssetIds, total: u.userAssetIds.length, complete: true };
      sets.set(u.userId, set);
      return set;
    };
    const onChunk = onPart && ((chunk: { users: UsersUserAssets[]; assets: UserAssetInfo[] }): void => {
      const part: LoadedSets = { sets: new Map(chunk.users.map((u) => [u.userId, setOf(u)])), assets: detailsMap(chunk.assets) };
      onPart(part);
    });
    const r = await this.portal.getUsersAssets(orgId, users, types, onChunk, this.decoders.usersDecoder());
    for (const u of r.users) setOf(u);
    return { sets, assets: detailsMap(r.assets) };
  }

  /** The same through the micro-batcher, so that concurrent requests' missing users share upstream calls. */
  private async loadBatched(orgId: string, users: string[], types: string[] | undefined): Promise<LoadedSets> {
    const results = await Promise.all(users.map((u) => this.portal.getUserAssetsBatched(orgId, u, types)));
    const sets: LoadedSets['sets'] = new Map();
    const assets = new Map<string, AssetDetails>();
    for (const r of results) {
      sets.set(r.userId, { assetIds: r.assetIds, total: r.assetIds.length, complete: true });
      for (const a of r.assets) if (!assets.has(a.id)) assets.set(a.id, detailsOfAsset(a));
    }
    return { sets, assets };
  }
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
 * Each user's element of a batch answer, `,{"userId":…,"assetIds":[…]}` (with a leading comma) as bytes, made once per
 * set the cache served from its copies (HIT): a user held in process is then not serialized again for every batch
 * that names it. Sets are never changed once made (the cache hands the same object to every reader).
 */
export class UserElements {
  private readonly bySet = new WeakMap<UserAssetSet, { userId: string; bytes: Buffer }>();

  /** The element of a cached user; undefined for a user just loaded or stale (serialized with the others, once). */
  of(userId: string, entry: CachedUserSet | undefined): Buffer | undefined {
    const set = entry?.set;
    if (!set || entry.status !== 'HIT') return undefined;
    const known = this.bySet.get(set);
    if (known?.userId === userId) return known.bytes;
    const bytes = Buffer.from(`,${JSON.stringify({ userId, assetIds: set.assetIds })}`);
    this.bySet.set(set, { userId, bytes });
    return bytes;
  }
}

/**
 * `{orgId, users, assets}` as JSON bytes (the same bytes as one JSON.stringify of it): cached users' elements from
 * UserElements, each run of the other users in one JSON.stringify (10,000 users just loaded are not worth 10,000
 * small ones), and the assets apart, since their localized names (CJK) would make the whole answer a two-byte
 * string, several times slower to build and encode than the users' ASCII.
 */
export function batchBytes(orgId: string, users: string[], entries: Map<string, CachedUserSet>, assets: BatchAssetView[], elements: UserElements): Buffer {
  const parts: Buffer[] = [Buffer.from(`{"orgId":${JSON.stringify(orgId)},"users":[`)];
  let run: { userId: string; assetIds: string[] }[] = [];
  const flush = (): void => {
    if (run.length === 0) return;
    // '[a,b]' -> ',a,b'
    parts.push(Buffer.from(`,${JSON.stringify(run).slice(1, -1)}`));
    run = [];
  };
  for (const userId of users) {
    const entry = entries.get(userId);
    const element = elements.of(userId, entry);
    if (element) {
      flush();
      parts.push(element);
    } else run.push({ userId, assetIds: entry?.set?.assetIds ?? [] });
  }
  flush();
  // every element starts with a comma: the first one's goes
  if (parts.length > 1) parts[1] = parts[1].subarray(1);
  parts.push(Buffer.from(`],"assets":${JSON.stringify(assets)}}`));
  return Buffer.concat(parts);
}

function collectIds(users: string[], entries: Map<string, CachedUserSet>): string[] {
  const seen = new Set<string>();
  for (const u of users) for (const id of entries.get(u)?.set?.assetIds ?? []) seen.add(id);
  return [...seen];
}

function batchView(id: string, d: AssetDetails | undefined, prefs: LangPrefs): BatchAssetView {
  const names = d?.names ?? { default: id };
  return {
    id,
    name: localize(names, prefs) || id,
    names,
    type: d?.type ?? null,
    typeName: d?.typeNames ? localize(d.typeNames, prefs) : null,
    typeNames: d?.typeNames ?? null,
  };
}
