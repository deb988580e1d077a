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
  async check(orgId: string, checks: Check[], bypass: boolean): Promise<{ results: (Check & { allowed: boolean })[]; status: CacheStatus; ageS: number }> {
    const users = [...new Set(checks.map((c) => c.userId))];
    const entries = await this.batch.sets(orgId, users, undefined, bypass, true);
    const results = checks.map((c) => ({ userId: c.userId, assetId: c.assetId, allowed: assetAllowed(entries.get(c.userId), c.assetId) }));
    return { results, ...aggregateStatus(entries.values()) };
  }
}

const assetAllowed = (entry: CachedUserSet | undefined, assetId: string): boolean => (entry?.set ? assetIndexOf(entry.set).has(assetId) : false);
