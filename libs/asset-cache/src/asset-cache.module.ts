import { DynamicModule, Module, ModuleMetadata } from '@nestjs/common';
import { ASSET_CACHE_OPTIONS, AssetCacheOptions } from './asset-cache.types';
import { AssetSetCache } from './asset-set-cache';

/** How forRootAsync builds the options, typically from the config service. */
export interface AssetCacheAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => AssetCacheOptions | Promise<AssetCacheOptions>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inject?: any[];
  /** Register globally (default true): every feature module can inject AssetSetCache. */
  isGlobal?: boolean;
}

/** Provides one AssetSetCache (connected on module init, closed on destroy). */
@Module({})
export class AssetCacheModule {
  /** The cache from static options. */
  static forRoot(options: AssetCacheOptions, isGlobal = true): DynamicModule {
    return {
      module: AssetCacheModule,
      global: isGlobal,
      providers: [{ provide: ASSET_CACHE_OPTIONS, useValue: options }, AssetSetCache],
      exports: [AssetSetCache],
    };
  }

  /** The cache from options built by a factory (e.g. from ConfigService). */
  static forRootAsync(options: AssetCacheAsyncOptions): DynamicModule {
    return {
      module: AssetCacheModule,
      global: options.isGlobal ?? true,
      imports: options.imports ?? [],
      providers: [{ provide: ASSET_CACHE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, AssetSetCache],
      exports: [AssetSetCache],
    };
  }
}
