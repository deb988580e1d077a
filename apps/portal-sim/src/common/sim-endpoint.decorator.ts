import { SetMetadata } from '@nestjs/common';
import { PortalEndpointName } from '@app/portal-contracts';

export const SIM_ENDPOINT = 'sim:endpoint';

/** How the simulator treats a route: its counter name, whether it needs apim headers, and its envelope. */
export interface SimEndpointMeta {
  name: PortalEndpointName;
  signed: boolean;
  wire: 'portal' | 'token';
}

/** Marks a handler as a simulated portal endpoint (counted, fault-injected, and apim-verified when signed). */
export const SimEndpoint = (name: PortalEndpointName, opts: { signed?: boolean; wire?: 'portal' | 'token' } = {}) =>
  SetMetadata(SIM_ENDPOINT, { name, signed: opts.signed ?? false, wire: opts.wire ?? 'portal' } satisfies SimEndpointMeta);
