import { Injectable } from '@nestjs/common';
import {
  AssetListData,
  AssetListRequest,
  PortalCode,
  PortalLimits,
  UserAssetInfo,
  UsersAssetListData,
  UsersAssetListRequest,
  UsersUserAssets,
} from '@app/portal-contracts';
import { PortalError, badRequest } from '../common/portal-error';
import { SimControl } from '../calls/sim-control.service';
import { SimStore } from '../data/sim-store.service';

/** Longest id the simulator accepts (the portal's "character limits exceeded"). */
const MAX_ID_LENGTH = 128;

/** `users/assetList` and `asset/list` over the store. */
@Injectable()
export class AssetsService {
  constructor(
    private readonly store: SimStore,
    private readonly control: SimControl,
  ) {}

  /**
   * Users of the request that are not in the OU are omitted from `usersUserAssets` (the real portal omits
   * them or returns them with empty lists); duplicates are answered once, in request order.
   */
  usersAssetList(body: unknown): UsersAssetListData {
    const req = validateUsersAssetList(body);
    if (!this.control.appPermission) throw new PortalError(PortalCode.NotPermitted, 'The application has not been granted the permission');
    const org = this.store.org(req.organizationId);
    if (!org) throw new PortalError(PortalCode.NotFound, 'OU not found');
    const types = req.resourceTypes?.length ? new Set(req.resourceTypes) : undefined;
    const used = new Uint8Array(org.assets.length);
    const seen = new Set<string>();
    const usersUserAssets: UsersUserAssets[] = [];
    for (const userId of req.userIds) {
      if (seen.has(userId)) continue;
      seen.add(userId);
      const grant = org.users.get(userId);
      if (!grant) continue;
      const userAssetIds: string[] = [];
      grant.forEach((i) => {
        const a = org.assets[i];
        if (types && !types.has(a.type)) return;
        userAssetIds.push(a.id);
        used[i] = 1;
      });
      usersUserAssets.push({ userId, userAssetIds });
    }
    const userAssets: UserAssetInfo[] = [];
    for (let i = 0; i < used.length; i++) {
      if (!used[i]) continue;
      const a = org.assets[i];
      userAssets.push({ id: a.id, name: a.name, type: a.type, typeName: this.store.typeName(a.type) });
    }
    return { usersUserAssets, userAssets };
  }

  /** One 0-based page of the user's assets in the OU's asset order. */
  assetList(body: unknown): AssetListData {
    const req = validateAssetList(body);
    if (!this.control.appPermission) throw new PortalError(PortalCode.NotPermitted, 'The application has no access to user information');
    const org = this.store.org(req.orgId);
    const grant = org?.users.get(req.userId);
    if (!org || !grant) throw new PortalError(PortalCode.NotFound, 'The user is not found, or not in the organization');
    const { pageNo, pageSize } = req.pagination!;
    const start = pageNo * pageSize;
    return {
      pagination: { pageNo, pageSize, totalElements: grant.count },
      assets: grant.slice(start, start + pageSize).map((i) => ({ id: org.assets[i].id, name: org.assets[i].name })),
    };
  }
}

function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateUsersAssetList(body: unknown): UsersAssetListRequest {
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  if (!isId(body.organizationId)) throw badRequest('organizationId is required');
  const { userIds, resourceTypes } = body;
  if (!Array.isArray(userIds) || userIds.length === 0) throw badRequest('userIds is required');
  if (userIds.length > PortalLimits.maxUserIds) throw badRequest(`userIds supports up to ${PortalLimits.maxUserIds} ids`);
  if (!userIds.every(isId)) throw badRequest('userIds must be non-empty strings');
  if (resourceTypes !== undefined && resourceTypes !== null) {
    if (!Array.isArray(resourceTypes) || !resourceTypes.every(isId)) throw badRequest('resourceTypes must be a list of strings');
    if (resourceTypes.length > PortalLimits.maxResourceTypes) throw badRequest(`resourceTypes supports up to ${PortalLimits.maxResourceTypes} types`);
  }
  return { organizationId: body.organizationId, userIds: userIds as string[], resourceTypes: (resourceTypes as string[] | null) ?? undefined };
}

export function validateAssetList(body: unknown): Required<AssetListRequest> {
  if (!isObject(body)) throw badRequest('body must be a JSON object');
  if (!isId(body.userId) || !isId(body.orgId)) throw badRequest('User ID and OU ID are required');
  let pageNo = 0;
  let pageSize: number = PortalLimits.defaultPageSize;
  const p = body.pagination;
  if (p !== undefined && p !== null) {
    if (!isObject(p)) throw badRequest('pagination must be an object');
    if (p.pageNo !== undefined) {
      if (!Number.isInteger(p.pageNo) || (p.pageNo as number) < 0) throw badRequest('pagination.pageNo must be an integer >= 0');
      pageNo = p.pageNo as number;
    }
    if (p.pageSize !== undefined) {
      if (!Number.isInteger(p.pageSize) || (p.pageSize as number) < 1 || (p.pageSize as number) > PortalLimits.maxPageSize) {
        throw badRequest(`pagination.pageSize must be an integer in 1..${PortalLimits.maxPageSize}`);
      }
      pageSize = p.pageSize as number;
    }
  }
  return { userId: body.userId, orgId: body.orgId, pagination: { pageNo, pageSize } };
}
