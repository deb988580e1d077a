import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { AssetDetails, OrgMark, UserAssetSet } from './asset-cache.types';
import { AssetIdDictionary } from './asset-id-dictionary';
import { CacheDriver, DETAILS_VERSION_FIELD, WriteOp } from './drivers/cache-driver';
import { decodeDetails, decodeEntry, encodeDetails, encodeEntrySliced, Generations, RawEntry, StoredEntry } from './entry-codec';
import { CacheKeys } from './keys';
import { coldTurn, forEachSliced, hashSliced, SLICE_ITEMS } from './sliced';

/** Bytes of randomness in a generation token: enough that a recreated generation never meets an old entry's. */
const GENERATION_TOKEN_BYTES = 9;
/** Tokens created by one read share a random base and differ by the key's position, written in base 36. */
const GENERATION_INDEX_RADIX = 36;
/** Most asset details remembered in process for when the store cannot give them (Redis gone or emptied). */
const REMEMBERED_DETAILS_MAX = 100_000;
/** Joins a created token's base and index; an invalidation's token (base64url) never holds it. */
const CREATED_TOKEN_MARK = '.';

/** A user set's key and owner. */
export interface EntryKey {
  key: string;
  orgId: string;
  userId: string;
}

/** Details as the store holds them (see EntryStore.storedDetails). */
export interface StoredDetails {
  /** Names the ids and the version of their stored details; undefined when the store did not answer or lacks some. */
  print?: string;
  /** The details, decoded on the first call; unknown ids are absent. */
  details(): Map<string, AssetDetails>;
}

/** SHA-256 of the ids in their order (hashSliced), as base64url. */
async function digestOf(ids: string[]): Promise<string> {
  return (await hashSliced(ids.length, (i) => [ids[i]])).toString('base64url');
}

/** Whether details `d` may take the place of `had`: as in the store, typed details are never replaced by untyped ones. */
const mayReplace = (had: AssetDetails | undefined, d: AssetDetails): boolean => d.type !== undefined || had?.type === undefined;

/** One caller's part of a joined write. */
interface WritePart {
  items: readonly (readonly [EntryKey, StoredEntry])[];
  assets: Map<string, AssetDetails>;
}

/** What one read found for each user: the generations to load under, and the entry when it is current. */
export interface EntryRead {
  gens: Generations;
  entry?: StoredEntry;
}

export interface EntryStoreOptions {
  /** Lifetime of generations, the id dictionary and the details hash: longer than any entry's. */
  longLifeMs: number;
  /** How long an entry stays readable (for STALE) past its fresh lifetime. */
  staleMs: number;
  /** Remember the details written and read, to answer for ids the store lost or cannot reach (a shared store only). */
  rememberDetails: boolean;
  now: () => number;
}

/**
 * Users' entries in the store, with the generations that invalidate them and the OU's asset-id dictionary that
 * keeps them compact. An entry counts only while the generations it was written under are still the current ones.
 */
export class EntryStore {
  private readonly dict: AssetIdDictionary;
  /** Details by OU and asset id, last seen: names and types, never grants, so serving them old is harmless. */
  private readonly remembered?: LRUCache<string, AssetDetails>;
  /**
   * Details by OU and asset id as last merged into the store, for half the hash's lifetime: an unchanged value is not
   * sent again. Every load of a user brings all of its assets' details, and its users share an OU's assets, so a
   * refresh of an OU's users would otherwise write each asset's details once per user holding it.
   */
  private readonly sent: LRUCache<string, string>;
  /** Writes asked for in this turn, by OU (see write). */
  private readonly writing = new Map<string, { parts: WritePart[]; done: Promise<void> }>();

  constructor(
    private readonly store: CacheDriver,
    private readonly keys: CacheKeys,
    private readonly options: EntryStoreOptions,
  ) {
    this.dict = new AssetIdDictionary(store, keys);
    if (options.rememberDetails) this.remembered = new LRUCache<string, AssetDetails>({ max: REMEMBERED_DETAILS_MAX });
    // Half the lifetime: each value is merged again while loads bring it, and each merge renews the hash's lifetime.
    this.sent = new LRUCache<string, string>({ max: REMEMBERED_DETAILS_MAX, ttl: options.longLifeMs / 2, perf: { now: options.now }, ttlResolution: 0 });
  }

  /**
   * Generations and current entries of users of one OU, in one MGET; undefined when the store failed. A generation
   * missing from the store (expired, evicted) is unknown, never "the first": it is created with a new token (a second
   * round trip), so no entry written before it was lost counts again. With `entries: false` only the generations are
   * read: what a load that skips the cache (bypass) stores under, without decoding entries it does not serve.
   */
  async read(orgId: string, users: readonly EntryKey[], { entries = true }: { entries?: boolean } = {}): Promise<EntryRead[] | undefined> {
    const genKeys = [this.keys.orgGeneration(orgId), ...users.map((u) => this.keys.userGeneration(orgId, u.userId))];
    const r = await this.store.mget(entries ? [...genKeys, ...users.map((u) => u.key)] : genKeys);
    const tokens = r && (await this.generations(genKeys, r.slice(0, genKeys.length)));
    if (!r || !tokens) return undefined;
    const gens = users.map((_, i): Generations => ({ og: tokens[0], ug: tokens[1 + i] }));
    if (!entries) return gens.map((g) => ({ gens: g }));
    const raws = users.map((_, i) => currentEntry(r[genKeys.length + i], gens[i]));
    const resolved = await this.resolve(orgId, raws);
    return gens.map((g, i) => ({ gens: g, entry: resolved[i] }));
  }

  /**
   * Stores entries with their assets' details; resolves once they are stored (or the store failed: not an error).
   * Writes of one OU asked for within one turn of the event loop are stored as one: the users of a refresh wave come
   * back together from one users/assetList answer, each with its own write, and one dictionary script and one details
   * merge over all their assets cost a fraction of one per user.
   */
  write(orgId: string, items: readonly (readonly [EntryKey, StoredEntry])[], assets: Map<string, AssetDetails>): Promise<void> {
    let joined = this.writing.get(orgId);
    if (!joined) {
      const parts: WritePart[] = [];
      const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        this.writing.delete(orgId);
        return this.writeParts(orgId, parts);
      });
      joined = { parts, done };
      this.writing.set(orgId, joined);
    }
    joined.parts.push({ items, assets });
    return joined.done;
  }

  /** The writes joined in one turn, as one. */
  private async writeParts(orgId: string, parts: WritePart[]): Promise<void> {
    if (parts.length === 1) return this.writeNow(orgId, parts[0].items, parts[0].assets);
    const assets = new Map<string, AssetDetails>();
    let seen = 0;
    for (const part of parts) {
      for (const [id, d] of part.assets) {
        // A big user's 100,000 details are merged a slice per turn, without being copied into an array first.
        if (++seen % SLICE_ITEMS === 0) await coldTurn();
        if (mayReplace(assets.get(id), d)) assets.set(id, d);
      }
    }
    return this.writeNow(
      orgId,
      parts.flatMap((p) => p.items),
      assets,
    );
  }

  /**
   * Stores entries: the assets' details merged into the OU's hash, ids into its dictionary, then the entries,
   * SLICE_ITEMS per pipeline, one slice per cold turn (a 10,000-user batch's pipeline is not encoded in one go).
   */
  private async writeNow(orgId: string, items: readonly (readonly [EntryKey, StoredEntry])[], assets: Map<string, AssetDetails>): Promise<void> {
    const ids = await idsOf(items);
    const [view] = await Promise.all([this.dict.assign(orgId, ids, this.options.longLifeMs), this.writeDetails(orgId, assets)]);
    if (!view) return;
    const now = this.options.now();
    for (let from = 0; from < items.length; from += SLICE_ITEMS) {
      if (from > 0) await coldTurn();
      const sets: WriteOp[] = [];
      const slice = items.slice(from, from + SLICE_ITEMS);
      for (const [k, e] of slice) {
        const ttlMs = Math.max(1, e.freshUntil + this.options.staleMs - now);
        sets.push({ op: 'set', key: k.key, value: await encodeEntrySliced(e, view.epoch, view.indexOf), ttlMs });
      }
      // The generations the entries are written under live on with them (see touch), after the sets: one command.
      const gens = slice.map(([k]) => this.keys.userGeneration(orgId, k.userId));
      sets.push(this.touch(from === 0 ? [this.keys.orgGeneration(orgId), ...gens] : gens));
      if (!(await this.store.write(sets))) return;
    }
  }

  /**
   * Merges details into the OU's hash, SLICE_ITEMS assets per cold turn and at most one command per slice: encoding a
   * big user's 100,000 fields at once would hold the event loop, and one script over all of them would hold Redis,
   * while hot reads wait. The slices count every asset looked at, sent or not: a reload whose details are all
   * unchanged sends nothing, and still yields. A failed write is not an error: ids without details are asked again
   * (AssetsService.details).
   */
  private async writeDetails(orgId: string, assets: Map<string, AssetDetails>): Promise<void> {
    const key = this.keys.assetDetails(orgId);
    const all = [...assets];
    for (let from = 0; from < all.length; from += SLICE_ITEMS) {
      if (from > 0) await coldTurn();
      const fields: [string, string][] = [];
      const sentKeys: string[] = [];
      for (const [id, d] of all.slice(from, from + SLICE_ITEMS)) {
        const rk = rememberedKey(orgId, id);
        this.remember(rk, d);
        const value = encodeDetails(d);
        if (this.sent.get(rk) === value) continue;
        fields.push([id, value]);
        sentKeys.push(rk);
      }
      if (fields.length === 0) continue;
      if (!(await this.store.write([{ op: 'details', key, ttlMs: this.options.longLifeMs, version: newToken(), fields }]))) return;
      fields.forEach(([, value], i) => this.sent.set(sentKeys[i], value));
    }
  }

  /** Details of the OU's assets among `ids` (one HMGET), those the store lacks from memory; unknown ids are absent. */
  async details(orgId: string, ids: readonly string[]): Promise<Map<string, AssetDetails>> {
    const { unique, values } = await this.readDetails(orgId, ids);
    return this.detailsOf(orgId, unique, values);
  }

  /**
   * details, with a print of the ids and of the hash's version, read with them: equal prints mean the same details,
   * without decoding or hashing them (the version changes with any value of the hash, see MERGE_DETAILS_SCRIPT). No
   * print when the store did not answer, lacks some of them (they come from memory) or has no version.
   */
  async storedDetails(orgId: string, ids: readonly string[]): Promise<StoredDetails> {
    const { unique, values, version } = await this.readDetails(orgId, ids);
    const complete = version && values?.every((v) => v !== null);
    const print = unique.length === 0 ? 'none' : complete ? `${version}|${await digestOf(unique)}` : undefined;
    let decoded: Map<string, AssetDetails> | undefined;
    return { print, details: () => (decoded ??= this.detailsOf(orgId, unique, values)) };
  }

  /**
   * The ids, each once, the stored text of their details and the hash's version, in one HMGET (none for no ids;
   * values undefined when it failed).
   */
  private async readDetails(orgId: string, ids: readonly string[]): Promise<{ unique: string[]; values: (string | null)[] | undefined; version?: string }> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return { unique, values: [] };
    const read = await this.store.hmget(this.keys.assetDetails(orgId), [...unique, DETAILS_VERSION_FIELD]);
    return { unique, values: read?.slice(0, unique.length), version: read?.[unique.length] ?? undefined };
  }

  /** Details of the ids from the values the store gave (undefined: it did not answer), the missing ones from memory. */
  private detailsOf(orgId: string, unique: string[], values: (string | null)[] | undefined): Map<string, AssetDetails> {
    const out = new Map<string, AssetDetails>();
    unique.forEach((id, i) => {
      // The store lost what was merged (evicted, flushed): the next load sends it again.
      if (values?.[i] === null) this.sent.delete(rememberedKey(orgId, id));
      const d = decodeDetails(values?.[i]) ?? this.remembered?.get(rememberedKey(orgId, id));
      if (d) out.set(id, d);
    });
    return out;
  }

  /**
   * Keeps a load's details in memory only: a load the store could not take (Redis gone) is not written, and without
   * them every answer made from its entry would find its details missing and load the user again.
   */
  async rememberOnly(orgId: string, assets: Map<string, AssetDetails>): Promise<void> {
    if (!this.remembered) return;
    await forEachSliced([...assets], ([id, d]) => this.remember(rememberedKey(orgId, id), d));
  }

  /** Keeps details in memory (see mayReplace). */
  private remember(key: string, d: AssetDetails): void {
    if (this.remembered && mayReplace(this.remembered.get(key), d)) this.remembered.set(key, d);
  }

  /** The stored generations of the OU and of these users, missing ones as null (none created); undefined when the store failed. */
  async storedGenerations(orgId: string, userIds: readonly string[]): Promise<{ og: string | null; ugs: (string | null)[] } | undefined> {
    const r = await this.store.mget([this.keys.orgGeneration(orgId), ...userIds.map((u) => this.keys.userGeneration(orgId, u))]);
    return r && { og: r[0], ugs: r.slice(1) };
  }

  /** Gives the user a new generation (every scope of the user becomes a miss); false when the store did not take it. */
  invalidateUser(orgId: string, userId: string): Promise<boolean> {
    return this.store.write([this.newGeneration(this.keys.userGeneration(orgId, userId))]);
  }

  /** Gives the OU a new generation (every user of it becomes a miss) and forgets "OU not found". */
  invalidateOrg(orgId: string): Promise<boolean> {
    return this.store.write([this.newGeneration(this.keys.orgGeneration(orgId)), { op: 'del', key: this.keys.orgMissing(orgId) }]);
  }

  /**
   * Remembers that the portal does not know the OU, under the OU generation `mark` was read with (before the portal
   * said so): an OU invalidation since then replaced the generation, so a late "not found" does not count after it.
   * It counts for `ttlMs`, and is kept `staleMs` longer, as long as its users' "not found" entries may be served STALE.
   */
  async markOrgMissing(orgId: string, mark: OrgMark, ttlMs: number): Promise<void> {
    if (mark.generation === undefined) return;
    const value = `${mark.generation} ${this.options.now()}`;
    await this.store.write([{ op: 'set', key: this.keys.orgMissing(orgId), value, ttlMs: ttlMs + this.options.staleMs }]);
  }

  /**
   * Whether "OU not found" is remembered under the OU's current generation (for `ttlMs` from when it was, else as
   * missingStale), and that generation; not missing when the store failed.
   */
  async orgMark(orgId: string, ttlMs: number): Promise<OrgMark> {
    const genKey = this.keys.orgGeneration(orgId);
    const r = await this.store.mget([this.keys.orgMissing(orgId), genKey]);
    const gens = r && (await this.generations([genKey], [r[1]]));
    if (!r || !gens) return { missing: false };
    const [generation, at] = (r[0] ?? '').split(' ');
    const markedAt = Number(at);
    if (generation !== gens[0] || !Number.isFinite(markedAt)) return { missing: false, generation: gens[0] };
    const fresh = this.options.now() < markedAt + ttlMs;
    return { missing: fresh, missingStale: !fresh, markedAt, generation: gens[0] };
  }

  /** Forgets the mirrored dictionaries and which details were sent (the store may have been emptied). */
  forgetMirrors(): void {
    this.dict.clear();
    this.sent.clear();
  }

  /** The generations read, with the missing ones created; undefined when the store failed. */
  private async generations(keys: string[], values: (string | null)[]): Promise<string[] | undefined> {
    const missing = keys.flatMap((key, i) => (values[i] === null ? [i] : []));
    if (missing.length === 0) return values as string[];
    const base = newToken();
    const created = await this.store.getOrCreate(
      missing.map((i) => keys[i]),
      missing.map((i) => `${base}${CREATED_TOKEN_MARK}${i.toString(GENERATION_INDEX_RADIX)}`),
      this.options.longLifeMs,
    );
    if (!created) return undefined;
    const out = [...values];
    missing.forEach((i, k) => (out[i] = created[k]));
    return out as string[];
  }

  /**
   * Renews generation keys' lifetime (those that exist) with each entry written under them. Generations outlive their
   * entries; created once and never renewed, they would expire while entries are still written under them, and every
   * user of an OU warmed together would become a miss at the same moment (and, with the portal failing then, an error
   * instead of STALE).
   */
  private touch(keys: string[]): WriteOp {
    return { op: 'touch', keys, ttlMs: this.options.longLifeMs };
  }

  private newGeneration(key: string): WriteOp {
    return { op: 'set', key, value: newToken(), ttlMs: this.options.longLifeMs };
  }

  /** Entries with their asset ids resolved through the dictionary; an entry whose ids cannot be resolved is a miss. */
  private async resolve(orgId: string, raws: (RawEntry | undefined)[]): Promise<(StoredEntry | undefined)[]> {
    const present = raws.filter((r): r is RawEntry => r !== undefined);
    const ids = present.length > 0 ? await this.dict.resolve(orgId, present) : [];
    let k = 0;
    return raws.map((raw) => {
      if (!raw) return undefined;
      const assetIds = ids[k++];
      if (!assetIds) return undefined;
      const set: UserAssetSet | null = raw.negative ? null : { assetIds, total: raw.total, complete: raw.complete };
      return { gens: raw.gens, loadedAt: raw.loadedAt, freshUntil: raw.freshUntil, set };
    });
  }
}

/**
 * Whether an entry loaded under the generation token `was` may still be served as a fallback while the store holds
 * `now` (null: absent). The same token always. When a lost token may have been an invalidation's (`strict`, see
 * AssetSetCache.mayHaveMissed), nothing else; otherwise also none, or one recreated after the loss: only an
 * invalidation writes a token without CREATED_TOKEN_MARK, so any other token is an invalidation not seen here.
 */
export function survivesGeneration(was: string, now: string | null, strict: boolean): boolean {
  return now === was || (!strict && (now === null || now.includes(CREATED_TOKEN_MARK)));
}

/** Key of remembered details (ids cannot contain the separator). */
const rememberedKey = (orgId: string, id: string): string => `${orgId}\u0000${id}`;

/** A random generation token (base64url, no '|': it goes into the entry text). */
function newToken(): string {
  return randomBytes(GENERATION_TOKEN_BYTES).toString('base64url');
}

/** The decoded entry when it was written under these generations; undefined otherwise. */
function currentEntry(value: string | null, gens: Generations): RawEntry | undefined {
  const raw = decodeEntry(value);
  return raw && raw.gens.og === gens.og && raw.gens.ug === gens.ug ? raw : undefined;
}

/** Every asset id of the entries, each once (one user's set already holds each once: a big user's 100,000 ids are not copied). */
async function idsOf(items: readonly (readonly [EntryKey, StoredEntry])[]): Promise<string[]> {
  if (items.length === 1) return items[0][1].set?.assetIds ?? [];
  const ids = new Set<string>();
  await forEachSliced(items, ([, e]) => e.set?.assetIds.forEach((id) => ids.add(id)));
  return [...ids];
}
