import { createHash } from 'node:crypto';
import { DEFAULT_KEY_PREFIX } from './asset-cache.constants';

/** Scope id of "all resource types". */
const ALL_TYPES = '*';
/** Characters of a type-filter digest kept in keys (base64url of SHA-1: 96 bits). */
const SCOPE_DIGEST_CHARS = 16;

/**
 * Every Redis key and channel of the cache, built here and nowhere else.
 *
 * All keys of one OU carry the hash tag `{<orgId>}`, so in a Redis Cluster they share one slot and
 * multi-key commands (MGET of generations + entries, pipelines, scripts) stay on one node.
 */
export class CacheKeys {
  readonly prefix: string;

  constructor(prefix: string = DEFAULT_KEY_PREFIX) {
    // Braces in the prefix would become the hash tag and break per-OU slot placement.
    this.prefix = prefix.replace(/[{}]/g, '_');
  }

  /** `<prefix>:{<org>}`: the common head of every key of an OU. */
  org(orgId: string): string {
    return `${this.prefix}:{${escapeTag(orgId)}}`;
  }

  /** Generation of the OU (a random token); a new token invalidates every user set of the OU at once. */
  orgGeneration(orgId: string): string {
    return `${this.org(orgId)}:g`;
  }

  /** Generation of one user in the OU (a random token); a new token invalidates every scope of that user. */
  userGeneration(orgId: string, userId: string): string {
    return `${this.org(orgId)}:ug:${userId}`;
  }

  /** A user's cached set for one type filter: generations, timestamps and dictionary indexes, no names. */
  userSet(orgId: string, scopeId: string, userId: string): string {
    return this.userSetHead(orgId, scopeId) + userId;
  }

  /** What every user-set key of the OU and scope starts with: `userSet` is this plus the user id. */
  userSetHead(orgId: string, scopeId: string): string {
    return `${this.org(orgId)}:u:${scopeId}:`;
  }

  /** Lock (SET NX PX) held by the instance loading a cold user set. */
  lock(orgId: string, scopeId: string, userId: string): string {
    return `${this.org(orgId)}:l:${scopeId}:${userId}`;
  }

  /** Hash of the OU's asset details: field asset id, value the encoded names/type (stored once per OU). */
  assetDetails(orgId: string): string {
    return `${this.org(orgId)}:a`;
  }

  /** Hash mapping the OU's asset ids to small integers (and back), so user entries stay compact. */
  idDictionary(orgId: string): string {
    return `${this.org(orgId)}:d`;
  }

  /** Negative cache: the OU does not exist upstream. */
  orgMissing(orgId: string): string {
    return `${this.org(orgId)}:m`;
  }

  /** Pub/sub channel carrying invalidations to every instance's in-process copy. */
  invalidationChannel(): string {
    return `${this.prefix}:inv`;
  }
}

/** Id of a resource-type filter: `*` for all types, else a digest of the sorted distinct types. */
export function scopeId(types: readonly string[] | undefined): string {
  if (!types || types.length === 0) return ALL_TYPES;
  const sorted = [...new Set(types)].sort();
  return createHash('sha1').update(sorted.join('\n')).digest('base64url').slice(0, SCOPE_DIGEST_CHARS);
}

/** Keeps an id from closing or opening a hash tag early; ordinary ids pass unchanged. */
function escapeTag(id: string): string {
  return /[{}%]/.test(id) ? id.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16)}`) : id;
}
