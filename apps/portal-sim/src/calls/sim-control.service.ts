import { Inject, Injectable } from '@nestjs/common';
import { PortalEndpointName } from '@app/portal-contracts';
import { SimFault, SimPageDrift, SimQuirks } from '@app/sim-contracts';
import { SIM_CONFIG, SimConfig } from '../config/sim-config';

const NO_QUIRKS: SimQuirks = { displayorder: false, typeUnderData: false, legacySuccessCode: false, nullChildren: false };

/** Runtime switches of the simulator: faults, quirks, page drifts, the app's permission and token lifetimes. */
@Injectable()
export class SimControl {
  quirks: SimQuirks = { ...NO_QUIRKS };
  appPermission = true;
  appTokenTtlS: number;
  userTokenTtlS: number;
  private readonly faults = new Map<PortalEndpointName | '*', SimFault>();
  /** Page drift modes by driftKey. */
  private readonly pageDrifts = new Map<string, SimPageDrift['mode']>();

  constructor(@Inject(SIM_CONFIG) private readonly config: SimConfig) {
    this.appTokenTtlS = config.appTokenTtlS;
    this.userTokenTtlS = config.userTokenTtlS;
  }

  reset(): void {
    this.quirks = { ...NO_QUIRKS };
    this.appPermission = true;
    this.appTokenTtlS = this.config.appTokenTtlS;
    this.userTokenTtlS = this.config.userTokenTtlS;
    this.faults.clear();
    this.pageDrifts.clear();
  }

  setQuirks(q: Partial<SimQuirks>): SimQuirks {
    for (const k of Object.keys(NO_QUIRKS) as (keyof SimQuirks)[]) if (typeof q?.[k] === 'boolean') this.quirks[k] = q[k]!;
    return { ...this.quirks };
  }

  setFault(endpoint: PortalEndpointName | '*', fault: SimFault): void {
    this.faults.set(endpoint, { ...fault });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  /** Makes the user's asset/list pages disagree (undefined: agree again). */
  setPageDrift(orgId: string, userId: string, mode: SimPageDrift['mode'] | undefined): void {
    if (mode === undefined) this.pageDrifts.delete(driftKey(orgId, userId));
    else this.pageDrifts.set(driftKey(orgId, userId), mode);
  }

  /** How the user's asset/list pages disagree, if they do. */
  pageDrift(orgId: string, userId: string): SimPageDrift['mode'] | undefined {
    return this.pageDrifts.size === 0 ? undefined : this.pageDrifts.get(driftKey(orgId, userId));
  }

  /** The fault that applies to this call (the endpoint's own, else '*'), counting down `times`. */
  takeFault(endpoint: PortalEndpointName): SimFault | undefined {
    if (this.faults.size === 0) return undefined;
    const key = this.faults.has(endpoint) ? endpoint : this.faults.has('*') ? '*' : undefined;
    if (!key) return undefined;
    const fault = this.faults.get(key)!;
    if (fault.times !== undefined) {
      if (fault.times <= 1) this.faults.delete(key);
      else fault.times -= 1;
    }
    return fault;
  }
}

/** Key of a user's page drift (ids cannot contain a space). */
const driftKey = (orgId: string, userId: string): string => `${orgId} ${userId}`;
