import { Injectable } from '@nestjs/common';
import { AssetSetCache } from '@app/asset-cache';

/** Invalidation through the cache; the controller never touches the cache itself. */
@Injectable()
export class CacheAdminService {
  constructor(private readonly cache: AssetSetCache) {}

  invalidateUser(orgId: string, userId: string): Promise<void> {
    return this.cache.invalidateUser(orgId, userId);
  }

  invalidateOrg(orgId: string): Promise<void> {
    return this.cache.invalidateOrg(orgId);
  }
}
