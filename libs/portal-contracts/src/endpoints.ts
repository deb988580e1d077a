/** Paths of the upstream endpoints, relative to the gateway base URL. */
export const PortalPaths = {
  tokenGet: '/apim-token-service/v2.0/token/get',
  tokenRefresh: '/apim-token-service/v2.0/token/refresh',
  usersAssetList: '/app-portal-service/v2.2/user/users/assetList',
  assetList: '/app-portal-service/v2.2/user/asset/list',
  appAssetTree: '/app-portal-service/v2.2/user/app/asset/tree',
  login: '/app-portal-service/v2.2/login',
  sessionSet: '/app-portal-service/v2.2/session/set',
  jwks: '/.well-known/jwks.json',
} as const;

/** Names of the endpoints as counted by the simulator and labelled in metrics. */
export type PortalEndpointName = 'tokenGet' | 'tokenRefresh' | 'usersAssetList' | 'assetList' | 'appAssetTree' | 'login' | 'sessionSet';

/** Documented limits of the portal. */
export const PortalLimits = {
  maxUserIds: 1000,
  maxResourceTypes: 1000,
  defaultPageSize: 1000,
  maxPageSize: 1000,
} as const;
