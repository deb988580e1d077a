import { Injectable } from '@nestjs/common';
import { CachedUserSet, CacheStatus } from '@app/asset-cache';
import { aggregateStatus, BatchAssetsService } from '../assets/batch-assets.service';
import { Check } from './access-checks.request';

/**
 * Permission checks answered from cached user sets (one pipelined read); users not cached are fetched
 * through the micro-batcher, so concurrent check requests share users/assetList calls.
 */
@Injectable()
export class AccessService {
  private readonly indexes = new WeakMap<CachedUserSet, Set<string>>();

  constructor(private readonly batch: BatchAssetsService) {}

  /** One result per check, in request order; a user unknown to the OU is allowed: false. */
  async check(orgId: string, checks: Check[], bypass: boolean): Promise<{ results: (Check & { allowed: boolean })[]; status: CacheStatus; ageS: number }> {
    const users = [...new Set(checks.map((c) => c.userId))];
    const entries = await this.batch.sets(orgId, users, undefined, bypass, true);
    const results = checks.map((c) => ({ userId: c.userId, assetId: c.assetId, allowed: this.index(entries.get(c.userId))?.has(c.assetId) ?? false }));
    return { results, ...aggregateStatus(entries.values()) };
  }

  private index(entry: CachedUserSet | undefined): Set<string> | undefined {
    if (!entry?.set) return undefined;
    let idx = this.indexes.get(entry);
    if (!idx) this.indexes.set(entry, (idx = new Set(entry.set.assetIds)));
    return idx;
  }
}
