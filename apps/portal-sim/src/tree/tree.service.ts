import { Inject, Injectable } from '@nestjs/common';
import { I18nString, PortalCode, PortalLimits, RawTreeNode } from '@app/portal-contracts';
import { SimQuirks } from '@app/sim-contracts';
import { SIM_CONFIG, SimConfig } from '../config/sim-config';
import { PortalError, badRequest } from '../common/portal-error';
import { SimControl } from '../calls/sim-control.service';
import { Grant } from '../data/grant';
import { SimOrg, StructureNode } from '../data/sim-model';
import { SimStore } from '../data/sim-store.service';
import { UserTokenService } from '../login/user-token.service';

/** displayOrder of asset nodes, as in the portal's sample. */
const ASSET_DISPLAY_ORDER = -1;

export interface TreeQuery {
  accessKey?: string;
  resourceTypes?: string;
  authorization?: string;
  needAssociatedAsset?: string;
}

/** `user/app/asset/tree`: the OU's structure tree pruned to what the user can see. */
@Injectable()
export class TreeService {
  constructor(
    @Inject(SIM_CONFIG) private readonly config: SimConfig,
    private readonly store: SimStore,
    private readonly control: SimControl,
    private readonly userTokens: UserTokenService,
  ) {}

  async tree(q: TreeQuery): Promise<RawTreeNode> {
    if (!q.accessKey) throw badRequest('AccessKey is required');
    const types = q.resourceTypes
      ? q.resourceTypes
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean)
      : [];
    if (types.length > PortalLimits.maxResourceTypes) throw badRequest(`resourceTypes supports up to ${PortalLimits.maxResourceTypes} types`);
    const claims = await this.userTokens.verifyBearer(q.authorization);
    if (!claims.orgId) throw new PortalError(PortalCode.OuNotSelected);
    if (q.accessKey !== this.config.accessKey)
      throw new PortalError(PortalCode.NotFound, 'The application does not exist, or the organization does not obtain the application');
    if (!this.control.appPermission) throw new PortalError(PortalCode.NotPermitted);
    const org = this.store.org(claims.orgId);
    const grant = org?.users.get(claims.sub);
    if (!org || !grant) throw new PortalError(PortalCode.NotFound, 'The user is not in the organization');
    const builder = new TreeBuilder(
      org,
      grant,
      types.length ? new Set(types) : undefined,
      /^true$/i.test(q.needAssociatedAsset ?? ''),
      this.control.quirks,
      this.store,
    );
    return builder.build();
  }
}

class TreeBuilder {
  constructor(
    private readonly org: SimOrg,
    private readonly grant: Grant,
    private readonly types: Set<string> | undefined,
    private readonly associated: boolean,
    private readonly quirks: SimQuirks,
    private readonly store: SimStore,
  ) {}

  build(): RawTreeNode {
    return this.node(this.org.root, '', true)!;
  }

  private visible(i: number): boolean {
    return this.grant.has(i) && (!this.types || this.types.has(this.org.assets[i].type));
  }

  /** A structure node with its visible subtree, or undefined when nothing below is visible (the root is kept). */
  private node(n: StructureNode, parentId: string, isRoot: boolean): RawTreeNode | undefined {
    const children: RawTreeNode[] = [];
    for (const c of n.children) {
      const child = this.node(c, n.id, false);
      if (child) children.push(child);
    }
    for (const i of n.assets) if (this.visible(i)) children.push(this.asset(i, n.id));
    if (!isRoot && children.length === 0) return undefined;
    const out: RawTreeNode = { id: n.id, name: defaultName(n.name), nameJson: n.name, tag: null, tags: n.tags, parentId };
    this.order(out, n.displayOrder);
    if (children.length || !this.quirks.nullChildren) out.children = children;
    else out.children = null;
    if (this.associated) {
      const assoc = n.associated.filter((i) => this.visible(i)).map((i) => this.asset(i, n.id));
      if (assoc.length || !this.quirks.nullChildren) out.associatedResources = assoc;
    }
    return out;
  }

  private asset(i: number, parentId: string): RawTreeNode {
    const a = this.org.assets[i];
    const typeName = this.store.typeName(a.type);
    const out: RawTreeNode = { id: a.id, name: defaultName(a.name), nameJson: a.name, tag: 'asset', parentId };
    this.order(out, ASSET_DISPLAY_ORDER);
    if (this.quirks.typeUnderData) out.data = { type: a.type, typeName };
    else {
      out.type = a.type;
      out.typeName = typeName;
    }
    return out;
  }

  private order(out: RawTreeNode, value: number): void {
    if (this.quirks.displayorder) out.displayorder = value;
    else out.displayOrder = value;
  }
}

function defaultName(name: I18nString): string {
  return name.default ?? name.en_US ?? '';
}
