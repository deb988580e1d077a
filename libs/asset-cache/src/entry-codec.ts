import { ENTRY_VERSION } from './asset-cache.constants';
import { AssetDetails, UserAssetSet } from './asset-cache.types';
import { forEachSliced, SLICE_ITEMS } from './sliced';

/**
 * The OU's and the user's generations, random tokens: an entry counts only while both are still the ones it was
 * written under. A generation key lost from the store is recreated with a new token, which no entry carries.
 */
export interface Generations {
  og: string;
  ug: string;
}

/** A user set as the cache holds it: the set plus the generations it was loaded under and its timestamps. */
export interface StoredEntry {
  /** Generations read before the load. */
  gens: Generations;
  /** Epoch ms when the portal answered. */
  loadedAt: number;
  /** Epoch ms until which the entry is fresh (TTL with spread); stale after, until freshUntil + staleS. */
  freshUntil: number;
  set: UserAssetSet | null;
}

/** A decoded entry whose asset ids are still dictionary indexes. */
export interface RawEntry extends Omit<StoredEntry, 'set'> {
  negative: boolean;
  total: number;
  complete: boolean;
  /** Epoch of the OU id dictionary the indexes refer to. */
  epoch: string;
  /** Dictionary indexes in upstream order, base 36, comma separated. */
  indexes: string;
}

const SEP = '|';
const NEGATIVE = '-';
const INDEX_SEP = ',';
const INDEX_RADIX = 36;
/** Marker of details that carry a resource type (they win over details without one). */
const TYPED = 'T';
const UNTYPED = 'U';

/**
 * `2|og|ug|loadedAt|freshUntil|total|complete|epoch|i,i,i` (or `…|freshUntil|-` for "user not found"):
 * a few numbers and one small integer per asset, so a cached user costs far less than its JSON answer.
 */
export function encodeEntry(e: StoredEntry, epoch: string, indexOf: ReadonlyMap<string, number>): string {
  const ids = e.set?.assetIds ?? [];
  const idx = new Array<string>(ids.length);
  for (let i = 0; i < ids.length; i++) idx[i] = indexTextOf(indexOf, ids[i]);
  return encodeEntryWith(e, epoch, idx);
}

/** encodeEntry, a big set's indexes looked up SLICE_ITEMS at a time with a cold turn between (100,000 at once hold hot reads). */
export async function encodeEntrySliced(e: StoredEntry, epoch: string, indexOf: ReadonlyMap<string, number>): Promise<string> {
  const ids = e.set?.assetIds;
  if (!ids || ids.length <= SLICE_ITEMS) return encodeEntry(e, epoch, indexOf);
  const idx = new Array<string>(ids.length);
  await forEachSliced(ids, (id, i) => (idx[i] = indexTextOf(indexOf, id)));
  return encodeEntryWith(e, epoch, idx);
}

/** encodeEntry with the set's index texts already made (indexTextOf of each id, in order). */
function encodeEntryWith(e: StoredEntry, epoch: string, idx: readonly string[]): string {
  const head = `${ENTRY_VERSION}${SEP}${e.gens.og}${SEP}${e.gens.ug}${SEP}${e.loadedAt}${SEP}${e.freshUntil}`;
  if (!e.set) return `${head}${SEP}${NEGATIVE}`;
  // Joined once, not `+=` per index: the value is then flat, and the Redis client measures and writes it
  // without first flattening a rope of a hundred pieces.
  return `${head}${SEP}${e.set.total}${SEP}${e.set.complete ? 1 : 0}${SEP}${epoch}${SEP}${idx.join(INDEX_SEP)}`;
}

/** The text an asset id's dictionary index takes in an entry. */
function indexTextOf(indexOf: ReadonlyMap<string, number>, id: string): string {
  const n = indexOf.get(id);
  if (n === undefined) throw new Error('asset id missing from the OU dictionary');
  return indexText(n);
}

/** Base-36 texts of the smaller indexes, made once each. */
const INDEX_TEXTS: string[] = [];
const INDEX_TEXTS_MAX = 1 << 17;

function indexText(n: number): string {
  if (n >= INDEX_TEXTS_MAX) return n.toString(INDEX_RADIX);
  return (INDEX_TEXTS[n] ??= n.toString(INDEX_RADIX));
}

/** Parses an encoded entry; undefined for anything malformed or of another version (treated as a miss). */
export function decodeEntry(s: string | null | undefined): RawEntry | undefined {
  if (!s) return undefined;
  const p = s.split(SEP);
  if (p[0] !== ENTRY_VERSION || p.length < 6) return undefined;
  const [, og, ug] = p;
  const loadedAt = Number(p[3]);
  const freshUntil = Number(p[4]);
  if (!og || !ug || !Number.isFinite(loadedAt) || !Number.isFinite(freshUntil)) return undefined;
  if (p[5] === NEGATIVE) return { gens: { og, ug }, loadedAt, freshUntil, negative: true, total: 0, complete: true, epoch: '', indexes: '' };
  if (p.length !== 9) return undefined;
  return { gens: { og, ug }, loadedAt, freshUntil, negative: false, total: Number(p[5]), complete: p[6] === '1', epoch: p[7], indexes: p[8] };
}

/** The dictionary indexes of a raw entry, as numbers. */
export function entryIndexes(raw: RawEntry): number[] {
  if (!raw.indexes) return [];
  return raw.indexes.split(INDEX_SEP).map((x) => parseInt(x, INDEX_RADIX));
}

/** Encodes one asset's details; the leading marker tells typed from untyped without parsing. */
export function encodeDetails(d: AssetDetails): string {
  if (d.type !== undefined && d.type !== null) {
    return TYPED + JSON.stringify({ n: d.names, t: d.type, tn: d.typeNames });
  }
  return UNTYPED + JSON.stringify({ n: d.names });
}

/** Decodes details written by encodeDetails; undefined when unreadable. */
export function decodeDetails(s: string | null | undefined): AssetDetails | undefined {
  if (!s || (s[0] !== TYPED && s[0] !== UNTYPED)) return undefined;
  try {
    const o = JSON.parse(s.slice(1)) as { n?: AssetDetails['names']; t?: string; tn?: AssetDetails['typeNames'] };
    const d: AssetDetails = { names: o.n ?? {} };
    if (o.t !== undefined) d.type = o.t;
    if (o.tn !== undefined) d.typeNames = o.tn;
    return d;
  } catch {
    return undefined;
  }
}

/** True when encoded details carry a resource type. */
export function isTypedDetails(s: string): boolean {
  return s[0] === TYPED;
}
