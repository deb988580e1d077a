import { Injectable } from '@nestjs/common';
import { CachedUserSet, CacheStatus } from '@app/asset-cache';
import { aggregateStatus, BatchAssetsService } from '../assets/batch-assets.service';
import { assetIndexOf } from '../assets/asset-index';
import { Check } from './access-checks.request';

/**
 * Permission checks answered from cached user sets (one pipelined read); users not cached are fetched
 * through the micro-batcher, so concurrent check requests share users/assetList calls.
 */
@Injectable()
export class AccessService {
  constructor(private readonly batch: BatchAssetsService) {}

  /** One result per check, in request order; a user unknown to the OU is allowed: false. */
  async check(
    orgId: string,
    checks: Check[],
    bypass: boolean,
    notBefore?: number,
  ): Promise<{ results: (Check & { allowed: boolean })[]; status: CacheStatus; ageS: number; loadedAt: number }> {
    const users = [...new Set(checks.map((c) => c.userId))];
    const entries = await this.batch.sets(orgId, users, undefined, bypass, true, undefined, notBefore);
    // Each user's membership index looked up once per request, not once per check.
    const indexOfUser = new Map<string, Set<string> | null>();
    const results = checks.map((c) => {
      let index = indexOfUser.get(c.userId);
      if (index === undefined) indexOfUser.set(c.userId, (index = indexOf(entries.get(c.userId))));
      return { userId: c.userId, assetId: c.assetId, allowed: index !== null && index.has(c.assetId) };
    });
    return { results, ...aggregateStatus(entries.values()) };
  }
}

/** The entry's membership index; null for a user the OU does not know (every check false). */
const indexOf = (entry: CachedUserSet | undefined): Set<string> | null => (entry?.set ? assetIndexOf(entry.set) : null);
