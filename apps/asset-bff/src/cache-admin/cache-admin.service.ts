import { Injectable } from '@nestjs/common';
import { AssetSetCache, CacheUnavailableError } from '@app/asset-cache';
import { AppException } from '../common/app.exception';
import { ErrorCode } from '../common/error-code';

const RETRY_AFTER_S = 5;

/** Invalidation through the cache; the controller never touches the cache itself. */
@Injectable()
export class CacheAdminService {
  constructor(private readonly cache: AssetSetCache) {}

  /** The user's next read goes upstream, on every instance. */
  invalidateUser(orgId: string, userId: string): Promise<void> {
    return this.unlessUnavailable(this.cache.invalidateUser(orgId, userId));
  }

  /** Every user of the OU is read upstream next, on every instance. */
  invalidateOrg(orgId: string): Promise<void> {
    return this.unlessUnavailable(this.cache.invalidateOrg(orgId));
  }

  /** A 204 would claim an invalidation Redis did not record, or one other instances may not have heard: answer 503 instead. */
  private async unlessUnavailable(p: Promise<void>): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (err instanceof CacheUnavailableError) {
        throw new AppException(ErrorCode.CacheUnavailable, 'Redis did not record the invalidation, or did not confirm it reached every instance; retry', {
          retryAfterS: RETRY_AFTER_S,
        });
      }
      throw err;
    }
  }
}
