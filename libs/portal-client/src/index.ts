export * from './portal-client.types';
export { PortalError } from './portal-error';
export type { PortalNotFoundSubject } from './portal-error';
export { PortalClient } from './portal-client.service';
export { PortalClientModule } from './portal-client.module';
export type { PortalClientModuleAsyncOptions } from './portal-client.module';
export { PORTAL_CLIENT_DEFAULTS } from './portal-client.defaults';
export { normalizeTree } from './tree-normalizer';
