import { Controller, Get, Headers, Query } from '@nestjs/common';
import { PortalEnvelope, PortalPaths, RawTreeNode } from '@app/portal-contracts';
import { SimEndpoint } from '../common/sim-endpoint.decorator';
import { TreeService } from './tree.service';

/** Get Assets by Application. */
@Controller()
export class TreeController {
  constructor(private readonly trees: TreeService) {}

  @Get(PortalPaths.appAssetTree)
  @SimEndpoint('appAssetTree', { signed: true })
  async tree(
    @Query('accessKey') accessKey: string | undefined,
    @Query('resourceTypes') resourceTypes: string | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Headers('needassociatedasset') needAssociatedAsset: string | undefined,
  ): Promise<PortalEnvelope<RawTreeNode>> {
    const data = await this.trees.tree({ accessKey, resourceTypes, authorization, needAssociatedAsset });
    return { code: 0, message: 'OK', data };
  }
}
