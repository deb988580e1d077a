import { RouteConfig } from '@nestjs/platform-fastify';
import { Scope } from '../config/app-config';

/** Who may call a route; checked by the access hook before any body, cache read or upstream call. */
export interface AccessRule {
  /** Service callers need this scope for the route's :orgId. Omit to refuse service callers. */
  scope?: Scope;
  /** User callers may call it: 'self' (their own :orgId/:userId), 'org' (their own :orgId, the body checked later), 'any'. */
  users?: 'self' | 'org' | 'any';
}

/** What a route's fastify config says about its callers (see access.hook.ts). */
export interface AccessConfig {
  access?: AccessRule | 'public';
}

/** Declares the callers a route accepts. */
export const Access = (rule: AccessRule) => RouteConfig({ access: rule } satisfies AccessConfig);
/** Routes anyone may call (health, metrics). */
export const Public = () => RouteConfig({ access: 'public' } satisfies AccessConfig);
