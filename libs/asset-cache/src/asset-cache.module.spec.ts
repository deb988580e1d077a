import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AssetCacheModule } from './asset-cache.module';
import { AssetSetCache } from './asset-set-cache';

@Injectable()
class CacheConfig {
  readonly ttlS = 60;
}

@Module({ providers: [CacheConfig], exports: [CacheConfig] })
class ConfigModule {}

describe('AssetCacheModule', () => {
  it('provides one AssetSetCache built by forRootAsync, on the in-process driver when no Redis is configured', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AssetCacheModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CacheConfig],
          useFactory: (c: CacheConfig) => ({ ttlS: c.ttlS, staleS: 600, negativeTtlS: 30 }),
        }),
      ],
    }).compile();
    const app = await moduleRef.init();
    const cache = app.get(AssetSetCache);
    expect(cache.driver).toBe('memory');
    expect(cache.health()).toBe('none');
    const load = jest.fn(async () => ({ sets: new Map([['u1', { assetIds: ['a1'], total: 1, complete: true }]]), assets: new Map() }));
    expect((await cache.getUserSet({ orgId: 'o1' }, 'u1', load)).status).toBe('MISS');
    expect((await cache.getUserSet({ orgId: 'o1' }, 'u1', load)).status).toBe('HIT');
    expect(load).toHaveBeenCalledTimes(1);
    await app.close();
  });
});
