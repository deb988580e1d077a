import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { AssetListData, PortalEnvelope, PortalPaths, UsersAssetListData } from '@app/portal-contracts';
import { SimEndpoint } from '../common/sim-endpoint.decorator';
import { AssetsService } from './assets.service';

/** The two app-credential asset endpoints. */
@Controller()
export class AssetsController {
  constructor(private readonly assets: AssetsService) {}

  @Post(PortalPaths.usersAssetList)
  @HttpCode(200)
  @SimEndpoint('usersAssetList', { signed: true })
  usersAssetList(@Body() body: unknown): PortalEnvelope<UsersAssetListData> {
    // data is pre-encoded JSON (RawJson); the portal-call interceptor writes the envelope as bytes
    return { code: 0, message: 'OK', data: this.assets.usersAssetListRaw(body) as unknown as UsersAssetListData };
  }

  @Post(PortalPaths.assetList)
  @HttpCode(200)
  @SimEndpoint('assetList', { signed: true })
  assetList(@Body() body: unknown): PortalEnvelope<AssetListData> {
    return { code: 0, message: 'OK', data: this.assets.assetListRaw(body) as unknown as AssetListData };
  }
}
