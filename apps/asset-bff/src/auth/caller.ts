import type {} from 'fastify';
import { Scope } from '../config/app-config';

/** A service caller authenticated by X-Api-Key. */
export interface ServiceCaller {
  kind: 'service';
  id: string;
  orgs: readonly string[];
  scopes: readonly Scope[];
}

/** A browser user authenticated by a locally verified bearer JWT; the token is kept to forward upstream. */
export interface UserCaller {
  kind: 'user';
  id: string;
  userId: string;
  orgId: string | undefined;
  token: string;
}

export type Caller = ServiceCaller | UserCaller;

/** Rate-limit and log identity of a caller (never the key or token). */
export const callerKey = (c: Caller): string => (c.kind === 'service' ? `key:${c.id}` : `user:${c.userId}`);

/** True when the caller may read this user's assets in this OU. */
export function canReadUser(c: Caller, orgId: string, userId: string): boolean {
  if (c.kind === 'user') return c.orgId === orgId && c.userId === userId;
  return c.scopes.includes('assets:read') && (c.orgs.includes('*') || c.orgs.includes(orgId));
}

/** True when a service caller holds `scope` for this OU. */
export function hasOrgScope(c: Caller, orgId: string, scope: Scope): boolean {
  return c.kind === 'service' && c.scopes.includes(scope) && (c.orgs.includes('*') || c.orgs.includes(orgId));
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by the access hook. */
    caller?: Caller;
  }
}
