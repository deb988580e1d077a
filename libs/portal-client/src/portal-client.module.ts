import { HttpModule } from '@nestjs/axios';
import { DynamicModule, FactoryProvider, Module, ModuleMetadata } from '@nestjs/common';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { PortalClient } from './portal-client.service';
import { PORTAL_CLIENT_OPTIONS, PortalClientOptions } from './portal-client.types';

/** How PortalClientModule gets its options (typically from the service configuration). */
export interface PortalClientModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  // Nest injects the `inject` providers positionally, with types it cannot know here.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => PortalClientOptions | Promise<PortalClientOptions>;
  inject?: FactoryProvider['inject'];
}

/** Idle keep-alive sockets are closed after this long (below common gateway idle timeouts). */
const KEEP_ALIVE_MS = 30_000;

/** Provides PortalClient over an HttpModule with keep-alive agents (the bulkhead bounds the sockets in use). */
@Module({})
export class PortalClientModule {
  /** Registers PortalClient with options built by `useFactory` (may inject providers from `imports`). */
  static forRootAsync(options: PortalClientModuleAsyncOptions): DynamicModule {
    return {
      module: PortalClientModule,
      imports: [
        ...(options.imports ?? []),
        HttpModule.registerAsync({
          useFactory: () => ({
            httpAgent: new HttpAgent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS }),
            httpsAgent: new HttpsAgent({ keepAlive: true, keepAliveMsecs: KEEP_ALIVE_MS }),
            maxRedirects: 0,
          }),
        }),
      ],
      providers: [{ provide: PORTAL_CLIENT_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, PortalClient],
      exports: [PortalClient],
    };
  }
}
