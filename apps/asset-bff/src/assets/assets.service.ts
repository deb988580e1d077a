import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { AssetDetails, AssetSetCache, CachedUserSet, CacheStatus, LoadedSets, UserAssetSet } from '@app/asset-cache';
import { AssetPage, PortalClient } from '@app/portal-client';
import { PortalCode } from '@app/portal-contracts';
import { AnswerBytes, answerBytes } from '../common/answer-bytes';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';
import { LangPrefs, prefsKey } from '../common/i18n';
import { isNotFound, mapUpstreamError } from '../upstream/portal-error.mapper';
import { assetIndexOf } from './asset-index';
import { AssetView, pageViewsBytes, view } from './asset-view';
import { PageDecoders } from './page-decoders';

/** Memory bound of the serialized bodies kept for hot reads, and the bookkeeping counted per body. */
const BODY_MEMO_BYTES = 128 * 1024 * 1024;
const BODY_MEMO_OVERHEAD = 200;

/** What the portal said when the negative entry was stored. */
const NOT_FOUND_UPSTREAM = { code: PortalCode.NotFound, message: 'The user is not found, or not in the organization' };

/** What a load of one user brings back: the sets and details for the cache, and the answer body when it was built from the pages. */
type Loaded = LoadedSets & { body?: AnswerBytes };

/** A memoized body: the entry load it was made from, and the entry object whose shortcut holds it too. */
interface BodyMemo {
  loadedAt: number;
  body: AnswerBytes;
  prefs: string;
  attachedTo?: CachedUserSet;
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
    // A body leaving the memo leaves the shortcut too, so the byte bound holds for both.
    dispose: (v) => v.attachedTo && this.attached.get(v.attachedTo)?.delete(v.prefs),
  });
  /**
   * The hot read's shortcut: bodies by languages, hung on the in-process cached entry object itself (the cache
   * hands out the same object on every in-process hit), so a hot hit is one cache lookup instead of two keyed
   * lookups in two 10,000-entry maps (measured: the second lookup's memory traffic was ~7% of a hot read).
   * Entries the cache drops take their bodies with them (weak keys).
   */
  private readonly attached = new WeakMap<CachedUserSet, Map<string, AnswerBytes>>();

  constructor(
    private readonly cache: AssetSetCache,
    private readonly portal: PortalClient,
    private readonly decoders: PageDecoders,
  ) {}

  /** The user's whole asset list, serialized for the caller's languages (`_answered` is no longer used by the cache). */
  async listBody(orgId: string, userId: string, prefs: LangPrefs, bypass: boolean, _answered?: Promise<void>): Promise<CachedBody> {
    let loaded: Loaded | undefined;
    const entry = await this.userSet(orgId, userId, bypass, (r) => (loaded = r), prefs);
    const prebuilt = loaded?.body;
    const key = memoKey(orgId, userId, prefs);
    const memo = this.bodies.get(key);
    if (memo !== undefined && memo.loadedAt === entry.loadedAt) return { body: memo.body, status: entry.status, ageS: entry.ageS };
    if (prebuilt !== undefined) {
      this.bodies.set(key, { loadedAt: entry.loadedAt, body: prebuilt, prefs: prefsKey(prefs) });
      return { body: prebuilt, status: entry.status, ageS: entry.ageS };
    }
    const set = entry.set as UserAssetSet;
    // The request that ran the load already holds every asset's details: no need to read them back.
    const details = loaded?.assets ?? (await this.details(orgId, userId, set));
    const assets = set.assetIds.map((id) => view(id, details.get(id), prefs));
    // Encoded once: sending a Buffer spares fastify a second pass over a (often two-byte, CJK) string.
    const body = Buffer.from(JSON.stringify({ orgId, userId, total: set.total, assets } satisfies ListBody));
    this.bodies.set(key, { loadedAt: entry.loadedAt, body, prefs: prefsKey(prefs) });
    return { body, status: entry.status, ageS: entry.ageS };
  }

  /** The serialized body of a hot in-process hit, synchronously; undefined when the full read is needed. */
  peekBody(orgId: string, userId: string, prefs: LangPrefs): CachedBody | undefined {
    const pk = prefsKey(prefs);
    let body: AnswerBytes | undefined;
    const entry = this.cache.peekUserSet({ orgId }, userId, (e) => {
      body = this.attached.get(e)?.get(pk);
      if (body !== undefined) return true;
      const memo = this.bodies.get(memoKey(orgId, userId, prefs));
      if (memo === undefined || memo.loadedAt !== e.loadedAt) return false;
      let bodies = this.attached.get(e);
      if (bodies === undefined) this.attached.set(e, (bodies = new Map()));
      bodies.set(pk, memo.body);
      memo.attachedTo = e;
      body = memo.body;
      return true;
    });
    return entry && body && { body, status: entry.status, ageS: entry.ageS };
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
        { bypass },
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

  private async load(orgId: string, userId: string, prefs?: LangPrefs): Promise<Loaded> {
    const pages = prefs && new PageBodies(prefs);
    try {
      const r = await this.portal.getUserAssets(orgId, userId, { decode: this.decoders.decoderFor(prefs), onPage: pages && ((pass, page) => pages.add(pass, page)) });
      const body = await pages?.body({ orgId, userId, total: r.total }, r.complete, r.assetIds.length);
      // Built when first asked for: with a prebuilt body, only the cache's store needs the details, and a large
      // store runs after the answer is written (100,000 details are ~30 ms of Map and objects).
      let assets: Map<string, AssetDetails> | undefined;
      return {
        sets: new Map([[userId, { assetIds: r.assetIds, total: r.total, complete: r.complete }]]),
        get assets(): Map<string, AssetDetails> {
          if (assets === undefined) {
            assets = new Map();
            for (const a of r.assets) assets.set(a.id, { names: a.name ?? {} });
          }
          return assets;
        },
        body,
      };
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

/**
 * The list answer built page by page as asset/list pages arrive: each page's views serialized (and encoded)
 * while the other pages are still on their way, so a 100-page user costs a concatenation after the last page
 * instead of a 16 MB JSON.stringify. Only used when the merge is exactly the pages in order (complete, every
 * page of the final pass present, no repeated id dropped); otherwise the ordinary path serializes.
 */
class PageBodies {
  private pass = 0;
  private chunks: Uint8Array[] = [];
  private counts: number[] = [];
  private readonly pending: Promise<void>[] = [];

  constructor(private readonly prefs: LangPrefs) {}

  /**
   * Takes the page's views as its decoder serialized them (on a worker thread); a page without them is serialized
   * here on a later turn of the event loop: pages arrive in bursts (eight answers at once), and the next page
   * requests, queued behind those answers, should be on the wire before this work runs.
   */
  add(pass: number, page: AssetPage): void {
    if (pass !== this.pass) {
      this.pass = pass;
      this.chunks = [];
      this.counts = [];
    }
    const { chunks, counts } = this;
    counts[page.pageNo] = page.ids.length;
    if (page.prepared) {
      chunks[page.pageNo] = page.prepared;
      return;
    }
    this.pending.push(
      new Promise<void>((resolve) =>
        setImmediate(() => {
          chunks[page.pageNo] = pageViewsBytes(page.assets, this.prefs);
          resolve();
        }),
      ),
    );
  }

  /** The whole body, byte for byte what JSON.stringify of the merged answer gives; undefined when it cannot be built from pages. */
  async body(head: Omit<ListBody, 'assets'>, complete: boolean, merged: number): Promise<AnswerBytes | undefined> {
    await Promise.all(this.pending);
    if (!complete || this.chunks.length === 0) return undefined;
    const parts: Uint8Array[] = [];
    let count = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (c === undefined) return undefined;
      count += this.counts[i];
      if (this.counts[i] === 0) continue;
      if (parts.length > 0) parts.push(COMMA);
      parts.push(c);
    }
    // A repeated id dropped by the merge would make the pages hold more than the answer.
    if (count !== merged) return undefined;
    const open = JSON.stringify({ ...head, assets: [] } satisfies ListBody).slice(0, -2);
    return answerBytes([Buffer.from(open), ...parts, CLOSE]);
  }
}
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/** Key of a memoized body (ids cannot contain the separator). */
const memoKey = (orgId: string, userId: string, prefs: LangPrefs): string => `${orgId}\u0000${userId}\u0000${prefsKey(prefs)}`;
