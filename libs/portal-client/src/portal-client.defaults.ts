import { PortalLimits } from '@app/portal-contracts';
import { PortalClientOptions } from './portal-client.types';

/** Defaults of the optional PortalClientOptions. */
export const PORTAL_CLIENT_DEFAULTS = {
  batchWindowMs: 5,
  retries: 2,
  retryBaseDelayMs: 100,
  retryMaxDelayMs: 2_000,
  circuitFailures: 5,
  circuitHalfOpenAfterMs: 5_000,
  maxQueued: 10_000,
} as const;

/** PortalClientOptions with every default filled in and the limits checked. */
export type ResolvedPortalClientOptions = Required<Omit<PortalClientOptions, OptionalOption>> & Pick<PortalClientOptions, OptionalOption>;
/** Options that stay optional once resolved (no default). */
type OptionalOption = 'observer' | 'maxAssets' | 'requestId' | 'tracer';

/** Fills in defaults and rejects values the portal or the policies cannot work with. */
export function resolvePortalClientOptions(o: PortalClientOptions): ResolvedPortalClientOptions {
  const r: ResolvedPortalClientOptions = {
    ...o,
    baseUrl: o.baseUrl.replace(/\/+$/, ''),
    batchWindowMs: o.batchWindowMs ?? PORTAL_CLIENT_DEFAULTS.batchWindowMs,
    retries: o.retries ?? PORTAL_CLIENT_DEFAULTS.retries,
    retryBaseDelayMs: o.retryBaseDelayMs ?? PORTAL_CLIENT_DEFAULTS.retryBaseDelayMs,
    circuitFailures: o.circuitFailures ?? PORTAL_CLIENT_DEFAULTS.circuitFailures,
    circuitHalfOpenAfterMs: o.circuitHalfOpenAfterMs ?? PORTAL_CLIENT_DEFAULTS.circuitHalfOpenAfterMs,
    maxQueued: o.maxQueued ?? PORTAL_CLIENT_DEFAULTS.maxQueued,
  };
  const problems: string[] = [];
  const int = (name: keyof ResolvedPortalClientOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = r[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in ${min}..${max}`);
  };
  if (!r.baseUrl) problems.push('baseUrl is required');
  if (!r.appKey) problems.push('appKey is required');
  if (!r.appSecret) problems.push('appSecret is required');
  int('timeoutMs', 1);
  int('concurrency', 1);
  int('batchSize', 1, PortalLimits.maxUserIds);
  int('pageSize', 1, PortalLimits.maxPageSize);
  int('batchWindowMs', 0);
  int('retries', 0);
  int('retryBaseDelayMs', 0);
  int('circuitFailures', 1);
  int('circuitHalfOpenAfterMs', 1);
  int('maxQueued', 0);
  if (r.maxAssets !== undefined && (!Number.isInteger(r.maxAssets) || r.maxAssets < 1)) problems.push('maxAssets must be a positive integer');
  if (problems.length) throw new Error(`invalid PortalClientOptions: ${problems.join('; ')}`);
  return r;
}
