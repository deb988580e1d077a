import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DICTIONARY_MAX_ORGS } from './asset-cache.constants';
import { CacheDriver, DICT_EPOCH_FIELD, dictIndexField } from './drivers/cache-driver';
import { entryIndexes, RawEntry } from './entry-codec';
import { CacheKeys } from './keys';
import { forEachSliced } from './sliced';

/** One OU's id dictionary as mirrored in process: append-only, so a mirrored mapping never goes wrong. */
interface OrgDictionary {
  epoch: string;
  idOf: string[];
  indexOf: Map<string, number>;
}

/** Bytes of randomness in a dictionary epoch. */
const EPOCH_BYTES = 6;

/** Dictionary indexes as assign gives them: the epoch and the instance's mirror of id → index for it. */
export type DictionaryView = { epoch: string; indexOf: Map<string, number> };

/**
 * Per-OU dictionary giving every asset id a small integer, shared through the store and mirrored in process.
 * User entries hold the integers, so 10,000 users of one OU cost a few bytes per asset each; the mapping only
 * ever grows, and a dictionary that expired and was recreated gets a new epoch that old entries do not match.
 */
export class AssetIdDictionary {
  private readonly orgs = new LRUCache<string, OrgDictionary>({ max: DICTIONARY_MAX_ORGS });

  constructor(
    private readonly driver: CacheDriver,
    private readonly keys: CacheKeys,
  ) {}

  /** Indexes for the ids (assigning new ones in the store); undefined when the store failed. */
  async assign(orgId: string, ids: string[], ttlMs: number): Promise<DictionaryView | undefined> {
    const r = await this.driver.assignIndexes(this.keys.idDictionary(orgId), randomBytes(EPOCH_BYTES).toString('base64url'), ids, ttlMs);
    if (!r || r.length !== ids.length + 1) return undefined;
    const d = this.mirror(orgId, r[0]);
    await forEachSliced(ids, (id, i) => this.learn(d, Number(r[i + 1]), id));
    return { epoch: d.epoch, indexOf: d.indexOf };
  }

  /**
   * Asset ids of each raw entry of one OU, in order; one HMGET for all indexes not yet mirrored.
   * An entry whose epoch is not the store's current one, or whose indexes are unknown, maps to undefined (a miss).
   */
  async resolve(orgId: string, raws: RawEntry[]): Promise<(string[] | undefined)[]> {
    const wanted = raws.map((r) => (r.negative ? [] : entryIndexes(r)));
    const mirrored = this.orgs.get(orgId);
    const missing = new Set<number>();
    let epochs = false;
    raws.forEach((r, i) => {
      if (r.negative) return;
      if (!mirrored || mirrored.epoch !== r.epoch) epochs = true;
      for (const n of wanted[i]) if (!mirrored || mirrored.epoch !== r.epoch || mirrored.idOf[n] === undefined) missing.add(n);
    });
    let d = mirrored;
    if (missing.size > 0 || epochs) {
      const indexes = [...missing];
      const r = await this.driver.hmget(this.keys.idDictionary(orgId), [DICT_EPOCH_FIELD, ...indexes.map(dictIndexField)]);
      if (r && r[0]) {
        d = this.mirror(orgId, r[0]);
        indexes.forEach((n, i) => {
          const id = r[i + 1];
          if (id !== null && d) this.learn(d, n, id);
        });
      }
    }
    return raws.map((r, i) => {
      if (r.negative) return [];
      if (!d || d.epoch !== r.epoch) return undefined;
      const ids = new Array<string>(wanted[i].length);
      for (let k = 0; k < ids.length; k++) {
        const id = d.idOf[wanted[i][k]];
        if (id === undefined) return undefined;
        ids[k] = id;
      }
      return ids;
    });
  }

  /** The epoch of the OU's dictionary as this instance mirrors it (undefined when it mirrors none). */
  mirroredEpoch(orgId: string): string | undefined {
    return this.orgs.peek(orgId)?.epoch;
  }

  /** Forgets every mirrored dictionary (the store may have been emptied). */
  clear(): void {
    this.orgs.clear();
  }

  private mirror(orgId: string, epoch: string): OrgDictionary {
    let d = this.orgs.get(orgId);
    if (!d || d.epoch !== epoch) {
      d = { epoch, idOf: [], indexOf: new Map() };
      this.orgs.set(orgId, d);
    }
    return d;
  }

  private learn(d: OrgDictionary, index: number, id: string): void {
    d.idOf[index] = id;
    d.indexOf.set(id, index);
  }
}
