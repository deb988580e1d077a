import { Inject, Injectable } from '@nestjs/common';
import { SimCreateOrg, SimCreateUser, SimOrgDetail, SimOrgSummary } from '@app/sim-contracts';
import { SIM_CONFIG, SimConfig } from '../config/sim-config';
import { loadDataFile } from './data-file';
import { generateProfile, regularTree, sequentialAssets } from './generator';
import { Grant } from './grant';
import { SimData, SimOrg } from './sim-model';

/** Raised by admin data operations; mapped to plain HTTP errors by the admin controller. */
export class SimDataError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** The simulated portal's data: generated from the profile and seed (or loaded from SIM_DATA_FILE), mutable through the admin API. */
@Injectable()
export class SimStore {
  private data: SimData;

  constructor(@Inject(SIM_CONFIG) private readonly config: SimConfig) {
    this.data = this.seed();
  }

  /** Back to the seed data. */
  reset(): void {
    this.data = this.seed();
  }

  private seed(): SimData {
    if (this.config.dataFile) return loadDataFile(this.config.dataFile);
    return generateProfile(this.config.profile, this.config.seed, this.config.sizes);
  }

  org(orgId: string): SimOrg | undefined {
    return this.data.orgs.get(orgId);
  }

  typeName(code: string) {
    return this.data.resourceTypes.get(code)?.typeName ?? { default: code };
  }

  /** True when some OU has this user (login accounts are user ids). */
  userExists(userId: string): boolean {
    for (const org of this.data.orgs.values()) if (org.users.has(userId)) return true;
    return false;
  }

  orgSummaries(): SimOrgSummary[] {
    return [...this.data.orgs.values()].map(summary);
  }

  orgDetail(orgId: string): SimOrgDetail {
    const org = this.requireOrg(orgId);
    return {
      ...summary(org),
      userAssetCounts: [...org.users].map(([userId, g]) => ({ userId, assets: g.count })),
      resourceTypes: org.resourceTypes(),
    };
  }

  createOrg(body: SimCreateOrg): SimOrgSummary {
    if (typeof body?.orgId !== 'string' || !body.orgId) throw new SimDataError(400, 'orgId is required');
    if (!Number.isInteger(body.assetCount) || body.assetCount < 0) throw new SimDataError(400, 'assetCount must be an integer >= 0');
    if (this.data.orgs.has(body.orgId)) throw new SimDataError(409, `org ${body.orgId} exists`);
    const name = { default: body.orgId, en_US: body.orgId };
    const leaves = Math.max(1, Math.ceil(body.assetCount / 50));
    const groups = Math.max(1, Math.ceil(Math.sqrt(leaves)));
    const org = new SimOrg(
      body.orgId,
      name,
      sequentialAssets(body.orgId, body.assetCount),
      regularTree(body.orgId, name, groups, Math.ceil(leaves / groups), body.assetCount),
    );
    const perUser = body.assetsPerUser ?? 0;
    for (let u = 0; u < (body.userCount ?? 0); u++) {
      org.users.set(`${body.orgId}-u${String(u + 1).padStart(4, '0')}`, Grant.ofWindows([{ offset: 0, count: perUser }], body.assetCount));
    }
    this.data.orgs.set(org.orgId, org);
    return summary(org);
  }

  createUser(orgId: string, body: SimCreateUser): void {
    const org = this.requireOrg(orgId);
    if (typeof body?.userId !== 'string' || !body.userId) throw new SimDataError(400, 'userId is required');
    const grant = body.assetIds
      ? Grant.ofIndices(this.indices(org, body.assetIds))
      : Grant.ofWindows([{ offset: body.assetOffset ?? 0, count: body.assetCount ?? 0 }], org.assets.length);
    org.users.set(body.userId, grant);
  }

  deleteUser(orgId: string, userId: string): void {
    const org = this.requireOrg(orgId);
    if (!org.users.delete(userId)) throw new SimDataError(404, `user ${userId} is not in ${orgId}`);
  }

  grant(orgId: string, userId: string, assetIds: string[], add: boolean): void {
    const org = this.requireOrg(orgId);
    const g = grantOf(org, userId);
    if (!Array.isArray(assetIds)) throw new SimDataError(400, 'assetIds must be an array');
    const idx = this.indices(org, assetIds);
    if (add) g.add(idx);
    else g.remove(idx);
  }

  private indices(org: SimOrg, assetIds: string[]): number[] {
    return assetIds.map((id) => {
      const i = org.assetIndex.get(id);
      if (i === undefined) throw new SimDataError(400, `asset ${id} is not in ${org.orgId}`);
      return i;
    });
  }

  /** Throws SimDataError 404 unless the OU has the user. */
  requireUser(orgId: string, userId: string): void {
    grantOf(this.requireOrg(orgId), userId);
  }

  private requireOrg(orgId: string): SimOrg {
    const org = this.data.orgs.get(orgId);
    if (!org) throw new SimDataError(404, `org ${orgId} not found`);
    return org;
  }
}

/** The user's grant in the OU; SimDataError 404 when the user is not in it. */
function grantOf(org: SimOrg, userId: string): Grant {
  const g = org.users.get(userId);
  if (!g) throw new SimDataError(404, `user ${userId} is not in ${org.orgId}`);
  return g;
}

function summary(org: SimOrg): SimOrgSummary {
  return { orgId: org.orgId, users: org.users.size, assets: org.assets.length };
}
