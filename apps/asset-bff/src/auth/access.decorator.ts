import { SetMetadata } from '@nestjs/common';
import { Scope } from '../config/app-config';

/** Who may call a route; checked by the AuthGuard before any pipe, cache read or upstream call. */
export interface AccessRule {
  /** Service callers need this scope for the route's :orgId. Omit to refuse service callers. */
  scope?: Scope;
  /** User callers may call it: 'self' (their own :orgId/:userId), 'org' (their own :orgId, the body checked later), 'any'. */
  users?: 'self' | 'org' | 'any';
}

export const ACCESS_RULE = 'abff:access';
/** Declares the callers a route accepts. */
export const Access = (rule: AccessRule) => SetMetadata(ACCESS_RULE, rule);
/** Routes anyone may call (health, metrics, docs). */
export const Public = () => SetMetadata(ACCESS_RULE, 'public');
